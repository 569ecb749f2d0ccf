"""Ollama wire conversion: request bodies -> Ember types, Ember results -> Ollama objects.

Response objects are checked against the ``ollama`` Python client's own models, and the
client itself talks to the converters through an in-memory transport.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import ollama
import pytest

from ember.chat.types import ChatDelta, ChatDone, ChatRequest, ResponseFormat, ToolCall
from ember.engine.base import SamplingParams, TokenLogprob, Usage
from ember.errors import EmberError, ModelNotFoundError
from ember.server import wire_ollama as wl
from ember.server.wire_common import InvalidRequestError, ToolArgumentsError

USAGE = Usage(
    prompt_tokens=26,
    completion_tokens=10,
    cached_tokens=0,
    ttft_s=0.25,
    prompt_tps=104.0,
    decode_tps=20.0,
)
AT = "2024-07-22T20:33:28.123648Z"
DUR = wl.Durations(total_s=1.5, load_s=0.01)
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def chat(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    out.update(fields)
    return out


def bad(fields: Any, convert: Callable[[Any], object] = wl.chat_to_request) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        convert(fields)
    assert isinstance(info.value, EmberError)
    assert info.value.status == 400
    return info.value


# ------------------------------------------------------------------------ keep_alive


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("300ms", 0.3),
        ("1.5h", 5400.0),
        ("10s", 10.0),
        ("2h45m30.5s", 9930.5),
        ("500us", 0.0005),
        (0, 0.0),
        ("0", 0.0),
        ("0s", 0.0),
        (-1, -1.0),
        ("-1", -1.0),
        ("-5m", -1.0),
        (-0.5, -1.0),
        (120, 120.0),
        (2.5, 2.5),
        ("300", 300.0),
        (" 5m ", 300.0),
    ],
)
def test_parse_keep_alive(value: Any, seconds: float | None) -> None:
    assert wl.parse_keep_alive(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["soon", "5 minutes", "", "m5", "1d", "5x", "--5m", True, [], {}])
def test_parse_keep_alive_rejects(value: Any) -> None:
    err = bad(value, wl.parse_keep_alive)
    assert err.param == "keep_alive"
    assert "5m" in err.message


def test_parse_keep_alive_rejects_nan() -> None:
    assert bad(float("nan"), wl.parse_keep_alive).param == "keep_alive"


# ----------------------------------------------------------------------- /api/chat


def test_minimal_chat_streams_by_default() -> None:
    req = wl.chat_to_request(chat())
    assert isinstance(req, ChatRequest)
    assert (req.model, req.stream, req.keep_alive, req.max_tokens) == ("llama3.2", True, None, None)
    assert req.sampling == SamplingParams()
    assert req.response_format == ResponseFormat()
    assert wl.chat_to_request(chat(stream=False)).stream is False


def test_options_map_to_sampling() -> None:
    req = wl.chat_to_request(
        chat(
            options={
                "num_predict": 100,
                "temperature": 0,
                "top_k": 20,
                "top_p": 0.9,
                "min_p": 0.02,
                "repeat_penalty": 1.2,
                "repeat_last_n": 33,
                "presence_penalty": 1.5,
                "frequency_penalty": 1.0,
                "seed": 42,
                "stop": ["\n", "user:"],
                "num_ctx": 1024,
                "mirostat": 1,
                "num_gpu": 1,
                "numa": False,
            }
        )
    )
    s = req.sampling
    assert (s.temperature, s.top_k, s.top_p, s.min_p, s.seed) == (0.0, 20, 0.9, 0.02, 42)
    assert (s.repeat_penalty, s.repeat_last_n, s.presence_penalty, s.frequency_penalty) == (
        1.2,
        33,
        1.5,
        1.0,
    )
    assert (req.max_tokens, req.stop) == (100, ("\n", "user:"))


@pytest.mark.parametrize(("num_predict", "expected"), [(-1, None), (-2, None), (0, None), (7, 7)])
def test_num_predict(num_predict: int, expected: int | None) -> None:
    assert wl.chat_to_request(chat(options={"num_predict": num_predict})).max_tokens == expected


def test_negative_seed_is_random_and_stop_string() -> None:
    req = wl.chat_to_request(chat(options={"seed": -1, "stop": "END"}))
    assert req.sampling.seed is None
    assert req.stop == ("END",)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (None, ResponseFormat()),
        ("", ResponseFormat()),
        ("json", ResponseFormat("json_object")),
        (
            {"type": "object", "properties": {"age": {"type": "integer"}}},
            ResponseFormat(
                "json_schema", {"type": "object", "properties": {"age": {"type": "integer"}}}
            ),
        ),
    ],
)
def test_format(fmt: Any, expected: ResponseFormat) -> None:
    assert wl.chat_to_request(chat(format=fmt)).response_format == expected


def test_keep_alive_and_logprobs() -> None:
    req = wl.chat_to_request(chat(keep_alive="5m", logprobs=True, top_logprobs=3))
    assert (req.keep_alive, req.logprobs) == (300.0, 3)
    assert wl.chat_to_request(chat(keep_alive=-1, logprobs=True)).keep_alive == -1.0
    assert wl.chat_to_request(chat(logprobs=True)).logprobs == 0


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"format": "yaml"}, "format"),
        ({"format": 3}, "format"),
        ({"keep_alive": "soon"}, "keep_alive"),
        ({"keep_alive": True}, "keep_alive"),
        ({"options": {"temperature": "hot"}}, "options.temperature"),
        ({"options": {"temperature": -1}}, "options.temperature"),
        ({"options": {"top_p": 2}}, "options.top_p"),
        ({"options": {"num_predict": 1.5}}, "options.num_predict"),
        ({"options": {"stop": [1]}}, "options.stop[0]"),
        ({"options": "hot"}, "options"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": ""}, "model"),
        ({"top_logprobs": 30}, "top_logprobs"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
    ],
)
def test_bad_chat_bodies_name_their_field(fields: dict[str, Any], param: str) -> None:
    err = bad(chat(**fields))
    assert err.param == param
    assert param in err.message


def test_missing_model_and_empty_messages() -> None:
    err = bad({"messages": [{"role": "user", "content": "x"}]})
    assert (err.param, err.code) == ("model", "missing_required_parameter")
    err = bad(chat(messages=[]))
    assert err.param == "messages"
    assert "loads or unloads" in err.message


def test_load_only() -> None:
    assert wl.load_only(wl.parse_body(wl.ChatBody, {"model": "m"})) == "load"
    assert (
        wl.load_only(wl.parse_body(wl.ChatBody, {"model": "m", "messages": [], "keep_alive": 0}))
        == "unload"
    )
    assert wl.load_only(wl.parse_body(wl.ChatBody, chat(keep_alive=0))) is None
    assert wl.load_only(wl.parse_body(wl.GenerateBody, {"model": "m", "prompt": ""})) == "load"
    assert (
        wl.load_only(wl.parse_body(wl.GenerateBody, {"model": "m", "keep_alive": "0s"})) == "unload"
    )
    assert wl.load_only(wl.parse_body(wl.GenerateBody, {"model": "m", "prompt": "x"})) is None


def test_tools_history_and_images() -> None:
    req = wl.chat_to_request(
        chat(
            tools=[WEATHER_TOOL],
            messages=[
                {"role": "system", "content": "terse"},
                {"role": "user", "content": "look", "images": ["aGVsbG8="]},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                        {"id": "call_x", "function": {"name": "now", "arguments": "{}"}},
                    ],
                },
                {"role": "tool", "tool_name": "get_weather", "content": "sunny"},
                {"role": "tool", "content": "noon", "tool_call_id": "call_x"},
                {"role": "assistant", "content": None, "thinking": "hmm"},
            ],
        )
    )
    assert [t.name for t in req.tools] == ["get_weather"]
    assert req.tools[0].parameters == WEATHER_TOOL["function"]["parameters"]
    _system, user, assistant, tool, tool2, last = req.messages
    assert user.images == ("aGVsbG8=",)
    first, second = assistant.tool_calls
    assert (first.id, first.name, json.loads(first.arguments)) == (
        "call_2_0",
        "get_weather",
        {"city": "Paris"},
    )
    assert second == ToolCall("call_x", "now", "{}")
    assert (tool.role, tool.name, tool.tool_call_id, tool.content) == (
        "tool",
        "get_weather",
        "call_2_0",
        "sunny",
    )
    assert (tool2.tool_call_id, tool2.name) == ("call_x", None)
    assert last.content == ""


def test_tool_arguments_must_be_an_object_or_json() -> None:
    call: dict[str, Any] = {"function": {"name": "f", "arguments": "{broken"}}
    err = bad(chat(messages=[{"role": "assistant", "tool_calls": [call]}]))
    assert err.param == "messages[0].tool_calls[0].function.arguments"
    call = {"function": {"name": "f", "arguments": [1, 2]}}
    assert bad(chat(messages=[{"role": "assistant", "tool_calls": [call]}])).code == "invalid_type"


def test_tool_call_round_trip() -> None:
    calls = (
        ToolCall("call_1", "get_weather", '{"city": "Paris", "days": 2}'),
        ToolCall("call_2", "now", "{}"),
    )
    out = wl.chat_response(
        ChatDone("stop", USAGE, tool_calls=calls), model="m", created_at=AT, durations=DUR
    )
    sent = out["message"]["tool_calls"]
    assert sent[0] == {
        "id": "call_1",
        "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris", "days": 2}},
    }
    back = wl.chat_to_request(
        chat(messages=[{"role": "user", "content": "?"}, out["message"]])
    ).messages[1]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in back.tool_calls] == [
        (c.id, c.name, json.loads(c.arguments)) for c in calls
    ]


def test_model_arguments_that_are_not_an_object() -> None:
    done = ChatDone("stop", USAGE, tool_calls=(ToolCall("c", "f", "[1, 2]"),))
    with pytest.raises(ToolArgumentsError) as info:
        wl.chat_response(done, model="m", created_at=AT, durations=DUR)
    assert "'f'" in info.value.message
    assert wl.tool_calls_out([ToolCall("c", "f", "")])[0]["function"]["arguments"] == {}


# ------------------------------------------------------------------- /api/generate


def test_generate_templated() -> None:
    req = wl.generate_to_request(
        {
            "model": "m",
            "prompt": "why?",
            "system": "be brief",
            "options": {"num_predict": 5},
            "format": "json",
            "stream": False,
            "context": [1, 2, 3],
            "images": ["aGk="],
        }
    )
    assert isinstance(req, ChatRequest)
    assert [(m.role, m.content) for m in req.messages] == [("system", "be brief"), ("user", "why?")]
    assert req.messages[1].images == ("aGk=",)
    assert (req.max_tokens, req.stream, req.response_format.type) == (5, False, "json_object")


def test_generate_raw() -> None:
    req = wl.generate_to_request(
        {
            "model": "m",
            "prompt": "[INST] hi [/INST]",
            "raw": True,
            "system": "ignored",
            "format": {"type": "object"},
            "keep_alive": "1m",
            "options": {"temperature": 0.1, "stop": ["</s>"]},
            "logprobs": True,
        }
    )
    assert isinstance(req, wl.RawGenerate)
    assert (req.model, req.stream, req.keep_alive) == ("m", True, 60.0)
    assert req.response_format == ResponseFormat("json_schema", {"type": "object"})
    gen = req.request
    assert (gen.prompt, gen.max_tokens, gen.stop, gen.logprobs) == (
        "[INST] hi [/INST]",
        None,
        ("</s>",),
        0,
    )
    assert gen.sampling.temperature == 0.1


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"prompt": "x", "template": "{{ .Prompt }}"}, "template", "unsupported_value"),
        ({"prompt": "x", "suffix": "end"}, "suffix", "unsupported_value"),
        ({"prompt": ""}, "prompt", "invalid_value"),
        ({"prompt": 5}, "prompt", "invalid_type"),
        ({"prompt": "x", "raw": "sometimes"}, "raw", "invalid_type"),
    ],
)
def test_bad_generate_bodies(fields: dict[str, Any], param: str, code: str) -> None:
    err = bad({"model": "m", **fields}, wl.generate_to_request)
    assert (err.param, err.code) == (param, code)


def test_template_error_has_hint() -> None:
    err = bad({"model": "m", "prompt": "x", "template": "t"}, wl.generate_to_request)
    assert err.hint is not None
    assert "raw" in err.hint


# ------------------------------------------------------------- other request bodies


def test_embed_inputs() -> None:
    assert wl.embed_inputs({"model": "e", "input": "one"}) == ["one"]
    assert wl.embed_inputs(
        {"model": "e", "input": ["a", "b"], "truncate": False, "keep_alive": "1m"}
    ) == ["a", "b"]
    assert wl.embed_inputs({"model": "e", "input": []}) == []
    assert wl.embed_inputs({"model": "e", "prompt": "old"}) == ["old"]
    assert wl.embed_inputs(wl.parse_body(wl.EmbeddingsBody, {"name": "e", "prompt": "p"})) == ["p"]
    parsed = wl.parse_body(wl.EmbedBody, {"model": "e", "input": "x", "keep_alive": -1})
    assert (wl.embed_inputs(parsed), parsed.keep_alive) == (["x"], -1.0)
    assert bad({"model": "e", "input": [1, 2]}, wl.embed_inputs).param == "input"
    assert (
        bad({"model": "e", "input": "x", "keep_alive": "never"}, wl.embed_inputs).param
        == "keep_alive"
    )


def test_named_bodies_accept_the_old_name_field() -> None:
    assert wl.parse_body(wl.ShowBody, {"name": "llama3"}).model == "llama3"
    assert wl.parse_body(wl.ShowBody, {"model": "a", "name": "b", "verbose": True}).model == "a"
    pull = wl.parse_body(wl.PullBody, {"model": "qwen2.5:0.5b", "insecure": True, "stream": False})
    assert (pull.model, pull.insecure, pull.stream) == ("qwen2.5:0.5b", True, False)
    assert wl.parse_body(wl.DeleteBody, {"name": "x"}).model == "x"
    copy = wl.parse_body(wl.CopyBody, {"source": "a", "destination": "b"})
    assert (copy.source, copy.destination) == ("a", "b")
    assert bad({"source": "a"}, lambda b: wl.parse_body(wl.CopyBody, b)).param == "destination"
    assert bad({}, lambda b: wl.parse_body(wl.DeleteBody, b)).param == "model"


# ------------------------------------------------------------------------ responses


def test_chat_stream_chunk_and_final() -> None:
    lp = TokenLogprob("The", -0.2, [84, 104, 101], [("The", -0.2), ("A", -1.9)])
    chunk = wl.chat_stream_chunk(ChatDelta("The", (lp,)), model="m", created_at=AT)
    parsed = ollama.ChatResponse.model_validate(chunk)
    assert (parsed.message.role, parsed.message.content, parsed.done) == ("assistant", "The", False)
    assert parsed.logprobs is not None
    assert parsed.logprobs[0].top_logprobs is not None
    assert parsed.logprobs[0].top_logprobs[1].token == "A"
    assert "logprobs" not in wl.chat_stream_chunk(ChatDelta("x"), model="m", created_at=AT)

    done = ChatDone("length", USAGE, content="The sky")
    whole = wl.chat_response(done, model="m", created_at=AT, durations=DUR)
    final = wl.chat_response(done, model="m", created_at=AT, durations=DUR, streamed=True)
    assert whole["message"]["content"] == "The sky"
    assert final["message"]["content"] == ""
    parsed = ollama.ChatResponse.model_validate(whole)
    assert (parsed.done, parsed.done_reason) == (True, "length")
    assert (parsed.total_duration, parsed.load_duration) == (1_500_000_000, 10_000_000)
    assert (parsed.prompt_eval_count, parsed.prompt_eval_duration) == (26, 250_000_000)
    assert (parsed.eval_count, parsed.eval_duration) == (10, 500_000_000)


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "stop"),
        ("cancelled", "stop"),
        ("error", "stop"),
    ],
)
def test_done_reason(finish: str, reason: str) -> None:
    assert wl.done_reason(finish) == reason


def test_metrics_without_decode_rate_or_usage() -> None:
    zero = Usage(3, 1, 0, 0.0, 0.0, 0.0)
    assert wl.metrics(zero, wl.Durations(0.5))["eval_duration"] == 0
    assert wl.metrics(None, wl.Durations(0.5)) == {
        "total_duration": 500_000_000,
        "load_duration": 0,
    }


def test_generate_objects() -> None:
    chunk = wl.generate_stream_chunk("The", model="m", created_at=AT)
    assert ollama.GenerateResponse.model_validate(chunk).response == "The"
    with_lp = wl.generate_stream_chunk(
        "a", model="m", created_at=AT, logprobs=[TokenLogprob("a", -1.0, [97])]
    )
    assert with_lp["logprobs"] == [
        {"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}
    ]
    final = wl.generate_response(
        "The sky",
        model="m",
        created_at=AT,
        finish_reason="stop",
        usage=USAGE,
        durations=DUR,
        logprobs=[TokenLogprob("a", -1.0, [97])],
    )
    parsed = ollama.GenerateResponse.model_validate(final)
    assert (parsed.response, parsed.done, parsed.done_reason, parsed.eval_count) == (
        "The sky",
        True,
        "stop",
        10,
    )
    assert "context" not in final
    assert final["logprobs"][0]["token"] == "a"
    streamed = wl.generate_response(
        "The sky",
        model="m",
        created_at=AT,
        finish_reason="length",
        usage=None,
        durations=DUR,
        streamed=True,
    )
    assert (streamed["response"], streamed["done_reason"]) == ("", "length")


def test_load_responses() -> None:
    loaded = wl.load_response(model="m", created_at=AT, action="load", endpoint="chat")
    assert loaded == {
        "model": "m",
        "created_at": AT,
        "message": {"role": "assistant", "content": ""},
        "done_reason": "load",
        "done": True,
    }
    unloaded = wl.load_response(model="m", created_at=AT, action="unload", endpoint="generate")
    assert ollama.GenerateResponse.model_validate(unloaded).done_reason == "unload"
    assert unloaded["response"] == ""


def test_embedding_objects() -> None:
    out = wl.embed_response([[0.1, 0.2], [0.3, 0.4]], model="e", prompt_tokens=8, durations=DUR)
    parsed = ollama.EmbedResponse.model_validate(out)
    assert [list(e) for e in parsed.embeddings] == [[0.1, 0.2], [0.3, 0.4]]
    assert (out["prompt_eval_count"], out["total_duration"]) == (8, 1_500_000_000)
    assert wl.embed_response([], model="e") == {"model": "e", "embeddings": []}
    assert ollama.EmbeddingsResponse.model_validate(wl.embeddings_response([0.5])).embedding == [
        0.5
    ]


DETAILS = {"family": "qwen2", "parameter_size": "494.03M", "quantization_level": "Q4_K_M"}


def test_tags() -> None:
    entry = wl.tag_entry(
        "qwen2.5:0.5b",
        size=397_821_319,
        digest="sha256:" + "a" * 64,
        modified_at=datetime(2024, 11, 4, 14, 56, 49, tzinfo=timezone.utc),
        details=DETAILS,
    )
    assert entry["digest"] == "a" * 64
    assert entry["modified_at"] == "2024-11-04T14:56:49Z"
    assert entry["details"] == {
        "parent_model": "",
        "format": "gguf",
        "family": "qwen2",
        "families": ["qwen2"],
        "parameter_size": "494.03M",
        "quantization_level": "Q4_K_M",
    }
    parsed = ollama.ListResponse.model_validate(wl.tags_response([entry]))
    model = parsed.models[0]
    assert (model.model, model.size, model.digest) == ("qwen2.5:0.5b", 397_821_319, "a" * 64)
    assert model.details is not None
    assert model.details.quantization_level == "Q4_K_M"
    assert model.modified_at == datetime(2024, 11, 4, 14, 56, 49, tzinfo=timezone.utc)


def test_ps() -> None:
    forever = wl.ps_entry(
        "m", size=10, digest="b" * 64, details=DETAILS, expires_at=None, size_vram=0
    )
    timed = wl.ps_entry(
        "m", size=10, digest="b" * 64, details=DETAILS, expires_at=0.0, context_length=4096
    )
    assert forever["expires_at"] == wl.NEVER_EXPIRES
    assert "context_length" not in forever
    assert timed["expires_at"] == "1970-01-01T00:00:00Z"
    assert timed["context_length"] == 4096
    parsed = ollama.ProcessResponse.model_validate(wl.ps_response([forever, timed]))
    assert parsed.models[0].expires_at is not None
    assert parsed.models[0].expires_at.year == 2318
    assert parsed.models[1].context_length == 4096


def test_show() -> None:
    out = wl.show_response(
        details={**DETAILS, "families": ["qwen2", "x"], "format": None},
        model_info={"general.architecture": "qwen2", "qwen2.context_length": 32768},
        template="{{ .Prompt }}",
        parameters={
            "temperature": 0.7,
            "stop": ["<|im_start|>", "<|im_end|>"],
            "num_ctx": 4096,
            "penalize_newline": True,
        },
        license="Apache 2.0",
        system="You are helpful.",
        modified_at=1_700_000_000,
        capabilities=["completion", "tools"],
    )
    parsed = ollama.ShowResponse.model_validate(out)
    assert parsed.capabilities == ["completion", "tools"]
    assert parsed.modelinfo is not None
    assert parsed.modelinfo["qwen2.context_length"] == 32768
    assert parsed.details is not None
    assert parsed.details.families == ["qwen2", "x"]
    assert parsed.details.format == "gguf"
    assert out["parameters"].splitlines() == [
        f"{'temperature':<30} 0.7",
        f'{"stop":<30} "<|im_start|>"',
        f'{"stop":<30} "<|im_end|>"',
        f"{'num_ctx':<30} 4096",
        f"{'penalize_newline':<30} true",
    ]
    assert (out["license"], out["system"], out["modified_at"]) == (
        "Apache 2.0",
        "You are helpful.",
        "2023-11-14T22:13:20Z",
    )
    bare = wl.show_response(details=DETAILS, model_info={})
    assert bare["parameters"] == ""
    assert bare["capabilities"] == ["completion"]
    assert "license" not in bare


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (494_032_768, "494.03M"),
        (8_030_261_248, "8.0B"),
        (4_300_000_000, "4.3B"),
        (7_000_000_000, "7B"),
        (22_700_000, "22.70M"),
        (135_000_000, "135M"),
        (5_000, "5K"),
        (999, "999"),
    ],
)
def test_human_parameter_count(count: int, text: str) -> None:
    assert wl.human_parameter_count(count) == text


def test_progress_version_and_errors() -> None:
    assert wl.progress("pulling manifest") == {"status": "pulling manifest"}
    line = wl.progress("pulling abc", digest="sha256:abc", total=100, completed=5)
    assert ollama.ProgressResponse.model_validate(line).completed == 5
    assert wl.version_response("0.1.0") == {"version": "0.1.0"}
    err = ModelNotFoundError('model "x" not found, try pulling it first')
    assert wl.error_body(err) == {"error": 'model "x" not found, try pulling it first'}
    assert wl.error_body(EmberError("bad", hint="do this")) == {"error": "bad (hint: do this)"}


def test_rfc3339() -> None:
    assert wl.rfc3339(0.5) == "1970-01-01T00:00:00.500000Z"
    assert wl.rfc3339(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05Z"


# ------------------------------------------------------- the real client, end to end


def client(handler: Callable[[httpx.Request], httpx.Response]) -> ollama.Client:
    return ollama.Client(host="http://ollama.test:11434", transport=httpx.MockTransport(handler))


def test_client_chat_with_tools() -> None:
    seen: list[ChatRequest] = []

    def handler(request: httpx.Request) -> httpx.Response:
        req = wl.chat_to_request(json.loads(request.content))
        seen.append(req)
        done = ChatDone(
            "stop", USAGE, tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Paris"}'),)
        )
        return httpx.Response(
            200, json=wl.chat_response(done, model=req.model, created_at=AT, durations=DUR)
        )

    def get_weather(city: str) -> str:
        """Weather for a city.

        Args:
          city: the city
        """
        return "sunny"

    result = client(handler).chat(
        model="llama3.2",
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[get_weather],
        options={"temperature": 0, "num_predict": 32},
        keep_alive="10m",
        format="json",
    )
    [req] = seen
    assert (req.stream, req.keep_alive, req.max_tokens, req.sampling.temperature) == (
        False,
        600.0,
        32,
        0.0,
    )
    assert req.tools[0].name == "get_weather"
    assert req.response_format.type == "json_object"
    assert result.message.tool_calls is not None
    assert result.message.tool_calls[0].function.arguments == {"city": "Paris"}


def test_client_streaming_generate() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        req = wl.generate_to_request(json.loads(request.content))
        assert isinstance(req, ChatRequest)
        assert req.stream
        lines = [
            wl.generate_stream_chunk("Hello", model="m", created_at=AT),
            wl.generate_stream_chunk(" there", model="m", created_at=AT),
            wl.generate_response(
                "Hello there",
                model="m",
                created_at=AT,
                finish_reason="stop",
                usage=USAGE,
                durations=DUR,
                streamed=True,
            ),
        ]
        return httpx.Response(200, text="".join(json.dumps(x) + "\n" for x in lines))

    parts = list(client(handler).generate(model="m", prompt="hi", stream=True))
    assert "".join(p.response or "" for p in parts) == "Hello there"
    assert parts[-1].done
    assert parts[-1].eval_count == 10


def test_client_sees_ollama_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            wl.chat_to_request(json.loads(request.content))
        except InvalidRequestError as exc:
            return httpx.Response(exc.status, json=wl.error_body(exc))
        raise AssertionError("the body should have been rejected")

    with pytest.raises(ollama.ResponseError) as info:
        client(handler).chat(
            model="m", messages=[{"role": "user", "content": "x"}], options={"top_p": 7}
        )
    assert info.value.status_code == 400
    assert "options.top_p" in info.value.error
