"""Models shipped inside packages of the Python package index (offline, air-gapped installs).

A package model is located through ``importlib.metadata`` (the packages are never
imported: some import heavy dependencies at import time), assembled from its parts in
order, and accepted only if the result matches the sha256 pinned in the catalogue:
these are third-party uploads and untrusted until verified.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import tempfile
from pathlib import Path

from ember.errors import IntegrityError, ModelNotFoundError
from ember.models.blobs import CHUNK, normalize_digest
from ember.models.catalogue import PackageSpec
from ember.models.names import ModelRef
from ember.models.sources.base import Fetched, PullContext

STARTER_HINT = "install the starter models with: pip install 'ember-ai[starter]'"


def locate_parts(spec: PackageSpec) -> list[Path] | None:
    """Paths of every part on this machine, or None if any package or file is missing."""
    paths = []
    for part in spec.parts:
        try:
            dist = importlib.metadata.distribution(part.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
        path = Path(str(dist.locate_file(part.path)))
        if not path.is_file():
            return None
        paths.append(path)
    return paths


class PackageSource:
    kind = "package"

    def __init__(self, specs: dict[str, PackageSpec]) -> None:
        self._specs = specs  # manifest name -> spec

    def default_name(self, ref: ModelRef) -> str:
        return ref.raw

    def is_installed(self, name: str) -> bool:
        spec = self._specs.get(name)
        return spec is not None and locate_parts(spec) is not None

    def fetch(self, ref: ModelRef, ctx: PullContext) -> Fetched:
        spec = self._specs.get(ref.raw)
        if spec is None:
            raise ModelNotFoundError(f"no model package is known for {ref.raw}")
        parts = locate_parts(spec)
        if parts is None:
            raise ModelNotFoundError(
                f"the package for {ref.raw} is not installed", hint=STARTER_HINT
            )
        expected = normalize_digest(spec.sha256)
        source_ref = "package:" + ",".join(p.distribution for p in spec.parts)
        final = ctx.blobs.path_for(expected)
        if final.exists():
            return Fetched(expected, final, final.stat().st_size, source_ref)
        if len(parts) == 1:
            ctx.progress.status(f"importing {ref.raw} from package {spec.parts[0].distribution}")
            digest, final = ctx.blobs.import_file(parts[0], expected, ctx.progress)
        else:
            digest, final = self._assemble(ref.raw, parts, expected, ctx)
        return Fetched(digest, final, final.stat().st_size, source_ref)

    def _assemble(
        self, name: str, parts: list[Path], expected: str, ctx: PullContext
    ) -> tuple[str, Path]:
        total = sum(p.stat().st_size for p in parts)
        ctx.blobs.ensure_space(total, name)
        fd, tmp_name = tempfile.mkstemp(dir=ctx.blobs.partial_dir, suffix=".assemble")
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        try:
            ctx.progress.start(f"assembling {name} from {len(parts)} parts", total)
            with open(fd, "wb") as out:
                for part in parts:
                    with part.open("rb") as fh:
                        while chunk := fh.read(CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            ctx.progress.advance(len(chunk))
            ctx.progress.finish()
            actual = "sha256:" + digest.hexdigest()
            if actual != expected:
                raise IntegrityError(
                    f"the assembled {name} does not match its pinned sha256 "
                    f"(expected {expected}, got {actual}); refusing to use it",
                    hint="reinstall: pip install --force-reinstall 'ember-ai[starter]'",
                )
            return actual, ctx.blobs.place(tmp, actual)
        finally:
            tmp.unlink(missing_ok=True)
