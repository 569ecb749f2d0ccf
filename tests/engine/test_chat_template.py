"""Chat templates: the model's own format, tools, a sandbox, and the ChatML fallback."""

from __future__ import annotations

import logging

import pytest

from ember.engine.chat_template import TemplateRenderError, render_chat

QWEN_LIKE = (
    "{% if tools %}<tools>{% for t in tools %}{{ t | tojson }}{% endfor %}</tools>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_renders_messages_and_generation_prompt() -> None:
    text = render_chat(QWEN_LIKE, [{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert not render_chat(
        QWEN_LIKE, [{"role": "user", "content": "hi"}], add_generation_prompt=False
    ).endswith("assistant\n")


def test_tools_reach_the_template() -> None:
    tool = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
    text = render_chat(QWEN_LIKE, [{"role": "user", "content": "1+1"}], tools=[tool])
    assert '<tools>{"type": "function", "function": {"name": "add"' in text


def test_missing_template_falls_back_to_chatml_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        text = render_chat(
            None, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
        )
    assert text.startswith("<|im_start|>system\ns<|im_end|>\n")
    assert "ChatML" in caplog.text


def test_template_cannot_escape_the_sandbox() -> None:
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(TemplateRenderError):
        render_chat(evil, [{"role": "user", "content": "x"}])


def test_raise_exception_in_template_is_a_clear_error() -> None:
    strict = (
        "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}"
    )
    with pytest.raises(TemplateRenderError, match="first must be user"):
        render_chat(strict, [{"role": "assistant", "content": "x"}])
