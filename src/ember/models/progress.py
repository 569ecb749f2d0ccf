"""How long-running store operations report progress, without knowing who listens.

The CLI passes a rich progress bar; the server (later) streams Ollama-style status
lines; tests pass :class:`NullProgress` or a recorder.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def status(self, message: str) -> None:
        """A step without a size ('resolving', 'verifying sha256', 'writing manifest')."""

    def start(self, description: str, total: int | None, completed: int = 0) -> None:
        """A transfer of ``total`` bytes begins; ``completed`` bytes are already there."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes arrived."""

    def finish(self) -> None:
        """The current transfer ended (successfully or not)."""


class NullProgress:
    """Reports nothing."""

    def status(self, message: str) -> None:
        return None

    def start(self, description: str, total: int | None, completed: int = 0) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        return None

    def finish(self) -> None:
        return None
