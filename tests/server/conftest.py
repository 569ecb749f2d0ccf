"""Serve a real Ember app with uvicorn on a free loopback port (shared by server tests)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from ember.runtime import Runtime
from ember.server.app import create_app


@contextmanager
def serving(runtime: Runtime, wrap: Callable[[Any], Any] | None = None) -> Iterator[str]:
    """Run ``create_app(runtime)`` in a thread (inside ``wrap``, an ASGI middleware, if
    given); yields its base URL; stops it after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app: Any = create_app(runtime)
    if wrap is not None:
        app = wrap(app)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server at {url} exited with {process.returncode}")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server at {url} did not start")


@contextmanager
def llama_cpp_server(model_path: Path, alias: str) -> Iterator[str]:
    """llama-cpp-python's own OpenAI server (``python -m llama_cpp.server``) serving
    ``model_path`` as ``alias``: a real server that is not Ember. Yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
        "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048",
        # One request at a time, as it is built; by default a new request cuts off the
        # stream running (the connection closes mid-body), which a benchmark that sends
        # a second request while one streams must not meet.
        "--interrupt_requests", "False",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, "/v1/models")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


OPEN_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    """Close the clients a test made with :func:`client_for`."""
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def client_for(url: str, **options: Any) -> httpx.Client:
    """An httpx client on ``url`` that is closed when the test ends."""
    client = httpx.Client(base_url=url, timeout=120, **options)
    OPEN_CLIENTS.append(client)
    return client
