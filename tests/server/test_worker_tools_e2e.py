"""Ember's tools through a worker: a front end with no model of its own and one Ember
worker serving the real Qwen2.5-Coder-0.5B. The front end learns from the worker that
its model knows tool calls, offers its tools to the page's conversation, runs the
calculator itself and answers with the exact product, computed on the worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import Runtime, build, knows_tools
from tests.server.conftest import serving
from tests.server.test_tools_documents_e2e import ask_the_product

MODEL = "qwen2.5-coder:0.5b"


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, link_starters: Callable[[Path], None]
) -> Iterator[tuple[httpx.Client, Runtime]]:
    worker_home = tmp_path_factory.mktemp("tools-worker")
    link_starters(worker_home)
    worker = build(load_settings(home=worker_home, context_length=4096))
    worker.models.ensure_starter_models()
    with serving(worker) as worker_url:
        runtime = build(
            load_settings(
                home=tmp_path_factory.mktemp("tools-front"),
                default_model=MODEL,
                preload=False,
                remotes=[{"name": "w1", "base_url": worker_url, "worker": True}],
            )
        )
        with serving(runtime) as url, httpx.Client(base_url=url, timeout=300) as client:
            yield client, runtime
        runtime.close()
    worker.close()


def test_the_front_end_offers_its_tools_to_a_workers_model(
    front: tuple[httpx.Client, Runtime],
) -> None:
    client, runtime = front
    assert client.get("/ember/api/workers").json()["workers"][0]["healthy"]
    assert knows_tools(runtime, MODEL)
    assert not runtime.models.installed()  # only the worker has it
    answer = ask_the_product(client)
    assert answer["meta"]["where"] == "w1"
