"""Ember -> OpenAI wire format (pure): response bodies, stream chunks and error objects.

Shapes follow the official SDK's models (``ChatCompletion``, ``ChatCompletionChunk``,
``Completion``, ``CreateEmbeddingResponse``, ``Model``) so strict clients parse them. Ids
and timestamps come from the caller: these functions never read a clock or a random source.

Streaming a chat answer, in OpenAI's order::

    progress_chunk(progress) ...    # only with llama-server's return_progress
    chat_chunk(delta, first=True)   # delta carries role "assistant" once
    chat_chunk(delta) ...
    chat_chunks(done)               # tool calls as indexed deltas, then the finish chunk
    usage_chunk(usage)              # only with stream_options.include_usage
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

from ember.chat.types import ChatDelta, ChatDone, ChatProgress, ToolCall
from ember.engine.base import TokenLogprob, Usage
from ember.errors import EmberError
from ember.server.wire_common import shorten, with_hint

SYSTEM_FINGERPRINT = "fp_ember"

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    # OpenAI has no words for these; a cancelled stream has no reader, and the route turns
    # an error into an error event before this is sent.
    "cancelled": "stop",
    "error": "stop",
}


def finish_reason(done: ChatDone) -> str:
    """OpenAI's finish_reason: ``tool_calls`` whenever the answer called tools."""
    return "tool_calls" if done.tool_calls else _FINISH.get(done.finish_reason, "stop")


def completion_finish_reason(reason: str | None) -> str | None:
    """An engine finish reason (stop/length/cancelled/error) in legacy completions' terms."""
    return None if reason is None else _FINISH.get(reason, "stop")


def usage_dict(usage: Usage) -> dict[str, Any]:
    """Usage with the prompt-cache count where OpenAI reports it."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def _bytes(token: str) -> list[int]:
    return list(token.encode("utf-8"))


def logprob_entry(lp: TokenLogprob) -> dict[str, Any]:
    """One token of ``choices[].logprobs.content``, with its ``top_logprobs`` alternatives."""
    return {
        "token": lp.token,
        "logprob": lp.logprob,
        "bytes": list(lp.bytes),
        "top_logprobs": [
            {"token": tok, "logprob": logprob, "bytes": _bytes(tok)} for tok, logprob in lp.top
        ],
    }


def _logprobs(lps: Sequence[TokenLogprob] | None) -> dict[str, Any] | None:
    if lps is None:
        return None
    return {"content": [logprob_entry(lp) for lp in lps], "refusal": None}


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def chat_completion(
    done: ChatDone,
    *,
    model: str,
    request_id: str,
    created: int,
    logprobs: Sequence[TokenLogprob] | None = None,
) -> dict[str, Any]:
    """A whole answer (``object: chat.completion``).

    ``logprobs``: the tokens' log-probabilities collected from the deltas, when the request
    asked for them (a :class:`ChatDone` does not carry them).
    """
    message: dict[str, Any] = {
        "role": "assistant",
        # OpenAI sends null content beside tool calls, and "" never.
        "content": done.content if (done.content or not done.tool_calls) else None,
        "refusal": None,
    }
    if done.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in done.tool_calls]
    return with_route(
        done,
        {
            "id": request_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": _logprobs(logprobs),
                    "finish_reason": finish_reason(done),
                }
            ],
            "usage": usage_dict(done.usage),
        },
    )


def with_route(done: ChatDone, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with Ember's extra field ``meta.route`` when the cloud gate decided
    something about this answer (where it went and why, what was redacted)."""
    if done.route is not None:
        body["meta"] = {"route": done.route}
    return body


def _chunk(
    choices: list[dict[str, Any]],
    *,
    model: str,
    request_id: str,
    created: int,
    include_usage: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }
    if include_usage:
        out["usage"] = None  # OpenAI: null on every chunk but the last, usage-only one
    return out


def chat_chunk(
    event: ChatDelta | ChatDone,
    *,
    model: str,
    request_id: str,
    created: int,
    first: bool = False,
    index: int = 0,
    include_usage: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``: a text delta, or for a :class:`ChatDone` the final
    chunk (empty delta, finish_reason). Tool calls are not in it: see :func:`chat_chunks`.

    ``first`` puts ``role: assistant`` in the delta, as OpenAI's first chunk has it.
    """
    delta: dict[str, Any] = {"role": "assistant"} if first else {}
    if isinstance(event, ChatDelta):
        delta["content"] = event.content
        choice = {
            "index": index,
            "delta": delta,
            "logprobs": _logprobs(event.logprobs) if event.logprobs else None,
            "finish_reason": None,
        }
    else:
        choice = {
            "index": index,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish_reason(event),
        }
    chunk = _chunk(
        [choice], model=model, request_id=request_id, created=created, include_usage=include_usage
    )
    return with_route(event, chunk) if isinstance(event, ChatDone) else chunk


def tool_calls_chunk(
    calls: Sequence[ToolCall],
    *,
    model: str,
    request_id: str,
    created: int,
    first: bool = False,
    index: int = 0,
    include_usage: bool = False,
) -> dict[str, Any]:
    """The tool calls as one delta, each whole and carrying its ``index`` (the key clients
    accumulate streamed calls by)."""
    delta: dict[str, Any] = {"role": "assistant"} if first else {}
    delta["content"] = None
    delta["tool_calls"] = [{"index": i, **_tool_call(c)} for i, c in enumerate(calls)]
    choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
    return _chunk(
        [choice], model=model, request_id=request_id, created=created, include_usage=include_usage
    )


def chat_chunks(
    event: ChatDelta | ChatDone,
    *,
    model: str,
    request_id: str,
    created: int,
    first: bool = False,
    index: int = 0,
    include_usage: bool = False,
) -> list[dict[str, Any]]:
    """Every chunk one event becomes: a delta is one chunk; a :class:`ChatDone` is its tool
    calls (if any) and then the finish chunk. The usage chunk is separate (:func:`usage_chunk`).
    """
    ids: dict[str, Any] = {
        "model": model,
        "request_id": request_id,
        "created": created,
        "index": index,
        "include_usage": include_usage,
    }
    if isinstance(event, ChatDone) and event.tool_calls:
        return [
            tool_calls_chunk(event.tool_calls, first=first, **ids),
            chat_chunk(event, first=False, **ids),
        ]
    return [chat_chunk(event, first=first, **ids)]


def prompt_progress(read: int, total: int, *, time_ms: int, cached: int = 0) -> dict[str, int]:
    """llama-server's ``prompt_progress``: ``total`` prompt tokens, ``cache`` of them found
    cached, ``processed`` so far (the cached ones included), ``time_ms`` since it began.
    ``read`` and ``total`` count the tokens not found cached (Ember's own progress)."""
    return {
        "total": total + cached,
        "cache": cached,
        "processed": read + cached,
        "time_ms": time_ms,
    }


def progress_chunk(
    progress: ChatProgress,
    *,
    model: str,
    request_id: str,
    created: int,
    time_ms: int,
    index: int = 0,
    include_usage: bool = False,
) -> dict[str, Any]:
    """A chunk that says how far the prompt has been read (``return_progress``), as
    llama-server sends it: an assistant delta with no content, and ``prompt_progress``."""
    choice = {
        "index": index,
        "delta": {"role": "assistant", "content": None},
        "logprobs": None,
        "finish_reason": None,
    }
    out = _chunk(
        [choice], model=model, request_id=request_id, created=created, include_usage=include_usage
    )
    out["prompt_progress"] = prompt_progress(progress.read, progress.total, time_ms=time_ms)
    return out


def usage_chunk(
    usage: Usage,
    *,
    model: str,
    request_id: str,
    created: int,
    object: str = "chat.completion.chunk",
) -> dict[str, Any]:
    """The last chunk with ``stream_options.include_usage``: no choices, just usage.
    ``object="text_completion"`` for the legacy completions stream."""
    return {
        "id": request_id,
        "object": object,
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [],
        "usage": usage_dict(usage),
    }


# ------------------------------------------------------------------ legacy completions


def _legacy_logprobs(lps: Sequence[TokenLogprob], offset: int) -> dict[str, Any]:
    """The old parallel-arrays logprobs shape of /v1/completions."""
    tokens: list[str] = []
    token_logprobs: list[float] = []
    top: list[dict[str, float]] = []
    offsets: list[int] = []
    for lp in lps:
        offsets.append(offset)
        offset += len(lp.token)
        tokens.append(lp.token)
        token_logprobs.append(lp.logprob)
        top.append(dict(lp.top))
    return {
        "tokens": tokens,
        "token_logprobs": token_logprobs,
        "top_logprobs": top,
        "text_offset": offsets,
    }


def completion_choice(
    text: str,
    *,
    index: int = 0,
    finish_reason: str | None = None,
    logprobs: Sequence[TokenLogprob] | None = None,
    text_offset: int = 0,
) -> dict[str, Any]:
    """One legacy choice. ``finish_reason`` is an engine reason (mapped here);
    ``text_offset``: where this text starts in the choice (prompt length when echoing)."""
    return {
        "text": text,
        "index": index,
        "logprobs": None if logprobs is None else _legacy_logprobs(logprobs, text_offset),
        "finish_reason": completion_finish_reason(finish_reason),
    }


def completion_response(
    choices: Sequence[dict[str, Any]],
    *,
    model: str,
    request_id: str,
    created: int,
    usage: Usage | None,
) -> dict[str, Any]:
    """A whole legacy completion (``object: text_completion``), choices from
    :func:`completion_choice`."""
    out: dict[str, Any] = {
        "id": request_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": list(choices),
    }
    if usage is not None:
        out["usage"] = usage_dict(usage)
    return out


def completion_chunk(
    text: str,
    *,
    model: str,
    request_id: str,
    created: int,
    index: int = 0,
    finish_reason: str | None = None,
    logprobs: Sequence[TokenLogprob] | None = None,
    text_offset: int = 0,
    include_usage: bool = False,
) -> dict[str, Any]:
    """One streamed legacy chunk: the same shape as the whole response, as OpenAI sends it."""
    out = completion_response(
        [
            completion_choice(
                text,
                index=index,
                finish_reason=finish_reason,
                logprobs=logprobs,
                text_offset=text_offset,
            )
        ],
        model=model,
        request_id=request_id,
        created=created,
        usage=None,
    )
    if include_usage:
        out["usage"] = None
    return out


def completion_progress_chunk(
    read: int,
    total: int,
    *,
    model: str,
    request_id: str,
    created: int,
    time_ms: int,
    index: int = 0,
    include_usage: bool = False,
) -> dict[str, Any]:
    """A legacy chunk with no text that says how far the prompt has been read
    (``return_progress``; ``read`` of ``total`` tokens not found cached)."""
    out = completion_chunk(
        "",
        model=model,
        request_id=request_id,
        created=created,
        index=index,
        include_usage=include_usage,
    )
    out["prompt_progress"] = prompt_progress(read, total, time_ms=time_ms)
    return out


# --------------------------------------------------------------- embeddings and models


def _encode(vector: list[float], encoding_format: str | None) -> list[float] | str:
    if encoding_format == "base64":  # little-endian float32, as the SDK decodes it
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


def embeddings_response(
    vectors: Sequence[Sequence[float]],
    *,
    model: str,
    prompt_tokens: int,
    encoding_format: str | None = None,
    dimensions: int | None = None,
) -> dict[str, Any]:
    """``object: list`` of embeddings in input order, with token usage."""
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": i,
                "embedding": _encode(shorten(v, dimensions), encoding_format),
            }
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def model_object(name: str, created: int, owned_by: str = "ember") -> dict[str, Any]:
    """One entry of ``GET /v1/models`` (also ``GET /v1/models/{name}``)."""
    return {"id": name, "object": "model", "created": created, "owned_by": owned_by}


def model_list(models: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": list(models)}


# --------------------------------------------------------------------------- errors


def error_body(exc: EmberError) -> dict[str, Any]:
    """OpenAI's error object. 4xx are ``invalid_request_error``, 5xx ``server_error``;
    ``param`` is set by request-validation errors (see wire_common.InvalidRequestError)."""
    param = getattr(exc, "param", None)
    return {
        "error": {
            "message": with_hint(exc),
            "type": "invalid_request_error" if exc.status < 500 else "server_error",
            "param": param if isinstance(param, str) else None,
            "code": exc.code,
        }
    }
