"""Scale-out end to end: a front Ember with no model of its own and two Ember workers,
each a separate process on a loopback port serving SmolLM2. Requests spread over the
workers; a conversation sticks to its worker (its cache-hit counter grows, the other's
does not); a worker killed while it streams leaves that answer incomplete and the next
ones go to the other worker without an error, which continues the conversation from the
KV state the dead worker saved in the directory both share."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.chat.workers import reported_load
from ember.config import load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import free_port, serving, wait_until_up

MODEL = "smollm2:135m"


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path
) -> Iterator[dict[str, tuple[str, subprocess.Popen[bytes]]]]:
    started: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    shared_kv = tmp_path_factory.mktemp("shared-kv")  # the volume both workers mount
    try:
        for name in ("w1", "w2"):
            home = tmp_path_factory.mktemp(name)
            runtime = build(load_settings(home=home))
            runtime.models.pull(str(smollm2_path), name=MODEL)
            runtime.close()
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "ember", "serve", "--port", str(port)],
                env={
                    **os.environ,
                    "EMBER_HOME": str(home),
                    "EMBER_DEFAULT_MODEL": MODEL,
                    "EMBER_KV_DIR": str(shared_kv),
                },
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started[name] = (f"http://127.0.0.1:{port}", process)
        for url, process in started.values():
            wait_until_up(url, process, "/health")
        yield started
    finally:
        for _, process in started.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory,
    workers: dict[str, tuple[str, subprocess.Popen[bytes]]],
) -> Iterator[tuple[str, Runtime]]:
    remotes = [{"name": n, "base_url": url, "worker": True} for n, (url, _) in workers.items()]
    runtime = build(
        load_settings(
            home=tmp_path_factory.mktemp("front"),
            remotes=remotes,
            default_model=MODEL,
            preload=False,
        )
    )
    with serving(runtime) as url:
        yield url, runtime
    runtime.close()


def metric(url: str, name: str, **labels: str) -> float:
    """A worker's counter from its /metrics (0 when not there yet)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if wanted else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def chat_requests(url: str) -> float:
    return metric(url, "ember_http_requests_total", route="/v1/chat/completions", status="200")


def test_the_workers_models_answer_by_their_plain_names(
    front: tuple[str, Runtime], workers: dict[str, Any]
) -> None:
    url, _ = front
    listed = {m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]}
    assert MODEL in listed
    assert {f"w1/{MODEL}", f"w2/{MODEL}"} <= listed
    state = httpx.get(f"{url}/ember/api/workers").json()["workers"]
    assert [(w["name"], w["healthy"]) for w in state] == [("w1", True), ("w2", True)]
    assert all(MODEL in w["models"] for w in state)


def test_requests_spread_over_the_workers(
    front: tuple[str, Runtime], workers: dict[str, tuple[str, Any]]
) -> None:
    url, _ = front
    before = {name: chat_requests(wurl) for name, (wurl, _) in workers.items()}
    for i in range(6):
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={
                "model": MODEL,
                "messages": [{"role": "user", "content": f"Question number {i}: say hi."}],
                "max_tokens": 4,
            },
            timeout=120,
        )
        assert response.status_code == 200, response.text
    served = {name: chat_requests(wurl) - before[name] for name, (wurl, _) in workers.items()}
    assert served["w1"] >= 2
    assert served["w2"] >= 2
    assert sum(served.values()) == 6


def _turn(client: httpx.Client, cid: str, content: str) -> dict[str, Any]:
    with client.stream(
        "POST", f"/ember/api/conversations/{cid}/messages", json={"content": content}
    ) as stream:
        stream.read()
    answer: dict[str, Any] = client.get(f"/ember/api/conversations/{cid}").json()["messages"][-1]
    return answer


def _wait_for_title(client: httpx.Client, cid: str, limit_s: float = 60.0) -> None:
    """The title is written in the background after the first answer, by whichever
    worker is least loaded then: wait for it so that it does not count as a cache hit
    of the conversation's turns on either worker."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if client.get(f"/ember/api/conversations/{cid}").json()["conversation"]["title"]:
            return
        time.sleep(0.2)


def test_a_conversation_sticks_to_its_worker_and_fails_over_when_it_dies(
    front: tuple[str, Runtime], workers: dict[str, tuple[str, subprocess.Popen[bytes]]]
) -> None:
    url, _ = front
    with httpx.Client(base_url=url, timeout=300) as client:
        cid = client.post(
            "/ember/api/conversations", json={"model": MODEL, "settings": {"max_tokens": 24}}
        ).json()["conversation"]["id"]
        first = _turn(client, cid, "Tell me one fact about the sea.")
        assert first["status"] == "complete", first
        _wait_for_title(client, cid)  # its request goes to the least loaded worker too
        home = first["meta"]["where"]
        other = "w2" if home == "w1" else "w1"
        home_url, home_process = workers[home]
        other_url, _ = workers[other]
        hits = {
            n: metric(u, "ember_cache_hit_tokens_total", model=MODEL)
            for n, (u, _) in workers.items()
        }
        for question in ("And one about rivers?", "And one about lakes?"):
            answer = _turn(client, cid, question)
            assert answer["status"] == "complete", answer
            assert answer["meta"]["where"] == home  # the same worker each turn
        assert metric(home_url, "ember_cache_hit_tokens_total", model=MODEL) > hits[home]
        assert metric(other_url, "ember_cache_hit_tokens_total", model=MODEL) == hits[other]

        # The conversation's worker dies while it streams a long answer.
        client.patch(f"/ember/api/conversations/{cid}", json={"settings": {"max_tokens": 3000}})
        deltas: list[str] = []
        with client.stream(
            "POST",
            f"/ember/api/conversations/{cid}/messages",
            json={"content": "Count from 1 to 3000, one number at a time: 1, 2, 3, ..."},
        ) as stream:
            name = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name == "delta":
                    deltas.append(json.loads(line[6:])["content"])
                    if len(deltas) == 3:  # early: a greedy path may still be short
                        os.kill(home_process.pid, signal.SIGKILL)
        assert len(deltas) >= 3, "the answer ended before its worker could be killed"
        broken = client.get(f"/ember/api/conversations/{cid}").json()["messages"][-1]
        assert broken["status"] == "incomplete", (broken["meta"], len(deltas), broken["content"])
        assert broken["content"]
        assert "".join(deltas).startswith(broken["content"][: len("".join(deltas))])

        # Nothing else is lost: the next turn and new requests go to the other worker,
        # which reads the conversation's KV state the dead one saved, not its history.
        client.patch(f"/ember/api/conversations/{cid}", json={"settings": {"max_tokens": 16}})
        restored = metric(other_url, "ember_kv_restored_total", model=MODEL)
        after = _turn(client, cid, "Say hi.")
        assert after["status"] == "complete", after
        assert after["meta"]["where"] == other
        assert metric(other_url, "ember_kv_restored_total", model=MODEL) == restored + 1
        for i in range(3):
            response = client.post(
                "/v1/chat/completions",
                json={
                    "model": MODEL,
                    "messages": [{"role": "user", "content": f"After the failure {i}."}],
                    "max_tokens": 4,
                },
            )
            assert response.status_code == 200, response.text
        state = {w["name"]: w for w in client.get("/ember/api/workers").json()["workers"]}
        assert state[home]["healthy"] is False
        assert state[other]["healthy"] is True


def test_reported_load_reads_the_known_servers_metrics() -> None:
    assert reported_load("ember_requests_in_flight 3.0\n") == 3.0
    assert reported_load('llamacpp:requests_processing{slot="0"} 1\n') == 1.0
    assert reported_load("vllm:num_requests_running 2\nvllm:num_requests_waiting 5\n") == 7.0
    assert reported_load("something_else 9\n") is None


def test_a_foreign_openai_server_is_a_worker_too(tmp_path: Path, smollm2_path: Path) -> None:
    """llama-cpp-python's own server (not Ember) as the only worker, the way a
    llama-server or vLLM would be configured: ``worker = true`` and its base URL."""
    from tests.server.conftest import llama_cpp_server

    with llama_cpp_server(smollm2_path, "tiny") as peer:
        runtime = build(
            load_settings(
                home=tmp_path,
                remotes=[{"name": "llama", "base_url": peer, "worker": True}],
                preload=False,
            )
        )
        with serving(runtime) as url:
            response = httpx.post(
                f"{url}/v1/chat/completions",
                json={
                    "model": "tiny",
                    "messages": [{"role": "user", "content": "Hi"}],
                    "max_tokens": 4,
                },
                timeout=120,
            )
            state = httpx.get(f"{url}/ember/api/workers").json()["workers"]
        runtime.close()
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]
    assert state[0]["name"] == "llama"
    assert state[0]["answered"] == 1
