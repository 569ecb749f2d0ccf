"""Incremental UTF-8 decoding and stop strings (pure)."""

from __future__ import annotations

from ember.engine.text import TextStream


def feed_all(stream: TextStream, pieces: list[bytes]) -> str:
    return "".join(stream.feed(p) for p in pieces) + stream.flush()


def test_multibyte_characters_split_across_tokens() -> None:
    data = "héllo 世界 🙂".encode()
    pieces = [data[i : i + 1] for i in range(len(data))]  # one byte per "token"
    stream = TextStream()
    emitted = [stream.feed(p) for p in pieces]
    assert all("\ufffd" not in e for e in emitted), "never a half character"
    assert "".join(emitted) + stream.flush() == "héllo 世界 🙂"


def test_stop_string_across_tokens_is_held_then_cut() -> None:
    stream = TextStream(stops=("<|end|>",))
    out = [stream.feed(p) for p in [b"Hello", b" <|", b"en", b"d|> tail"]]
    assert out == ["Hello", " ", "", ""]
    assert stream.stopped
    assert stream.flush() == ""


def test_partial_stop_that_does_not_complete_is_released() -> None:
    stream = TextStream(stops=("STOP",))
    assert stream.feed(b"ab ST") == "ab "
    assert stream.feed(b"ART") == "START"
    assert not stream.stopped
    assert feed_all(TextStream(stops=("STOP",)), [b"x S", b"T"]) == "x ST"


def test_first_of_several_stops_wins() -> None:
    stream = TextStream(stops=("\n\n", "User:"))
    assert feed_all(stream, [b"answer User: more\n\n"]) == "answer "
