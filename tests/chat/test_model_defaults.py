"""A model's stored system prompt and parameters fill in what a request leaves out."""

from __future__ import annotations

from ember.chat.model_defaults import ModelDefaults, with_model_defaults
from ember.chat.types import ChatRequest, Message
from ember.engine.base import SamplingParams

USER = Message(role="user", content="Hi")
STORED = ModelDefaults(
    system="You are a pirate.",
    params={"temperature": 0.2, "top_k": 20.0, "stop": ["<END>"], "num_predict": 9,
            "num_ctx": 1024, "seed": -1, "mirostat": 2},
)  # fmt: skip


def test_stored_values_fill_in_what_the_request_left_out() -> None:
    out = with_model_defaults(ChatRequest("m", (USER,)), STORED)
    assert out.messages == (Message(role="system", content="You are a pirate."), USER)
    assert out.sampling.temperature == 0.2
    assert out.sampling.top_k == 20
    assert out.sampling.seed is None  # -1: a random seed, as in Ollama
    assert (out.stop, out.max_tokens, out.num_ctx) == (("<END>",), 9, 1024)


def test_what_the_request_says_wins() -> None:
    request = ChatRequest(
        "m",
        (Message(role="system", content="Be brief."), USER),
        sampling=SamplingParams(temperature=0.9),
        sampling_given=frozenset({"temperature"}),
        stop=("STOP",),
        max_tokens=50,
        num_ctx=4096,
    )
    out = with_model_defaults(request, STORED)
    assert out.messages == request.messages
    assert out.sampling.temperature == 0.9
    assert out.sampling.top_k == 20  # not set by the request
    assert (out.stop, out.max_tokens, out.num_ctx) == (("STOP",), 50, 4096)


def test_no_defaults_and_wrong_types_change_nothing() -> None:
    request = ChatRequest("m", (USER,))
    assert with_model_defaults(request, ModelDefaults()) is request
    odd = ModelDefaults(params={"temperature": "hot", "top_k": True, "stop": 3})
    assert with_model_defaults(request, odd) == request
