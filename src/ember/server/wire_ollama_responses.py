"""Ember -> Ollama wire format (pure): NDJSON stream objects, final objects, model listings.

Shapes follow Ollama's API docs and its Python client's models (``ChatResponse``,
``GenerateResponse``, ``ListResponse``, ``ShowResponse``, ``ProcessResponse``,
``EmbedResponse``). Durations are integers in nanoseconds; timestamps are RFC 3339 strings.
Nothing here reads a clock: callers pass ``created_at`` and :class:`Durations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from ember.chat.types import ChatDelta, ChatDone, ToolCall
from ember.engine.base import TokenLogprob, Usage
from ember.errors import EmberError
from ember.server.wire_common import arguments_to_object, with_hint

NEVER_EXPIRES = "2318-01-01T00:00:00Z"  # what Ollama shows for keep_alive < 0 (~292 years)


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


# ------------------------------------------------------------------ model management


def human_parameter_count(count: int) -> str:
    """494_032_768 -> ``494.03M``, 8_030_261_248 -> ``8.0B``: how Ollama writes sizes."""
    for unit, scale, digits in (("B", 1e9, 1), ("M", 1e6, 2), ("K", 1e3, 0)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.{digits}f}{unit}"
    return str(count)


def model_details(
    *,
    family: str,
    parameter_size: str,
    quantization_level: str,
    format: str = "gguf",
    families: Sequence[str] | None = None,
    parent_model: str = "",
) -> dict[str, Any]:
    """The ``details`` object tags, show and ps share."""
    return {
        "parent_model": parent_model,
        "format": format,
        "family": family,
        "families": list(families) if families is not None else ([family] if family else None),
        "parameter_size": parameter_size,
        "quantization_level": quantization_level,
    }


def _details(details: Mapping[str, Any]) -> dict[str, Any]:
    return model_details(
        family=str(details.get("family") or ""),
        parameter_size=str(details.get("parameter_size") or ""),
        quantization_level=str(details.get("quantization_level") or ""),
        format=str(details.get("format") or "gguf"),
        families=details.get("families"),
        parent_model=str(details.get("parent_model") or ""),
    )


def _digest(digest: str) -> str:
    """Ollama lists bare hex digests; Ember stores ``sha256:<hex>``."""
    return digest.removeprefix("sha256:")


def tag_entry(
    name: str,
    *,
    size: int,
    digest: str,
    modified_at: float | datetime,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """One model of ``GET /api/tags``."""
    return {
        "name": name,
        "model": name,
        "modified_at": rfc3339(modified_at),
        "size": size,
        "digest": _digest(digest),
        "details": _details(details),
    }


def tags_response(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"models": list(entries)}


def ps_entry(
    name: str,
    *,
    size: int,
    digest: str,
    details: Mapping[str, Any],
    expires_at: float | datetime | None,
    size_vram: int = 0,
    context_length: int | None = None,
) -> dict[str, Any]:
    """One loaded model of ``GET /api/ps``. ``expires_at`` None: kept loaded forever."""
    out: dict[str, Any] = {
        "name": name,
        "model": name,
        "size": size,
        "digest": _digest(digest),
        "details": _details(details),
        "expires_at": NEVER_EXPIRES if expires_at is None else rfc3339(expires_at),
        "size_vram": size_vram,
    }
    if context_length is not None:
        out["context_length"] = context_length
    return out


def ps_response(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"models": list(entries)}


def format_parameters(parameters: Mapping[str, Any]) -> str:
    """Ollama's ``parameters`` text: one ``name value`` line each, lists repeated, strings
    quoted (``stop "<|im_end|>"``)."""
    lines: list[str] = []
    for key, value in parameters.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            text = f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else v
            lines.append(f"{key:<30} {text}")
    return "\n".join(lines)


def show_response(
    *,
    details: Mapping[str, Any],
    model_info: Mapping[str, Any],
    template: str = "",
    parameters: Mapping[str, Any] | None = None,
    license: str | None = None,
    system: str | None = None,
    modelfile: str | None = None,
    modified_at: float | datetime | None = None,
    capabilities: Sequence[str] = ("completion",),
) -> dict[str, Any]:
    """``POST /api/show``. ``model_info`` holds GGUF metadata keys (``general.architecture``,
    ``<arch>.context_length``...); ``capabilities`` from completion, tools, embedding,
    vision, insert, thinking."""
    out: dict[str, Any] = {
        "modelfile": modelfile or "",
        "parameters": format_parameters(parameters or {}),
        "template": template,
        "details": _details(details),
        "model_info": dict(model_info),
        "capabilities": list(capabilities),
    }
    if license:
        out["license"] = license
    if system:
        out["system"] = system
    if modified_at is not None:
        out["modified_at"] = rfc3339(modified_at)
    return out


def progress(
    status: str,
    *,
    digest: str | None = None,
    total: int | None = None,
    completed: int | None = None,
) -> dict[str, Any]:
    """One NDJSON line of ``/api/pull``: ``pulling manifest``, ``pulling <digest>`` with byte
    counts, ``verifying sha256 digest``, ``writing manifest``, ``success``."""
    out: dict[str, Any] = {"status": status}
    if digest is not None:
        out["digest"] = digest
    if total is not None:
        out["total"] = total
    if completed is not None:
        out["completed"] = completed
    return out


def version_response(version: str) -> dict[str, Any]:
    return {"version": version}


def error_body(exc: EmberError) -> dict[str, Any]:
    """Ollama's error shape: one string."""
    return {"error": with_hint(exc)}
