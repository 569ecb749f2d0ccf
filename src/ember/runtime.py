"""The composition root: ``build(settings) -> Runtime`` is the only place parts are wired.

Front ends (CLI now, server later) receive a Runtime instead of reaching for globals, so
tests build one over a temporary EMBER_HOME and every collaborator can be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.auth.keys import KeyStore
from ember.config import Settings
from ember.documents.embedding import LlamaTextEmbedder, TextEmbedder, embedding_model
from ember.documents.library import DocumentLibrary
from ember.engine.loader import make_pool
from ember.engine.pool import EnginePool
from ember.models.store import ModelStore
from ember.storage import Database

if TYPE_CHECKING:
    from ember.chat.assistant import Assistant
    from ember.chat.conversations import ConversationStore
    from ember.chat.service import ChatService
    from ember.tools.toolbox import Toolbox


@dataclass
class Runtime:
    settings: Settings
    db: Database
    models: ModelStore
    engines: EnginePool
    keys: KeyStore
    documents: DocumentLibrary  # its embedding model loads on first use

    def close(self) -> None:
        self.engines.close()
        self.documents.close()
        self.db.close()


def build(settings: Settings) -> Runtime:
    """Open the database (creating EMBER_HOME, migrating), the model store and the engine pool."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    models = ModelStore(db, settings)
    engines = make_pool(models, settings)

    def embedder() -> TextEmbedder:
        """The documents' embedding model, its memory counted in the engine pool's budget."""
        record = embedding_model(models, settings.embedding_model)
        holder = f"documents embedder ({record.name})"
        loaded = LlamaTextEmbedder.for_record(record, on_close=lambda: engines.release(holder))
        engines.hold(holder, record.size)
        return loaded

    return Runtime(
        settings=settings,
        db=db,
        models=models,
        engines=engines,
        keys=KeyStore(db),
        documents=DocumentLibrary(db, embedder),
    )


def make_toolbox(runtime: Runtime) -> Toolbox:
    """The tools of Ember's chat: built-ins, MCP servers (started by ``await
    toolbox.start()``) and document search, as the settings say."""
    from ember.tools.toolbox import Toolbox

    s = runtime.settings
    return Toolbox(enabled=s.tools, mcp_servers=s.mcp_servers, documents=runtime.documents)


def make_assistant(
    runtime: Runtime, store: ConversationStore, chat: ChatService, toolbox: Toolbox
) -> Assistant:
    """Ember's own chat (web page, ``ember chat``): stored conversations, tools for models
    that know them, answers from the documents attached to a conversation."""
    from ember.chat.assistant import Assistant

    default = runtime.settings.default_model
    return Assistant(
        store,
        chat,
        default_model=default,
        tools_for=lambda conversation: toolbox.for_settings(
            conversation.settings,
            model_knows_tools=knows_tools(runtime, conversation.model or default),
        ),
        documents=runtime.documents,
    )


def knows_tools(runtime: Runtime, model: str) -> bool:
    """Whether the model's chat template teaches tool calls (Ollama's "tools" capability)."""
    from ember.chat.tool_calls import tool_format
    from ember.errors import EmberError

    try:
        info = runtime.models.get(model).info
    except EmberError:
        return False
    return info is not None and tool_format(info.chat_template) == "tagged"
