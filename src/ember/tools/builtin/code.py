"""Run a Python snippet in a limited subprocess. Off unless a conversation enables it.

The snippet runs in ``python -I -S`` (isolated: no user site, no environment variables
honoured, no ``site``) in a fresh temporary directory, in its own process group, with:

- resource limits set before the snippet runs: CPU seconds, address space, file size, open files,
  and ``RLIMIT_NPROC`` (blocks fork bombs for an ordinary user; root ignores it);
- an audit hook installed before the snippet runs, which refuses sockets, process
  creation (fork, exec, spawn, subprocess, os.system), ctypes and writes outside the
  temporary directory. Audit hooks cannot be removed from Python code;
- an environment without proxies or credentials (proxies point at a closed port);
- a wall-clock timeout after which the whole process group is killed, and an output
  limit after which the process is stopped and the output cut.

This is best-effort isolation, not a security boundary against a determined attacker:
native code reached some other way could still open a socket. Run Ember as an
unprivileged user, where the kernel's limits hold as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ember.tools.registry import ToolError


@dataclass(frozen=True)
class CodeLimits:
    cpu_seconds: int = 5
    wall_seconds: float = 10.0
    memory_bytes: int = 512 * 2**20
    file_bytes: int = 1 * 2**20
    output_bytes: int = 16_000
    max_processes: int = 0  # extra processes the snippet may start: none
    max_code_chars: int = 20_000


# Runs inside the child before the snippet. The limits are set here rather than in a
# ``preexec_fn``, which is unsafe in a process with threads (the engine has some); they
# are in force before the first line of the snippet. The audit hook is the part that
# holds even for root (where RLIMIT_NPROC is not enforced).
BOOTSTRAP = r"""
import os, resource, sys
def _cap(kind, soft, hard=None):
    try:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass
_cpu, _mem, _fsize, _nproc = map(int, sys.argv[1:5])
_cap(resource.RLIMIT_CPU, _cpu, _cpu + 1)
_cap(resource.RLIMIT_AS, _mem)
_cap(resource.RLIMIT_FSIZE, _fsize)
_cap(resource.RLIMIT_NOFILE, 64)
_cap(resource.RLIMIT_CORE, 0)
_cap(resource.RLIMIT_NPROC, _nproc)
_root = os.path.realpath(os.getcwd())
_blocked = {"socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
    "socket.sendto", "socket.gethostbyname", "os.fork", "os.forkpty", "os.system",
    "os.exec", "os.spawn", "os.posix_spawn", "os.kill", "os.killpg", "subprocess.Popen",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata",
    "_posixsubprocess.fork_exec", "pty.spawn", "resource.setrlimit", "resource.prlimit",
    "sys.addaudithook", "os.chdir", "os.setuid"}
def _hook(event, args, _blocked=_blocked, _root=_root, _real=os.path.realpath,
          _sep=os.sep):
    if event in _blocked:
        raise PermissionError("blocked in Ember's sandbox: " + event)
    if event == "open" and isinstance(args[0], (str, bytes)):
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & 3)
        if writing:
            path = args[0].decode() if isinstance(args[0], bytes) else args[0]
            full = _real(path)
            if full != _root and not full.startswith(_root + _sep):
                raise PermissionError("blocked in Ember's sandbox: writing " + path)
sys.addaudithook(_hook)
del _hook, _blocked, _root, _cap, _cpu, _mem, _fsize, _nproc
sys.argv = ["snippet.py"]
with open("snippet.py", encoding="utf-8") as _f:
    _source = _f.read()
del _f
exec(compile(_source, "snippet.py", "exec"), {"__name__": "__main__",
     "__builtins__": __builtins__})
"""


def _environment(workdir: str) -> dict[str, str]:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "http_proxy": closed,
        "https_proxy": closed,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "ALL_PROXY": closed,
        "no_proxy": "",
    }


@dataclass(frozen=True)
class RunOutcome:
    output: str
    returncode: int | None
    stopped: str | None  # why Ember stopped it (timeout, output limit), or None


async def run_snippet(code: str, limits: CodeLimits | None = None) -> RunOutcome:
    """Run ``code``; return its combined stdout/stderr and how it ended."""
    limits = limits or CodeLimits()
    if len(code) > limits.max_code_chars:
        raise ToolError(f"the code is too long (over {limits.max_code_chars} characters)")
    workdir = tempfile.mkdtemp(prefix="ember-code-")
    try:
        Path(workdir, "snippet.py").write_text(code, encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-B", "-c", BOOTSTRAP,
            str(limits.cpu_seconds), str(limits.memory_bytes), str(limits.file_bytes),
            str(limits.max_processes + 1),
            cwd=workdir,
            env=_environment(workdir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            output, stopped = await _collect(proc, limits)
        finally:
            _kill_group(proc)
            await proc.communicate()  # drains and closes the pipe, reaps the process
        return RunOutcome(output, proc.returncode, stopped)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _collect(proc: asyncio.subprocess.Process, limits: CodeLimits) -> tuple[str, str | None]:
    assert proc.stdout is not None
    data = bytearray()
    stopped: str | None = None

    async def read() -> None:
        nonlocal stopped
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(4096):
            data.extend(chunk)
            if len(data) > limits.output_bytes:
                stopped = f"output limit of {limits.output_bytes} bytes reached"
                return
        await proc.wait()

    try:
        await asyncio.wait_for(read(), timeout=limits.wall_seconds)
    except asyncio.TimeoutError:
        stopped = f"wall-clock limit of {limits.wall_seconds:g} s reached"
    text = bytes(data[: limits.output_bytes]).decode("utf-8", errors="replace")
    return text, stopped


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def describe(outcome: RunOutcome, limits: CodeLimits) -> str:
    """The tool's answer: the output, then how the run ended when it did not end well."""
    parts = [outcome.output.rstrip("\n")] if outcome.output.strip() else []
    code = outcome.returncode
    if outcome.stopped:
        parts.append(f"[stopped by Ember: {outcome.stopped}; output cut]")
    elif code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            parts.append(f"[killed: CPU time limit of {limits.cpu_seconds} s exceeded]")
        elif sig == signal.SIGKILL:
            parts.append("[killed: CPU time or memory limit exceeded]")
        else:
            parts.append(f"[killed by signal {signal.Signals(sig).name}]")
    elif code:
        parts.append(f"[exit status {code}]")
    return "\n".join(parts) if parts else "[no output]"


def make_run_python(limits: CodeLimits | None = None) -> Callable[[str], object]:
    chosen = limits or CodeLimits()

    async def run_python(code: str) -> str:
        """Run a Python program and return what it prints (stdout and stderr); use
        print() to show results. No network, no files outside a temporary folder, a few
        seconds of CPU time.

        Args:
            code: The complete Python program to run.
        """
        outcome = await run_snippet(code, chosen)
        text = describe(outcome, chosen)
        if outcome.stopped or (outcome.returncode not in (0, None)):
            raise ToolError(text)
        return text

    return run_python
