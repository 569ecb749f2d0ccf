"""Remote providers' API keys in the OS keyring (``ember cloud add --keyring``).

The key never goes into ``config.toml``, the database or a log: the remote's settings
only say that it is in the keyring, under the service ``ember`` and the remote's name.
Where no keyring exists (a server without a desktop session), the error says so and
points to the environment variable instead.
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backends import fail

from ember.errors import EmberError

SERVICE = "ember"


class KeyringUnavailableError(EmberError):
    """This machine has no usable OS keyring."""

    status = 503
    code = "keyring_unavailable"


def require_keyring() -> None:
    """Raise :class:`KeyringUnavailableError` unless a usable OS keyring exists."""
    _backend()


def _backend() -> keyring.backend.KeyringBackend:
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailableError(
            "this machine has no OS keyring to keep the key in",
            hint="keep the key in an environment variable instead (--key-env VAR)",
        )
    return backend


def store_key(remote: str, key: str) -> None:
    """Keep ``key`` for the remote ``remote`` in the OS keyring."""
    try:
        _backend().set_password(SERVICE, remote, key)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailableError(f"the OS keyring refused the key: {exc}") from exc


def read_key(remote: str) -> str | None:
    """The key kept for ``remote`` (None: none is kept)."""
    try:
        return _backend().get_password(SERVICE, remote)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailableError(f"the OS keyring could not be read: {exc}") from exc


def forget_key(remote: str) -> bool:
    """Remove the key kept for ``remote``; False when there was none (or no keyring)."""
    try:
        _backend().delete_password(SERVICE, remote)
    except (KeyringUnavailableError, keyring.errors.KeyringError):
        return False
    return True
