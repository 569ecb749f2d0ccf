"""The cloud gate's I/O shell over a scripted provider (httpx MockTransport) and a
scripted local backend: placeholders put back into replies, escalation, fallback and
cool-down, the egress log. The real servers are in tests/server/test_cloud_e2e.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.chat.backends import Backends
from ember.chat.cloud_gate import (
    CloudConfirmationError,
    CloudGate,
    CloudRefusedError,
    PrivacyBlockedError,
)
from ember.chat.egress_log import EgressLog
from ember.chat.privacy_guard import MessageGuard
from ember.chat.remote import ATTEMPTS, OpenAICompatBackend
from ember.chat.types import ChatDelta, ChatDone, ChatEvent, ChatRequest, EgressScope, Message
from ember.config import CloudPolicy, RemoteConfig
from ember.engine.base import Usage
from ember.engine.llamacpp.engine import ContextLengthExceededError
from ember.storage import Database

EMAIL = "jane.doe@example.org"
USAGE = Usage(5, 3, 0, 0.1, 10.0, 10.0)


class Local:
    """A local backend that answers "local answer", or refuses a long prompt."""

    def __init__(self) -> None:
        self.asked: list[ChatRequest] = []
        self.too_long = False

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        self.asked.append(request)
        if self.too_long:
            raise ContextLengthExceededError("the prompt has 9000 tokens but the context 2048")
        yield ChatDelta(content="local answer")
        yield ChatDone("stop", USAGE, content="local answer")

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return 2048


def sse(*pieces: str, finish: bool = True) -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    if finish:
        chunks.append(
            {
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 500},
            }
        )
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if finish else "")).encode()


Handler = Callable[[httpx.Request], httpx.Response]


def make_gate(
    tmp_path: Path,
    handler: Handler,
    *,
    policy: CloudPolicy = "auto",
    cloud_model: str | None = None,
    busy: bool = False,
    account_policy: Callable[[str], str | None] | None = None,
) -> tuple[CloudGate, Local, EgressLog]:
    local = Local()
    config = RemoteConfig.from_dict(
        {
            "name": "sky",
            "base_url": "http://sky.test",
            "cloud": True,
            "price_in": 2.0,
            "price_out": 4.0,
        }
    )
    remote = OpenAICompatBackend(config, transport=httpx.MockTransport(handler), retry_wait_s=0)
    log = EgressLog(Database(tmp_path / "ember.db"))
    gate = CloudGate(
        Backends(local, {"sky": remote}),
        guard=MessageGuard(),
        log_=log,
        policy=policy,
        cloud_model=cloud_model,
        local_model=lambda: "smollm2",
        local_busy=lambda _model: busy,
        account_policy=account_policy,
    )
    return gate, local, log


def run(gate: CloudGate, request: ChatRequest) -> list[ChatEvent]:
    async def go() -> list[ChatEvent]:
        return [e async for e in gate.stream(request)]

    return asyncio.run(go())


def request(content: str, model: str = "sky/big", **scope: Any) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(Message(role="user", content=content),),
        egress=EgressScope(**scope),
    )


def text_of(events: list[ChatEvent]) -> str:
    return "".join(e.content for e in events if isinstance(e, ChatDelta))


def test_placeholders_are_put_back_streamed_and_whole_and_invented_ones_stay(
    tmp_path: Path,
) -> None:
    seen: list[dict[str, Any]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(json.loads(req.content))
        # The placeholder arrives in two pieces; [EMAIL_9] was never in the request.
        return httpx.Response(200, content=sse("Mail [EMA", "IL_1] now, not [EMAIL_9]."))

    gate, _, log = make_gate(tmp_path, handler)
    events = run(gate, request(f"Write to {EMAIL} please"))
    sent = seen[0]["messages"][0]["content"]
    assert EMAIL not in sent
    assert "[EMAIL_1]" in sent
    expected = f"Mail {EMAIL} now, not [EMAIL_9]."
    assert text_of(events) == expected
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.content == expected
    assert done.route is not None
    assert done.route["target"] == "cloud"
    assert done.route["redacted"] == {"pii.email": 1}
    [entry] = log.entries()
    assert entry.status == "sent"
    assert entry.redacted == {"pii.email": 1}
    assert entry.prompt_tokens == 1000
    assert entry.completion_tokens == 500
    assert entry.cost == pytest.approx((1000 * 2.0 + 500 * 4.0) / 1e6)
    assert EMAIL not in json.dumps(entry.to_json())


def test_a_secret_blocks_the_request_and_nothing_is_sent(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(200, content=sse("no"))

    gate, _, log = make_gate(tmp_path, handler)
    key = "AKIA" + "QWERTYUIOPASDFGH"
    with pytest.raises(PrivacyBlockedError) as caught:
        run(gate, request(f"my key is {key}"))
    assert key not in str(caught.value)
    assert "secret" in str(caught.value)
    assert calls == []
    [entry] = log.entries()
    assert entry.status == "blocked"
    assert entry.sent_bytes == 0
    assert entry.blocked


def test_ask_needs_a_confirmation_and_a_prompt_too_long_for_local_escalates(
    tmp_path: Path,
) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse("from the cloud"))

    gate, local, _ = make_gate(tmp_path, handler, policy="ask", cloud_model="sky/big")
    local.too_long = True
    with pytest.raises(CloudConfirmationError) as caught:
        run(gate, request("a long question", model="smollm2"))
    assert "does not fit the local context" in str(caught.value)
    events = run(gate, request("a long question", model="smollm2", confirmed=True))
    assert text_of(events) == "from the cloud"
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.route is not None
    assert "does not fit" in done.route["reason"]


def test_local_only_keeps_an_escalation_local_and_a_full_queue_escalates_under_auto(
    tmp_path: Path,
) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse("cloud"))

    gate, _local, _ = make_gate(
        tmp_path, handler, policy="local-only", cloud_model="sky/big", busy=True
    )
    assert text_of(run(gate, request("hi", model="smollm2"))) == "local answer"
    gate.policy = "auto"
    events = run(gate, request("hi", model="smollm2"))
    assert text_of(events) == "cloud"
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.route is not None
    assert "queue is full" in done.route["reason"]


def test_a_provider_that_fails_cools_down_and_the_local_model_answers(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(503, json={"error": {"message": "overloaded"}})

    gate, local, log = make_gate(tmp_path, handler)
    for _ in range(2):
        events = run(gate, request("hello"))
        assert text_of(events) == "local answer"
        done = events[-1]
        assert isinstance(done, ChatDone)
        assert done.route is not None
        assert done.route["target"] == "local"
        assert "answered locally by smollm2" in done.route["notice"]
    # Tried ATTEMPTS times before the first answer fell back; the second request did not
    # wait for the failing provider at all.
    assert len(calls) == ATTEMPTS
    assert [e.status for e in log.entries()] == ["error"]
    assert local.asked[-1].model == "smollm2"


def test_a_stream_that_breaks_off_is_logged_incomplete(tmp_path: Path) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse("half an ans", finish=False))

    gate, _, log = make_gate(tmp_path, handler)
    events = run(gate, request("hello"))
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.finish_reason == "error"
    assert text_of(events) == "half an ans"
    assert log.entries()[0].status == "incomplete"


def test_passages_of_private_documents_never_leave_and_shareable_ones_do(
    tmp_path: Path,
) -> None:
    calls: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(200, content=sse("ok"))

    gate, _, log = make_gate(tmp_path, handler)
    gate.shareable = frozenset({"manuals"})
    with pytest.raises(PrivacyBlockedError) as caught:
        run(gate, request("What does clause 4 say?", documents=("contracts",)))
    assert "documents.private" in str(caught.value)
    tool_result = ChatRequest(
        model="sky/big",
        messages=(
            Message(role="user", content="find the lease terms"),
            Message(role="tool", content="[1] lease.pdf: ...", name="search_documents"),
        ),
    )
    with pytest.raises(PrivacyBlockedError):
        run(gate, tool_result)
    assert calls == []
    assert text_of(run(gate, request("What does the manual say?", documents=("manuals",)))) == "ok"
    assert len(calls) == 1
    assert [e.status for e in log.entries()] == ["sent", "blocked", "blocked"]


def test_a_signal_from_the_answering_path_is_decided_under_the_policy(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        return httpx.Response(200, content=sse("cloud"))

    gate, _local, log = make_gate(tmp_path, handler, policy="local-only", cloud_model="sky/big")
    failed = request(
        "what is x?",
        model="smollm2",
        escalate="tools_failed",
        escalate_detail="calculator failed: bad input",
    )
    assert gate.escalation(failed, "tools_failed", "").outcome == "local"
    assert text_of(run(gate, failed)) == "local answer"  # local-only: nothing leaves
    assert sent == []
    # "asked" is the user asking for the cloud model: refused under local-only, like a pick
    with pytest.raises(CloudRefusedError):
        run(gate, request("hi", model="smollm2", escalate="asked"))
    gate.policy = "ask"
    assert gate.escalation(failed, "tools_failed", "x").outcome == "ask"
    assert gate.escalation(request("hi"), "tools_failed", "x").outcome == "local"  # on cloud
    gate.policy = "auto"
    events = run(gate, failed)
    assert text_of(events) == "cloud"
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.route is not None
    assert done.route["reason"] == (
        "the local model did not manage the tools (calculator failed: bad input)"
    )
    assert len(sent) == 1
    assert [e.reason for e in log.entries()] == [done.route["reason"]]


def test_with_accounts_a_conversation_cannot_allow_more_than_its_users_account(
    tmp_path: Path,
) -> None:
    """The server's policy is auto; an admin held carol's account to local-only, so her
    conversation set to auto stays local, and her requests are logged under her id."""
    sent: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        return httpx.Response(200, content=sse("cloud"))

    accounts = {"carol": "local-only", "dan": None}
    gate, _local, log = make_gate(
        tmp_path,
        handler,
        policy="auto",
        cloud_model="sky/big",
        busy=True,
        account_policy=accounts.get,
    )
    held = request("hi", model="smollm2", policy="auto", user_id="carol")
    assert gate.policy_of(held) == "local-only"
    assert text_of(run(gate, held)) == "local answer"
    with pytest.raises(CloudRefusedError):
        run(gate, request("hi", policy="auto", user_id="carol"))  # picking the cloud model
    assert sent == []
    assert [e.status for e in log.entries(user_id="carol")] == []

    # dan's account has no policy of its own: the server's (auto) is his ceiling
    events = run(gate, request("hi", model="smollm2", user_id="dan"))
    assert text_of(events) == "cloud"
    assert gate.policy_of(request("hi", policy="ask", user_id="dan")) == "ask"  # stricter
    [entry] = log.entries(user_id="dan")
    assert (entry.user_id, entry.status) == ("dan", "sent")
    assert log.entries(user_id="carol") == []
