"""A real `ember serve` app on 127.0.0.1 driven by the official openai and ollama clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from ember.server.app import BindRefusedError, check_bind
from tests.server.conftest import serving

MODEL = "smollm2:135m"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[str]:
    home = tmp_path_factory.mktemp("server-home")
    runtime = build(load_settings(home=home))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


def test_openai_sdk_chat_and_stream(base_url: str, request: pytest.FixtureRequest) -> None:
    """A whole answer and a streamed one, each checked on its own. Their texts are not
    compared: the second request hits the prefix cache (only the prompt's last token is
    read again, a batch of one), so a near-tie may go another way on some CPUs."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    request.addfinalizer(client.close)
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=12,
        temperature=0,
    )
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert 0 < reply.usage.completion_tokens <= 12
    if reply.choices[0].finish_reason == "length":
        assert reply.usage.completion_tokens == 12
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.choices:
            assert finish is None, "a delta after the finish reason"
            finish = chunk.choices[0].finish_reason
            if chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert len(pieces) > 1, "the answer came in one piece: it did not stream"
    assert "".join(pieces).strip()
    assert finish in ("stop", "length")
    assert usage is not None
    assert 0 < usage.completion_tokens <= 12
    if finish == "length":
        assert usage.completion_tokens == 12
    assert usage.prompt_tokens == reply.usage.prompt_tokens


def test_openai_json_schema_output_parses(base_url: str, request: pytest.FixtureRequest) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    request.addfinalizer(client.close)
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 30},
            "population": {"type": "integer"},
        },
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Give a city and its population as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
        max_tokens=120,
        seed=7,
    )
    assert reply.choices[0].finish_reason == "stop", reply.choices[0].message.content
    value = json.loads(reply.choices[0].message.content or "")
    assert set(value) == {"city", "population"}


def test_openai_models_and_errors(base_url: str, request: pytest.FixtureRequest) -> None:
    from openai import NotFoundError, OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    request.addfinalizer(client.close)
    assert [m.id for m in client.models.list()] == [MODEL]
    with pytest.raises(NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    bad = httpx.post(f"{base_url}/v1/chat/completions", content=b"{not json", timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    too_long = httpx.post(
        f"{base_url}/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "word " * 9000}]},
        timeout=60,
    )
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "context_length_exceeded"


def test_ollama_client_chat_stream_list_show_ps(
    base_url: str, request: pytest.FixtureRequest
) -> None:
    import ollama

    client = ollama.Client(host=base_url)
    request.addfinalizer(client._client.close)
    # Each answer is checked on its own: the repeated prompt hits the prefix cache (only
    # its last token is read again, a batch of one), so a near-tie may go another way.
    options = {"num_predict": 10, "temperature": 0}
    messages = [{"role": "user", "content": "Say hi."}]
    reply = client.chat(model=MODEL, messages=messages, options=options)
    assert reply.message.content
    assert reply.done
    assert reply.done_reason in ("stop", "length")
    assert reply.eval_count is not None
    assert 0 < reply.eval_count <= 10
    parts = list(client.chat(model=MODEL, messages=messages, options=options, stream=True))
    streamed = "".join(part.message.content or "" for part in parts)
    assert streamed
    assert sum(bool(part.message.content) for part in parts) > 1, "it did not stream"
    assert [part.done for part in parts].index(True) == len(parts) - 1  # done comes last
    assert parts[-1].done_reason in ("stop", "length")
    assert parts[-1].eval_count is not None
    assert 0 < parts[-1].eval_count <= 10
    assert parts[-1].prompt_eval_count == reply.prompt_eval_count
    generated = client.generate(model=MODEL, prompt="Say hi.", options=options)
    assert generated.response
    assert generated.done
    assert generated.done_reason in ("stop", "length")
    assert generated.eval_count is not None
    assert 0 < generated.eval_count <= 10
    generate_parts = list(
        client.generate(model=MODEL, prompt="Say hi.", options=options, stream=True)
    )
    assert "".join(part.response for part in generate_parts)
    assert sum(bool(part.response) for part in generate_parts) > 1, "it did not stream"
    assert [part.done for part in generate_parts].index(True) == len(generate_parts) - 1
    assert generate_parts[-1].done_reason in ("stop", "length")
    assert generate_parts[-1].eval_count is not None
    assert 0 < generate_parts[-1].eval_count <= 10
    assert generate_parts[-1].prompt_eval_count == generated.prompt_eval_count
    assert [m.model for m in client.list().models] == [MODEL]
    shown = client.show(MODEL)
    assert shown.details is not None
    assert shown.details.quantization_level == "Q4_1"
    assert [m.model for m in client.ps().models] == [MODEL]
    with pytest.raises(ollama.ResponseError):
        client.chat(model="nope:1b", messages=[{"role": "user", "content": "hi"}])


def test_non_loopback_bind_is_refused() -> None:
    check_bind("127.0.0.1")
    check_bind("::1")
    with pytest.raises(BindRefusedError):
        check_bind("0.0.0.0")
