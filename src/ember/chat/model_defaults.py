"""A model's stored system prompt and parameters applied to a request (a pure decision).

An Ollama manifest carries a system prompt and parameters (``temperature``, ``stop``,
``num_ctx``…); ``/api/show`` reports them, and Ollama applies them to every request for
that model unless the request says otherwise. So does Ember, on every front end: the
caller's own values win, the stored ones fill in what it left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ember.chat.types import ChatRequest, Message

# Ollama option names that are Ember sampling options of the same meaning (the
# request's ``options`` and a manifest's params alike); ``seed`` -1 means random.
OLLAMA_SAMPLING = (
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "repeat_penalty",
    "repeat_last_n",
    "presence_penalty",
    "frequency_penalty",
)
SAMPLING_PARAMS = (*OLLAMA_SAMPLING, "seed")
_INTEGERS = {"top_k", "repeat_last_n", "seed"}


@dataclass(frozen=True)
class ModelDefaults:
    system: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.system and not self.params


NO_DEFAULTS = ModelDefaults()


def with_model_defaults(request: ChatRequest, defaults: ModelDefaults) -> ChatRequest:
    """``request`` with the stored system prompt (when it has no system message) and the
    stored parameters it did not set itself; values of the wrong type are ignored."""
    if defaults.empty:
        return request
    messages = request.messages
    if defaults.system and not any(m.role == "system" for m in messages):
        messages = (Message(role="system", content=defaults.system), *messages)
    params = defaults.params
    sampling: dict[str, Any] = {}
    for name in SAMPLING_PARAMS:
        value = _number(params.get(name), integer=name in _INTEGERS)
        if value is not None and name not in request.sampling_given:
            sampling[name] = value
    if sampling.get("seed", 0) < 0:  # Ollama: -1 means a random seed
        sampling.pop("seed")
    stop = params.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    num_predict = _number(params.get("num_predict"), integer=True)
    num_ctx = _number(params.get("num_ctx"), integer=True)
    return replace(
        request,
        messages=messages,
        sampling=replace(request.sampling, **sampling),
        stop=request.stop or tuple(str(s) for s in stops if s),
        max_tokens=request.max_tokens
        or (num_predict if num_predict is not None and num_predict > 0 else None),
        num_ctx=request.num_ctx or (num_ctx if num_ctx is not None and num_ctx > 0 else None),
    )


def _number(value: Any, *, integer: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if integer else float(value)
