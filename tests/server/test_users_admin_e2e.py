"""Managing accounts through the page's API on a real server: admins add, change and
remove users (removing takes their conversations, keys and documents with them); users
change their own password; nobody else may do either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.config import load_settings
from ember.runtime import Runtime, build
from tests.server.conftest import client_for, serving

ADMIN, USER = ("ada", "analytical engine 1843"), ("bea", "difference engine 1822")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = build(load_settings(home=tmp_path_factory.mktemp("users-admin"), preload=False))
    rt.users.add(*ADMIN)
    rt.users.add(*USER)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def url(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as base:
        yield base


def signed_in(url: str, name: str, password: str) -> httpx.Client:
    client = client_for(url)
    response = client.post("/ember/api/signin", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf"]
    return client


def by_name(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/ember/api/users")
    assert response.status_code == 200, response.text
    return {u["name"]: u for u in response.json()["users"]}


def test_only_admins_manage_accounts(url: str, runtime: Runtime) -> None:
    assert httpx.get(f"{url}/ember/api/users").status_code == 401
    bea = signed_in(url, *USER)
    ada_id = runtime.users.named(ADMIN[0]).id
    for method, path, body in [
        ("GET", "/ember/api/users", None),
        ("POST", "/ember/api/users", {"name": "eve", "password": "12345678"}),
        ("PATCH", f"/ember/api/users/{ada_id}", {"role": "user"}),
        ("DELETE", f"/ember/api/users/{ada_id}", None),
    ]:
        response = bea.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    assert runtime.users.find("eve") is None
    assert runtime.users.named(ADMIN[0]).role == "admin"


def test_a_change_without_the_csrf_token_is_refused(url: str, runtime: Runtime) -> None:
    ada = signed_in(url, *ADMIN)
    del ada.headers["X-CSRF-Token"]
    response = ada.post("/ember/api/users", json={"name": "mallory", "password": "12345678"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert runtime.users.find("mallory") is None


def test_an_admin_adds_changes_and_removes_a_user(url: str, runtime: Runtime) -> None:
    ada = signed_in(url, *ADMIN)
    added = ada.post("/ember/api/users", json={"name": "cy", "password": "first password"})
    assert added.status_code == 201, added.text
    cy_id = added.json()["id"]
    assert added.json()["role"] == "user"
    assert ada.post("/ember/api/users", json={"name": "cy", "password": "x" * 8}).status_code == 400
    short = ada.post("/ember/api/users", json={"name": "dee", "password": "short"})
    assert short.status_code == 400
    assert "8" in short.json()["error"]["message"]

    # cy signs in and makes things of their own
    cy = signed_in(url, "cy", "first password")
    conversation = cy.post("/ember/api/conversations", json={"title": "cy's"}).json()
    key = cy.post("/ember/api/keys", json={"name": "laptop"}).json()["key"]
    uploaded = cy.post(
        "/api/documents",
        files=[("files", ("plan.txt", b"The garden plan: tomatoes by the wall.", "text/plain"))],
        data={"collection": "garden"},
        timeout=300,
    )
    assert uploaded.status_code == 200, uploaded.text

    # role and limits; a limit sent as null is the setting's again
    changed = ada.patch(
        f"/ember/api/users/{cy_id}", json={"role": "admin", "daily_token_quota": 5000}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["daily_token_quota"]) == ("admin", 5000)
    back = ada.patch(f"/ember/api/users/{cy_id}", json={"daily_token_quota": None})
    assert back.json()["daily_token_quota"] is None
    assert back.json()["role"] == "admin"  # not sent: unchanged
    listed = by_name(ada)["cy"]
    assert listed["tokens_today"] == 0
    assert set(listed) == {
        "id",
        "name",
        "role",
        "created_at",
        "rate_limit_per_minute",
        "daily_token_quota",
        "cloud_policy",
        "tokens_today",
    }
    held = ada.patch(f"/ember/api/users/{cy_id}", json={"cloud_policy": "local-only"})
    assert held.json()["cloud_policy"] == "local-only"
    assert runtime.users.cloud_policy_of(cy_id) == "local-only"
    bad = ada.patch(f"/ember/api/users/{cy_id}", json={"cloud_policy": "everything"})
    assert bad.status_code == 400

    # a new password ends cy's sessions
    ada.patch(f"/ember/api/users/{cy_id}", json={"password": "second password"})
    assert cy.get("/ember/api/conversations").status_code == 401
    cy = signed_in(url, "cy", "second password")
    assert cy.get("/ember/api/conversations").status_code == 200

    # removing cy removes what was theirs
    gone = ada.delete(f"/ember/api/users/{cy_id}")
    assert gone.status_code == 200, gone.text
    assert gone.json()["documents"] == 1
    assert runtime.users.find("cy") is None
    assert not [n for n, _ in runtime.documents.collections() if n.startswith(f"{cy_id}~")]
    assert (
        runtime.db.query_one(
            "SELECT id FROM conversations WHERE id = ?", (conversation["conversation"]["id"],)
        )
        is None
    )
    as_key = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert as_key.status_code == 401
    assert ada.delete(f"/ember/api/users/{cy_id}").status_code == 404


def test_the_last_admin_stays_and_nobody_removes_themself(url: str, runtime: Runtime) -> None:
    ada = signed_in(url, *ADMIN)
    ada_id = runtime.users.named(ADMIN[0]).id
    demoted = ada.patch(f"/ember/api/users/{ada_id}", json={"role": "user"})
    assert demoted.status_code == 400
    assert "last admin" in demoted.json()["error"]["message"]
    assert ada.delete(f"/ember/api/users/{ada_id}").status_code == 403
    assert runtime.users.named(ADMIN[0]).role == "admin"


def test_a_user_changes_their_own_password(url: str, runtime: Runtime) -> None:
    elsewhere = signed_in(url, *USER)
    here = signed_in(url, *USER)
    wrong = here.post(
        "/ember/api/account/password",
        json={"current_password": "not it at all", "new_password": "a new password"},
    )
    assert wrong.status_code == 400
    changed = here.post(
        "/ember/api/account/password",
        json={"current_password": USER[1], "new_password": "a new password"},
    )
    assert changed.status_code == 200, changed.text
    here.headers["X-CSRF-Token"] = changed.json()["csrf"]
    assert here.get("/ember/api/conversations").status_code == 200  # this session goes on
    assert here.post("/ember/api/conversations", json={}).status_code == 201
    assert elsewhere.get("/ember/api/conversations").status_code == 401  # others end
    assert runtime.users.authenticate(USER[0], "a new password") is not None
    assert runtime.users.authenticate(USER[0], USER[1]) is None


def test_removing_a_user_removes_their_empty_collections_too(tmp_path: Path) -> None:
    rt = build(load_settings(home=tmp_path, preload=False))
    rt.users.add(*ADMIN)
    dan = rt.users.add("dan", "dan's password")
    with rt.db.transaction() as tx:
        tx.execute("INSERT INTO doc_collections (name) VALUES (?)", (f"{dan.id}~notes",))
    removed, documents = rt.remove_user("dan")
    assert (removed.name, documents) == ("dan", 0)
    assert [n for n, _ in rt.documents.collections() if n.startswith(dan.id)] == []
    rt.close()
