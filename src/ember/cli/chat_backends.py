"""Where `ember chat` sends its messages: a running Ember server, or this process.

Both backends speak in the same small events, so the terminal front end does not care
which one it has: ``("delta", text)``, ``("tool", call and result)``, ``("done",
message)`` or ``("error", text)``.
Both store the conversation in Ember's database (the server's, or this process's), so
a chat in the terminal shows up in the web UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import httpx

from ember.auth.users import User
from ember.errors import EmberError
from ember.runtime import Runtime

ChatEvent = tuple[str, Any]


class ChatBackend(Protocol):
    where: str

    def models(self) -> list[str]: ...

    def new_conversation(self, model: str | None, system: str | None) -> str: ...

    def update(self, conversation_id: str, **fields: Any) -> None: ...

    def send(self, conversation_id: str, content: str) -> Iterator[ChatEvent]: ...

    def continue_answer(self, conversation_id: str, message_id: str) -> Iterator[ChatEvent]: ...

    def export_markdown(self, conversation_id: str) -> str: ...

    def close(self) -> None: ...


class ServerBackend:
    """A running Ember server, through its /ember/api."""

    def __init__(self, url: str, api_key: str | None = None) -> None:
        self.where = url
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=url, headers=headers, timeout=httpx.Timeout(10.0, read=None)
        )

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise EmberError(message)
        return response.json() if response.content else None

    def models(self) -> list[str]:
        data = self._check(self.http.get("/ember/api/models"))
        return [m["name"] for m in data["models"]]

    def new_conversation(self, model: str | None, system: str | None) -> str:
        data = self._check(
            self.http.post("/ember/api/conversations", json={"model": model, "system": system})
        )
        return str(data["conversation"]["id"])

    def update(self, conversation_id: str, **fields: Any) -> None:
        self._check(self.http.patch(f"/ember/api/conversations/{conversation_id}", json=fields))

    def send(self, conversation_id: str, content: str) -> Iterator[ChatEvent]:
        path = f"/ember/api/conversations/{conversation_id}/messages"
        yield from self._answer(conversation_id, path, {"content": content})

    def continue_answer(self, conversation_id: str, message_id: str) -> Iterator[ChatEvent]:
        path = f"/ember/api/conversations/{conversation_id}/messages/{message_id}/continue"
        yield from self._answer(conversation_id, path, {})

    def _answer(self, conversation_id: str, path: str, body: dict[str, Any]) -> Iterator[ChatEvent]:
        try:
            yield from self._follow(path, body)
        except KeyboardInterrupt:
            # The server's answer outlives its stream: Ctrl+C stops it there too.
            with contextlib.suppress(httpx.HTTPError):
                self.http.post(f"/ember/api/conversations/{conversation_id}/stop")
            raise

    def _follow(self, path: str, body: dict[str, Any]) -> Iterator[ChatEvent]:
        with self.http.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    if name == "delta":
                        yield "delta", data["content"]
                    elif name == "progress":
                        yield "progress", (data["read"], data["total"])
                    elif name == "tool_result":
                        yield "tool", _tool_view(data["message"])
                    elif name == "done":
                        yield "done", data["message"]
                    elif name == "error":
                        yield "error", data["message"]

    def export_markdown(self, conversation_id: str) -> str:
        response = self.http.get(
            f"/ember/api/conversations/{conversation_id}/export", params={"format": "markdown"}
        )
        if response.status_code >= 400:
            self._check(response)
        return response.text

    def close(self) -> None:
        self.http.close()


class LocalBackend:
    """No server running: the same chat service in this process."""

    def __init__(self, runtime: Runtime, owner: User | None = None) -> None:
        from ember.chat.conversations import ConversationStore
        from ember.runtime import make_assistant

        self.where = "this process" + (f", as {owner.name}" if owner is not None else "")
        self.owner_id = owner.id if owner is not None else None  # with accounts
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        store = ConversationStore(runtime.db)
        store.recover_interrupted()
        self.toolbox = runtime.toolbox
        self.loop.run_until_complete(self.toolbox.start())
        self.assistant = make_assistant(runtime, store)

    def models(self) -> list[str]:
        local = [
            r.name
            for r in self.runtime.models.installed()
            if not (r.info is not None and r.info.is_embedding_model)
        ]
        remote = self.loop.run_until_complete(self.runtime.backends.remote_models())
        return local + [m.name for m in remote]

    def new_conversation(self, model: str | None, system: str | None) -> str:
        return self.assistant.store.create(model=model, system=system, user_id=self.owner_id).id

    def update(self, conversation_id: str, **fields: Any) -> None:
        self.assistant.store.update(conversation_id, **fields)

    def send(self, conversation_id: str, content: str) -> Iterator[ChatEvent]:
        return self._events(self.assistant.send(conversation_id, content))

    def continue_answer(self, conversation_id: str, message_id: str) -> Iterator[ChatEvent]:
        return self._events(self.assistant.continue_answer(conversation_id, message_id))

    def _events(self, events: AsyncIterator[Any]) -> Iterator[ChatEvent]:
        from ember.chat.assistant import ReplyDelta, ReplyDone, ReplyProgress, ReplyToolResult

        try:
            while True:
                try:
                    event = self.loop.run_until_complete(anext(events))
                except StopAsyncIteration:
                    return
                if isinstance(event, ReplyDelta):
                    yield "delta", event.content
                elif isinstance(event, ReplyProgress):
                    yield "progress", (event.read, event.total)
                elif isinstance(event, ReplyToolResult):
                    yield "tool", _tool_view(event.message.to_dict())
                elif isinstance(event, ReplyDone):
                    message = event.message.to_dict()
                    if message["status"] == "error":
                        yield "error", message["meta"].get("error", "generation failed")
                    yield "done", message
        finally:  # also on Ctrl+C: the partial answer is saved as incomplete
            self.loop.run_until_complete(_aclose(events))

    def export_markdown(self, conversation_id: str) -> str:
        from ember.chat.conversation_export import export_markdown

        return export_markdown(self.assistant.store, conversation_id)

    def close(self) -> None:
        self.loop.run_until_complete(self.assistant.wait_for_titles())
        self.loop.run_until_complete(self.toolbox.aclose())
        pool = self.runtime.backends.pool
        if pool is not None:
            self.loop.run_until_complete(pool.aclose())
        self.loop.close()


def _tool_view(message: dict[str, Any]) -> dict[str, Any]:
    meta = message.get("meta", {})
    return {
        "name": meta.get("name", "tool"),
        "arguments": meta.get("arguments", ""),
        "content": message.get("content", ""),
        "is_error": bool(meta.get("is_error")),
    }


async def _aclose(events: AsyncIterator[Any]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
