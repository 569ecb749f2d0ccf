"""Accounts in a real browser: the page asks for a name and password, refuses a wrong
one, signs in, sends a message (its changes carry the CSRF token), shows only the user's
own conversations, and signs out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ember.chat.conversations import ConversationStore
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving
from tests.ui.conftest import MODEL, open_app, sync_api
from tests.ui.test_web_ui import last_answer, send

expect = sync_api.expect
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    runtime = build(load_settings(home=tmp_path_factory.mktemp("ui-accounts"), default_model=MODEL))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    runtime.users.add("alice", PASSWORD)
    bob = runtime.users.add("bob", PASSWORD)
    ConversationStore(runtime.db).create(title="bob's private chat", user_id=bob.id)
    with serving(runtime) as url:
        yield url
    runtime.close()


def test_sign_in_chat_and_sign_out(page: Any) -> None:
    open_app(page)
    dialog = page.get_by_role("dialog", name="Sign in to Ember")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("API key")).to_be_hidden()
    dialog.get_by_label("Name").fill("alice")
    dialog.get_by_label("Password").fill("not the password")
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog.locator("#login-error")).to_contain_text("wrong name or password")

    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.get_by_role("dialog", name="Sign in to Ember")).to_be_hidden()
    expect(page.get_by_text("bob's private chat")).to_have_count(0)

    send(page, "Say hello.")
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(page.locator("#conv-list .conv-item")).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("dialog", name="Sign in to Ember")).to_be_visible()
