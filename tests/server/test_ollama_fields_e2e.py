"""Ollama fields the adapters accept are honoured by the routes: logprobs on /api/chat and
/api/generate (streamed and not), ``dimensions`` on /api/embed, and Ollama's own
``parameter_size`` format in /api/tags."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[httpx.Client]:
    runtime = build(load_settings(home=tmp_path_factory.mktemp("ollama-fields")))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url, httpx.Client(base_url=url, timeout=120) as http:
        yield http
    runtime.close()


def test_chat_returns_logprobs_when_asked_streamed_or_not(client: httpx.Client) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello."}],
        "options": {"num_predict": 6, "temperature": 0},
        "logprobs": True,
        "top_logprobs": 2,
    }
    whole = client.post("/api/chat", json={**body, "stream": False}).json()
    tokens = whole["logprobs"]
    assert len(tokens) == whole["eval_count"]
    assert "".join(t["token"] for t in tokens) == whole["message"]["content"]
    assert all(t["logprob"] <= 0 and len(t["top_logprobs"]) == 2 for t in tokens)
    plain = client.post("/api/chat", json={**body, "stream": False, "logprobs": False}).json()
    assert "logprobs" not in plain


def test_generate_returns_logprobs_streamed_and_whole(client: httpx.Client) -> None:
    body = {
        "model": MODEL,
        "prompt": "Name a colour.",
        "options": {"num_predict": 6, "temperature": 0},
        "logprobs": True,
    }
    whole = client.post("/api/generate", json={**body, "stream": False}).json()
    assert "".join(t["token"] for t in whole["logprobs"]) == whole["response"]
    streamed_text, streamed_tokens = "", []
    with client.stream("POST", "/api/generate", json={**body, "stream": True}) as response:
        for line in response.iter_lines():
            if line:
                part = json.loads(line)
                streamed_text += part.get("response", "")
                streamed_tokens += [t["token"] for t in part.get("logprobs", [])]
    assert streamed_tokens
    assert "".join(streamed_tokens) == streamed_text


def test_embed_honours_dimensions(client: httpx.Client) -> None:
    full = client.post("/api/embed", json={"model": MODEL, "input": "hello"}).json()
    short = client.post(
        "/api/embed", json={"model": MODEL, "input": "hello", "dimensions": 64}
    ).json()
    (vector,) = short["embeddings"]
    assert len(vector) == 64 < len(full["embeddings"][0])
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-4)
    bad = client.post("/api/embed", json={"model": MODEL, "input": "hi", "dimensions": 0})
    assert bad.status_code == 400


def test_tags_use_ollamas_parameter_size_format(client: httpx.Client) -> None:
    (model,) = client.get("/api/tags").json()["models"]
    size = model["details"]["parameter_size"]
    assert size.endswith("M")
    assert "." in size  # Ollama writes 134.52M, not 135M
