"""Engine fixtures: one real SmolLM2-135M engine shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.engine.llamacpp import LlamaCppEngine, LoadOptions

SMOLLM2_DIGEST = "sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


@pytest.fixture(scope="module")
def engine(
    smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaCppEngine]:
    kv = tmp_path_factory.mktemp("kv")
    eng = LlamaCppEngine(
        smollm2_path,
        name="smollm2:135m",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=2048, n_slots=4, kv_dir=kv),
    )
    yield eng
    eng.close()
