"""The known conversation settings are checked when saved (a clear 400, not a failure at
the next answer); unknown keys are kept for newer pages."""

from __future__ import annotations

import pytest

from ember.chat.conversation_settings import settings_problem


def test_good_settings_and_unknown_keys_pass() -> None:
    good = {
        "temperature": 0.7,
        "top_p": 1,
        "top_k": 40,
        "seed": -1,
        "max_tokens": 256,
        "num_ctx": 4096,
        "tools": False,
        "collections": ["default", "chat-1"],
        "a_future_setting": {"anything": True},
        "min_p": None,  # null leaves it unset
    }
    assert settings_problem(good) is None
    assert settings_problem(None) is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"temperature": "hot"}, "temperature must be a number from 0 to 5"),
        ({"temperature": True}, "temperature must be a number"),
        ({"top_p": 1.5}, "top_p must be a number from 0 to 1"),
        ({"top_k": 2.5}, "top_k must be a whole number"),
        ({"num_ctx": 100}, "num_ctx must be a whole number of at least 256"),
        ({"max_tokens": 0}, "max_tokens must be a whole number of at least 1"),
        ({"tools": "yes"}, "tools must be true or false"),
        ({"collections": "default"}, "collections must be a list of collection names"),
    ],
)
def test_bad_values_are_named(settings: dict[str, object], message: str) -> None:
    problem = settings_problem(settings)
    assert problem is not None
    assert problem.startswith(message)
