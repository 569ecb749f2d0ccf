"""The chat service: the one path from a conversation to the engine and back.

Every front end (OpenAI API, Ollama API, web UI, `ember chat`) converts its wire format
to a :class:`ChatRequest` and reads :data:`ChatEvent` objects back. Later issues add
retrieval, tools and routing here, in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace

from ember.chat.context_window import answer_reserve, trim_to_fit
from ember.chat.grammar import grammar_for
from ember.chat.tool_calls import (
    OPEN_TAG,
    ToolCallHoldback,
    call_grammar,
    forced_tools,
    parse_tool_calls,
    tool_format,
    tool_schema,
    with_tool_prompt,
)
from ember.chat.types import (
    ChatDelta,
    ChatDone,
    ChatEvent,
    ChatProgress,
    ChatRequest,
    Message,
    Tool,
)
from ember.engine.base import Chunk, GenerateRequest, TokenLogprob, Usage
from ember.engine.chat_template import open_final_turn
from ember.engine.llamacpp import LlamaCppEngine
from ember.engine.llamacpp.embedder import LlamaCppEmbedder
from ember.engine.llamacpp.kv_store import common_prefix
from ember.engine.loader import context_key, embedding_key, model_name
from ember.engine.pool import EnginePool
from ember.errors import EmberError

CALL_AS_TEXT = ('{"name"', '{ "name"', "```json")


class WrongModelKindError(EmberError):
    status = 400
    code = "wrong_model_kind"


@dataclass(frozen=True)
class ToolPlan:
    """How one request offers tools: in the template or the system prompt, and whether a
    grammar forces a call (``tool_choice`` required or a named function)."""

    messages: tuple[Message, ...]
    tools: tuple[Tool, ...]  # offered (empty: no tool handling at all)
    template_tools: list[dict[str, object]] | None
    grammar: str | None
    ban_call_tag: bool = False  # after tool results with calls forbidden (tool_choice "none")

    @classmethod
    def of(cls, request: ChatRequest, chat_template: str | None) -> ToolPlan:
        if not request.tools:
            return cls(request.messages, (), None, None)
        fmt = tool_format(chat_template)
        if request.tool_choice == "none":
            # The answer after tool results: no tools in the prompt, the call tag banned,
            # and a call written as bare JSON stops the answer (the loop then asks
            # plainly). Measured with Qwen2.5-Coder-0.5B: it wrote calls as text until
            # max_tokens. With the tools kept in the prompt (to reuse the cached
            # prefix) it answered in the sentence style of its tool turns, and the
            # one-line benchmark's "Answer: <value>" lines got a sentence instead.
            after_results = any(m.role == "tool" for m in request.messages)
            return cls(request.messages, (), None, None, ban_call_tag=after_results)
        forced = forced_tools(request.tools, request.tool_choice)
        grammar = (
            call_grammar(forced, fmt, parallel=request.parallel_tool_calls) if forced else None
        )
        if fmt == "tagged":
            schemas = [tool_schema(t) for t in request.tools]
            return cls(request.messages, request.tools, schemas, grammar)
        messages = tuple(with_tool_prompt(request.messages, request.tools))
        return cls(messages, request.tools, None, grammar)

    @property
    def forced(self) -> bool:
        return self.grammar is not None


UsageObserver = Callable[[str, Usage], None]


class ChatService:
    def __init__(
        self,
        engines: EnginePool,
        on_usage: UsageObserver | None = None,
        max_output_tokens: int | None = None,
    ) -> None:
        self.engines = engines
        self._warming: dict[str, asyncio.Future[None]] = {}  # model -> its warm-up, running
        self._on_usage = on_usage
        self._max_output_tokens = max_output_tokens

    def _capped(self, max_tokens: int | None) -> int | None:
        """The request's limit, within the server's ``max_output_tokens``."""
        cap = self._max_output_tokens
        if cap is None:
            return max_tokens
        return cap if max_tokens is None else min(max_tokens, cap)

    def _observe(self, model: str, usage: Usage | None) -> None:
        if usage is not None and self._on_usage is not None:
            self._on_usage(model, usage)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """Deltas as the answer is generated, then one ChatDone."""
        warming = self._warming.get(request.model)
        if warming is not None and request.num_ctx is None:
            # Measured: a first message sent while the start it shares was still being
            # computed computed it again beside it, and waited 14.6 s instead of 7.7 s.
            await asyncio.wait([warming])
        key = context_key(request.model, request.num_ctx)
        async with self.engines.use(key, request.keep_alive) as engine:
            if not isinstance(engine, LlamaCppEngine):
                raise WrongModelKindError(
                    f"{request.model} is an embedding model; it cannot chat",
                    hint="use it with the embeddings endpoints",
                )
            plan = ToolPlan.of(request, engine.template)

            def prompt_tokens(messages: Sequence[Message]) -> list[int]:
                return _prompt_tokens(engine, plan, messages, request.continue_final)

            messages, trimmed = list(plan.messages), 0
            if request.trim_to_fit:
                budget = engine.n_ctx - answer_reserve(engine.n_ctx, request.max_tokens)
                messages, trimmed = trim_to_fit(messages, lambda ms: len(prompt_tokens(ms)), budget)
            # A forced call's grammar, else the response format's, else one the caller set.
            grammar = (
                plan.grammar or grammar_for(request.response_format) or request.sampling.grammar
            )
            sampling = replace(request.sampling, grammar=grammar)
            if plan.ban_call_tag:
                sampling = replace(
                    sampling, logit_bias={**sampling.logit_bias, **_banned(engine, OPEN_TAG)}
                )
            generate = GenerateRequest(
                prompt_tokens=prompt_tokens(messages),
                max_tokens=self._capped(request.max_tokens),
                # With the tag banned, Qwen2.5-Coder-0.5B writes the call as bare JSON
                # instead, until max_tokens: stop there (the loop then asks plainly).
                stop=(*request.stop, *CALL_AS_TEXT) if plan.ban_call_tag else request.stop,
                sampling=sampling,
                logprobs=request.logprobs,
                progress=request.progress,
                stop_repeating=request.stop_repeating,
                persist_kv=request.save_kv,
            )
            chunks = engine.generate(generate)
            events = _with_tools(chunks, plan) if plan.tools else _plain(chunks)
            async for event in events:
                if isinstance(event, ChatDone):
                    self._observe(request.model, event.usage)
                    if trimmed:
                        event = replace(event, trimmed=trimmed)
                yield event

    def warming(self, model: str) -> bool:
        """Whether ``model`` is being loaded and warmed now (the page says so)."""
        return model in self._warming

    async def warm(self, model: str, tools: Sequence[Tool] = ()) -> int:
        """Load ``model`` and compute the start that every new conversation with these
        ``tools`` shares (the template's opening, the tool instructions), saved to disk,
        so the first message after a start or restart pays only for its own words.
        Returns the shared start's length in tokens (0 for a model that cannot chat).

        Measured before (issue 17): the first message after ``ember`` started waited
        12-17 s for Qwen2.5-Coder-0.5B to load and read about a thousand tokens of tool
        instructions, and 11.7 s again after every restart. What is saved is keyed by
        the model file and the llama.cpp build; other tools or another template give
        other tokens, so a stale start is never used."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._warming[model] = done
        try:
            return await self._warm(model, tools)
        finally:
            del self._warming[model]
            done.set_result(None)

    async def _warm(self, model: str, tools: Sequence[Tool]) -> int:
        async with self.engines.use(context_key(model, None)) as engine:
            if not isinstance(engine, LlamaCppEngine):
                return 0

            def tokens_of(text: str) -> list[int]:
                request = ChatRequest(
                    model=model, messages=(Message(role="user", content=text),), tools=tuple(tools)
                )
                plan = ToolPlan.of(request, engine.template)
                return _prompt_tokens(engine, plan, plan.messages)

            # Where two different first messages part is where every conversation does.
            hello = tokens_of("Hello")
            shared = hello[: common_prefix(hello, tokens_of("Bye"))]
            if len(shared) < 2:
                return 0
            warm = GenerateRequest(prompt_tokens=shared, max_tokens=1, persist_kv=True)
            async for _chunk in engine.generate(warm):
                pass
            return len(shared)

    async def generate(
        self,
        model: str,
        request: GenerateRequest,
        keep_alive: float | None = None,
        num_ctx: int | None = None,
    ) -> AsyncIterator[Chunk]:
        """A raw prompt, no chat template (legacy completions, Ollama ``raw``)."""
        async with self.engines.use(context_key(model, num_ctx), keep_alive) as engine:
            if not isinstance(engine, LlamaCppEngine):
                raise WrongModelKindError(
                    f"{model} is an embedding model; it cannot generate text",
                    hint="use it with the embeddings endpoints",
                )
            capped = replace(request, max_tokens=self._capped(request.max_tokens))
            async for chunk in engine.generate(capped):
                if chunk.finish_reason is not None:
                    self._observe(model, chunk.usage)
                yield chunk

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        """Tokens one request may use with ``model`` (loading it if needed)."""
        async with self.engines.use(context_key(model, num_ctx)) as engine:
            return int(getattr(engine, "n_ctx", 0) or 2048)

    async def load(self, model: str, keep_alive: float | None = None) -> None:
        """Load ``model`` now (Ollama's empty request) so the first answer starts fast."""
        async with self.engines.use(model, keep_alive):
            return None

    def unload(self, model: str) -> bool:
        """Unload ``model`` (every context it is loaded with) if loaded and idle."""
        keys = [e.name for e in self.engines.loaded() if model_name(e.name) == model]
        gone = [self.engines.unload(key) for key in keys]
        return any(gone)

    async def embed(
        self,
        model: str,
        texts: list[str],
        keep_alive: float | None = None,
        *,
        truncate: bool = False,
    ) -> tuple[list[list[float]], int]:
        """Vectors for ``texts`` and the number of tokens they were. Embedding models and
        chat models alike are opened under their embedding key, so a chat model gets a
        second, mean-pooled context (as Ollama allows) without loading it for chat."""
        async with self.engines.use(embedding_key(model), keep_alive) as engine:
            return await _embed(engine, texts, truncate)


def _prompt_tokens(
    engine: LlamaCppEngine,
    plan: ToolPlan,
    messages: Sequence[Message],
    continue_final: bool = False,
) -> list[int]:
    """``messages`` through the model's template (with the plan's tools), as tokens; with
    ``continue_final``, ending inside the last message so the model goes on with it."""
    prompt = engine.apply_chat_template(
        [m.to_template() for m in messages],
        tools=plan.template_tools,
        add_generation_prompt=not continue_final,
    )
    if continue_final and messages:
        prompt = open_final_turn(prompt, messages[-1].content)
    return engine.chat_request_tokens(prompt)


def _banned(engine: LlamaCppEngine, text: str) -> dict[int, float]:
    """A logit bias that makes ``text`` impossible to start, when it is one token (the
    ``<tool_call>`` tag of templates that teach it)."""
    tokens = engine.tokenize(text, add_special=False, parse_special=True)
    return {tokens[0]: -1e9} if len(tokens) == 1 else {}


async def _embed(engine: object, texts: list[str], truncate: bool) -> tuple[list[list[float]], int]:
    assert isinstance(engine, LlamaCppEmbedder)
    vectors = await engine.embed(texts, truncate=truncate)
    tokens = sum(min(len(engine.model.tokenize(t)), engine.n_ctx) for t in texts)
    return vectors, tokens


async def _plain(chunks: AsyncIterator[Chunk]) -> AsyncIterator[ChatEvent]:
    text = ""
    async for chunk in chunks:
        if chunk.prompt_progress is not None:
            yield ChatProgress(*chunk.prompt_progress)
        if chunk.text or chunk.logprobs:
            text += chunk.text
            yield ChatDelta(content=chunk.text, logprobs=chunk.logprobs)
        if chunk.finish_reason is not None:
            if chunk.usage is None:  # cancelled: the caller has gone
                return
            yield ChatDone(
                finish_reason=chunk.finish_reason,
                usage=chunk.usage,
                content=text,
                error=chunk.error,
            )


async def _with_tools(chunks: AsyncIterator[Chunk], plan: ToolPlan) -> AsyncIterator[ChatEvent]:
    """Content streams as usual except what may be a tool call, which is held back and
    parsed at the end; a held answer that was no call is released then."""
    holdback = ToolCallHoldback(hold_everything=plan.forced)
    pending: list[TokenLogprob] = []
    async for chunk in chunks:
        if chunk.prompt_progress is not None:
            yield ChatProgress(*chunk.prompt_progress)
        if chunk.text or chunk.logprobs:
            pending.extend(chunk.logprobs)
            shown = holdback.feed(chunk.text)
            if shown:
                yield ChatDelta(content=shown, logprobs=tuple(pending))
                pending = []
        if chunk.finish_reason is None:
            continue
        if chunk.usage is None:
            return
        content, calls = parse_tool_calls(holdback.text, plan.tools)
        if not calls:
            content = holdback.text
            if holdback.held() or pending:
                yield ChatDelta(content=holdback.held(), logprobs=tuple(pending))
        finish = "tool_calls" if calls and chunk.finish_reason == "stop" else chunk.finish_reason
        yield ChatDone(
            finish_reason=finish,
            usage=chunk.usage,
            content=content,
            tool_calls=tuple(calls),
            error=chunk.error,
        )
