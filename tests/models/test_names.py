"""Parsing what users type after `ember pull` (pure functions)."""

from __future__ import annotations

import pytest

from ember.errors import InvalidModelNameError
from ember.models.names import hf_manifest_name, normalize_name, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smollm2:135m", "smollm2:135m"),
        ("Llama3.2", "llama3.2:latest"),
        ("user/model:Q4", "user/model:q4"),
        ("hf.co/Owner/Repo:Q4_K_M", "hf.co/owner/repo:q4_k_m"),
    ],
)
def test_normalize_name(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


@pytest.mark.parametrize("bad", ["", "   ", "a b", "bad name:x", "x:", "-x", "a:b:c d", "x:!!"])
def test_invalid_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidModelNameError):
        normalize_name(bad)


def test_parse_local_paths() -> None:
    for text in ("./m.gguf", "/tmp/m.gguf", "~/m.gguf", "model.GGUF"):
        ref = parse_ref(text)
        assert ref.kind == "local"
        assert ref.path == text


def test_parse_hf_repo_with_quant() -> None:
    ref = parse_ref("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")
    assert (ref.kind, ref.repo, ref.quant, ref.filename) == (
        "hf",
        "bartowski/Llama-3.2-1B-Instruct-GGUF",
        "Q4_K_M",
        None,
    )


def test_parse_hf_file() -> None:
    ref = parse_ref("huggingface.co/Qwen/Repo-GGUF/sub/file-q8_0.gguf")
    assert (ref.repo, ref.filename) == ("Qwen/Repo-GGUF", "sub/file-q8_0.gguf")
    assert (
        hf_manifest_name("Qwen/Repo-GGUF", None, "sub/file-q8_0.gguf")
        == "hf.co/qwen/repo-gguf:file-q8_0"
    )


def test_parse_hf_refuses_non_gguf_file_and_missing_repo() -> None:
    with pytest.raises(InvalidModelNameError):
        parse_ref("hf.co/owner/repo/model.safetensors")
    with pytest.raises(InvalidModelNameError):
        parse_ref("hf.co/owner")


def test_parse_ollama_names() -> None:
    ref = parse_ref("llama3.2:1b")
    assert (ref.kind, ref.repo, ref.tag) == ("ollama", "library/llama3.2", "1b")
    ref = parse_ref("someone/model")
    assert (ref.repo, ref.tag) == ("someone/model", "latest")
