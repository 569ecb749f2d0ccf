"""Hugging Face repositories: pick one GGUF file, confirm its size and sha256, fetch it.

The listing and the file metadata come from ``huggingface_hub``, so HF_ENDPOINT, HF_TOKEN
and a saved login apply exactly as they do for every other Hugging Face tool. The bytes
come from the local Hugging Face cache when a copy is already there (hardlinked, not
downloaded twice), otherwise through Ember's own resumable, sha256-verified download.

``huggingface_hub`` is imported inside the functions that need it: it is heavy, and most
commands never talk to the hub.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ember.errors import (
    DownloadError,
    IntegrityError,
    InvalidModelNameError,
    ModelNotFoundError,
    SourceUnavailableError,
)
from ember.models.download import download_blob
from ember.models.names import ModelRef, hf_manifest_name
from ember.models.sources.base import Fetched, PullContext

DEFAULT_QUANT = "Q4_K_M"
_SPLIT = re.compile(r"-\d{5}-of-\d{5}\.gguf$", re.IGNORECASE)
_QUANT_LABEL = re.compile(
    r"(?<![a-z0-9])(?:i?q\d[a-z0-9_]*|tq\d_\d|bf16|f16|f32)(?![a-z0-9])", re.I
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NETWORK_ERRORS = (
    ("httpx2", "TransportError"),
    ("httpx", "TransportError"),
    ("requests", "ConnectionError"),
    ("requests", "Timeout"),
)


@dataclass(frozen=True)
class RepoGGUF:
    """One .gguf file as the repository listing describes it."""

    path: str
    size: int | None
    sha256: str | None  # from the LFS pointer, when the file is stored in LFS


@dataclass(frozen=True)
class Confirmed:
    """What the source says of the chosen file right before it is fetched."""

    path: str
    size: int
    digest: str | None  # 'sha256:<hex>'; None only for a file kept outside LFS
    commit: str | None


class HuggingFaceSource:
    """``hf.co/OWNER/REPO[:QUANT]`` and ``hf.co/OWNER/REPO/FILE.gguf`` references."""

    kind = "hf"

    def default_name(self, ref: ModelRef) -> str:
        return hf_manifest_name(_repo(ref), ref.quant, ref.filename)

    def fetch(self, ref: ModelRef, ctx: PullContext) -> Fetched:
        repo = _repo(ref)
        ctx.progress.status(f"listing the GGUF files of {repo}")
        with hub_errors(repo):
            chosen = choose_file(repo, list_ggufs(repo), quant=ref.quant, filename=ref.filename)
            confirmed = confirm(repo, chosen)
        source_ref = f"hf.co/{repo}/{confirmed.path}"
        stored = _already_stored(confirmed, ctx, source_ref)
        if stored is not None:
            return stored
        cached = _from_hf_cache(repo, confirmed, ctx, source_ref)
        if cached is not None:
            return cached
        ctx.check_size(confirmed.size, f"{repo}/{confirmed.path}")
        return _download(repo, confirmed, ctx, source_ref)


def _repo(ref: ModelRef) -> str:
    if not ref.repo:
        raise ModelNotFoundError(f"{ref.raw!r} does not name a Hugging Face repository")
    return ref.repo


# ------------------------------------------------------------------ listing and choosing


def list_ggufs(repo: str) -> list[RepoGGUF]:
    """Every .gguf file in the repository (all folders), with its size and LFS sha256."""
    from huggingface_hub import HfApi

    entries = HfApi().list_repo_tree(repo, recursive=True)
    return [_as_gguf(e) for e in entries if str(getattr(e, "path", "")).lower().endswith(".gguf")]


def _as_gguf(entry: Any) -> RepoGGUF:
    lfs = getattr(entry, "lfs", None)
    sha = getattr(lfs, "sha256", None) if lfs is not None else None
    size = getattr(entry, "size", None)
    return RepoGGUF(
        path=str(entry.path),
        size=int(size) if isinstance(size, int) else None,
        sha256=str(sha).lower() if sha else None,
    )


def is_split(path: str) -> bool:
    """A shard of a split GGUF (``name-00001-of-00003.gguf``): one file is not the model."""
    return bool(_SPLIT.search(path))


def is_mmproj(path: str) -> bool:
    """A vision projector that ships next to the model weights; never the model itself."""
    return "mmproj" in path.rsplit("/", 1)[-1].lower()


def matches_quant(path: str, quant: str) -> bool:
    """``quant`` appears in ``path`` as a whole label: Q4_K matches neither Q4_K_M nor IQ4_K."""
    pattern = rf"(?<![a-z0-9]){re.escape(quant)}(?![a-z0-9_])"
    return re.search(pattern, path, re.IGNORECASE) is not None


def quant_label(path: str) -> str:
    """The quantization a file name carries ('Q4_K_M'), or the bare file name if none."""
    name = _SPLIT.sub(".gguf", path).removesuffix(".gguf")
    labels = _QUANT_LABEL.findall(name)
    return labels[-1].upper() if labels else name


def available_quants(files: Iterable[RepoGGUF]) -> list[str]:
    """The distinct quantizations a user can ask for, in a stable order."""
    return sorted({quant_label(f.path) for f in files if not is_mmproj(f.path)})


def choose_file(
    repo: str, files: list[RepoGGUF], *, quant: str | None, filename: str | None
) -> RepoGGUF:
    """The one file a pull means: explicit name, else the quantization, else the only one."""
    if filename:
        return _by_name(repo, files, filename)
    models = [f for f in files if not is_mmproj(f.path)]
    if not models:
        raise ModelNotFoundError(
            f"the Hugging Face repository {repo} has no GGUF model file",
            hint="Ember runs GGUF models; look for a repository whose name ends in -GGUF",
        )
    wanted = quant or DEFAULT_QUANT
    matching = [f for f in models if matches_quant(f.path, wanted)]
    whole = [f for f in matching if not is_split(f.path)]
    if whole:
        return min(whole, key=lambda f: (f.path.count("/"), len(f.path), f.path))
    if matching:
        raise _split_error(repo, matching[0].path)
    if quant is None and len(models) == 1:
        return _not_split(repo, models[0])
    raise ModelNotFoundError(
        f"{repo} has no {wanted} GGUF file",
        hint=f"available quantizations: {', '.join(available_quants(models))}; "
        f"pull one with `ember pull hf.co/{repo}:QUANT`",
    )


def _by_name(repo: str, files: list[RepoGGUF], filename: str) -> RepoGGUF:
    wanted = filename.strip("/")
    found = next((f for f in files if f.path == wanted), None) or next(
        (f for f in files if f.path.lower() == wanted.lower()), None
    )
    if found is None:
        names = ", ".join(sorted(f.path for f in files)) or "none"
        raise ModelNotFoundError(
            f"{repo} has no file {wanted!r}", hint=f"GGUF files in this repository: {names}"
        )
    return _not_split(repo, found)


def _not_split(repo: str, file: RepoGGUF) -> RepoGGUF:
    if is_split(file.path):
        raise _split_error(repo, file.path)
    return file


def _split_error(repo: str, path: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"{repo}: {path} is one part of a split GGUF, and split GGUF is not supported yet",
        hint="pick a quantization that is a single file, or merge the parts with "
        "llama.cpp's gguf-split --merge and `ember pull` the merged file",
    )


# ------------------------------------------------------------------ metadata


def confirm(repo: str, file: RepoGGUF) -> Confirmed:
    """Ask the source for the file's current size, sha256 and commit before any byte moves.

    For an LFS file the ETag of the resolve endpoint is the sha256 of its content; the
    listing's LFS pointer is the fallback when a proxy rewrites the ETag.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    meta = get_hf_file_metadata(hf_hub_url(repo, file.path))
    etag = (meta.etag or "").lower()
    sha = etag if _SHA256.match(etag) else file.sha256
    size = meta.size if meta.size is not None else file.size
    if size is None:
        raise DownloadError(f"the source did not say how large {repo}/{file.path} is")
    return Confirmed(
        path=file.path,
        size=int(size),
        digest=f"sha256:{sha}" if sha else None,
        commit=meta.commit_hash,
    )


# ------------------------------------------------------------------ getting the bytes


def _already_stored(confirmed: Confirmed, ctx: PullContext, source_ref: str) -> Fetched | None:
    """The same bytes are already a blob (another name, an earlier pull): nothing to fetch."""
    if confirmed.digest is None:
        return None
    path = ctx.blobs.path_for(confirmed.digest)
    if not path.is_file():
        return None
    return Fetched(
        digest=confirmed.digest, path=path, size=path.stat().st_size, source_ref=source_ref
    )


def find_in_hf_cache(repo: str, confirmed: Confirmed) -> Path | None:
    """A copy of the file in the local Hugging Face cache, at the confirmed commit or main."""
    from huggingface_hub import try_to_load_from_cache

    for revision in dict.fromkeys([confirmed.commit, None]):
        found = try_to_load_from_cache(repo, confirmed.path, revision=revision)
        if isinstance(found, str):
            path = Path(found).resolve()
            if path.is_file() and path.stat().st_size == confirmed.size:
                return path
    return None


def _from_hf_cache(
    repo: str, confirmed: Confirmed, ctx: PullContext, source_ref: str
) -> Fetched | None:
    """Hardlink (or copy) the cached copy into the store, verifying it against the sha256.

    A cached copy that does not match is someone else's stale file: it is left alone and
    the file is downloaded instead.
    """
    cached = find_in_hf_cache(repo, confirmed)
    if cached is None:
        return None
    ctx.progress.status(f"importing {confirmed.path} from the Hugging Face cache")
    try:
        digest, path = ctx.blobs.import_file(cached, confirmed.digest, ctx.progress)
    except IntegrityError:
        ctx.progress.status("the cached copy does not match the source; downloading instead")
        return None
    return Fetched(digest=digest, path=path, size=path.stat().st_size, source_ref=source_ref)


def _download(repo: str, confirmed: Confirmed, ctx: PullContext, source_ref: str) -> Fetched:
    """Download through the resolve URL pinned to the confirmed commit.

    Each attempt resolves again, so a resumed download gets a fresh CDN redirect instead of
    an expired signed URL; the HTTP client drops the auth header when redirected off-host.
    """
    from huggingface_hub import hf_hub_url

    url = hf_hub_url(repo, confirmed.path, revision=confirmed.commit)
    result = download_blob(
        ctx.http,
        url,
        ctx.blobs,
        expected_digest=confirmed.digest,
        expected_size=confirmed.size,
        progress=ctx.progress,
        description=source_ref,
        retries=ctx.settings.download_retries,
        headers=hub_headers(),
    )
    return Fetched(digest=result.digest, path=result.path, size=result.size, source_ref=source_ref)


def hub_headers() -> dict[str, str]:
    """huggingface_hub's own headers (token from HF_TOKEN or the saved login, user agent)."""
    # the utils facade re-exports lazily, which strict mypy does not see as an export
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined,unused-ignore]

    from ember import __version__

    headers: dict[str, str] = build_hf_headers(library_name="ember", library_version=__version__)
    headers["Accept-Encoding"] = "identity"  # byte ranges must address the stored bytes
    return headers


# ------------------------------------------------------------------ errors


@contextmanager
def hub_errors(repo: str) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into Ember's, so callers see one error tree."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except HFValidationError as exc:
        raise InvalidModelNameError(
            f"{repo!r} is not a valid Hugging Face repository name: {exc}",
            hint="use hf.co/OWNER/REPO with letters, digits, '-', '_' and '.'",
        ) from exc
    except GatedRepoError as exc:
        raise ModelNotFoundError(
            f"{repo} is a gated repository and this machine has no access to it",
            hint="accept its license on the model page, then set HF_TOKEN "
            "(or log in with `hf auth login`)",
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelNotFoundError(
            f"no Hugging Face repository named {repo}",
            hint="check the OWNER/REPO spelling; for a private repository set HF_TOKEN",
        ) from exc
    except (RevisionNotFoundError, EntryNotFoundError) as exc:
        raise ModelNotFoundError(f"{repo} changed while it was being read: {exc}") from exc
    except OfflineModeIsEnabled as exc:
        raise SourceUnavailableError(
            f"cannot reach Hugging Face for {repo}: offline mode is on",
            hint="unset HF_HUB_OFFLINE to download",
        ) from exc
    except HfHubHTTPError as exc:
        raise _http_error(repo, exc) from exc
    except network_errors() as exc:
        raise SourceUnavailableError(
            f"cannot reach Hugging Face for {repo}: {exc}",
            hint="check the network, or HF_ENDPOINT if you use a mirror",
        ) from exc


def _http_error(repo: str, exc: Exception) -> Exception:
    response = getattr(exc, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    if status >= 500:
        return SourceUnavailableError(
            f"Hugging Face answered HTTP {status} for {repo}", hint="try again later"
        )
    return DownloadError(f"Hugging Face refused the request for {repo}: {exc}")


def network_errors() -> tuple[type[BaseException], ...]:
    """Transport exceptions of whichever HTTP library this huggingface_hub uses.

    Only modules already imported are looked at: huggingface_hub has imported its own.
    """
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module_name, attr in _NETWORK_ERRORS:
        module = sys.modules.get(module_name)
        error = getattr(module, attr, None) if module is not None else None
        if isinstance(error, type) and issubclass(error, BaseException):
            found.append(error)
    return tuple(found)
