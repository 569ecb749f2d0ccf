"""Placing requests on workers: the pure choice, and the load read from each worker's
metrics (served here by httpx's mock transport; the scale-out e2e runs real workers)."""

from __future__ import annotations

import asyncio
import json

import httpx

from ember.chat.remote import OpenAICompatBackend
from ember.chat.workers import LOAD_TTL_S, WorkerPool, WorkerState, choose_worker
from ember.config import RemoteConfig

MODEL = "m"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def worker(name: str, **state: object) -> WorkerState:
    config = RemoteConfig.from_dict(
        {"name": name, "base_url": f"http://{name}.test:8000/v1", "worker": True}
    )
    return WorkerState(OpenAICompatBackend(config), models=frozenset({MODEL}), **state)  # type: ignore[arg-type]


def names(order: list[WorkerState]) -> list[str]:
    return [w.name for w in order]


def reported(w: WorkerState, load: float, at: float) -> WorkerState:
    w.note_report(load, at)
    return w


def test_the_least_loaded_worker_comes_first_counting_other_front_ends() -> None:
    busy = reported(worker("busy"), 6.0, at=99.0)  # other front ends send to it
    quiet = reported(worker("quiet", in_flight=1), 1.0, at=99.0)  # only ours
    assert (busy.load(100.0), quiet.load(100.0)) == (6.0, 1.0)
    assert names(choose_worker([busy, quiet], MODEL, None, now=100.0)) == ["quiet", "busy"]


def test_own_requests_count_at_once_and_an_old_report_counts_for_nothing() -> None:
    stale = reported(worker("stale"), 9.0, at=100.0 - 3 * LOAD_TTL_S)
    ours = reported(worker("ours"), 0.0, at=99.9)
    ours.in_flight = 2  # sent since the report
    done = reported(worker("done", in_flight=1), 1.0, at=99.9)
    done.in_flight = 0  # finished since the report: not counted twice
    assert (stale.load(100.0), ours.load(100.0), done.load(100.0)) == (0.0, 2.0, 0.0)
    assert names(choose_worker([ours, stale], MODEL, None, now=100.0)) == ["stale", "ours"]


def test_affinity_wins_over_load_and_down_workers_go_last() -> None:
    home = reported(worker("home"), 5.0, at=99.0)
    idle = worker("idle")
    down = worker("down", down_until=105.0)
    assert names(choose_worker([down, idle, home], MODEL, "home", now=100.0)) == [
        "home",
        "idle",
        "down",
    ]
    assert names(choose_worker([down, idle, home], MODEL, "down", now=100.0)) == [
        "idle",
        "home",
        "down",
    ]
    assert choose_worker([home], "other-model", None, now=100.0) == []


def test_the_pool_reads_each_kind_of_servers_metrics() -> None:
    pages = {
        "ember.test": "# HELP ember_requests_in_flight x\nember_requests_in_flight 3.0\n",
        "llama.test": 'llamacpp:requests_processing 2\nllamacpp:requests_deferred{a="b"} 1\n',
        "vllm.test": "vllm:num_requests_running 1.0\nvllm:num_requests_waiting 4.0\n",
    }
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        text = pages.get(request.url.host)
        return httpx.Response(200, text=text) if text else httpx.Response(404)

    clock = Clock()
    workers = [worker(n) for n in ("ember", "llama", "vllm", "ollama")]
    workers.append(worker("gone", down_until=clock.now + 5))
    pool = WorkerPool(workers, clock=clock, transport=httpx.MockTransport(answer))
    asyncio.run(pool.refresh_load())
    assert {w.name: w.reported for w in workers} == {
        "ember": 3.0,
        "llama": 3.0,
        "vllm": 5.0,
        "ollama": None,  # no metrics: placed by this front end's own counts
        "gone": None,  # down: not asked
    }
    assert "http://ember.test:8000/metrics" in asked
    assert not any("gone" in url for url in asked)
    status = {row["name"]: row["load"] for row in pool.status()}
    assert status["vllm"] == 5.0


def test_the_pool_learns_which_workers_models_know_tools() -> None:
    """An Ember or Ollama worker says so in /api/show; a server without it (vLLM,
    llama-server) says nothing, and its models are taken not to know tools."""
    shows: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        if path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "qwen"}, {"id": "smol"}]})
        if path == "/api/show" and host == "ember.test":
            model = json.loads(request.content)["model"]
            shows.append(model)
            capabilities = ["completion", "tools"] if model == "qwen" else ["completion"]
            return httpx.Response(200, json={"capabilities": capabilities})
        return httpx.Response(404, json={"error": "not found"})

    transport = httpx.MockTransport(answer)

    def with_transport(name: str) -> WorkerState:
        config = RemoteConfig.from_dict(
            {"name": name, "base_url": f"http://{name}.test:8000/v1", "worker": True}
        )
        return WorkerState(OpenAICompatBackend(config, transport=transport))

    pool = WorkerPool([with_transport("ember"), with_transport("vllm")], transport=transport)
    asyncio.run(pool.refresh())
    assert pool.knows_tools("qwen")
    assert pool.knows_tools("ember/qwen")
    assert not pool.knows_tools("vllm/qwen")
    assert not pool.knows_tools("smol")
    assert sorted(shows) == ["qwen", "smol"]
    asyncio.run(pool.refresh(force=True))
    assert sorted(shows) == ["qwen", "smol"]  # asked once per model


def test_closing_the_pool_stops_a_reading_under_way() -> None:
    gate = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await gate.wait()  # never set: the reading is still under way at close
        return httpx.Response(200, text="ember_requests_in_flight 1\n")

    async def go() -> bool:
        pool = WorkerPool([worker("slow")], transport=httpx.MockTransport(slow))
        pool._read_load_soon()
        reading = pool._reading
        assert reading is not None
        await asyncio.sleep(0)
        await pool.aclose()
        return reading.done()

    assert asyncio.run(go())
