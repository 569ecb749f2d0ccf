"""Pool keys: a model, its embedding context, and instances with a requested context."""

from __future__ import annotations

from ember.engine.loader import context_key, embedding_key, model_name, requested_context


def test_context_keys_name_the_model_and_the_size() -> None:
    assert context_key("qwen:0.5b", None) == "qwen:0.5b"
    key = context_key("qwen:0.5b", 4096)
    assert key == "qwen:0.5b#ctx=4096"
    assert model_name(key) == "qwen:0.5b"
    assert requested_context(key) == 4096
    assert requested_context("qwen:0.5b") is None
    assert model_name(embedding_key("qwen:0.5b")) == "qwen:0.5b"
    assert requested_context(embedding_key("qwen:0.5b")) is None
