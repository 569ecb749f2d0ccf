"""`POST /api/pull` runs the same fit check as `ember pull`: a model that cannot fit
this machine is refused before any byte is downloaded; ``"force": true`` pulls it anyway.
The registry is a local HTTP server serving a real GGUF; the machine is a tiny one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import ember.hardware
from ember.config import load_settings
from ember.hardware.machine import Machine
from ember.runtime import build
from tests.hubs.ollama_registry import RegistryState, ollama_registry
from tests.server.conftest import serving

TINY_MACHINE = Machine(total_ram=256 << 20, available_ram=200 << 20, physical_cores=1)


@pytest.fixture
def server(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, RegistryState]]:
    monkeypatch.setattr(ember.hardware, "probe_machine", lambda *a, **k: TINY_MACHINE)
    with ollama_registry() as (registry, state):
        state.add_model("library/tiny", "1b", tiny_gguf.read_bytes())
        runtime = build(load_settings(home=tmp_path / "home", ollama_registry=registry))
        with serving(runtime) as url:
            yield url, state
        runtime.close()


def downloaded(state: RegistryState) -> bool:
    return any("/blobs/" in path for _, path, _ in state.requests)


def test_pull_refuses_a_model_that_cannot_fit_before_downloading(
    server: tuple[str, RegistryState],
) -> None:
    url, state = server
    refused = httpx.post(f"{url}/api/pull", json={"model": "tiny:1b", "stream": False})
    assert refused.status_code == 422
    assert "will not fit on this machine" in refused.json()["error"]

    streamed = httpx.post(f"{url}/api/pull", json={"model": "tiny:1b"}, timeout=30)
    last = json.loads(streamed.text.splitlines()[-1])  # Ollama's shape: an error line
    assert "will not fit on this machine" in last["error"]
    assert "force" in last["error"]  # the hint says how to pull it anyway
    assert not downloaded(state)

    forced = httpx.post(f"{url}/api/pull", json={"model": "tiny:1b", "force": True}, timeout=60)
    lines = [json.loads(line) for line in forced.text.splitlines()]
    assert lines[-1] == {"status": "success"}
    assert downloaded(state)
    names = [m["name"] for m in httpx.get(f"{url}/api/tags").json()["models"]]
    assert "tiny:1b" in names
