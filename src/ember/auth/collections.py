"""Whose a document collection is, with accounts on: each user has their own namespace
of collection names, stored in the library as ``<user id>~<name>``.

The mapping lives at the edges (the documents API, a conversation's attached
collections), so the library itself stays one index of named collections. With accounts
off (``user_id`` None) names are stored as given and every collection is visible. ``~``
is not allowed in a collection name a user gives, so no name can reach into another's
namespace.
"""

from __future__ import annotations

from collections.abc import Iterable

SEPARATOR = "~"


def stored_name(user_id: str | None, name: str) -> str:
    """The library's name for the user's collection ``name``."""
    return f"{user_id}{SEPARATOR}{name}" if user_id is not None else name


def shown_name(user_id: str | None, stored: str) -> str | None:
    """The user's name for the library's collection ``stored``; None when it is not
    theirs."""
    if user_id is None:
        return stored
    prefix = f"{user_id}{SEPARATOR}"
    return stored[len(prefix) :] if stored.startswith(prefix) else None


def plain_name(stored: str) -> str:
    """A collection's name without its owner (for what its owner is shown)."""
    return stored.rpartition(SEPARATOR)[2]


def owned(user_id: str | None, stored_names: Iterable[str]) -> list[str]:
    """The library's names of the user's collections among ``stored_names``."""
    return [s for s in stored_names if shown_name(user_id, s) is not None]


def adopt_sql(user_id: str) -> tuple[str, tuple[str, ...]]:
    """The statement that gives every collection made before accounts to ``user_id``."""
    return (
        "UPDATE doc_collections SET name = ? || name WHERE instr(name, ?) = 0",
        (f"{user_id}{SEPARATOR}", SEPARATOR),
    )
