"""The `ember` command line, driven as a user would (CliRunner and the real console script)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ember.cli.app import app, main

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_help_lists_every_command() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("pull", "list", "show", "rm", "cp", "config"):
        assert command in out


@pytest.mark.parametrize("command", ["pull", "list", "show", "rm", "cp", "config"])
def test_every_command_has_help(command: str) -> None:
    code, out = invoke(command, "--help")
    assert code == 0
    assert "Usage" in out


def test_config_shows_values_and_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_PORT", "9999")
    code, out = invoke("config", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["port"]["value"] == "9999"
    assert rows["port"]["source"] == "env"
    assert rows["host"]["source"] == "default"
    assert all(r["description"] for r in rows.values())


def test_list_and_show_starter_models(starter_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_HOME", str(starter_home))
    code, out = invoke("list", "--json")
    assert code == 0
    names = {m["name"]: m for m in json.loads(out)}
    assert names["smollm2:135m"]["quantization"] == "Q4_1"
    assert names["qwen2.5-coder:0.5b"]["digest"] == (
        "sha256:1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    )
    code, out = invoke("show", "qwen2.5-coder:0.5b", "--json")
    assert code == 0
    details = json.loads(out)
    assert details["architecture"] == "qwen2"
    assert details["quantization"] == "Q4_K_M"
    assert details["context_length"] == 32768
    assert details["layers"] == 24
    assert details["kv_heads"] == 2
    assert "im_start" in details["chat_template"]
    code, out = invoke("show", "smollm2:135m")
    assert code == 0
    assert "llama" in out
    assert "8192" in out


def test_pull_rm_cp_local_file(tiny_gguf: Path) -> None:
    code, out = invoke("pull", str(tiny_gguf), "--name", "tiny")
    assert code == 0, out
    assert "tiny:latest" in out
    code, out = invoke("cp", "tiny", "tiny:copy")
    assert code == 0
    code, out = invoke("rm", "tiny", "tiny:copy")
    assert code == 0
    assert "deleted tiny:copy" in out


def test_errors_are_one_line_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["ember", "show", "no-such-model"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: model 'no-such-model' is not installed" in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed `ember` script itself: version, and a bad input as one clean line."""
    exe = shutil.which("ember") or str(Path(sys.executable).with_name("ember"))
    env = {**os.environ, "EMBER_HOME": str(tmp_path / "h")}
    ok = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0
    assert ok.stdout.startswith("ember ")
    bad = subprocess.run(
        [exe, "pull", "bad name"], capture_output=True, text=True, env=env, check=False
    )
    assert bad.returncode == 1
    assert "error:" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_run_streams_an_answer(starter_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_HOME", str(starter_home))
    code, out = invoke(
        "run",
        "smollm2:135m",
        "What is the capital of France?",
        "--temperature",
        "0",
        "--max-tokens",
        "20",
    )
    assert code == 0, out
    assert len(out.strip()) > 5


def test_run_unknown_model_is_one_line(starter_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_HOME", str(starter_home))
    result = runner.invoke(app, ["run", "nope:1b", "hi"])
    assert result.exit_code != 0
    assert "not installed" in str(result.exception)


def test_run_with_only_a_prompt_uses_the_default_model(
    starter_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_HOME", str(starter_home))
    monkeypatch.setenv("EMBER_DEFAULT_MODEL", "smollm2:135m")
    code, out = invoke("run", "Name a colour.", "--temperature", "0", "--max-tokens", "8")
    assert code == 0, out
    assert out.strip()
