"""A real HTTP server speaking the part of the Hugging Face Hub protocol that huggingface_hub uses.

The hubs are unreachable from the test machines, so this serves the same URL layout and
headers that ``huggingface_hub`` (2.x, httpx2 based) reads:

    GET  /api/models/OWNER/REPO/tree/REVISION[/PATH]?recursive=&expand=
         JSON list of {"type": "file"|"directory", "path", "oid", "size", "lfs"}
    HEAD /OWNER/REPO/resolve/REVISION/FILE
    GET  /OWNER/REPO/resolve/REVISION/FILE
         LFS file: 302 to the "CDN" with X-Repo-Commit, ETag and X-Linked-Etag (the sha256),
         X-Linked-Size; plain git file: 200 with the bytes, ETag (git oid), X-Repo-Commit
    GET|HEAD /cdn/SHA256
         the bytes, with Accept-Ranges, Content-Length, ETag, and 206/Content-Range for Range

Errors come as the hub sends them: 404 with ``X-Error-Code: RepoNotFound``,
``RevisionNotFound`` or ``EntryNotFound``; a private repository asked without its bearer
token answers 401 ``RepoNotFound``.

The CDN is this same server addressed as ``localhost`` while the hub is ``127.0.0.1``: a
different host, so clients treat the redirect as leaving the hub, as with the real CDN
(huggingface_hub reads the metadata from the 302 itself; httpx drops Authorization).

Fault injection on the CDN: cut the connection after N bytes, or serve corrupted bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

LFS_SUFFIXES = (".gguf", ".bin", ".safetensors")


@dataclass
class HubRepo:
    files: dict[str, bytes] = field(default_factory=dict)
    token: str | None = None  # private repository: requests must carry this bearer token

    @property
    def commit(self) -> str:
        """A stable 40-hex commit id that changes whenever the files do."""
        digest = hashlib.sha1()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    host: str
    headers: dict[str, str]  # lower-cased names


@dataclass
class HubState:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    cut_after: int | None = None  # close a CDN response after this many bytes ...
    cuts_left: int = 0  # ... this many times
    corrupt: bool = False  # the CDN serves different bytes of the same length
    requests: list[SeenRequest] = field(default_factory=list)
    endpoint: str = ""
    cdn: str = ""

    def add_file(self, repo: str, path: str, data: bytes, *, token: str | None = None) -> str:
        """Publish ``data`` as ``repo``/``path``; returns 'sha256:<hex>' of the bytes."""
        entry = self.repos.setdefault(repo, HubRepo())
        entry.files[path] = data
        if token is not None:
            entry.token = token
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def blob(self, sha256: str) -> bytes | None:
        for repo in self.repos.values():
            for data in repo.files.values():
                if hashlib.sha256(data).hexdigest() == sha256:
                    return data
        return None

    def file_downloads(self) -> list[SeenRequest]:
        """GETs that transferred (or began to transfer) file bytes."""
        return [r for r in self.requests if r.method == "GET" and "/resolve/" in r.path]

    def cdn_gets(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith("/cdn/")]


def is_lfs(path: str) -> bool:
    return path.lower().endswith(LFS_SUFFIXES)


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tree_entries(repo: HubRepo, folder: str, recursive: bool) -> list[dict[str, object]]:
    """The tree listing of ``folder`` ('' for the root), as the hub's JSON API returns it."""
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    files: list[dict[str, object]] = []
    folders: set[str] = set()
    for path, data in sorted(repo.files.items()):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        parts = rest.split("/")
        for depth in range(1, len(parts)):
            if recursive or depth == 1:
                folders.add(prefix + "/".join(parts[:depth]))
        if recursive or len(parts) == 1:
            files.append(_file_entry(path, data))
    dirs: list[dict[str, object]] = [
        {"type": "directory", "oid": git_oid(d.encode()), "size": 0, "path": d}
        for d in sorted(folders)
    ]
    return dirs + files


def _file_entry(path: str, data: bytes) -> dict[str, object]:
    entry: dict[str, object] = {
        "type": "file",
        "oid": git_oid(data),
        "size": len(data),
        "path": path,
    }
    if is_lfs(path):
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{_sha(data)}\n"
        entry["oid"] = git_oid(pointer.encode())
        entry["lfs"] = {"oid": _sha(data), "size": len(data), "pointerSize": len(pointer)}
    return entry


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_HEAD(self) -> None:
            self._route(head=True)

        def do_GET(self) -> None:
            self._route(head=False)

        # ------------------------------------------------------------ routing

        def _route(self, *, head: bool) -> None:
            url = urlsplit(self.path)
            state.requests.append(
                SeenRequest(
                    method=self.command,
                    path=url.path,
                    host=self.headers.get("Host", ""),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
            )
            parts = [unquote(p) for p in url.path.split("/")[1:]]
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "tree":
                return self._tree(parts, parse_qs(url.query))
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(parts, head=head)
            if len(parts) == 2 and parts[0] == "cdn":
                return self._cdn(parts[1], head=head)
            return self._error(404, "EntryNotFound", "no such route")

        def _repo(self, owner: str, name: str, revision: str) -> HubRepo | None:
            """The repository, or None after answering the error the hub would send."""
            repo = state.repos.get(f"{owner}/{name}")
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
                self._error(401, "RepoNotFound", "Invalid username or password.")
                return None
            if revision not in ("main", repo.commit):
                self._error(404, "RevisionNotFound", "Invalid rev id", commit=None)
                return None
            return repo

        # ------------------------------------------------------------ endpoints

        def _tree(self, parts: list[str], query: dict[str, list[str]]) -> None:
            repo = self._repo(parts[2], parts[3], parts[5] if len(parts) > 5 else "main")
            if repo is None:
                return
            folder = "/".join(parts[6:])
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            body = json.dumps(tree_entries(repo, folder, recursive)).encode()
            self._send(200, body, {"Content-Type": "application/json"}, head=False)

        def _resolve(self, parts: list[str], *, head: bool) -> None:
            repo = self._repo(parts[0], parts[1], parts[3])
            if repo is None:
                return
            path = "/".join(parts[4:])
            data = repo.files.get(path)
            if data is None:
                return self._error(404, "EntryNotFound", "Entry not found", commit=repo.commit)
            common = {"X-Repo-Commit": repo.commit}
            if not is_lfs(path):
                common["ETag"] = f'"{git_oid(data)}"'
                return self._send(200, data, common, head=head)
            sha = _sha(data)
            common.update(
                {
                    "ETag": f'"{sha}"',
                    "X-Linked-Etag": f'"{sha}"',
                    "X-Linked-Size": str(len(data)),
                    "Location": f"{state.cdn}/cdn/{sha}?expires=3600",
                }
            )
            self._send(302, b"", common, head=head)

        def _cdn(self, sha: str, *, head: bool) -> None:
            data = state.blob(sha)
            if data is None:
                return self._send(404, b"NoSuchKey", {}, head=head)
            if state.corrupt:
                data = bytes(b ^ 0xFF for b in data)
            start = _range_start(self.headers.get("Range"))
            headers = {"Accept-Ranges": "bytes", "ETag": f'"{sha}"'}
            if start is not None and start >= len(data):
                headers["Content-Range"] = f"bytes */{len(data)}"
                return self._send(416, b"", headers, head=head)
            status = 200
            if start is not None:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start or 0 :]
            cut = state.cut_after
            if not head and cut is not None and state.cuts_left > 0 and len(body) > cut:
                state.cuts_left -= 1
                return self._send_cut(status, body, headers, cut)
            self._send(status, body, headers, head=head)

        # ------------------------------------------------------------ responses

        def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
            headers = {"X-Error-Code": code, "X-Error-Message": message}
            if commit:
                headers["X-Repo-Commit"] = commit
            body = json.dumps({"error": message}).encode()
            headers["Content-Type"] = "application/json"
            self._send(status, body, headers, head=self.command == "HEAD")

        def _send(self, status: int, body: bytes, headers: dict[str, str], *, head: bool) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _send_cut(self, status: int, body: bytes, headers: dict[str, str], keep: int) -> None:
            """Announce the whole body, send only ``keep`` bytes, then drop the connection."""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:keep])
            self.wfile.flush()
            self.close_connection = True

    return Handler


def _range_start(header: str | None) -> int | None:
    if not header or not header.startswith("bytes="):
        return None
    first = header[len("bytes=") :].split("-", 1)[0]
    return int(first) if first.isdigit() else None


@contextmanager
def hf_hub_server() -> Iterator[HubState]:
    """Start the hub on a free loopback port; yields its state (``state.endpoint`` is its URL)."""
    state = HubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    port = server.server_address[1]
    state.endpoint = f"http://127.0.0.1:{port}"
    state.cdn = f"http://localhost:{port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Settings huggingface_hub reads from the environment once, at import time.
_CACHED_CONSTANTS = (
    "ENDPOINT",
    "HUGGINGFACE_CO_URL_TEMPLATE",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_TOKEN_PATH",
    "HF_STORED_TOKENS_PATH",
    "HF_HUB_OFFLINE",
    "HF_HUB_DISABLE_XET",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
)


def point_huggingface_hub_at(endpoint: str, hf_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make huggingface_hub use ``endpoint`` and a private ``hf_home``, never the real ones.

    Sets the environment (for anything imported later) and patches the module constants
    huggingface_hub computed when it was first imported. No token is sent unless a test
    sets HF_TOKEN itself.
    """
    from huggingface_hub import constants

    values: dict[str, object] = {
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_ASSETS_CACHE": str(hf_home / "assets"),
        "HF_XET_CACHE": str(hf_home / "xet"),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": False,
    }
    env = {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_XET": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in (
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_OIDC_RESOURCE",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in _CACHED_CONSTANTS:
        monkeypatch.setattr(constants, name, values[name], raising=False)
    hf_home.mkdir(parents=True, exist_ok=True)
    close_hub_session()


def close_hub_session() -> None:
    """Drop huggingface_hub's shared HTTP client, whose pooled connections outlive a server."""
    import huggingface_hub

    close = getattr(huggingface_hub, "close_session", None)
    if callable(close):
        close()


__all__ = [
    "HubState",
    "close_hub_session",
    "hf_hub_server",
    "point_huggingface_hub_at",
]
