"""Redaction: stable placeholders across a whole request, blocks that name kinds only,
and no value in any repr."""

from __future__ import annotations

import pickle

import pytest

from ember.privacy import Action, Policy, redact
from tests.privacy.samples import PRIVATE_KEY, PROTECTED

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PASSWORD = "Tr0ub4dor&3x"


def request() -> list[str]:
    """System prompt, history, a tool result and the question: one request."""
    return [
        f"You are a helpful assistant. The user's address is {EMAIL}.",
        f'My config says password = "{PASSWORD}" and my card is {CARD}.',
        f"Tool result: account {EMAIL} found, card {CARD} on file.",
        f"Why does {PASSWORD} not work when I write to {EMAIL}?",
    ]


def test_one_value_one_placeholder_across_all_messages() -> None:
    r = redact(request())
    assert not r.blocked
    assert r.texts == (
        "You are a helpful assistant. The user's address is [EMAIL_1].",
        'My config says password = "[PASSWORD_1]" and my card is [CARD_1].',
        "Tool result: account [EMAIL_1] found, card [CARD_1] on file.",
        # the password has no key-like name here: found because it was found before
        "Why does [PASSWORD_1] not work when I write to [EMAIL_1]?",
    )
    assert dict(r.counts) == {"pii.email": 1, "secret.password": 1, "pii.card": 1}
    assert dict(r.placeholders) == {"[EMAIL_1]": EMAIL, "[PASSWORD_1]": PASSWORD, "[CARD_1]": CARD}


def test_placeholders_are_numbered_per_kind_in_order() -> None:
    r = redact(["a@example.com then b@example.org", "then a@example.com and c@example.net"])
    assert r.texts == ("[EMAIL_1] then [EMAIL_2]", "then [EMAIL_1] and [EMAIL_3]")


def test_a_placeholder_the_user_typed_is_not_reused() -> None:
    r = redact([f"What does [EMAIL_1] mean in a template? Mine is {EMAIL}."])
    assert r.texts == ("What does [EMAIL_1] mean in a template? Mine is [EMAIL_2].",)
    assert r.restore("[EMAIL_1] is a placeholder; yours is [EMAIL_2]") == (
        f"[EMAIL_1] is a placeholder; yours is {EMAIL}"
    )


@pytest.mark.parametrize(("kind", "text", "value"), PROTECTED)
def test_no_value_survives_redaction(kind: str, text: str, value: str) -> None:
    policy = Policy().with_actions({kind: Action.REDACT})
    r = redact([text, f"again: {value}"], policy)
    assert all(value not in t for t in r.texts)
    assert r.restore(" ".join(r.texts)) == f"{text} again: {value}"


def test_a_blocked_request_says_what_and_why_never_the_values() -> None:
    texts = [
        f"Deploy with AKIAIOSFODNN7EXAMPLE and this key:\n{PRIVATE_KEY}",
        f"mail {EMAIL}, and AKIAIOSFODNN7EXAMPLE again",
    ]
    r = redact(texts)
    assert r.blocked
    assert r.block is not None
    assert r.texts == ()
    assert len(r.placeholders) == 0
    assert dict(r.block.counts) == {"secret.aws_key": 2, "secret.private_key": 1, "pii.email": 1}
    assert r.block.kinds == ("secret.aws_key", "secret.private_key")
    assert len(r.block.reasons) == 2
    message = str(r.block)
    assert "2 × secret.aws_key" in message
    assert "secret.private_key" in message
    for shown in (message, repr(r), str(r), repr(r.block)):
        assert "AKIAIOSFODNN7EXAMPLE" not in shown
        assert "MIIE" not in shown
        assert EMAIL not in shown


def test_reprs_never_show_a_value() -> None:
    from ember.privacy import scan

    texts = request() + [text for _, text, _ in PROTECTED]
    r = redact(texts, Policy().with_actions({"secret": Action.REDACT}))
    values = [EMAIL, CARD, PASSWORD] + [value for _, _, value in PROTECTED]
    shown = [repr(r), str(r), repr(r.placeholders), str(r.placeholders)]
    shown += [repr(f) + str(f) for t in texts for f in scan(t)]
    for value in values:
        assert all(value not in s for s in shown), value
    with pytest.raises(TypeError):
        pickle.dumps(r.placeholders)


def test_policy_actions_by_kind_category_and_default() -> None:
    policy = Policy()
    assert policy.action("secret.private_key") is Action.BLOCK
    assert policy.action("secret.aws_key") is Action.BLOCK
    assert policy.action("secret.github_token") is Action.REDACT
    assert policy.action("pii.email") is Action.REDACT
    relaxed = policy.with_actions({"pii.email": Action.ALLOW, "secret": Action.BLOCK})
    assert relaxed.action("pii.email") is Action.ALLOW
    assert relaxed.action("secret.github_token") is Action.BLOCK
    assert relaxed.action("secret.aws_key") is Action.BLOCK
    assert Policy(actions={}, default=Action.ALLOW).action("pii.phone") is Action.ALLOW


def test_allowed_kinds_pass_unchanged() -> None:
    r = redact([f"mail {EMAIL}, card {CARD}"], Policy().with_actions({"pii.email": Action.ALLOW}))
    assert r.texts == (f"mail {EMAIL}, card [CARD_1]",)


def test_text_without_protected_values_is_unchanged() -> None:
    texts = ["What is 2 + 2?", "Explain git rebase."]
    r = redact(texts)
    assert r.texts == tuple(texts)
    assert not r.counts
    assert not r.blocked
