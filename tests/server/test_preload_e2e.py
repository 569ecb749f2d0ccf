"""A server loads its default model at start and computes the start every new
conversation shares; after a restart that start comes back from disk (real SmolLM2,
real servers)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from ember.config import load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import serving
from tests.server.test_chat_api_e2e import new_conversation, send

MODEL = "smollm2:135m"


def scheduler_of(runtime: Runtime) -> Any:
    loaded = runtime.engines.loaded()
    return loaded[0].engine.scheduler if loaded else None  # type: ignore[attr-defined]


def wait_until_warm(runtime: Runtime) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        scheduler = scheduler_of(runtime)
        if scheduler is not None and scheduler.stats.steps >= 1:
            return scheduler
        time.sleep(0.1)
    raise AssertionError("the default model was not preloaded")


def saved_states(home: Path) -> list[Path]:
    return [p for p in (home / "kv").rglob("*") if p.is_file()]


def test_the_default_model_is_ready_and_its_shared_start_survives_a_restart(
    tmp_path: Path, smollm2_path: Path
) -> None:
    settings = load_settings(home=tmp_path / "home", default_model=MODEL)
    first = build(settings)
    first.models.pull(str(smollm2_path), name=MODEL)
    try:
        with serving(first) as url:
            scheduler = wait_until_warm(first)  # before any message was sent
            assert scheduler.stats.restored_from_disk == 0
            deadline = time.monotonic() + 60
            while not saved_states(settings.home) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert saved_states(settings.home)
            with httpx.Client(base_url=url, timeout=120) as client:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # the warm-up's last step is async
                    listed = client.get("/ember/api/models").json()["models"]
                    if [m["loading"] for m in listed if m["name"] == MODEL] == [False]:
                        break
                    time.sleep(0.1)
                assert [m["loading"] for m in listed if m["name"] == MODEL] == [False]
                cid = new_conversation(client, settings={"temperature": 0, "max_tokens": 8})
                events = send(client, f"/ember/api/conversations/{cid}/messages", {"content": "Hi"})
                done = events[-1][1]["message"]
                assert done["status"] == "complete"
                assert done["meta"]["cached_tokens"] > 0  # the shared start, computed already
    finally:
        first.close()

    second = build(load_settings(home=tmp_path / "home", default_model=MODEL))
    try:
        with serving(second):
            scheduler = wait_until_warm(second)
            assert scheduler.stats.restored_from_disk == 1  # read back, not computed again
    finally:
        second.close()
