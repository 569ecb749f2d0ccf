"""The composition root: ``build(settings) -> Runtime`` is the only place parts are wired.

Front ends (CLI now, server later) receive a Runtime instead of reaching for globals, so
tests build one over a temporary EMBER_HOME and every collaborator can be swapped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ember.auth.collections import owned
from ember.auth.keys import KeyStore
from ember.auth.quotas import UsageLedger, UserLimits
from ember.auth.sessions import SessionStore
from ember.auth.throttle import SignInThrottle
from ember.auth.users import User, UserStore
from ember.config import Settings
from ember.documents.embedding import LlamaTextEmbedder, TextEmbedder, embedding_model
from ember.documents.library import DocumentLibrary
from ember.documents.reranking import (
    RERANK_CANDIDATES,
    LlamaPassageReranker,
    PassageReranker,
    reranker_model,
)
from ember.engine.loader import make_pool
from ember.engine.pool import EnginePool
from ember.models.store import ModelStore
from ember.storage import Database

if TYPE_CHECKING:
    from ember.chat.answering import Answerer
    from ember.chat.assistant import Assistant
    from ember.chat.backends import Backends
    from ember.chat.cloud_gate import CloudGate
    from ember.chat.conversations import ConversationStore
    from ember.chat.model_defaults import ModelDefaults
    from ember.chat.service import ChatService
    from ember.engine.base import Usage
    from ember.tools.toolbox import Toolbox

UsageObserver = Callable[[str, "Usage"], None]


@dataclass
class Runtime:
    settings: Settings
    db: Database
    models: ModelStore
    engines: EnginePool
    keys: KeyStore
    documents: DocumentLibrary  # its embedding model loads on first use
    users: UserStore = field(init=False)
    sessions: SessionStore = field(init=False)
    usage: UsageLedger = field(init=False)  # tokens per user and day
    limits: UserLimits = field(init=False)
    sign_ins: SignInThrottle = field(default_factory=SignInThrottle)
    # Told of every answer's usage (the server's metrics subscribe).
    usage_observers: list[UsageObserver] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users = UserStore(self.db)
        self.sessions = SessionStore(self.db, self.users)
        self.usage = UsageLedger(self.db)
        self.limits = UserLimits(
            self.usage,
            per_minute=self.settings.rate_limit_per_minute,
            tokens_per_day=self.settings.daily_token_quota,
        )

    def remove_user(self, name: str) -> tuple[User, int]:
        """Remove a user with everything that is theirs: sessions, keys, conversations
        and document collections. Returns the user and how many documents went."""
        user = self.users.named(name)
        self.users.check_removable(user)
        theirs = owned(user.id, (stored for stored, _ in self.documents.collections()))
        documents = sum(self.documents.remove_collection(stored) for stored in theirs)
        return self.users.remove(name), documents

    def observe_usage(self, model: str, usage: Usage) -> None:
        for observer in self.usage_observers:
            observer(model, usage)

    @cached_property
    def chat(self) -> ChatService:
        """The local backend: llama.cpp over the engine pool, with the output cap."""
        from ember.chat.service import ChatService

        return ChatService(
            self.engines,
            on_usage=self.observe_usage,
            max_output_tokens=self.settings.max_output_tokens,
        )

    @cached_property
    def backends(self) -> Backends:
        """Local models, every configured remote's (``REMOTE/MODEL``), and the worker
        pool for the models the workers serve."""
        from ember.chat.backends import Backends
        from ember.chat.remote import OpenAICompatBackend
        from ember.chat.workers import WorkerPool

        configs = self.settings.remote_configs
        remotes = {r.name: OpenAICompatBackend(r) for r in configs}
        # Workers fail over to each other at once: one short retry before the next.
        workers = [OpenAICompatBackend(r, retry_wait_s=0.1) for r in configs if r.worker]
        pool = WorkerPool.of(workers) if workers else None
        return Backends(self.chat, remotes, on_usage=self.observe_usage, pool=pool)

    @cached_property
    def gate(self) -> CloudGate:
        """The backends behind the cloud gate: the policy, the privacy guard and the
        egress log stand between every request and a cloud provider."""
        from ember.chat.cloud_gate import CloudGate
        from ember.chat.egress_log import EgressLog
        from ember.chat.privacy_guard import MessageGuard

        s = self.settings
        return CloudGate(
            self.backends,
            guard=MessageGuard(),
            log_=EgressLog(self.db),
            policy=s.cloud_policy,
            cloud_model=s.cloud_model,
            local_model=lambda: s.default_model,
            local_busy=self.local_queue_full,
            shareable=s.cloud_shareable_collections,
            account_policy=self.users.cloud_policy_of,
        )

    def local_queue_full(self, model: str) -> bool:
        """Whether a loaded local model has a request waiting for every one of its slots."""
        for entry in self.engines.loaded():
            scheduler = getattr(getattr(entry, "engine", None), "scheduler", None)
            if getattr(entry, "name", None) == model and scheduler is not None:
                return bool(scheduler.queue_depth >= len(scheduler.slots))
        return False

    @cached_property
    def toolbox(self) -> Toolbox:
        """Ember's tools: built-ins, MCP servers (started by ``await toolbox.start()``)
        and document search, as the settings say."""
        from ember.tools.toolbox import Toolbox

        s = self.settings
        return Toolbox(enabled=s.tools, mcp_servers=s.mcp_servers, documents=self.documents)

    @cached_property
    def answerer(self) -> Answerer:
        """The one answering path every front end uses."""
        from ember.chat.answering import Answerer
        from ember.chat.document_sources import DocumentSources
        from ember.chat.usage_meter import MeteredBackend

        metered = MeteredBackend(self.gate, self.usage.record)
        return Answerer(
            metered,
            defaults_for=self.model_defaults,
            sources=DocumentSources(metered, self.documents),
            api_tools=self.toolbox.for_api() if self.settings.api_tools else None,
            escalation=self.gate.escalation,
        )

    def where_of(self, model: str) -> str:
        """Where answers of ``model`` are computed: "local" or the remote's name."""
        target = self.backends.remote_of(model)
        return "local" if target is None else target[0].name

    def model_defaults(self, model: str) -> ModelDefaults:
        """An installed model's stored system prompt and parameters (none for remotes
        and unknown names)."""
        from ember.chat.model_defaults import NO_DEFAULTS, ModelDefaults
        from ember.errors import EmberError

        if self.backends.remote_of(model) is not None:
            return NO_DEFAULTS
        try:
            record = self.models.get(model)
        except EmberError:
            return NO_DEFAULTS
        return ModelDefaults(system=record.system, params=record.params)

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

    def reranker() -> PassageReranker:
        """The documents' reranker (``rerank`` on), its memory counted like the embedder's."""
        record = reranker_model(models, settings.reranker_model)
        holder = f"documents reranker ({record.name})"
        loaded = LlamaPassageReranker(
            record.path, name=record.name, on_close=lambda: engines.release(holder)
        )
        engines.hold(holder, record.size)
        return loaded

    return Runtime(
        settings=settings,
        db=db,
        models=models,
        engines=engines,
        keys=KeyStore(db),
        documents=DocumentLibrary(
            db,
            embedder,
            reranker=reranker if settings.rerank else None,
            rerank_candidates=RERANK_CANDIDATES,
        ),
    )


def make_assistant(runtime: Runtime, store: ConversationStore) -> Assistant:
    """Ember's own chat (web page, ``ember chat``): stored conversations, tools for models
    that know them, answers from the documents attached to a conversation."""
    from ember.chat.assistant import Assistant

    default = runtime.settings.default_model
    toolbox = runtime.toolbox
    return Assistant(
        store,
        runtime.answerer,
        default_model=default,
        tools_for=lambda conversation: toolbox.for_settings(
            conversation.settings,
            model_knows_tools=knows_tools(runtime, conversation.model or default),
        ),
        where_of=runtime.where_of,
        answer_tokens=runtime.settings.answer_tokens,
    )


def knows_tools(runtime: Runtime, model: str) -> bool:
    """Whether the model's chat template teaches tool calls (Ollama's "tools" capability):
    read from the model file here, or, for a model the workers serve, what they said
    (chat/workers.py). A remote's model otherwise is not known here: its conversations
    use tools when they ask."""
    from ember.chat.tool_calls import tool_format
    from ember.errors import EmberError

    pool = runtime.backends.pool
    if pool is not None and pool.knows_tools(model):
        return True
    try:
        info = runtime.models.get(model).info
    except EmberError:
        return False
    return info is not None and tool_format(info.chat_template) == "tagged"
