"""``OpenAICompatBackend``: answers computed by any OpenAI-compatible server.

Another Ember, llama-server, vLLM, Ollama or a cloud API: Ember streams
``/v1/chat/completions`` from it (httpx), lists its ``/v1/models``, and maps its failures
to Ember's errors with the status a client should see. A failed connection is retried
before anything was received (tenacity); once the answer has started it is never
retried, and a stream that breaks off ends with ``finish_reason="error"`` and the text
received so far. The key is read from the environment variable the settings name, at
each request, and never logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from ember.chat.remote_keys import read_key
from ember.chat.remote_wire import StreamAssembler, chat_body, error_message, model_ids
from ember.chat.types import ChatEvent, ChatRequest
from ember.config import RemoteConfig
from ember.errors import EmberError, ModelNotFoundError

log = logging.getLogger(__name__)
# Tries before the first byte: a connection that fails, or a gateway that answers 502,
# 503 or 504 (a provider restarting, a proxy timing out), is tried again with backoff.
ATTEMPTS = 3
RETRY_STATUSES = frozenset({502, 503, 504})
# Asks an Ember peer to keep the answer's KV state on disk (ChatRequest.save_kv); other
# servers ignore it.
SAVE_KV_HEADER = "X-Ember-Save-KV"


class _TryAgain(Exception):
    """A retryable status before any byte of the answer (handled inside ``_open``)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class RemoteUnavailableError(EmberError):
    status = 502
    code = "remote_unavailable"


class RemoteTimeoutError(EmberError):
    status = 504
    code = "remote_timeout"


class RemoteRefusedError(EmberError):
    """The remote answered with an error that is not the caller's fault."""

    status = 502
    code = "remote_error"


class RemoteRequestError(EmberError):
    """The remote found the request invalid (the caller's to fix)."""

    status = 400
    code = "invalid_request"


class RemoteBusyError(EmberError):
    status = 429
    code = "remote_rate_limited"


def api_root(base_url: str) -> str:
    """``http://host:8080`` and ``http://host:8080/v1`` both mean the server's /v1."""
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


class OpenAICompatBackend:
    def __init__(
        self,
        config: RemoteConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        retry_wait_s: float = 0.5,
    ) -> None:
        self.config = config
        self.name = config.name
        self.root = api_root(config.base_url)
        self._environ = os.environ if environ is None else environ
        self._transport = transport
        self._retry_wait_s = retry_wait_s
        self._keyring_key: str | None = None

    def auth_headers(self) -> dict[str, str]:
        key = self._key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _key(self) -> str | None:
        """The API key: the environment variable's when it is set, else the OS
        keyring's (read once); None when the remote needs none."""
        env = self.config.api_key_env
        if env and self._environ.get(env):
            return self._environ[env]
        if self.config.api_key_keyring:
            if self._keyring_key is None:
                self._keyring_key = read_key(self.name)
            if not self._keyring_key:
                raise RemoteUnavailableError(
                    f"the remote {self.name} needs a key, and the OS keyring holds none for it",
                    hint=f"ember cloud add {self.name} --base-url … --keyring --replace",
                )
            return self._keyring_key
        if env:
            raise RemoteUnavailableError(
                f"the remote {self.name} needs a key, and ${env} is not set",
                hint=f"export {env}=… in the environment that starts Ember",
            )
        return None

    def _client(self, read_timeout: float | None) -> httpx.AsyncClient:
        timeout = httpx.Timeout(10.0, read=read_timeout)
        return httpx.AsyncClient(timeout=timeout, transport=self._transport)

    async def context_length(self, model: str, num_ctx: int | None = None) -> int:
        return num_ctx or self.config.context_length

    async def list_models(self) -> list[str]:
        """The remote's model ids (its own names, without ``NAME/``)."""
        async with self._client(10.0) as client:
            try:
                response = await client.get(f"{self.root}/models", headers=self.auth_headers())
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from exc
            if response.status_code >= 400:
                raise self._refusal(response.status_code, _json(response), "")
            return model_ids(_json(response))

    def body_of(self, request: ChatRequest) -> bytes:
        """The exact bytes :meth:`stream` sends for ``request`` (the egress log hashes them)."""
        return json.dumps(chat_body(request, request.model), ensure_ascii=False).encode()

    async def stream(
        self, request: ChatRequest, *, body: bytes | None = None
    ) -> AsyncIterator[ChatEvent]:
        """The remote's answer as Ember's events; ``request.model`` is the remote's name.
        ``body``: :meth:`body_of` the request, when the caller already made it (the
        cloud gate hashes exactly the bytes that are sent)."""
        body = self.body_of(request) if body is None else body
        headers = {**self.auth_headers(), "Content-Type": "application/json"}
        if request.save_kv:
            headers[SAVE_KV_HEADER] = "1"
        started = time.perf_counter()
        async with self._client(self.config.timeout_s) as client:
            response = await self._open(client, body, headers)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._refusal(response.status_code, _json(response), request.model)
                async for event in self._events(response, started):
                    yield event
            finally:
                await response.aclose()

    async def _open(
        self, client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """Send the request; a connection that fails, or a 502/503/504, before any answer
        is tried again (``ATTEMPTS`` in all, waiting 1×, 2× ``retry_wait_s``). The last
        such response is returned as it is, for the caller to report."""
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(ATTEMPTS),
                wait=wait_exponential(multiplier=self._retry_wait_s, max=8 * self._retry_wait_s),
                retry=retry_if_exception_type(
                    (httpx.ConnectError, httpx.ConnectTimeout, _TryAgain)
                ),
                reraise=True,
            ):
                with attempt:
                    request = client.build_request(
                        "POST", f"{self.root}/chat/completions", content=body, headers=headers
                    )
                    response = await client.send(request, stream=True)
                    if response.status_code in RETRY_STATUSES:
                        await response.aread()
                        raise _TryAgain(response)
                    return response
        except _TryAgain as exc:
            return exc.response
        except httpx.TimeoutException as exc:
            raise RemoteTimeoutError(f"the remote {self.name} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        raise RemoteUnavailableError(f"the remote {self.name} did not answer")  # unreachable

    async def _events(self, response: httpx.Response, started: float) -> AsyncIterator[ChatEvent]:
        assembler = StreamAssembler(where=self.name)
        first_at: float | None = None
        error: str | None = None
        finished = False
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    finished = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    continue
                if isinstance(chunk, dict) and chunk.get("error"):
                    error = error_message(chunk, "the remote reported an error")
                    break
                delta = assembler.feed(chunk)
                if delta is not None:
                    first_at = first_at or time.perf_counter()
                    yield delta
        except httpx.HTTPError as exc:
            error = f"the remote {self.name} stopped mid-answer ({type(exc).__name__})"
        if error is None and not finished and assembler.finish_reason is None:
            error = f"the remote {self.name} closed the stream before the answer ended"
        now = time.perf_counter()
        first = first_at or now
        yield assembler.done(ttft_s=first - started, decode_s=now - first, error=error)

    def _unreachable(self, exc: httpx.HTTPError) -> EmberError:
        log.warning("remote %s unreachable: %s", self.name, type(exc).__name__)
        return RemoteUnavailableError(
            f"the remote {self.name} ({self.root}) cannot be reached: {type(exc).__name__}",
            hint="is it running? `ember config` shows the remotes setting",
        )

    def _refusal(self, status: int, body: Any, model: str) -> EmberError:
        message = error_message(body, f"HTTP {status}")
        said = f"the remote {self.name} answered {status}: {message}"
        if status == 404:
            return ModelNotFoundError(
                f"the remote {self.name} has no model {model!r} ({message})",
                hint=f"`ember list` shows the models of {self.name}",
            )
        if status in (401, 403):
            env = self.config.api_key_env
            return RemoteRefusedError(
                said,
                hint=f"check the key in ${env}"
                if env
                else (
                    "check the key in the OS keyring"
                    if self.config.api_key_keyring
                    else "set api_key_env for it"
                ),
            )
        if status == 429:
            return RemoteBusyError(said)
        if 400 <= status < 500:
            return RemoteRequestError(said)
        return RemoteRefusedError(said)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
