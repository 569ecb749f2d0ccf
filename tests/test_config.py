"""Settings precedence (env > config.toml > defaults), errors, and `describe` sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.config import DEFAULT_PORT, describe, load_settings
from ember.errors import ConfigError


def test_defaults_use_ember_home(isolated_home: Path) -> None:
    settings = load_settings()
    assert settings.home == isolated_home
    assert settings.port == DEFAULT_PORT
    assert settings.host == "127.0.0.1"
    assert settings.database_path == isolated_home / "ember.db"


def test_env_beats_config_file_beats_default(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text('port = 9000\ndefault_model = "smollm2:135m"\n')
    monkeypatch.setenv("EMBER_PORT", "9100")
    settings = load_settings()
    assert settings.port == 9100
    assert settings.default_model == "smollm2:135m"
    sources = {row.name: row.source for row in describe(settings)}
    assert sources["port"] == "env"
    assert sources["default_model"] == str(isolated_home / "config.toml")
    assert sources["host"] == "default"
    assert sources["home"] == "env"


def test_explicit_override_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_PORT", "9100")
    assert load_settings(port=9200).port == 9200


def test_every_setting_is_described(settings: object) -> None:
    rows = describe(load_settings())
    assert rows, "describe lists the settings"
    for row in rows:
        assert row.description, f"{row.name} has no description"
        assert row.env_var == "EMBER_" + row.name.upper()


def test_invalid_env_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="port"):
        load_settings()


def test_unknown_key_in_config_file_is_a_config_error(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings()


def test_broken_toml_is_a_config_error(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text("port = = 3\n")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings()


def test_context_extension_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().context_extension == "none"
    monkeypatch.setenv("EMBER_CONTEXT_EXTENSION", "yarn")
    assert load_settings().context_extension == "yarn"
    monkeypatch.setenv("EMBER_CONTEXT_EXTENSION", "ntk")
    with pytest.raises(ConfigError, match="context_extension"):
        load_settings()
