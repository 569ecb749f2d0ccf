"""Edits of ``config.toml`` made by commands (``ember cloud add`` / ``rm``).

The settings are read by pydantic-settings; this module only rewrites one list in the
file (``remotes``) and keeps every other setting as it was. The file is rewritten whole
(tomli-w), so comments in it are not kept; it is replaced atomically, so a crash leaves
the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ember.config import RemoteConfig
from ember.errors import ConfigError


def read_table(path: Path) -> dict[str, Any]:
    """The whole file as a table ({} when it does not exist)."""
    if not path.exists():
        return {}
    try:
        table: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}", hint="fix or remove the file, then try again"
        ) from exc
    return table


def write_table(path: Path, table: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(table), encoding="utf-8")
    os.replace(tmp, path)


def saved_remotes(path: Path) -> list[RemoteConfig]:
    return [RemoteConfig.from_dict(r) for r in read_table(path).get("remotes", [])]


def save_remote(path: Path, remote: RemoteConfig, *, replace: bool = False) -> None:
    """Add ``remote`` to the file's ``remotes`` (or replace the one of that name)."""
    table = read_table(path)
    remotes = [r for r in table.get("remotes", []) if isinstance(r, dict)]
    if any(r.get("name") == remote.name for r in remotes) and not replace:
        raise ConfigError(
            f"a remote named {remote.name} already exists in {path}",
            hint=f"`ember cloud rm {remote.name}` first, or pick another name",
        )
    table["remotes"] = [r for r in remotes if r.get("name") != remote.name] + [remote.to_dict()]
    write_table(path, table)


def remove_remote(path: Path, name: str) -> RemoteConfig:
    """Take the remote ``name`` out of the file; returns what it was."""
    table = read_table(path)
    remotes = [r for r in table.get("remotes", []) if isinstance(r, dict)]
    found = [r for r in remotes if r.get("name") == name]
    if not found:
        raise ConfigError(f"no remote named {name} in {path}", hint="`ember cloud list` shows them")
    table["remotes"] = [r for r in remotes if r.get("name") != name]
    if not table["remotes"]:
        del table["remotes"]
    write_table(path, table)
    return RemoteConfig.from_dict(found[0])
