"""Every kind is found in realistic text; look-alikes are not; nothing goes out."""

from __future__ import annotations

import socket

import pytest

from ember.privacy import Finding, scan
from ember.privacy.findings import resolve
from tests.privacy.samples import BENIGN, PRIVATE_KEY, PROTECTED


@pytest.mark.parametrize(("kind", "text", "value"), PROTECTED)
def test_each_kind_is_found_whole(kind: str, text: str, value: str) -> None:
    found = scan(text)
    start = text.index(value)
    assert [(f.kind, text[f.start : f.end]) for f in found] == [(kind, value)]
    assert (found[0].start, found[0].end) == (start, start + len(value))


@pytest.mark.parametrize(
    "text",
    [
        f"Which format is this key?\n{PRIVATE_KEY}\nI need it for nginx.",
        '{"private_key": "' + PRIVATE_KEY.replace("\n", "\\n") + '", "type": "sa"}',
        PRIVATE_KEY.rsplit("\n", 1)[0] + "\nthat is all I have",  # no END line
    ],
)
def test_a_private_key_block_is_covered_from_begin_to_end(text: str) -> None:
    found = scan(text)
    assert [f.kind for f in found] == ["secret.private_key"]
    covered = text[found[0].start : found[0].end]
    assert covered.startswith("-----BEGIN RSA PRIVATE KEY-----")
    for line in PRIVATE_KEY.splitlines()[1:3]:
        assert line in covered


@pytest.mark.parametrize("text", BENIGN)
def test_benign_look_alikes_are_not_flagged(text: str) -> None:
    assert [(f.kind, text[f.start : f.end]) for f in scan(text)] == []


def test_a_longer_token_is_not_cut_at_the_pattern_length() -> None:
    """detect-secrets' Stripe pattern matches 24 characters; live keys are longer."""
    key = "sk_live_" + "a1B2c3D4" * 12
    [f] = scan(f"key {key} here")
    assert f.end - f.start == len(key)


def test_an_ibm_pattern_without_the_vendor_named_is_no_cloud_key() -> None:
    text = "kubectl create secret generic api --from-literal=api_key=" + "Ab3dE6gH9jK2" * 4
    assert {f.kind for f in scan(text)} == {"secret.password"}


def test_overlaps_merge_into_one_finding_named_after_the_longest() -> None:
    merged = resolve(
        [
            Finding(0, 10, "pii.phone", "a"),
            Finding(5, 20, "pii.card", "b"),
            Finding(30, 40, "secret.high_entropy", "c"),
            Finding(30, 40, "secret.jwt", "d"),
        ]
    )
    assert merged == [Finding(0, 20, "pii.card", "b"), Finding(30, 40, "secret.jwt", "d")]


def test_scanning_opens_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the privacy guard tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    texts = [text for _, text, _ in PROTECTED] + BENIGN + [PRIVATE_KEY]
    assert sum(len(scan(t)) for t in texts) >= len(PROTECTED)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "password" + " " * 5000 + "x",
        "ibm_cloud_iam_api_key" + " " * 5000 + "x",
        "token" + " " * 5000 + "x",
        "a" * 20000,
        "eyJ" * 7000,
        "eyJa." * 4000,
        "1 " * 5000,
    ],
)
def test_pathological_input_finishes(text: str) -> None:
    """Backtracking patterns made such inputs take minutes (a cubic one in detect-secrets'
    IBM pattern, a quadratic JWT scan): they must now finish, well inside the limit."""
    scan(text)
