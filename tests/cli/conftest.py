"""CLI fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.config import load_settings
from ember.runtime import build


@pytest.fixture(scope="session")
def starter_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Ember home with both starter models registered (done once: Qwen is 491 MB)."""
    home = tmp_path_factory.mktemp("starter-home")
    rt = build(load_settings(home=home))
    rt.models.ensure_starter_models()
    rt.close()
    return home
