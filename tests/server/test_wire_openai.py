"""OpenAI wire conversion: request bodies -> Ember types, Ember results -> OpenAI shapes.

Response shapes are checked against the official SDK's own models, and the SDK itself
talks to the converters through an in-memory transport, so "matches the API" means "the
real client accepts it", not "matches what we believe".
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any

import httpx2 as httpx  # the openai SDK's own HTTP client package
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types import Completion, CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from ember.chat.types import ChatDelta, ChatDone, ChatProgress, ResponseFormat, ToolCall
from ember.engine.base import SamplingParams, TokenLogprob, Usage
from ember.errors import EmberError, ModelNotFoundError
from ember.server import wire_openai as wo
from ember.server.wire_common import InvalidRequestError

USAGE = Usage(
    prompt_tokens=12,
    completion_tokens=5,
    cached_tokens=4,
    ttft_s=0.1,
    prompt_tps=80.0,
    decode_tps=20.0,
)
IDS: dict[str, Any] = {
    "model": "qwen2.5:0.5b",
    "request_id": "chatcmpl-1",
    "created": 1_700_000_000,
}
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def body(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    out.update(fields)
    return out


def bad(
    fields: dict[str, Any], convert: Callable[[Any], object] = wo.to_chat_request
) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        convert(fields)
    err = info.value
    assert isinstance(err, EmberError)
    assert err.status == 400
    return err


# ------------------------------------------------------------------- chat requests


def test_minimal_request_keeps_ember_defaults() -> None:
    req = wo.to_chat_request(body())
    assert req.model == "m"
    assert [(m.role, m.content) for m in req.messages] == [("user", "hi")]
    assert req.sampling == SamplingParams()
    assert (req.max_tokens, req.stop, req.stream, req.n) == (None, (), False, 1)
    assert (req.tools, req.tool_choice, req.logprobs) == ((), "auto", None)
    assert req.response_format == ResponseFormat()
    assert req.parallel_tool_calls is True


def test_sampling_fields_map_to_sampling_params() -> None:
    req = wo.to_chat_request(
        body(
            temperature=0.2,
            top_p=0.5,
            seed=7,
            presence_penalty=0.5,
            frequency_penalty=-1,
            logit_bias={"50256": -100, "13": 2.5},
            top_k=20,
            min_p=0.1,
            repeat_penalty=1.1,
        )
    )
    s = req.sampling
    assert (s.temperature, s.top_p, s.seed, s.top_k, s.min_p) == (0.2, 0.5, 7, 20, 0.1)
    assert (s.presence_penalty, s.frequency_penalty, s.repeat_penalty) == (0.5, -1.0, 1.1)
    assert s.logit_bias == {50256: -100.0, 13: 2.5}


def test_max_completion_tokens_is_max_tokens_and_wins() -> None:
    assert wo.to_chat_request(body(max_tokens=9)).max_tokens == 9
    assert wo.to_chat_request(body(max_completion_tokens=11)).max_tokens == 11
    assert wo.to_chat_request(body(max_tokens=9, max_completion_tokens=11)).max_tokens == 11


@pytest.mark.parametrize(
    ("stop", "expected"),
    [("END", ("END",)), (["a", "b"], ("a", "b")), (None, ()), (["", "x"], ("x",))],
)
def test_stop_string_or_list(stop: Any, expected: tuple[str, ...]) -> None:
    assert wo.to_chat_request(body(stop=stop)).stop == expected


def test_stream_options_include_usage() -> None:
    parsed = wo.parse_body(
        wo.ChatCompletionRequest, body(stream=True, stream_options={"include_usage": True})
    )
    assert parsed.include_usage
    assert wo.to_chat_request(parsed).stream is True
    assert not wo.parse_body(
        wo.ChatCompletionRequest, body(stream_options={"include_usage": True})
    ).include_usage


def test_unknown_fields_are_ignored() -> None:
    req = wo.to_chat_request(
        body(
            store=True,
            metadata={"a": "b"},
            service_tier="auto",
            reasoning_effort="low",
            user="u1",
            modalities=["text"],
            messages=[{"role": "user", "content": "x", "extra": 1}],
        )
    )
    assert req.messages[0].content == "x"


def test_content_parts_text_and_inline_image() -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    req = wo.to_chat_request(
        body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                        {"type": "text", "text": "this?"},
                        {"type": "image_url", "image_url": f"data:image/jpeg;base64,{png}"},
                    ],
                }
            ]
        )
    )
    assert req.messages[0].content == "what is\nthis?"
    assert req.messages[0].images == (png, png)


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "image_url", "image_url": {"url": "https://x/cat.png"}}, "image_url.url"),
        ({"type": "image_url", "image_url": {"url": "data:image/png,raw"}}, "image_url.url"),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}, "image_url.url"),
        ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, "type"),
        ({"type": "text"}, "text"),
        ({"type": "image_url"}, "image_url"),
    ],
)
def test_bad_content_parts(part: dict[str, Any], param: str) -> None:
    err = bad(body(messages=[{"role": "user", "content": [part]}]))
    assert err.param == f"messages[0].content[0].{param}"


def test_remote_image_error_has_hint() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
    err = bad(body(messages=[{"role": "user", "content": [part]}]))
    assert err.hint
    assert "data:" in err.hint


def test_content_of_wrong_type() -> None:
    err = bad(body(messages=[{"role": "user", "content": 42}]))
    assert err.param == "messages[0].content"
    assert "string or a list" in err.message


def test_roles_developer_and_function() -> None:
    req = wo.to_chat_request(
        body(
            messages=[
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "f", "arguments": "{}"},
                },
                {"role": "function", "name": "f", "content": "42"},
            ]
        )
    )
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool"]
    assert req.messages[2].tool_calls == (ToolCall(id="call_2_0", name="f", arguments="{}"),)
    assert req.messages[3].name == "f"


def test_unknown_role_is_a_clear_400() -> None:
    err = bad(body(messages=[{"role": "wizard", "content": "x"}]))
    assert err.param == "messages[0].role"
    assert err.code == "invalid_value"
    assert "'user'" in err.message


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"messages": []}, "messages", "invalid_value"),
        ({"messages": None}, "messages", "invalid_type"),
        ({"model": ""}, "model", "invalid_value"),
        ({"temperature": 2.5}, "temperature", "invalid_value"),
        ({"temperature": -0.1}, "temperature", "invalid_value"),
        ({"temperature": "hot"}, "temperature", "invalid_type"),
        ({"temperature": [1]}, "temperature", "invalid_type"),
        ({"top_p": 1.5}, "top_p", "invalid_value"),
        ({"n": 0}, "n", "invalid_value"),
        ({"presence_penalty": 3}, "presence_penalty", "invalid_value"),
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs", "invalid_value"),
        ({"logit_bias": {"abc": 1}}, "logit_bias", "invalid_value"),
        ({"logit_bias": {"5": 200}}, "logit_bias", "invalid_value"),
        ({"stop": 5}, "stop", "invalid_value"),
        ({"max_tokens": 0}, "max_tokens", "invalid_value"),
        ({"stream": "maybe"}, "stream", "invalid_type"),
        ({"tools": [{"type": "custom", "custom": {}}]}, "tools[0].type", "invalid_value"),
        ({"response_format": {"type": "xml"}}, "response_format.type", "invalid_value"),
        ({"messages": [{"content": "no role"}]}, "messages[0].role", "missing_required_parameter"),
    ],
)
def test_bad_values_name_their_param(fields: dict[str, Any], param: str, code: str) -> None:
    err = bad(body(**fields))
    assert (err.param, err.code) == (param, code)
    assert param in err.message


def test_missing_required_fields() -> None:
    err = bad({"messages": [{"role": "user", "content": "x"}]})
    assert err.param == "model"
    assert err.message == "missing required parameter 'model'"
    assert bad({"model": "m"}).param == "messages"


def test_empty_messages_message() -> None:
    assert "at least one message" in bad(body(messages=[])).message


def test_body_must_be_an_object() -> None:
    err = bad([1, 2])  # type: ignore[arg-type]
    assert err.code == "invalid_type"


def test_logprobs() -> None:
    assert wo.to_chat_request(body(logprobs=True)).logprobs == 0
    assert wo.to_chat_request(body(logprobs=True, top_logprobs=5)).logprobs == 5
    assert wo.to_chat_request(body(logprobs=False)).logprobs is None
    assert bad(body(top_logprobs=3)).param == "top_logprobs"


def test_tools_and_tool_choice() -> None:
    req = wo.to_chat_request(body(tools=[WEATHER_TOOL]))
    assert req.tools[0].name == "get_weather"
    assert req.tools[0].parameters["properties"]["city"] == {"type": "string"}
    assert req.tool_choice == "auto"
    for choice in ("none", "auto", "required"):
        assert (
            wo.to_chat_request(body(tools=[WEATHER_TOOL], tool_choice=choice)).tool_choice == choice
        )
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert (
        wo.to_chat_request(body(tools=[WEATHER_TOOL], tool_choice=named)).tool_choice
        == "get_weather"
    )
    assert (
        wo.to_chat_request(
            body(tools=[WEATHER_TOOL], parallel_tool_calls=False)
        ).parallel_tool_calls
        is False
    )


def test_tool_without_description_or_parameters() -> None:
    req = wo.to_chat_request(body(tools=[{"type": "function", "function": {"name": "ping"}}]))
    assert (req.tools[0].description, req.tools[0].parameters) == ("", {})


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [WEATHER_TOOL], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {}}},
            "tool_choice",
        ),
        (
            {
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "function", "function": {"name": "x"}},
            },
            "tool_choice",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": 3}, "tool_choice"),
        (
            {"functions": [WEATHER_TOOL["function"]], "function_call": {"name": "nope"}},
            "function_call",
        ),
    ],
)
def test_bad_tool_choice(fields: dict[str, Any], param: str) -> None:
    assert bad(body(**fields)).param == param


def test_legacy_functions() -> None:
    req = wo.to_chat_request(
        body(functions=[WEATHER_TOOL["function"]], function_call={"name": "get_weather"})
    )
    assert [t.name for t in req.tools] == ["get_weather"]
    assert req.tool_choice == "get_weather"
    assert (
        wo.to_chat_request(
            body(functions=[WEATHER_TOOL["function"]], function_call="none")
        ).tool_choice
        == "none"
    )


def test_tool_history_and_names_from_ids() -> None:
    req = wo.to_chat_request(
        body(
            messages=[
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        },
                        {
                            "type": "function",
                            "function": {"name": "get_time", "arguments": {"tz": "CET"}},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
            ]
        )
    )
    assistant, tool = req.messages[1], req.messages[2]
    assert assistant.content == ""
    assert assistant.tool_calls[0] == ToolCall("call_a", "get_weather", '{"city": "Paris"}')
    assert assistant.tool_calls[1].id == "call_1_1"
    assert json.loads(assistant.tool_calls[1].arguments) == {"tz": "CET"}
    assert (tool.role, tool.tool_call_id, tool.name, tool.content) == (
        "tool",
        "call_a",
        "get_weather",
        "sunny",
    )


def test_tool_history_reaches_templates_as_objects() -> None:
    """HF chat templates print arguments with ``| tojson``: they must get a dict, not text."""
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    req = wo.to_chat_request(body(messages=[{"role": "assistant", "tool_calls": [call]}]))
    rendered = req.messages[0].to_template()["tool_calls"][0]["function"]
    assert rendered == {"name": "f", "arguments": {"a": 1}}


def test_tool_call_arguments_must_be_json() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{city: Paris"}}
    err = bad(body(messages=[{"role": "assistant", "tool_calls": [call]}]))
    assert err.param == "messages[0].tool_calls[0].function.arguments"
    call["function"]["arguments"] = 5  # type: ignore[index]
    assert bad(body(messages=[{"role": "assistant", "tool_calls": [call]}])).code == "invalid_type"


def test_response_formats() -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}}
    assert (
        wo.to_chat_request(body(response_format={"type": "text"})).response_format
        == ResponseFormat()
    )
    assert wo.to_chat_request(
        body(response_format={"type": "json_object"})
    ).response_format == ResponseFormat("json_object")
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": schema, "strict": True}}
    assert wo.to_chat_request(body(response_format=fmt)).response_format == ResponseFormat(
        "json_schema", schema
    )
    err = bad(body(response_format={"type": "json_schema"}))
    assert (err.param, err.code) == ("response_format.json_schema", "missing_required_parameter")


def test_parse_body_accepts_a_parsed_model() -> None:
    parsed = wo.parse_body(wo.ChatCompletionRequest, body())
    assert wo.parse_body(wo.ChatCompletionRequest, parsed) is parsed


# --------------------------------------------------------- legacy completions, embeddings


def test_completion_requests() -> None:
    [one] = wo.to_generate_requests({"model": "m", "prompt": "Once upon"})
    assert (one.prompt, one.max_tokens, one.logprobs) == ("Once upon", 16, None)
    many = wo.to_generate_requests(
        {
            "model": "m",
            "prompt": ["a", [1, 2]],
            "n": 2,
            "max_tokens": 5,
            "stop": "\n",
            "logprobs": 2,
            "temperature": 0,
        }
    )
    assert [(r.prompt, r.prompt_tokens) for r in many] == [
        ("a", None),
        ("a", None),
        (None, [1, 2]),
        (None, [1, 2]),
    ]
    assert {(r.max_tokens, r.stop, r.logprobs, r.sampling.temperature) for r in many} == {
        (5, ("\n",), 2, 0.0)
    }
    [tokens] = wo.to_generate_requests({"model": "m", "prompt": [5, 6, 7]})
    assert tokens.prompt_tokens == [5, 6, 7]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": "x", "suffix": "y"}, "suffix"),
        ({"prompt": "x", "best_of": 3}, "best_of"),
        ({"prompt": "x", "logprobs": 6}, "logprobs"),
        ({"prompt": []}, "prompt"),
        ({"prompt": [1.5]}, "prompt"),
        ({}, "prompt"),
    ],
)
def test_bad_completion_requests(fields: dict[str, Any], param: str) -> None:
    assert bad({"model": "m", **fields}, wo.to_generate_requests).param == param


def test_embedding_inputs() -> None:
    assert wo.embedding_inputs({"model": "e", "input": "hello"}) == ["hello"]
    assert wo.embedding_inputs(
        {"model": "e", "input": ["a", "b"], "encoding_format": "base64"}
    ) == ["a", "b"]
    err = bad({"model": "e", "input": [[1, 2, 3]]}, wo.embedding_inputs)
    assert err.param == "input"
    assert "check_embedding_ctx_length" in err.message
    assert bad({"model": "e", "input": []}, wo.embedding_inputs).param == "input"
    assert (
        bad({"model": "e", "input": "x", "encoding_format": "hex"}, wo.embedding_inputs).param
        == "encoding_format"
    )


# ------------------------------------------------------------------------ responses


def test_chat_completion_shape() -> None:
    out = wo.chat_completion(ChatDone("stop", USAGE, content="Hello!"), **IDS)
    parsed = ChatCompletion.model_validate(out)
    assert parsed.id == "chatcmpl-1"
    assert parsed.object == "chat.completion"
    assert parsed.choices[0].message.content == "Hello!"
    assert parsed.choices[0].finish_reason == "stop"
    assert out["choices"][0]["logprobs"] is None
    assert out["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4},
    }


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("cancelled", "stop"),
        ("error", "stop"),
        ("tool_calls", "tool_calls"),
    ],
)
def test_finish_reasons(finish: Any, expected: str) -> None:
    assert wo.finish_reason(ChatDone(finish, USAGE)) == expected


def test_chat_completion_with_tool_calls_and_logprobs() -> None:
    calls = (ToolCall("call_1", "get_weather", '{"city":"Paris"}'),)
    lps = [TokenLogprob("Hi", -0.1, [72, 105], [("Hi", -0.1), ("Hello", -2.5)])]
    out = wo.chat_completion(ChatDone("stop", USAGE, tool_calls=calls), logprobs=lps, **IDS)
    parsed = ChatCompletion.model_validate(out)
    choice = parsed.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.type, call.function.name, call.function.arguments) == (  # type: ignore[union-attr]
        "call_1",
        "function",
        "get_weather",
        '{"city":"Paris"}',
    )
    assert choice.logprobs is not None
    assert choice.logprobs.content is not None
    token = choice.logprobs.content[0]
    assert (token.token, token.logprob, token.bytes) == ("Hi", -0.1, [72, 105])
    assert [(t.token, t.bytes) for t in token.top_logprobs] == [
        ("Hi", [72, 105]),
        ("Hello", list(b"Hello")),
    ]


def test_tool_call_round_trip_through_history() -> None:
    calls = (
        ToolCall("call_9", "get_weather", '{"city": "Oslo"}'),
        ToolCall("call_10", "now", "{}"),
    )
    message = wo.chat_completion(ChatDone("tool_calls", USAGE, tool_calls=calls), **IDS)["choices"][
        0
    ]["message"]
    req = wo.to_chat_request(
        body(
            messages=[
                {"role": "user", "content": "?"},
                message,
                {"role": "tool", "tool_call_id": "call_9", "content": "4C"},
            ]
        )
    )
    assert req.messages[1].tool_calls == calls
    assert req.messages[2].name == "get_weather"


def test_stream_chunks_in_openai_order() -> None:
    first = wo.chat_chunk(ChatDelta("Hel"), first=True, **IDS)
    later = wo.chat_chunk(ChatDelta("lo"), **IDS)
    [final] = wo.chat_chunks(ChatDone("length", USAGE, content="Hello"), **IDS)
    for chunk in (first, later, final):
        ChatCompletionChunk.model_validate(chunk)
        assert "usage" not in chunk
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "Hel"}
    assert later["choices"][0]["delta"] == {"content": "lo"}
    assert final["choices"][0]["delta"] == {}
    assert final["choices"][0]["finish_reason"] == "length"
    assert first["choices"][0]["finish_reason"] is None


def test_stream_chunk_logprobs_and_include_usage() -> None:
    lp = TokenLogprob("a", -0.5, [97], [("a", -0.5)])
    chunk = wo.chat_chunk(ChatDelta("a", (lp,)), include_usage=True, **IDS)
    assert chunk["usage"] is None
    parsed = ChatCompletionChunk.model_validate(chunk)
    assert parsed.choices[0].logprobs is not None
    assert parsed.choices[0].logprobs.content is not None
    assert parsed.choices[0].logprobs.content[0].top_logprobs[0].token == "a"
    usage = wo.usage_chunk(USAGE, **IDS)
    assert usage["choices"] == []
    assert usage["usage"]["total_tokens"] == 17
    assert ChatCompletionChunk.model_validate(usage).usage is not None


def test_return_progress_is_opt_in_and_only_for_streams() -> None:
    """llama-server's ``return_progress`` asks for prompt reading progress in a stream;
    without it, or without ``stream``, nothing changes."""
    assert wo.to_chat_request(body(stream=True, return_progress=True)).progress is True
    assert wo.to_chat_request(body(stream=True)).progress is False
    assert wo.to_chat_request(body(return_progress=True)).progress is False
    assert wo.to_chat_request(body(stream=True)) == wo.to_chat_request(
        body(stream=True, return_progress=False)
    )
    legacy = {"model": "m", "prompt": "Once", "stream": True}
    [asked] = wo.to_generate_requests({**legacy, "return_progress": True})
    [plain] = wo.to_generate_requests(legacy)
    assert (asked.progress, plain.progress) == (True, False)
    [whole] = wo.to_generate_requests({**legacy, "stream": False, "return_progress": True})
    assert whole.progress is False


def test_progress_chunk_has_llama_servers_shape() -> None:
    """The chunk llama-server streams with ``return_progress``: an assistant delta with no
    content and ``prompt_progress`` {total, cache, processed, time_ms}; the SDK parses it."""
    chunk = wo.progress_chunk(ChatProgress(read=512, total=2000), time_ms=830, **IDS)
    assert chunk["object"] == "chat.completion.chunk"
    assert chunk["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert chunk["prompt_progress"] == {
        "total": 2000,
        "cache": 0,
        "processed": 512,
        "time_ms": 830,
    }
    parsed = ChatCompletionChunk.model_validate(chunk)
    assert parsed.choices[0].delta.content is None
    assert (parsed.model_extra or {})["prompt_progress"]["processed"] == 512
    assert (
        wo.progress_chunk(ChatProgress(1, 2), time_ms=0, include_usage=True, **IDS)["usage"] is None
    )
    # With cached tokens known, llama-server counts them in total and processed.
    assert wo.prompt_progress(100, 400, time_ms=5, cached=600) == {
        "total": 1000,
        "cache": 600,
        "processed": 700,
        "time_ms": 5,
    }
    legacy = wo.completion_progress_chunk(256, 1024, time_ms=12, **IDS)
    assert legacy["choices"][0]["text"] == ""
    assert legacy["choices"][0]["finish_reason"] is None
    assert legacy["prompt_progress"] == {
        "total": 1024,
        "cache": 0,
        "processed": 256,
        "time_ms": 12,
    }


def test_sdk_stream_with_progress_chunks_keeps_the_text() -> None:
    """A client that does not know ``prompt_progress`` still reads the answer whole."""

    def handler(request: httpx.Request) -> httpx.Response:
        parsed = wo.parse_body(wo.ChatCompletionRequest, json.loads(request.content))
        assert parsed.progress
        chunks = [
            wo.progress_chunk(ChatProgress(512, 1024), time_ms=10, **IDS),
            wo.progress_chunk(ChatProgress(1024, 1024), time_ms=20, **IDS),
            wo.chat_chunk(ChatDelta("Hel"), first=True, **IDS),
            wo.chat_chunk(ChatDelta("lo"), **IDS),
            *wo.chat_chunks(ChatDone("stop", USAGE, content="Hello"), **IDS),
        ]
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    stream = sdk(handler).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_body={"return_progress": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello"
    progress = [(c.model_extra or {}).get("prompt_progress") for c in chunks]
    assert [p["processed"] for p in progress if p] == [512, 1024]


def test_streamed_tool_calls_accumulate_in_the_sdk() -> None:
    calls = (
        ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_2", "now", "{}"),
    )
    chunks = wo.chat_chunks(ChatDone("stop", USAGE, tool_calls=calls), first=True, **IDS)
    assert len(chunks) == 2
    delta = chunks[0]["choices"][0]["delta"]
    assert delta["role"] == "assistant"
    assert [c["index"] for c in delta["tool_calls"]] == [0, 1]
    assert chunks[1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "tool_calls",
    }
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    done = state.get_final_completion()
    message = done.choices[0].message
    assert done.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_1", "get_weather", '{"city": "Paris"}'),
        ("call_2", "now", "{}"),
    ]


def test_legacy_completion_shapes() -> None:
    lps = [TokenLogprob("He", -0.1, [72, 101], [("He", -0.1)]), TokenLogprob("y", -0.2, [121], [])]
    choice = wo.completion_choice("Hey", finish_reason="length", logprobs=lps, text_offset=3)
    out = wo.completion_response([choice], usage=USAGE, **IDS)
    parsed = Completion.model_validate(out)
    assert parsed.object == "text_completion"
    assert parsed.choices[0].finish_reason == "length"
    assert out["choices"][0]["logprobs"] == {
        "tokens": ["He", "y"],
        "token_logprobs": [-0.1, -0.2],
        "top_logprobs": [{"He": -0.1}, {}],
        "text_offset": [3, 5],
    }
    chunk = wo.completion_chunk("Hey", include_usage=True, **IDS)
    assert chunk["usage"] is None
    assert chunk["choices"][0]["finish_reason"] is None
    assert wo.completion_finish_reason("cancelled") == "stop"
    assert wo.usage_chunk(USAGE, object="text_completion", **IDS)["object"] == "text_completion"


def test_embeddings_response_float_base64_and_dimensions() -> None:
    vectors = [[3.0, 4.0, 12.0], [1.0, 0.0, 0.0]]
    out = wo.embeddings_response(vectors, model="e", prompt_tokens=6)
    parsed = CreateEmbeddingResponse.model_validate(out)
    assert [d.embedding for d in parsed.data] == vectors
    assert [d.index for d in parsed.data] == [
        0,
        1,
    ]
    assert out["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
    b64 = wo.embeddings_response(vectors, model="e", prompt_tokens=6, encoding_format="base64")
    raw = base64.b64decode(b64["data"][0]["embedding"])
    assert list(struct.unpack("<3f", raw)) == [3.0, 4.0, 12.0]
    short = wo.embeddings_response(vectors, model="e", prompt_tokens=6, dimensions=2)
    assert short["data"][0]["embedding"] == pytest.approx([0.6, 0.8])


def test_models() -> None:
    obj = wo.model_object("qwen2.5:0.5b", 1_700_000_000)
    assert Model.model_validate(obj).owned_by == "ember"
    assert wo.model_list([obj]) == {"object": "list", "data": [obj]}


def test_error_bodies() -> None:
    err = bad(body(temperature=9))
    assert wo.error_body(err) == {
        "error": {
            "message": err.message,
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "invalid_value",
        }
    }
    missing = wo.error_body(ModelNotFoundError("no model named x", hint="ember pull x"))["error"]
    assert missing == {
        "message": "no model named x (hint: ember pull x)",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }
    assert wo.error_body(EmberError("boom"))["error"]["type"] == "server_error"


# ------------------------------------------------------- the real SDK, end to end


def sdk(handler: Callable[[httpx.Request], httpx.Response]) -> openai.OpenAI:
    transport = httpx.MockTransport(handler)
    return openai.OpenAI(
        api_key="ember",
        base_url="http://ember.test/v1",
        http_client=httpx.Client(transport=transport),
    )


def test_sdk_chat_round_trip() -> None:
    seen: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        req = wo.to_chat_request(json.loads(request.content))
        seen.append(req)
        done = ChatDone(
            "stop", USAGE, tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Paris"}'),)
        )
        return httpx.Response(200, json=wo.chat_completion(done, **{**IDS, "model": req.model}))

    result = sdk(handler).chat.completions.create(  # type: ignore[call-overload]
        model="qwen2.5:0.5b",
        messages=[
            {"role": "system", "content": "terse"},
            {"role": "user", "content": "weather in Paris?"},
        ],
        tools=[WEATHER_TOOL],
        tool_choice="required",
        temperature=0.3,
        max_completion_tokens=64,
        stop=["\n\n"],
        seed=1,
    )
    [req] = seen
    assert (req.tool_choice, req.max_tokens, req.stop, req.sampling.temperature) == (
        "required",
        64,
        ("\n\n",),
        0.3,
    )
    assert result.choices[0].message.tool_calls is not None
    assert result.choices[0].message.tool_calls[0].function.arguments == '{"city": "Paris"}'
    assert result.usage is not None
    assert result.usage.prompt_tokens_details is not None
    assert result.usage.prompt_tokens_details.cached_tokens == 4


def test_sdk_streaming_with_usage() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        parsed = wo.parse_body(wo.ChatCompletionRequest, json.loads(request.content))
        chunks = [
            wo.chat_chunk(ChatDelta("Hel"), first=True, include_usage=parsed.include_usage, **IDS)
        ]
        chunks.append(wo.chat_chunk(ChatDelta("lo"), include_usage=parsed.include_usage, **IDS))
        chunks += wo.chat_chunks(
            ChatDone("stop", USAGE, content="Hello"), include_usage=True, **IDS
        )
        chunks.append(wo.usage_chunk(USAGE, **IDS))
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    stream = sdk(handler).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 17


def test_sdk_legacy_completion_stream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        [gen] = wo.to_generate_requests(json.loads(request.content))
        assert (gen.prompt, gen.max_tokens) == ("Once", 8)
        chunks = [
            wo.completion_chunk(" upon", **IDS),
            wo.completion_chunk(" a time", finish_reason="stop", **IDS),
        ]
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    stream = sdk(handler).completions.create(model="m", prompt="Once", max_tokens=8, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks) == " upon a time"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_sdk_embeddings() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        texts = wo.embedding_inputs(sent)
        vectors = [[float(len(t)), 0.5] for t in texts]
        return httpx.Response(
            200,
            json=wo.embeddings_response(
                vectors, model="e", prompt_tokens=2, encoding_format=sent.get("encoding_format")
            ),
        )

    result = sdk(handler).embeddings.create(model="e", input=["abc", "de"])
    assert [d.embedding for d in result.data] == [[3.0, 0.5], [2.0, 0.5]]


def test_sdk_sees_openai_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            wo.to_chat_request(json.loads(request.content))
        except InvalidRequestError as exc:
            return httpx.Response(exc.status, json=wo.error_body(exc))
        raise AssertionError("the body should have been rejected")

    with pytest.raises(openai.BadRequestError) as info:
        sdk(handler).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], temperature=3
        )
    assert info.value.param == "temperature"
    assert info.value.code == "invalid_value"
