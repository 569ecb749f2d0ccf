"""The web chat with the real Qwen2.5-Coder-0.5B and Ember's tools, in Chromium: a message
with two questions gets both answers in words, and the tool steps that found them are
shown once, collapsed, readable (UI_SCREENSHOTS=folder keeps the screenshot)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from ember.chat.plain_answer import not_an_answer
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving
from tests.ui.conftest import new_page, open_app

MODEL = "qwen2.5-coder:0.5b"
QUESTION = "How many r's are in the word strawberry? And what is 4821 * 37?"
SCREENSHOTS = os.environ.get("UI_SCREENSHOTS")


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, link_starters: Callable[[Path], None]
) -> Iterator[str]:
    home = tmp_path_factory.mktemp("ui-tools-home")
    link_starters(home)
    runtime = build(load_settings(home=home, default_model=MODEL, context_length=4096))
    runtime.models.ensure_starter_models()
    with serving(runtime) as url:
        yield url
    runtime.close()


def digits(text: str) -> str:
    return re.sub(r"(?<=\d)[,\s](?=\d{3})", "", text)


def test_two_questions_are_answered_in_words_with_the_steps_shown_once(
    browser: Any, base_url: str, tmp_path: Path
) -> None:
    ctx, page, errors = new_page(browser, base_url, reduced_motion="reduce")
    try:
        open_app(page)
        page.get_by_role("button", name="Chat settings").click()
        page.get_by_label("Temperature", exact=True).fill("0")
        page.get_by_role("button", name="Save").click()
        prompt = page.get_by_label("Message", exact=True)
        prompt.fill(QUESTION)
        prompt.press("Enter")
        stop = page.get_by_role("button", name="Stop generating")
        expect(stop).to_be_visible()
        expect(stop).to_be_hidden(timeout=300_000)
        answer = page.locator(".msg-assistant").last
        expect(answer.get_by_role("button", name="Copy answer")).to_be_visible()
        expect(page.locator(".msg-assistant")).to_have_count(1)
        text = answer.locator(".msg-body").inner_text()
        assert not not_an_answer(text), text
        assert "178377" in digits(text), text
        assert re.search(r"\b3\b|\bthree\b", text, re.IGNORECASE), text

        steps = page.locator(".tool-steps")
        expect(steps).to_have_count(1)
        expect(steps.locator("summary")).to_contain_text("count_letter")
        expect(steps.locator("summary")).to_contain_text("calculator")
        steps.locator("summary").click()
        calls = steps.locator(".tool-call").all_inner_texts()
        assert any(c.startswith('count_letter(text: "strawberry"') for c in calls), calls
        assert any("4821 * 37" in c for c in calls), calls
        outputs = steps.locator(".tool-output").all_inner_texts()
        assert "3" in outputs, outputs
        assert str(4821 * 37) in outputs, outputs
        assert not any('\\"' in c for c in calls), calls  # not JSON encoded twice
        expect(page.locator(".answer-tools")).to_have_count(1)  # metadata once, under it

        folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "desktop-light-tools.png"))
    finally:
        ctx.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
