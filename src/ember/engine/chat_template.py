"""Chat templates from the GGUF, rendered in a sandboxed Jinja2 environment.

Templates are code shipped inside third-party model files, so they run in Jinja2's
immutable sandbox: no attribute access to Python internals, no mutation of inputs.
Models without a template get ChatML, with a logged warning, never a silent guess.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ember.errors import EmberError

log = logging.getLogger(__name__)

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + (message['content'] or '') }}"
    "{{ '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class TemplateRenderError(EmberError):
    status = 400
    code = "template_error"


def _raise(message: str) -> None:
    raise TemplateRenderError(f"the model's chat template refused the conversation: {message}")


def _tojson(value: Any, indent: int | None = None, **_: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


@lru_cache(maxsize=16)
def _compile(source: str) -> Any:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


def render_chat(
    template: str | None,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool = True,
    tools: list[dict[str, Any]] | None = None,
    bos_token: str = "",
    eos_token: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """The prompt text for ``messages`` in the model's own format."""
    if not template:
        log.warning("model has no chat template; using ChatML")
        template = CHATML
    try:
        return str(
            _compile(template).render(
                messages=messages,
                tools=tools or None,
                add_generation_prompt=add_generation_prompt,
                bos_token=bos_token,
                eos_token=eos_token,
                **(extra or {}),
            )
        )
    except TemplateRenderError:
        raise
    except TemplateError as exc:
        raise TemplateRenderError(f"the model's chat template failed: {exc}") from exc


def open_final_turn(prompt: str, final_content: str) -> str:
    """``prompt`` (rendered without a generation prompt) cut right after the last
    message's text, so the model goes on writing that message instead of starting a new
    turn: "continue" of an answer that reached its length limit, the way Hugging Face's
    ``continue_final_message`` does it. Templates close a turn differently (``<|im_end|>``,
    ``</s>``, a newline), so the cut is at the text itself, not at a known marker."""
    text = final_content.rstrip()
    at = prompt.rfind(text) if text else -1
    if at < 0:
        raise TemplateRenderError(
            "the model's chat template changed the answer's text, so it cannot be continued"
        )
    return prompt[: at + len(text)]
