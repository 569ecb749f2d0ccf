"""API keys: created and revoked with `ember keys`, checked by the server."""

from ember.auth.keys import ApiKey, KeyStore

__all__ = ["ApiKey", "KeyStore"]
