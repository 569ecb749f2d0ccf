"""A real HTTP server speaking the Ollama registry protocol, for tests (hubs are offline here).

Serves ``/v2/NS/NAME/manifests/TAG`` and ``/v2/NS/NAME/blobs/DIGEST`` with Range
support, plus fault injection: cut the connection after N bytes, or corrupt the bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RegistryState:
    manifests: dict[tuple[str, str], bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # close a longer blob response after this many bytes
    cuts_left: int = 0
    corrupt: bool = False
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, range

    def add_model(
        self,
        repo: str,
        tag: str,
        gguf: bytes,
        *,
        template: str | None = None,
        system: str | None = None,
        params: dict[str, object] | None = None,
    ) -> str:
        """Publish ``gguf`` as repo:tag; returns the model layer digest."""
        layers = [self._layer("application/vnd.ollama.image.model", gguf)]
        if template is not None:
            layers.append(self._layer("application/vnd.ollama.image.template", template.encode()))
        if system is not None:
            layers.append(self._layer("application/vnd.ollama.image.system", system.encode()))
        if params is not None:
            layers.append(
                self._layer("application/vnd.ollama.image.params", json.dumps(params).encode())
            )
        config = self._layer("application/vnd.docker.container.image.v1+json", b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": config,
            "layers": layers,
        }
        self.manifests[(repo, tag)] = json.dumps(manifest).encode()
        return str(layers[0]["digest"])

    def _layer(self, media_type: str, data: bytes) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, self.headers.get("Range")))
            parts = self.path.split("/")
            if len(parts) >= 6 and parts[1] == "v2" and parts[-2] == "manifests":
                repo = "/".join(parts[2:-2])
                body = state.manifests.get((repo, parts[-1]))
                return self._send(body, "application/vnd.docker.distribution.manifest.v2+json")
            if len(parts) >= 6 and parts[1] == "v2" and parts[-2] == "blobs":
                return self._blob(state.blobs.get(parts[-1]))
            return self._send(None, "text/plain")

        def _send(self, body: bytes | None, ctype: str) -> None:
            if body is None:
                body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not found"}]}'
                self.send_response(404)
            else:
                self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _blob(self, data: bytes | None) -> None:
            if data is None:
                return self._send(None, "text/plain")
            if state.corrupt:
                data = bytes(reversed(data))
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.cut_after is not None and state.cuts_left > 0 and len(body) > state.cut_after:
                state.cuts_left -= 1
                self.wfile.write(body[: state.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def ollama_registry() -> Iterator[tuple[str, RegistryState]]:
    """Start the registry on a free loopback port; yields (base URL, state)."""
    state = RegistryState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
