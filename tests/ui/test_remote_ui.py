"""The web chat answers with a remote's model in a real browser: a second Ember on
loopback is this server's remote ``peer``; its model is in the picker as
``peer/smollm2:135m``, answers stream, and the answer says where it was computed."""

from __future__ import annotations

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
REMOTE_MODEL = f"peer/{MODEL}"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    peer = build(load_settings(home=tmp_path_factory.mktemp("ui-peer")))
    peer.models.pull(str(smollm2_path), name=MODEL)
    with serving(peer) as peer_url:
        front = build(
            load_settings(
                home=tmp_path_factory.mktemp("ui-front"),
                default_model=MODEL,
                remotes=[{"name": "peer", "base_url": peer_url}],
            )
        )
        front.models.pull(str(smollm2_path), name=MODEL)
        with serving(front) as url:
            yield url
        front.close()
    peer.close()


def test_a_remote_model_answers_in_the_web_chat(page: Any) -> None:
    open_app(page)
    picker = page.get_by_label("Model", exact=True)
    expect(picker.locator(f"option[value='{REMOTE_MODEL}']")).to_have_count(1)
    picker.select_option(REMOTE_MODEL)
    set_chat_settings(page, Max_tokens="24", Temperature="0")
    send(page, "Name three colours.")
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    assert answer.locator(".msg-body").text_content().strip()
    expect(answer.locator(".msg-meta")).to_contain_text(f"peer · {REMOTE_MODEL}")
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(picker).to_have_value(REMOTE_MODEL)
    expect(last_answer(page).locator(".msg-meta")).to_contain_text(f"peer · {REMOTE_MODEL}")
