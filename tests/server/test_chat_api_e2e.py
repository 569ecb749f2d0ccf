"""Ember's own chat API against a real server and model: stored as it happens, branches
for edits and regenerations, stop keeps the partial answer, and so does SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"
LONG_PROMPT = "Write a very long story about a lighthouse keeper, with many chapters."
# An answer that cannot end soon, however fast the CPU: thousands of numbers to write.
COUNT_PROMPT = "Count from 1 to 5000, one number at a time: 1, 2, 3, ..."


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    home = tmp_path_factory.mktemp("chat-home")
    runtime = build(load_settings(home=home, default_model=MODEL))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


def events_of(
    response: httpx.Response, stop_after_deltas: int | None = None
) -> list[tuple[str, Any]]:
    """Parse a server-sent event stream; optionally leave after N deltas (a stop)."""
    out: list[tuple[str, Any]] = []
    name = ""
    deltas = 0
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            out.append((name, json.loads(line[6:])))
            if name == "delta":
                deltas += 1
                if stop_after_deltas is not None and deltas >= stop_after_deltas:
                    break
    return out


def send(
    client: httpx.Client, path: str, body: dict[str, Any] | None = None, **kw: Any
) -> list[tuple[str, Any]]:
    with client.stream("POST", path, json=body or {}) as response:
        assert response.status_code == 200, response.read()
        return events_of(response, **kw)


def new_conversation(client: httpx.Client, **fields: Any) -> str:
    created = client.post("/ember/api/conversations", json=fields)
    assert created.status_code == 201
    return str(created.json()["conversation"]["id"])


def wait_for(client: httpx.Client, conversation: str, predicate: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        view: dict[str, Any] = client.get(f"/ember/api/conversations/{conversation}").json()
        if predicate(view) or time.monotonic() > deadline:
            return view
        time.sleep(0.1)


def test_send_streams_stores_and_titles(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"temperature": 0, "max_tokens": 24})
        events = send(client, f"/ember/api/conversations/{cid}/messages", {"content": "Hi!"})
        names = [n for n, _ in events]
        assert names[0] == "start"
        assert names[-1] == "done"
        assert names.count("delta") >= 2
        start, done = events[0][1], events[-1][1]["message"]
        assert start["user"]["content"] == "Hi!"
        streamed = "".join(d["content"] for n, d in events if n == "delta")
        assert done["content"] == streamed
        assert done["status"] == "complete"
        assert done["meta"]["where"] == "local"
        assert done["meta"]["completion_tokens"] > 0
        assert done["meta"]["ttft_s"] > 0
        assert done["html"].startswith("<")
        view = wait_for(client, cid, lambda v: v["conversation"]["title"])
        assert view["conversation"]["title"]
        assert [m["role"] for m in view["messages"]] == ["user", "assistant"]
        listed = client.get("/ember/api/conversations").json()["conversations"]
        assert cid in [c["id"] for c in listed]


def test_regenerate_and_edit_keep_earlier_branches(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"temperature": 0.9, "max_tokens": 12})
        first = send(
            client, f"/ember/api/conversations/{cid}/messages", {"content": "Name a fruit."}
        )
        answer = first[-1][1]["message"]
        again = send(client, f"/ember/api/conversations/{cid}/messages/{answer['id']}/regenerate")
        assert again[0][1]["user"] is None
        second = again[-1][1]["message"]
        assert second["siblings"] == [answer["id"], second["id"]]
        assert second["sibling_index"] == 1
        question = first[0][1]["user"]
        edited = send(
            client,
            f"/ember/api/conversations/{cid}/messages/{question['id']}/edit",
            {"content": "Name a vegetable."},
        )
        new_question = edited[0][1]["user"]
        assert new_question["siblings"] == [question["id"], new_question["id"]]
        view = client.get(f"/ember/api/conversations/{cid}").json()
        assert view["messages"][0]["content"] == "Name a vegetable."
        back = client.post(
            f"/ember/api/conversations/{cid}/branch", json={"message_id": question["id"]}
        ).json()
        assert back["messages"][0]["content"] == "Name a fruit."
        assert back["messages"][1]["id"] == second["id"]  # the newest answer on that branch


def test_stopping_keeps_the_partial_answer(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"max_tokens": 2000, "temperature": 0})
        path = f"/ember/api/conversations/{cid}/messages"
        with client.stream("POST", path, json={"content": LONG_PROMPT}) as response:
            events = events_of(response, stop_after_deltas=8)
            stopped = client.post(f"/ember/api/conversations/{cid}/stop")
        assert stopped.json() == {"stopped": 1}
        seen = "".join(d["content"] for n, d in events if n == "delta")
        assert seen
        view = wait_for(client, cid, lambda v: v["messages"][-1]["status"] != "streaming")
        answer = view["messages"][-1]
        assert answer["status"] == "incomplete"
        assert answer["content"].startswith(seen)
        assert client.post(f"/ember/api/conversations/{cid}/stop").json() == {"stopped": 0}
        assert client.post("/ember/api/conversations/nope/stop").status_code == 404


def test_a_long_message_streams_its_reading_progress_before_the_answer(base_url: str) -> None:
    words = " ".join(f"item{i}" for i in range(400))  # ~1.2k tokens: 3 steps of 512
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"max_tokens": 8, "temperature": 0})
        content = f"Here is a list: {words}. Which item comes first?"
        events = send(client, f"/ember/api/conversations/{cid}/messages", {"content": content})
    names = [n for n, _ in events]
    assert "progress" in names
    assert names.index("progress") < names.index("delta")
    progress = [d for n, d in events if n == "progress"]
    reads = [p["read"] for p in progress]
    assert reads == sorted(reads)
    assert all(0 < p["read"] < p["total"] for p in progress)
    assert names[-1] == "done"


def test_an_answer_outlives_its_stream(base_url: str) -> None:
    """A reload or a lost connection closes the stream, not the answer: it is written
    to the end, and a conversation opened meanwhile shows it growing."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"max_tokens": 160, "temperature": 0})
        path = f"/ember/api/conversations/{cid}/messages"
        events = send(client, path, {"content": LONG_PROMPT}, stop_after_deltas=4)
        seen = "".join(d["content"] for n, d in events if n == "delta")
        assert seen
        growing = client.get(f"/ember/api/conversations/{cid}").json()["messages"][-1]
        view = wait_for(client, cid, lambda v: v["messages"][-1]["status"] != "streaming")
        answer = view["messages"][-1]
        assert answer["status"] == "complete", answer
        assert answer["meta"]["finish_reason"] in ("stop", "length")
        assert answer["meta"]["completion_tokens"] > 4
        assert answer["content"].startswith(seen)
        assert len(answer["content"]) > len(seen)
        assert answer["content"].startswith(growing["content"])


def test_a_conversation_opened_mid_answer_follows_its_live_stream(base_url: str) -> None:
    """Opened again while its answer is written, a conversation follows that answer's
    own stream from its first event (word by word, not by polling), to the end."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"max_tokens": 120, "temperature": 0})
        path = f"/ember/api/conversations/{cid}/messages"
        first = send(client, path, {"content": LONG_PROMPT}, stop_after_deltas=3)
        with client.stream("GET", f"/ember/api/conversations/{cid}/live") as response:
            assert response.status_code == 200
            live = events_of(response)
        names = [n for n, _ in live]
        assert names[0] == "start"
        assert names[-1] == "done"
        assert live[0][1]["assistant"]["id"] == first[0][1]["assistant"]["id"]
        done = live[-1][1]["message"]
        streamed = "".join(d["content"] for n, d in live if n == "delta")
        assert done["content"] == streamed
        assert done["status"] == "complete"
        # Nothing running: nothing to follow.
        assert client.get(f"/ember/api/conversations/{cid}/live").status_code == 204
        assert client.get("/ember/api/conversations/nope/live").status_code == 404


def test_an_answer_cut_at_its_limit_can_be_continued(base_url: str) -> None:
    """An answer that reached its length limit says so; "continue" writes more of the
    same message, from its last word, and the limit applies to each part."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        cid = new_conversation(client, settings={"max_tokens": 12, "temperature": 0})
        path = f"/ember/api/conversations/{cid}/messages"
        cut = send(client, path, {"content": LONG_PROMPT})[-1][1]["message"]
        assert cut["meta"]["finish_reason"] == "length"
        more = send(client, f"{path}/{cut['id']}/continue")
        assert more[0][0] == "start"
        assert more[0][1]["user"] is None
        assert more[0][1]["assistant"]["id"] == cut["id"]
        assert more[0][1]["assistant"]["content"] == cut["content"]
        added = "".join(d["content"] for n, d in more if n == "delta")
        assert added.strip()
        done = more[-1][1]["message"]
        assert done["id"] == cut["id"]
        assert done["status"] == "complete"
        assert done["content"] == cut["content"] + added
        assert done["meta"]["completion_tokens"] > cut["meta"]["completion_tokens"]
        view = client.get(f"/ember/api/conversations/{cid}").json()
        assert [m["role"] for m in view["messages"]] == ["user", "assistant"]
        assert view["messages"][-1]["content"] == done["content"]
        # Only answers continue.
        question = view["messages"][0]["id"]
        refused = client.post(f"{path}/{question}/continue")
        assert refused.status_code == 400
        assert "only answers" in refused.json()["error"]["message"]


def test_export_import_and_answers_are_sanitised(base_url: str) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(1)"> **bold**'
    export = {
        "format": "ember.conversation.v1",
        "conversation": {"title": "Imported", "system": "s", "settings": {}, "leaf_id": "b"},
        "messages": [
            {"id": "a", "parent_id": None, "role": "user", "content": "show me html"},
            {"id": "b", "parent_id": "a", "role": "assistant", "content": hostile},
        ],
    }
    with httpx.Client(base_url=base_url, timeout=60) as client:
        imported = client.post("/ember/api/conversations/import", json=export)
        assert imported.status_code == 201
        view = imported.json()
        html = view["messages"][1]["html"]
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html
        assert "<strong>bold</strong>" in html
        cid = view["conversation"]["id"]
        markdown = client.get(f"/ember/api/conversations/{cid}/export?format=markdown")
        assert markdown.text.startswith("# Imported")
        assert "**You**:" in markdown.text
        round_trip = client.get(f"/ember/api/conversations/{cid}/export").json()
        assert [m["content"] for m in round_trip["messages"]] == ["show me html", hostile]
        bad = client.post("/ember/api/conversations/import", json={"format": "other"})
        assert bad.status_code == 400
        assert client.get("/ember/api/conversations/nope").status_code == 404
        empty = client.post(f"/ember/api/conversations/{cid}/messages", json={"content": ""})
        assert empty.status_code == 400
        models = client.get("/ember/api/models").json()
        assert models["models"][0]["name"] == MODEL
        assert models["models"][0]["default"] is True
        fit = models["models"][0]["fit"]  # SmolLM2-135M fits any machine that runs the tests
        assert fit["verdict"] in ("great", "usable", "slow")
        assert fit["context"] >= 2048
        assert fit["reason"]
        page = client.get("/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_sigkill_mid_stream_keeps_the_question_and_partial_answer(
    tmp_path: Path, smollm2_path: Path
) -> None:
    home = tmp_path / "home"
    runtime = build(load_settings(home=home))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    runtime.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "EMBER_HOME": str(home), "EMBER_DEFAULT_MODEL": MODEL}
    command = [sys.executable, "-m", "ember", "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    return process
            except httpx.TransportError:
                time.sleep(0.2)
        process.kill()
        raise AssertionError("the server did not start")

    server = start()
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            cid = new_conversation(client, settings={"max_tokens": 4000, "temperature": 0})
            with client.stream(
                "POST", f"/ember/api/conversations/{cid}/messages", json={"content": COUNT_PROMPT}
            ) as response:
                seen = ""
                deltas = 0
                started_at = None
                killed = False
                for line in response.iter_lines():  # read live, not collected
                    if not line.startswith("data: "):
                        continue
                    data = json.loads(line[6:])
                    if "content" in data and "id" not in data:  # a delta
                        seen += data["content"]
                        deltas += 1
                        started_at = started_at or time.monotonic()
                        # Past a few flushes of the stored text (every 0.25 s).
                        if deltas >= 20 and time.monotonic() - started_at > 1.0:
                            os.kill(server.pid, signal.SIGKILL)
                            killed = True
                            break
                assert killed, (
                    f"the answer ended after {deltas} deltas, before the server was killed: "
                    f"{seen[-200:]!r}"
                )
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    server = start()
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            view = client.get(f"/ember/api/conversations/{cid}").json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    question, answer = view["messages"]
    assert question["content"] == COUNT_PROMPT
    assert answer["status"] == "incomplete"
    stored = answer["content"]
    assert stored
    # The server writes the answer every 0.25 s and may have generated more than the
    # client read: one text is a beginning of the other.
    assert seen.startswith(stored) or stored.startswith(seen), (stored[-200:], seen[-200:])


def test_the_conversation_context_size_is_applied(base_url: str) -> None:
    """``settings.num_ctx`` (the page's context-size field) loads the model with that
    context: a long history is trimmed to fit 512 tokens, and kept whole without it."""
    history = []
    for i in range(8):
        history += [
            {"id": f"u{i}", "parent_id": f"a{i - 1}" if i else None, "role": "user",
             "content": f"Tell me fact number {i} about the sea. " * 4},
            {"id": f"a{i}", "parent_id": f"u{i}", "role": "assistant",
             "content": f"Fact {i}: the sea is salty. " * 4},
        ]  # fmt: skip

    def trimmed_with(settings: dict[str, Any]) -> int:
        export = {
            "format": "ember.conversation.v1",
            "conversation": {"title": "Sea", "settings": settings, "leaf_id": "a7"},
            "messages": history,
        }
        cid = client.post("/ember/api/conversations/import", json=export).json()
        cid = cid["conversation"]["id"]
        send(client, f"/ember/api/conversations/{cid}/messages", {"content": "And the moon?"})
        view = wait_for(client, cid, lambda v: v["messages"][-1]["status"] != "streaming")
        return int(view["messages"][-1]["meta"].get("trimmed") or 0)

    with httpx.Client(base_url=base_url, timeout=120) as client:
        assert trimmed_with({"num_ctx": 512, "max_tokens": 8}) > 0
        assert trimmed_with({"max_tokens": 8}) == 0
        bad = client.post("/ember/api/conversations", json={"settings": {"num_ctx": "big"}})
        assert bad.status_code == 400
        assert "num_ctx" in bad.json()["error"]["message"]
