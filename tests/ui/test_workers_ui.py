"""The workers in the web page: a front Ember whose only worker is a second Ember on
loopback. The sidebar's "Workers" lists it, up, with its models; an answer from the
page is computed there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving
from tests.ui.conftest import MODEL, open_app, sync_api
from tests.ui.test_web_ui import last_answer, send, set_chat_settings

expect = sync_api.expect


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    worker = build(load_settings(home=tmp_path_factory.mktemp("ui-worker")))
    worker.models.pull(str(smollm2_path), name=MODEL)
    with serving(worker) as worker_url:
        front = build(
            load_settings(
                home=tmp_path_factory.mktemp("ui-front-workers"),
                default_model=MODEL,
                preload=False,
                remotes=[{"name": "gpu1", "base_url": worker_url, "worker": True}],
            )
        )
        with serving(front) as url:
            yield url
        front.close()
    worker.close()


def test_the_workers_view_and_an_answer_from_a_worker(page: Any) -> None:
    open_app(page)
    set_chat_settings(page, Max_tokens="8", Temperature="0")
    send(page, "Say hi.")
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(answer.locator(".msg-meta")).to_contain_text("gpu1")

    page.get_by_role("button", name="Workers").click()
    view = page.locator("#workers")
    expect(view).to_be_visible()
    row = view.locator("tr.worker").first
    expect(row).to_contain_text("gpu1")
    expect(row).to_contain_text("up")
    expect(row).to_contain_text(MODEL)
    # The load the worker reports in its own metrics (an Ember has them; the page's
    # title for the conversation may still be running there): a count, not "–".
    expect(view.locator("th").nth(3)).to_have_text("Reported load")
    expect(row.locator("td").nth(3)).to_have_text(re.compile(r"^\d+$"))
