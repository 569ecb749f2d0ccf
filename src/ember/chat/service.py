"""The chat service: the one path from a conversation to the engine and back.

Every front end (OpenAI API, Ollama API, web UI, `ember chat`) converts its wire format
to a :class:`ChatRequest` and reads :data:`ChatEvent` objects back. Later issues add
retrieval, tools and routing here, in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from ember.chat.grammar import grammar_for
from ember.chat.types import ChatDelta, ChatDone, ChatEvent, ChatRequest, Tool
from ember.engine.base import GenerateRequest
from ember.engine.llamacpp import LlamaCppEngine
from ember.engine.llamacpp.embedder import LlamaCppEmbedder
from ember.engine.pool import EnginePool
from ember.errors import EmberError


class WrongModelKindError(EmberError):
    status = 400
    code = "wrong_model_kind"


class ChatService:
    def __init__(self, engines: EnginePool) -> None:
        self.engines = engines

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """Deltas as the answer is generated, then one ChatDone."""
        async with self.engines.use(request.model, request.keep_alive) as engine:
            if not isinstance(engine, LlamaCppEngine):
                raise WrongModelKindError(
                    f"{request.model} is an embedding model; it cannot chat",
                    hint="use it with the embeddings endpoints",
                )
            prompt = engine.apply_chat_template(
                [m.to_template() for m in request.messages],
                tools=[_tool_schema(t) for t in request.tools] or None,
            )
            sampling = replace(request.sampling, grammar=grammar_for(request.response_format))
            generate = GenerateRequest(
                prompt_tokens=engine.chat_request_tokens(prompt),
                max_tokens=request.max_tokens,
                stop=request.stop,
                sampling=sampling,
                logprobs=request.logprobs,
            )
            text = ""
            async for chunk in engine.generate(generate):
                if chunk.text or chunk.logprobs:
                    text += chunk.text
                    yield ChatDelta(content=chunk.text, logprobs=chunk.logprobs)
                if chunk.finish_reason is not None:
                    assert chunk.usage is not None or chunk.finish_reason == "cancelled"
                    if chunk.usage is None:
                        return
                    yield ChatDone(
                        finish_reason=chunk.finish_reason,
                        usage=chunk.usage,
                        content=text,
                        error=chunk.error,
                    )

    async def complete(self, request: ChatRequest) -> ChatDone:
        """The whole answer at once (non-streaming clients)."""
        async for event in self.stream(request):
            if isinstance(event, ChatDone):
                return event
        raise EmberError("the generation ended without a result")

    async def embed(self, model: str, texts: list[str]) -> tuple[list[list[float]], int]:
        """Vectors for ``texts`` and the number of tokens they were."""
        async with self.engines.use(model) as engine:
            if not isinstance(engine, LlamaCppEmbedder):
                raise WrongModelKindError(
                    f"{model} is a chat model, not an embedding model",
                    hint="pull an embedding model such as all-minilm or nomic-embed-text",
                )
            vectors = await engine.embed(texts)
            tokens = sum(len(engine.model.tokenize(t)) for t in texts)
            return vectors, tokens


def _tool_schema(tool: Tool) -> dict[str, object]:
    """The OpenAI-style tool object chat templates expect."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }
