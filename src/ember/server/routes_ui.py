"""Ember's own chat API (``/ember/api``) for the web UI and ``ember chat``.

Conversations live on the server. Sending, editing and regenerating answer with a
server-sent event stream: ``start`` (the stored user and assistant messages), ``delta``
(new text, and now and then the answer so far as safe HTML), ``progress`` (``read`` of
``total`` prompt tokens, while a long prompt is read), ``tool_calls`` and
``tool_result`` (stored messages) when the model uses tools, followed by a new ``start``
for the answer after them, then ``done`` (the stored answer with its HTML, timings and
status) or ``error``. The answer runs on when the stream is closed (a reload, a closed
tab, a lost connection: ``chat/live_answers.py``); reopening the conversation shows it
growing, then finished. Stopping is ``POST /conversations/{id}/stop``: the partial answer
is kept, marked incomplete.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ember.auth.collections import stored_name
from ember.chat.answering import grounded_request
from ember.chat.assistant import (
    Assistant,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyProgress,
    ReplyStarted,
    ReplyToolCalls,
    ReplyToolResult,
)
from ember.chat.cloud_gate import private_documents
from ember.chat.conversation_export import export_json, export_markdown, import_json
from ember.chat.conversation_settings import settings_problem
from ember.chat.conversations import (
    ConversationNotFoundError,
    MessageNotFoundError,
    StoredMessage,
)
from ember.chat.live_answers import LiveAnswers
from ember.documents.uploads import conversation_collection, drop_collection
from ember.errors import AuthenticationError, AuthorizationError, EmberError
from ember.runtime import Runtime
from ember.server.auth import KEY_COOKIE
from ember.server.markdown import render_markdown
from ember.server.routes_accounts import current_user, owner_of
from ember.server.streaming import json_body, runtime_of, started
from ember.server.wire_common import parse_body


def own_conversation(request: Request) -> None:
    """Every route naming a conversation: with accounts on, it must be the signed-in
    user's; another user's is a 404, exactly like one that does not exist."""
    conversation_id = request.path_params.get("conversation_id")
    user = current_user(request)
    if conversation_id is None or user is None:
        return
    conversation = assistant_of(request).store.get(conversation_id)  # 404 when unknown
    if conversation.user_id != user.id:
        raise ConversationNotFoundError(f"no conversation {conversation_id!r}")


router = APIRouter(prefix="/ember/api", dependencies=[Depends(own_conversation)])

HTML_INTERVAL_S = 0.1  # how often a streaming answer's HTML is re-rendered


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationIn(_Body):
    title: str | None = Field(default=None, max_length=200)
    model: str | None = None
    system: str | None = Field(default=None, max_length=20_000)
    settings: dict[str, Any] | None = None

    @field_validator("settings")
    @classmethod
    def _known_settings_are_valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problem = settings_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class LoginIn(_Body):
    key: str = Field(min_length=1, max_length=200)


class MessageIn(_Body):
    content: str = Field(min_length=1, max_length=1_000_000)
    parent_id: str | None = None


class BranchIn(_Body):
    message_id: str


class RegenerateBody(_Body):
    confirm_cloud: bool = False  # yes to the cloud model the policy "ask" asked about
    use_cloud: bool = False  # answer with the cloud model (the page's "Ask the cloud")


def assistant_of(request: Request) -> Assistant:
    assistant: Assistant = request.app.state.assistant
    return assistant


def message_view(assistant: Assistant, message: StoredMessage) -> dict[str, Any]:
    """A stored message as the UI shows it: with safe HTML and its alternatives."""
    out = message.to_dict()
    if message.role == "assistant":
        out["html"] = render_markdown(message.content)
    siblings = assistant.store.siblings(message)
    out["siblings"] = siblings
    out["sibling_index"] = siblings.index(message.id) if message.id in siblings else 0
    return out


def conversation_view(assistant: Assistant, conversation_id: str) -> dict[str, Any]:
    conversation = assistant.store.get(conversation_id)
    return {
        "conversation": conversation.to_dict(),
        "messages": [message_view(assistant, m) for m in assistant.store.path(conversation_id)],
    }


@router.post("/login")
async def login(request: Request) -> Response:
    """The page's sign-in when the server needs a key: the key becomes an HttpOnly,
    SameSite=Strict cookie that the page's API calls then carry (server/auth.py)."""
    body = parse_body(LoginIn, await json_body(request))
    if runtime_of(request).keys.verify(body.key.strip()) is None:
        raise AuthenticationError(
            "this is not an active API key",
            hint="`ember keys create` on the server makes one; `ember keys list` shows them",
        )
    response = JSONResponse({"signed_in": True})
    response.set_cookie(
        KEY_COOKIE,
        body.key.strip(),
        max_age=30 * 86400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = JSONResponse({"signed_in": False})
    response.delete_cookie(KEY_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/conversations")
async def list_conversations(request: Request, q: str | None = None) -> dict[str, Any]:
    store = assistant_of(request).store
    mine = owner_of(request)
    if q:
        hits = store.search(q, user_id=mine)
        return {
            "conversations": [
                {**h.conversation.to_dict(), "snippet": h.snippet, "message_id": h.message_id}
                for h in hits
            ]
        }
    return {"conversations": [c.to_dict() for c in store.all(user_id=mine)]}


@router.post("/conversations", status_code=201)
async def create_conversation(request: Request) -> dict[str, Any]:
    body = parse_body(ConversationIn, await json_body(request) or {})
    assistant = assistant_of(request)
    if body.model:
        await _check_model(runtime_of(request), body.model)
    created = assistant.store.create(
        title=body.title or "",
        model=body.model,
        system=body.system,
        settings=body.settings,
        user_id=owner_of(request),
    )
    return conversation_view(assistant, created.id)


@router.post("/conversations/import", status_code=201)
async def import_conversation(request: Request) -> dict[str, Any]:
    assistant = assistant_of(request)
    created = import_json(assistant.store, await json_body(request), user_id=owner_of(request))
    return conversation_view(assistant, created.id)


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    return conversation_view(assistant_of(request), conversation_id)


@router.patch("/conversations/{conversation_id}")
async def update_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    raw = await json_body(request)
    body = parse_body(ConversationIn, raw)
    assistant = assistant_of(request)
    if body.model:
        await _check_model(runtime_of(request), body.model)
    given = {k: getattr(body, k) for k in ("title", "model", "system", "settings") if k in raw}
    assistant.store.update(conversation_id, **given)
    return conversation_view(assistant, conversation_id)


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: str, request: Request) -> Response:
    """Delete a conversation with its messages and the files uploaded into it (its
    running answers are stopped first)."""
    conversation = assistant_of(request).store.get(conversation_id)  # 404 when unknown
    await live_of(request).stop(conversation_id)
    assistant_of(request).store.delete(conversation_id)
    runtime = runtime_of(request)
    uploads = stored_name(conversation.user_id, conversation_collection(conversation_id))
    if uploads in {name for name, _ in runtime.documents.collections()}:
        drop_collection(runtime.documents, runtime.settings.home, uploads)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/branch")
async def show_branch(conversation_id: str, request: Request) -> dict[str, Any]:
    body = parse_body(BranchIn, await json_body(request))
    assistant = assistant_of(request)
    assistant.store.show_branch(conversation_id, body.message_id)
    return conversation_view(assistant, conversation_id)


@router.get("/conversations/{conversation_id}/export", response_model=None)
async def export_conversation(
    conversation_id: str, request: Request, format: str = "json"
) -> Response:
    assistant = assistant_of(request)
    title = assistant.store.get(conversation_id).title or "conversation"
    filename = "".join(c if c.isalnum() or c in "-_ " else "_" for c in title).strip()[:60]
    if format == "markdown":
        return PlainTextResponse(
            export_markdown(assistant.store, conversation_id),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.md"'},
        )
    if format != "json":
        raise EmberError("format must be json or markdown", hint="?format=json")
    return Response(
        json.dumps(export_json(assistant.store, conversation_id), ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}.json"'},
    )


@router.post("/conversations/{conversation_id}/messages")
async def send_message(conversation_id: str, request: Request) -> StreamingResponse:
    body = parse_body(MessageIn, await json_body(request))
    assistant = assistant_of(request)
    if body.parent_id is not None:
        events = assistant.send(conversation_id, body.content, parent_id=body.parent_id)
    else:
        events = assistant.send(conversation_id, body.content)
    return _live_stream(request, conversation_id, await started(events))


@router.post("/conversations/{conversation_id}/messages/{message_id}/edit")
async def edit_message(
    conversation_id: str, message_id: str, request: Request
) -> StreamingResponse:
    body = parse_body(MessageIn, await json_body(request))
    assistant = assistant_of(request)
    events = assistant.edit(conversation_id, message_id, body.content)
    return _live_stream(request, conversation_id, await started(events))


@router.post("/conversations/{conversation_id}/messages/{message_id}/regenerate")
async def regenerate(conversation_id: str, message_id: str, request: Request) -> StreamingResponse:
    """Answer the question again; ``{"confirm_cloud": true}`` says yes to sending it to
    the cloud model the policy ``ask`` asked about, ``{"use_cloud": true}`` asks the
    cloud model (the ``cloud_model`` setting) to answer it."""
    raw = await request.body()
    body = parse_body(RegenerateBody, await json_body(request)) if raw.strip() else RegenerateBody()
    assistant = assistant_of(request)
    events = assistant.regenerate(
        conversation_id, message_id, confirm_cloud=body.confirm_cloud, use_cloud=body.use_cloud
    )
    return _live_stream(request, conversation_id, await started(events))


@router.get("/conversations/{conversation_id}/messages/{message_id}/cloud-preview")
async def cloud_preview(conversation_id: str, message_id: str, request: Request) -> dict[str, Any]:
    """What would leave for the cloud if the answer ``message_id`` were sent there: the
    conversation's messages with the document passages a grounded answer adds, after the
    privacy guard; the tools offered; and what the guard redacted or blocks."""
    assistant = assistant_of(request)
    answer = assistant.store.message(message_id)
    if answer.conversation_id != conversation_id or answer.parent_id is None:
        raise MessageNotFoundError(f"no answer {message_id} in this conversation")
    conversation = assistant.store.get(conversation_id)
    chat_request = assistant.request_for(conversation, assistant.store.message(answer.parent_id))
    plan = assistant.plan_for(conversation)
    gate = runtime_of(request).gate
    sources = runtime_of(request).answerer.sources
    if plan.collections and sources is not None:
        # The passages a grounded answer would carry (found for the question as asked).
        found, _ = await sources.find(chat_request, list(plan.collections), rewrite=False)
        chat_request = grounded_request(chat_request, found)
    private = private_documents(chat_request, gate.shareable)
    protected = await asyncio.to_thread(gate.guard.protect, chat_request.messages)
    blocked = {**({"documents.private": private} if private else {}), **protected.blocked}
    return {
        "messages": [{"role": m.role, "content": m.content} for m in protected.messages],
        "tools": [t.name for t in plan.tools.tools()] if plan.tools is not None else [],
        "redacted": dict(protected.redacted),
        "blocked": blocked,
    }


@router.get("/workers")
async def workers(request: Request) -> dict[str, Any]:
    """The inference workers (scale-out): health, load from this front end, models.
    With accounts on, for admins only."""
    user = current_user(request)
    if user is not None and not user.is_admin:
        raise AuthorizationError("the workers are for admins to see")
    pool = runtime_of(request).backends.pool
    if pool is None:
        return {"workers": []}
    await pool.refresh()
    await pool.refresh_load()  # what each reports now, not when a request was last placed
    return {"workers": pool.status()}


@router.get("/cloud/log")
async def cloud_log(request: Request, limit: int = 100) -> dict[str, Any]:
    """The egress log for the page: what left this machine (kinds and counts, no values)."""
    from ember.chat.egress_log import EgressLog

    entries = EgressLog(runtime_of(request).db).entries(
        limit=max(1, min(limit, 1000)), user_id=owner_of(request)
    )
    return {"entries": [e.to_json() for e in entries]}


@router.post("/conversations/{conversation_id}/messages/{message_id}/continue")
async def continue_answer(
    conversation_id: str, message_id: str, request: Request
) -> StreamingResponse:
    """More of an answer that reached its length limit, in the same message."""
    events = assistant_of(request).continue_answer(conversation_id, message_id)
    return _live_stream(request, conversation_id, await started(events))


@router.get("/conversations/{conversation_id}/live", response_model=None)
async def follow_live_answer(conversation_id: str, request: Request) -> Response:
    """The answer being written now, as the stream that started it (every event from the
    first): a page opened on the conversation shows it word by word. 204 when none runs."""
    assistant = assistant_of(request)
    assistant.store.get(conversation_id)  # 404 for an unknown conversation
    answer = live_of(request).latest(conversation_id)
    if answer is None:
        return Response(status_code=204)
    return _reply_stream(assistant, answer.follow())


@router.post("/conversations/{conversation_id}/stop")
async def stop_answers(conversation_id: str, request: Request) -> dict[str, Any]:
    """Stop the conversation's running answers (what they wrote is kept, incomplete)."""
    assistant_of(request).store.get(conversation_id)  # 404 for an unknown conversation
    return {"stopped": await live_of(request).stop(conversation_id)}


def live_of(request: Request) -> LiveAnswers[ReplyEvent]:
    live: LiveAnswers[ReplyEvent] = request.app.state.live_answers
    return live


def _live_stream(
    request: Request, conversation_id: str, events: AsyncIterator[ReplyEvent]
) -> StreamingResponse:
    """The answer runs in a task of its own; this response follows it."""
    answer = live_of(request).start(conversation_id, events)
    return _reply_stream(assistant_of(request), answer.follow())


async def _check_model(runtime: Runtime, name: str) -> None:
    """An installed model, a configured remote's (``REMOTE/MODEL``) or one the workers
    serve: else 404."""
    if not await runtime.backends.routed_elsewhere(name):
        runtime.models.get(name)


@router.get("/models")
async def models(request: Request) -> dict[str, Any]:
    """Installed chat models for the picker, with the default first, each with its fit on
    this machine (verdict, reason, context, expected decode speed)."""
    from ember import hardware
    from ember.fit import fit

    runtime = runtime_of(request)
    default = runtime.settings.default_model
    machine = await asyncio.to_thread(hardware.probe_machine, runtime.settings.home)
    out = []
    for record in runtime.models.installed():
        info = record.info
        if info is not None and info.is_embedding_model:
            continue
        plan = fit(machine, info, name=record.name) if info is not None else None
        out.append(
            {
                "name": record.name,
                "size": record.size,
                "parameters": info.parameters if info else None,
                "quantization": info.quantization if info else None,
                "context_length": info.context_length if info else None,
                "default": record.name == default,
                "loading": runtime.chat.warming(record.name),
                "fit": None
                if plan is None
                else {
                    "verdict": plan.verdict,
                    "reason": plan.reason,
                    "context": plan.n_ctx,
                    "tokens_per_s": plan.decode_tps,
                },
            }
        )
    for remote in await runtime.backends.remote_models():
        out.append(
            {
                "name": remote.name,
                "remote": remote.remote,
                "default": remote.name == default,
                "fit": None,
            }
        )
    out.sort(key=lambda m: (not m["default"], "remote" in m, m["name"]))
    return {"models": out, "default": default}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _reply_stream(assistant: Assistant, events: AsyncIterator[ReplyEvent]) -> StreamingResponse:
    async def frames() -> AsyncIterator[bytes]:
        rendered_at = 0.0
        try:
            async for event in events:
                if isinstance(event, ReplyStarted):
                    yield _event(
                        "start",
                        {
                            "user": message_view(assistant, event.user) if event.user else None,
                            "assistant": message_view(assistant, event.assistant),
                        },
                    )
                elif isinstance(event, ReplyDelta):
                    data: dict[str, Any] = {"content": event.content}
                    if time.monotonic() - rendered_at >= HTML_INTERVAL_S:
                        data["html"] = render_markdown(event.text)
                        rendered_at = time.monotonic()
                    yield _event("delta", data)
                elif isinstance(event, ReplyProgress):
                    yield _event("progress", {"read": event.read, "total": event.total})
                elif isinstance(event, ReplyToolCalls):
                    yield _event("tool_calls", {"message": message_view(assistant, event.message)})
                elif isinstance(event, ReplyToolResult):
                    yield _event("tool_result", {"message": message_view(assistant, event.message)})
                elif isinstance(event, ReplyDone):
                    yield _event("done", {"message": message_view(assistant, event.message)})
        except EmberError as exc:
            yield _event("error", {"message": str(exc), "hint": exc.hint})

    return StreamingResponse(
        frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
