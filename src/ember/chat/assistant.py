"""Ember's own chat: conversations that are stored as they happen.

The web UI and ``ember chat`` talk to this; it keeps the history, builds the request
and hands it to the answering path (:class:`ember.chat.answering.Answerer`). The user's
message is stored before generation starts, and the answer is written as it grows
(:class:`ember.chat.stored_answer.StoredAnswer`, at
most every ``flush_interval`` seconds), so a stop, a dropped connection or a killed
process leaves the partial answer saved and marked ``incomplete``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

from ember.auth.collections import stored_name
from ember.chat.answering import Answerer, AnswerPlan, Grounded
from ember.chat.backend import complete
from ember.chat.conversations import (
    Conversation,
    ConversationStore,
    StoredMessage,
)
from ember.chat.document_sources import attached_collections
from ember.chat.stored_answer import StoredAnswer
from ember.chat.tool_loop import ToolCallResult, ToolRunner, ToolStep
from ember.chat.types import (
    ChatDelta,
    ChatProgress,
    ChatRequest,
    EgressScope,
    Message,
    ToolCall,
)
from ember.engine.base import SamplingParams
from ember.errors import EmberError

TITLE_PROMPT = (
    "Write a title of at most six words for a conversation that starts with the message "
    "below. Answer with the title only, no quotes.\n\nMessage: {message}"
)
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "seed", "repeat_penalty")


class InvalidConversationError(EmberError):
    status = 400
    code = "invalid_conversation"


@dataclass(frozen=True)
class ReplyStarted:
    user: StoredMessage | None  # None when regenerating
    assistant: StoredMessage


@dataclass(frozen=True)
class ReplyDelta:
    content: str
    text: str  # the whole answer so far


@dataclass(frozen=True)
class ReplyDone:
    message: StoredMessage


@dataclass(frozen=True)
class ReplyToolCalls:
    """The model asked for tools: its stored message, with ``meta.tool_calls``."""

    message: StoredMessage


@dataclass(frozen=True)
class ReplyToolResult:
    """A tool ran: the stored ``tool`` message (``meta``: name, arguments, is_error)."""

    message: StoredMessage


# An answer's length when the conversation sets none (setting ``answer_tokens``): answers
# outlive the page (chat/live_answers.py), so one nobody watches must still end. Measured
# before this limit: SmolLM2 under load wrote 14,320 characters of repeated text into one
# answer. One that reaches it can be continued (:meth:`Assistant.continue_answer`).
DEFAULT_ANSWER_TOKENS = 4096


@dataclass(frozen=True)
class ReplyProgress:
    """A long prompt being read: ``read`` of ``total`` tokens (not stored)."""

    read: int
    total: int


ReplyEvent = (
    ReplyStarted | ReplyDelta | ReplyProgress | ReplyToolCalls | ReplyToolResult | ReplyDone
)
ToolsFor = Callable[[Conversation], ToolRunner | None]


class Assistant:
    def __init__(
        self,
        store: ConversationStore,
        answerer: Answerer,
        *,
        default_model: str,
        flush_interval: float = 0.25,
        tools_for: ToolsFor | None = None,
        where_of: Callable[[str], str] | None = None,
        answer_tokens: int = DEFAULT_ANSWER_TOKENS,
    ) -> None:
        self.tools_for = tools_for
        self.answer_tokens = answer_tokens
        self.where_of = where_of or (lambda _model: "local")
        self.store = store
        self.answerer = answerer
        self.default_model = default_model
        self.flush_interval = flush_interval
        self._title_tasks: set[asyncio.Task[None]] = set()

    # -------------------------------------------------------------- the three ways

    async def send(
        self, conversation_id: str, content: str, *, parent_id: str | Any | None = ...
    ) -> AsyncIterator[ReplyEvent]:
        """Add a user message (under the shown tip, or ``parent_id``) and answer it."""
        if not content.strip():
            raise InvalidConversationError("the message is empty", hint="type something")
        conversation = self.store.get(conversation_id)
        parent = conversation.leaf_id if parent_id is ... else parent_id
        user = self.store.add_message(
            conversation_id, role="user", content=content, parent_id=parent
        )
        async for event in self._answer(self.store.get(conversation_id), user, user):
            yield event

    async def edit(
        self, conversation_id: str, message_id: str, content: str
    ) -> AsyncIterator[ReplyEvent]:
        """A new version of a user message (the old branch stays), answered afresh."""
        original = self.store.message(message_id)
        if original.conversation_id != conversation_id or original.role != "user":
            raise InvalidConversationError("only the user's own messages can be edited")
        async for event in self.send(conversation_id, content, parent_id=original.parent_id):
            yield event

    async def regenerate(
        self,
        conversation_id: str,
        message_id: str,
        *,
        confirm_cloud: bool = False,
        use_cloud: bool = False,
    ) -> AsyncIterator[ReplyEvent]:
        """Another answer to the same question (the earlier answer stays as a branch).
        ``confirm_cloud``: the user said yes to sending it to the cloud (policy ``ask``);
        ``use_cloud``: the user asks the cloud model to answer (the ``asked`` signal,
        decided under the policy like any other)."""
        answer = self.store.message(message_id)
        if answer.conversation_id != conversation_id or answer.role != "assistant":
            raise InvalidConversationError("only answers can be regenerated")
        if answer.parent_id is None:
            raise InvalidConversationError("this answer has no question to answer again")
        question = self.store.message(answer.parent_id)
        conversation = self.store.get(conversation_id)
        scope = egress_scope(
            conversation,
            confirmed=confirm_cloud or use_cloud,
            escalate="asked" if use_cloud else None,
        )
        async for event in self._answer(conversation, question, None, egress=scope):
            yield event

    async def continue_answer(
        self, conversation_id: str, message_id: str
    ) -> AsyncIterator[ReplyEvent]:
        """More of an answer that reached its length limit (or was stopped): the model
        goes on from its last word, in the same message, without tools."""
        answer = self.store.message(message_id)
        if answer.conversation_id != conversation_id or answer.role != "assistant":
            raise InvalidConversationError("only answers can be continued")
        if answer.status == "streaming":
            raise InvalidConversationError(
                "this answer is still being written", hint="wait for it, or stop it first"
            )
        if not answer.content.strip() or answer.meta.get("tool_calls") or answer.parent_id is None:
            raise InvalidConversationError("this answer has no text to continue")
        conversation = self.store.get(conversation_id)
        request = replace(
            self.request_for(conversation, answer), continue_final=True, tool_choice="none"
        )
        plan = replace(self.plan_for(conversation), tools=None)
        reply = self._stored_answer(conversation.id, request.model, parent_id=answer.parent_id)
        yield ReplyStarted(user=None, assistant=reply.resume(answer))
        async for event in self._stream(reply, request, plan):
            yield event

    # ------------------------------------------------------------------- answering

    def request_for(
        self, conversation: Conversation, leaf: StoredMessage, *, egress: EgressScope | None = None
    ) -> ChatRequest:
        """The chat request for the branch ending at ``leaf``, with the conversation's
        model, system prompt and settings."""
        messages: list[Message] = []
        if conversation.system:
            messages.append(Message(role="system", content=conversation.system))
        for stored in self.store.path(conversation.id, leaf.id):
            message = _history_message(stored)
            if message is not None:
                messages.append(message)
        settings = conversation.settings
        sampling = SamplingParams(**{k: settings[k] for k in SAMPLING_KEYS if k in settings})
        max_tokens = settings.get("max_tokens")
        num_ctx = settings.get("num_ctx")
        return ChatRequest(
            model=conversation.model or self.default_model,
            messages=tuple(messages),
            sampling=sampling,
            sampling_given=frozenset(k for k in SAMPLING_KEYS if k in settings),
            max_tokens=int(max_tokens) if max_tokens else None,
            stream=True,
            trim_to_fit=True,
            progress=True,
            stop_repeating=True,
            num_ctx=int(num_ctx) if num_ctx else None,
            egress=egress or egress_scope(conversation),
        )

    def plan_for(self, conversation: Conversation) -> AnswerPlan:
        """The conversation's tools (its settings) and attached documents; with documents
        the answer comes from them, without tools."""
        runner = self.tools_for(conversation) if self.tools_for is not None else None
        return AnswerPlan(
            tools=runner,
            collections=[
                stored_name(conversation.user_id, name)
                for name in attached_collections(conversation.settings)
            ],
            default_max_tokens=self.answer_tokens,
        )

    def _stored_answer(self, conversation_id: str, model: str, *, parent_id: str) -> StoredAnswer:
        return StoredAnswer(
            self.store,
            conversation_id,
            model,
            parent_id=parent_id,
            where=self.where_of(model),
            flush_interval=self.flush_interval,
        )

    async def _answer(
        self,
        conversation: Conversation,
        question: StoredMessage,
        user: StoredMessage | None,
        *,
        egress: EgressScope | None = None,
    ) -> AsyncIterator[ReplyEvent]:
        request = self.request_for(conversation, question, egress=egress)
        answer = self._stored_answer(conversation.id, request.model, parent_id=question.id)
        yield ReplyStarted(user=user, assistant=answer.start())
        async for event in self._stream(answer, request, self.plan_for(conversation)):
            yield event
        if answer.finished and not conversation.title and user is not None:
            self._title_later(conversation.id, user.content)

    async def _stream(
        self, answer: StoredAnswer, request: ChatRequest, plan: AnswerPlan
    ) -> AsyncIterator[ReplyEvent]:
        """The answering path's events as stored replies."""
        try:
            async for event in self.answerer.answer(request, plan):
                if isinstance(event, Grounded):
                    answer.sources, answer.retrieval = event.sources, event.retrieval
                elif isinstance(event, ChatDelta):
                    if not event.content:
                        continue
                    if answer.message is None:  # the answer after tool results
                        yield ReplyStarted(user=None, assistant=answer.start())
                    yield ReplyDelta(content=event.content, text=answer.add(event.content))
                elif isinstance(event, ToolStep):
                    yield ReplyToolCalls(answer.calls_made(event.done))
                elif isinstance(event, ToolCallResult):
                    yield ReplyToolResult(answer.tool_result(event))
                elif isinstance(event, ChatProgress):
                    yield ReplyProgress(read=event.read, total=event.total)
                else:
                    if answer.message is None:
                        yield ReplyStarted(user=None, assistant=answer.start())
                    yield ReplyDone(answer.finish(event))
        except EmberError as exc:
            if answer.message is None:
                yield ReplyStarted(user=None, assistant=answer.start())
            yield ReplyDone(answer.fail(str(exc), code=exc.code))
        finally:
            answer.keep_partial()  # stopped, disconnected or cancelled: keep what was seen

    # --------------------------------------------------------------------- titles

    def _title_later(self, conversation_id: str, first_message: str) -> None:
        task = asyncio.get_running_loop().create_task(self.title(conversation_id, first_message))
        self._title_tasks.add(task)
        task.add_done_callback(self._title_tasks.discard)

    async def title(self, conversation_id: str, first_message: str) -> None:
        """Name the conversation with a few words from the model (never fails loudly)."""
        conversation = self.store.get(conversation_id)
        if conversation.title:
            return
        prompt = TITLE_PROMPT.format(message=first_message[:1000])
        try:
            done = await complete(
                self.answerer.backend,
                ChatRequest(
                    model=conversation.model or self.default_model,
                    messages=(Message(role="user", content=prompt),),
                    sampling=SamplingParams(temperature=0.2, seed=0),
                    max_tokens=16,
                    egress=egress_scope(self.store.get(conversation_id)),
                ),
            )
            title = clean_title(done.content) or fallback_title(first_message)
        except EmberError:
            title = fallback_title(first_message)
        if not self.store.get(conversation_id).title:
            self.store.update(conversation_id, title=title)

    async def wait_for_titles(self) -> None:
        if self._title_tasks:
            await asyncio.gather(*self._title_tasks, return_exceptions=True)


def egress_scope(
    conversation: Conversation, *, confirmed: bool = False, escalate: str | None = None
) -> EgressScope:
    """The cloud gate's view of a conversation: its own cloud policy (settings
    ``cloud_policy``; None: the setting's) and its id for the egress log."""
    policy = conversation.settings.get("cloud_policy")
    return EgressScope(
        policy=policy if isinstance(policy, str) else None,
        conversation_id=conversation.id,
        user_id=conversation.user_id,
        confirmed=confirmed,
        escalate=escalate,
    )


def _history_message(stored: StoredMessage) -> Message | None:
    """A stored message as the model sees it again (empty answers are left out)."""
    if stored.role == "tool":
        return Message(
            role="tool",
            content=stored.content,
            tool_call_id=stored.meta.get("tool_call_id"),
            name=stored.meta.get("name"),
        )
    calls = tuple(
        ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"])
        for c in stored.meta.get("tool_calls", ())
    )
    if stored.role == "assistant" and not stored.content and not calls:
        return None
    if stored.role not in ("user", "assistant", "system"):
        return None
    return Message(role=stored.role, content=stored.content, tool_calls=calls)  # type: ignore[arg-type]


def clean_title(text: str) -> str:
    """The model's title, one line, without quotes, labels or a final full stop."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(title\s*:\s*)", "", line, flags=re.IGNORECASE)
    line = line.strip().strip("\"'`*#").strip().rstrip(".")
    return line[:80]


def fallback_title(first_message: str) -> str:
    words = first_message.split()
    return " ".join(words[:6]) + ("…" if len(words) > 6 else "")
