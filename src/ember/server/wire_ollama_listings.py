"""Ember -> Ollama wire format (pure) for model management: ``/api/tags``, ``/api/ps``,
``/api/show`` and ``/api/pull``'s progress lines.

Shapes follow Ollama's API docs and its Python client's models (``ListResponse``,
``ShowResponse``, ``ProcessResponse``, ``ProgressResponse``); timestamps are RFC 3339
strings. Nothing here reads a clock: callers pass the times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ember.server.wire_ollama_responses import rfc3339

NEVER_EXPIRES = "2318-01-01T00:00:00Z"  # what Ollama shows for keep_alive < 0 (~292 years)


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
