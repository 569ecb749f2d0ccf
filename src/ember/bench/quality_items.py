"""Benchmark items with exact answers, generated from a fixed seed (no downloads).

Four families, each with varied phrasing: multi-digit arithmetic, letter counting in
real English words, dates (days between two dates, the weekday of a date; fixed dates,
never "today"), and unit conversions (answers computed here from exact definitions,
independently of the pint-based tool they test).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

FAMILIES = ("arithmetic", "letters", "dates", "units")
DEFAULT_SEED = 20261123
DEFAULT_PER_FAMILY = 60

AnswerKind = Literal["number", "weekday"]


@dataclass(frozen=True)
class QualityItem:
    id: str
    family: str
    question: str
    answer: str  # canonical: "391", "8.05", "Tuesday"
    kind: AnswerKind = "number"
    tolerance: float = 0.0  # absolute, for numbers


def generate(
    per_family: int = DEFAULT_PER_FAMILY,
    seed: int = DEFAULT_SEED,
    families: tuple[str, ...] = FAMILIES,
) -> list[QualityItem]:
    """``per_family`` items of each family; the same seed gives the same items."""
    makers: dict[str, Callable[[random.Random], tuple[str, str, AnswerKind, float]]] = {
        "arithmetic": arithmetic_item,
        "letters": letters_item,
        "dates": dates_item,
        "units": units_item,
    }
    items = []
    for family in families:
        rng = random.Random(f"{seed}-{family}")
        seen: set[str] = set()
        while len(seen) < per_family:
            question, answer, kind, tolerance = makers[family](rng)
            if question in seen:
                continue
            seen.add(question)
            n = len(seen)
            items.append(
                QualityItem(f"{family}-{n:03d}", family, question, answer, kind, tolerance)
            )
    return items


# --- arithmetic -----------------------------------------------------------------------


def _n(rng: random.Random, lo_digits: int = 2, hi_digits: int = 4) -> int:
    digits = rng.randint(lo_digits, hi_digits)
    return rng.randint(10 ** (digits - 1), 10**digits - 1)


def arithmetic_item(rng: random.Random) -> tuple[str, str, AnswerKind, float]:
    shape = rng.randrange(7)
    a, b = _n(rng), _n(rng)
    if shape == 0:
        q, v = (
            rng.choice(["What is {a} + {b}?", "Add {a} and {b}.", "Compute {a} plus {b}."]),
            a + b,
        )
    elif shape == 1:
        a, b = max(a, b), min(a, b)
        q = rng.choice(["What is {a} - {b}?", "Subtract {b} from {a}.", "What is {a} minus {b}?"])
        v = a - b
    elif shape == 2:
        a, b = _n(rng, 2, 3), _n(rng, 2, 3)
        q = rng.choice(
            ["What is {a} × {b}?", "Multiply {a} by {b}.", "What is {a} times {b}?",
             "Calculate the product of {a} and {b}."]
        )  # fmt: skip
        v = a * b
    elif shape == 3:
        b = _n(rng, 1, 2)
        a = b * _n(rng, 2, 3)
        q = rng.choice(["What is {a} ÷ {b}?", "Divide {a} by {b}.", "What is {a} divided by {b}?"])
        v = a // b
    elif shape == 4:
        c = rng.randint(2, 19)
        q = f"What is ({{a}} + {{b}}) × {c}?"
        v = (a + b) * c
    elif shape == 5:
        c = _n(rng, 2, 3)
        q = f"Calculate {{a}} + {{b}} - {c}."
        v = a + b - c
    else:
        p = rng.choice([5, 10, 15, 20, 25, 30, 40, 60, 75])
        a = rng.randrange(20, 2000, 20)  # a multiple of 20 times a multiple of 5: exact
        q, v = f"What is {p}% of {{a}}?", a * p // 100
    return q.format(a=a, b=b), str(v), "number", 0.0


# --- letters --------------------------------------------------------------------------

_WORD_TEXT = (
    "strawberry banana apple raspberry blueberry pineapple coconut avocado mississippi "
    "committee bookkeeper balloon cinnamon parallel occurrence necessary accommodate "
    "embarrass millennium possession assessment successful address tomorrow beginning "
    "different difficult government environment restaurant chocolate vegetable elephant "
    "butterfly calendar umbrella telephone television computer keyboard mountain "
    "waterfall hurricane tornado volcano penguin giraffe kangaroo hippopotamus crocodile "
    "alligator dolphin octopus squirrel raccoon porcupine cheetah leopard gorilla "
    "chimpanzee library pyramid triangle rectangle hexagon diamond emerald sapphire "
    "mirror pepper puzzle jazz coffee toffee giggle bubble pebble cabbage carrot "
    "broccoli spaghetti tomato potato cucumber lettuce zucchini artichoke asparagus "
    "cauliflower watermelon grapefruit tangerine nectarine apricot cherry strawberries "
    "engineering programming assistant intelligence knowledge understanding remember "
    "excellence referee sleepless assassin tennessee bookkeeping balloonist cheerleader "
    "sweepstakes nonsense seventeen eleven hello letter little coffeepot success "
    "illness stress grammar summer dinner sunny happiness business address assess "
    "barrel error horror irregular arrangement embarrassment"
)
WORDS = tuple(sorted(set(_WORD_TEXT.split())))

_LETTER_TEMPLATES = (
    "How many times does the letter '{l}' appear in the word '{w}'?",
    'How many {l}\'s are in "{w}"?',
    "Count the letter {L} in the word {w}.",
    "In the word '{w}', how many times does '{l}' occur?",
    "How many occurrences of the letter {l} are there in {w}?",
    'Count how often "{l}" appears in "{w}".',
)


def letters_item(rng: random.Random) -> tuple[str, str, AnswerKind, float]:
    word = rng.choice(WORDS)
    if rng.random() < 0.85:
        letter = rng.choice(sorted(set(word)))
    else:
        letter = rng.choice(sorted(set("abcdefghijklmnopqrstuvwxyz") - set(word)))
    template = rng.choice(_LETTER_TEMPLATES)
    question = template.format(l=letter, L=letter.upper(), w=word)
    return question, str(word.count(letter)), "number", 0.0


# --- dates ----------------------------------------------------------------------------

_EPOCH = dt.date(1990, 1, 1)
_SPAN_DAYS = (dt.date(2035, 12, 31) - _EPOCH).days


def _date(rng: random.Random) -> dt.date:
    return _EPOCH + dt.timedelta(days=rng.randrange(_SPAN_DAYS))


def _spell(day: dt.date, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return day.isoformat()
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def dates_item(rng: random.Random) -> tuple[str, str, AnswerKind, float]:
    if rng.random() < 0.5:
        start = _date(rng)
        end = start + dt.timedelta(days=rng.randint(2, 900))
        s, e = _spell(start, rng), _spell(end, rng)
        q = rng.choice(
            [f"How many days are there from {s} to {e}?",
             f"How many days passed between {s} and {e}?",
             f"Count the days from {s} until {e}.",
             f"What is the number of days between {s} and {e}?"]
        )  # fmt: skip
        return q, str((end - start).days), "number", 0.0
    day = _date(rng)
    d = _spell(day, rng)
    q = rng.choice(
        [f"What day of the week is {d}?",
         f"On which weekday does {d} fall?",
         f"Which day of the week was {d}?"]
    )  # fmt: skip
    return q, day.strftime("%A"), "weekday", 0.0


# --- units ----------------------------------------------------------------------------

# (from, to, convert) with exact definitions: 1 mi = 1.609344 km, 1 lb = 0.45359237 kg,
# 1 ft = 0.3048 m, 1 in = 2.54 cm, 1 US gal = 3.785411784 L, 1 oz = 28.349523125 g.
_CONVERSIONS: tuple[tuple[str, str, Callable[[float], float]], ...] = (
    ("miles", "kilometers", lambda v: v * 1.609344),
    ("kilometers", "miles", lambda v: v / 1.609344),
    ("pounds", "kilograms", lambda v: v * 0.45359237),
    ("kilograms", "pounds", lambda v: v / 0.45359237),
    ("feet", "meters", lambda v: v * 0.3048),
    ("meters", "feet", lambda v: v / 0.3048),
    ("inches", "centimeters", lambda v: v * 2.54),
    ("centimeters", "inches", lambda v: v / 2.54),
    ("US gallons", "liters", lambda v: v * 3.785411784),
    ("liters", "US gallons", lambda v: v / 3.785411784),
    ("ounces", "grams", lambda v: v * 28.349523125),
    ("degrees Celsius", "degrees Fahrenheit", lambda v: v * 9 / 5 + 32),
    ("degrees Fahrenheit", "degrees Celsius", lambda v: (v - 32) * 5 / 9),
    ("kilometers per hour", "miles per hour", lambda v: v / 1.609344),
    ("hours", "seconds", lambda v: v * 3600),
)


def units_item(rng: random.Random) -> tuple[str, str, AnswerKind, float]:
    source, target, convert = rng.choice(_CONVERSIONS)
    value: float = rng.randint(2, 500) if rng.random() < 0.7 else rng.randint(11, 999) / 10
    shown = f"{value:g}"
    q = rng.choice(
        [f"Convert {shown} {source} to {target}. Round to 2 decimal places.",
         f"How many {target} is {shown} {source}? Give the answer to 2 decimal places.",
         f"What is {shown} {source} in {target}, rounded to two decimals?"]
    )  # fmt: skip
    return q, f"{convert(float(value)):.2f}", "number", 0.01
