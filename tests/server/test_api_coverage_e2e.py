"""The rest of both APIs against a real server: legacy completions, raw generate,
load/unload, embeddings from a chat model, pull/copy/delete, and tool calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import build
from tests.hubs.ollama_registry import RegistryState, ollama_registry
from tests.server.conftest import serving

MODEL = "smollm2:135m"
RAW_PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}


@pytest.fixture(scope="module")
def registry(tiny_gguf: Path) -> Iterator[tuple[str, RegistryState]]:
    with ollama_registry() as (url, state):
        state.add_model("library/tiny", "1b", tiny_gguf.read_bytes())
        yield url, state


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory,
    smollm2_path: Path,
    registry: tuple[str, RegistryState],
) -> Iterator[str]:
    home = tmp_path_factory.mktemp("server-home")
    runtime = build(load_settings(home=home, ollama_registry=registry[0]))
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield url
    runtime.close()


@pytest.fixture
def openai_client(base_url: str) -> Iterator[object]:
    from openai import OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    yield client
    client.close()


@pytest.fixture
def ollama_client(base_url: str) -> Iterator[object]:
    import ollama

    client = ollama.Client(host=base_url)
    yield client
    client._client.close()


def test_legacy_completions_n_echo_stream_and_logprobs(openai_client: object) -> None:
    """Each choice is checked on its own: n choices share a batch, and llama.cpp's kernels
    depend on the batch size, so greedy choices (or a later run) may differ at a near-tie."""
    from openai import OpenAI

    assert isinstance(openai_client, OpenAI)
    reply = openai_client.completions.create(
        model=MODEL, prompt=RAW_PROMPT, max_tokens=8, temperature=0, n=2, logprobs=2
    )
    assert [c.index for c in reply.choices] == [0, 1]
    token_counts = []
    for choice in reply.choices:
        assert choice.text
        assert choice.finish_reason in ("stop", "length")
        logprobs = choice.logprobs
        assert logprobs is not None
        assert logprobs.tokens is not None
        assert "".join(logprobs.tokens) == choice.text
        assert logprobs.token_logprobs is not None
        assert len(logprobs.token_logprobs) == len(logprobs.tokens)
        assert 0 < len(logprobs.tokens) <= 8
        if choice.finish_reason == "length":
            assert len(logprobs.tokens) == 8
        token_counts.append(len(logprobs.tokens))
    assert reply.usage is not None
    assert reply.usage.completion_tokens == sum(token_counts)  # both choices
    echoed = openai_client.completions.create(
        model=MODEL, prompt="Once upon a time", max_tokens=4, temperature=0, echo=True, n=2
    )
    assert [c.index for c in echoed.choices] == [0, 1]
    for choice in echoed.choices:
        assert choice.text.startswith("Once upon a time")
        assert len(choice.text) > len("Once upon a time")
    streamed = openai_client.completions.create(
        model=MODEL,
        prompt=RAW_PROMPT,
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, text_chunks = "", None, None, 0
    for chunk in streamed:
        if chunk.choices:
            assert chunk.choices[0].index == 0
            assert finish is None, "text after the finish reason"
            text += chunk.choices[0].text
            text_chunks += bool(chunk.choices[0].text)
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert text
    assert text_chunks > 1, "the answer came in one piece: it did not stream"
    assert finish in ("stop", "length")
    assert usage is not None
    assert 0 < usage.completion_tokens <= 8
    if finish == "length":
        assert usage.completion_tokens == 8
    assert usage.prompt_tokens == reply.usage.prompt_tokens  # the same prompt, counted once


def test_ollama_raw_generate_load_unload_and_embeddings(ollama_client: object) -> None:
    import ollama

    assert isinstance(ollama_client, ollama.Client)
    ollama_client.generate(model=MODEL, keep_alive=0)  # unload whatever earlier tests loaded
    assert ollama_client.ps().models == []
    loaded = ollama_client.generate(model=MODEL)
    assert loaded.done_reason == "load"
    assert [m.model for m in ollama_client.ps().models] == [MODEL]
    raw = ollama_client.generate(
        model=MODEL, prompt=RAW_PROMPT, raw=True, options={"num_predict": 24, "temperature": 0}
    )
    templated = ollama_client.generate(
        model=MODEL,
        prompt="What is the capital of France?",
        options={"num_predict": 8, "temperature": 0},
    )
    assert raw.response
    assert "Paris" in raw.response
    assert raw.eval_count is not None
    assert 0 < raw.eval_count <= 24
    assert templated.response  # the chat template adds a system prompt, so texts may differ
    chat_unloaded = ollama_client.chat(model=MODEL, messages=[], keep_alive=0)
    assert chat_unloaded.done_reason == "unload"
    assert ollama_client.ps().models == []

    embedded = ollama_client.embed(model=MODEL, input=["a cat sat on the mat", "stock prices"])
    assert len(embedded.embeddings) == 2
    assert len(embedded.embeddings[0]) == 576  # SmolLM2-135M's hidden size
    assert embedded.embeddings[0] != embedded.embeddings[1]
    old = ollama_client.embeddings(model=MODEL, prompt="a cat sat on the mat")
    assert old.embedding == pytest.approx(list(embedded.embeddings[0]), abs=1e-4)
    assert [m.model for m in ollama_client.ps().models] == [MODEL]  # one entry, not two


def test_openai_embeddings_from_a_chat_model(openai_client: object) -> None:
    from openai import OpenAI

    assert isinstance(openai_client, OpenAI)
    result = openai_client.embeddings.create(model=MODEL, input=["hello", "world"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 576
    assert result.usage.prompt_tokens > 0


def test_ollama_pull_copy_delete(ollama_client: object, base_url: str) -> None:
    import ollama

    assert isinstance(ollama_client, ollama.Client)
    statuses = [p.status for p in ollama_client.pull("tiny:1b", stream=True)]
    assert statuses[-1] == "success"
    assert any(s and s.startswith("pulling") for s in statuses)
    names = {m.model for m in ollama_client.list().models}
    assert "tiny:1b" in names
    ollama_client.copy("tiny:1b", "tiny-copy:latest")
    assert "tiny-copy:latest" in {m.model for m in ollama_client.list().models}
    ollama_client.copy("tiny:1b", "tiny-copy:latest")  # a taken name is replaced, as Ollama does
    ollama_client.delete("tiny-copy:latest")
    ollama_client.delete("tiny:1b")
    assert {m.model for m in ollama_client.list().models} == {MODEL}
    with pytest.raises(ollama.ResponseError) as missing:
        ollama_client.delete("tiny:1b")
    assert missing.value.status_code == 404
    failed = httpx.post(f"{base_url}/api/pull", json={"model": "absent:1b"}, timeout=30)
    lines = [json.loads(line) for line in failed.text.splitlines()]
    assert "error" in lines[-1]
    not_streamed = httpx.post(
        f"{base_url}/api/pull", json={"model": "tiny:1b", "stream": False}, timeout=30
    )
    assert not_streamed.json() == {"status": "success"}


def test_openai_tool_call_round_trip(openai_client: object) -> None:
    """A forced call is well formed and valid; its result goes back and gets an answer."""
    from openai import OpenAI

    assert isinstance(openai_client, OpenAI)
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "What is the weather in Paris, in celsius?"}
    ]
    reply = openai_client.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=[WEATHER_TOOL],
        tool_choice="required",
        temperature=0,
        max_tokens=64,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls
    assert calls[0].type == "function"
    call = calls[0]
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments["city"], str)
    assert arguments["unit"] in ("celsius", "fahrenheit")
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sunny"})
    answer = openai_client.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=[WEATHER_TOOL],
        tool_choice="none",
        temperature=0,
        max_tokens=32,
    )
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.choices[0].message.content
    streamed = openai_client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
        max_tokens=64,
        stream=True,
    )
    names, args, finish = [], "", None
    for chunk in streamed:
        delta = chunk.choices[0].delta if chunk.choices else None
        for tc in (delta.tool_calls or []) if delta else []:
            if tc.function and tc.function.name:
                names.append(tc.function.name)
            if tc.function and tc.function.arguments:
                args += tc.function.arguments
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert names == ["get_weather"]
    assert json.loads(args)["city"]
    assert finish == "tool_calls"


def test_ollama_tools(ollama_client: object) -> None:
    """Ollama's tools with a grammar-forced answer format (format=json keeps it JSON)."""
    import ollama

    assert isinstance(ollama_client, ollama.Client)
    reply = ollama_client.chat(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Rome in celsius?"}],
        tools=[WEATHER_TOOL],
        options={"temperature": 0, "num_predict": 64},
    )
    # Ollama has no tool_choice: the model decides. Either way the reply is well formed.
    calls = reply.message.tool_calls or []
    for call in calls:
        assert call.function.name == "get_weather"
        assert isinstance(call.function.arguments, dict)
    assert calls or reply.message.content


def test_langchain_chat_openai_invoke_and_stream(base_url: str) -> None:
    from langchain_openai import ChatOpenAI

    """invoke and stream each give a whole answer with its usage. Their texts are not
    compared: the second request hits the prefix cache (only the prompt's last token is
    read again, a batch of one), so a near-tie may go another way on some CPUs."""
    from langchain_core.messages import AIMessageChunk

    llm = ChatOpenAI(
        base_url=f"{base_url}/v1",
        api_key="unused",
        model=MODEL,
        temperature=0,
        max_tokens=16,
        stream_usage=True,
    )
    question = "What is the capital of France? One word."
    answer = llm.invoke(question)
    assert isinstance(answer.content, str)
    assert answer.content
    assert answer.usage_metadata is not None
    assert 0 < answer.usage_metadata["output_tokens"] <= 16
    assert answer.response_metadata["finish_reason"] in ("stop", "length")
    chunks = list(llm.stream(question))
    pieces = [str(chunk.content) for chunk in chunks if chunk.content]
    assert len(pieces) > 1, "the answer came in one piece: it did not stream"
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert isinstance(whole, AIMessageChunk)
    assert whole.content == "".join(pieces)
    assert whole.response_metadata["finish_reason"] in ("stop", "length")
    assert whole.usage_metadata is not None
    assert 0 < whole.usage_metadata["output_tokens"] <= 16
    assert whole.usage_metadata["input_tokens"] == answer.usage_metadata["input_tokens"]
    llm.root_client.close()


def test_ollama_embed_refuses_too_long_input_when_asked_not_to_truncate(
    ollama_client: object,
) -> None:
    """Truncation itself is tested on the embedder with a small context (fast)."""
    import ollama

    assert isinstance(ollama_client, ollama.Client)
    long_text = "the quick brown fox jumps over the lazy dog " * 500  # ~4500 tokens
    with pytest.raises(ollama.ResponseError) as refused:
        ollama_client.embed(model=MODEL, input=long_text, truncate=False)
    assert refused.value.status_code == 400
    assert "at most 4096" in str(refused.value)


def test_ollama_prompt_longer_than_the_context_is_refused_with_the_numbers(
    base_url: str,
) -> None:
    too_long = {"model": MODEL, "messages": [{"role": "user", "content": "word " * 9000}]}
    response = httpx.post(f"{base_url}/api/chat", json=too_long, timeout=60)
    assert response.status_code == 400
    message = response.json()["error"]
    assert "tokens" in message
    assert "context of" in message
    generate = httpx.post(
        f"{base_url}/api/generate", json={"model": MODEL, "prompt": "word " * 9000}, timeout=60
    )
    assert generate.status_code == 400


def test_ollama_num_ctx_loads_the_model_with_that_context(base_url: str) -> None:
    """``options.num_ctx`` is honoured as Ollama does (another instance of the model with
    that context): a prompt that fits the default context is refused in 1,024 tokens."""
    prompt = "word " * 1500
    body: dict[str, object] = {
        "model": MODEL,
        "prompt": prompt,
        "stream": False,
        "options": {"num_predict": 1, "num_ctx": 1024},
    }
    small = httpx.post(f"{base_url}/api/generate", json=body, timeout=120)
    assert small.status_code == 400
    assert "context of 1024" in small.json()["error"]
    body["options"] = {"num_predict": 1, "num_ctx": 4096}
    larger = httpx.post(f"{base_url}/api/generate", json=body, timeout=120)
    assert larger.status_code == 200, larger.text
    loaded = httpx.get(f"{base_url}/api/ps").json()["models"]
    assert [m["name"] for m in loaded] == [MODEL]  # one entry per model
    httpx.post(f"{base_url}/api/generate", json={"model": MODEL, "keep_alive": 0})
    assert httpx.get(f"{base_url}/api/ps").json()["models"] == []  # every instance unloaded
