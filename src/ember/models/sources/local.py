"""A GGUF file on this machine: imported by hardlink where possible, copied otherwise."""

from __future__ import annotations

from pathlib import Path

from ember.errors import ModelNotFoundError, NotAGGUFError
from ember.models.gguf_info import looks_like_gguf
from ember.models.names import ModelRef, normalize_name
from ember.models.sources.base import Fetched, PullContext


class LocalFileSource:
    kind = "local"

    def default_name(self, ref: ModelRef) -> str:
        stem = Path(ref.path or ref.raw).expanduser().name.removesuffix(".gguf")
        cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem.lower())
        return normalize_name(cleaned.strip("-._") or "model")

    def fetch(self, ref: ModelRef, ctx: PullContext) -> Fetched:
        path = Path(ref.path or ref.raw).expanduser().resolve()
        if not path.is_file():
            raise ModelNotFoundError(
                f"no such file: {path}", hint="give the path of a .gguf file on this machine"
            )
        if not looks_like_gguf(path):
            raise NotAGGUFError(
                f"{path} is not a GGUF model file",
                hint="Ember runs GGUF models; convert others with llama.cpp's convert script",
            )
        ctx.progress.status(f"importing {path.name}")
        digest, final = ctx.blobs.import_file(path, progress=ctx.progress)
        return Fetched(digest=digest, path=final, size=final.stat().st_size, source_ref=str(path))
