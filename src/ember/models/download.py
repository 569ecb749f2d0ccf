"""Resumable, verified HTTP downloads into the blob store (httpx + tenacity).

Bytes go to a partial file that survives interruptions; the next attempt (in this run,
or a later ``ember pull``) asks for the rest with a Range request. Only a complete file
whose sha256 matches is renamed to its blob name.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from ember.errors import (
    DownloadError,
    InsufficientDiskError,
    IntegrityError,
    ModelNotFoundError,
    SourceUnavailableError,
)
from ember.models.blobs import BlobStore, normalize_digest, sha256_file
from ember.models.progress import Progress


@dataclass(frozen=True)
class DownloadResult:
    digest: str
    path: Path
    size: int


class _Retryable(Exception):
    """A transfer broke midway; the partial file is kept and the next attempt resumes."""


def download_blob(
    client: httpx.Client,
    url: str,
    blobs: BlobStore,
    *,
    expected_digest: str | None,
    expected_size: int | None,
    progress: Progress,
    description: str,
    retries: int = 3,
    headers: dict[str, str] | None = None,
) -> DownloadResult:
    """Download ``url`` into the store, resuming a partial file, verifying the sha256.

    ``expected_digest`` should be known for registry sources; when it is None (a plain
    file URL) the digest is computed from the bytes received.
    """
    digest = normalize_digest(expected_digest) if expected_digest else None
    if digest and blobs.path_for(digest).exists():
        return DownloadResult(digest, blobs.path_for(digest), blobs.path_for(digest).stat().st_size)
    partial = blobs.partial_path(digest or url)
    if expected_size is not None:
        have = partial.stat().st_size if partial.exists() else 0
        blobs.ensure_space(max(expected_size - have, 0), description)

    attempt = retry(
        retry=retry_if_exception_type(_Retryable),
        stop=stop_after_attempt(max(retries, 0) + 1),
        wait=wait_exponential(multiplier=0.2, max=5),
        reraise=True,
    )(_transfer)
    try:
        attempt(client, url, partial, expected_size, progress, description, headers or {})
    except _Retryable as exc:
        raise DownloadError(
            f"download of {description} was interrupted: {exc.__cause__ or exc}",
            hint="run the same `ember pull` again to resume where it stopped",
        ) from exc
    finally:
        progress.finish()

    size = partial.stat().st_size
    if expected_size is not None and size != expected_size:
        partial.unlink(missing_ok=True)
        raise IntegrityError(
            f"{description}: received {size} bytes, expected {expected_size}",
            hint="the source served a different file; try again later",
        )
    actual = sha256_file(partial)
    if digest and actual != digest:
        partial.unlink(missing_ok=True)
        raise IntegrityError(
            f"{description} failed verification: sha256 is {actual}, expected {digest}",
            hint="the download was corrupted or the source is wrong; nothing was stored",
        )
    final = blobs.place(partial, actual)
    return DownloadResult(actual, final, size)


def _transfer(
    client: httpx.Client,
    url: str,
    partial: Path,
    expected_size: int | None,
    progress: Progress,
    description: str,
    headers: dict[str, str],
) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    if expected_size is not None and have == expected_size:
        return
    if expected_size is not None and have > expected_size:
        partial.unlink()
        have = 0
    request_headers = dict(headers)
    if have:
        request_headers["Range"] = f"bytes={have}-"
    try:
        with client.stream("GET", url, headers=request_headers, follow_redirects=True) as resp:
            if resp.status_code == 404:
                raise ModelNotFoundError(f"{description} not found at the source ({url})")
            if resp.status_code == 416 and have:  # we already hold every byte
                return
            if resp.status_code >= 500:
                raise _Retryable(f"server error {resp.status_code}")
            if resp.status_code >= 400:
                raise DownloadError(f"{description}: the source answered HTTP {resp.status_code}")
            mode = "ab" if resp.status_code == 206 else "wb"
            if mode == "wb":
                have = 0
            total = expected_size or _content_total(resp, have)
            progress.start(description, total, have)
            with partial.open(mode) as fh:
                for chunk in resp.iter_raw():  # unbuffered: every byte received is kept
                    fh.write(chunk)
                    progress.advance(len(chunk))
    except (httpx.TransportError, httpx.DecodingError) as exc:
        if isinstance(exc, httpx.ConnectError) and not partial.exists():
            raise SourceUnavailableError(
                f"cannot reach {httpx.URL(url).host}: {exc}",
                hint="check the network, or the endpoint settings in `ember config`",
            ) from exc
        raise _Retryable(str(exc)) from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            partial.unlink(missing_ok=True)
            raise InsufficientDiskError(
                f"disk full while downloading {description}", hint="free some space and retry"
            ) from exc
        raise
    if expected_size is not None and partial.stat().st_size < expected_size:
        raise _Retryable("connection closed before the end of the file")


def _content_total(resp: httpx.Response, have: int) -> int | None:
    length = resp.headers.get("content-length")
    return int(length) + have if length and length.isdigit() else None
