"""Wire-neutral chat types. OpenAI and Ollama adapters convert to and from these (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ember.engine.base import SamplingParams, TokenLogprob, Usage
from ember.types import Tool as Tool

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it (validated by the grammar)


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    images: tuple[str, ...] = ()  # base64, accepted and ignored by text-only models

    def to_template(self) -> dict[str, Any]:
        """The dict shape chat templates expect (HF conventions)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _template_arguments(c.arguments)},
                }
                for c in self.tool_calls
            ]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.name:
            out["name"] = self.name
        return out


def with_system_text(messages: Sequence[Message], text: str) -> list[Message]:
    """``messages`` with ``text`` appended to the system message (or as a new one)."""
    out = list(messages)
    if out and out[0].role == "system":
        out[0] = Message(role="system", content=f"{out[0].content}\n\n{text}")
    else:
        out.insert(0, Message(role="system", content=text))
    return out


def _template_arguments(arguments: str) -> Any:
    """HF templates expect a dict and render it with ``| tojson``: JSON text would come out
    double-encoded (a quoted string). Text that is not a JSON object is passed as is."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


ToolChoice = Literal["auto", "none", "required"] | str  # a str other than those: a function name


@dataclass(frozen=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"] = "text"
    schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class EgressScope:
    """Who asks, for the cloud gate: the policy of the conversation or API key that sent
    the request (None: the default), their ids for the egress log, and whether the user
    confirmed sending this request to the cloud (policy ``ask``)."""

    policy: str | None = None
    conversation_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None  # with accounts on: whose request it is (usage, quotas)
    confirmed: bool = False
    # Why the answering path above the backends sends this request to the cloud model
    # (a routing signal: "tools_failed", "asked"); None: the gate decides alone.
    escalate: str | None = None
    escalate_detail: str = ""  # the signal's detail, in words ("calculator failed: …")
    # Document collections whose passages this request carries (a grounded answer):
    # private unless the settings mark them shareable.
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    # The sampling options the caller set; a model's stored parameters (an Ollama
    # manifest's params) fill in the others.
    sampling_given: frozenset[str] = frozenset()
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    response_format: ResponseFormat = field(default_factory=ResponseFormat)
    logprobs: int | None = None  # None: off; 0: chosen token; N: plus top N
    n: int = 1
    keep_alive: float | None = None  # seconds; Ollama's keep_alive
    num_ctx: int | None = None  # a context size other than the fit plan's (Ollama's num_ctx)
    # Leave out the oldest turns when the prompt would not fit (Ember's own chat); the
    # APIs keep this off and answer 400 context_length_exceeded instead.
    trim_to_fit: bool = False
    progress: bool = False  # report prompt reading as ChatProgress events (Ember's own chat)
    # End an answer that loops, finish_reason "repetition" (Ember's own chat; the APIs
    # leave generation to the client's own penalties and limits).
    stop_repeating: bool = False
    # The last message is a partial answer to go on with, in the same turn ("continue").
    continue_final: bool = False
    # Keep the answer's KV state on disk when it ends: a front end asks this of its
    # Ember workers, which share a KV directory, so that a conversation whose worker is
    # gone continues on another from that state (the ``X-Ember-Save-KV`` header).
    save_kv: bool = False
    egress: EgressScope = field(default_factory=EgressScope)


def last_question(messages: Sequence[Message]) -> str:
    """The text of the last user message (what the routing and checks read)."""
    return next((m.content for m in reversed(messages) if m.role == "user"), "")


@dataclass(frozen=True)
class ChatDelta:
    """A piece of the answer as it streams."""

    content: str = ""
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class ChatDone:
    """The end of one answer: why it ended, usage, and any tool calls it made."""

    finish_reason: Literal["stop", "length", "repetition", "tool_calls", "cancelled", "error"]
    usage: Usage
    tool_calls: tuple[ToolCall, ...] = ()
    content: str = ""  # the whole answer text (tool-call JSON removed)
    error: str | None = None
    trimmed: int = 0  # messages left out to fit the context (trim_to_fit)
    where: str = "local"  # where it was computed: "local", or the remote's name
    # The cloud gate's decision when one was made: target, provider, model, reason,
    # redacted kinds and counts, a notice when it fell back to local (meta.route).
    route: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChatProgress:
    """How much of a long prompt has been read (only for requests with ``progress``):
    the page shows "reading … n%" instead of dots that say nothing."""

    read: int
    total: int


ChatEvent = ChatDelta | ChatDone | ChatProgress
