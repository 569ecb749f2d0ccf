"""Turning a token stream into text safely (pure, no llama.cpp): UTF-8 and stop strings.

A token can end in the middle of a multi-byte UTF-8 character, and a stop string can
span several tokens. :class:`TextStream` holds back exactly the bytes and characters
that might still change meaning, so what it emits is never taken back.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field


@dataclass
class TextStream:
    """Feed token bytes in; get the text that is safe to show, and whether a stop hit."""

    stops: tuple[str, ...] = ()
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    _held: str = ""
    stopped: bool = False

    def feed(self, piece: bytes) -> str:
        """Add a token's bytes; return newly safe text ('' while a stop may be forming)."""
        if self.stopped:
            return ""
        self._held += self._decoder.decode(piece)
        return self._release()

    def flush(self) -> str:
        """End of stream: everything held back is final (no stop can complete now)."""
        if self.stopped:
            return ""
        text = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return text

    def _release(self) -> str:
        hits = [at for at in (self._held.find(stop) for stop in self.stops) if at != -1]
        if hits:
            self.stopped = True
            text, self._held = self._held[: min(hits)], ""
            return text
        keep = _longest_partial_stop(self._held, self.stops)
        cut = len(self._held) - keep
        text, self._held = self._held[:cut], self._held[cut:]
        return text


def _longest_partial_stop(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of some stop."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:n]):
                best = n
                break
    return best
