"""A real Ember server with SmolLM2 (installed twice, under two names) and Debian's
Chromium driven by Playwright, shared by the web UI tests of a module."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright import sync_api

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MODEL = "smollm2:135m"
OTHER_MODEL = "smollm2:copy"
EXPORT_FORMAT = "ember.conversation.v1"

if not Path(CHROMIUM).exists() and os.environ.get("CI"):
    pytest.fail(
        "Debian's chromium is missing; scripts/check installs it (apt-get install chromium)",
        pytrace=False,
    )
if not Path(CHROMIUM).exists():
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

sync_api.expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    home = tmp_path_factory.mktemp("ui-home")
    runtime = build(load_settings(home=home, default_model=MODEL))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    runtime.models.pull(str(smollm2_path), name=OTHER_MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


def new_page(browser: Any, base_url: str, **context: Any) -> tuple[Any, Any, list[str]]:
    """A fresh browser context (own localStorage) and page; page errors are collected."""
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}, "color_scheme": "light"}
    options.update(context)
    ctx = browser.new_context(base_url=base_url, **options)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return ctx, page, errors


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    ctx, page, errors = new_page(browser, base_url)
    yield page
    ctx.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def open_app(page: Any, path: str = "/") -> None:
    page.goto(path)
    page.wait_for_selector("html[data-ready='true']")


def import_conversation(
    base_url: str,
    messages: list[dict[str, Any]],
    *,
    title: str = "",
    settings: dict[str, Any] | None = None,
    model: str | None = None,
) -> str:
    """A conversation put straight into the server (no generation); returns its id."""
    body = {
        "format": EXPORT_FORMAT,
        "conversation": {"title": title, "model": model, "settings": settings or {}},
        "messages": messages,
    }
    response = httpx.post(f"{base_url}/ember/api/conversations/import", json=body)
    response.raise_for_status()
    return str(response.json()["conversation"]["id"])


def exchange(question: str, answer: str, **answer_fields: Any) -> list[dict[str, Any]]:
    """One user message and its answer, in the export's shape."""
    return [
        {"id": "u1", "parent_id": None, "role": "user", "content": question},
        {
            "id": "a1",
            "parent_id": "u1",
            "role": "assistant",
            "content": answer,
            "model": MODEL,
            **answer_fields,
        },
    ]
