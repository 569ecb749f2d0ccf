"""The ``tools_failed`` signal end to end: the local model (SmolLM2, Ember's tools on
for API clients) cannot compute "9 / 0" with any tool; a second Ember on another
loopback port is the cloud. Under ``auto`` the cloud model answers instead, with the same
tools; under ``ask`` the local answer stands and offers the cloud (``meta.route.offer``);
under ``local-only`` nothing leaves and nothing is offered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.chat.egress_log import EgressLog
from ember.config import load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import serving
from tests.server.test_cloud_e2e import CLOUD_MODEL, MODEL, Recorder, serve_with_policy_keys

QUESTION = "What is 9 / 0?"


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder(None)


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path, recorder: Recorder
) -> Iterator[tuple[str, Runtime, dict[str, str]]]:
    cloud = build(load_settings(home=tmp_path_factory.mktemp("tf-cloud")))
    cloud.models.pull(str(smollm2_path), name=MODEL)

    def wrap(app: Any) -> Any:
        recorder.app = app
        return recorder

    with serving(cloud, wrap=wrap) as cloud_url:
        settings = load_settings(
            home=tmp_path_factory.mktemp("tf-front"),
            remotes=[{"name": "cloudy", "base_url": cloud_url, "cloud": True}],
            cloud_model=CLOUD_MODEL,
            api_tools=True,
            auth="always",
            default_model=MODEL,
            preload=False,
        )
        yield from serve_with_policy_keys(settings, smollm2_path)
    cloud.close()


def ask(front: tuple[str, Runtime, dict[str, str]], policy: str) -> dict[str, Any]:
    url, _, keys = front
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 24,
            "temperature": 0,
        },
        headers={"Authorization": f"Bearer {keys[policy]}"},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_local_only_keeps_a_failed_tool_loop_local_without_an_offer(
    front: tuple[str, Runtime, dict[str, str]], recorder: Recorder
) -> None:
    answer = ask(front, "local-only")
    assert answer["choices"][0]["message"]["content"]
    assert "route" not in answer.get("meta", {})
    assert recorder.bodies == []


def test_ask_offers_the_cloud_under_the_local_answer(
    front: tuple[str, Runtime, dict[str, str]], recorder: Recorder
) -> None:
    answer = ask(front, "ask")
    route = answer["meta"]["route"]
    assert route["target"] == "local"
    assert route["offer"]["model"] == CLOUD_MODEL
    assert route["offer"]["reason"].startswith("the local model did not manage the tools")
    assert answer["choices"][0]["message"]["content"]
    assert recorder.bodies == []


def test_auto_sends_a_failed_tool_loop_to_the_cloud_with_the_same_tools(
    front: tuple[str, Runtime, dict[str, str]], recorder: Recorder
) -> None:
    answer = ask(front, "auto")
    route = answer["meta"]["route"]
    assert route["target"] == "cloud"
    assert route["model"] == CLOUD_MODEL
    assert route["reason"].startswith("the local model did not manage the tools (")
    assert recorder.bodies, "the cloud received nothing"
    first = json.loads(recorder.bodies[0])
    assert first["messages"][-1]["content"] == QUESTION  # asked afresh
    assert {t["function"]["name"] for t in first["tools"]} >= {"calculator"}
    _, runtime, _ = front
    entries = EgressLog(runtime.db).entries(provider="cloudy")
    assert len(entries) == len(recorder.bodies)
    assert {e.reason for e in entries} == {route["reason"]}
