"""Operational behaviour against a real server: /metrics, a 16-client load with
disconnects, the bounded queue (503 + Retry-After), body limits (413) and CORS."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"


def server(tmp_path: Path, smollm2_path: Path, **settings: object) -> Iterator[str]:
    runtime = build(load_settings(home=tmp_path / "home", **settings))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    yield from server(tmp_path_factory.mktemp("ops"), smollm2_path)


def scrape(base_url: str) -> dict[str, float]:
    """Every sample of /metrics as 'name{label=value,...}' -> value."""
    text = httpx.get(f"{base_url}/metrics").text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def wait_until_idle(base_url: str) -> dict[str, float]:
    deadline = time.monotonic() + 60
    while True:
        metrics = scrape(base_url)
        busy = metrics.get(f"ember_slots_busy{{model={MODEL}}}", 0)
        queued = metrics.get(f"ember_queue_depth{{model={MODEL}}}", 0)
        if (busy == 0 and queued == 0) or time.monotonic() > deadline:
            return metrics
        time.sleep(0.1)


def chat_body(i: int, stream: bool = True) -> dict[str, object]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"Count from {i} to {i + 30}."}],
        "max_tokens": 40,
        "temperature": 0,
        "stream": stream,
    }


async def one_client(client: httpx.AsyncClient, i: int, disconnect: bool) -> tuple[int, str]:
    """A streaming client; a disconnecting one leaves after two chunks."""
    async with client.stream("POST", "/v1/chat/completions", json=chat_body(i)) as response:
        chunks = 0
        text = ""
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunks += 1
            delta = json.loads(line[6:])["choices"]
            if delta:
                text += delta[0]["delta"].get("content") or ""
            if disconnect and chunks >= 2:
                return response.status_code, "left"
        return response.status_code, text


def test_sixteen_clients_a_quarter_disconnecting_leave_every_slot_free(base_url: str) -> None:
    async def run() -> list[tuple[int, str]]:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            return await asyncio.gather(
                *(one_client(client, i, disconnect=i % 4 == 0) for i in range(16))
            )

    results = asyncio.run(run())
    assert all(status == 200 for status, _ in results)
    finished = [text for i, (_, text) in enumerate(results) if i % 4 != 0]
    assert len(finished) == 12
    assert all(text for text in finished)
    metrics = wait_until_idle(base_url)
    assert metrics[f"ember_slots_busy{{model={MODEL}}}"] == 0
    assert metrics[f"ember_queue_depth{{model={MODEL}}}"] == 0
    assert metrics[f"ember_slots_total{{model={MODEL}}}"] >= 1
    assert metrics["ember_requests_in_flight{}"] == 0
    assert metrics[f"ember_completion_tokens_total{{model={MODEL}}}"] >= 12
    assert metrics[f"ember_time_to_first_token_seconds_count{{model={MODEL}}}"] >= 12
    assert metrics["ember_http_requests_total{route=/v1/chat/completions,status=200}"] >= 16
    assert not any(k.startswith("ember_http_requests_total") and "status=500" in k for k in metrics)


def test_metrics_is_prometheus_text(base_url: str) -> None:
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE ember_time_to_first_token_seconds histogram" in response.text


def test_cors_is_off_by_default(base_url: str) -> None:
    preflight = httpx.options(
        f"{base_url}/v1/models",
        headers={"Origin": "http://elsewhere.test", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_full_queue_answers_503_with_retry_after_and_big_bodies_413(
    tmp_path: Path, smollm2_path: Path
) -> None:
    urls = server(
        tmp_path,
        smollm2_path,
        max_pending_requests=1,
        max_body_mb=0.01,
        cors_origins=["http://allowed.test"],
    )
    base_url = next(urls)
    # The request that fills the queue must still run when the next ones arrive, however
    # fast the CPU: an answer thousands of tokens long, left once the checks are done.
    occupying = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Count from 1 to 5000: 1, 2, 3, ..."}],
        "max_tokens": 4000,
        "temperature": 0,
        "stream": True,
    }
    try:
        with (
            httpx.Client(base_url=base_url, timeout=60) as client,
            client.stream("POST", "/v1/chat/completions", json=occupying) as first,
        ):
            assert first.status_code == 200
            busy = client.post("/v1/chat/completions", json=chat_body(2, stream=False))
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == "2"
            assert busy.json()["error"]["code"] == "server_busy"
            busy_ollama = client.post("/api/chat", json={"model": MODEL, "messages": []})
            assert busy_ollama.status_code == 503
            assert "busy" in busy_ollama.json()["error"]
            assert client.get("/v1/models").status_code == 200  # only generation is queued
            assert any(line.startswith("data: {") for line in first.iter_lines())
        # Leaving the stream closed it: the server cancels that answer and frees its place.
        deadline = time.monotonic() + 60
        while scrape(base_url)["ember_requests_in_flight{}"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scrape(base_url)["ember_requests_in_flight{}"] == 0
        big = {"model": MODEL, "prompt": "x" * 20_000}
        too_large = httpx.post(f"{base_url}/v1/completions", json=big)
        assert too_large.status_code == 413
        assert too_large.json()["error"]["code"] == "request_too_large"
        too_large_ollama = httpx.post(f"{base_url}/api/generate", json=big)
        assert too_large_ollama.status_code == 413
        assert "at most" in too_large_ollama.json()["error"]

        def chunked() -> Iterator[bytes]:
            yield json.dumps(big).encode()

        streamed_body = httpx.post(f"{base_url}/api/generate", content=chunked())
        assert streamed_body.status_code == 413
        assert scrape(base_url)["ember_requests_rejected_total{}"] == 2
        preflight = httpx.options(
            f"{base_url}/v1/chat/completions",
            headers={"Origin": "http://allowed.test", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == "http://allowed.test"
    finally:
        for _ in urls:
            pass
