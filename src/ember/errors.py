"""Ember's exception tree: each error carries its meaning, an HTTP status and a hint.

One place renders them (the CLI's error handler now, the server's exception handler
later), so no caller classifies errors by matching message text.

    EmberError                      500  base class
    ├── ConfigError                 400  a setting or config.toml is invalid
    ├── ModelNotFoundError          404  no model by that name (locally or at a source)
    ├── InvalidModelNameError       400  a name or reference that cannot be parsed
    ├── AuthenticationError         401  an API request without a valid API key
    ├── KeyNotFoundError            404  no API key by that id, name or prefix
    ├── ModelExistsError            409  the target name of a copy is taken
    ├── NotAGGUFError               422  the file is not a readable GGUF model
    ├── IntegrityError              422  a download or file does not match its sha256
    ├── ModelWontFitError           422  a model cannot fit this machine's memory
    ├── DownloadError               502  a source failed while downloading
    ├── SourceUnavailableError      503  a source cannot be reached at all
    └── InsufficientDiskError       507  not enough free disk for a download or import
"""

from __future__ import annotations


class EmberError(Exception):
    """Base class: a message for the user, an optional hint, and an HTTP status."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(EmberError):
    status = 400
    code = "invalid_config"


class InvalidModelNameError(EmberError):
    status = 400
    code = "invalid_model_name"


class AuthenticationError(EmberError):
    status = 401
    code = "invalid_api_key"


class AuthorizationError(EmberError):
    """Signed in, but this is for admins (or another role)."""

    status = 403
    code = "forbidden"


class KeyNotFoundError(EmberError):
    status = 404
    code = "key_not_found"


class ModelNotFoundError(EmberError):
    status = 404
    code = "model_not_found"


class ModelExistsError(EmberError):
    status = 409
    code = "model_exists"


class NotAGGUFError(EmberError):
    status = 422
    code = "not_a_gguf"


class IntegrityError(EmberError):
    status = 422
    code = "integrity_error"


class DownloadError(EmberError):
    status = 502
    code = "download_failed"


class SourceUnavailableError(EmberError):
    status = 503
    code = "source_unavailable"


class InsufficientDiskError(EmberError):
    status = 507
    code = "insufficient_disk"


class ModelWontFitError(EmberError):
    status = 422
    code = "model_wont_fit"
