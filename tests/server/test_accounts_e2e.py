"""Accounts on a real server (loopback, SQLite): sign-in with argon2 passwords, session
cookies with CSRF tokens, a new session at each sign-in, slowed guessing, and isolation:
user B's cookie or key against user A's objects is a 404, never data; no credentials is
a 401 on every endpoint family."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ember.auth.sessions import SESSION_COOKIE
from ember.auth.throttle import SignInThrottle
from ember.chat.egress_log import EgressEntry, EgressLog
from ember.config import load_settings
from ember.runtime import Runtime, build
from ember.server.auth import check_bind
from tests.server.conftest import client_for, serving

PASSWORDS = {"alice": "correct horse battery", "bob": "staple gun 42 lamp"}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[Runtime]:
    rt = build(load_settings(home=tmp_path_factory.mktemp("accounts"), preload=False))
    rt.models.pull(str(smollm2_path), name="smollm2:135m")
    # Made before accounts existed: adopted by the first user (the admin).
    from ember.chat.conversations import ConversationStore

    ConversationStore(rt.db).create(title="from before accounts")
    rt.keys.create("old key")
    with rt.db.transaction() as tx:
        tx.execute("INSERT INTO doc_collections (name) VALUES ('old-notes')")
    rt.users.add("alice", PASSWORDS["alice"])
    rt.users.add("bob", PASSWORDS["bob"])
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def url(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as base:
        yield base


def sign_in(url: str, name: str, client: httpx.Client | None = None) -> httpx.Client:
    """A client signed in as ``name``, sending its CSRF token on every change."""
    client = client or client_for(url)
    response = client.post("/ember/api/signin", json={"name": name, "password": PASSWORDS[name]})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf"]
    return client


def test_the_first_user_is_admin_and_adopts_what_existed(runtime: Runtime) -> None:
    alice, bob = runtime.users.named("alice"), runtime.users.named("bob")
    assert (alice.role, bob.role) == ("admin", "user")
    from ember.chat.conversations import ConversationStore

    [before] = ConversationStore(runtime.db).all(user_id=alice.id)
    assert before.title == "from before accounts"
    assert ConversationStore(runtime.db).all(user_id=bob.id) == []
    assert [k.name for k in runtime.keys.list(user_id=alice.id)] == ["old key"]
    check_bind("0.0.0.0", None, runtime.users)  # accounts make other addresses allowed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/api/tags"),
        ("POST", "/api/chat"),
        ("GET", "/ember/api/conversations"),
        ("POST", "/ember/api/conversations"),
        ("GET", "/api/documents"),
        ("GET", "/ember/api/keys"),
        ("GET", "/ember/api/cloud/log"),
        ("GET", "/ember/api/workers"),
        ("GET", "/ember/api/users"),
        ("POST", "/ember/api/account/password"),
        ("GET", "/metrics"),
    ],
)
def test_no_credentials_is_401_on_every_family(url: str, method: str, path: str) -> None:
    response = httpx.request(method, f"{url}{path}", json={} if method == "POST" else None)
    assert response.status_code == 401, response.text


def test_open_paths_stay_open(url: str) -> None:
    assert httpx.get(f"{url}/health").status_code == 200
    session = httpx.get(f"{url}/ember/api/session").json()
    assert session == {"accounts": True, "signed_in": False}


def test_a_wrong_password_is_401_and_the_right_one_signs_in(url: str) -> None:
    wrong = httpx.post(f"{url}/ember/api/signin", json={"name": "bob", "password": "nope nope"})
    assert wrong.status_code == 401
    assert "wrong name or password" in wrong.json()["error"]["message"]
    unknown = httpx.post(
        f"{url}/ember/api/signin", json={"name": "mallory", "password": "whatever1"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
    client = sign_in(url, "bob")
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    set_cookie = client.post(
        "/ember/api/signin", json={"name": "bob", "password": PASSWORDS["bob"]}
    ).headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie or "samesite=strict" in set_cookie.lower()
    state = client.get("/ember/api/session").json()
    assert state["user"]["name"] == "bob"
    assert state["csrf"]


def test_each_sign_in_starts_a_new_session_and_the_old_one_ends(url: str) -> None:
    """Session fixation: a session id known before sign-in is worth nothing after it."""
    client = sign_in(url, "bob")
    planted = client.cookies.get(SESSION_COOKIE)
    sign_in(url, "bob", client)
    fresh = client.cookies.get(SESSION_COOKIE)
    assert fresh != planted
    assert client.get("/ember/api/conversations").status_code == 200
    stale = httpx.get(f"{url}/ember/api/conversations", cookies={SESSION_COOKIE: planted or ""})
    assert stale.status_code == 401


def test_a_change_without_the_csrf_token_is_refused(url: str) -> None:
    client = sign_in(url, "bob")
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/ember/api/conversations", json={"title": "forged"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = client.post(
        "/ember/api/conversations", json={"title": "forged"}, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    made = client.post(
        "/ember/api/conversations", json={"title": "mine"}, headers={"X-CSRF-Token": token}
    )
    assert made.status_code == 201
    titles = [c["title"] for c in client.get("/ember/api/conversations").json()["conversations"]]
    assert "forged" not in titles
    assert "mine" in titles


def _alices_conversation(url: str) -> tuple[str, str]:
    """A conversation of alice's with a question and an answer (ids)."""
    alice = sign_in(url, "alice")
    body = {
        "format": "ember.conversation.v1",
        "conversation": {"title": "alice's secret plans"},
        "messages": [
            {"id": "u", "parent_id": None, "role": "user", "content": "my plan is X"},
            {"id": "a", "parent_id": "u", "role": "assistant", "content": "noted"},
        ],
    }
    imported = alice.post("/ember/api/conversations/import", json=body)
    assert imported.status_code == 201, imported.text
    view = imported.json()
    return view["conversation"]["id"], view["messages"][-1]["id"]


def test_another_users_conversation_is_404_by_cookie_and_by_key(url: str, runtime: Runtime) -> None:
    cid, mid = _alices_conversation(url)
    bob_cookie = sign_in(url, "bob")
    _, bob_key = runtime.keys.create("bob's", user_id=runtime.users.named("bob").id)
    bob_key_client = client_for(url, headers={"Authorization": f"Bearer {bob_key}"})
    attempts: list[tuple[str, str, Any]] = [
        ("GET", f"/ember/api/conversations/{cid}", None),
        ("PATCH", f"/ember/api/conversations/{cid}", {"title": "mine now"}),
        ("GET", f"/ember/api/conversations/{cid}/export", None),
        ("POST", f"/ember/api/conversations/{cid}/branch", {"message_id": mid}),
        ("POST", f"/ember/api/conversations/{cid}/messages", {"content": "hi"}),
        ("POST", f"/ember/api/conversations/{cid}/messages/{mid}/regenerate", {}),
        ("POST", f"/ember/api/conversations/{cid}/messages/{mid}/continue", None),
        ("GET", f"/ember/api/conversations/{cid}/messages/{mid}/cloud-preview", None),
        ("GET", f"/ember/api/conversations/{cid}/live", None),
        ("POST", f"/ember/api/conversations/{cid}/stop", None),
        ("DELETE", f"/ember/api/conversations/{cid}", None),
    ]
    for client in (bob_cookie, bob_key_client):
        for method, path, body in attempts:
            response = client.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert "secret plans" not in response.text
            assert "my plan is X" not in response.text
        listed = client.get("/ember/api/conversations").json()["conversations"]
        assert all(c["id"] != cid for c in listed)
        found = client.get("/ember/api/conversations", params={"q": "plan"}).json()
        assert all(c["id"] != cid for c in found["conversations"])
    alice = sign_in(url, "alice")
    still = alice.get(f"/ember/api/conversations/{cid}")
    assert still.status_code == 200
    assert still.json()["conversation"]["title"] == "alice's secret plans"


def test_keys_belong_to_their_user(url: str, runtime: Runtime) -> None:
    bob = sign_in(url, "bob")
    made = bob.post("/ember/api/keys", json={"name": "laptop"})
    assert made.status_code == 201
    secret = made.json()["key"]
    assert httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {secret}"}).is_success
    names = [k["name"] for k in bob.get("/ember/api/keys").json()["keys"]]
    assert "laptop" in names
    assert "old key" not in names  # alice's
    alices = runtime.keys.list(user_id=runtime.users.named("alice").id)
    assert bob.delete(f"/ember/api/keys/{alices[0].id}").status_code == 404
    assert runtime.keys.get(alices[0].id).active
    assert bob.delete(f"/ember/api/keys/{made.json()['id']}").status_code == 200
    gone = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401


def test_a_key_of_no_user_is_refused_once_accounts_are_on(url: str, runtime: Runtime) -> None:
    _, orphan = runtime.keys.create("orphan")
    response = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {orphan}"})
    assert response.status_code == 401
    assert "belongs to no user" in response.json()["error"]["message"]


def test_the_egress_log_shows_a_user_only_their_own_entries(url: str, runtime: Runtime) -> None:
    cid, _ = _alices_conversation(url)
    EgressLog(runtime.db).record(
        EgressEntry(
            provider="sky",
            model="big",
            policy="auto",
            reason="sky/big was picked",
            status="sent",
            conversation_id=cid,
            user_id=runtime.users.named("alice").id,  # as the gate records it
        )
    )
    alice = sign_in(url, "alice")
    alice_sees = alice.get("/ember/api/cloud/log").json()["entries"]
    bob_sees = sign_in(url, "bob").get("/ember/api/cloud/log").json()["entries"]
    assert [e["conversation_id"] for e in alice_sees] == [cid]
    assert bob_sees == []
    # the audit entry is hers, not the conversation's: deleting the chat keeps it
    assert alice.delete(f"/ember/api/conversations/{cid}").status_code in (200, 204)
    still = alice.get("/ember/api/cloud/log").json()["entries"]
    assert [e["conversation_id"] for e in still] == [cid]


def test_guessing_passwords_is_slowed_with_429(url: str, runtime: Runtime) -> None:
    runtime.sign_ins = SignInThrottle()  # the failures of the tests above forgotten
    for _ in range(5):
        response = httpx.post(
            f"{url}/ember/api/signin", json={"name": "alice", "password": "guess guess"}
        )
        assert response.status_code == 401
    slowed = httpx.post(
        f"{url}/ember/api/signin", json={"name": "alice", "password": PASSWORDS["alice"]}
    )
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) >= 1
    assert "too many failed sign-ins" in slowed.json()["error"]["message"]
    runtime.sign_ins = SignInThrottle()  # for the tests below


def test_sign_out_ends_the_session(url: str) -> None:
    client = sign_in(url, "bob")
    assert client.post("/ember/api/signout").status_code == 200
    assert client.get("/ember/api/conversations").status_code == 401


HANDBOOK = b"""# Handbook

## Backups

To back up your chat history, copy the file ember.db to another disk while the server
is stopped.
"""


def test_documents_are_per_user(url: str) -> None:
    alice, bob = sign_in(url, "alice"), sign_in(url, "bob")
    names = [c["name"] for c in alice.get("/api/documents/collections").json()["collections"]]
    assert "old-notes" in names  # made before accounts: the first admin's
    uploaded = alice.post(
        "/api/documents",
        files=[("files", ("handbook.md", HANDBOOK, "text/markdown"))],
        data={"collection": "manuals"},
        timeout=300,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["results"][0]["document"]["collection"] == "manuals"
    [doc] = alice.get("/api/documents", params={"collection": "manuals"}).json()["documents"]
    hits = alice.post("/api/documents/search", json={"query": "how do I back up my chats"})
    [hit, *_] = hits.json()["hits"]
    assert hit["collection"] == "manuals"

    bob_names = [c["name"] for c in bob.get("/api/documents/collections").json()["collections"]]
    assert bob_names == ["default"]
    assert bob.get("/api/documents").json()["documents"] == []
    assert bob.get("/api/documents", params={"collection": "manuals"}).status_code == 404
    assert bob.post("/api/documents/search", json={"query": "back up chats"}).json() == {"hits": []}
    for method, path in [
        ("GET", f"/api/documents/passages/{hit['chunk_id']}"),
        ("DELETE", f"/api/documents/{doc['id']}"),
        ("DELETE", "/api/documents/collections/manuals"),
        ("DELETE", "/api/documents/collections/old-notes"),
    ]:
        response = bob.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert "ember.db" not in response.text
    # bob's own "manuals" is another collection
    mine = bob.post(
        "/api/documents",
        files=[("files", ("notes.txt", b"Bob's notes about the garden.", "text/plain"))],
        data={"collection": "manuals"},
        timeout=300,
    )
    assert mine.status_code == 200, mine.text
    assert [d["name"] for d in bob.get("/api/documents").json()["documents"]] == ["notes.txt"]
    still = alice.get("/api/documents", params={"collection": "manuals"}).json()["documents"]
    assert [d["name"] for d in still] == ["handbook.md"]


def test_a_conversation_grounds_in_its_owners_collection_of_that_name(url: str) -> None:
    """Both users have a "manuals" collection: each conversation reads its owner's."""
    previews = {}
    for name in ("alice", "bob"):
        client = sign_in(url, name)
        body = {
            "format": "ember.conversation.v1",
            "conversation": {"model": "smollm2:135m", "settings": {"collections": ["manuals"]}},
            "messages": [
                {"id": "u", "parent_id": None, "role": "user", "content": "How do I back up?"},
                {"id": "a", "parent_id": "u", "role": "assistant", "content": "..."},
            ],
        }
        view = client.post("/ember/api/conversations/import", json=body).json()
        cid, mid = view["conversation"]["id"], view["messages"][-1]["id"]
        found = client.get(f"/ember/api/conversations/{cid}/messages/{mid}/cloud-preview")
        assert found.status_code == 200, found.text
        previews[name] = " ".join(m["content"] for m in found.json()["messages"])
    assert "ember.db" in previews["alice"]
    assert "ember.db" not in previews["bob"]


def _ask(url: str, key: str, path: str = "/v1/chat/completions") -> httpx.Response:
    body: dict[str, Any] = {
        "model": "smollm2:135m",
        "messages": [{"role": "user", "content": "Say hi."}],
        "stream": False,
    }
    body["max_tokens" if path.startswith("/v1") else "options"] = (
        4 if path.startswith("/v1") else {"num_predict": 4}
    )
    return httpx.post(
        f"{url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=120
    )


def test_answers_per_minute_per_user_are_limited_with_429(url: str, runtime: Runtime) -> None:
    carol = runtime.users.add("carol", "carol's long password")
    runtime.users.set_limits("carol", per_minute=2, tokens_per_day=None)
    _, key = runtime.keys.create("carol", user_id=carol.id)
    assert _ask(url, key).status_code == 200
    assert _ask(url, key, "/api/chat").status_code == 200
    refused = _ask(url, key)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    ollama_refused = _ask(url, key, "/api/chat")
    assert ollama_refused.status_code == 429
    assert "limit is 2" in ollama_refused.json()["error"]  # Ollama's shape
    # another user is not limited by carol's answers
    bob = sign_in(url, "bob")
    _, bob_key = runtime.keys.create("bob-2", user_id=runtime.users.named("bob").id)
    assert _ask(url, bob_key).status_code == 200
    assert bob.get("/ember/api/conversations").status_code == 200


def test_tokens_per_day_are_counted_and_the_quota_refuses_with_429(
    url: str, runtime: Runtime
) -> None:
    dave = runtime.users.add("dave", "dave's long password")
    runtime.users.set_limits("dave", per_minute=None, tokens_per_day=10)
    _, key = runtime.keys.create("dave", user_id=dave.id)
    first = _ask(url, key)
    assert first.status_code == 200
    usage = first.json()["usage"]
    assert runtime.usage.used_today(dave.id) == usage["prompt_tokens"] + usage["completion_tokens"]
    refused = _ask(url, key)  # the first answer crossed 10 tokens
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert int(refused.headers["Retry-After"]) > 0
    # the page's answers count against the same quota
    client = client_for(url, headers={"Authorization": f"Bearer {key}"})
    cid = client.post("/ember/api/conversations", json={}).json()["conversation"]["id"]
    page = client.post(f"/ember/api/conversations/{cid}/messages", json={"content": "hi"})
    assert page.status_code == 429


def test_the_workers_view_is_for_admins(url: str) -> None:
    assert sign_in(url, "alice").get("/ember/api/workers").status_code == 200
    refused = sign_in(url, "bob").get("/ember/api/workers")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
