"""Ollama request bodies as pydantic models, and Ollama's ``keep_alive`` durations.

Unknown fields and unknown ``options`` are ignored, as Ollama ignores them; the fields
Ember uses are checked, so a bad value is a 400 naming it. ``name`` is accepted wherever
Ollama once used it for ``model``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ember.chat.model_defaults import OLLAMA_SAMPLING
from ember.chat.types import ResponseFormat
from ember.engine.base import SamplingParams
from ember.server.wire_common import InvalidRequestError

# ------------------------------------------------------------------------ keep_alive

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")


def parse_keep_alive(value: object) -> float | None:
    """Ollama's ``keep_alive`` -> seconds. None: not given (use the default); -1.0: keep the
    model loaded forever (any negative value); 0.0: unload as soon as the request ends.

    Accepts a number of seconds, or a Go duration string (``"5m"``, ``"1h30m"``,
    ``"300ms"``, ``"-1m"``); a bare numeric string counts as seconds, as clients send
    ``"0"`` and ``"-1"`` too.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _keep_alive_error(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
            if text.startswith("-"):
                seconds = -seconds
        else:
            raise _keep_alive_error(value)
    else:
        seconds = float(value)
    if math.isnan(seconds):
        raise _keep_alive_error(value)
    return -1.0 if seconds < 0 else seconds


def _keep_alive_error(value: object) -> InvalidRequestError:
    return InvalidRequestError(
        f'invalid keep_alive {value!r}: use seconds (300), a duration ("5m", "1h30m"), '
        "0 to unload now, or a negative value to keep the model loaded",
        param="keep_alive",
        code="invalid_value",
    )


# ------------------------------------------------------------------------ the bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Named(_Body):
    """Bodies naming a model; ``name`` is the deprecated spelling of ``model``."""

    model: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _name_alias(cls, data: object) -> object:
        if isinstance(data, Mapping) and not data.get("model") and data.get("name"):
            return {**data, "model": data["name"]}
        return data


class Options(_Body):
    """The ``options`` Ember honours; Ollama's others (mirostat, num_gpu...) are ignored."""

    num_predict: int | None = None
    temperature: float | None = Field(default=None, ge=0)
    top_k: int | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    min_p: float | None = Field(default=None, ge=0, le=1)
    repeat_penalty: float | None = Field(default=None, ge=0)
    repeat_last_n: int | None = Field(default=None, ge=-1)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    num_ctx: int | None = Field(default=None, ge=1)

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def sampling(self) -> SamplingParams:
        return SamplingParams(**self.sampling_options())

    def sampling_options(self) -> dict[str, Any]:
        """The sampling options the client set (a model's stored parameters fill in the rest)."""
        given: dict[str, Any] = {
            name: getattr(self, name) for name in OLLAMA_SAMPLING if getattr(self, name) is not None
        }
        if self.seed is not None and self.seed >= 0:  # Ollama: -1 means a random seed
            given["seed"] = self.seed
        return given

    def max_tokens(self) -> int | None:
        """``num_predict``: -1 (forever), -2 (fill the context) and 0 all mean no limit."""
        return self.num_predict if self.num_predict is not None and self.num_predict > 0 else None


class ToolCallFunctionIn(_Body):
    name: str
    arguments: Any = None  # a JSON object per Ollama; JSON text from lenient clients
    index: int | None = None


class ToolCallIn(_Body):
    id: str | None = None
    function: ToolCallFunctionIn


class MessageIn(_Body):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    images: list[str] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None
    thinking: str | None = None  # a reasoning model's earlier thoughts: not replayed


class FunctionDef(_Body):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolIn(_Body):
    type: Literal["function"] = "function"
    function: FunctionDef


class _KeepAlive(_Body):
    keep_alive: float | None = None  # seconds, parsed from Ollama's forms

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _keep_alive(cls, value: object) -> object:
        try:
            return parse_keep_alive(value)
        except InvalidRequestError as exc:
            raise ValueError(exc.message) from None


class _Generating(_Named, _KeepAlive):
    """What chat and generate share."""

    format: str | dict[str, Any] | None = None
    options: Options | None = None
    stream: bool | None = None  # Ollama streams unless told not to
    think: bool | str | None = None  # accepted; Ember has no separate thinking channel yet
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        if value is None or value in ("", "json") or isinstance(value, Mapping):
            return value
        raise ValueError('format must be "json" or a JSON schema object')

    @property
    def opts(self) -> Options:
        return self.options or Options()

    def response_format(self) -> ResponseFormat:
        if isinstance(self.format, dict):
            return ResponseFormat(type="json_schema", schema=self.format)
        return ResponseFormat(type="json_object") if self.format == "json" else ResponseFormat()

    def logprob_count(self) -> int | None:
        return (self.top_logprobs or 0) if self.logprobs else None


class ChatBody(_Generating):
    """``POST /api/chat``."""

    messages: list[MessageIn] = Field(default_factory=list)
    tools: list[ToolIn] | None = None


class GenerateBody(_Generating):
    """``POST /api/generate``."""

    prompt: str | None = None
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None  # deprecated token memory: ignored
    raw: bool | None = None
    images: list[str] | None = None


class EmbedBody(_Named, _KeepAlive):
    """``POST /api/embed``."""

    input: list[str]
    truncate: bool | None = None
    options: Options | None = None
    dimensions: int | None = Field(default=None, ge=1)

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: object) -> object:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(s, str) for s in value):
            return value
        raise ValueError("input must be a string or a list of strings")


class EmbeddingsBody(_Named, _KeepAlive):
    """``POST /api/embeddings`` (the older, one-text endpoint)."""

    prompt: str = ""
    options: Options | None = None


class ShowBody(_Named):
    """``POST /api/show``."""

    verbose: bool | None = None


class PullBody(_Named):
    """``POST /api/pull``; ``force`` (Ember's) skips the fit check."""

    insecure: bool | None = None
    stream: bool | None = None
    force: bool = False


class DeleteBody(_Named):
    """``DELETE /api/delete``."""


class CopyBody(_Body):
    """``POST /api/copy``."""

    source: str = Field(min_length=1)
    destination: str = Field(min_length=1)
