"""A conversation as a file: the whole tree as JSON (to import it elsewhere unchanged)
and the shown branch as Markdown (to read or paste)."""

from __future__ import annotations

from typing import Any

from ember.chat.conversation_settings import settings_problem
from ember.chat.conversations import Conversation, ConversationStore
from ember.errors import EmberError

EXPORT_FORMAT = "ember.conversation.v1"


class InvalidExportError(EmberError):
    status = 400
    code = "invalid_conversation"


def export_json(store: ConversationStore, conversation_id: str) -> dict[str, Any]:
    """The whole tree (every branch), enough to import it elsewhere unchanged."""
    conversation = store.get(conversation_id)
    rows = store.db.query(
        "SELECT id FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid",
        (conversation_id,),
    )
    messages = [store.message(r["id"]).to_dict() for r in rows]
    return {
        "format": EXPORT_FORMAT,
        "conversation": conversation.to_dict(),
        "messages": messages,
    }


def export_markdown(store: ConversationStore, conversation_id: str) -> str:
    """The shown branch as Markdown, for reading or pasting."""
    conversation = store.get(conversation_id)
    lines = [f"# {conversation.title or 'Conversation'}", ""]
    if conversation.system:
        lines += [f"> System: {conversation.system}", ""]
    for message in store.path(conversation_id):
        who = {"user": "You", "assistant": "Assistant"}.get(message.role, message.role)
        note = "" if message.status == "complete" else f" *({message.status})*"
        lines += [f"**{who}**{note}:", "", message.content, ""]
    return "\n".join(lines)


def import_json(store: ConversationStore, data: Any, *, user_id: str | None = None) -> Conversation:
    """A conversation exported by :meth:`export_json` (as a new conversation)."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InvalidExportError(
            f"not an Ember conversation export (expected format {EXPORT_FORMAT!r})"
        )
    source = data.get("conversation")
    problem = settings_problem(source.get("settings")) if isinstance(source, dict) else None
    if problem:
        raise InvalidExportError(f"the export's settings: {problem}")
    try:
        source = data["conversation"]
        created = store.create(
            title=str(source.get("title") or ""),
            model=source.get("model"),
            system=source.get("system"),
            settings=dict(source.get("settings") or {}),
            user_id=user_id,
        )
        new_ids: dict[str, str] = {}
        for message in data["messages"]:
            parent = message.get("parent_id")
            stored = store.add_message(
                created.id,
                role=str(message["role"]),
                content=str(message.get("content") or ""),
                parent_id=new_ids[parent] if parent else None,
                status=message.get("status") or "complete",
                model=message.get("model"),
                meta=dict(message.get("meta") or {}),
            )
            new_ids[str(message["id"])] = stored.id
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidExportError(f"the export is malformed: {exc!r}") from exc
    leaf = source.get("leaf_id")
    if leaf in new_ids:
        store.show_branch(created.id, new_ids[leaf])
    return store.get(created.id)
