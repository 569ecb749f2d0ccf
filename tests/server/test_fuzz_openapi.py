"""Schemathesis over Ember's own OpenAPI document, against a real server: whatever the
input, the answer is never a 500 (bad input gets a 4xx with a clear error; an
unreachable upstream a 503)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ember.config import load_settings
from ember.runtime import build
from tests.server.conftest import serving

MODEL = "smollm2:135m"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("fuzz-home")
    runtime = build(
        load_settings(
            home=home,
            max_output_tokens=4,  # valid generation requests stay quick
            ollama_registry="http://127.0.0.1:9",  # nothing listens: pulls fail fast
            download_retries=0,
        )
    )
    runtime.models.pull(str(smollm2_path), name=MODEL)
    with serving(runtime) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")
    runtime.close()


def test_openapi_document_describes_request_bodies(api_schema: Any) -> None:
    raw = api_schema.raw_schema
    body = raw["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("ChatCompletionRequest")
    assert "ChatBody" in raw["components"]["schemas"]


def test_no_input_gets_a_server_error(api_schema: Any) -> None:
    """Every operation, 25 generated inputs each (fixed seed): never a 5xx."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 18

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case: Any) -> None:
            response = case.call(timeout=60)
            # 502-504 are deliberate answers (here: the registry is unreachable), never
            # a crash; they carry an error body like every other refusal.
            if response.status_code in (502, 503, 504):
                assert "error" in response.json()
                return
            assert response.status_code < 500, (
                f"{case.method} {case.path} -> {response.status_code}: "
                f"{response.text[:500]}\nbody: {case.body!r}"
            )

        no_server_error()
