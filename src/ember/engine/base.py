"""The engine contract every backend implements, and the types that cross it.

``generate`` yields :class:`Chunk` objects: text deltas as they are decoded, then one
final chunk carrying ``finish_reason`` and :class:`Usage`. Chat templates, routing and
wire formats live above this line; tokens, slots and KV caches below it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

# "repetition": stopped because it was looping (GenerateRequest.stop_repeating).
FinishReason = Literal["stop", "length", "repetition", "cancelled", "error"]


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen. ``temperature <= 0`` means greedy (deterministic)."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    logit_bias: dict[int, float] = field(default_factory=dict)
    grammar: str | None = None  # GBNF; JSON schemas are converted to this before here


@dataclass(frozen=True)
class GenerateRequest:
    """One completion: a prompt (text or tokens), limits, stops and sampling."""

    prompt: str | None = None
    prompt_tokens: list[int] | None = None
    max_tokens: int | None = 256  # None: until the context is full
    stop: tuple[str, ...] = ()
    sampling: SamplingParams = field(default_factory=SamplingParams)
    logprobs: int | None = None  # None: none; 0: the chosen token's only; N: plus top-N
    add_special: bool = True  # let the tokenizer add BOS when the model wants it
    parse_special: bool = True  # chat templates write special tokens as text
    persist_kv: bool = False  # save this sequence's KV to disk when it ends (conversations)
    progress: bool = False  # also emit chunks with prompt_progress while the prompt is read
    stop_repeating: bool = False  # end a looping generation (engine/repetition.py)


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    bytes: list[int]
    top: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int  # prompt tokens reused from the KV cache (memory or disk)
    ttft_s: float  # request admitted -> first token
    prompt_tps: float  # prompt tokens evaluated per second
    decode_tps: float  # generated tokens per second after the first
    queue_s: float = 0.0  # time spent waiting for a free slot

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Chunk:
    text: str = ""
    token_ids: tuple[int, ...] = ()
    logprobs: tuple[TokenLogprob, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    error: str | None = None
    # (tokens read, tokens to read) of the prompt not found cached, while it is being
    # read; only for requests that ask for it (``progress``), never with text.
    prompt_progress: tuple[int, int] | None = None


@dataclass(frozen=True)
class EngineInfo:
    model: str
    path: str
    n_ctx: int  # tokens one request may use (prompt + answer)
    n_slots: int
    n_threads: int
    n_vocab: int
    embedding: bool


class Engine(Protocol):
    def generate(self, request: GenerateRequest) -> AsyncIterator[Chunk]: ...

    async def embed(self, texts: list[str]) -> list[list[float]]: ...

    def tokenize(
        self, text: str, *, add_special: bool = True, parse_special: bool = True
    ) -> list[int]: ...

    def detokenize(self, tokens: list[int]) -> str: ...

    def info(self) -> EngineInfo: ...

    def close(self) -> None: ...
