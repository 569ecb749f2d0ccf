"""The OpenAI-compatible remote: its pure conversions, its settings, and its I/O shell
against scripted transports (the real servers are in tests/server/test_remotes_e2e.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ember.chat.backends import Backends
from ember.chat.remote import (
    OpenAICompatBackend,
    RemoteBusyError,
    RemoteRefusedError,
    RemoteRequestError,
    RemoteUnavailableError,
    api_root,
)
from ember.chat.remote_wire import StreamAssembler, chat_body, model_ids
from ember.chat.types import ChatDelta, ChatDone, ChatEvent, ChatRequest, Message, Tool, ToolCall
from ember.config import RemoteConfig, load_settings
from ember.engine.base import SamplingParams, Usage
from ember.errors import ConfigError, ModelNotFoundError

QUESTION = (Message(role="user", content="Hi"),)


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def backend(handler: Any, **config: Any) -> OpenAICompatBackend:
    settings = {"name": "lab", "base_url": "http://lab.test:8080", **config}
    return OpenAICompatBackend(
        RemoteConfig.from_dict(settings),
        transport=httpx.MockTransport(handler),
        environ={"LAB_KEY": "sk-secret"},
        retry_wait_s=0,
    )


def events(remote: OpenAICompatBackend, request: ChatRequest) -> list[ChatEvent]:
    async def go() -> list[ChatEvent]:
        return [e async for e in remote.stream(request)]

    return asyncio.run(go())


def test_chat_body_carries_only_what_the_caller_chose() -> None:
    request = ChatRequest(
        model="ignored",
        messages=(
            Message(role="user", content="2+3?"),
            Message(
                role="assistant",
                tool_calls=(ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}'),),
            ),
            Message(role="tool", content="5", tool_call_id="c1", name="add"),
        ),
        sampling=SamplingParams(temperature=0.1, top_p=0.5),
        sampling_given=frozenset({"temperature"}),
        max_tokens=20,
        stop=("END",),
        tools=(Tool("add", "Add.", {"type": "object"}),),
        tool_choice="add",
    )
    body = chat_body(request, "llama-3")
    assert body["model"] == "llama-3"
    assert body["temperature"] == 0.1
    assert "top_p" not in body
    assert body["max_tokens"] == 20
    assert body["stop"] == ["END"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"a": 2, "b": 3}'
    assert body["messages"][2] == {
        "role": "tool",
        "content": "5",
        "tool_call_id": "c1",
        "name": "add",
    }
    assert body["stream"] is True


def test_the_assembler_joins_tool_call_fragments_and_reads_usage() -> None:
    assembler = StreamAssembler(where="lab")

    def call_piece(**piece: Any) -> dict[str, Any]:
        return {"choices": [{"delta": {"tool_calls": [{"index": 0, **piece}]}}]}

    pieces = [
        {"choices": [{"delta": {"role": "assistant", "content": ""}}]},
        call_piece(id="x", function={"name": "add", "arguments": '{"a":'}),
        call_piece(function={"arguments": " 2}"}),
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7}},
    ]
    assert [assembler.feed(p) for p in pieces] == [None] * 5
    done = assembler.done(ttft_s=0.1, decode_s=0.2)
    assert done.finish_reason == "tool_calls"
    assert done.tool_calls == (ToolCall(id="x", name="add", arguments='{"a": 2}'),)
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (11, 7)
    assert done.where == "lab"


def test_model_ids_skip_malformed_entries() -> None:
    assert model_ids({"data": [{"id": "a"}, {"nope": 1}, "x", {"id": "b"}]}) == ["a", "b"]
    assert model_ids({"error": "no"}) == []


def test_api_root_accepts_both_spellings() -> None:
    assert api_root("http://h:1") == api_root("http://h:1/v1/") == "http://h:1/v1"


def test_remote_settings_refuse_a_key_in_the_file_and_bad_values(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="api_key_env"):
        load_settings(
            home=tmp_path, remotes=[{"name": "a", "base_url": "http://x", "api_key": "k"}]
        )
    with pytest.raises(ConfigError, match="base_url"):
        load_settings(home=tmp_path, remotes=[{"name": "a", "base_url": "ftp://x"}])
    with pytest.raises(ConfigError, match="same name"):
        load_settings(
            home=tmp_path,
            remotes=[{"name": "a", "base_url": "http://x"}, {"name": "a", "base_url": "http://y"}],
        )
    settings = load_settings(
        home=tmp_path, remotes=[{"name": "a", "base_url": "http://x/", "api_key_env": "A_KEY"}]
    )
    assert settings.remote_configs == [RemoteConfig("a", "http://x", "A_KEY")]


def test_the_key_comes_from_the_environment_and_text_streams() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content=sse(
                {"choices": [{"delta": {"content": "Hel"}}]},
                {"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]},
            ),
        )

    out = events(backend(handler, api_key_env="LAB_KEY"), ChatRequest("m", QUESTION))
    assert seen[0].headers["authorization"] == "Bearer sk-secret"
    assert seen[0].url == "http://lab.test:8080/v1/chat/completions"
    assert [e.content for e in out if isinstance(e, ChatDelta)] == ["Hel", "lo"]
    done = out[-1]
    assert isinstance(done, ChatDone)
    assert (done.content, done.finish_reason, done.where) == ("Hello", "stop", "lab")
    assert done.usage.completion_tokens == 2  # counted from the deltas when none is sent


def test_a_missing_key_is_a_clear_error_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request without the key")

    remote = backend(handler, api_key_env="OTHER_KEY")
    with pytest.raises(RemoteUnavailableError, match=r"\$OTHER_KEY is not set"):
        events(remote, ChatRequest("m", QUESTION))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, ModelNotFoundError),
        (401, RemoteRefusedError),
        (429, RemoteBusyError),
        (400, RemoteRequestError),
        (500, RemoteRefusedError),
    ],
)
def test_remote_errors_keep_their_meaning(status: int, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "nope"}})

    with pytest.raises(error, match="nope"):
        events(backend(handler), ChatRequest("m", QUESTION))


def test_a_failed_connection_is_retried_only_before_the_answer() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=sse({"choices": [{"delta": {"content": "ok"}}]}))

    out = events(backend(handler), ChatRequest("m", QUESTION))
    assert calls == 2
    assert isinstance(out[-1], ChatDone)
    assert out[-1].content == "ok"


def test_a_gateway_error_before_the_answer_is_tried_again_then_reported() -> None:
    statuses = iter([503, 502, 200])
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        status = next(statuses)
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "restarting"}})
        return httpx.Response(200, content=sse({"choices": [{"delta": {"content": "ok"}}]}))

    out = events(backend(handler), ChatRequest("m", QUESTION))
    assert calls == 3
    assert isinstance(out[-1], ChatDone)
    assert out[-1].content == "ok"

    def always_down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"message": "overloaded"}})

    with pytest.raises(RemoteRefusedError, match="overloaded"):
        events(backend(always_down), ChatRequest("m", QUESTION))


def test_a_stream_cut_short_ends_with_an_error_and_keeps_the_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=sse({"choices": [{"delta": {"content": "partial"}}]}, done=False)
        )

    done = events(backend(handler), ChatRequest("m", QUESTION))[-1]
    assert isinstance(done, ChatDone)
    assert done.finish_reason == "error"
    assert done.content == "partial"
    assert done.error
    assert "closed the stream" in done.error


class _Local:
    def __init__(self) -> None:
        self.models: list[str] = []

    async def stream(self, request: ChatRequest) -> Any:
        self.models.append(request.model)
        yield ChatDone("stop", Usage(1, 1, 0, 0.0, 0.0, 0.0), content="local")

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return 2048


def test_backends_send_each_model_to_its_backend() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "big"}]})
        assert json.loads(request.content)["model"] == "big"
        return httpx.Response(200, content=sse({"choices": [{"delta": {"content": "remote"}}]}))

    local = _Local()
    observed: list[str] = []
    backends = Backends(local, {"lab": backend(handler)}, on_usage=lambda m, u: observed.append(m))

    async def answer(model: str) -> ChatDone:
        out = [e async for e in backends.stream(ChatRequest(model, QUESTION))]
        assert isinstance(out[-1], ChatDone)
        return out[-1]

    assert asyncio.run(answer("lab/big")).content == "remote"
    assert asyncio.run(answer("qwen:0.5b")).content == "local"
    assert asyncio.run(answer("other/model")).content == "local"  # not a remote's name
    assert local.models == ["qwen:0.5b", "other/model"]
    assert observed == ["lab/big"]
    listed = asyncio.run(backends.remote_models())
    assert [(m.name, m.remote, m.model) for m in listed] == [("lab/big", "lab", "big")]
