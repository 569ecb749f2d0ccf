"""Ollama wire format <-> Ember (pure): /api/chat and /api/generate bodies to
:class:`ChatRequest` (or a raw engine request), embedding inputs, and (re-exported from
:mod:`ember.server.wire_ollama_responses` and :mod:`ember.server.wire_ollama_listings`)
Ember's results back to Ollama's NDJSON objects and model listings, so routes import one
module per API.

Ollama differs from OpenAI where it matters to a converter: sampling settings sit in
``options`` under llama.cpp's names (``num_predict``, ``repeat_penalty``...), ``format`` is
``"json"`` or a JSON schema, ``keep_alive`` is a Go duration, ``stream`` defaults to true,
and tool-call ``arguments`` are a JSON object rather than JSON text. The bodies themselves
are in :mod:`ember.server.wire_ollama_models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ember.chat.types import ChatRequest, Message, ResponseFormat, Tool, ToolCall
from ember.engine.base import GenerateRequest
from ember.server.wire_common import InvalidRequestError, arguments_to_text, parse_body
from ember.server.wire_ollama_listings import (
    NEVER_EXPIRES,
    format_parameters,
    human_parameter_count,
    model_details,
    progress,
    ps_entry,
    ps_response,
    show_response,
    tag_entry,
    tags_response,
)
from ember.server.wire_ollama_models import (
    ChatBody,
    CopyBody,
    DeleteBody,
    EmbedBody,
    EmbeddingsBody,
    GenerateBody,
    MessageIn,
    Options,
    PullBody,
    ShowBody,
    parse_keep_alive,
)
from ember.server.wire_ollama_responses import (
    Durations,
    chat_response,
    chat_stream_chunk,
    done_reason,
    embed_response,
    embeddings_response,
    error_body,
    generate_response,
    generate_stream_chunk,
    load_response,
    logprobs_out,
    metrics,
    rfc3339,
    tool_calls_out,
    version_response,
)

__all__ = [
    "NEVER_EXPIRES",
    "ChatBody",
    "CopyBody",
    "DeleteBody",
    "Durations",
    "EmbedBody",
    "EmbeddingsBody",
    "GenerateBody",
    "InvalidRequestError",
    "Options",
    "PullBody",
    "RawGenerate",
    "ShowBody",
    "chat_response",
    "chat_stream_chunk",
    "chat_to_request",
    "done_reason",
    "embed_inputs",
    "embed_response",
    "embeddings_response",
    "error_body",
    "format_parameters",
    "generate_response",
    "generate_stream_chunk",
    "generate_to_request",
    "human_parameter_count",
    "load_only",
    "load_response",
    "logprobs_out",
    "metrics",
    "model_details",
    "parse_body",
    "parse_keep_alive",
    "progress",
    "ps_entry",
    "ps_response",
    "rfc3339",
    "show_response",
    "tag_entry",
    "tags_response",
    "tool_calls_out",
    "version_response",
]


# ----------------------------------------------------------------------- conversion


@dataclass(frozen=True)
class RawGenerate:
    """``/api/generate`` with ``raw: true``: the prompt goes to the engine untemplated.

    ``response_format`` is kept apart because turning it into a grammar is the chat layer's
    job (``ember.chat.grammar.grammar_for``); the route sets ``request.sampling.grammar``.
    """

    model: str
    request: GenerateRequest
    stream: bool
    keep_alive: float | None
    response_format: ResponseFormat = field(default_factory=ResponseFormat)
    num_ctx: int | None = None


def load_only(body: ChatBody | GenerateBody) -> Literal["load", "unload"] | None:
    """An empty chat/generate only loads the model (or, with keep_alive 0, unloads it).
    Routes check this first; None means there is something to answer."""
    empty = not body.messages if isinstance(body, ChatBody) else not (body.prompt or body.images)
    if not empty:
        return None
    return "unload" if body.keep_alive == 0 else "load"


def _empty(what: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"{what} must not be empty here (an empty request only loads or unloads the model)",
        param=what,
        code="invalid_value",
    )


def chat_to_request(body: ChatBody | Mapping[str, Any]) -> ChatRequest:
    """An Ollama chat body -> :class:`ChatRequest`; any problem is a 400 naming its field."""
    req = parse_body(ChatBody, body)
    if not req.messages:
        raise _empty("messages")
    return ChatRequest(
        model=req.model,
        messages=_messages(req.messages),
        sampling=req.opts.sampling(),
        sampling_given=frozenset(req.opts.sampling_options()),
        max_tokens=req.opts.max_tokens(),
        stop=tuple(s for s in req.opts.stop or () if s),
        stream=req.stream is not False,
        tools=tuple(
            Tool(
                name=t.function.name,
                description=t.function.description or "",
                parameters=t.function.parameters or {},
            )
            for t in req.tools or ()
        ),
        response_format=req.response_format(),
        logprobs=req.logprob_count(),
        keep_alive=req.keep_alive,
        num_ctx=req.opts.num_ctx,
    )


def _messages(messages: list[MessageIn]) -> tuple[Message, ...]:
    out: list[Message] = []
    for i, msg in enumerate(messages):
        calls = tuple(
            ToolCall(
                id=tc.id or f"call_{i}_{j}",
                name=tc.function.name,
                arguments=arguments_to_text(
                    tc.function.arguments, param=f"messages[{i}].tool_calls[{j}].function.arguments"
                ),
            )
            for j, tc in enumerate(msg.tool_calls or ())
        )
        call_id = msg.tool_call_id
        if msg.role == "tool" and call_id is None and msg.tool_name:
            call_id = _last_call_id(out, msg.tool_name)
        out.append(
            Message(
                role=msg.role,
                content=msg.content or "",
                tool_calls=calls,
                tool_call_id=call_id if msg.role == "tool" else None,
                name=msg.tool_name if msg.role == "tool" else None,
                images=tuple(msg.images or ()),
            )
        )
    return tuple(out)


def _last_call_id(earlier: list[Message], name: str) -> str | None:
    """Ollama names a tool result by function; templates wanting ids get the latest call's."""
    for msg in reversed(earlier):
        for call in reversed(msg.tool_calls):
            if call.name == name:
                return call.id
    return None


def generate_to_request(body: GenerateBody | Mapping[str, Any]) -> ChatRequest | RawGenerate:
    """An Ollama generate body -> a one-turn :class:`ChatRequest` (``system`` + ``prompt``
    through the model's chat template), or with ``raw`` a :class:`RawGenerate`."""
    req = parse_body(GenerateBody, body)
    if req.template:
        raise InvalidRequestError(
            "template overrides are not supported: Ember uses the model's own chat template",
            param="template",
            code="unsupported_value",
            hint="send raw=true with a fully formatted prompt instead",
        )
    if req.suffix:
        raise InvalidRequestError(
            "suffix (fill-in-the-middle) is not supported", param="suffix", code="unsupported_value"
        )
    if not req.prompt and not req.images:
        raise _empty("prompt")
    opts = req.opts
    stop = tuple(s for s in opts.stop or () if s)
    if req.raw:
        return RawGenerate(
            model=req.model,
            request=GenerateRequest(
                prompt=req.prompt or "",
                max_tokens=opts.max_tokens(),
                stop=stop,
                sampling=opts.sampling(),
                logprobs=req.logprob_count(),
            ),
            stream=req.stream is not False,
            keep_alive=req.keep_alive,
            response_format=req.response_format(),
            num_ctx=opts.num_ctx,
        )
    messages = [Message(role="system", content=req.system)] if req.system else []
    messages.append(Message(role="user", content=req.prompt or "", images=tuple(req.images or ())))
    return ChatRequest(
        model=req.model,
        messages=tuple(messages),
        sampling=opts.sampling(),
        sampling_given=frozenset(opts.sampling_options()),
        max_tokens=opts.max_tokens(),
        stop=stop,
        stream=req.stream is not False,
        response_format=req.response_format(),
        logprobs=req.logprob_count(),
        keep_alive=req.keep_alive,
        num_ctx=req.opts.num_ctx,
    )


def embed_inputs(body: EmbedBody | EmbeddingsBody | Mapping[str, Any]) -> list[str]:
    """The texts to embed: ``input`` of /api/embed, or the one ``prompt`` of /api/embeddings
    (a mapping is read as an /api/embed body when it has ``input``)."""
    if isinstance(body, Mapping):
        if "input" in body:
            return list(parse_body(EmbedBody, body).input)
        return [parse_body(EmbeddingsBody, body).prompt]
    return list(body.input) if isinstance(body, EmbedBody) else [body.prompt]
