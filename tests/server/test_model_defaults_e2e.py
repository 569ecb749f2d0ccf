"""A model pulled with an Ollama manifest (system prompt and parameters) answers with
them through every front end: /v1/chat/completions, /api/chat, /api/generate, the web
chat and ``ember run`` — unless the request says otherwise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.hubs.ollama_registry import ollama_registry
from tests.server.conftest import serving

PLAIN = "smollm2:135m"
STYLED = "styled:test"  # the same file, with a manifest's system prompt and num_predict
SYSTEM = "You are a terse assistant. Answer in one short sentence."
QUESTION = "Tell me about the sea."


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    home = tmp_path_factory.mktemp("defaults-home")
    with ollama_registry() as (registry, state):
        state.add_model(
            "library/styled",
            "test",
            smollm2_path.read_bytes(),
            system=SYSTEM,
            params={"num_predict": 3, "temperature": 0},
        )
        runtime = build(load_settings(home=home, ollama_registry=registry))
        runtime.models.pull(STYLED)
        runtime.models.pull(str(smollm2_path), name=PLAIN)
        runtime.close()
    return home


@pytest.fixture(scope="module")
def url(home: Path) -> Iterator[str]:
    runtime = build(load_settings(home=home))
    with serving(runtime) as base:
        yield base
    runtime.close()


def openai_chat(client: httpx.Client, model: str, **extra: Any) -> dict[str, Any]:
    messages = extra.pop("messages", [{"role": "user", "content": QUESTION}])
    response = client.post(
        "/v1/chat/completions", json={"model": model, "messages": messages, **extra}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_openai_api_applies_the_stored_system_prompt_and_parameters(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        styled = openai_chat(client, STYLED)
        explicit = openai_chat(
            client,
            PLAIN,
            max_tokens=3,
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": QUESTION},
            ],
        )
        own = openai_chat(client, STYLED, max_tokens=12)
    assert styled["usage"]["completion_tokens"] <= 3
    # The stored system prompt replaced the template's default one: the prompt is the
    # same as the plain model's with that system message written out.
    assert styled["usage"]["prompt_tokens"] == explicit["usage"]["prompt_tokens"]
    assert own["usage"]["completion_tokens"] > 3  # the request's max_tokens wins


def test_the_ollama_api_applies_them_to_chat_and_generate(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        chat = client.post(
            "/api/chat",
            json={
                "model": STYLED,
                "messages": [{"role": "user", "content": QUESTION}],
                "stream": False,
            },
        ).json()
        generated = client.post(
            "/api/generate", json={"model": STYLED, "prompt": QUESTION, "stream": False}
        ).json()
        plain = client.post(
            "/api/generate",
            json={"model": PLAIN, "prompt": QUESTION, "system": SYSTEM, "stream": False},
        ).json()
    assert chat["eval_count"] <= 3
    assert generated["eval_count"] <= 3
    assert generated["prompt_eval_count"] == plain["prompt_eval_count"]


def test_the_web_chat_applies_them(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        cid = client.post("/ember/api/conversations", json={"model": STYLED}).json()[
            "conversation"
        ]["id"]
        with client.stream(
            "POST", f"/ember/api/conversations/{cid}/messages", json={"content": QUESTION}
        ) as stream:
            stream.read()
        answer = client.get(f"/ember/api/conversations/{cid}").json()["messages"][-1]
    assert answer["status"] == "complete"
    assert answer["meta"]["completion_tokens"] <= 3


def test_ember_run_applies_them(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ember", "run", STYLED, QUESTION, "--stats"],
        env={**os.environ, "EMBER_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    stats = re.search(r"(\d+) generated", done.stderr)
    assert stats is not None, done.stderr
    assert int(stats.group(1)) <= 3
