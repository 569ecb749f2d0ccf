"""Accounts in a real browser: the page asks for a name and password, refuses a wrong
one, signs in, sends a message (its changes carry the CSRF token), shows only the user's
own conversations, and signs out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ember.chat.conversations import ConversationStore
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving
from tests.ui.conftest import MODEL, new_page, open_app, sync_api
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
    with page.expect_navigation():  # signed in, the page reloads: wait for the new one
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


def sign_in(page: Any, name: str, password: str = PASSWORD) -> None:
    open_app(page)
    dialog = page.get_by_role("dialog", name="Sign in to Ember")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Password").fill(password)
    with page.expect_navigation():  # the old page was ready too: wait for the reload
        dialog.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("html[data-ready='true']")


def test_an_admin_adds_an_account_and_its_user_makes_a_key(
    page: Any, browser: Any, base_url: str
) -> None:
    sign_in(page, "alice")
    page.get_by_role("button", name="Accounts").click()
    view = page.get_by_role("dialog", name="Accounts")
    expect(view.locator("tr.user-row")).to_have_count(2)
    expect(view.locator("tr.user-row[data-name='alice']")).to_contain_text("alice (you)")
    expect(
        view.locator("tr.user-row[data-name='alice']").get_by_role("button", name="Remove")
    ).to_have_count(0)
    view.get_by_label("Name").fill("carol")
    view.get_by_label("Password").fill("carol's password")
    view.get_by_role("button", name="Add").click()
    carol = view.locator("tr.user-row[data-name='carol']")
    expect(carol).to_be_visible()
    carol.get_by_label("Tokens per day for carol").fill("5000")
    carol.get_by_label("Tokens per day for carol").press("Tab")
    expect(page.locator(".toast.info")).to_contain_text("carol changed")

    # carol, in her own browser context, signs in and makes an API key
    context, other, errors = new_page(browser, base_url)
    sign_in(other, "carol", "carol's password")
    expect(other.get_by_role("button", name="Accounts")).to_be_hidden()  # not an admin
    other.get_by_role("button", name="Your account").click()
    mine = other.get_by_role("dialog", name="Your account")
    expect(mine).to_contain_text("Signed in as carol (user)")
    expect(mine).to_contain_text("No API keys yet.")
    mine.get_by_label("New key's name").fill("laptop")
    mine.get_by_role("button", name="Create key").click()
    secret = mine.locator("#key-secret")
    expect(secret).to_have_text(re.compile(r"^\S{20,}$"))
    expect(mine.locator("tr.api-key")).to_have_count(1)
    expect(mine.locator("tr.api-key")).to_contain_text("laptop")
    key = secret.inner_text()
    assert other.request.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).status == 200

    # carol changes her password; her page stays signed in and can still make changes
    mine.get_by_label("Current password").fill("carol's password")
    mine.get_by_label("New password", exact=True).fill("a better password")
    mine.get_by_label("New password again").fill("a better password")
    mine.get_by_role("button", name="Change password").click()
    expect(other.locator(".toast.info")).to_contain_text("Password changed")
    other.once("dialog", lambda d: d.accept())
    mine.locator("tr.api-key").get_by_role("button", name="Revoke").click()
    expect(mine).to_contain_text("No API keys yet.")
    context.close()
    assert errors == []

    # the admin removes carol
    page.once("dialog", lambda d: d.accept())
    carol.get_by_role("button", name="Remove").click()
    expect(view.locator("tr.user-row[data-name='carol']")).to_have_count(0)
