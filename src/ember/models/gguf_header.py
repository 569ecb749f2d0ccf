"""Walk a GGUF file's header for its scalar metadata and its tensor table, fast.

Why not only the ``gguf`` package's ``GGUFReader``: it builds numpy views for every
element of every array, so the tokenizer's vocabulary and merges (300k strings for
Qwen2.5) take ~10 s on two cores, on every ``ember pull`` and every first start that
registers the starter models. Ember needs none of those strings: only the scalar keys,
how long the arrays are and each tensor's size and type. This walk skips array contents
by their lengths (0.26 s for the same file). It reads the layout of GGUF versions 2 and 3
in little-endian order, what llama.cpp writes; anything else is :class:`UnsupportedHeader`
and the caller falls back to ``GGUFReader``, which also checks this walk in the tests.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gguf.constants import GGMLQuantizationType, GGUFValueType

_SCALARS: dict[int, str] = {
    GGUFValueType.UINT8: "<B",
    GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I",
    GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f",
    GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT64: "<d",
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class UnsupportedHeader(Exception):
    """A GGUF this walk does not read (version 1, big-endian): use ``GGUFReader``."""


@dataclass(frozen=True)
class ArrayField:
    """An array's element type and length; its contents are skipped."""

    item_type: int
    count: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    n_elements: int
    tensor_type: GGMLQuantizationType


@dataclass(frozen=True)
class GGUFHeader:
    fields: dict[str, Any]  # scalars and strings as values, arrays as ArrayField
    tensors: list[TensorEntry]


def read_header(path: Path) -> GGUFHeader:
    """The header of ``path``; ``ValueError`` when it is cut short or inconsistent."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _Walk(data).header()


class _Walk:
    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.size = len(data)
        self.at = 0

    def header(self) -> GGUFHeader:
        if self._take(4) != b"GGUF":
            raise ValueError("GGUF magic invalid")
        version = self._u32()
        if version not in (2, 3):
            raise UnsupportedHeader(f"GGUF version {version}")
        tensor_count, kv_count = self._u64(), self._u64()
        fields: dict[str, Any] = {}
        for _ in range(kv_count):
            key = self._string()
            fields[key] = self._value(self._u32())
        tensors = [self._tensor() for _ in range(tensor_count)]
        return GGUFHeader(fields, tensors)

    def _tensor(self) -> TensorEntry:
        name = self._string()
        dims = self._u32()
        if dims > 8:
            raise ValueError(f"tensor {name!r} has {dims} dimensions")
        n_elements = 1
        for _ in range(dims):
            n_elements *= self._u64()
        tensor_type = GGMLQuantizationType(self._u32())
        self._u64()  # where its data starts
        return TensorEntry(name, n_elements, tensor_type)

    def _value(self, kind: int) -> Any:
        if kind == GGUFValueType.STRING:
            return self._string()
        if kind == GGUFValueType.ARRAY:
            item_type, count = self._u32(), self._u64()
            self._skip_items(item_type, count)
            return ArrayField(item_type, count)
        fmt = _SCALARS.get(kind)
        if fmt is None:
            raise ValueError(f"unknown GGUF value type {kind}")
        (value,) = struct.unpack_from(fmt, self.data, self._advance(struct.calcsize(fmt)))
        return value

    def _skip_items(self, item_type: int, count: int) -> None:
        if item_type == GGUFValueType.STRING:
            for _ in range(count):
                self._advance(self._u64())
        elif item_type == GGUFValueType.ARRAY:
            for _ in range(count):
                self._value(GGUFValueType.ARRAY)
        elif item_type in _SCALARS:
            self._advance(struct.calcsize(_SCALARS[item_type]) * count)
        else:
            raise ValueError(f"unknown GGUF array type {item_type}")

    def _string(self) -> str:
        return self._take(self._u64()).decode("utf-8", errors="replace")

    def _u32(self) -> int:
        return int(_U32.unpack_from(self.data, self._advance(4))[0])

    def _u64(self) -> int:
        return int(_U64.unpack_from(self.data, self._advance(8))[0])

    def _take(self, n: int) -> bytes:
        start = self._advance(n)
        return self.data[start : start + n]

    def _advance(self, n: int) -> int:
        start = self.at
        if n < 0 or start + n > self.size:
            raise ValueError("the header runs past the end of the file")
        self.at = start + n
        return start
