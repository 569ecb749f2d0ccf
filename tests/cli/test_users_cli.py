"""`ember users` through typer's CliRunner on a temporary EMBER_HOME: the first user is
the admin, passwords are asked for hidden and only a hash is kept, and with accounts on
a key needs its user."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ember.auth.users import UserError
from ember.cli.app import app
from ember.config import load_settings
from ember.runtime import build

runner = CliRunner()
PASSWORD = "a long enough secret"


def users_cmd(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["users", *args], input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command", [(), ("add",), ("list",), ("passwd",), ("role",), ("limits",), ("rm",)]
)
def test_users_help(command: tuple[str, ...]) -> None:
    code, out = users_cmd(*command, "--help")
    assert code == 0
    assert "Usage" in out


def test_add_list_passwd_role_rm(isolated_home: Path) -> None:
    code, out = users_cmd("list")
    assert "single-user" in out
    code, out = users_cmd("add", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, out
    assert "alice" in out
    assert "(admin)" in out
    assert "Accounts are on" in out
    assert PASSWORD not in out
    code, out = users_cmd("add", "bob", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "(user)" in out
    with sqlite3.connect(isolated_home / "ember.db") as db:
        stored = [row[0] for row in db.execute("SELECT password_hash FROM users")]
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in stored)
    code, out = users_cmd("list")
    assert "alice" in out
    assert "bob" in out
    with pytest.raises(UserError, match="at least 8"):
        users_cmd("add", "carol", input="short\nshort\n")
    code, out = users_cmd("passwd", "bob", input="another secret 1\nanother secret 1\n")
    assert code == 0
    runtime = build(load_settings())
    assert runtime.users.authenticate("bob", "another secret 1") is not None
    assert runtime.users.authenticate("bob", PASSWORD) is None
    runtime.close()
    with pytest.raises(UserError, match="last admin"):
        users_cmd("role", "alice", "user")
    assert users_cmd("role", "bob", "admin")[0] == 0
    assert users_cmd("rm", "bob", "--yes")[0] == 0
    assert "bob" not in users_cmd("list")[1]


def test_with_accounts_on_a_key_names_its_user(isolated_home: Path) -> None:
    users_cmd("add", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")
    result = runner.invoke(app, ["keys", "create"])
    assert result.exit_code != 0
    assert "--user" in result.output
    result = runner.invoke(app, ["keys", "create", "--user", "alice", "--name", "laptop"])
    assert result.exit_code == 0, result.output
    runtime = build(load_settings())
    [key] = runtime.keys.list()
    assert key.user_id == runtime.users.named("alice").id
    runtime.close()


def test_limits_show_and_set_a_users_own(isolated_home: Path) -> None:
    users_cmd("add", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")
    code, out = users_cmd("limits", "alice")
    assert code == 0
    assert "no limit (the setting)" in out
    assert "used today: 0 tokens" in out
    code, out = users_cmd("limits", "alice", "--per-minute", "5", "--tokens-per-day", "1000")
    assert "5 per minute" in out
    assert "1000 tokens per day" in out
    code, out = users_cmd("limits", "alice", "--default")
    assert "(the setting)" in out


def flat(code: int, out: str) -> tuple[int, str]:
    """The output with rich's line wrapping undone."""
    return code, " ".join(out.split())


def test_limits_hold_a_user_to_a_cloud_policy(isolated_home: Path) -> None:
    users_cmd("add", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")
    code, out = flat(*users_cmd("limits", "alice"))
    assert "cloud: local-only (the setting)" in out
    code, out = flat(*users_cmd("limits", "alice", "--cloud-policy", "ask"))
    assert code == 0
    assert "cloud: ask;" in out
    code, out = flat(*users_cmd("limits", "alice", "--cloud-policy", "everything"))
    assert code == 2
    assert "a cloud policy is one of local-only, ask" in out
    code, out = flat(*users_cmd("limits", "alice", "--default"))
    assert "cloud: local-only (the setting)" in out
