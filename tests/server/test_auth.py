"""API keys on the server: who needs one, the 401 shapes of both API families, the bind check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ember.config import load_settings
from ember.runtime import Runtime, build
from ember.server.app import BindRefusedError, check_bind, create_app
from ember.server.auth import key_required
from tests.server.conftest import serving


def make_runtime(**overrides: Any) -> Iterator[Runtime]:
    rt = build(load_settings(**overrides))
    yield rt
    rt.close()


@pytest.fixture
def always_runtime() -> Iterator[Runtime]:
    """``auth = "always"``: keys are needed on loopback too, once one exists."""
    yield from make_runtime(auth="always")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_openai_401(response: Any, words: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert words in error["message"]


def assert_ollama_401(response: Any, words: str) -> None:
    assert response.status_code == 401
    body = response.json()
    assert isinstance(body["error"], str)
    assert words in body["error"]


def test_loopback_without_keys_is_open(client: TestClient) -> None:
    assert client.get("/v1/models").status_code == 200
    assert client.get("/api/tags").status_code == 200
    assert client.get("/ember/api/conversations").status_code == 200
    # clients configured with a dummy key keep working
    assert client.get("/v1/models", headers=bearer("sk-anything")).status_code == 200


def test_loopback_stays_open_by_default_when_keys_exist(
    runtime: Runtime, client: TestClient
) -> None:
    runtime.keys.create("remote")
    assert not key_required("127.0.0.1", "auto", runtime.keys)
    assert client.get("/v1/models").status_code == 200
    assert client.get("/api/tags").status_code == 200


def test_a_key_is_required_once_one_exists_with_auth_always(always_runtime: Runtime) -> None:
    with TestClient(create_app(always_runtime)) as client:
        assert client.get("/v1/models").status_code == 200  # no key yet: open
        _, secret = always_runtime.keys.create("ci")  # takes effect at once
        assert_openai_401(client.get("/v1/models"), "needs an API key")
        assert_openai_401(client.get("/v1/models/x"), "needs an API key")
        assert_ollama_401(client.get("/api/tags"), "needs an API key")
        assert_ollama_401(
            client.post("/api/chat", json={"model": "m", "messages": []}), "needs an API key"
        )
        assert client.get("/v1/models", headers=bearer(secret)).status_code == 200
        assert client.get("/api/tags", headers=bearer(secret)).status_code == 200
        assert client.get("/api/tags", headers={"X-API-Key": secret}).status_code == 200
        assert client.get("/v1/models", headers={"authorization": f"bearer {secret}"}).is_success
        assert_openai_401(client.get("/v1/models", headers=bearer(secret + "x")), "invalid")
        assert_ollama_401(client.get("/api/tags", headers=bearer("ember-wrong")), "invalid")
        assert_openai_401(client.get("/v1/models", headers={"Authorization": secret}), "needs")


def test_a_revoked_key_is_refused(always_runtime: Runtime) -> None:
    record, secret = always_runtime.keys.create("old")
    _, other = always_runtime.keys.create("new")
    with TestClient(create_app(always_runtime)) as client:
        assert client.get("/v1/models", headers=bearer(secret)).status_code == 200
        always_runtime.keys.revoke(record.id)
        assert_openai_401(client.get("/v1/models", headers=bearer(secret)), "revoked")
        assert_ollama_401(client.get("/api/tags", headers=bearer(secret)), "revoked")
        assert client.get("/api/tags", headers=bearer(other)).status_code == 200


def test_health_and_the_page_stay_open_the_rest_is_closed(always_runtime: Runtime) -> None:
    _, secret = always_runtime.keys.create()
    with TestClient(create_app(always_runtime)) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/ember/api/conversations").status_code == 401
        assert client.get("/metrics").status_code == 401
        metrics = client.get("/metrics", headers=bearer(secret))
        assert metrics.status_code == 200
        assert 'status="401"' in metrics.text  # refusals are counted


def test_non_loopback_binds_always_need_a_key(runtime: Runtime) -> None:
    assert key_required("0.0.0.0", "auto", runtime.keys)
    with TestClient(create_app(runtime, host="0.0.0.0")) as client:
        # no key exists (serve would refuse to start): nothing gets in
        assert_openai_401(client.get("/v1/models"), "needs an API key")
        assert_ollama_401(client.get("/api/tags", headers=bearer("ember-x")), "invalid")
        _, secret = runtime.keys.create()
        assert client.get("/v1/models", headers=bearer(secret)).status_code == 200
        assert client.get("/health").status_code == 200


def test_cors_preflight_passes_and_refusals_carry_cors_headers() -> None:
    origin = "http://localhost:3000"
    for rt in make_runtime(auth="always", cors_origins=[origin]):
        rt.keys.create()
        with TestClient(create_app(rt)) as client:
            preflight = client.options(
                "/v1/models",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "authorization",
                },
            )
            assert preflight.status_code == 200
            refused = client.get("/v1/models", headers={"Origin": origin})
            assert refused.status_code == 401
            assert refused.headers["access-control-allow-origin"] == origin


def test_check_bind_needs_an_active_key_for_other_addresses(runtime: Runtime) -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_bind(host, runtime.keys)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.lan"):
        with pytest.raises(BindRefusedError, match="needs accounts or an API key") as info:
            check_bind(host, runtime.keys)
        assert "ember keys create" in (info.value.hint or "")
        assert "ember users add" in (info.value.hint or "")
    record, _ = runtime.keys.create()
    check_bind("0.0.0.0", runtime.keys)
    check_bind("::", runtime.keys)
    runtime.keys.revoke(record.id)
    with pytest.raises(BindRefusedError):
        check_bind("0.0.0.0", runtime.keys)
    with pytest.raises(BindRefusedError):
        check_bind("0.0.0.0")  # no key store: loopback only


def test_the_official_clients_send_the_key(always_runtime: Runtime) -> None:
    """A real uvicorn server: the openai SDK's api_key, and Ollama's client with headers."""
    import ollama
    import openai

    _, secret = always_runtime.keys.create("sdk")
    with serving(always_runtime) as url:
        good = openai.OpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0)
        bad = openai.OpenAI(base_url=f"{url}/v1", api_key="ember", max_retries=0)
        with good, bad:
            assert good.models.list().data == []
            with pytest.raises(openai.AuthenticationError) as info:
                bad.models.list()
            assert info.value.status_code == 401
            assert info.value.code == "invalid_api_key"
        keyed = ollama.Client(host=url, headers=bearer(secret))
        anonymous = ollama.Client(host=url)
        with keyed, anonymous:
            assert keyed.list().models == []
            with pytest.raises(ollama.ResponseError) as refused:
                anonymous.list()
            assert refused.value.status_code == 401
            assert "API key" in refused.value.error
