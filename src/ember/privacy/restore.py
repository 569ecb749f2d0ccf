"""Putting the values back into a reply: whole, or as it streams.

Only placeholders the request itself had are replaced; one the model made up
(``[EMAIL_7]`` when the request had one address) stays as written, so the user sees
what the model said rather than a value it never saw. Values are put back in one pass,
so a value that itself looks like a placeholder is never replaced again.
"""

from __future__ import annotations

from collections.abc import Mapping

from ember.privacy.placeholders import PLACEHOLDER


def restore(text: str, mapping: Mapping[str, str]) -> str:
    """``text`` with each known placeholder replaced by its value."""
    if not mapping or "[" not in text:
        return text
    return PLACEHOLDER.sub(lambda m: mapping.get(m.group(), m.group()), text)


class StreamRestorer:
    """Restores a reply that arrives in pieces. A placeholder may be split across
    pieces (``[EMA`` + ``IL_1]``), so the restorer holds back the end of the text only
    while it is the beginning of a placeholder the request had, and releases
    everything else at once."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = mapping
        self._prefixes = frozenset(key[:n] for key in mapping for n in range(1, len(key)))
        self._pending = ""

    def feed(self, piece: str) -> str:
        """The text that can be shown now, restored."""
        text = self._pending + piece
        cut = text.rfind("[")
        if cut >= 0 and text[cut:] in self._prefixes:
            self._pending = text[cut:]
            text = text[:cut]
        else:
            self._pending = ""
        return restore(text, self._mapping)

    def flush(self) -> str:
        """What is still held back, at the end of the reply (a placeholder never finished)."""
        text, self._pending = self._pending, ""
        return text

    @property
    def holding(self) -> int:
        """How many characters are held back now."""
        return len(self._pending)
