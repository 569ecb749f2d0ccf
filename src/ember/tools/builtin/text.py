"""Exact text facts small models get wrong: counts, lengths, positions, reversal.

Counting is case-insensitive unless asked otherwise; positions are 1-based, as people
count them. Words are runs of letters, digits and apostrophes (Unicode aware).
"""

from __future__ import annotations

import re

from ember.tools.registry import ToolError

_WORD_RE = re.compile(r"[\w']+", re.UNICODE)


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def count_letter(text: str, letter: str, case_sensitive: bool = False) -> int:
    """Count how many times a letter or character occurs in a text.

    Args:
        text: The word or text to look in, e.g. "strawberry".
        letter: The single letter or character to count, e.g. "r".
        case_sensitive: Count "R" and "r" separately (default: no).
    """
    if len(letter) != 1:
        raise ToolError(
            f"letter must be one character, got {letter!r}; use count_substring for longer text"
        )
    return _fold(text, case_sensitive).count(_fold(letter, case_sensitive))


def count_substring(text: str, substring: str, case_sensitive: bool = False) -> int:
    """Count the occurrences of a substring in a text (overlapping ones included).

    Args:
        text: The text to look in.
        substring: The piece of text to count, e.g. "an".
        case_sensitive: Match case exactly (default: no).
    """
    if not substring:
        raise ToolError("substring must not be empty")
    haystack, needle = _fold(text, case_sensitive), _fold(substring, case_sensitive)
    return sum(1 for i in range(len(haystack)) if haystack.startswith(needle, i))


def count_words(text: str, word: str | None = None, case_sensitive: bool = False) -> int:
    """Count the words in a text, or how many times one given word occurs as a whole word.

    Args:
        text: The text to look in.
        word: The word to count; leave it out to count all words.
        case_sensitive: Match case exactly (default: no).
    """
    words = _WORD_RE.findall(_fold(text, case_sensitive))
    if word is None:
        return len(words)
    target = _fold(word.strip(), case_sensitive)
    if not _WORD_RE.fullmatch(target):
        raise ToolError(f"word must be a single word, got {word!r}")
    return words.count(target)


def text_length(text: str, count_spaces: bool = True) -> int:
    """The number of characters in a text.

    Args:
        text: The text to measure.
        count_spaces: Count spaces too (default: yes).
    """
    return len(text) if count_spaces else len(re.sub(r"\s", "", text))


def reverse_text(text: str) -> str:
    """The text written backwards, character by character.

    Args:
        text: The text to reverse.
    """
    return text[::-1]


def find_positions(text: str, character: str, case_sensitive: bool = False) -> str:
    """The 1-based positions where a character occurs in a text.

    Args:
        text: The text to look in.
        character: The single character to find.
        case_sensitive: Match case exactly (default: no).
    """
    if len(character) != 1:
        raise ToolError(f"character must be one character, got {character!r}")
    haystack, needle = _fold(text, case_sensitive), _fold(character, case_sensitive)
    positions = [i + 1 for i, c in enumerate(haystack) if c == needle]
    if not positions:
        return f"{character!r} does not occur in the text"
    return ", ".join(map(str, positions))


TEXT_TOOLS = (count_letter, count_substring, count_words, text_length, reverse_text, find_positions)
