"""`ember bench chat`: how long a user of the chat page waits, measured end to end.

Why a benchmark of its own (issue 17): what a user of the page waits for is not decode
speed but the time from typing ``ember`` to a page that can answer, and from sending a
first message to its first word. Those depend on what the server does as it starts —
load the default model and compute the start every new conversation shares (setting
``preload``, ``ChatService.warm``), or read that start back from disk after a restart —
which the in-process engine benchmark cannot see. So this starts a real
``python -m ember serve`` and talks to it as the page does (``/ember/api``):

1. ``preload`` off (how it was before): seconds from the process start until
   ``/health`` answers, until the page (``GET /``) does, and until the first word of
   a first message sent as soon as the page answered;
2. ``preload`` on, a first start (nothing saved): the same, plus the moment the
   default model is ready (``/ember/api/models``: its ``loading`` is false), the first
   message being sent then;
3. the first message of another new conversation with the shared start warm (the
   median of ``repeats``);
4. the server stopped and started again with the same home: a new conversation's first
   word once the shared start was read back from disk.

Every message is the first of a new conversation with the conversation defaults (the
server's default tools) except the temperature: 0 unless told otherwise, so that every
case takes the same path. (Measured at the default 0.8, Qwen2.5-Coder-0.5B answered
"What is the capital of France?" at once in one run and after three calculator calls
and 452 s of steps whose text was not shown in the next; greedy, it calls the calculator
once, every time, though what follows the call still varies with the question.) So two
times are reported: the first word of the answer (``ttft_s``, the first ``delta``
event) and the first step the page shows (``first_step_s``, a tool call or that word),
which is where the shared start shows. The warm messages ask about other countries, so
none finds an earlier prompt cached; after the restart the first question is asked
again, as on the first start (only the shared start is saved to disk, not
conversations), so the two differ only in where the shared start came from. An answer
is followed to its end, or stopped ``ANSWER_S`` after its first word.

The server runs in a temporary home holding only the given home's ``config.toml`` and
model manifests (pointing at the same files, marked as not its own to delete): no saved
KV states, so a first start is a first start, and the user's conversations are left
alone. Steps 1 and 2 get separate homes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from ember.config import CONFIG_FILE_NAME, Settings, load_settings
from ember.errors import EmberError
from ember.runtime import build
from ember.storage import Database

QUESTION = "What is the capital of France?"
_OTHERS = ("Italy", "Spain", "Japan", "Canada", "Egypt", "Peru", "Norway", "Kenya")
START_TIMEOUT_S = 300.0
ANSWER_TIMEOUT_S = 600.0
ANSWER_S = 10.0  # an answer still running this long after its first token is stopped


@dataclass(frozen=True)
class StartTimes:
    """Seconds from the server process's start until each thing answered."""

    health_s: float
    page_s: float
    model_ready_s: float | None  # None: preload off, nothing to wait for


@dataclass(frozen=True)
class FirstToken:
    """A new conversation's first message: when it was sent (seconds since the server
    process started), sending to its first ``delta`` event (the first word shown), the
    two added up, and sending to the first thing shown (a tool call or that word). Tool
    calls before the word, and steps whose text was not an answer (the loop then asks
    again), are part of the wait: that is what a user sees. ``prompt_tokens``,
    ``cached_tokens`` and ``server_ttft_s`` are the answering step's (its ``meta``),
    absent when the answer was stopped."""

    sent_s: float
    ttft_s: float
    first_token_s: float
    first_step_s: float
    tool_calls: int
    stopped: bool
    prompt_tokens: int | None
    cached_tokens: int | None
    server_ttft_s: float | None
    answer: str


class Server:
    """``python -m ember serve`` on a free loopback port, with ``home`` as EMBER_HOME;
    stopped with SIGINT (as Ctrl+C does) when the ``with`` block ends."""

    def __init__(
        self, home: Path, model: str, *, preload: bool, conversation: dict[str, Any] | None = None
    ) -> None:
        self.home, self.model, self.preload = home, model, preload
        self.conversation = conversation or {}  # settings of the conversations ask() makes
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.log = home / f"server-{self.port}.log"
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "EMBER_HOME": str(self.home),
            "EMBER_DEFAULT_MODEL": self.model,
            "EMBER_PRELOAD": "true" if self.preload else "false",
        }
        command = [sys.executable, "-m", "ember", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port)]  # fmt: skip
        with self.log.open("wb") as log:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.close()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def since_start(self) -> float:
        return time.monotonic() - self.started

    def wait_ready(self) -> StartTimes:
        """Poll as the page would: health, the page, then (with preload) the model."""
        health = self._wait("/health", lambda r: True, 0.05)
        page = self._wait("/", lambda r: True, 0.05)
        if not self.preload:
            return StartTimes(health, page, None)
        # The preload marks the model loading before the server answers its first
        # request (its first step runs as the server starts listening), so "not
        # loading" here means loaded. Polled every 0.25 s: the page itself looks every 1 s.
        ready = self._wait("/ember/api/models", self._model_ready, 0.25)
        return StartTimes(health, page, ready)

    def _model_ready(self, response: httpx.Response) -> bool:
        entry = next((m for m in response.json()["models"] if m["name"] == self.model), None)
        if entry is None:
            raise EmberError(f"the server does not list {self.model}")
        return not entry.get("loading")

    def _wait(self, path: str, ready: Callable[[httpx.Response], bool], every: float) -> float:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise EmberError(
                    f"the server exited with {self.process.returncode} before {path} "
                    "answered: " + " / ".join(tail)
                )
            try:
                response = self.client.get(path)
                if response.status_code == 200 and ready(response):
                    return round(self.since_start(), 3)
            except httpx.TransportError:
                pass
            time.sleep(every)
        raise EmberError(f"{path} did not answer within {START_TIMEOUT_S:.0f} s")

    def ask(self, question: str) -> FirstToken:
        """A new conversation's first message, followed to the end of its answer, or
        stopped ``ANSWER_S`` after its first token (the rest is not measured, and must
        not run beside the next measurement). The conversation has a title, so none is
        generated after it."""
        body = {"title": "ember bench chat", "model": self.model, "settings": self.conversation}
        created = self.client.post("/ember/api/conversations", json=body)
        created.raise_for_status()
        cid = created.json()["conversation"]["id"]
        sent, sent_at = self.since_start(), time.monotonic()
        ttft: float | None = None
        step: float | None = None
        text, calls, stopped = "", 0, False
        meta: dict[str, Any] = {}
        path = f"/ember/api/conversations/{cid}/messages"
        timeout = httpx.Timeout(30.0, read=ANSWER_TIMEOUT_S)
        with (
            _no_word_within(ANSWER_TIMEOUT_S),
            self.client.stream("POST", path, json={"content": question}, timeout=timeout) as r,
        ):
            if r.status_code != 200:
                raise EmberError(f"sending a message: HTTP {r.status_code}: {r.read()!r}")
            for name, data in _events(r.iter_lines()):
                now = time.monotonic()
                if name in ("delta", "tool_calls") and step is None:
                    step = now - sent_at
                if name == "delta" and data.get("content"):
                    ttft = now - sent_at if ttft is None else ttft
                    text += data["content"]
                elif name == "tool_calls" and ttft is None:
                    calls += 1
                elif name == "error":
                    raise EmberError(f"the answer failed: {data.get('message')}")
                elif name == "done":
                    meta = data["message"].get("meta") or {}
                if ttft is not None and not stopped and now - sent_at - ttft > ANSWER_S:
                    self.client.post(f"/ember/api/conversations/{cid}/stop").raise_for_status()
                    stopped = True
        if ttft is None or step is None:
            raise EmberError(f"no token came for {question!r}")
        if stopped:
            self._wait_stopped(cid)
        return FirstToken(
            sent_s=round(sent, 3),
            ttft_s=round(ttft, 3),
            first_token_s=round(sent + ttft, 3),
            first_step_s=round(step, 3),
            tool_calls=calls,
            stopped=stopped,
            prompt_tokens=meta.get("prompt_tokens"),
            cached_tokens=meta.get("cached_tokens"),
            server_ttft_s=meta.get("ttft_s"),
            answer=text[:200],
        )

    def _wait_stopped(self, cid: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            view = self.client.get(f"/ember/api/conversations/{cid}").json()
            if view["messages"][-1]["status"] != "streaming":
                return
            time.sleep(0.1)
        raise EmberError("a stopped answer did not stop")


@contextmanager
def _no_word_within(seconds: float) -> Iterator[None]:
    """A stream silent for ``seconds`` (a step whose text is not shown can run that
    long) as an error that says so, not a traceback."""
    try:
        yield
    except httpx.ReadTimeout as exc:
        raise EmberError(f"the answer showed nothing for {seconds:.0f} s") from exc


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events as (name, data)."""
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def copy_home(source: Settings, target: Path) -> Path:
    """A fresh Ember home with ``source``'s config.toml and model manifests only; its
    blobs point at the source's files and are marked external, so nothing run in the
    copy can delete them."""
    target.mkdir(parents=True)
    if source.config_file.is_file():
        shutil.copyfile(source.config_file, target / CONFIG_FILE_NAME)
    Database(target / source.database_path.name).close()  # the schema
    with closing(sqlite3.connect(target / source.database_path.name)) as db:
        db.execute("ATTACH DATABASE ? AS source", (str(source.database_path),))
        with db:
            db.execute("INSERT INTO blobs SELECT * FROM source.blobs")
            db.execute("UPDATE blobs SET external = 1")
            db.execute("INSERT INTO models SELECT * FROM source.models")
        db.execute("DETACH DATABASE source")
    return target


def _read_through(path: Path) -> None:
    """Read the model file once, so every start finds it in the page cache (as any
    start after the first does), and the first measured start is not the odd one out."""
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def _others() -> Iterator[str]:
    while True:
        for country in _OTHERS:
            yield f"What is the capital of {country}?"


def run_chat_bench(
    home: Path,
    model: str | None = None,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda message: None,
    temperature: float | None = 0.0,
) -> dict[str, Any]:
    """Measure the four cases of the module docstring for ``model`` (default: the
    home's default model) installed in ``home``; returns the JSON report.
    ``temperature`` None: the conversation default."""
    if repeats < 1:
        raise EmberError("repeats must be at least 1")
    source = load_settings(home=home)
    runtime = build(source)
    try:
        runtime.models.ensure_starter_models()  # as `ember` does when it starts
        record = runtime.models.get(model or source.default_model)
    finally:
        runtime.close()
    _read_through(record.path)
    load_before = round(os.getloadavg()[0], 2)
    name, others = record.name, _others()
    settings = {} if temperature is None else {"temperature": temperature}
    runs: dict[str, dict[str, Any]] = {}

    def measure(key: str, server: Server, question: str) -> None:
        start = server.wait_ready()
        progress(f"{key}: ready after {start.model_ready_s or start.page_s:.2f} s; asking")
        runs[key] = {"start": asdict(start), "first_message": asdict(server.ask(question))}

    with tempfile.TemporaryDirectory(prefix="ember-bench-chat-") as tmp:
        progress(f"{name}: preload off, first start")
        off = copy_home(source, Path(tmp) / "off")
        with Server(off, name, preload=False, conversation=settings) as server:
            measure("preload_off", server, QUESTION)
        progress(f"{name}: preload on, first start")
        warm_home = copy_home(source, Path(tmp) / "on")
        with Server(warm_home, name, preload=True, conversation=settings) as server:
            measure("first_start", server, QUESTION)
            warm = [server.ask(next(others)) for _ in range(repeats)]
        progress(f"{name}: preload on, after a restart")
        with Server(warm_home, name, preload=True, conversation=settings) as server:
            measure("restart", server, QUESTION)
    return {
        "benchmark": "ember bench chat",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "model": name,
        "question": QUESTION,
        "conversation_settings": settings,
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "threads": source.threads,
        "load_average_before": load_before,  # 1-minute load: was anything else running?
        "runs": runs,
        "warm": {
            "messages": [asdict(w) for w in warm],
            "median_ttft_s": round(statistics.median(w.ttft_s for w in warm), 3),
            "median_first_step_s": round(statistics.median(w.first_step_s for w in warm), 3),
        },
    }
