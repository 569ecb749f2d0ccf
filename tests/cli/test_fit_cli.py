"""`ember fit`, `ember pull` refusing what cannot fit (and --force), `ember doctor`."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ember.hardware
from ember.cli.app import app, main
from ember.errors import ModelWontFitError
from ember.hardware import GiB, Machine, speed_probe
from tests.hubs.ollama_registry import RegistryState, ollama_registry

runner = CliRunner()

TINY_MACHINE = Machine(total_ram=256 << 20, available_ram=200 << 20, physical_cores=1)


@pytest.fixture
def fit_home(starter_home: Path) -> Path:
    """The session's home with both starter models (registering Qwen is paid once)."""
    return starter_home


@pytest.fixture(autouse=True)
def fixed_speeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Known speeds instead of a real measurement: the tests check plumbing, not timing."""
    monkeypatch.setattr(speed_probe, "measure_bandwidth", lambda: 20e9)
    monkeypatch.setattr(speed_probe, "measure_compute", lambda: 50e9)


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_fit_json_rates_catalogue_and_installed_models(
    fit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_HOME", str(fit_home))
    code, out = invoke("fit", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["machine"]["memory_bandwidth"] == 20e9
    models = {m["name"]: m for m in data["models"]}
    smollm2 = models["smollm2:135m"]
    assert smollm2["installed"] is True
    assert smollm2["download_bytes"] is None
    assert smollm2["verdict"] in ("great", "usable", "slow")
    assert smollm2["n_ctx"] == 8192
    assert smollm2["decode_tps"] > 0
    assert models["llama3.1:8b"]["installed"] is False
    assert models["llama3.1:8b"]["download_bytes"] > 4e9
    assert all(m["kind"] == "chat" for m in models.values())
    assert data["recommended"] in models
    assert (fit_home / speed_probe.CACHE_FILE).is_file()


def test_fit_table_names_a_recommendation(fit_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_HOME", str(fit_home))
    monkeypatch.setenv("COLUMNS", "200")
    code, out = invoke("fit", "--embedding")
    assert code == 0, out
    assert "VERDICT" in out
    assert "all-minilm:l6-v2" in out
    assert "Recommended:" in out


def test_fit_on_a_machine_where_nothing_fits(
    monkeypatch: pytest.MonkeyPatch, fit_home: Path
) -> None:
    monkeypatch.setenv("EMBER_HOME", str(fit_home))
    monkeypatch.setattr(ember.hardware, "probe_machine", lambda *a, **k: TINY_MACHINE)
    code, out = invoke("fit", "--json")
    assert code == 0
    data = json.loads(out)
    assert {m["verdict"] for m in data["models"]} == {"wont_fit"}
    assert data["recommended"] is None


@pytest.fixture
def registry(tiny_gguf: Path) -> Iterator[tuple[str, RegistryState]]:
    with ollama_registry() as (url, state):
        state.add_model("library/tiny", "1b", tiny_gguf.read_bytes())
        yield url, state


def test_pull_refuses_before_downloading_and_force_overrides(
    registry: tuple[str, RegistryState],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, state = registry
    monkeypatch.setenv("EMBER_OLLAMA_REGISTRY", url)
    monkeypatch.setattr(ember.hardware, "probe_machine", lambda *a, **k: TINY_MACHINE)
    monkeypatch.setattr(sys, "argv", ["ember", "pull", "tiny:1b"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "will not fit on this machine" in err
    assert "--force" in err
    assert not any("/blobs/" in path for _, path, _ in state.requests)  # nothing downloaded

    code, out = invoke("pull", "tiny:1b", "--force")
    assert code == 0, out
    assert any("/blobs/" in path for _, path, _ in state.requests)


def test_pull_refuses_a_catalogue_model_with_alternatives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = Machine(total_ram=4 * GiB, available_ram=2 * GiB, physical_cores=2)
    monkeypatch.setattr(ember.hardware, "probe_machine", lambda *a, **k: small)
    monkeypatch.setenv("EMBER_OLLAMA_REGISTRY", "http://127.0.0.1:9")  # nothing listens
    result = runner.invoke(app, ["pull", "llama3.1:8b"])
    error = result.exception
    assert isinstance(error, ModelWontFitError)
    assert "llama3.1:8b will not fit" in error.message
    assert error.hint is not None
    assert "models that fit here: " in error.hint  # catalogue models that fit


def test_doctor_healthy(tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch, free_port: int) -> None:
    monkeypatch.setenv("EMBER_PORT", str(free_port))
    assert invoke("pull", str(tiny_gguf), "--name", "tiny")[0] == 0
    code, out = invoke("doctor")
    assert code == 0, out
    assert "tiny:latest: sha256 verified" in out
    assert "no problems found" in out
    code, out = invoke("doctor", "--json")
    areas = {c["area"] for c in json.loads(out)}
    assert {"install", "llama.cpp", "home", "disk", "port", "models"} <= areas


def test_doctor_finds_a_damaged_model_a_busy_port_and_a_loose_home(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per check, for the assertions
    assert invoke("pull", str(tiny_gguf), "--name", "tiny")[0] == 0
    blob = next((isolated_home / "blobs").rglob("sha256*"))
    blob.chmod(0o644)
    with blob.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00damaged\x00")
    os.chmod(isolated_home, 0o777)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("EMBER_PORT", str(busy.getsockname()[1]))
        code, out = invoke("doctor")
    os.chmod(isolated_home, 0o700)
    assert code == 1
    assert "does not match its sha256" in out
    assert "ember rm tiny:latest && ember pull tiny:latest" in out
    assert "cannot bind" in out
    assert "--port" in out
    assert "writable by every user" in out
    assert f"chmod 700 {isolated_home}" in out
    assert "3 problem(s) found" in out


def test_doctor_fast_skips_hashes(monkeypatch: pytest.MonkeyPatch, free_port: int) -> None:
    monkeypatch.setenv("EMBER_PORT", str(free_port))
    code, out = invoke("doctor", "--fast")
    assert "no models installed" in out
    assert code == 0, out
