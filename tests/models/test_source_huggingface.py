"""The Hugging Face source against a real local hub server (tests/hubs/hf_hub.py).

huggingface_hub itself lists the repository and reads the file metadata; Ember downloads
the bytes (resumable, sha256-verified) or hardlinks them from the local HF cache.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ember.config import Settings, load_settings
from ember.errors import IntegrityError, ModelNotFoundError, SourceUnavailableError
from ember.models.blobs import BlobStore
from ember.models.names import parse_ref
from ember.models.sources.base import PullContext
from ember.models.sources.huggingface import (
    HuggingFaceSource,
    RepoGGUF,
    available_quants,
    choose_file,
    is_split,
    matches_quant,
    quant_label,
)
from ember.models.store import ModelStore, default_sources
from ember.storage import Database
from tests.hubs.hf_hub import HubState, close_hub_session, hf_hub_server, point_huggingface_hub_at
from tests.hubs.tiny_gguf import write_tiny_gguf

REPO = "tiny-org/Tiny-Llama-GGUF"
QUANTS = ("Q4_K_M", "Q4_K", "Q8_0", "IQ4_XS")


class RecordingProgress:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.transferred = 0

    def status(self, message: str) -> None:
        self.statuses.append(message)

    def start(self, description: str, total: int | None, completed: int = 0) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        self.transferred += nbytes

    def finish(self) -> None:
        return None


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One distinct real GGUF per quantization label (different bytes, different sha256)."""
    folder = tmp_path_factory.mktemp("hf-ggufs")
    return {
        quant: write_tiny_gguf(folder / f"{quant}.gguf", name=f"tiny-{quant}", seed=i).read_bytes()
        for i, quant in enumerate((*QUANTS, "F16", "mmproj"))
    }


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubState]:
    with hf_hub_server() as state:
        point_huggingface_hub_at(state.endpoint, tmp_path / "hf-home", monkeypatch)
        yield state
        close_hub_session()


@pytest.fixture
def tiny_repo(hub: HubState, ggufs: dict[str, bytes]) -> dict[str, str]:
    """A typical GGUF repository: several quantizations, a projector, a README."""
    hub.add_file(REPO, "README.md", b"# Tiny Llama GGUF\n")
    digests = {q: hub.add_file(REPO, f"tiny-llama-{q}.gguf", ggufs[q]) for q in QUANTS}
    hub.add_file(REPO, "mmproj-tiny-llama-F16.gguf", ggufs["mmproj"])
    return digests


@pytest.fixture
def hf_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path)


@pytest.fixture
def store(tmp_path: Path, hf_settings: Settings) -> Iterator[ModelStore]:
    sources = default_sources()
    sources.setdefault("hf", HuggingFaceSource())  # whether or not the default set has it yet
    s = ModelStore(Database(tmp_path / "ember.db"), hf_settings, sources=sources)
    yield s
    s.db.close()


@pytest.fixture
def ctx(hf_settings: Settings) -> Iterator[PullContext]:
    with httpx.Client(timeout=10) as http:
        yield PullContext(BlobStore(hf_settings.blobs_dir), RecordingProgress(), hf_settings, http)


def blob_names(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.blobs_dir.glob("sha256-*"))


def partials(settings: Settings) -> list[Path]:
    return sorted((settings.blobs_dir / "partial").iterdir())


def cache_file(hub: HubState, filename: str) -> Path:
    """Put ``filename`` into the HF cache the way the hub's own client does."""
    from huggingface_hub import hf_hub_download

    path = Path(hf_hub_download(REPO, filename))
    hub.requests.clear()
    return path


# ------------------------------------------------------------------ choosing a file


@pytest.mark.parametrize("quant", ["Q4_K_M", "q4_k", "Q8_0", "iq4_xs"])
def test_pull_by_quant_picks_that_file(
    store: ModelStore, tiny_repo: dict[str, str], ggufs: dict[str, bytes], quant: str
) -> None:
    record = store.pull(f"hf.co/{REPO}:{quant}")

    label = quant.upper()
    assert record.digest == tiny_repo[label]
    assert record.path.read_bytes() == ggufs[label]
    assert record.name == f"hf.co/{REPO.lower()}:{quant.lower()}"
    assert record.source == "hf"
    assert record.source_ref == f"hf.co/{REPO}/tiny-llama-{label}.gguf"
    assert record.info is not None
    assert record.info.architecture == "llama"
    assert record.info.name == f"tiny-{label}"


def test_source_ref_can_be_pulled_again(store: ModelStore, tiny_repo: dict[str, str]) -> None:
    first = store.pull(f"hf.co/{REPO}:Q8_0")
    ref = parse_ref(first.source_ref)
    assert (ref.kind, ref.repo, ref.filename) == ("hf", REPO, "tiny-llama-Q8_0.gguf")

    again = store.pull(first.source_ref)
    assert again.digest == first.digest


def test_pull_by_explicit_filename(
    store: ModelStore, hub: HubState, ggufs: dict[str, bytes]
) -> None:
    digest = hub.add_file(REPO, "weights/tiny-llama-Q8_0.gguf", ggufs["Q8_0"])
    hub.add_file(REPO, "tiny-llama-Q4_K_M.gguf", ggufs["Q4_K_M"])

    record = store.pull(f"hf.co/{REPO}/weights/tiny-llama-Q8_0.gguf")

    assert record.digest == digest
    assert record.name == f"hf.co/{REPO.lower()}:tiny-llama-q8_0"
    assert record.source_ref == f"hf.co/{REPO}/weights/tiny-llama-Q8_0.gguf"


def test_default_quant_is_q4_k_m(store: ModelStore, tiny_repo: dict[str, str]) -> None:
    record = store.pull(f"hf.co/{REPO}")
    assert record.digest == tiny_repo["Q4_K_M"]
    assert record.name == f"hf.co/{REPO.lower()}:latest"


def test_without_q4_k_m_the_only_gguf_is_taken(
    store: ModelStore, hub: HubState, ggufs: dict[str, bytes]
) -> None:
    digest = hub.add_file("solo/Only-GGUF", "only-F16.gguf", ggufs["F16"])
    hub.add_file("solo/Only-GGUF", "mmproj-only-F16.gguf", ggufs["mmproj"])

    assert store.pull("hf.co/solo/Only-GGUF").digest == digest


def test_unknown_repo_is_not_found(store: ModelStore, hub: HubState) -> None:
    with pytest.raises(ModelNotFoundError, match="no Hugging Face repository named nobody/none"):
        store.pull("hf.co/nobody/none:Q4_K_M")
    assert store.installed() == []


def test_unknown_quant_lists_the_available_ones(
    store: ModelStore, tiny_repo: dict[str, str]
) -> None:
    with pytest.raises(ModelNotFoundError, match="no Q2_K GGUF file") as caught:
        store.pull(f"hf.co/{REPO}:Q2_K")

    assert caught.value.hint is not None
    assert "IQ4_XS, Q4_K, Q4_K_M, Q8_0" in caught.value.hint
    assert "F16" not in caught.value.hint  # the projector is no model to pull
    assert store.installed() == []
    assert blob_names(store.settings) == []


def test_unknown_filename_is_not_found(store: ModelStore, tiny_repo: dict[str, str]) -> None:
    with pytest.raises(ModelNotFoundError, match=r"has no file 'nope\.gguf'"):
        store.pull(f"hf.co/{REPO}/nope.gguf")


def test_only_split_files_give_a_clear_error(
    store: ModelStore, hub: HubState, ggufs: dict[str, bytes]
) -> None:
    hub.add_file(REPO, "Q4_K_M/tiny-Q4_K_M-00001-of-00002.gguf", ggufs["Q4_K_M"][:1000])
    hub.add_file(REPO, "Q4_K_M/tiny-Q4_K_M-00002-of-00002.gguf", ggufs["Q4_K_M"][1000:])
    hub.add_file(REPO, "tiny-Q8_0.gguf", ggufs["Q8_0"])

    with pytest.raises(ModelNotFoundError, match="split GGUF is not supported yet"):
        store.pull(f"hf.co/{REPO}:Q4_K_M")
    with pytest.raises(ModelNotFoundError, match="split GGUF is not supported yet"):
        store.pull(f"hf.co/{REPO}/Q4_K_M/tiny-Q4_K_M-00001-of-00002.gguf")
    assert hub.cdn_gets() == []


def test_a_gated_or_private_repo_needs_the_token(
    store: ModelStore, hub: HubState, ggufs: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = hub.add_file("corp/Private-GGUF", "p-Q4_K_M.gguf", ggufs["Q4_K_M"], token="hf_sekrit")

    with pytest.raises(ModelNotFoundError, match="corp/Private-GGUF") as caught:
        store.pull("hf.co/corp/Private-GGUF")
    assert "HF_TOKEN" in (caught.value.hint or "")

    monkeypatch.setenv("HF_TOKEN", "hf_sekrit")
    assert store.pull("hf.co/corp/Private-GGUF").digest == digest
    resolves = hub.file_downloads()
    assert resolves
    assert all(r.headers.get("authorization") == "Bearer hf_sekrit" for r in resolves)
    assert hub.cdn_gets()
    assert all("authorization" not in r.headers for r in hub.cdn_gets())  # never off the hub


# ------------------------------------------------------------------ transfer


def test_download_is_pinned_to_the_confirmed_commit(
    store: ModelStore, hub: HubState, tiny_repo: dict[str, str]
) -> None:
    store.pull(f"hf.co/{REPO}:Q8_0")

    commit = hub.repos[REPO].commit
    (download,) = hub.file_downloads()
    assert download.path == f"/{REPO}/resolve/{commit}/tiny-llama-Q8_0.gguf"
    heads = [r for r in hub.requests if r.method == "HEAD"]
    assert [h.path for h in heads] == [f"/{REPO}/resolve/main/tiny-llama-Q8_0.gguf"]


def test_interrupted_download_resumes_with_a_range_request(
    store: ModelStore, hub: HubState, tiny_repo: dict[str, str], ggufs: dict[str, bytes]
) -> None:
    hub.cut_after, hub.cuts_left = 10_000, 1

    record = store.pull(f"hf.co/{REPO}:Q4_K_M")

    first, second = hub.cdn_gets()
    assert "range" not in first.headers
    assert second.headers["range"] == "bytes=10000-"
    assert record.digest == tiny_repo["Q4_K_M"]
    assert record.path.read_bytes() == ggufs["Q4_K_M"]
    assert partials(store.settings) == []


def test_corrupted_bytes_are_refused_and_nothing_is_kept(
    store: ModelStore, hub: HubState, tiny_repo: dict[str, str]
) -> None:
    hub.corrupt = True

    with pytest.raises(IntegrityError, match="failed verification"):
        store.pull(f"hf.co/{REPO}:Q4_K_M")

    assert blob_names(store.settings) == []
    assert partials(store.settings) == []
    assert not store.blobs.path_for(tiny_repo["Q4_K_M"]).exists()
    assert store.installed() == []


def test_a_second_pull_transfers_nothing(
    store: ModelStore, tiny_repo: dict[str, str], hub: HubState
) -> None:
    store.pull(f"hf.co/{REPO}:Q8_0")
    hub.requests.clear()

    record = store.pull(f"hf.co/{REPO}:Q8_0", name="tiny-copy")

    assert record.digest == tiny_repo["Q8_0"]
    assert hub.file_downloads() == []
    assert hub.cdn_gets() == []


def test_unreachable_hub_is_source_unavailable(
    store: ModelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    point_huggingface_hub_at(f"http://127.0.0.1:{port}", tmp_path / "hf-home", monkeypatch)
    # huggingface_hub retries a refused connection with seconds of backoff; skip the waits
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)

    with pytest.raises(SourceUnavailableError, match="cannot reach Hugging Face"):
        store.pull(f"hf.co/{REPO}:Q4_K_M")
    close_hub_session()


# ------------------------------------------------------------------ local HF cache


def test_file_in_hf_cache_is_imported_without_download(
    store: ModelStore, hub: HubState, tiny_repo: dict[str, str]
) -> None:
    cached = cache_file(hub, "tiny-llama-Q4_K_M.gguf")

    record = store.pull(f"hf.co/{REPO}:Q4_K_M")

    assert record.digest == tiny_repo["Q4_K_M"]
    assert hub.file_downloads() == []
    assert hub.cdn_gets() == []
    assert [r.method for r in hub.requests if "/resolve/" in r.path] == ["HEAD"]
    assert record.path.stat().st_ino == cached.resolve().stat().st_ino  # hardlinked


def test_hf_cache_import_reports_progress(
    ctx: PullContext, hub: HubState, tiny_repo: dict[str, str]
) -> None:
    cache_file(hub, "tiny-llama-Q8_0.gguf")

    fetched = HuggingFaceSource().fetch(parse_ref(f"hf.co/{REPO}:Q8_0"), ctx)

    assert fetched.digest == tiny_repo["Q8_0"]
    assert not fetched.external
    progress = ctx.progress
    assert isinstance(progress, RecordingProgress)
    assert any("Hugging Face cache" in s for s in progress.statuses)


def test_stale_hf_cache_copy_is_downloaded_instead(
    ctx: PullContext, hub: HubState, tiny_repo: dict[str, str], ggufs: dict[str, bytes]
) -> None:
    cached = cache_file(hub, "tiny-llama-Q8_0.gguf").resolve()
    cached.write_bytes(bytes(len(ggufs["Q8_0"])))  # same size, wrong bytes

    fetched = HuggingFaceSource().fetch(parse_ref(f"hf.co/{REPO}:Q8_0"), ctx)

    assert fetched.digest == tiny_repo["Q8_0"]
    assert fetched.path.read_bytes() == ggufs["Q8_0"]
    assert len(hub.cdn_gets()) == 1


# ------------------------------------------------------------------ pure helpers


def test_default_name() -> None:
    source = HuggingFaceSource()
    assert source.default_name(parse_ref(f"hf.co/{REPO}:Q4_K_M")) == f"hf.co/{REPO.lower()}:q4_k_m"
    assert source.default_name(parse_ref(f"hf.co/{REPO}")) == f"hf.co/{REPO.lower()}:latest"
    assert (
        source.default_name(parse_ref(f"hf.co/{REPO}/sub/x-Q8_0.gguf"))
        == f"hf.co/{REPO.lower()}:x-q8_0"
    )


@pytest.mark.parametrize(
    ("path", "quant", "expected"),
    [
        ("model-Q4_K_M.gguf", "q4_k_m", True),
        ("model.Q4_K_M.gguf", "Q4_K_M", True),
        ("model_Q4_K_M.gguf", "Q4_K_M", True),
        ("model-Q4_K_M.gguf", "Q4_K", False),
        ("model-IQ4_XS.gguf", "Q4_XS", False),
        ("model-Q4_0_4_4.gguf", "Q4_0", False),
        ("model-BF16.gguf", "F16", False),
        ("Q8_0/model-00001-of-00002.gguf", "Q8_0", True),
    ],
)
def test_quant_matches_whole_labels(path: str, quant: str, expected: bool) -> None:
    assert matches_quant(path, quant) is expected


def test_labels_and_split_names() -> None:
    assert quant_label("qwen2.5-0.5b-instruct-q4_k_m.gguf") == "Q4_K_M"
    assert quant_label("Llama-3.2-1B-Instruct-UD-Q4_K_XL.gguf") == "Q4_K_XL"
    assert quant_label("model-BF16-00001-of-00002.gguf") == "BF16"
    assert quant_label("weights.gguf") == "weights"
    assert is_split("m-Q4_K_M-00001-of-00003.gguf")
    assert not is_split("m-Q4_K_M.gguf")
    files = [RepoGGUF(p, 1, None) for p in ("a-Q8_0.gguf", "a-Q8_0.gguf", "mmproj-F16.gguf")]
    assert available_quants(files) == ["Q8_0"]


def test_choose_prefers_the_top_level_file() -> None:
    files = [RepoGGUF("old/a-Q4_K_M.gguf", 1, None), RepoGGUF("a-Q4_K_M.gguf", 1, None)]
    assert choose_file("o/r", files, quant=None, filename=None).path == "a-Q4_K_M.gguf"


def test_repo_without_gguf_files() -> None:
    with pytest.raises(ModelNotFoundError, match="no GGUF model file"):
        choose_file("o/r", [RepoGGUF("mmproj-F16.gguf", 1, None)], quant=None, filename=None)
