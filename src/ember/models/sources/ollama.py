"""Ollama models: the registry protocol over HTTP, and a local Ollama store reused in place.

A registry model is a manifest (``/v2/NAMESPACE/NAME/manifests/TAG``) whose layers are
blobs addressed by sha256 (``/v2/NAMESPACE/NAME/blobs/DIGEST``): the GGUF weights, and
small text layers for the template, default parameters and system prompt.

A model that a local Ollama already has (``$OLLAMA_MODELS/manifests/HOST/NS/NAME/TAG``)
is referenced where it lies, after checking its sha256: no gigabytes are copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from ember.errors import DownloadError, IntegrityError, ModelNotFoundError, SourceUnavailableError
from ember.models.blobs import normalize_digest, sha256_file
from ember.models.download import download_blob
from ember.models.names import ModelRef, normalize_name
from ember.models.sources.base import Fetched, PullContext

MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"
MODEL_LAYER = "application/vnd.ollama.image.model"
TEXT_LAYERS = {
    "application/vnd.ollama.image.template": "template",
    "application/vnd.ollama.image.system": "system",
    "application/vnd.ollama.image.params": "params",
}
MAX_TEXT_LAYER = 1 << 20


class OllamaSource:
    kind = "ollama"

    def default_name(self, ref: ModelRef) -> str:
        repo = ref.repo or ""
        short = repo.removeprefix("library/")
        return normalize_name(f"{short}:{ref.tag or 'latest'}")

    def fetch(self, ref: ModelRef, ctx: PullContext) -> Fetched:
        local = find_local_manifest(ctx.settings.ollama_models, ref)
        if local is not None:
            return self._reuse_local(local, ref, ctx)
        return self._pull_registry(ref, ctx)

    # ------------------------------------------------------------- local store

    def _reuse_local(self, manifest_path: Path, ref: ModelRef, ctx: PullContext) -> Fetched:
        manifest = _load_json(manifest_path.read_bytes(), str(manifest_path))
        layer = _model_layer(manifest, ref.raw)
        digest = normalize_digest(layer["digest"])
        blob = blob_path(ctx.settings.ollama_models, digest)
        if not blob.is_file():
            raise ModelNotFoundError(
                f"the local Ollama store lists {ref.raw} but its blob {blob.name} is missing",
                hint="run `ollama pull` again, or remove the model from Ollama",
            )
        ctx.progress.start(f"verifying {ref.raw} in the local Ollama store", blob.stat().st_size)
        actual = sha256_file(blob, ctx.progress)
        ctx.progress.finish()
        if actual != digest:
            raise IntegrityError(
                f"the local Ollama blob for {ref.raw} is corrupt "
                f"(sha256 {actual}, expected {digest})",
                hint="run `ollama pull` again to repair it",
            )
        texts = {
            k: _read_local_text(ctx.settings.ollama_models, lay)
            for k, lay in _text_layers(manifest)
        }
        return Fetched(
            digest=digest,
            path=blob,
            size=blob.stat().st_size,
            source_ref=f"ollama-local:{ref.raw}",
            external=True,
            **_texts_to_fields(texts),
        )

    # ------------------------------------------------------------- registry

    def _pull_registry(self, ref: ModelRef, ctx: PullContext) -> Fetched:
        base = ctx.settings.ollama_registry.rstrip("/")
        url = f"{base}/v2/{ref.repo}/manifests/{ref.tag}"
        ctx.progress.status(f"pulling manifest for {ref.raw}")
        manifest = _load_json(_get(ctx.http, url, ref.raw, accept=MANIFEST_ACCEPT).content, url)
        layer = _model_layer(manifest, ref.raw)
        texts: dict[str, str | None] = {}
        for key, lay in _text_layers(manifest):
            if int(lay.get("size", 0)) <= MAX_TEXT_LAYER:
                blob_url = f"{base}/v2/{ref.repo}/blobs/{lay['digest']}"
                data = _get(ctx.http, blob_url, ref.raw).content
                if sha256_bytes(data) != normalize_digest(lay["digest"]):
                    raise IntegrityError(f"the {key} layer of {ref.raw} failed verification")
                texts[key] = data.decode("utf-8", errors="replace")
        ctx.check_size(int(layer["size"]), ref.raw)
        result = download_blob(
            ctx.http,
            f"{base}/v2/{ref.repo}/blobs/{layer['digest']}",
            ctx.blobs,
            expected_digest=layer["digest"],
            expected_size=int(layer["size"]),
            progress=ctx.progress,
            description=ref.raw,
            retries=ctx.settings.download_retries,
        )
        return Fetched(
            digest=result.digest,
            path=result.path,
            size=result.size,
            source_ref=ref.raw,
            **_texts_to_fields(texts),
        )


def find_local_manifest(models_dir: Path, ref: ModelRef) -> Path | None:
    """The manifest of ``ref`` in a local Ollama store, under any registry host directory."""
    manifests = models_dir / "manifests"
    if not manifests.is_dir() or not ref.repo or not ref.tag:
        return None
    for host in sorted(p for p in manifests.iterdir() if p.is_dir()):
        candidate = host / ref.repo / ref.tag
        if candidate.is_file():
            return candidate
    return None


def blob_path(models_dir: Path, digest: str) -> Path:
    return models_dir / "blobs" / normalize_digest(digest).replace(":", "-")


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def _get(http: httpx.Client, url: str, name: str, accept: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    try:
        resp = http.get(url, headers=headers, follow_redirects=True)
    except httpx.TransportError as exc:
        raise SourceUnavailableError(
            f"cannot reach the Ollama registry at {httpx.URL(url).host}: {exc}",
            hint="check the network, or set EMBER_OLLAMA_REGISTRY",
        ) from exc
    if resp.status_code == 404:
        raise ModelNotFoundError(
            f"model {name!r} was not found in the Ollama registry",
            hint="check the name and tag; `ember fit` lists models that run well here",
        )
    if resp.status_code >= 400:
        raise DownloadError(f"the Ollama registry answered HTTP {resp.status_code} for {name}")
    return resp


def _load_json(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise DownloadError(f"invalid manifest from {where}: {exc}") from exc
    if not isinstance(value, dict):
        raise DownloadError(f"invalid manifest from {where}: not an object")
    return value


def _model_layer(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    for layer in manifest.get("layers", []):
        if isinstance(layer, dict) and layer.get("mediaType") == MODEL_LAYER:
            if "digest" not in layer or "size" not in layer:
                break
            return layer
    raise DownloadError(f"the manifest of {name} has no model layer Ember can use")


def _text_layers(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (TEXT_LAYERS[layer["mediaType"]], layer)
        for layer in manifest.get("layers", [])
        if isinstance(layer, dict) and layer.get("mediaType") in TEXT_LAYERS and "digest" in layer
    ]


def _read_local_text(models_dir: Path, layer: dict[str, Any]) -> str | None:
    path = blob_path(models_dir, layer["digest"])
    if not path.is_file() or path.stat().st_size > MAX_TEXT_LAYER:
        return None
    return path.read_text("utf-8", errors="replace")


def _texts_to_fields(texts: dict[str, str | None]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    raw = texts.get("params")
    if raw:
        try:
            loaded = json.loads(raw)
            params = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            params = {}
    return {"template": texts.get("template"), "system": texts.get("system"), "params": params}
