"""Scale-out: a pool of inference workers behind one Ember front end.

A worker is a remote marked ``worker = true`` (another Ember, llama-server, vLLM,
Ollama: anything OpenAI-compatible). A request for a model that workers serve, by its
plain name, goes to one of them:

- **affinity**: a conversation goes back to the worker that answered it before, where
  its prompt is still in the KV cache (the page's conversation id; for API clients, a
  hash of the model and the conversation's first messages, which every later turn of
  the same chat repeats);
- otherwise the **least loaded** healthy worker that lists the model: the requests
  this front end has in flight there, plus those others sent, which is what the worker
  reports running or waiting in its Prometheus metrics (Ember, llama-server with
  ``--metrics``, vLLM; read every ``LOAD_TTL_S`` in the background) less what this front
  end had in flight when it read them; then fewest answered;
- **the KV follows the conversation** to Ember workers: every request asks its worker
  to keep the answer's KV state on disk (``X-Ember-Save-KV``); workers that share a KV
  directory (``kv_dir``) continue a conversation whose worker is gone from that state;
- **failover**: a worker that cannot be reached, times out or refuses with 5xx before
  its first byte is marked down for ``DOWN_S`` and the request goes to the next one,
  transparently. Once an answer has started it is not moved: a worker that dies
  mid-stream ends the answer with an error, and the partial text is kept (stored as
  incomplete by the page).

The pool keeps its state in memory (one front end). Choosing is pure
(:func:`choose_worker`); the pool is the I/O around it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from ember.chat.remote import (
    OpenAICompatBackend,
    RemoteRefusedError,
    RemoteTimeoutError,
    RemoteUnavailableError,
)
from ember.chat.types import ChatDone, ChatEvent, ChatRequest
from ember.errors import EmberError

log = logging.getLogger(__name__)
DOWN_S = 10.0  # a worker that failed is skipped this long, then tried again
MODELS_TTL_S = 15.0
LOAD_TTL_S = 2.0  # a worker's reported load is read again when older than this
LOAD_TIMEOUT_S = 2.0
AFFINITY_SIZE = 10_000  # conversations remembered
WORKER_FAILURES = (RemoteUnavailableError, RemoteTimeoutError, RemoteRefusedError)

# Requests running or waiting, as each kind of server names them in its metrics.
LOAD_METRICS = (
    "ember_requests_in_flight",  # Ember (admitted: running and queued)
    "llamacpp:requests_processing",  # llama-server --metrics
    "llamacpp:requests_deferred",
    "vllm:num_requests_running",  # vLLM
    "vllm:num_requests_waiting",
)


class NoWorkerError(EmberError):
    status = 503
    code = "no_worker"


@dataclass
class WorkerState:
    """What the front end knows of one worker."""

    backend: OpenAICompatBackend
    in_flight: int = 0
    answered: int = 0
    failed: int = 0
    down_until: float = 0.0
    last_error: str | None = None
    models: frozenset[str] = frozenset()
    models_at: float = -MODELS_TTL_S
    # Its models whose chat template knows tool calls, as the worker says (the Ollama
    # API's /api/show capabilities: Ember and Ollama have it), and the models asked.
    tool_models: frozenset[str] = frozenset()
    asked_tools: frozenset[str] = frozenset()
    reported: float | None = None  # what its metrics said it runs (None: no metrics)
    reported_at: float = -LOAD_TTL_S
    others: float = 0.0  # of those, the requests other front ends sent

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def server_root(self) -> str:
        return self.backend.root.removesuffix("/v1")

    def load(self, now: float) -> float:
        """Requests on it: this front end's in flight (exact, now) and, from its latest
        report, the others' (a report older than two periods counts for nothing)."""
        fresh = now - self.reported_at < 2 * LOAD_TTL_S
        return self.in_flight + (self.others if fresh else 0.0)

    def note_report(self, reported: float | None, now: float) -> None:
        self.reported, self.reported_at = reported, now
        self.others = max(0.0, (reported or 0.0) - self.in_flight)

    def healthy(self, now: float) -> bool:
        return now >= self.down_until

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.backend.root,
            "healthy": self.healthy(now),
            "in_flight": self.in_flight,
            "load": self.reported,
            "answered": self.answered,
            "failed": self.failed,
            "last_error": self.last_error,
            "models": sorted(self.models),
        }


def reported_load(metrics_text: str) -> float | None:
    """The requests a worker says it is running or holding, from its /metrics text
    (None: none of the known metrics is there)."""
    total: float | None = None
    for line in metrics_text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in LOAD_METRICS:
            try:
                total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
            except ValueError:
                continue
    return total


def affinity_key(request: ChatRequest) -> str:
    """What makes two requests the same conversation: the page's conversation id, else
    the model with the conversation's opening (system prompt and first user message)."""
    if request.egress.conversation_id:
        return f"c:{request.egress.conversation_id}"
    opening = [m for m in request.messages if m.role == "system"][:1]
    opening += [m for m in request.messages if m.role == "user"][:1]
    text = "\x00".join([request.model, *(f"{m.role}:{m.content}" for m in opening)])
    return "h:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def choose_worker(
    workers: Sequence[WorkerState], model: str, sticky: str | None, now: float
) -> list[WorkerState]:
    """The workers to try for ``model``, best first: the sticky one when it is healthy,
    then the healthy ones by load; the ones marked down last (they may be back)."""
    serving = [w for w in workers if model in w.models]
    healthy = sorted(
        (w for w in serving if w.healthy(now)), key=lambda w: (w.load(now), w.answered)
    )
    down = sorted((w for w in serving if not w.healthy(now)), key=lambda w: w.down_until)
    order = healthy + down
    first = next((w for w in healthy if w.name == sticky), None)
    if first is not None:
        order.remove(first)
        order.insert(0, first)
    return order


@dataclass
class WorkerPool:
    workers: list[WorkerState]
    clock: Callable[[], float] = time.monotonic
    transport: httpx.AsyncBaseTransport | None = None  # tests
    _affinity: OrderedDict[str, str] = field(default_factory=OrderedDict)
    _reading: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, backends: Sequence[OpenAICompatBackend]) -> WorkerPool:
        return cls([WorkerState(b) for b in backends])

    async def serves(self, model: str) -> bool:
        """Whether some worker lists ``model`` (lists are refreshed now and then)."""
        await self.refresh()
        return any(model in w.models for w in self.workers)

    async def refresh(self, *, force: bool = False) -> None:
        """Each worker's model list, asked again when old: also the health check (a
        worker that does not answer is marked down)."""
        now = self.clock()
        for worker in self.workers:
            if not force and now - worker.models_at < MODELS_TTL_S:
                continue
            if not force and not worker.healthy(now):
                continue
            try:
                worker.models = frozenset(await worker.backend.list_models())
                worker.down_until = 0.0
                worker.last_error = None
            except EmberError as exc:
                self._down(worker, exc.message)
            else:
                await self._ask_tools(worker)
            worker.models_at = now

    async def _ask_tools(self, worker: WorkerState) -> None:
        """Which of the worker's new models know tool calls, from its /api/show (a
        server without it, llama-server or vLLM, says nothing: their models are taken
        not to, and Ember's tools are not offered to them)."""
        new = worker.models - worker.asked_tools
        if not new:
            return
        found: set[str] = set()
        async with httpx.AsyncClient(timeout=LOAD_TIMEOUT_S, transport=self.transport) as client:
            for model in sorted(new):
                try:
                    response = await client.post(
                        worker.server_root + "/api/show",
                        json={"model": model},
                        headers=worker.backend.auth_headers(),
                    )
                    capabilities = response.json().get("capabilities") or []
                except (httpx.HTTPError, ValueError, AttributeError, EmberError):
                    continue
                if response.status_code == 200 and "tools" in capabilities:
                    found.add(model)
        worker.tool_models = (worker.tool_models & worker.models) | found
        worker.asked_tools = worker.asked_tools | new

    def knows_tools(self, model: str) -> bool:
        """Whether the workers' ``model`` knows tool calls (``NAME/MODEL``: that worker's)."""
        name, _, own = model.partition("/")
        for worker in self.workers:
            if model in worker.tool_models or (
                own and worker.name == name and own in worker.tool_models
            ):
                return True
        return False

    async def refresh_load(self) -> None:
        """Each healthy worker's load from its /metrics (None where it has none)."""

        async def read(client: httpx.AsyncClient, worker: WorkerState) -> None:
            try:
                response = await client.get(worker.server_root + "/metrics")
            except httpx.HTTPError:
                worker.note_report(None, self.clock())
                return
            ok = response.status_code == 200
            worker.note_report(reported_load(response.text) if ok else None, self.clock())

        now = self.clock()
        async with httpx.AsyncClient(timeout=LOAD_TIMEOUT_S, transport=self.transport) as client:
            await asyncio.gather(*(read(client, w) for w in self.workers if w.healthy(now)))

    def _read_load_soon(self) -> None:
        """Start reading the workers' load when it is old; the request being placed
        does not wait for it (it uses what is known now)."""
        now = self.clock()
        if self._reading is not None and not self._reading.done():
            return
        if all(now - w.reported_at < LOAD_TTL_S for w in self.workers):
            return
        self._reading = asyncio.get_running_loop().create_task(self.refresh_load())

    async def aclose(self) -> None:
        """Stop a reading of the workers' load that is under way (before the loop closes,
        so no task is left pending)."""
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    def names(self) -> frozenset[str]:
        return frozenset(w.name for w in self.workers)

    def status(self) -> list[dict[str, Any]]:
        now = self.clock()
        return [w.to_dict(now) for w in self.workers]

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """The answer from the best worker for the request, failing over before the
        first byte."""
        key = affinity_key(request)
        self._read_load_soon()
        order = choose_worker(self.workers, request.model, self._affinity.get(key), self.clock())
        if not order:
            raise NoWorkerError(f"no worker serves {request.model!r}")
        tried: list[str] = []
        for worker in order:
            worker.in_flight += 1
            events = worker.backend.stream(replace(request, trim_to_fit=False, save_kv=True))
            try:
                try:
                    first = await anext(events)
                except StopAsyncIteration:
                    return
                except WORKER_FAILURES as exc:
                    self._down(worker, exc.message)
                    tried.append(f"{worker.name}: {exc.message}")
                    continue
                self._remember(key, worker.name)
                yield first
                async for event in events:
                    if isinstance(event, ChatDone):
                        worker.answered += 1
                        if event.error:
                            worker.failed += 1
                            worker.last_error = event.error
                    yield event
                return
            finally:
                worker.in_flight -= 1
                await events.aclose()  # type: ignore[attr-defined]
        raise NoWorkerError(
            "every worker for " + repr(request.model) + " failed: " + "; ".join(tried),
            hint="`ember workers` shows their state",
        )

    def _remember(self, key: str, worker: str) -> None:
        self._affinity[key] = worker
        self._affinity.move_to_end(key)
        while len(self._affinity) > AFFINITY_SIZE:
            self._affinity.popitem(last=False)

    def _down(self, worker: WorkerState, why: str) -> None:
        log.warning("worker %s is down: %s", worker.name, why)
        worker.down_until = self.clock() + DOWN_S
        worker.failed += 1
        worker.last_error = why
