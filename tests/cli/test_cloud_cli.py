"""`ember cloud add / list / test / rm / log`, through typer's CliRunner, against a
real Ember served on loopback as the provider (for `test`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from typer.testing import CliRunner

from ember.chat.egress_log import EgressEntry, EgressLog
from ember.chat.remote_keys import KeyringUnavailableError
from ember.cli.app import app
from ember.config import load_settings
from ember.config_file import read_table
from ember.errors import ConfigError
from ember.runtime import build
from tests.server.conftest import serving

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [(), ("add",), ("list",), ("rm",), ("test",), ("log",)])
def test_cloud_help(command: tuple[str, ...]) -> None:
    code, out = invoke("cloud", *command, "--help")
    assert code == 0
    assert "Usage" in out


def test_add_writes_the_provider_but_never_the_key_and_keeps_other_settings(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = isolated_home / "config.toml"
    isolated_home.mkdir(parents=True, exist_ok=True)
    config.write_text('default_model = "smollm2:135m"\n')
    monkeypatch.setenv("SKY_KEY", "sk-live-very-secret-value")
    code, out = invoke(
        "cloud",
        "add",
        "sky",
        "--base-url",
        "https://sky.example/v1",
        "--key-env",
        "SKY_KEY",
        "--price-in",
        "0.5",
    )
    assert code == 0, out
    assert "local-only" in out  # says nothing is sent until the policy allows it
    table = read_table(config)
    assert table["default_model"] == "smollm2:135m"
    assert table["remotes"] == [
        {
            "name": "sky",
            "base_url": "https://sky.example/v1",
            "api_key_env": "SKY_KEY",
            "cloud": True,
            "price_in": 0.5,
        }
    ]
    assert "sk-live-very-secret-value" not in config.read_text()
    settings = load_settings()
    assert [r.name for r in settings.remote_configs if r.cloud] == ["sky"]
    with pytest.raises(ConfigError, match="already exists"):
        invoke("cloud", "add", "sky", "--base-url", "https://other.example")
    code, out = invoke("cloud", "list", "--json")
    listed = json.loads(out)
    assert listed["policy"] == "local-only"
    assert listed["providers"][0]["name"] == "sky"
    code, out = invoke("cloud", "rm", "sky")
    assert code == 0
    assert "remotes" not in read_table(config)
    with pytest.raises(ConfigError, match="no remote named sky"):
        invoke("cloud", "rm", "sky")


def test_test_lists_a_real_providers_models(
    isolated_home: Path, tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path
) -> None:
    provider = build(load_settings(home=tmp_path_factory.mktemp("provider")))
    provider.models.pull(str(smollm2_path), name="smollm2:135m")
    with serving(provider) as url:
        assert invoke("cloud", "add", "peer", "--base-url", url)[0] == 0
        code, out = invoke("cloud", "test", "peer")
    provider.close()
    assert code == 0, out
    assert "peer/smollm2:135m" in out


def test_log_shows_kinds_and_counts_never_values(isolated_home: Path) -> None:
    runtime = build(load_settings())
    EgressLog(runtime.db).record(
        EgressEntry(
            provider="sky",
            model="big",
            policy="auto",
            reason="sky/big was picked",
            status="sent",
            redacted={"pii.email": 2},
            key_id="k1",
        )
    )
    runtime.close()
    code, out = invoke("cloud", "log")
    assert code == 0
    assert "sky/big" in out
    assert "2 pii.email" in out
    assert "key k1" in out
    code, out = invoke("cloud", "log", "--json")
    [entry] = json.loads(out)
    assert entry["redacted"] == {"pii.email": 2}


class MemoryKeyring(KeyringBackend):
    """An OS keyring in memory, for the tests (CI machines have no desktop keyring)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.kept:
            raise keyring.errors.PasswordDeleteError(username)
        del self.kept[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def test_a_key_in_the_os_keyring_reaches_the_provider_and_never_the_file(
    isolated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    smollm2_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    provider = build(load_settings(home=tmp_path_factory.mktemp("keyed"), auth="always"))
    provider.models.pull(str(smollm2_path), name="smollm2:135m")
    _, key = provider.keys.create("front")
    with serving(provider) as url:
        result = runner.invoke(
            app, ["cloud", "add", "peer", "--base-url", url, "--keyring"], input=f"{key}\n"
        )
        assert result.exit_code == 0, result.output
        assert key not in result.output  # asked for with the input hidden
        config = isolated_home / "config.toml"
        assert key not in config.read_text()
        assert read_table(config)["remotes"][0]["api_key_keyring"] is True
        assert memory_keyring.kept == {("ember", "peer"): key}
        code, out = invoke("cloud", "test", "peer")  # the provider demands the key
        assert code == 0, out
        assert "peer/smollm2:135m" in out
        code, out = invoke("cloud", "list")
        assert "keyring" in out
        assert key not in out
    provider.close()
    code, out = invoke("cloud", "rm", "peer")
    assert code == 0
    assert "and its key in the OS keyring" in out
    assert memory_keyring.kept == {}


def test_without_an_os_keyring_add_says_so_and_changes_nothing(isolated_home: Path) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        result = runner.invoke(
            app, ["cloud", "add", "sky", "--base-url", "https://sky.example", "--keyring"]
        )
    finally:
        keyring.set_keyring(before)
    assert isinstance(result.exception, KeyringUnavailableError)
    assert "no OS keyring" in str(result.exception)
    assert "remotes" not in read_table(isolated_home / "config.toml")
