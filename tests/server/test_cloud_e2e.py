"""The cloud gate end to end: a front Ember whose cloud provider is a second Ember on
another loopback port, with a recorder in front of it that keeps every request body it
receives. Policies come from API keys (the front demands keys), so one front serves
every policy; the prompts are seeded with secrets, personal data and benign text."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.chat.egress_log import EgressLog
from ember.config import Settings, load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import free_port, serving

MODEL = "smollm2:135m"
CLOUD_MODEL = f"cloudy/{MODEL}"


class Recorder:
    """ASGI middleware: keeps the body of every chat request the provider receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.bodies.append(body)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder(None)


@pytest.fixture(scope="module")
def cloud_url(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path, recorder: Recorder
) -> Iterator[str]:
    runtime = build(load_settings(home=tmp_path_factory.mktemp("cloud-home")))
    runtime.models.pull(str(smollm2_path), name=MODEL)

    def wrap(app: Any) -> Any:
        recorder.app = app
        return recorder

    with serving(runtime, wrap=wrap) as url:
        yield url
    runtime.close()


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path, cloud_url: str
) -> Iterator[tuple[str, Runtime, dict[str, str]]]:
    remotes = [
        {"name": "cloudy", "base_url": cloud_url, "cloud": True, "price_in": 1.0, "price_out": 2.0},
        {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}", "cloud": True},
    ]
    settings = load_settings(
        home=tmp_path_factory.mktemp("front-home"),
        remotes=remotes,
        auth="always",
        default_model=MODEL,
        preload=False,
    )
    yield from serve_with_policy_keys(settings, smollm2_path)


def serve_with_policy_keys(
    settings: Settings, model_path: Path
) -> Iterator[tuple[str, Runtime, dict[str, str]]]:
    """A front Ember serving SmolLM2, with one API key per cloud policy."""
    runtime = build(settings)
    runtime.models.pull(str(model_path), name=MODEL)
    keys = {
        policy: runtime.keys.create(policy, cloud_policy=policy)[1]
        for policy in ("local-only", "ask", "auto")
    }
    with serving(runtime) as url:
        yield url, runtime, keys
    runtime.close()


def ask(
    front: tuple[str, Runtime, dict[str, str]],
    policy: str,
    content: str,
    *,
    model: str = CLOUD_MODEL,
    stream: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    url, _, keys = front
    body = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 4,
        "temperature": 0,
        "stream": stream,
    }
    return httpx.post(
        f"{url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {keys[policy]}", **(headers or {})},
        timeout=120,
    )


# ---------------------------------------------------------------- a seeded corpus


def _luhn_complete(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return digits + str((10 - total % 10) % 10)


def _iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in moved))
    return f"{country}{98 - number % 97:02d}{bban}"


def protected_prompts(seed: int = 7) -> list[tuple[str, str]]:
    """(prompt, the protected value inside it), generated afresh from ``seed``."""
    rng = secrets.SystemRandom() if seed < 0 else __import__("random").Random(seed)

    def chars(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    alnum = string.ascii_letters + string.digits
    card = _luhn_complete("4" + chars(string.digits, 14))
    values = [
        ("Please email {} about the invoice.", f"{chars(string.ascii_lowercase, 7)}@example.org"),
        ("Call me on {} tomorrow.", f"+44 20 7946 0{chars(string.digits, 3)}"),
        ("My card is {}, can you check it?", " ".join(card[i : i + 4] for i in range(0, 16, 4))),
        ("Send the refund to {}.", _iban("DE", chars(string.digits, 18))),
        ("export AWS_ACCESS_KEY_ID={}", "AKIA" + chars(string.ascii_uppercase + string.digits, 16)),
        ("why does git push fail with token {}", "ghp_" + chars(alnum, 36)),
        ('config: password = "{}"', chars(alnum, 14) + "!9"),
        ("fetch https://admin:{}@db.internal.example/x", chars(alnum, 12)),
    ]
    return [(template.format(value), value) for template, value in values]


BENIGN = [
    "Explain what a hash table is.",
    "Commit 3f2a9c1 fixed the build on version 2.4.1.",
    "What is 17 * 23?",
    "Summarise the plot of Hamlet in one line.",
]


# ---------------------------------------------------------------- the tests


def test_local_only_refuses_a_cloud_model_and_nothing_leaves(
    front: tuple[str, Runtime, dict[str, str]], recorder: Recorder
) -> None:
    before = len(recorder.bodies)
    response = ask(front, "local-only", "Hello there")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "cloud_refused"
    assert "local-only" in error["message"]
    assert len(recorder.bodies) == before


def test_ask_names_the_reason_until_the_request_is_confirmed(
    front: tuple[str, Runtime, dict[str, str]], recorder: Recorder
) -> None:
    before = len(recorder.bodies)
    refused = ask(front, "ask", "Hello there")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cloud_confirmation_required"
    assert CLOUD_MODEL in refused.json()["error"]["message"]
    assert len(recorder.bodies) == before
    confirmed = ask(front, "ask", "Hello there", headers={"X-Ember-Cloud": "allow"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["meta"]["route"]["target"] == "cloud"
    assert len(recorder.bodies) == before + 1


def test_no_protected_value_reaches_the_cloud_and_benign_prompts_arrive_unchanged(
    front: tuple[str, Runtime, dict[str, str]], recorder: Recorder
) -> None:
    _url, runtime, _ = front
    start = len(recorder.bodies)
    outcomes: dict[str, int] = {}
    for prompt, value in protected_prompts():
        for stream in (False, True):
            response = ask(front, "auto", prompt, stream=stream)
            outcomes[str(response.status_code)] = outcomes.get(str(response.status_code), 0) + 1
            assert response.status_code in (200, 403), response.text
            if response.status_code == 403:
                assert response.json()["error"]["code"] == "privacy_blocked"
                assert value not in response.text  # the refusal names kinds, not values
    received = recorder.bodies[start:]
    for body in received:
        text = body.decode()
        for _, value in protected_prompts():
            assert value not in text
            assert json.dumps(value)[1:-1] not in text
    for prompt in BENIGN:
        response = ask(front, "auto", prompt)
        assert response.status_code == 200, response.text
        sent = json.loads(recorder.bodies[-1])
        assert sent["messages"][-1]["content"] == prompt
        assert response.json()["meta"]["route"]["redacted"] == {}
    assert outcomes.get("200", 0) > 0  # some were redacted and sent, not all blocked

    # The egress log matches what the provider received, request for request.
    entries = EgressLog(runtime.db).entries(limit=1000, provider="cloudy")
    logged = sorted(e.body_sha256 for e in entries if e.status not in ("blocked", "error"))
    seen = sorted(hashlib.sha256(b).hexdigest() for b in recorder.bodies)
    assert logged == seen
    for entry in entries:
        assert all(value not in json.dumps(entry.to_json()) for _, value in protected_prompts())


def test_a_provider_that_is_down_falls_back_to_local_with_a_notice(
    front: tuple[str, Runtime, dict[str, str]],
) -> None:
    response = ask(front, "auto", "Say hi.", model=f"down/{MODEL}")
    assert response.status_code == 200, response.text
    route = response.json()["meta"]["route"]
    assert route["target"] == "local"
    assert "down" in route["notice"]
    assert "answered locally" in route["notice"]
    assert response.json()["choices"][0]["message"]["content"]
    _, runtime, _ = front
    assert EgressLog(runtime.db).entries(provider="down")[0].status == "error"
