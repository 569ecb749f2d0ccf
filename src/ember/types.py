"""Types shared by layers that must not import each other: a tool's description is
written by ``tools/`` and read by ``chat/`` (which re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its name, what it does, its parameters' JSON Schema."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema
