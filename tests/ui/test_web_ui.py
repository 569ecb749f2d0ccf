"""The chat page in a real browser (Debian's Chromium, headless) against a real server
and SmolLM2-135M: streaming, history, stop, edit and regenerate with branches, models,
a phone-width screen, answers that contain HTML, themes, and the conversation list."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import (
    MODEL,
    OTHER_MODEL,
    exchange,
    import_conversation,
    new_page,
    open_app,
    sync_api,
)

expect = sync_api.expect
LONG_PROMPT = "Write a very long story about a lighthouse keeper, with many chapters."
# Written by the page's own MutationObserver: every text the newest answer showed.
RECORD_STATES = """() => {
  window.__states = [];
  new MutationObserver(() => {
    const answers = document.querySelectorAll('.msg-assistant .msg-body');
    const last = answers[answers.length - 1];
    if (last) window.__states.push(last.textContent);
  }).observe(document.getElementById('messages'),
             {childList: true, subtree: true, characterData: true});
}"""
LAST_ANSWER_TEXT = """() => {
  const answers = document.querySelectorAll('.msg-assistant .msg-body');
  return answers.length ? answers[answers.length - 1].textContent : '';
}"""
SCREENSHOTS = os.environ.get("UI_SCREENSHOTS")  # a folder: keep the screenshots there


def prompt(page: Any) -> Any:
    return page.get_by_label("Message", exact=True)


def set_chat_settings(page: Any, **values: str) -> None:
    """Fill the settings panel (labels: 'Max tokens', 'Temperature', ...) and save."""
    page.get_by_role("button", name="Chat settings").click()
    for label, value in values.items():
        page.get_by_label(label.replace("_", " "), exact=True).fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-panel")).to_be_hidden()


def send(page: Any, text: str) -> None:
    prompt(page).fill(text)
    prompt(page).press("Enter")


def last_answer(page: Any) -> Any:
    return page.locator(".msg-assistant").last


def test_send_streams_and_history_survives_reload(page: Any) -> None:
    open_app(page)
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()
    set_chat_settings(page, Max_tokens="200", Temperature="0")  # long enough to stream
    page.evaluate(RECORD_STATES)
    question = "Name three colours of the rainbow and say one sentence about each."
    send(page, question)

    expect(page.locator(".msg-user .user-text")).to_have_text(question)
    expect(page.get_by_role("button", name="Stop generating")).to_be_visible()
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    final = answer.locator(".msg-body").text_content().strip()
    assert final
    states = [s.strip() for s in page.evaluate("window.__states")]
    distinct = [s for i, s in enumerate(states) if s and s not in states[:i]]
    assert len(distinct) >= 3, f"the answer did not stream: {distinct}"
    meta = answer.locator(".msg-meta")
    expect(meta).to_contain_text(f"local · {MODEL} · TTFT ")
    expect(meta).to_contain_text(re.compile(r"[\d.]+ tok/s"))
    assert re.search(r"#/c/\w+$", page.url)

    # The title is written by the model after the first answer; the page picks it up.
    expect(page.locator("#chat-title")).not_to_have_text(
        re.compile(r"^(New|Untitled) chat$"), timeout=60_000
    )
    title = page.locator("#chat-title").text_content()
    expect(page.locator(".conv-item.active .conv-title")).to_have_text(title)

    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.locator(".msg-user .user-text")).to_have_text(question)
    expect(last_answer(page)).to_have_attribute("data-status", "complete")
    assert last_answer(page).locator(".msg-body").text_content().strip() == final
    expect(page.locator("#chat-title")).to_have_text(title)


def test_stop_keeps_the_partial_answer(page: Any) -> None:
    open_app(page)
    set_chat_settings(page, Max_tokens="1500")
    send(page, LONG_PROMPT)
    streaming = last_answer(page).locator(".msg-body")
    expect(streaming).to_have_text(re.compile(r"\S[\s\S]{40,}"), timeout=60_000)
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "desktop-light-streaming.png"))
    page.keyboard.press("Escape")  # Esc stops, like the Stop button

    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "incomplete")
    expect(answer.locator(".badge")).to_have_text("incomplete")
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    seen = re.sub(r"\W", "", page.evaluate(LAST_ANSWER_TEXT))  # words, not Markdown marks

    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "incomplete", timeout=15_000)
    expect(answer.locator(".badge")).to_have_text("incomplete")
    saved = answer.locator(".msg-body").text_content()
    assert len(saved.strip()) >= 40
    assert re.sub(r"\W", "", saved)[:20] == seen[:20]
    expect(page.locator(".msg-user .user-text")).to_have_text(LONG_PROMPT)


def test_a_long_message_shows_how_far_it_has_been_read(page: Any) -> None:
    open_app(page)
    set_chat_settings(page, Max_tokens="8")
    words = " ".join(f"item{i}" for i in range(400))  # ~1.2k tokens: 3 steps of 512
    prompt(page).fill(f"Here is a list: {words}. Which item comes first?")
    prompt(page).press("Enter")
    reading = last_answer(page).locator(".reading")
    expect(reading).to_have_text(re.compile(r"^Reading your message… \d{1,2}%$"))
    expect(last_answer(page)).to_have_attribute("data-status", "complete", timeout=120_000)
    expect(last_answer(page).locator(".reading")).to_have_count(0)


def test_an_answer_outlives_a_reload_and_a_switch(page: Any) -> None:
    """Reloading the page 3 s into an answer used to leave it empty and incomplete: the
    answer goes on, and the page shows it growing, then finished."""
    open_app(page)
    set_chat_settings(page, Max_tokens="200")
    send(page, LONG_PROMPT)
    streaming = last_answer(page).locator(".msg-body")
    expect(streaming).to_have_text(re.compile(r"\S[\s\S]{20,}"), timeout=60_000)
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=120_000)
    expect(answer.locator(".badge-warn")).to_have_count(0)
    assert len(answer.locator(".msg-body").inner_text().strip()) > 20

    # A new chat while an answer is written leaves it running too.
    send(page, "Tell me one more long story about the sea.")
    expect(last_answer(page).locator(".msg-body")).to_have_text(
        re.compile(r"\S{3,}"), timeout=60_000
    )
    page.get_by_role("button", name="New chat").click()
    page.locator(".conv-item").first.click()
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=120_000)
    expect(page.locator(".msg-assistant")).to_have_count(2)


def test_an_answer_is_all_there_after_the_page_was_closed(browser: Any, base_url: str) -> None:
    """Closing the page mid-answer does not stop it: opened again later, the whole answer
    is there; opened while it is still written, the page follows it word by word."""
    ctx, page, errors = new_page(browser, base_url)
    open_app(page)
    set_chat_settings(page, Max_tokens="150")
    send(page, LONG_PROMPT)
    expect(last_answer(page).locator(".msg-body")).to_have_text(
        re.compile(r"\S[\s\S]{10,}"), timeout=60_000
    )
    cid = page.evaluate("location.hash").rsplit("/", 1)[-1]
    ctx.close()
    assert errors == []

    # Reopened at once: the answer is still being written, and the page follows it live.
    ctx, page, errors = new_page(browser, base_url)
    open_app(page, f"/#/c/{cid}")
    answer = last_answer(page)
    expect(answer.locator(".badge-live")).to_have_text("writing", timeout=15_000)
    expect(answer).to_have_attribute("data-status", "complete", timeout=120_000)
    shown = answer.locator(".msg-body").inner_text().strip()
    ctx.close()
    assert errors == []

    stored = httpx.get(f"{base_url}/ember/api/conversations/{cid}").json()["messages"][-1]
    assert stored["status"] == "complete"
    assert stored["meta"]["completion_tokens"] > 20
    # Reopened after the end: all of it, as stored.
    ctx, page, errors = new_page(browser, base_url)
    open_app(page, f"/#/c/{cid}")
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete")
    assert re.sub(r"\W", "", answer.locator(".msg-body").inner_text()) == re.sub(r"\W", "", shown)
    assert len(shown) > 60
    ctx.close()
    assert errors == []


def test_an_answer_at_its_length_limit_can_be_continued(page: Any) -> None:
    open_app(page)
    set_chat_settings(page, Max_tokens="10")
    send(page, LONG_PROMPT)
    answer = last_answer(page)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(answer.locator(".badge")).to_have_text("max tokens")
    before = answer.locator(".msg-body").inner_text().strip()
    answer.get_by_role("button", name="Continue").click()
    expect(answer.locator(".badge-live")).to_have_text("writing", timeout=15_000)
    expect(answer).to_have_attribute("data-status", "complete", timeout=60_000)
    after = answer.locator(".msg-body").inner_text().strip()
    assert after.startswith(before[:10])
    assert len(after) > len(before)
    expect(page.locator(".msg-assistant")).to_have_count(1)  # the same answer, longer


def test_an_answer_stopped_for_repeating_itself_says_so(page: Any, base_url: str) -> None:
    cid = import_conversation(
        base_url,
        exchange(
            "Sing me a song.",
            "Sure. la la land.",
            meta={"finish_reason": "repetition", "where": "local"},
        ),
    )
    open_app(page, f"/#/c/{cid}")
    badge = last_answer(page).locator(".badge")
    expect(badge).to_have_text("stopped: repeating itself")
    assert "kept writing the same words" in (badge.get_attribute("title") or "")


def test_edit_regenerate_and_siblings(page: Any, base_url: str) -> None:
    cid = import_conversation(
        base_url,
        exchange("Say hello.", "Hello there!"),
        title="Branches",
        settings={"max_tokens": 12, "temperature": 0},
    )
    open_app(page, f"/#/c/{cid}")
    user = page.locator(".msg-user")
    expect(user.locator(".user-text")).to_have_text("Say hello.")

    user.hover()
    user.get_by_role("button", name="Edit message").click()
    editor = page.get_by_label("Edit your message")
    editor.fill("Say goodbye.")
    editor.press("Enter")
    expect(user.locator(".user-text")).to_have_text("Say goodbye.")
    expect(user.locator(".sib-count")).to_have_text("2/2")
    expect(last_answer(page)).to_have_attribute("data-status", "complete")
    expect(page.get_by_role("button", name="Regenerate answer")).to_be_enabled()

    page.get_by_role("button", name="Previous message").click()
    expect(user.locator(".user-text")).to_have_text("Say hello.")
    expect(user.locator(".sib-count")).to_have_text("1/2")
    expect(last_answer(page).locator(".msg-body")).to_have_text("Hello there!")

    page.get_by_role("button", name="Regenerate answer").click()
    expect(last_answer(page).locator(".sib-count")).to_have_text("2/2")
    expect(last_answer(page)).to_have_attribute("data-status", "complete")
    regenerated = last_answer(page).locator(".msg-body").text_content()
    page.get_by_role("button", name="Previous answer").click()
    expect(last_answer(page).locator(".sib-count")).to_have_text("1/2")
    expect(last_answer(page).locator(".msg-body")).to_have_text("Hello there!")
    page.get_by_role("button", name="Next answer").click()
    expect(last_answer(page).locator(".sib-count")).to_have_text("2/2")
    expect(last_answer(page).locator(".msg-body")).to_have_text(regenerated)

    page.reload()  # the branch shown is kept on the server
    page.wait_for_selector("html[data-ready='true']")
    expect(user.locator(".user-text")).to_have_text("Say hello.")
    expect(last_answer(page).locator(".sib-count")).to_have_text("2/2")


def test_switch_models(page: Any) -> None:
    open_app(page)
    picker = page.get_by_label("Model", exact=True)
    options = picker.locator("option")
    expect(options).to_have_count(2)
    expect(picker).to_have_value(MODEL)
    picker.select_option(OTHER_MODEL)
    set_chat_settings(page, Max_tokens="8")
    send(page, "Hi")
    expect(last_answer(page)).to_have_attribute("data-status", "complete")
    expect(last_answer(page).locator(".msg-meta")).to_contain_text(f"local · {OTHER_MODEL} ·")

    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(picker).to_have_value(OTHER_MODEL)
    picker.select_option(MODEL)
    expect(page.locator(".toast")).to_contain_text(f"now uses {MODEL}")
    send(page, "Hello again")
    expect(page.locator(".msg-assistant")).to_have_count(2)
    expect(last_answer(page)).to_have_attribute("data-status", "complete")
    expect(last_answer(page).locator(".msg-meta")).to_contain_text(f"local · {MODEL} ·")
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(picker).to_have_value(MODEL)


RICH_ANSWER = """Here is a **summary** with a list, a table and some code:

1. First point, with `inline code`
2. Second point

| Model | Size | Speed |
|:------|-----:|:-----:|
| smollm2:135m | 135M | fast |
| a-much-longer-model-name:with-a-very-long-tag-indeed | 70B | slow |

```python
def fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b  # a long comment that goes well past the width of a phone screen
    return a
```
"""


def rich_conversation(base_url: str) -> str:
    meta = {"where": "local", "ttft_s": 0.182, "decode_tps": 57.4, "trimmed": 3}
    stopped = {"id": "a2", "parent_id": "u2", "role": "assistant", "status": "incomplete"}
    return import_conversation(
        base_url,
        [
            *exchange("Show me something with Markdown in it.", RICH_ANSWER, meta=meta),
            {"id": "u2", "parent_id": "a1", "role": "user", "content": "Now a haiku, please."},
            {**stopped, "content": "Lantern on the coast,\nwaves", "model": MODEL},
        ],
        title="Markdown showcase",
    )


def test_phone_width_is_usable(browser: Any, base_url: str) -> None:
    cid = rich_conversation(base_url)
    ctx, page, errors = new_page(browser, base_url, viewport={"width": 390, "height": 844})
    try:
        open_app(page, f"/#/c/{cid}")
        expect(page.locator(".codeblock")).to_be_visible()
        expect(prompt(page)).to_be_in_viewport()
        expect(page.get_by_role("button", name="Send message")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.body.scrollWidth") <= 390
        expect(page.locator("#sidebar")).to_be_hidden()

        page.get_by_role("button", name="Open conversation list").click()
        expect(page.locator("#sidebar")).to_be_visible()
        expect(page.get_by_role("button", name="Markdown showcase", exact=True)).to_be_visible()
        page.get_by_role("button", name="New chat", exact=True).click()
        expect(page.locator("#sidebar")).to_be_hidden()
        expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_role("button", name="Chat settings").click()
        expect(page.get_by_label("System prompt")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()
    assert errors == []


def test_html_in_answers_is_text_not_code(page: Any, base_url: str) -> None:
    payload = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
    cid = import_conversation(
        base_url,
        exchange('<img src=x onerror="window.__pwned=1">', payload),
        title="<b>not bold</b>",
    )
    open_app(page, f"/#/c/{cid}")
    body = last_answer(page).locator(".msg-body")
    expect(body).to_contain_text("<script>window.__pwned=1</script>")
    expect(body).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(page.locator(".msg-user .user-text")).to_have_text(
        '<img src=x onerror="window.__pwned=1">'
    )
    expect(page.locator("#chat-title")).to_have_text("<b>not bold</b>")
    expect(page.locator("#messages img, #messages script, #conv-list b")).to_have_count(0)
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_dark_mode_toggles_and_is_remembered(browser: Any, base_url: str) -> None:
    ctx, page, errors = new_page(browser, base_url, color_scheme="light")
    try:
        open_app(page)
        html = page.locator("html")
        expect(html).to_have_attribute("data-theme", "light")
        page.get_by_role("button", name="Switch to dark theme").click()
        expect(html).to_have_attribute("data-theme", "dark")
        page.reload()
        page.wait_for_selector("html[data-ready='true']")
        expect(html).to_have_attribute("data-theme", "dark")
        page.get_by_role("button", name="Switch to light theme").click()
        expect(html).to_have_attribute("data-theme", "light")
    finally:
        ctx.close()
    ctx, page, more = new_page(browser, base_url, color_scheme="dark")
    try:
        open_app(page)  # no choice stored: the system's preference
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    finally:
        ctx.close()
    assert errors + more == []


def test_search_rename_delete(page: Any, base_url: str) -> None:
    import_conversation(
        base_url,
        exchange("Tell me about the lighthouse.", "The keeper polished the lens every night."),
        title="Lighthouse notes",
    )
    open_app(page)
    page.get_by_label("Search conversations").fill("polished")
    item = page.locator(".conv-item", has_text="Lighthouse notes")
    expect(item.locator("mark")).to_have_text("polished")
    expect(page.locator(".conv-item")).to_have_count(1)
    item.get_by_role("button", name="Lighthouse notes", exact=True).click()
    expect(page.locator("#chat-title")).to_have_text("Lighthouse notes")

    page.get_by_label("Search conversations").fill("")
    item = page.locator(".conv-item.active")
    item.get_by_role("button", name="Rename “Lighthouse notes”").click()
    page.get_by_label("New title").fill("Keeper's log")
    page.get_by_label("New title").press("Enter")
    expect(page.locator(".conv-item.active .conv-title")).to_have_text("Keeper's log")
    expect(page.locator("#chat-title")).to_have_text("Keeper's log")

    page.locator(".conv-item.active").get_by_role("button", name="Delete “Keeper's log”").click()
    page.get_by_role("button", name="Confirm deleting “Keeper's log”").click()
    expect(page.get_by_role("button", name="Keeper's log")).to_have_count(0)
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()


def test_rename_survives_the_list_refreshing(page: Any, base_url: str) -> None:
    """The list reloads under a rename (a search cleared, an answer finishing): the edit goes on."""
    chat = exchange("Where is the ferry?", "At pier four.")
    import_conversation(base_url, chat, title="Ferry times")
    open_app(page)
    search = page.get_by_label("Search conversations")
    search.fill("ferry")
    expect(page.locator(".conv-item")).to_have_count(1)
    page.get_by_role("button", name="Ferry times", exact=True).click()
    expect(page.locator("#chat-title")).to_have_text("Ferry times")

    def list_reload(r: Any) -> bool:
        return bool(r.url.endswith("/conversations") and r.request.method == "GET")

    with page.expect_response(list_reload):
        search.fill("")  # the list reloads after a short pause, while the rename is open
        page.locator(".conv-item.active").get_by_role("button", name="Rename “Ferry times”").click()
    rename = page.get_by_label("New title")
    expect(rename).to_be_focused()
    rename.fill("Ferry timetable")
    rename.press("Enter")
    expect(page.get_by_role("button", name="Ferry timetable", exact=True)).to_be_visible()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(browser: Any, base_url: str, tmp_path: Path, theme: str) -> None:
    """The main screens, for people to look at (UI_SCREENSHOTS=folder keeps them)."""
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    cid = rich_conversation(base_url)
    for name, viewport in (("desktop", (1280, 860)), ("phone", (390, 844))):
        ctx, page, errors = new_page(
            browser,
            base_url,
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=theme,
            reduced_motion="reduce",
        )
        try:
            open_app(page)
            page.screenshot(path=str(folder / f"{name}-{theme}-welcome.png"))
            open_app(page, f"/#/c/{cid}")
            expect(page.locator(".codeblock")).to_be_visible()
            page.screenshot(path=str(folder / f"{name}-{theme}-chat.png"))
            page.get_by_role("button", name="Chat settings").click()
            page.screenshot(path=str(folder / f"{name}-{theme}-settings.png"))
            if name == "phone":
                page.get_by_role("button", name="Chat settings").click()
                page.get_by_role("button", name="Open conversation list").click()
                expect(page.locator("#sidebar")).to_be_visible()
                page.screenshot(path=str(folder / f"{name}-{theme}-drawer.png"))
        finally:
            ctx.close()
        assert errors == []


def test_copy_code_and_fit_verdict(browser: Any, base_url: str) -> None:
    cid = rich_conversation(base_url)
    ctx, page, errors = new_page(
        browser, base_url, permissions=["clipboard-read", "clipboard-write"]
    )

    def with_fit(route: Any) -> None:  # a fixed verdict: the real one depends on the machine
        data = route.fetch().json()
        for model in data["models"]:
            model["fit"] = {"verdict": "fits", "tokens_per_s": 61.2}
        route.fulfill(json=data)

    try:
        page.route("**/ember/api/models", with_fit)
        open_app(page, f"/#/c/{cid}")
        expect(page.locator("#fit-badge")).to_have_text("fits ~61 tok/s")
        expect(page.get_by_label("Model", exact=True).locator("option").first).to_contain_text(
            "fits ~61 tok/s"
        )
        copy = page.get_by_role("button", name="Copy code")
        copy.click()
        expect(page.locator(".copy-code")).to_have_text("Copied")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied.startswith("def fibonacci(n: int) -> int:")
        assert copied.rstrip().endswith("return a")
    finally:
        ctx.close()
    assert errors == []


def test_tool_steps_show_readable_arguments_and_their_results(page: Any, base_url: str) -> None:
    """A stored tool step: the call's arguments as a person reads them (not its JSON
    text encoded again), its result in a collapsed block, then the answer."""
    cid = import_conversation(
        base_url,
        [
            {
                "id": "u1",
                "parent_id": None,
                "role": "user",
                "content": "How many r's in strawberry?",
            },
            {
                "id": "a1",
                "parent_id": "u1",
                "role": "assistant",
                "content": "",
                "model": MODEL,
                "meta": {
                    "tool_calls": [
                        {
                            "id": "c1",
                            "name": "count_letter",
                            "arguments": '{"text": "strawberry", "letter": "r"}',
                        }
                    ]
                },
            },
            {
                "id": "t1",
                "parent_id": "a1",
                "role": "tool",
                "content": "3",
                "meta": {"tool_call_id": "c1", "name": "count_letter"},
            },
            {
                "id": "a2",
                "parent_id": "t1",
                "role": "assistant",
                "content": 'There are 3 "r"s in strawberry.',
                "model": MODEL,
            },
        ],
        title="Tools",
    )
    open_app(page, f"/#/c/{cid}")
    steps = page.locator(".tool-steps")
    expect(steps).to_have_count(1)
    expect(steps.locator("summary")).to_have_text("Used a tool: count_letter")
    step = steps.locator(".tool-step")
    expect(step).to_be_hidden()  # collapsed until opened
    steps.locator("summary").click()
    expect(step.locator(".tool-call")).to_have_text('count_letter(text: "strawberry", letter: "r")')
    expect(step.locator(".tool-output")).to_have_text("3")
    expect(last_answer(page).locator(".msg-body")).to_contain_text('There are 3 "r"s')
    # The step is not an answer: one answer, one footer, under it.
    expect(page.locator(".msg-assistant")).to_have_count(1)
    expect(page.locator(".answer-tools")).to_have_count(1)


def test_the_page_says_when_the_model_is_still_loading(browser: Any, base_url: str) -> None:
    """While the server preloads the model the badge says so, and the page looks again
    until it is ready (the server's answers are shaped here: the real preload of SmolLM2
    is over in a moment)."""
    ctx, page, errors = new_page(browser, base_url)
    calls = []

    def loading_at_first(route: Any) -> None:
        data = route.fetch().json()
        calls.append(1)
        for model in data["models"]:
            model["loading"] = len(calls) < 3
            model["fit"] = {"verdict": "fits", "tokens_per_s": 61.2}
        route.fulfill(json=data)

    try:
        page.route("**/ember/api/models", loading_at_first)
        open_app(page)
        expect(page.locator("#fit-badge")).to_have_text("loading model…")
        expect(page.locator("#fit-badge")).to_have_text("fits ~61 tok/s", timeout=10_000)
        assert len(calls) >= 3
    finally:
        ctx.close()
    assert errors == []
