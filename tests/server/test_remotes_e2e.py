"""Remote backends end to end: an Ember front whose ``remotes`` are real servers started
here on loopback — a second Ember (in-thread), llama-cpp-python's own OpenAI server
(``python -m llama_cpp.server`` with the SmolLM2 file), a port nothing listens on, and a
second Ember process killed in the middle of an answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.chat.egress_log import EgressLog
from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import free_port, llama_cpp_server, serving, wait_until_up

MODEL = "smollm2:135m"
FOREIGN = "smollm2"  # the alias llama_cpp.server serves the file under
ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


@pytest.fixture(scope="module")
def peer_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    """A second Ember with SmolLM2."""
    runtime = build(load_settings(home=tmp_path_factory.mktemp("peer-home")))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


@pytest.fixture(scope="module")
def foreign_url(smollm2_path: Path) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server: a server that is not Ember."""
    with llama_cpp_server(smollm2_path, FOREIGN) as url:
        yield url


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, peer_url: str, foreign_url: str
) -> Iterator[str]:
    remotes = [
        {"name": "peer", "base_url": peer_url},
        {"name": "foreign", "base_url": f"{foreign_url}/v1"},
        {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}"},
    ]
    runtime = build(load_settings(home=tmp_path_factory.mktemp("front-home"), remotes=remotes))
    with serving(runtime) as url:
        yield url
    runtime.close()


def test_the_openai_client_lists_remote_models_and_gets_answers(front: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{front}/v1", api_key="unused")
    try:
        ids = {m.id for m in client.models.list()}
        assert {f"peer/{MODEL}", f"foreign/{FOREIGN}"} <= ids
        assert not any(i.startswith("down/") for i in ids)  # a remote that is down lists none
        for model in (f"peer/{MODEL}", f"foreign/{FOREIGN}"):
            reply = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "Say hello."}],
                max_tokens=12,
                temperature=0,
            )
            assert reply.choices[0].message.content, model
            assert reply.choices[0].finish_reason in ("stop", "length")
            pieces = []
            finish = None
            for chunk in client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "Name a colour."}],
                max_tokens=12,
                stream=True,
            ):
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
                    finish = chunk.choices[0].finish_reason or finish
            assert "".join(pieces).strip(), model
            assert finish in ("stop", "length")
        assert reply.usage is not None
    finally:
        client.close()


def test_a_remote_emulates_tool_calls_through_the_front(front: str) -> None:
    """The peer Ember forces the call with its grammar; the front passes the call on."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{front}/v1", api_key="unused")
    try:
        reply = client.chat.completions.create(
            model=f"peer/{MODEL}",
            messages=[{"role": "user", "content": "What is 2 + 3?"}],
            tools=[ADD_TOOL],  # type: ignore[list-item]
            tool_choice="required",
            max_tokens=60,
            temperature=0,
        )
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        calls = choice.message.tool_calls or []
        assert [c.function.name for c in calls] == ["add"]  # type: ignore[union-attr]
        assert set(json.loads(calls[0].function.arguments)) == {"a", "b"}  # type: ignore[union-attr]
        streamed: dict[int, dict[str, str]] = {}
        for chunk in client.chat.completions.create(
            model=f"peer/{MODEL}",
            messages=[{"role": "user", "content": "What is 2 + 3?"}],
            tools=[ADD_TOOL],  # type: ignore[list-item]
            tool_choice="required",
            max_tokens=60,
            stream=True,
        ):
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                entry = streamed.setdefault(call.index, {"name": "", "arguments": ""})
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
        assert [e["name"] for e in streamed.values()] == ["add"]
        assert set(json.loads(streamed[0]["arguments"])) == {"a", "b"}
    finally:
        client.close()


def test_the_ollama_client_sees_remote_models_and_chats_with_them(front: str) -> None:
    import ollama

    client = ollama.Client(host=front)
    try:
        names = {m.model for m in client.list().models}
        assert {f"peer/{MODEL}", f"foreign/{FOREIGN}"} <= names
        reply = client.chat(
            model=f"foreign/{FOREIGN}",
            messages=[{"role": "user", "content": "Say hello."}],
            options={"num_predict": 12, "temperature": 0},
        )
        assert reply.message.content
        parts = [
            part.message.content or ""
            for part in client.chat(
                model=f"peer/{MODEL}",
                messages=[{"role": "user", "content": "Name a fruit."}],
                options={"num_predict": 12},
                stream=True,
            )
        ]
        assert "".join(parts).strip()
    finally:
        client._client.close()


def test_a_peer_that_is_down_is_a_clear_error_and_no_answer_is_stored(front: str) -> None:
    with httpx.Client(base_url=front, timeout=60) as client:
        response = client.post(
            "/v1/chat/completions",
            json={"model": "down/anything", "messages": [{"role": "user", "content": "Hi"}]},
        )
        assert response.status_code == 502
        error = response.json()["error"]
        assert "down" in error["message"]
        assert "cannot be reached" in error["message"]
        assert (
            client.post(
                "/api/chat",
                json={"model": "down/anything", "messages": [{"role": "user", "content": "Hi"}]},
            ).status_code
            == 502
        )

        cid = client.post("/ember/api/conversations", json={"model": "down/anything"}).json()[
            "conversation"
        ]["id"]
        with client.stream(
            "POST", f"/ember/api/conversations/{cid}/messages", json={"content": "Hello?"}
        ) as stream:
            stream.read()
        messages = client.get(f"/ember/api/conversations/{cid}").json()["messages"]
        question, answer = messages
        assert question["content"] == "Hello?"
        assert answer["status"] == "error"
        assert answer["content"] == ""
        assert "cannot be reached" in answer["meta"]["error"]


def test_a_remote_model_unknown_to_the_remote_is_404(front: str) -> None:
    with httpx.Client(base_url=front, timeout=60) as client:
        response = client.post(
            "/v1/chat/completions",
            json={"model": "peer/no-such-model", "messages": [{"role": "user", "content": "Hi"}]},
        )
    assert response.status_code == 404
    assert "no-such-model" in response.json()["error"]["message"]


def test_the_web_chat_marks_where_an_answer_was_computed(front: str) -> None:
    with httpx.Client(base_url=front, timeout=120) as client:
        cid = client.post(
            "/ember/api/conversations",
            json={"model": f"peer/{MODEL}", "settings": {"max_tokens": 12}},
        ).json()["conversation"]["id"]
        with client.stream(
            "POST", f"/ember/api/conversations/{cid}/messages", json={"content": "Say hi."}
        ) as stream:
            stream.read()
        answer = client.get(f"/ember/api/conversations/{cid}").json()["messages"][-1]
        assert answer["status"] == "complete"
        assert answer["content"]
        assert answer["meta"]["where"] == "peer"
        assert answer["model"] == f"peer/{MODEL}"


@pytest.mark.parametrize("cloud", [False, True], ids=["remote", "cloud"])
def test_a_peer_that_dies_mid_stream_leaves_the_partial_answer_marked_incomplete(
    tmp_path: Path, smollm2_path: Path, cloud: bool
) -> None:
    """Through a plain remote, and through the cloud gate (policy auto): there the
    egress log says ``incomplete`` too."""
    peer_home = tmp_path / "peer"
    peer_runtime = build(load_settings(home=peer_home))
    peer_runtime.models.pull(str(smollm2_path), name=MODEL)
    peer_runtime.close()
    port = free_port()
    peer = subprocess.Popen(
        [sys.executable, "-m", "ember", "serve", "--port", str(port)],
        env={**os.environ, "EMBER_HOME": str(peer_home), "EMBER_DEFAULT_MODEL": MODEL},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peer_url = f"http://127.0.0.1:{port}"
    front_runtime = build(
        load_settings(
            home=tmp_path / "front",
            remotes=[{"name": "mortal", "base_url": peer_url, "cloud": cloud}],
            cloud_policy="auto" if cloud else "local-only",
        )
    )
    try:
        wait_until_up(peer_url, peer, "/health")
        with serving(front_runtime) as url, httpx.Client(base_url=url, timeout=120) as client:
            cid = client.post(
                "/ember/api/conversations",
                json={"model": f"mortal/{MODEL}", "settings": {"max_tokens": 3000}},
            ).json()["conversation"]["id"]
            deltas: list[str] = []
            events: list[dict[str, Any]] = []
            with client.stream(
                "POST",
                f"/ember/api/conversations/{cid}/messages",
                json={"content": "Count from 1 to 3000, one number at a time: 1, 2, 3, ..."},
            ) as stream:
                name = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data = json.loads(line[6:])
                        events.append({"event": name, **data})
                        if name == "delta":
                            deltas.append(data["content"])
                            # Early: SmolLM2 may answer this in a short sentence when
                            # the title request shares its batch (another greedy path).
                            if len(deltas) == 3:
                                os.kill(peer.pid, signal.SIGKILL)
            assert len(deltas) >= 3, "the peer ended its answer before it could be killed"
            answer = client.get(f"/ember/api/conversations/{cid}").json()["messages"][-1]
        seen = "".join(deltas)
        assert answer["status"] == "incomplete"
        assert answer["content"]
        assert seen.startswith(answer["content"][: len(seen)])
        assert "mortal" in answer["meta"]["error"]
        if cloud:
            # The answer's entry (the conversation's title may have one of its own).
            entries = EgressLog(front_runtime.db).entries()
            [broken] = [e for e in entries if e.status == "incomplete"]
            assert broken.provider == "mortal"
            assert "stopped mid-answer" in (broken.error or "")
    finally:
        if peer.poll() is None:
            peer.kill()
        peer.wait(timeout=30)
        front_runtime.close()
