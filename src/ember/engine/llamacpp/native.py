"""Thin, typed wrappers over llama-cpp-python's ctypes API: model, vocabulary, batch.

Everything here is a direct call into llama.cpp; policy lives in the scheduler.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path
from typing import Any

import llama_cpp as ll

from ember.errors import EmberError

log = logging.getLogger(__name__)
_backend_lock = threading.Lock()
_backend_ready = False


class ModelLoadError(EmberError):
    status = 500
    code = "model_load_failed"


def init_backend() -> None:
    """Initialise llama.cpp once per process; its own logging shows errors only."""
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            from llama_cpp import _logger

            _logger.set_verbose(
                log.isEnabledFor(logging.DEBUG)
            )  # llama.cpp chatter only on --debug
            ll.llama_backend_init()
            _backend_ready = True


def system_info() -> str:
    return bytes(ll.llama_print_system_info()).decode("utf-8", "replace")


class NativeModel:
    """A loaded llama_model and its vocabulary. Thread-safe for tokenization."""

    def __init__(self, path: Path, *, n_gpu_layers: int = 0, vocab_only: bool = False) -> None:
        init_backend()
        params = ll.llama_model_default_params()
        params.n_gpu_layers = n_gpu_layers
        params.vocab_only = vocab_only
        self.path = path
        self.ptr = ll.llama_model_load_from_file(str(path).encode(), params)
        if not self.ptr:
            raise ModelLoadError(
                f"llama.cpp could not load {path.name}",
                hint="the file may be corrupt, truncated or of an unsupported architecture; "
                "`ember rm` it and pull it again",
            )
        self.vocab = ll.llama_model_get_vocab(self.ptr)
        self.n_vocab = int(ll.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(ll.llama_model_n_ctx_train(self.ptr))
        self.n_embd = int(ll.llama_model_n_embd(self.ptr))
        self.bos = int(ll.llama_vocab_bos(self.vocab))
        self.eos = int(ll.llama_vocab_eos(self.vocab))
        self.add_bos = bool(ll.llama_vocab_get_add_bos(self.vocab))
        self.has_encoder = bool(ll.llama_model_has_encoder(self.ptr))
        self._piece_cache: dict[tuple[int, bool], bytes] = {}

    def close(self) -> None:
        if self.ptr:
            ll.llama_model_free(self.ptr)
            self.ptr = None

    # ---------------------------------------------------------------- metadata

    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(65536)
        n = ll.llama_model_meta_val_str(self.ptr, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", "replace") if n >= 0 else None

    def chat_template(self) -> str | None:
        raw = ll.llama_model_chat_template(self.ptr, None)
        return raw.decode("utf-8", "replace") if raw else None

    def token_text(self, token: int) -> str:
        """The special-token text (e.g. '<|im_end|>'), for templates' bos/eos variables."""
        if token < 0:
            return ""
        return self.piece(token, special=True).decode("utf-8", "replace")

    # ---------------------------------------------------------------- tokens

    def is_eog(self, token: int) -> bool:
        return bool(ll.llama_vocab_is_eog(self.vocab, token))

    def tokenize(
        self, text: str, *, add_special: bool = True, parse_special: bool = True
    ) -> list[int]:
        data = text.encode("utf-8")
        capacity = len(data) + 16
        buf = (ll.llama_token * capacity)()
        n = ll.llama_tokenize(
            self.vocab, data, len(data), buf, capacity, add_special, parse_special
        )
        if n < 0:
            capacity = -n
            buf = (ll.llama_token * capacity)()
            n = ll.llama_tokenize(
                self.vocab, data, len(data), buf, capacity, add_special, parse_special
            )
        return list(buf[:n])

    def piece(self, token: int, *, special: bool = False) -> bytes:
        """The bytes of one token (possibly part of a UTF-8 character). Cached."""
        key = (token, special)
        cached = self._piece_cache.get(key)
        if cached is not None:
            return cached
        buf = ctypes.create_string_buffer(64)
        n = ll.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = ll.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, special)
        value = buf.raw[:n]
        self._piece_cache[key] = value
        return value

    def spelling(self, token: int) -> bytes:
        """What ``token`` spells, for comparing two tokenizations of one text: its text,
        or for a control token (which prints nothing as text) a mark of its own that no
        text can spell (engine/respelling.py)."""
        text = self.piece(token)
        if text or not self.piece(token, special=True):
            return text
        return b"\xff\xff" + token.to_bytes(4, "little")

    def detokenize(self, tokens: list[int], *, special: bool = False) -> str:
        """Text of ``tokens``: the same concatenated pieces the stream emits."""
        return b"".join(self.piece(t, special=special) for t in tokens).decode("utf-8", "replace")


class Batch:
    """A reusable llama_batch: tokens with position, one sequence id, and a logits flag."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.raw: Any = ll.llama_batch_init(capacity, 0, 1)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        """Append a token; returns its index (the row to sample from when logits=True)."""
        i = self.n
        b = self.raw
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits
        self.n += 1
        return i

    @property
    def full(self) -> bool:
        return self.n >= self.capacity

    def close(self) -> None:
        if self.raw is not None:
            ll.llama_batch_free(self.raw)
            self.raw = None
