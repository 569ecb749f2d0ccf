"""KeyStore: keys are created, verified, revoked, and only their hashes are stored."""

from __future__ import annotations

import sqlite3

import pytest

from ember.auth.keys import SECRET_PREFIX, KeyStore, hash_secret
from ember.errors import KeyNotFoundError
from ember.runtime import Runtime


@pytest.fixture
def keys(runtime: Runtime) -> KeyStore:
    return runtime.keys


def test_create_returns_a_random_secret_and_an_active_record(keys: KeyStore) -> None:
    assert not keys.has_active()
    record, secret = keys.create("laptop")
    other, other_secret = keys.create()
    assert secret.startswith(SECRET_PREFIX)
    assert len(secret) >= len(SECRET_PREFIX) + 43  # 32 random bytes, base64
    assert secret != other_secret
    assert record.name == "laptop"
    assert other.name == f"key-{other.id}"
    assert secret.startswith(record.prefix)
    assert record.active
    assert record.last_used_at is None
    assert keys.has_active()
    assert [k.id for k in keys.list()] == [record.id, other.id]


def test_verify_accepts_the_secret_only(keys: KeyStore) -> None:
    record, secret = keys.create("ci")
    found = keys.verify(secret)
    assert found is not None
    assert found.id == record.id
    assert found.last_used_at is not None
    assert keys.get(record.id).last_used_at == found.last_used_at
    assert keys.verify(secret + "x") is None
    assert keys.verify(secret[:-1]) is None
    assert keys.verify("") is None
    assert keys.verify("sk-anything") is None
    assert keys.verify(record.prefix) is None


def test_revoke_by_id_name_or_prefix(keys: KeyStore) -> None:
    a, secret_a = keys.create("a")
    b, _ = keys.create("b")
    c, _ = keys.create("c")
    assert keys.revoke(a.id).revoked_at is not None
    assert keys.verify(secret_a) is None
    assert keys.revoke("b").id == b.id
    assert keys.revoke(c.prefix).id == c.id
    assert not keys.has_active()
    assert keys.list(include_revoked=False) == []
    assert len(keys.list()) == 3


def test_revoke_unknown_or_ambiguous_is_a_clear_error(keys: KeyStore) -> None:
    with pytest.raises(KeyNotFoundError, match="no active API key matches 'nope'") as info:
        keys.revoke("nope")
    assert info.value.hint
    assert info.value.status == 404
    record, _ = keys.create("twin")
    keys.create("twin")
    with pytest.raises(KeyNotFoundError, match="2 active API keys match 'twin'"):
        keys.revoke("twin")
    keys.revoke(record.id)
    with pytest.raises(KeyNotFoundError):
        keys.revoke(record.id)  # already revoked


def test_the_database_holds_hashes_not_secrets(runtime: Runtime) -> None:
    _, secret = runtime.keys.create("x")
    conn = sqlite3.connect(runtime.settings.database_path)
    try:
        rows = conn.execute("SELECT * FROM api_keys").fetchall()
        (stored_hash,) = conn.execute("SELECT hash FROM api_keys").fetchone()
    finally:
        conn.close()
    assert stored_hash == hash_secret(secret)
    assert all(secret not in str(value) for value in rows[0])
    raw = b"".join(
        p.read_bytes() for p in runtime.settings.home.iterdir() if p.name.startswith("ember.db")
    )
    assert secret.encode() not in raw
    assert secret.removeprefix(SECRET_PREFIX).encode() not in raw


def test_keys_survive_reopening(runtime: Runtime) -> None:
    from ember.runtime import build

    _, secret = runtime.keys.create("kept")
    runtime.db.close()
    again = build(runtime.settings)
    try:
        assert again.keys.verify(secret) is not None
    finally:
        again.close()
