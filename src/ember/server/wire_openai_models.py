"""OpenAI request bodies as pydantic models: what /v1/chat/completions, /v1/completions and
/v1/embeddings accept.

They take what the official SDK, LangChain and friends send: unknown fields are ignored,
not rejected (clients add new ones faster than servers learn them), while the fields Ember
uses are checked, so a bad value is a 400 naming it rather than a surprise later. Union
fields are normalised by ``before`` validators, so errors read as one clear sentence
instead of one complaint per union member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ember.engine.base import SamplingParams

LEGACY_COMPLETION_MAX_TOKENS = 16  # OpenAI's documented default for /v1/completions


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ImageURL(_Body):
    url: str
    detail: str | None = None


class ContentPart(_Body):
    """One part of a message's content. Checked by type in :func:`to_chat_request`."""

    type: str
    text: str | None = None
    image_url: ImageURL | None = None

    @field_validator("image_url", mode="before")
    @classmethod
    def _url_string(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value  # a bare URL string


class FunctionCallIn(_Body):
    name: str
    arguments: Any = None  # JSON text per the spec; an object from lenient clients


class ToolCallIn(_Body):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCallIn | None = None  # deprecated single call on assistant turns

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, value: object) -> object:
        if value is None:
            return None
        if isinstance(value, str):
            return [{"type": "text", "text": value}]
        if isinstance(value, list):
            return [{"type": "text", "text": p} if isinstance(p, str) else p for p in value]
        raise ValueError("content must be a string or a list of content parts")


class FunctionDef(_Body):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(_Body):
    type: Literal["function"] = "function"
    function: FunctionDef


class ToolChoiceIn(_Body):
    """``tool_choice`` normalised: a mode, or ``function`` with the name to call."""

    mode: Literal["auto", "none", "required", "function"]
    name: str | None = None


def _choice(value: object, *, legacy: bool) -> object:
    if value is None or isinstance(value, ToolChoiceIn):
        return value
    modes = ("auto", "none") if legacy else ("auto", "none", "required")
    if isinstance(value, str):
        if value in modes:
            return {"mode": value}
        raise ValueError(f"must be one of {', '.join(repr(m) for m in modes)} or a function")
    if isinstance(value, Mapping):
        fn = value if legacy else value.get("function")
        if isinstance(fn, Mapping) and (legacy or value.get("type") == "function"):
            name = fn.get("name")
            if isinstance(name, str) and name:
                return {"mode": "function", "name": name}
        shape = '{"name": ...}' if legacy else '{"type": "function", "function": {"name": ...}}'
        raise ValueError(f"a specific function is chosen with {shape}")
    raise ValueError("must be a string or an object")


class JsonSchemaIn(_Body):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatIn(_Body):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaIn | None = None


class StreamOptions(_Body):
    include_usage: bool | None = None


class _Common(_Body):
    """Fields the chat and legacy completion bodies share."""

    model: str = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    logit_bias: dict[str, float] | None = None
    stop: list[str] | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    # Extensions llama.cpp's server and vLLM accept too; ignored by OpenAI itself.
    top_k: int | None = Field(default=None, ge=0)
    min_p: float | None = Field(default=None, ge=0, le=1)
    repeat_penalty: float | None = Field(default=None, gt=0)
    # llama-server's opt-in: stream chunks with prompt_progress while the prompt is read.
    return_progress: bool | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, value: object) -> object:
        if isinstance(value, str):
            return [value]
        if value is None or (isinstance(value, list) and all(isinstance(s, str) for s in value)):
            return value
        raise ValueError("stop must be a string or a list of strings")

    @field_validator("logit_bias")
    @classmethod
    def _bias(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for key, bias in (value or {}).items():
            if not key.strip().isdigit():
                raise ValueError(f"keys must be token ids, got {key!r}")
            if not -100 <= bias <= 100:
                raise ValueError(f"biases must be between -100 and 100, got {bias}")
        return value

    @property
    def include_usage(self) -> bool:
        """Whether a streamed answer ends with a usage-only chunk (``stream_options``)."""
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    @property
    def progress(self) -> bool:
        """Whether a streamed answer reports how far the prompt has been read first
        (``return_progress``, as llama-server's; nothing without ``stream``)."""
        return bool(self.stream and self.return_progress)

    def sampling(self) -> SamplingParams:
        """Only what the client set overrides Ember's defaults (tuned for local models)."""
        return SamplingParams(**self.sampling_options())

    def sampling_options(self) -> dict[str, Any]:
        """The sampling options the client set (a model's stored parameters fill in the rest)."""
        given: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "temperature",
                "top_p",
                "top_k",
                "min_p",
                "presence_penalty",
                "frequency_penalty",
                "repeat_penalty",
                "seed",
            )
            if getattr(self, name) is not None
        }
        if self.logit_bias:
            given["logit_bias"] = {int(k): float(v) for k, v in self.logit_bias.items()}
        return given

    def stops(self) -> tuple[str, ...]:
        return tuple(s for s in self.stop or () if s)


class ChatCompletionRequest(_Common):
    """``POST /v1/chat/completions``."""

    messages: list[ChatMessageIn]
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)  # the newer name
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    functions: list[FunctionDef] | None = None  # deprecated form of tools
    function_call: ToolChoiceIn | None = None  # deprecated form of tool_choice
    response_format: ResponseFormatIn | None = None

    @field_validator("messages")
    @classmethod
    def _not_empty(cls, value: list[ChatMessageIn]) -> list[ChatMessageIn]:
        if not value:
            raise ValueError("messages must contain at least one message")
        return value

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice(cls, value: object) -> object:
        return _choice(value, legacy=False)

    @field_validator("function_call", mode="before")
    @classmethod
    def _function_call(cls, value: object) -> object:
        return _choice(value, legacy=True)


class CompletionRequest(_Common):
    """``POST /v1/completions`` (legacy): raw text in, raw text out, no chat template."""

    prompt: list[str | list[int]]
    suffix: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    logprobs: int | None = Field(default=None, ge=0, le=5)
    echo: bool | None = None
    best_of: int | None = Field(default=None, ge=1)

    @field_validator("prompt", mode="before")
    @classmethod
    def _prompt(cls, value: object) -> object:
        if isinstance(value, str):
            return [value]
        if value == []:
            raise ValueError("prompt must not be empty")
        if _is_tokens(value):
            return [value]  # one prompt as token ids
        if isinstance(value, list) and all(isinstance(p, str) or _is_tokens(p) for p in value):
            return value
        raise ValueError("prompt must be a string, a list of strings, or token ids")


def _is_tokens(value: object) -> bool:
    """A non-empty list of token ids (ints, not bools)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    )


class EmbeddingRequest(_Body):
    """``POST /v1/embeddings``."""

    model: str = Field(min_length=1)
    input: list[str]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: object) -> object:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(s, str) for s in value):
            if not value:
                raise ValueError("input must not be empty")
            return value
        if isinstance(value, list):
            raise ValueError(
                "input must be text: token-id arrays (OpenAI's tiktoken ids) mean nothing "
                "to local models; send strings (LangChain: check_embedding_ctx_length=False)"
            )
        raise ValueError("input must be a string or a list of strings")
