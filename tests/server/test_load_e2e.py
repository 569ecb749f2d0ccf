"""The load test against a real server with SmolLM2: 32 users streaming at once for a
bounded time (4 s of new questions), a third of the streams dropped at random. No 5xx,
nothing lost (the stored conversations hold what each client saw), every slot free at
the end. Then the same through a front end whose one worker is that server: the streams
the users drop are dropped on the worker too, and its slots end free."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.bench.load import run_load
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    runtime = build(load_settings(home=tmp_path_factory.mktemp("load"), default_model=MODEL))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as base:
        yield base
    runtime.close()


@pytest.fixture(scope="module")
def front_url(tmp_path_factory: pytest.TempPathFactory, url: str) -> Iterator[str]:
    remotes = [{"name": "w1", "base_url": url, "worker": True}]
    home = tmp_path_factory.mktemp("load-front")
    runtime = build(load_settings(home=home, default_model=MODEL, preload=False, remotes=remotes))
    with serving(runtime) as base:
        yield base
    runtime.close()


@pytest.mark.parametrize("target", ["url", "front_url"])
def test_32_streaming_users_with_a_third_hanging_up_lose_nothing(
    target: str, request: pytest.FixtureRequest
) -> None:
    base = request.getfixturevalue(target)
    report = asyncio.run(
        run_load(base, model=MODEL, users=32, seconds=4, hang_up_share=1 / 3, max_tokens=16)
    )
    summary = report.to_dict()
    assert report.server_errors == 0, summary
    assert report.lost == [], summary
    assert report.busy_slots_after == 0, summary
    assert report.answers >= 32, summary
    assert 0 < report.hung_up < report.answers, summary
    assert set(report.statuses) == {200}, summary
