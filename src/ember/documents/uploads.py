"""Files that Ember keeps for the user: uploads live under ``$EMBER_HOME/uploads/<collection>/``.

Only these copies are Ember's to delete. Documents added from the user's own folders
(``ember docs add``) are indexed in place, and removing them never touches the files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ember.documents.library import DocumentLibrary


def uploads_root(home: Path) -> Path:
    return home / "uploads"


def is_upload(home: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(uploads_root(home).resolve())


def conversation_collection(conversation_id: str) -> str:
    """The collection that holds the files uploaded into one conversation."""
    return f"chat-{conversation_id}"


def drop_collection(library: DocumentLibrary, home: Path, name: str) -> int:
    """Remove a collection, its documents and passages, and the files uploaded into it;
    the number of documents removed. Files outside the uploads folder are left alone."""
    removed = library.remove_collection(name)
    folder = uploads_root(home) / name
    if folder.resolve().parent == uploads_root(home).resolve() and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    return removed
