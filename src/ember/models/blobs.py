"""Content-addressed model files: ``blobs/sha256-<hex>``, written atomically.

A blob only appears under its final name once its bytes are complete and their sha256
matches; partial downloads live in ``blobs/partial/`` and are renamed into place. So a
manifest can never point at a partial or corrupt file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ember.errors import InsufficientDiskError, IntegrityError
from ember.models.progress import NullProgress, Progress

CHUNK = 1 << 20
DiskFree = Callable[[Path], int]


def disk_free(path: Path) -> int:
    """Free bytes on the filesystem holding ``path``."""
    return shutil.disk_usage(path).free


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """'sha256:<hex>' of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress.advance(len(chunk))
    return "sha256:" + digest.hexdigest()


def normalize_digest(digest: str) -> str:
    """Accept 'sha256:<hex>', 'sha256-<hex>' or bare hex; return 'sha256:<hex>'."""
    text = digest.strip().lower()
    for prefix in ("sha256:", "sha256-"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise IntegrityError(f"not a sha256 digest: {digest!r}")
    return "sha256:" + text


class BlobStore:
    """The directory of blobs. Knows paths, space and atomic placement; nothing of names."""

    def __init__(self, root: Path, free: DiskFree = disk_free) -> None:
        self.root = root
        self.partial_dir = root / "partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self._free = free

    def path_for(self, digest: str) -> Path:
        return self.root / normalize_digest(digest).replace(":", "-")

    def partial_path(self, key: str) -> Path:
        """Where a download in progress is kept between attempts, keyed by its digest or URL."""
        safe = (
            hashlib.sha256(key.encode()).hexdigest()[:32]
            if ":" not in key
            else key.replace(":", "-")
        )
        return self.partial_dir / f"{safe}.partial"

    def ensure_space(self, needed: int, what: str) -> None:
        """Refuse before writing when ``needed`` bytes (plus 1% margin) do not fit."""
        free = self._free(self.root)
        margin = max(needed // 100, 16 << 20)
        if needed + margin > free:
            raise InsufficientDiskError(
                f"not enough disk space for {what}: needs {_gib(needed)}, {_gib(free)} free "
                f"under {self.root}",
                hint="free some space (`ember rm` unused models) or move EMBER_HOME",
            )

    def place(self, tmp: Path, digest: str) -> Path:
        """Move a verified temp file to its final name (atomic rename on one filesystem)."""
        final = self.path_for(digest)
        if final.exists():
            tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, final)
        return final

    def import_file(
        self, src: Path, expected: str | None = None, progress: Progress | None = None
    ) -> tuple[str, Path]:
        """Bring a local file into the store: hardlink when possible, copy otherwise.

        The hash is computed from the linked or copied bytes, so what is named is exactly
        what was verified. Returns (digest, final path).
        """
        progress = progress or NullProgress()
        size = src.stat().st_size
        tmp = Path(tempfile.mkstemp(dir=self.partial_dir, suffix=".import")[1])
        tmp.unlink()
        try:
            try:
                os.link(src, tmp)
            except OSError:
                self.ensure_space(size, src.name)
                progress.start(f"copying {src.name}", size)
                _copy_with_progress(src, tmp, progress)
                progress.finish()
            progress.start(f"verifying {src.name}", size)
            digest = sha256_file(tmp, progress)
            progress.finish()
            if expected and normalize_digest(expected) != digest:
                raise IntegrityError(
                    f"{src} does not match its expected sha256 "
                    f"(expected {normalize_digest(expected)}, got {digest})",
                    hint="the file is corrupt or not the one expected; do not use it",
                )
            return digest, self.place(tmp, digest)
        finally:
            tmp.unlink(missing_ok=True)

    def remove(self, digest: str) -> None:
        self.path_for(digest).unlink(missing_ok=True)


def _copy_with_progress(src: Path, dst: Path, progress: Progress) -> None:
    try:
        with src.open("rb") as fin, dst.open("wb") as fout:
            while chunk := fin.read(CHUNK):
                fout.write(chunk)
                progress.advance(len(chunk))
    except OSError as exc:
        with contextlib.suppress(OSError):
            dst.unlink()
        if exc.errno == errno.ENOSPC:
            raise InsufficientDiskError(
                f"disk full while copying {src.name}", hint="free some space and retry"
            ) from exc
        raise


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 28 else f"{n / (1 << 20):.0f} MiB"
