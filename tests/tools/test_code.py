"""The Python sandbox: limits hold, escapes are refused, output is cut. Small limits keep
these fast; no assertion depends on timing."""

from __future__ import annotations

import asyncio

import pytest

from ember.tools.builtin.code import CodeLimits, describe, make_run_python, run_snippet
from ember.tools.registry import ToolError

FAST = CodeLimits(cpu_seconds=1, wall_seconds=5, output_bytes=2000)


def run(code: str, limits: CodeLimits = FAST) -> str:
    outcome = asyncio.run(run_snippet(code, limits))
    return describe(outcome, limits)


def test_prints_come_back() -> None:
    assert run("print(sum(range(10)))\nprint('é')") == "45\né"
    assert run("pass") == "[no output]"


def test_errors_show_the_traceback_and_status() -> None:
    text = run("1/0")
    assert "ZeroDivisionError" in text
    assert text.endswith("[exit status 1]")


def test_runaway_cpu_is_killed_at_the_limit() -> None:
    text = run("while True:\n    pass")
    assert "killed" in text
    assert "CPU time" in text


def test_sleeping_forever_hits_the_wall_clock() -> None:
    limits = CodeLimits(cpu_seconds=5, wall_seconds=1)
    assert "wall-clock limit" in run("import time\ntime.sleep(60)", limits)


def test_fork_bomb_is_contained() -> None:
    text = run("import os\nwhile True:\n    os.fork()")
    assert "PermissionError: blocked in Ember's sandbox: os.fork" in text


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess; subprocess.run(['true'])",
        "import os; os.system('true')",
        "import os; os.execv('/bin/true', ['true'])",
        "import multiprocessing as m; m.Process(target=print).start()",
    ],
)
def test_process_creation_is_blocked(code: str) -> None:
    assert "blocked in Ember's sandbox" in run(code)


@pytest.mark.parametrize(
    "code",
    [
        "import socket; socket.socket()",
        "import socket; socket.create_connection(('127.0.0.1', 9))",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9/')",
        "import socket; socket.getaddrinfo('localhost', 80)",
    ],
)
def test_network_is_blocked(code: str) -> None:
    assert "blocked in Ember's sandbox: socket" in run(code)


def test_files_only_inside_the_temporary_directory() -> None:
    inside = "open('out.txt', 'w').write('hi'); print(open('out.txt').read())"
    assert run(inside) == "hi"
    assert "blocked in Ember's sandbox: writing /tmp/escape" in run(
        "open('/tmp/escape', 'w').write('x')"
    )
    assert "blocked" in run("import os; os.open('/tmp/escape2', os.O_WRONLY | os.O_CREAT)")


def test_limits_cannot_be_raised_and_the_hook_cannot_be_replaced() -> None:
    code = "import resource; resource.setrlimit(resource.RLIMIT_CPU, (100, 100))"
    assert "blocked in Ember's sandbox: resource.setrlimit" in run(code)
    another_hook = "import sys, socket; sys.addaudithook(lambda *a: None); socket.socket()"
    assert "blocked in Ember's sandbox: socket" in run(another_hook)
    assert "blocked" in run("import ctypes; ctypes.CDLL(None)")


def test_memory_is_limited() -> None:
    limits = CodeLimits(cpu_seconds=2, memory_bytes=256 * 2**20)
    assert "MemoryError" in run("x = bytearray(1024 * 2**20)", limits)


def test_output_is_truncated_and_the_program_stopped() -> None:
    text = run("while True:\n    print('x' * 100)")
    assert "output limit of 2000 bytes reached" in text
    assert len(text) < 2200


def test_no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    text = run("import os; print(sorted(os.environ))")
    assert "SECRET_TOKEN" not in text
    assert "HTTPS_PROXY" in text


def test_the_tool_reports_failures_as_errors() -> None:
    run_python = make_run_python(FAST)
    assert asyncio.run(run_python("print(6 * 7)")) == "42"  # type: ignore[misc]
    with pytest.raises(ToolError, match="exit status 1"):
        asyncio.run(run_python("raise SystemExit(1)"))  # type: ignore[misc]
    with pytest.raises(ToolError, match="too long"):
        asyncio.run(run_python("x" * 30_000))  # type: ignore[misc]
