"""Signing in on the page when the server needs an API key (``auth = "always"``): the
page asks for the key once, the server keeps it in an HttpOnly cookie, and the page's
calls then work; the cookie is not taken on the OpenAI and Ollama API paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving
from tests.ui.conftest import EXPORT_FORMAT, MODEL, new_page


@pytest.fixture(scope="module")
def locked(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path
) -> Iterator[tuple[str, str]]:
    home = tmp_path_factory.mktemp("locked-home")
    runtime = build(load_settings(home=home, default_model=MODEL, auth="always"))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    _, secret = runtime.keys.create("page")
    with serving(runtime) as url:
        yield url, secret
    runtime.close()


def test_the_page_asks_for_the_key_and_then_works(browser: Any, locked: tuple[str, str]) -> None:
    url, secret = locked
    body = {
        "format": EXPORT_FORMAT,
        "conversation": {"title": "Lighthouse notes", "settings": {}},
        "messages": [{"id": "a", "parent_id": None, "role": "user", "content": "hello"}],
    }
    headers = {"Authorization": f"Bearer {secret}"}
    created = httpx.post(f"{url}/ember/api/conversations/import", json=body, headers=headers)
    assert created.status_code == 201
    ctx, page, errors = new_page(browser, url)
    try:
        page.goto("/")
        dialog = page.get_by_role("dialog", name="Sign in to Ember")
        expect(dialog).to_be_visible()
        page.get_by_label("API key").fill("ember-not-a-real-key")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#login-error")).to_contain_text("not an active API key")

        page.get_by_label("API key").fill(secret)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Lighthouse notes")).to_be_visible()
        expect(dialog).to_be_hidden()
        cookie = next(c for c in ctx.cookies() if c["name"] == "ember_key")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"

        page.get_by_role("button", name="Sign out").click()
        expect(dialog).to_be_visible()  # signed out: the page asks again
        assert not [c for c in ctx.cookies() if c["name"] == "ember_key"]
    finally:
        ctx.close()
    assert not [e for e in errors if "401" not in e]


def test_the_cookie_only_opens_the_pages_own_paths(locked: tuple[str, str]) -> None:
    url, secret = locked
    assert httpx.get(f"{url}/ember/api/conversations").status_code == 401
    signed = httpx.post(f"{url}/ember/api/login", json={"key": secret})
    assert signed.status_code == 200
    cookies = {"ember_key": signed.cookies["ember_key"]}
    assert httpx.get(f"{url}/ember/api/conversations", cookies=cookies).status_code == 200
    assert httpx.get(f"{url}/api/documents", cookies=cookies).status_code == 200
    assert httpx.get(f"{url}/v1/models", cookies=cookies).status_code == 401
    assert httpx.get(f"{url}/api/tags", cookies=cookies).status_code == 401
    out = httpx.post(f"{url}/ember/api/logout", cookies=cookies)
    assert "ember_key=" in out.headers["set-cookie"]
    assert httpx.post(f"{url}/ember/api/login", json={"key": "nope"}).status_code == 401
