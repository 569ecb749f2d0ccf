"""Two processes' KV stores on one directory (workers sharing a volume): what one saves
the other finds, what one deletes the other forgets. The state bytes here are opaque
test bytes; restoring real llama.cpp states is tested in test_llamacpp.py and, across
two real workers, in tests/server/test_workers_e2e.py."""

from __future__ import annotations

from pathlib import Path

from ember.engine.llamacpp.kv_store import KVStore

DIGEST = "sha256:" + "ab" * 32
BUILD = "b1"


def test_a_state_saved_by_one_store_is_found_by_another_on_the_same_directory(
    tmp_path: Path,
) -> None:
    first = KVStore(tmp_path, DIGEST, BUILD, 1 << 30)
    second = KVStore(tmp_path, DIGEST, BUILD, 1 << 30)  # opened before the save
    conversation = list(range(1, 200))
    first.save(conversation, b"state-of-turn-3")
    found = second.find([*conversation[:150], 999, 998], min_tokens=16)
    assert found is not None
    entry, shared = found
    assert shared == 150
    assert second.load(entry) == b"state-of-turn-3"


def test_a_state_deleted_by_another_store_is_forgotten(tmp_path: Path) -> None:
    first = KVStore(tmp_path, DIGEST, BUILD, 1 << 30)
    second = KVStore(tmp_path, DIGEST, BUILD, 1 << 30)
    short = list(range(1, 50))
    first.save(short, b"old")
    assert second.find(short, min_tokens=16) is not None
    first.save([*short, 50, 51, 52], b"newer")  # extends it: the shorter file goes
    found = second.find(short, min_tokens=16)
    assert found is not None
    assert second.load(found[0]) == b"newer"
    assert [len(e.tokens) for e in second.entries] == [52]


def test_files_of_another_build_on_the_shared_directory_are_never_offered(
    tmp_path: Path,
) -> None:
    other = KVStore(tmp_path, DIGEST, "another llama.cpp", 1 << 30)
    ours = KVStore(tmp_path, DIGEST, BUILD, 1 << 30)
    other.save(list(range(1, 100)), b"theirs")
    assert ours.find(list(range(1, 100)), min_tokens=16) is None
    assert ours.find(list(range(1, 100)), min_tokens=16) is None  # refused once, remembered
    assert not list(tmp_path.rglob("*.tmp"))
