"""The checks behind ``ember doctor``: each says what it found and how to fix a problem.

Checks take the runtime (or settings) they inspect and never raise: a broken install is
exactly when a stack trace helps least. ``ok`` checks pass, ``warn`` ones are worth
knowing (a GPU this build cannot use), ``fail`` ones make ``ember doctor`` exit non-zero.
"""

from __future__ import annotations

import importlib
import os
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ember.config import Settings
from ember.models.blobs import normalize_digest, sha256_file
from ember.models.store import ModelRecord

Status = Literal["ok", "warn", "fail"]
MIN_FREE_DISK = 2 << 30  # room for one small model download

# Import name -> distribution to reinstall.
REQUIRED_IMPORTS = {
    "llama_cpp": "llama-cpp-python",
    "gguf": "gguf",
    "numpy": "numpy",
    "psutil": "psutil",
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "httpx": "httpx",
    "huggingface_hub": "huggingface_hub",
    "jinja2": "jinja2",
    "pydantic_settings": "pydantic-settings",
}


@dataclass(frozen=True)
class Check:
    area: str
    status: Status
    detail: str
    fix: str | None = None


def check_imports(
    names: dict[str, str] = REQUIRED_IMPORTS,
    importer: Callable[[str], object] = importlib.import_module,
) -> Iterator[Check]:
    """Every dependency Ember imports loads (a half-installed environment fails here)."""
    missing = []
    for module, dist in names.items():
        try:
            importer(module)
        except (ImportError, OSError) as exc:
            missing.append((module, dist, exc))
    for module, dist, error in missing:
        yield Check("install", "fail", f"cannot import {module}: {error}", f"pip install -U {dist}")
    if not missing:
        yield Check("install", "ok", f"{len(names)} dependencies import")


def check_llama_build() -> Iterator[Check]:
    """llama.cpp loads; which backends it has; a GPU it cannot use is worth a warning."""
    from ember.hardware.gpu import amd_gpus, nvidia_gpus
    from ember.hardware.llama_build import read_llama_build

    build = read_llama_build()
    if build.error:
        yield Check(
            "llama.cpp",
            "fail",
            f"the llama.cpp library does not load: {build.error}",
            "pip install --force-reinstall --no-cache-dir llama-cpp-python",
        )
        return
    yield Check(
        "llama.cpp",
        "ok",
        f"llama-cpp-python {build.version}; backends: {', '.join(build.backends)}",
    )
    if nvidia_gpus() and "cuda" not in build.backends:
        yield Check(
            "llama.cpp",
            "warn",
            "an NVIDIA GPU is present but this llama.cpp build is CPU-only",
            'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
            "llama-cpp-python",
        )
    elif amd_gpus() and not {"rocm", "vulkan"} & set(build.backends):
        yield Check(
            "llama.cpp",
            "warn",
            "an AMD GPU is present but this llama.cpp build cannot use it",
            'CMAKE_ARGS="-DGGML_VULKAN=on" pip install --force-reinstall --no-cache-dir '
            "llama-cpp-python",
        )


def check_models(records: list[ModelRecord], *, hashes: bool = True) -> Iterator[Check]:
    """Every installed model's file exists and (with ``hashes``) matches its sha256."""
    if not records:
        yield Check(
            "models",
            "warn",
            "no models installed",
            "pip install 'ember-ai[starter]', or `ember pull qwen2.5-coder:0.5b`",
        )
        return
    for record in records:
        if not record.available:
            yield Check(
                "models",
                "fail",
                f"{record.name}: its file is missing ({record.path})",
                f"ember pull {record.name}",
            )
            continue
        if hashes:
            try:
                actual = sha256_file(record.path)
            except OSError as exc:
                yield Check(
                    "models",
                    "fail",
                    f"{record.name}: unreadable ({exc})",
                    f"ember rm {record.name} && ember pull {record.name}",
                )
                continue
            if actual != normalize_digest(record.digest):
                yield Check(
                    "models",
                    "fail",
                    f"{record.name}: the file does not match its sha256 (damaged or changed)",
                    f"ember rm {record.name} && ember pull {record.name}",
                )
                continue
        verified = "sha256 verified" if hashes else "present"
        yield Check("models", "ok", f"{record.name}: {verified}")


def check_port(
    host: str, port: int, ember_answers: Callable[[str], bool] | None = None
) -> Iterator[Check]:
    """The server's port is free (or already held by a running Ember)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        if ember_answers is not None and ember_answers(f"http://{host}:{port}"):
            yield Check("port", "ok", f"{host}:{port} is served by a running Ember")
            return
        yield Check(
            "port",
            "fail",
            f"cannot bind {host}:{port}: {exc.strerror or exc}",
            f"stop what uses port {port}, or `ember serve --port {port + 1}` "
            f"(EMBER_PORT={port + 1})",
        )
        return
    yield Check("port", "ok", f"{host}:{port} is free")


def check_disk(home: Path, free: Callable[[Path], int] | None = None) -> Iterator[Check]:
    """Enough free disk under EMBER_HOME for a model download."""
    from ember.hardware.probe import disk_free_under

    available = free(home) if free is not None else disk_free_under(home)
    if available is None:
        yield Check("disk", "warn", f"free space under {home} is unknown")
    elif available < MIN_FREE_DISK:
        yield Check(
            "disk",
            "fail",
            f"only {available / 1e9:.1f} GB free under {home}",
            "free some space (`ember rm` unused models) or set EMBER_HOME to a larger disk",
        )
    else:
        yield Check("disk", "ok", f"{available / 1e9:.0f} GB free under {home}")


def check_home(home: Path) -> Iterator[Check]:
    """EMBER_HOME exists, is writable by this user, and is not writable by others."""
    if not home.is_dir():
        yield Check("home", "fail", f"{home} does not exist", f"mkdir -p {home}")
        return
    try:
        with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-"):
            pass
    except OSError as exc:
        yield Check(
            "home",
            "fail",
            f"{home} is not writable: {exc.strerror or exc}",
            f"chown -R {_user()} {home}",
        )
        return
    mode = home.stat().st_mode
    if mode & stat.S_IWOTH:
        yield Check(
            "home",
            "fail",
            f"{home} is writable by every user (mode {stat.filemode(mode)}): anyone could "
            "replace a model or read your chats",
            f"chmod 700 {home}",
        )
        return
    yield Check("home", "ok", f"{home} is writable ({stat.filemode(mode)})")


def run_all(
    settings: Settings,
    records: list[ModelRecord],
    *,
    hashes: bool = True,
    ember_answers: Callable[[str], bool] | None = None,
) -> list[Check]:
    """Every check, in the order a user would fix them."""
    checks: list[Check] = []
    checks += check_imports()
    checks += check_llama_build()
    checks += check_home(settings.home)
    checks += check_disk(settings.home)
    checks += check_port(settings.host, settings.port, ember_answers)
    checks += check_models(records, hashes=hashes)
    return checks


def _user() -> str:
    try:
        return os.getlogin()
    except OSError:
        return str(os.getuid()) if hasattr(os, "getuid") else "$USER"
