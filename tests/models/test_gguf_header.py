"""The fast GGUF header walk against the ``gguf`` package's full reader, on real files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ember.errors import NotAGGUFError
from ember.models import gguf_info
from ember.models.gguf_header import ArrayField, UnsupportedHeader, read_header


@pytest.mark.parametrize("model", ["tiny", "smollm2"])
def test_the_walk_reads_what_the_gguf_package_reads(
    model: str, tiny_gguf: Path, smollm2_path: Path
) -> None:
    path = tiny_gguf if model == "tiny" else smollm2_path
    fields, parameters, tensor_types, vocab = gguf_info._read_with_gguf_reader(path)
    header = read_header(path)
    scalars = {k: v for k, v in header.fields.items() if not isinstance(v, ArrayField)}
    for key, value in scalars.items():
        if key in fields:
            assert fields[key] == pytest.approx(value), key
    assert {k for k in fields if not k.startswith("GGUF.")} <= set(header.fields)
    assert sum(t.n_elements for t in header.tensors) == parameters
    assert [t.tensor_type for t in header.tensors] == tensor_types
    tokens = header.fields["tokenizer.ggml.tokens"]
    assert isinstance(tokens, ArrayField)
    assert tokens.count == vocab

    info = gguf_info.read_gguf_info(path)
    assert info.parameters == parameters
    assert info.vocab_size == vocab
    assert info.chat_template == fields.get("tokenizer.chat_template")


def test_a_cut_short_header_is_a_damaged_file(smollm2_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(smollm2_path.read_bytes()[:100_000])  # inside the vocabulary
    with pytest.raises(ValueError, match="past the end"):
        read_header(cut)
    with pytest.raises(NotAGGUFError, match="damaged"):
        gguf_info.read_gguf_info(cut)


def test_an_older_layout_goes_to_the_full_reader(tmp_path: Path) -> None:
    old = tmp_path / "v1.gguf"
    old.write_bytes(b"GGUF" + struct.pack("<I", 1) + b"\x00" * 64)
    with pytest.raises(UnsupportedHeader):
        read_header(old)
    with pytest.raises(NotAGGUFError, match="damaged"):  # the gguf package refuses v1 too
        gguf_info.read_gguf_info(old)
