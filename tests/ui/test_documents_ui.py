"""Documents in the web page: uploads by the button and by drag and drop go to the chat's
own collection, which the chat then answers from; collections are attached and detached;
a named collection is created from the menu with its files, its documents listed and
deleted, and the collection deleted; an answer's citations are buttons that open their
passage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from ember.chat.conversations import ConversationStore
from ember.config import load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import serving
from tests.ui.conftest import open_app

NOTES = """# Lighthouse notes

## Keepers

A lighthouse keeper trimmed the wicks and wound the clockwork every four hours.
"""

HANDBOOK = """# Handbook

## Backups

To back up your chat history, copy ember.db from the Ember home while the server is stopped.
"""


@pytest.fixture(scope="module")
def ui_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = build(load_settings(home=tmp_path_factory.mktemp("docs-ui-home")))
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def base_url(ui_runtime: Runtime) -> Iterator[str]:
    """This module's server: no chat model is needed, only documents and conversations."""
    with serving(ui_runtime) as url:
        yield url


def conversation_id(page: Any) -> str:
    expect(page).to_have_url(re.compile(r"#/c/\w+$"))
    return str(page.url.rsplit("#/c/", 1)[1])


def settings_of(base_url: str, cid: str) -> dict[str, Any]:
    view = httpx.get(f"{base_url}/ember/api/conversations/{cid}").json()
    settings: dict[str, Any] = view["conversation"]["settings"]
    return settings


def document_names(base_url: str, collection: str) -> list[str]:
    response = httpx.get(f"{base_url}/api/documents", params={"collection": collection})
    return sorted(d["name"] for d in response.json()["documents"])


def test_upload_by_the_button_attaches_the_chat_collection(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    notes = tmp_path / "lighthouse notes.md"
    notes.write_text(NOTES)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 truncated garbage")
    open_app(page)

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add documents to this chat").click()
    chooser.value.set_files([str(notes), str(broken)])

    good = page.locator(".upload", has_text="lighthouse notes.md")
    expect(good).to_have_attribute("data-state", "done", timeout=120_000)
    expect(good.locator(".upload-status")).to_contain_text("added")
    bad = page.locator(".upload", has_text="broken.pdf")
    expect(bad).to_have_attribute("data-state", "failed")
    expect(bad).to_have_attribute("role", "alert")
    expect(bad.locator(".upload-status")).to_contain_text("cannot read PDF")

    # The chat was created for the upload and answers from its own collection.
    cid = conversation_id(page)
    expect(page.locator(".doc-chip")).to_have_text(["Files of this chat"])
    assert settings_of(base_url, cid)["collections"] == [f"chat-{cid}"]
    assert document_names(base_url, f"chat-{cid}") == ["lighthouse notes.md"]

    # A failed file can be dismissed.
    bad.get_by_role("button", name="Dismiss broken.pdf").click()
    expect(bad).to_have_count(0)


def test_drop_files_and_attach_a_collection(
    page: Any, base_url: str, ui_runtime: Runtime, tmp_path: Path
) -> None:
    handbook = tmp_path / "handbook.md"
    handbook.write_text(HANDBOOK)
    ui_runtime.documents.add([handbook])  # the default collection, as `ember docs add` does
    cid = ConversationStore(ui_runtime.db).create(title="Dropping").id
    open_app(page, f"/#/c/{cid}")
    expect(page.locator("#chat-title")).to_have_text("Dropping")

    page.evaluate(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["Cats sleep sixteen hours a day."], "cats.txt",
                                    {type: "text/plain"}));
            const chat = document.getElementById("chat");
            chat.dispatchEvent(new DragEvent("dragenter", {dataTransfer: data, bubbles: true}));
            chat.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }"""
    )
    row = page.locator(".upload", has_text="cats.txt")
    expect(row).to_have_attribute("data-state", "done", timeout=120_000)
    expect(page.locator("#drop-zone")).to_be_hidden()
    expect(page.locator(".doc-chip")).to_have_text(["Files of this chat"])
    assert document_names(base_url, f"chat-{cid}") == ["cats.txt"]

    # Attach the default collection from the menu; it is listed with its documents.
    page.get_by_role("button", name="Documents", exact=True).click()
    default = page.locator(".docs-option", has_text="default")
    expect(default).to_contain_text("1 document")
    default.locator("input").check()
    expect(page.locator(".doc-chip")).to_have_text(["Files of this chat", "default"])
    page.wait_for_function(
        "() => document.querySelectorAll('.docs-option input:checked').length === 2"
    )
    assert settings_of(base_url, cid)["collections"] == [f"chat-{cid}", "default"]

    # Detach it with the chip's button; a reload shows what is stored.
    page.get_by_role("button", name="Stop answering from default").click()
    expect(page.locator(".doc-chip")).to_have_text(["Files of this chat"])
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.locator(".doc-chip")).to_have_text(["Files of this chat"])
    assert settings_of(base_url, cid)["collections"] == [f"chat-{cid}"]


def test_citations_open_their_passage(
    page: Any, base_url: str, ui_runtime: Runtime, tmp_path: Path
) -> None:
    handbook = tmp_path / "guide.md"
    handbook.write_text(HANDBOOK.replace("Handbook", "Guide"))
    ui_runtime.documents.add([handbook], "guides")
    hit = ui_runtime.documents.search("how do I back up my chats?", "guides")[0]

    store = ConversationStore(ui_runtime.db)
    cid = store.create(title="Cited").id
    question = store.add_message(cid, role="user", content="How do I back up?", parent_id=None)
    citations = [
        {
            "n": 1,
            "chunk_id": 12,
            "path": "/abs/report.pdf",
            "title": "report.pdf",
            "page": 3,
            "heading": "Intro > Scope",
            "collection": "default",
            "text": "The scope of this report is the backup of chat history.",
        },
        {  # no text: the page fetches the passage by its chunk id
            "n": 2,
            "chunk_id": hit.chunk_id,
            "path": hit.path,
            "title": "guide.md",
            "page": None,
            "heading": hit.heading,
            "collection": "guides",
        },
        {"n": 4, "chunk_id": 987654, "path": "/gone.txt", "title": "gone.txt", "page": None},
    ]
    store.add_message(
        cid,
        role="assistant",
        content=(
            "Copy the database while the server is stopped [1][2]. "
            "Not a source: [3]. Gone: [4].\n\n`code [1]` stays code."
        ),
        parent_id=question.id,
        meta={"where": "local", "citations": citations},
    )
    open_app(page, f"/#/c/{cid}")
    answer = page.locator(".msg-assistant")
    chips = answer.locator(".markdown .cite")
    expect(chips).to_have_text(["1", "2", "4"])
    expect(answer.locator(".markdown")).to_contain_text("Not a source: [3].")
    expect(answer.locator(".markdown code")).to_have_text("code [1]")
    sources = answer.locator(".sources .source")
    expect(sources).to_have_count(3)
    expect(sources.nth(0)).to_contain_text("report.pdf")
    expect(sources.nth(0)).to_contain_text("p. 3")

    # The passage from the answer's meta.
    dialog = page.locator("#passage")
    chips.nth(0).click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#passage-title")).to_have_text("[1] report.pdf")
    expect(dialog.locator("#passage-where")).to_contain_text("page 3")
    expect(dialog.locator("#passage-where")).to_contain_text("Intro > Scope")
    expect(dialog.locator("#passage-text")).to_have_text(citations[0]["text"])
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Without text in meta, the passage comes from the server by chunk id.
    sources.nth(1).click()
    expect(dialog.locator("#passage-text")).to_have_text(hit.text)
    expect(dialog.locator("#passage-path")).to_have_text(hit.path)
    dialog.get_by_role("button", name="Close the passage").click()
    expect(dialog).to_be_hidden()

    # A passage that is no longer in the library says so.
    chips.nth(2).click()
    expect(dialog.locator("#passage-text")).to_contain_text("no longer in your documents")


SOUP = """# Soups

## Leek and potato

Sweat the leeks in butter, add diced potatoes and stock, simmer twenty minutes, blend.
"""


def collection_names(base_url: str) -> list[str]:
    response = httpx.get(f"{base_url}/api/documents/collections")
    return [c["name"] for c in response.json()["collections"]]


def test_a_named_collection_from_the_menu(
    page: Any, base_url: str, ui_runtime: Runtime, tmp_path: Path
) -> None:
    soup = tmp_path / "soup.txt"
    soup.write_text(SOUP)
    cid = ConversationStore(ui_runtime.db).create(title="Cooking").id
    open_app(page, f"/#/c/{cid}")
    expect(page.locator("#chat-title")).to_have_text("Cooking")
    page.get_by_role("button", name="Documents", exact=True).click()
    menu = page.locator("#docs-menu")
    name = menu.get_by_label("New collection")
    error = menu.locator("#docs-new-error")

    # A name the server would refuse is refused here, before any file is chosen.
    name.fill("my recipes")
    menu.get_by_role("button", name="Add files…").click()
    expect(error).to_contain_text("letters, digits")
    expect(name).to_have_attribute("aria-invalid", "true")
    name.fill("chat-123")
    name.press("Enter")  # Enter picks files too, and does not send the composer
    expect(error).to_contain_text("kept for the files of chats")

    # Create "recipes" with a file: uploaded into it, then attached to this chat.
    name.fill("recipes")
    expect(error).to_be_hidden()
    with page.expect_file_chooser() as chooser:
        menu.get_by_role("button", name="Add files…").click()
    chooser.value.set_files(str(soup))
    row = page.locator(".upload", has_text="soup.txt")
    expect(row).to_have_attribute("data-state", "done", timeout=120_000)
    expect(row.locator(".upload-where")).to_have_text("→ recipes")
    expect(page.locator(".doc-chip")).to_have_text(["recipes"])
    expect(name).to_have_value("")
    assert settings_of(base_url, cid)["collections"] == ["recipes"]
    assert document_names(base_url, "recipes") == ["soup.txt"]

    item = menu.locator(".docs-item[data-name='recipes']")
    expect(item.locator(".docs-option-count")).to_have_text("1 document")
    expect(item.locator(".docs-option input")).to_be_checked()
    expect(menu.get_by_role("button", name="Delete the collection default")).to_have_count(0)

    # Its documents, with their passages; a file dropped on its row goes into it.
    item.get_by_role("button", name="Documents in recipes").click()
    expect(item.locator(".docs-doc")).to_have_count(1)
    expect(item.locator(".docs-doc")).to_contain_text("soup.txt")
    expect(item.locator(".docs-doc-count")).to_have_text(re.compile(r"^\d+ passages?$"))
    item.evaluate(
        """(item) => {
            const data = new DataTransfer();
            data.items.add(new File(["Bread needs flour, water, salt and time."],
                                    "bread.txt", {type: "text/plain"}));
            item.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true}));
            item.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }"""
    )
    expect(page.locator(".upload", has_text="bread.txt")).to_have_attribute(
        "data-state", "done", timeout=120_000
    )
    expect(item.locator(".docs-doc-name")).to_have_text(["bread.txt", "soup.txt"])
    expect(item.locator(".docs-option-count")).to_have_text("2 documents")
    assert f"chat-{cid}" not in collection_names(base_url)  # not the chat's own collection

    # Delete one document.
    item.get_by_role("button", name="Delete soup.txt").click()
    expect(item.locator(".docs-doc-name")).to_have_text(["bread.txt"])
    expect(item.locator(".docs-option-count")).to_have_text("1 document")
    assert document_names(base_url, "recipes") == ["bread.txt"]

    # Delete the collection: asked first; Cancel keeps it.
    item.get_by_role("button", name="Delete the collection recipes").click()
    expect(item.locator(".docs-confirm")).to_contain_text("Delete “recipes” and its 1 document?")
    item.get_by_role("button", name="Cancel").click()
    expect(item.locator(".docs-confirm")).to_have_count(0)
    assert "recipes" in collection_names(base_url)
    item.get_by_role("button", name="Delete the collection recipes").click()
    item.get_by_role("button", name="Confirm deleting the collection recipes").click()
    expect(item).to_have_count(0)
    expect(page.locator(".doc-chip")).to_have_count(0)
    assert "recipes" not in collection_names(base_url)
    assert settings_of(base_url, cid)["collections"] == []
    assert not (ui_runtime.settings.home / "uploads" / "recipes").exists()


def test_the_servers_refusal_of_a_collection_is_shown(
    page: Any, base_url: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Some notes.")
    message = "collection: 'taken' is not a valid collection name"

    def refuse(route: Any) -> None:
        if route.request.method == "POST":
            route.fulfill(status=400, json={"error": message})
        else:
            route.fallback()

    page.route("**/api/documents", refuse)
    open_app(page)
    page.get_by_role("button", name="Documents", exact=True).click()
    page.get_by_label("New collection").fill("taken")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Add files…").click()
    chooser.value.set_files(str(notes))
    expect(page.locator(".upload", has_text="notes.txt")).to_have_attribute("data-state", "failed")
    expect(page.locator("#docs-new-error")).to_have_text(message)
    expect(page.locator(".doc-chip")).to_have_count(0)
