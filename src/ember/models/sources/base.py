"""The one small interface every model source implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from ember.config import Settings
from ember.models.blobs import BlobStore
from ember.models.names import ModelRef
from ember.models.progress import Progress


@dataclass(frozen=True)
class Fetched:
    """A model file now in (or referenced by) the store, with what its source said of it."""

    digest: str
    path: Path
    size: int
    source_ref: str
    external: bool = False  # the file belongs to another store (Ollama's) and is not ours to delete
    template: str | None = None
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class PullContext:
    """What a source may use: the blob store, progress output, settings and an HTTP client."""

    blobs: BlobStore
    progress: Progress
    settings: Settings
    http: httpx.Client
    # Called with a file's size (and what it is) once known, before its bytes are
    # downloaded; raises to refuse a model that cannot fit (ember pull without --force).
    check_size: Callable[[int, str], None] = field(default=lambda size, what: None)


class Source(Protocol):
    kind: str

    def default_name(self, ref: ModelRef) -> str:
        """The manifest name a pull of ``ref`` is stored under when the user gives none."""

    def fetch(self, ref: ModelRef, ctx: PullContext) -> Fetched:
        """Bring the model into the store (or find it there) and return the verified blob."""
