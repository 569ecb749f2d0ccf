"""One thread makes every llama.cpp computation of the process: it drives the
schedulers of all loaded models and runs the embedder's and reranker's batches.

Why: the llama.cpp in llama-cpp-python is built with OpenMP, and ggml synchronises the
threads working on one graph with an OpenMP barrier at every operation. libgomp keeps a
team of worker threads for each thread that starts parallel work, and as soon as the
process holds more OpenMP threads than CPUs it stops spinning at barriers and sleeps in
the kernel instead. So once a second context had computed from a thread of its own (a
second model's scheduler, the documents' embedder), every later decode paid a sleep and
a wake at each operation. Measured on two cores: SmolLM2 decoded 160 tok/s alone and
74-99 tok/s in the same process once Qwen (or a second SmolLM2 context) had answered one
request, for good; ``OMP_WAIT_POLICY=ACTIVE`` brought back 160 but spins idle threads
forever, ``PASSIVE`` gave 49. llama-server has one model and one thread, so it never
meets this. Handing each decode to a separate compute thread fixed the slowdown but cost
about 1 ms per token in hand-offs (140 instead of 160 tok/s); so the thread that decodes
is the one that schedules: one loop steps every model's scheduler in turn.

Models take turns (on a CPU they competed for the same cores anyway); an embedding batch
runs between two steps of the schedulers.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Steppable(Protocol):
    def tick(self) -> bool:
        """One round of work; True while it has more to do without new input."""
        ...


class ComputeDriver:
    """The loop: each round, every registered scheduler does one step, then queued
    computations of other contexts run; with nothing to do it sleeps until woken."""

    def __init__(self) -> None:
        self._schedulers: list[Steppable] = []
        self._calls: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = (
            queue.SimpleQueue()
        )
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="ember-compute", daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def add(self, scheduler: Steppable) -> None:
        with self._lock:
            self._schedulers.append(scheduler)
        self.wake()

    def remove(self, scheduler: Steppable) -> None:
        with self._lock:
            if scheduler in self._schedulers:
                self._schedulers.remove(scheduler)

    def wake(self) -> None:
        self._wake.set()

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` on the compute thread; the caller waits for its result."""
        if threading.current_thread() is self._thread:
            return fn()
        future: Future[object] = Future()
        self._calls.put((fn, future))
        self.wake()
        return future.result()  # type: ignore[return-value]

    def _loop(self) -> None:
        while True:
            self._wake.clear()
            busy = False
            with self._lock:
                schedulers = list(self._schedulers)
            for scheduler in schedulers:
                try:
                    busy = scheduler.tick() or busy
                except Exception:  # one model's failure must not stop the others
                    log.exception("a scheduler step failed")
            while True:
                try:
                    fn, future = self._calls.get_nowait()
                except queue.Empty:
                    break
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        future.set_exception(exc)
            if not busy:
                self._wake.wait()


_lock = threading.Lock()
_driver: ComputeDriver | None = None


def driver() -> ComputeDriver:
    """The process's compute loop, started on first use. Process-wide on purpose: the
    OpenMP teams it keeps down to one are process-wide too."""
    global _driver
    with _lock:
        if _driver is None:
            _driver = ComputeDriver()
        return _driver


def compute(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` run on the compute thread (at once when called there)."""
    return driver().call(lambda: fn(*args))
