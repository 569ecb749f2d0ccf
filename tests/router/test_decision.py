"""The routing decision, for every policy and signal (pure)."""

from __future__ import annotations

import itertools

import pytest

from ember.router.decision import POLICIES, Route, decide, effective_policy

CLOUD = "openai/gpt-4o-mini"


def test_nothing_suggests_the_cloud_so_the_answer_is_local_under_every_policy() -> None:
    for policy in POLICIES:
        assert decide(policy, None, cloud_model=CLOUD) == Route("local", "local")


def test_a_picked_cloud_model_is_refused_asked_or_sent_by_policy() -> None:
    refused = decide("local-only", "picked", cloud_model=CLOUD)
    assert refused.outcome == "refuse"
    assert "local-only" in refused.reason
    assert CLOUD in refused.reason
    asked = decide("ask", "picked", cloud_model=CLOUD)
    assert asked.outcome == "ask"
    assert CLOUD in asked.reason
    assert decide("ask", "picked", cloud_model=CLOUD, confirmed=True).outcome == "cloud"
    sent = decide("auto", "picked", cloud_model=CLOUD)
    assert sent == Route("cloud", f"{CLOUD} was picked", CLOUD)
    assert sent.provider == "openai"


@pytest.mark.parametrize("signal", ["too_long", "queue_full", "tools_failed"])
def test_an_escalation_stays_local_under_local_only_and_says_why(signal: str) -> None:
    route = decide("local-only", signal, cloud_model=CLOUD)  # type: ignore[arg-type]
    assert route.outcome == "local"
    assert "local-only" in route.reason
    assert decide("ask", signal, cloud_model=CLOUD).outcome == "ask"  # type: ignore[arg-type]
    auto = decide("auto", signal, cloud_model=CLOUD, detail="2000 > 1024")  # type: ignore[arg-type]
    assert auto.outcome == "cloud"
    assert auto.cloud_model == CLOUD
    assert "2000 > 1024" in auto.reason


def test_without_a_cloud_model_nothing_can_escalate() -> None:
    for policy, signal in itertools.product(POLICIES, ("too_long", "queue_full")):
        route = decide(policy, signal, cloud_model=None)  # type: ignore[arg-type]
        assert route.outcome == "local"
        assert "no cloud model" in route.reason


def test_a_key_or_conversation_policy_wins_over_the_default_and_junk_is_local_only() -> None:
    assert effective_policy("local-only") == "local-only"
    assert effective_policy("local-only", conversation="auto") == "auto"
    assert effective_policy("auto", key="ask") == "ask"
    assert effective_policy("auto", key="everything") == "local-only"


def test_with_accounts_a_users_account_is_the_most_their_chats_and_keys_allow() -> None:
    # the account's own policy, else the default, is the ceiling
    assert effective_policy("auto", user="local-only", accounts=True) == "local-only"
    assert effective_policy("auto", conversation="auto", user="ask", accounts=True) == "ask"
    assert effective_policy("local-only", key="auto", accounts=True) == "local-only"
    assert effective_policy("local-only", key="auto", user="auto", accounts=True) == "auto"
    # stricter is always allowed
    assert effective_policy("auto", conversation="local-only", accounts=True) == "local-only"
    assert effective_policy("auto", key="ask", user="auto", accounts=True) == "ask"
    # unknown values count as local-only
    assert effective_policy("auto", user="everything", accounts=True) == "local-only"
    assert effective_policy("auto", key="everything", accounts=True) == "local-only"
