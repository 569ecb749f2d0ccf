"""`ember keys create / list / revoke`, driven through typer's CliRunner."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from ember.cli.app import app
from ember.config import load_settings
from ember.errors import KeyNotFoundError
from ember.runtime import build

runner = CliRunner()
SECRET = re.compile(r"^ember-[A-Za-z0-9_-]{43}$", re.MULTILINE)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [(), ("create",), ("list",), ("revoke",)])
def test_keys_help(command: tuple[str, ...]) -> None:
    code, out = invoke("keys", *command, "--help")
    assert code == 0
    assert "Usage" in out


def test_create_prints_the_secret_once_and_it_verifies() -> None:
    code, out = invoke("keys", "create", "--name", "laptop")
    assert code == 0
    match = SECRET.search(out)
    assert match, out
    assert "Authorization: Bearer" in out
    rt = build(load_settings())
    try:
        key = rt.keys.verify(match.group(0))
        assert key is not None
        assert key.name == "laptop"
    finally:
        rt.close()
    code, listed = invoke("keys", "list")
    assert code == 0
    assert "laptop" in listed
    assert match.group(0) not in listed
    assert match.group(0)[:12] in listed


def test_list_json_and_revoke() -> None:
    code, out = invoke("keys", "list")
    assert code == 0
    assert "No API keys" in out
    invoke("keys", "create", "-n", "a")
    invoke("keys", "create", "-n", "b")
    code, out = invoke("keys", "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["a", "b"]
    assert all(r["active"] and "hash" not in r for r in rows)
    code, out = invoke("keys", "revoke", rows[0]["id"])
    assert code == 0
    assert "revoked a" in out
    assert [r["name"] for r in json.loads(invoke("keys", "list", "--json")[1])] == ["b"]
    every = json.loads(invoke("keys", "list", "--all", "--json")[1])
    assert [(r["name"], r["active"]) for r in every] == [("a", False), ("b", True)]


def test_revoke_unknown_key_is_an_ember_error() -> None:
    result = runner.invoke(app, ["keys", "revoke", "nope"])
    assert isinstance(result.exception, KeyNotFoundError)
    assert "nope" in result.exception.message


def test_serve_refuses_other_addresses_until_a_key_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    from ember.cli.context import CliState
    from ember.server.app import BindRefusedError

    started: list[tuple[Any, str]] = []
    monkeypatch.setattr(CliState, "register_starters", lambda self: [])
    monkeypatch.setattr(uvicorn, "run", lambda app, host, **kw: started.append((app, host)))
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert isinstance(result.exception, BindRefusedError)
    assert "ember keys create" in (result.exception.hint or "")
    assert started == []

    code, out = invoke("keys", "create")
    match = SECRET.search(out)
    assert match
    code, out = invoke("serve", "--host", "0.0.0.0")
    assert code == 0
    assert "Authorization: Bearer" in out
    ((served, host),) = started
    assert host == "0.0.0.0"
    with TestClient(served) as client:  # the app knows it is not on loopback
        assert client.get("/v1/models").status_code == 401
        ok = client.get("/v1/models", headers={"Authorization": f"Bearer {match.group(0)}"})
        assert ok.status_code == 200
