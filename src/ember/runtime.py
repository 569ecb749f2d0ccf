"""The composition root: ``build(settings) -> Runtime`` is the only place parts are wired.

Front ends (CLI now, server later) receive a Runtime instead of reaching for globals, so
tests build one over a temporary EMBER_HOME and every collaborator can be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.auth.keys import KeyStore
from ember.config import Settings
from ember.documents.embedding import LlamaTextEmbedder, TextEmbedder, embedding_model
from ember.documents.library import DocumentLibrary
from ember.engine.loader import make_pool
from ember.engine.pool import EnginePool
from ember.models.store import ModelStore
from ember.storage import Database


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

    def embedder() -> TextEmbedder:
        return LlamaTextEmbedder.for_record(embedding_model(models, settings.embedding_model))

    return Runtime(
        settings=settings,
        db=db,
        models=models,
        engines=make_pool(models, settings),
        keys=KeyStore(db),
        documents=DocumentLibrary(db, embedder),
    )
