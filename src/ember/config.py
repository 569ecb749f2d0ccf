"""One typed settings object for all of Ember.

Precedence, highest first: values passed in code (CLI flags) > ``EMBER_*`` environment
variables > ``config.toml`` in the Ember home > defaults. ``ember config`` lists every
field with its value, where that value came from and the description written here, so
this class is also the documentation of every setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ember.errors import ConfigError

ENV_PREFIX = "EMBER_"
# Speculative decoding's longest draft: llama-server's n-gram drafts are as long. On two
# AVX-512 EPYC cores (2026-12-04) a Qwen-0.5B quote went from 58-66 tok/s with 16 to
# 96-100 with 48; SmolLM2's copies were level (its rows past the 17th cost more).
DEFAULT_DRAFT_TOKENS = 48
MAX_DRAFT_TOKENS = 64
CONFIG_FILE_NAME = "config.toml"
DEFAULT_PORT = 11435


def default_home() -> Path:
    """The platform's per-user data directory (e.g. ~/.local/share/ember on Linux)."""
    return Path(platformdirs.user_data_dir("ember", appauthor=False))


def default_ollama_models() -> Path:
    """Where a local Ollama keeps its models: $OLLAMA_MODELS or ~/.ollama/models."""
    configured = os.environ.get("OLLAMA_MODELS")
    return Path(configured) if configured else Path.home() / ".ollama" / "models"


def resolve_home(explicit: Path | str | None = None) -> Path:
    """The Ember home: an explicit value, else $EMBER_HOME, else the platform default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_PREFIX + "HOME")
    return Path(env).expanduser() if env else default_home()


@dataclass(frozen=True)
class McpServerConfig:
    """One stdio MCP server of the ``mcp_servers`` setting (started by ``tools/mcp.py``)."""

    name: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> McpServerConfig:
        """``{"name": ..., "command": [...], "env": {...}}`` as a settings file writes it."""
        name, command = data.get("name"), data.get("command")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,30}", name):
            raise ValueError(f"an MCP server needs a name of letters, digits, _ or -: {name!r}")
        if isinstance(command, str):
            command = command.split()
        if not isinstance(command, Sequence) or not command:
            raise ValueError(f"MCP server {name}: command must be a non-empty list")
        env = data.get("env") or {}
        return cls(name, tuple(str(c) for c in command), {str(k): str(v) for k, v in env.items()})


@dataclass(frozen=True)
class RemoteConfig:
    """An OpenAI-compatible server whose models Ember offers as ``NAME/MODEL`` (the
    ``remotes`` setting). The key is never in the file: ``api_key_env`` names the
    environment variable that holds it, or ``api_key_keyring`` says it is in the OS
    keyring (service "ember", the remote's name; the variable wins when set). A remote
    marked ``cloud`` is outside this machine's trust: the cloud policy decides what may
    go there, the privacy guard redacts or blocks what the request holds, and every
    request is in the egress log; its prices (per million tokens) count what the answers cost."""

    name: str
    base_url: str
    api_key_env: str | None = None
    timeout_s: float = 600.0
    context_length: int = 8192
    cloud: bool = False
    price_in: float = 0.0  # per million prompt tokens
    price_out: float = 0.0  # per million completion tokens
    api_key_keyring: bool = False
    # One of the inference workers the front end spreads its models over (chat/workers.py):
    # its models answer by their plain names too.
    worker: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteConfig:
        """``{"name": ..., "base_url": ..., "api_key_env": ...}`` as a settings file writes it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if "api_key" in unknown:
            raise ValueError(
                "a remote's key does not go in the settings: set api_key_env to the name "
                "of the environment variable that holds it"
            )
        if unknown:
            raise ValueError(f"unknown remote field(s): {', '.join(unknown)}")
        name, url = data.get("name"), data.get("base_url")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", name):
            raise ValueError(f"a remote needs a name of letters, digits, _ . or -: {name!r}")
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
            raise ValueError(f"remote {name}: base_url must be an http(s) URL, not {url!r}")
        key_env = data.get("api_key_env")
        if key_env is not None and not (
            isinstance(key_env, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env)
        ):
            raise ValueError(f"remote {name}: api_key_env must be an environment variable name")
        timeout = data.get("timeout_s", 600.0)
        context = data.get("context_length", 8192)
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"remote {name}: timeout_s must be a positive number")
        if not isinstance(context, int) or context < 256:
            raise ValueError(f"remote {name}: context_length must be an integer >= 256")
        cloud = data.get("cloud", False)
        if not isinstance(cloud, bool):
            raise ValueError(f"remote {name}: cloud must be true or false")
        in_keyring = data.get("api_key_keyring", False)
        worker = data.get("worker", False)
        if not isinstance(in_keyring, bool) or not isinstance(worker, bool):
            raise ValueError(f"remote {name}: api_key_keyring and worker are true or false")
        if worker and cloud:
            raise ValueError(f"remote {name}: a cloud provider cannot be a worker")
        prices = [data.get("price_in", 0.0), data.get("price_out", 0.0)]
        if any(isinstance(p, bool) or not isinstance(p, int | float) or p < 0 for p in prices):
            raise ValueError(f"remote {name}: price_in and price_out must be numbers >= 0")
        return cls(
            name,
            url.rstrip("/"),
            key_env,
            float(timeout),
            context,
            cloud,
            float(prices[0]),
            float(prices[1]),
            in_keyring,
            worker,
        )

    def to_dict(self) -> dict[str, Any]:
        """The table ``config.toml`` holds for this remote (defaults left out)."""
        out: dict[str, Any] = {"name": self.name, "base_url": self.base_url}
        defaults = RemoteConfig("x", "http://x")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in out and value != getattr(defaults, f.name):
                out[f.name] = value
        return out


CloudPolicy = Literal["local-only", "ask", "auto"]


def kv_root(settings: Settings) -> Path:
    """The directory conversation KV states are saved under."""
    return settings.kv_dir or settings.home / "kv"


class Settings(BaseSettings):
    """Every setting Ember reads. Field descriptions are shown by ``ember config``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    home: Path = Field(
        default_factory=default_home,
        description="Directory holding Ember's database, model blobs and config.toml "
        "(set by EMBER_HOME only).",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the server binds. Anything but loopback requires API keys.",
    )
    auth: Literal["auto", "always"] = Field(
        default="auto",
        description="When API requests need a key (`ember keys create`). auto: only when "
        "the server binds an address other than loopback; always: on loopback too, once "
        "any key exists.",
    )
    port: int = Field(
        default=DEFAULT_PORT,
        ge=1,
        le=65535,
        description="Port the server listens on (11434 makes Ember stand in for Ollama).",
    )
    default_model: str = Field(
        default="qwen2.5-coder:0.5b",
        description="Model used when a request or command names none.",
    )
    ollama_registry: str = Field(
        default="https://registry.ollama.ai",
        description="Base URL of the Ollama registry that `ember pull` uses for Ollama names.",
    )
    ollama_models: Path = Field(
        default_factory=default_ollama_models,
        description="A local Ollama model store whose models Ember reuses without copying.",
    )
    download_retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="How many times an interrupted download is resumed before giving up.",
    )
    max_body_mb: float = Field(
        default=32.0,
        gt=0,
        description="Largest request body the server accepts, in MiB (bigger: HTTP 413).",
    )
    rate_limit_per_minute: int = Field(
        default=0,
        ge=0,
        description="With accounts: answers each user may ask for per minute (0: no limit; "
        "`ember users limits` sets a user's own). Beyond it: 429 with Retry-After.",
    )
    daily_token_quota: int = Field(
        default=0,
        ge=0,
        description="With accounts: tokens (prompt and completion) each user may use per "
        "UTC day (0: no quota; `ember users limits` sets a user's own). Beyond it: 429.",
    )
    max_pending_requests: int = Field(
        default=64,
        ge=1,
        description="Generation requests admitted at once (running plus queued); beyond "
        "this the server answers 503 with Retry-After instead of queueing without bound.",
    )
    context_length: int | None = Field(
        default=None,
        ge=256,
        description="Tokens one request may use (prompt + answer) for every loaded model; "
        "empty: the largest that fits this machine (`ember fit` shows it).",
    )
    context_extension: Literal["none", "yarn", "linear"] = Field(
        default="none",
        description="How a context larger than a model was trained on is reached, when one "
        "is asked for (--ctx, context_length, Ollama's num_ctx, a conversation's num_ctx). "
        "none: held to the trained length (a warning says so); yarn or linear: RoPE "
        "scaling stretches the trained positions over the larger context (yarn keeps "
        "quality better; both read short prompts slightly worse, so only set it when "
        "long ones need it).",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads llama.cpp uses; empty: the physical cores.",
    )
    parallel: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Requests one model serves at once (slots); empty: chosen by fit (4 "
        "when memory allows).",
    )
    gpu_layers: int | None = Field(
        default=None,
        ge=0,
        description="Layers offloaded to the GPU; empty: all that fit (0 without a GPU build).",
    )
    max_output_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Most tokens one answer may generate, whatever the request asks "
        "(empty: until the model stops or its context is full).",
    )
    draft_tokens: int = Field(
        default=DEFAULT_DRAFT_TOKENS,
        ge=0,
        le=MAX_DRAFT_TOKENS,
        description="Speculative decoding: at most this many tokens guessed from the "
        "answer's own text and prompt (prompt lookup) and checked in one step, while one "
        "answer is being written; what steps with guessed rows cost is timed once when a "
        "model loads, and each draft is as long as pays on this machine (that cost against "
        "how often the answer's guesses were confirmed), none where guessing measures "
        "slower; 0: off. Measured on two cores (the engine alone, the same text): quoting a "
        "passage 1.5-2.7x and rewriting a 60-line function 1.2-1.9x faster, prose 1.0-1.1x.",
    )
    answer_tokens: int = Field(
        default=4096,
        ge=16,
        description="How long an answer in Ember's chat (the page, `ember chat`) may be "
        "when the conversation sets no max_tokens; one that reaches it can be continued. "
        "The OpenAI and Ollama APIs keep their own limits.",
    )
    embedding_model: str | None = Field(
        default=None,
        description="Embedding model for documents (`ember docs`, chat with documents); "
        "empty: all-minilm-l6-v2, imported from the starter package on first use.",
    )
    rerank: bool = Field(
        default=False,
        description="Reorder the best passages of each document search with a "
        "cross-encoder reranker, which reads question and passage together (20 "
        "passages, about 0.85 s more per search on one core). Needs a reranker model: "
        "`ember import` a cross-encoder folder such as ms-marco-MiniLM-L-6-v2.",
    )
    reranker_model: str | None = Field(
        default=None,
        description="The reranker for documents when `rerank` is on; empty: the first "
        "installed reranker.",
    )
    kv_dir: Path | None = Field(
        default=None,
        description="Where conversation KV states are saved (empty: EMBER_HOME/kv). Ember "
        "workers behind one front end can share one directory (a volume each of them "
        "mounts): a conversation whose worker is gone then continues on another from "
        "its saved state instead of reading its history again.",
    )
    preload: bool = Field(
        default=True,
        description="When the server starts, load the default model and compute the start "
        "every new conversation shares (the tool instructions), kept on disk between "
        "restarts, so the first message does not wait for them.",
    )
    tools: bool = Field(
        default=True,
        description="Offer Ember's tools (calculator, text, dates, units, document search, "
        "and the MCP servers' tools) in Ember's own chat: the web page and `ember chat`. "
        "A conversation can turn them off.",
    )
    api_tools: bool = Field(
        default=False,
        description="Also offer Ember's tools to API callers (/v1/chat/completions, "
        "/api/chat) whose request brings no tools of its own: Ember runs the calls and "
        "returns the final answer.",
    )
    mcp_servers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="stdio MCP servers whose tools join Ember's, one table each in "
        'config.toml: [[mcp_servers]] name = "time", command = ["mcp-server-time"], '
        "env = {} (optional).",
    )
    remotes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="OpenAI-compatible servers (another Ember, llama-server, vLLM, Ollama) "
        "whose models are offered as NAME/MODEL, one table each in config.toml: "
        '[[remotes]] name = "lab", base_url = "http://10.0.0.5:8080/v1", '
        'api_key_env = "LAB_KEY" (the variable holding the key; optional).',
    )
    cloud_policy: CloudPolicy = Field(
        default="local-only",
        description="What may go to a cloud remote (one marked cloud = true): local-only "
        "(nothing leaves; a cloud model is refused), ask (the page asks first, the API "
        "answers 403 naming why it would escalate), auto (allowed requests go, after the "
        "privacy guard). A conversation or an API key can set its own.",
    )
    cloud_model: str | None = Field(
        default=None,
        description="The cloud model (NAME/MODEL) a local answer escalates to when the "
        "policy allows it: the prompt does not fit the local context, or the local queue "
        "is full. Empty: only a cloud model picked by name is used.",
    )
    cloud_shareable_collections: list[str] = Field(
        default_factory=list,
        description="Document collections whose passages may go to a cloud model (after the "
        "privacy guard). Every other collection is private: a request that carries its "
        "passages never leaves this machine.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the APIs from other sites (CORS); "
        "empty: same-origin only. '*' allows any origin.",
    )

    @field_validator("mcp_servers")
    @classmethod
    def _check_mcp_servers(cls, servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [McpServerConfig.from_dict(s).name for s in servers]
        if len(set(names)) != len(names):
            raise ValueError("two MCP servers have the same name")
        return servers

    @field_validator("remotes")
    @classmethod
    def _check_remotes(cls, remotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [RemoteConfig.from_dict(r).name for r in remotes]
        if len(set(names)) != len(names):
            raise ValueError("two remotes have the same name")
        return remotes

    @property
    def remote_configs(self) -> list[RemoteConfig]:
        return [RemoteConfig.from_dict(r) for r in self.remotes]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        home = resolve_home(getattr(init_settings, "init_kwargs", {}).get("home"))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=home / CONFIG_FILE_NAME)
        return (init_settings, env_settings, toml)

    @property
    def config_file(self) -> Path:
        return self.home / CONFIG_FILE_NAME

    @property
    def database_path(self) -> Path:
        return self.home / "ember.db"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning every kind of invalid input into a one-line ConfigError."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    home = resolve_home(overrides.get("home"))
    overrides["home"] = home
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"invalid setting {where}: {first['msg']}",
            hint=f"check EMBER_{where.upper()} and {home / CONFIG_FILE_NAME}",
        ) from exc
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(
            f"cannot read {home / CONFIG_FILE_NAME}: {exc}",
            hint="fix or remove the file; `ember config` shows the valid settings",
        ) from exc


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: Any
    source: str
    env_var: str
    description: str


def describe(settings: Settings) -> list[SettingRow]:
    """Every setting with its value and where it came from (env, config file, default)."""
    from_env = EnvSettingsSource(Settings)()
    toml_path = settings.config_file
    from_file = (
        TomlConfigSettingsSource(Settings, toml_file=toml_path)() if toml_path.exists() else {}
    )
    rows = []
    for name, info in Settings.model_fields.items():
        if name in from_env:
            source = "env"
        elif name in from_file:
            source = str(toml_path)
        elif name == "home" and os.environ.get(ENV_PREFIX + "HOME"):
            source = "env"
        else:
            source = "default"
        rows.append(
            SettingRow(
                name=name,
                value=getattr(settings, name),
                source=source,
                env_var=ENV_PREFIX + name.upper(),
                description=info.description or "",
            )
        )
    return rows
