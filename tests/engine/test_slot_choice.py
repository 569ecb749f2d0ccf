"""Which free slot a request lands in decides what prompt cache survives."""

from ember.engine.llamacpp.scheduler import pick_slot

SYSTEM = list(range(100))
TOOLS = list(range(100, 1700))


def test_longest_shared_prefix_wins() -> None:
    conversation = [*SYSTEM, 5000, 5001]
    other = SYSTEM[:10]
    assert pick_slot([(other, 1.0), (conversation, 0.0)], [*conversation, 5002]) == 1


def test_short_request_does_not_evict_a_long_cached_prefix() -> None:
    # A tool loop's last step shares only the system prompt with the cached tool prompt:
    # it must take the empty slot so the next question reuses the 1700 cached tokens.
    cached_tools = SYSTEM + TOOLS
    short = [*SYSTEM, 9000, 9001]
    assert pick_slot([(cached_tools, 2.0), ([], 1.0)], short) == 1
    assert pick_slot([(cached_tools, 2.0), ([], 1.0)], [*cached_tools, 9000]) == 0


def test_only_slot_is_used_whatever_it_holds() -> None:
    assert pick_slot([(SYSTEM + TOOLS, 0.0)], [1, 2, 3]) == 0


def test_ties_go_to_the_least_recently_used() -> None:
    assert pick_slot([([], 5.0), ([], 3.0), ([], 9.0)], [1, 2]) == 1
