"""Conversation KV state on disk, so a chat continues without re-reading its history.

One file per saved sequence: a JSON header (model digest, llama.cpp version, the exact
token list) followed by llama.cpp's own sequence-state bytes. A state is only offered for
a prompt that starts with exactly its tokens, and only to the same model file and
llama.cpp build: anything else is refused, never loaded. The directory has a byte budget;
the least recently used files go first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"EMBERKV1"


@dataclass(frozen=True)
class KVEntry:
    path: Path
    tokens: tuple[int, ...]
    size: int


def token_key(tokens: list[int] | tuple[int, ...]) -> str:
    data = struct.pack(f"<{len(tokens)}i", *tokens)
    return hashlib.sha256(data).hexdigest()[:32]


class KVStore:
    """Saved sequence states for one model file, under ``root/<digest>/``."""

    def __init__(self, root: Path, model_digest: str, build: str, budget_bytes: int) -> None:
        self.dir = root / model_digest.removeprefix("sha256:")[:24]
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model_digest = model_digest
        self.build = build
        self.budget = budget_bytes
        self._lock = threading.Lock()
        self._entries: dict[str, KVEntry] = {}
        self._refused: set[str] = set()  # files not ours, not read again
        # One writer thread: a 2,000-token state of SmolLM2 is 45 MB, about 0.2 s to
        # write, which the engine's step loop (every running stream) must not wait for.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ember-kv-write")
        self._scan()

    def _scan(self) -> None:
        """Take in the files written since the last scan (by this process or another
        sharing the directory) and forget those that were deleted."""
        try:
            present = {path.stem: path for path in self.dir.glob("*.kv")}
        except OSError as exc:
            log.warning("cannot list KV directory %s: %s", self.dir, exc)
            return
        with self._lock:
            known = set(self._entries)
            for gone in known - set(present):
                del self._entries[gone]
        for key in set(present) - known - self._refused:
            path = present[key]
            header = self._read_header(path)
            if header is None:
                self._refused.add(key)
                continue
            tokens = header["tokens"]
            assert isinstance(tokens, list)
            try:
                size = path.stat().st_size
            except OSError:
                continue
            with self._lock:
                self._entries[key] = KVEntry(path, tuple(tokens), size)

    def _read_header(self, path: Path) -> dict[str, object] | None:
        """The header if the file is ours, for this model and build; else None (refused)."""
        try:
            with path.open("rb") as fh:
                if fh.read(len(MAGIC)) != MAGIC:
                    raise ValueError("bad magic")
                (length,) = struct.unpack("<I", fh.read(4))
                header = json.loads(fh.read(length))
        except (OSError, ValueError, struct.error) as exc:
            log.warning("refusing KV file %s: %s", path.name, exc)
            return None
        if header.get("model") != self.model_digest or header.get("build") != self.build:
            log.info("refusing KV file %s: saved by another model or llama.cpp build", path.name)
            return None
        if not isinstance(header.get("tokens"), list):
            return None
        return dict(header)

    def find(self, prompt: list[int], min_tokens: int) -> tuple[KVEntry, int] | None:
        """The saved state sharing the longest prefix with ``prompt`` (more than min_tokens).

        Returns the entry and the shared length: a conversation's saved state ends with the
        model's own answer tokens, which the next prompt may re-tokenize differently, so
        only the shared part is used and the rest is dropped after loading.
        """
        self._scan()
        best: tuple[KVEntry, int] | None = None
        with self._lock:
            for entry in self._entries.values():
                shared = common_prefix(entry.tokens, prompt)
                if shared > min_tokens and (best is None or shared > best[1]):
                    best = (entry, shared)
        return best

    def load(self, entry: KVEntry) -> bytes | None:
        """The state bytes, re-checked against the header; None if the file is refused."""
        header = self._read_header(entry.path)
        if header is None or tuple(header["tokens"]) != entry.tokens:  # type: ignore[arg-type]
            self._forget(entry)
            return None
        try:
            with entry.path.open("rb") as fh:
                fh.seek(len(MAGIC))
                (length,) = struct.unpack("<I", fh.read(4))
                fh.seek(len(MAGIC) + 4 + length)
                data = fh.read()
            os.utime(entry.path)  # LRU: a restored state is recently used
        except (OSError, struct.error):  # another process removed it meanwhile
            self._forget(entry)
            return None
        return data

    def save_later(self, tokens: list[int], state: memoryview | bytes) -> Future[KVEntry]:
        """:meth:`save` on the writer thread; ``state`` must not change afterwards."""
        return self._writer.submit(self.save, tokens, state)

    def close(self) -> None:
        """Wait for the writes under way (a restart then finds them)."""
        self._writer.shutdown(wait=True)

    def save(self, tokens: list[int], state: memoryview | bytes) -> KVEntry:
        """Write atomically; drop saved states this one extends (same conversation, older)."""
        key = token_key(tokens)
        header = json.dumps(
            {
                "model": self.model_digest,
                "build": self.build,
                "tokens": tokens,
                "saved": time.time(),
            }
        ).encode()
        final = self.dir / f"{key}.kv"
        tmp = final.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with tmp.open("wb") as fh:
            fh.write(MAGIC + struct.pack("<I", len(header)) + header)
            fh.write(state)
        os.replace(tmp, final)
        entry = KVEntry(final, tuple(tokens), final.stat().st_size)
        with self._lock:
            for old_key, old in list(self._entries.items()):
                n = len(old.tokens)
                if old_key != key and n < len(tokens) and tuple(tokens[:n]) == old.tokens:
                    old.path.unlink(missing_ok=True)
                    del self._entries[old_key]
            self._entries[key] = entry
            self._refused.discard(key)
        self._enforce_budget()
        return entry

    def _forget(self, entry: KVEntry) -> None:
        with self._lock:
            self._entries.pop(entry.path.stem, None)

    def _enforce_budget(self) -> None:
        with self._lock:
            entries = sorted(self._entries.items(), key=lambda kv: _mtime(kv[1].path))
            total = sum(e.size for _, e in entries)
            while entries and total > self.budget:
                key, oldest = entries.pop(0)
                oldest.path.unlink(missing_ok=True)
                total -= oldest.size
                del self._entries[key]

    @property
    def entries(self) -> list[KVEntry]:
        with self._lock:
            return list(self._entries.values())


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens two sequences share (prefix reuse is built on this)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
