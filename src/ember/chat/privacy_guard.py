"""The privacy guard over chat messages: :func:`ember.privacy.redact` applied to every
text of a request at once — system prompt, history, tool-call arguments, tool results,
retrieved passages — so one value gets one placeholder wherever it stands.

The cloud gate (:mod:`ember.chat.cloud_gate`) calls :meth:`MessageGuard.protect` before
anything leaves; this module only maps messages to texts and back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ember.chat.types import Message
from ember.privacy import Policy, Redaction, StreamRestorer, redact, restore


@dataclass(frozen=True)
class ProtectedMessages:
    """The messages as they may leave, and how to put the values back into the reply."""

    messages: tuple[Message, ...]
    redacted: Mapping[str, int]
    blocked: Mapping[str, int]
    redaction: Redaction

    def restore(self, text: str) -> str:
        return self.redaction.restore(text)

    def restore_json(self, text: str) -> str:
        """Values put back inside JSON text (tool-call arguments), escaped as JSON strings."""
        escaped = {
            k: json.dumps(v, ensure_ascii=False)[1:-1]
            for k, v in self.redaction.placeholders.items()
        }
        return restore(text, escaped)

    def restorer(self) -> StreamRestorer:
        return self.redaction.restorer()


class MessageGuard:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()

    def protect(self, messages: Sequence[Message]) -> ProtectedMessages:
        texts: list[str] = []
        for m in messages:
            texts.append(m.content)
            texts.extend(c.arguments for c in m.tool_calls)
        redaction = redact(texts, self.policy)
        if redaction.block is not None:
            blocking = set(redaction.block.kinds)
            counts = {k: n for k, n in redaction.block.counts.items() if k in blocking}
            return ProtectedMessages((), {}, counts, redaction)
        out, pieces = [], iter(redaction.texts)
        for m in messages:
            content = next(pieces)
            calls = tuple(replace(c, arguments=next(pieces)) for c in m.tool_calls)
            out.append(replace(m, content=content, tool_calls=calls))
        return ProtectedMessages(tuple(out), dict(redaction.counts), {}, redaction)
