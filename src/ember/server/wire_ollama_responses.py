"""Ember -> Ollama wire format (pure): NDJSON stream objects and final objects of answers
and embeddings (model listings: wire_ollama_listings.py).

Shapes follow Ollama's API docs and its Python client's models (``ChatResponse``,
``GenerateResponse``, ``ListResponse``, ``ShowResponse``, ``ProcessResponse``,
``EmbedResponse``). Durations are integers in nanoseconds; timestamps are RFC 3339 strings.
Nothing here reads a clock: callers pass ``created_at`` and :class:`Durations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from ember.chat.types import ChatDelta, ChatDone, ToolCall
from ember.engine.base import TokenLogprob, Usage
from ember.errors import EmberError
from ember.server.wire_common import arguments_to_object, with_hint


@dataclass(frozen=True)
class Durations:
    """Wall-clock spans the route measured; the rest is derived from :class:`Usage`."""

    total_s: float  # request received -> answer finished
    load_s: float = 0.0  # spent loading the model for this request


def rfc3339(when: float | datetime) -> str:
    """Epoch seconds or a datetime (naive = UTC) -> ``2024-07-22T20:33:28.123648Z``."""
    if isinstance(when, datetime):
        dt = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    else:
        dt = datetime.fromtimestamp(when, tz=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _ns(seconds: float) -> int:
    return max(0, round(seconds * 1e9))


def metrics(usage: Usage | None, durations: Durations) -> dict[str, int]:
    """The final object's counters. ``prompt_eval_duration`` is the time to the first token
    (prompt evaluation, as Ember measures it); ``eval_duration`` is chosen so that
    ``eval_count / eval_duration`` is Ember's decode rate, the figure clients compute."""
    out = {"total_duration": _ns(durations.total_s), "load_duration": _ns(durations.load_s)}
    if usage is not None:
        out["prompt_eval_count"] = usage.prompt_tokens
        out["prompt_eval_duration"] = _ns(usage.ttft_s)
        out["eval_count"] = usage.completion_tokens
        rate = usage.decode_tps
        out["eval_duration"] = _ns(usage.completion_tokens / rate) if rate > 0 else 0
    return out


def done_reason(finish: str) -> str:
    """Ollama says ``stop`` for tool calls too; it has no word for cancelled or failed."""
    return "length" if finish == "length" else "stop"


def tool_calls_out(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """Ember's calls with ``arguments`` as a JSON object, the way Ollama sends them."""
    return [
        {
            "id": call.id,
            "function": {
                "index": i,
                "name": call.name,
                "arguments": arguments_to_object(call.arguments, name=call.name),
            },
        }
        for i, call in enumerate(calls)
    ]


def logprobs_out(lps: Sequence[TokenLogprob]) -> list[dict[str, Any]]:
    """Ollama's ``logprobs``: one entry per token, its alternatives in ``top_logprobs``."""
    return [
        {
            "token": lp.token,
            "logprob": lp.logprob,
            "bytes": list(lp.bytes),
            "top_logprobs": [
                {"token": tok, "logprob": logprob, "bytes": list(tok.encode("utf-8"))}
                for tok, logprob in lp.top
            ],
        }
        for lp in lps
    ]


# ------------------------------------------------------------------------- /api/chat


def chat_stream_chunk(delta: ChatDelta, *, model: str, created_at: str) -> dict[str, Any]:
    """One NDJSON line of a streamed chat (``done: false``)."""
    out: dict[str, Any] = {
        "model": model,
        "created_at": created_at,
        "message": {"role": "assistant", "content": delta.content},
        "done": False,
    }
    if delta.logprobs:
        out["logprobs"] = logprobs_out(delta.logprobs)
    return out


def chat_response(
    done: ChatDone,
    *,
    model: str,
    created_at: str,
    durations: Durations,
    streamed: bool = False,
    logprobs: Sequence[TokenLogprob] | None = None,
) -> dict[str, Any]:
    """The final chat object: the whole answer, or with ``streamed`` the closing line
    (content already sent, so empty; tool calls ride here), plus the counters."""
    message: dict[str, Any] = {"role": "assistant", "content": "" if streamed else done.content}
    if done.tool_calls:
        message["tool_calls"] = tool_calls_out(done.tool_calls)
    out: dict[str, Any] = {
        "model": model,
        "created_at": created_at,
        "message": message,
        "done_reason": done_reason(done.finish_reason),
        "done": True,
        **metrics(done.usage, durations),
    }
    if logprobs:
        out["logprobs"] = logprobs_out(logprobs)
    if done.route is not None:
        out["meta"] = {"route": done.route}
    return out


# --------------------------------------------------------------------- /api/generate


def generate_stream_chunk(
    text: str,
    *,
    model: str,
    created_at: str,
    logprobs: Sequence[TokenLogprob] = (),
) -> dict[str, Any]:
    """One NDJSON line of a streamed generate (``done: false``)."""
    out: dict[str, Any] = {
        "model": model,
        "created_at": created_at,
        "response": text,
        "done": False,
    }
    if logprobs:
        out["logprobs"] = logprobs_out(logprobs)
    return out


def generate_response(
    text: str,
    *,
    model: str,
    created_at: str,
    finish_reason: str,
    usage: Usage | None,
    durations: Durations,
    streamed: bool = False,
    logprobs: Sequence[TokenLogprob] | None = None,
) -> dict[str, Any]:
    """The final generate object. ``context`` (deprecated token memory) is never sent:
    Ember keeps conversations in its KV cache instead."""
    out: dict[str, Any] = {
        "model": model,
        "created_at": created_at,
        "response": "" if streamed else text,
        "done": True,
        "done_reason": done_reason(finish_reason),
        **metrics(usage, durations),
    }
    if logprobs:
        out["logprobs"] = logprobs_out(logprobs)
    return out


def load_response(
    *,
    model: str,
    created_at: str,
    action: Literal["load", "unload"],
    endpoint: Literal["chat", "generate"],
) -> dict[str, Any]:
    """The answer to an empty chat/generate, which only loads (or with keep_alive 0 unloads)."""
    out: dict[str, Any] = {"model": model, "created_at": created_at}
    if endpoint == "chat":
        out["message"] = {"role": "assistant", "content": ""}
    else:
        out["response"] = ""
    out["done_reason"] = action
    out["done"] = True
    return out


# ------------------------------------------------------------------------ embeddings


def embed_response(
    embeddings: Sequence[Sequence[float]],
    *,
    model: str,
    prompt_tokens: int | None = None,
    durations: Durations | None = None,
) -> dict[str, Any]:
    """``/api/embed``: all vectors, in input order."""
    out: dict[str, Any] = {"model": model, "embeddings": [list(e) for e in embeddings]}
    if durations is not None:
        out["total_duration"] = _ns(durations.total_s)
        out["load_duration"] = _ns(durations.load_s)
    if prompt_tokens is not None:
        out["prompt_eval_count"] = prompt_tokens
    return out


def embeddings_response(embedding: Sequence[float]) -> dict[str, Any]:
    """``/api/embeddings`` (the older endpoint): one vector."""
    return {"embedding": list(embedding)}


def version_response(version: str) -> dict[str, Any]:
    return {"version": version}


def error_body(exc: EmberError) -> dict[str, Any]:
    """Ollama's error shape: one string."""
    return {"error": with_hint(exc)}
