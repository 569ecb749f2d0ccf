"""The model store: named manifests in SQLite pointing at content-addressed blobs.

``pull`` resolves what the user typed (catalogue name, local file, Hugging Face
reference, Ollama name) to one source, lets that source produce a verified blob, checks
that the blob is a readable GGUF, and only then writes the manifest, in one transaction.
Any failure leaves the store as it was.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from ember.config import Settings
from ember.errors import (
    EmberError,
    ModelExistsError,
    ModelNotFoundError,
    NotAGGUFError,
)
from ember.models.blobs import BlobStore, DiskFree, disk_free
from ember.models.catalogue import CatalogueEntry, find_entry, load_catalogue
from ember.models.gguf_info import ModelInfo, read_gguf_info
from ember.models.names import ModelRef, normalize_name, parse_ref
from ember.models.progress import NullProgress, Progress
from ember.models.sources.base import Fetched, PullContext, Source
from ember.models.sources.local import LocalFileSource
from ember.models.sources.package import PackageSource
from ember.storage import Database


@dataclass(frozen=True)
class ModelRecord:
    """One named model as stored: its manifest, its blob and the blob's GGUF metadata."""

    name: str
    digest: str
    size: int
    path: Path
    source: str
    source_ref: str
    external: bool
    info: ModelInfo | None
    template: str | None = None
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    modified_at: str = ""

    @property
    def available(self) -> bool:
        return self.path.is_file()


class PullCheck(Protocol):
    """Refuses (by raising) a model that cannot run here, before it is downloaded."""

    def entry(self, entry: CatalogueEntry) -> None: ...

    def size(self, size: int, what: str) -> None: ...


def _no_check(size: int, what: str) -> None:
    return None


class ModelStore:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        sources: dict[str, Source] | None = None,
        http: httpx.Client | None = None,
        free: DiskFree = disk_free,
    ) -> None:
        self.db = db
        self.settings = settings
        self.blobs = BlobStore(settings.blobs_dir, free)
        self._http = http
        specs = {e.name: e.package for e in load_catalogue() if e.package}
        self.packages = PackageSource(specs)
        self.sources: dict[str, Source] = sources if sources is not None else default_sources()
        self.sources.setdefault("package", self.packages)

    # ---------------------------------------------------------------- reading

    def installed(self) -> list[ModelRecord]:
        rows = self.db.query(
            "SELECT m.*, b.size, b.path, b.external, b.info FROM models m "
            "JOIN blobs b ON b.digest = m.digest ORDER BY m.name"
        )
        return [_record(r) for r in rows]

    def get(self, name: str) -> ModelRecord:
        key = normalize_name(name)
        row = self.db.query_one(
            "SELECT m.*, b.size, b.path, b.external, b.info FROM models m "
            "JOIN blobs b ON b.digest = m.digest WHERE m.name = ?",
            (key,),
        )
        if row is None:
            raise ModelNotFoundError(
                f"model {name!r} is not installed",
                hint=f"`ember pull {name}` downloads it; `ember list` shows what is installed",
            )
        return _record(row)

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except ModelNotFoundError:
            return False
        return True

    # ---------------------------------------------------------------- writing

    def pull(
        self,
        text: str,
        *,
        name: str | None = None,
        progress: Progress | None = None,
        check: PullCheck | None = None,
    ) -> ModelRecord:
        """Fetch ``text`` from its source, verify it, and store it under ``name``.

        ``check`` (the fit planner, injected by the caller) may refuse the model before
        any byte is downloaded: from the catalogue's numbers, or from the file size a
        source confirms. Packages and local files are not checked (nothing to download).
        """
        progress = progress or NullProgress()
        ref, target = self._resolve(text, name)
        source = self.sources.get(ref.kind)
        if source is None:
            raise ModelNotFoundError(f"no source can provide {text!r}")
        check_size = check.size if check is not None else _no_check
        entry = find_entry(text) if not text.strip().lower().endswith(".gguf") else None
        if check is not None and entry is not None and ref.kind not in ("package", "local"):
            check.entry(entry)
            check_size = _no_check  # the catalogue's shape was more precise than a size
        with self._client() as http:
            ctx = PullContext(self.blobs, progress, self.settings, http, check_size)
            fetched = source.fetch(ref, ctx)
        return self._register(target, source.kind, fetched, progress)

    def remove(self, name: str) -> ModelRecord:
        """Delete a manifest; delete its blob too when no other name uses it."""
        record = self.get(name)
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM models WHERE name = ?", (record.name,))
            orphan = self._unreferenced(tx, record.digest)
            if orphan:
                tx.execute("DELETE FROM blobs WHERE digest = ?", (record.digest,))
        if orphan and not record.external:
            self.blobs.remove(record.digest)
        return record

    def copy(self, source: str, target: str) -> ModelRecord:
        record = self.get(source)
        new_name = normalize_name(target)
        if self.exists(new_name):
            raise ModelExistsError(
                f"a model named {new_name!r} already exists", hint=f"`ember rm {new_name}` first"
            )
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO models (name, digest, source, source_ref, template, system, params)"
                " SELECT ?, digest, source, source_ref, template, system, params"
                " FROM models WHERE name = ?",
                (new_name, record.name),
            )
        return self.get(new_name)

    def ensure_starter_models(self, progress: Progress | None = None) -> list[ModelRecord]:
        """Register every catalogue model whose package is installed but not yet in the store."""
        added = []
        for entry in load_catalogue():
            if (
                entry.package
                and not self.exists(entry.name)
                and self.packages.is_installed(entry.name)
            ):
                added.append(self.pull(entry.name, progress=progress))
        return added

    # ---------------------------------------------------------------- internals

    def _resolve(self, text: str, name: str | None) -> tuple[ModelRef, str]:
        entry = find_entry(text) if not text.strip().lower().endswith(".gguf") else None
        if entry is not None:
            ref = self._catalogue_ref(entry)
            return ref, normalize_name(name or entry.name)
        ref = parse_ref(text)
        source = self.sources.get(ref.kind)
        if source is None:
            raise ModelNotFoundError(f"no source can provide {text!r}")
        return ref, normalize_name(name or source.default_name(ref))

    def _catalogue_ref(self, entry: CatalogueEntry) -> ModelRef:
        """A catalogue name: its installed package first (offline), then HF, then Ollama."""
        if entry.package and self.packages.is_installed(entry.name):
            return ModelRef(kind="package", raw=entry.name)
        if entry.hf_ref and "hf" in self.sources:
            return parse_ref(entry.hf_ref)
        if entry.ollama:
            return parse_ref(entry.ollama)
        raise ModelNotFoundError(f"the catalogue lists no source for {entry.name}")

    def _register(self, name: str, kind: str, fetched: Fetched, progress: Progress) -> ModelRecord:
        info = self._blob_info(fetched.digest)
        if info is None:
            progress.status("reading model metadata")
            try:
                info = read_gguf_info(fetched.path)
            except NotAGGUFError:
                self._discard_if_unused(fetched)
                raise
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO blobs (digest, size, path, external, info) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(digest) DO UPDATE SET path = excluded.path,"
                " external = excluded.external, info = excluded.info",
                (
                    fetched.digest,
                    fetched.size,
                    str(fetched.path),
                    int(fetched.external),
                    json.dumps(info.to_dict()),
                ),
            )
            tx.execute(
                "INSERT INTO models (name, digest, source, source_ref, template, system, params)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET digest = excluded.digest,"
                " source = excluded.source, source_ref = excluded.source_ref,"
                " template = excluded.template, system = excluded.system,"
                " params = excluded.params,"
                " modified_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
                (
                    name,
                    fetched.digest,
                    kind,
                    fetched.source_ref,
                    fetched.template,
                    fetched.system,
                    json.dumps(fetched.params),
                ),
            )
            stale = tx.execute(
                "SELECT digest, path, external FROM blobs WHERE digest NOT IN"
                " (SELECT digest FROM models)"
            ).fetchall()
            tx.execute("DELETE FROM blobs WHERE digest NOT IN (SELECT digest FROM models)")
        for row in stale:  # a re-pull replaced the blob this name pointed at
            if not row["external"]:
                Path(row["path"]).unlink(missing_ok=True)
        return self.get(name)

    def _blob_info(self, digest: str) -> ModelInfo | None:
        row = self.db.query_one("SELECT info FROM blobs WHERE digest = ?", (digest,))
        if row is None or not row["info"]:
            return None
        return ModelInfo.from_dict(json.loads(row["info"]))

    def _discard_if_unused(self, fetched: Fetched) -> None:
        used = self.db.query_one("SELECT 1 FROM blobs WHERE digest = ?", (fetched.digest,))
        if used is None and not fetched.external:
            fetched.path.unlink(missing_ok=True)

    @staticmethod
    def _unreferenced(tx: sqlite3.Connection, digest: str) -> bool:
        return tx.execute("SELECT 1 FROM models WHERE digest = ?", (digest,)).fetchone() is None

    def _client(self) -> AbstractContextManager[httpx.Client]:
        """The injected client (left open), or a fresh one closed after the pull."""
        if self._http is not None:
            return nullcontext(self._http)
        return httpx.Client(
            timeout=httpx.Timeout(30.0, read=60.0), headers={"User-Agent": _agent()}
        )


def _agent() -> str:
    from ember import __version__

    return f"ember/{__version__}"


def default_sources() -> dict[str, Source]:
    """Every source this build has. Each imports its heavy dependencies only when used."""

    from ember.models.sources.huggingface import HuggingFaceSource
    from ember.models.sources.ollama import OllamaSource

    return {"local": LocalFileSource(), "hf": HuggingFaceSource(), "ollama": OllamaSource()}


def _record(row: sqlite3.Row) -> ModelRecord:
    info = ModelInfo.from_dict(json.loads(row["info"])) if row["info"] else None
    return ModelRecord(
        name=row["name"],
        digest=row["digest"],
        size=row["size"],
        path=Path(row["path"]),
        source=row["source"],
        source_ref=row["source_ref"],
        external=bool(row["external"]),
        info=info,
        template=row["template"],
        system=row["system"],
        params=json.loads(row["params"] or "{}"),
        created_at=row["created_at"],
        modified_at=row["modified_at"],
    )


__all__ = ["EmberError", "ModelRecord", "ModelStore"]
