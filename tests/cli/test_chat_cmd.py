"""`ember chat` in this process and through a running server, driven by typed lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ember.chat.conversations import ConversationStore
from ember.cli.app import app
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"


@pytest.fixture
def home(isolated_home: Path, smollm2_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    runtime = build(load_settings())
    runtime.models.pull(str(smollm2_path), name=MODEL)
    runtime.models.pull(str(smollm2_path), name="smollm2:copy")
    runtime.close()
    monkeypatch.setenv("EMBER_DEFAULT_MODEL", MODEL)
    return isolated_home


def stored_branches(home: Path) -> list[list[tuple[str, str, str]]]:
    runtime = build(load_settings(home=home))
    try:
        store = ConversationStore(runtime.db)
        return [[(m.role, m.content, m.status) for m in store.path(c.id)] for c in store.all()]
    finally:
        runtime.close()


def test_local_chat_commands_and_saved_history(home: Path, tmp_path: Path) -> None:
    saved = tmp_path / "chat.md"
    lines = [
        "/help",
        "/system Answer in one word.",
        "/model",
        "/model nope:1b",
        "/model smollm2:copy",
        "What color is the sky?",
        f"/save {saved}",
        "/clear",
        "/exit",
    ]
    result = CliRunner().invoke(app, ["chat", "--local"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "/model [NAME]" in result.output
    assert "No model 'nope:1b' here" in result.output
    assert "Now chatting with smollm2:copy" in result.output
    assert "tok/s" in result.output  # the footer under the answer
    text = saved.read_text()
    assert "What color is the sky?" in text
    assert "> System: Answer in one word." in text
    branches = stored_branches(home)
    assert len(branches) == 2  # /clear started a second, empty conversation
    asked = next(b for b in branches if b)
    assert asked[0] == ("user", "What color is the sky?", "complete")
    assert asked[1][0] == "assistant"
    assert asked[1][2] == "complete"


def test_chat_uses_the_running_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_ANSWER_TOKENS", "24")  # what is checked is where it went
    runtime = build(load_settings())
    with serving(runtime) as url:
        monkeypatch.setenv("EMBER_PORT", url.rsplit(":", 1)[1])
        result = CliRunner().invoke(app, ["chat"], input="Say hello.\n")
    runtime.close()
    assert result.exit_code == 0, result.output
    branches = stored_branches(home)
    assert [b[0][1] for b in branches if b] == ["Say hello."]


def test_chat_help() -> None:
    result = CliRunner().invoke(app, ["chat", "--help"])
    assert result.exit_code == 0
    assert "--local" in result.output


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({}, "linux", False),  # no display: a server or SSH session
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"DISPLAY": ":0", "CI": "true"}, "linux", False),
        ({"SSH_CONNECTION": "1 2 3 4"}, "darwin", False),
        ({}, "darwin", True),
        ({"EMBER_NO_BROWSER": "1"}, "win32", False),
    ],
)
def test_browser_opens_only_where_there_is_one(
    env: dict[str, str], platform: str, expected: bool
) -> None:
    from ember.cli.browser import can_open_browser

    assert can_open_browser(env, platform) is expected


def test_a_long_message_reports_reading_progress_locally_and_through_a_server(
    home: Path,
) -> None:
    from ember.cli.chat import reading_line
    from ember.cli.chat_backends import LocalBackend, ServerBackend

    words = " ".join(f"item{i}" for i in range(400))
    # Its start differs from the other message's: a cached prompt has nothing to read.
    message = f"Which item comes first in this list? {words}"
    runtime = build(load_settings())
    try:
        local = LocalBackend(runtime)
        conversation = local.new_conversation(MODEL, None)
        local.update(conversation, settings={"max_tokens": 4})
        kinds = [kind for kind, _ in local.send(conversation, message)]
        local.close()
        with serving(runtime) as url:
            server = ServerBackend(url)
            conversation = server.new_conversation(MODEL, None)
            server.update(conversation, settings={"max_tokens": 4})
            events = list(server.send(conversation, message.replace("first", "last")))
            server.close()
    finally:
        runtime.close()
    for seen in (kinds, [kind for kind, _ in events]):
        assert "progress" in seen
        assert seen.index("progress") < seen.index("done")
    read, total = next(data for kind, data in events if kind == "progress")
    assert 0 < read < total
    assert reading_line(read, total).startswith("reading your message… ")
    assert reading_line(1, 2) == "reading your message… 50%"


@pytest.mark.parametrize("through_server", [False, True])
def test_an_answer_at_the_length_limit_continues_with_a_command(
    home: Path, monkeypatch: pytest.MonkeyPatch, through_server: bool
) -> None:
    """The setting ``answer_tokens`` bounds an answer; the footer says so, and /continue
    writes more of the same answer."""
    monkeypatch.setenv("EMBER_ANSWER_TOKENS", "16")
    lines = "Write a long story about the sea.\n/continue\n/exit\n"
    if through_server:
        runtime = build(load_settings())
        with serving(runtime) as url:
            monkeypatch.setenv("EMBER_PORT", url.rsplit(":", 1)[1])
            result = CliRunner().invoke(app, ["chat"], input=lines)
        runtime.close()
    else:
        result = CliRunner().invoke(app, ["chat", "--local"], input=lines)
    assert result.exit_code == 0, result.output
    assert "/continue writes more" in result.output
    (branch,) = [b for b in stored_branches(home) if b]
    assert [role for role, _, _ in branch] == ["user", "assistant"]
    runtime = build(load_settings(home=home))
    try:
        store = ConversationStore(runtime.db)
        (conversation,) = [c for c in store.all() if store.path(c.id)]
        answer = store.path(conversation.id)[-1]
    finally:
        runtime.close()
    assert answer.status == "complete"
    assert answer.meta["completion_tokens"] > 16  # two parts of at most 16 each


def test_with_accounts_a_chat_in_this_process_belongs_to_a_user(home: Path) -> None:
    """The conversation is listed in its owner's page: the named user's, else the first
    admin's (the only user's when there is one)."""
    runtime = build(load_settings(home=home))
    alice = runtime.users.add("alice", "alice's password")
    bob = runtime.users.add("bob", "bob's password")
    runtime.close()
    lines = "/system Answer in one word.\nHi\n/exit\n"
    assert CliRunner().invoke(app, ["chat", "--local"], input=lines).exit_code == 0
    as_bob = CliRunner().invoke(app, ["chat", "--local", "--user", "bob"], input=lines)
    assert as_bob.exit_code == 0, as_bob.output
    unknown = CliRunner().invoke(app, ["chat", "--local", "--user", "nobody"], input=lines)
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output

    runtime = build(load_settings(home=home))
    try:
        store = ConversationStore(runtime.db)
        assert len(store.all(user_id=alice.id)) == 1
        [bobs] = store.all(user_id=bob.id)
        assert [m.role for m in store.path(bobs.id)][-2:] == ["user", "assistant"]
        assert all(c.user_id is not None for c in store.all())
    finally:
        runtime.close()
