"""One answer as it is stored: the rows it writes while it streams.

An answer is a row per step when tools are used (the call, each tool's result, the final
text); its text is flushed every ``flush_interval`` seconds so that a stop, a dropped
connection or a killed process leaves what was seen, marked ``incomplete``. Kept apart
from :mod:`ember.chat.assistant` (the conversation flow) because this is the one place
that decides what an answer's stored status and meta are.
"""

from __future__ import annotations

import time
from typing import Any

from ember.auth.collections import plain_name
from ember.chat.conversations import ConversationStore, MessageStatus, StoredMessage
from ember.chat.grounding import Source, cited
from ember.chat.tool_loop import ToolCallResult
from ember.chat.types import ChatDone
from ember.engine.repetition import trim_repeats


class StoredAnswer:
    """The stored side of one answer: its rows (one per step when tools are used), the
    text as it grows (flushed every ``flush_interval``), and its final state."""

    def __init__(
        self,
        store: ConversationStore,
        conversation_id: str,
        model: str,
        *,
        parent_id: str,
        where: str,
        flush_interval: float,
    ) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.conversation_id = conversation_id
        self.model = model
        self.parent_id = parent_id
        self.message: StoredMessage | None = None
        self.text = ""
        self.continued: StoredMessage | None = None  # the answer this one goes on with
        self.flushed_at = time.monotonic()
        self.finished = False
        self.sources: list[Source] = []  # what the model read from the user's documents
        self.retrieval: dict[str, Any] | None = None
        self.where = where  # "local", or the remote computing it

    def start(self) -> StoredMessage:
        self.message = self.store.add_message(
            self.conversation_id,
            role="assistant",
            content="",
            parent_id=self.parent_id,
            status="streaming",
            model=self.model,
            meta={"where": self.where},
        )
        self.text = ""
        return self.message

    def resume(self, message: StoredMessage) -> StoredMessage:
        """Go on writing ``message`` (continue): its text so far starts this one."""
        self.store.update_message(message.id, status="streaming")
        self.message = self.continued = self.store.message(message.id)
        self.text = message.content
        return self.message

    def add(self, content: str) -> str:
        assert self.message is not None
        self.text += content
        if time.monotonic() - self.flushed_at >= self.flush_interval:
            self.store.update_message(self.message.id, content=self.text)
            self.flushed_at = time.monotonic()
        return self.text

    def _close(self, content: str, status: MessageStatus, meta: dict[str, Any]) -> StoredMessage:
        if self.message is None:
            self.start()
        assert self.message is not None
        self.store.update_message(
            self.message.id, content=content, status=status, meta={"where": self.where, **meta}
        )
        closed = self.store.message(self.message.id)
        self.parent_id, self.message = closed.id, None
        return closed

    def calls_made(self, done: ChatDone) -> StoredMessage:
        calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in done.tool_calls]
        meta = {**done_meta(done), "tool_calls": calls}
        return self._close(done.content, "complete", meta)

    def tool_result(self, event: ToolCallResult) -> StoredMessage:
        stored = self.store.add_message(
            self.conversation_id,
            role="tool",
            content=event.result.content,
            parent_id=self.parent_id,
            meta={
                "tool_call_id": event.call.id,
                "name": event.call.name,
                "arguments": event.call.arguments,
                "is_error": event.result.is_error,
            },
        )
        self.parent_id = stored.id
        return stored

    def finish(self, done: ChatDone) -> StoredMessage:
        self.finished = True
        content = done.content or self.text
        if self.continued is not None:
            content = self.continued.content + done.content if done.content else self.text
        if done.finish_reason == "repetition":
            content = trim_repeats(content)  # one copy of what it kept writing
        # Broken off after some text (a remote that died mid-stream): what came is kept.
        status: MessageStatus = (
            "complete" if done.finish_reason != "error" else "incomplete" if content else "error"
        )
        meta = done_meta(done)
        if self.continued is not None:  # the tokens of every part of the answer
            meta["completion_tokens"] += int(self.continued.meta.get("completion_tokens") or 0)
        if self.retrieval is not None:
            # Collections as their owner names them (stored as "<user id>~name").
            meta["retrieval"] = {
                **self.retrieval,
                "collections": [plain_name(c) for c in self.retrieval.get("collections", [])],
            }
            meta["citations"] = [
                {**s.citation(), "collection": plain_name(s.collection)}
                for s in cited(content, self.sources)
            ]
        return self._close(content, status, meta)

    def fail(self, error: str, code: str | None = None) -> StoredMessage:
        """The answer failed; ``code`` (the error's, e.g. ``cloud_confirmation_required``)
        lets the page offer what fixes it."""
        self.finished = True
        meta: dict[str, Any] = {"error": error}
        if code:
            meta["error_code"] = code
        return self._close(self.text, "error", meta)

    def keep_partial(self) -> None:
        if self.message is not None and not self.finished:
            self.store.update_message(self.message.id, content=self.text, status="incomplete")


def done_meta(done: ChatDone) -> dict[str, Any]:
    usage = done.usage
    meta: dict[str, Any] = {
        "where": done.where,
        "finish_reason": done.finish_reason,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "ttft_s": round(usage.ttft_s, 3),
        "decode_tps": round(usage.decode_tps, 1),
    }
    if done.trimmed:
        meta["trimmed"] = done.trimmed
    if done.error:
        meta["error"] = done.error
    if done.route is not None:
        meta["route"] = done.route
        if done.route.get("target") == "cloud":
            meta["where"] = str(done.route.get("provider") or done.where)
    return meta
