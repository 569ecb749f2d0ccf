"""Realistic questions with exact answers: how people ask, not one-line sums.

Five families, generated from a seed with varied phrasing:

- ``word``: word problems ("I have 6 boxes of 12 eggs and use 9; how many are left?");
- ``percent``: percentages and discounts ("20% off a $74 jacket: what do I pay?");
- ``relative-dates``: a date some days after or before another, or the weekday then;
- ``phrase-letters``: counting a letter in a phrase of several words;
- ``two-in-one``: two questions in one message, each with its own value.

An item may need several values (two-in-one); the reply is right only when every value
is there and the reply is prose (:mod:`ember.bench.realistic_check`). Two template banks:
``tune`` (the phrasings Ember may be tuned on) and ``heldout`` (written apart, never used
to choose anything; report it, do not tune on it).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

REALISTIC_FAMILIES = ("word", "percent", "relative-dates", "phrase-letters", "two-in-one")
REALISTIC_SEED = 20261201
Bank = Literal["tune", "heldout"]


@dataclass(frozen=True)
class Expected:
    """One value the reply must state: a number (within ``tolerance``), a date, or a
    weekday."""

    kind: Literal["number", "date", "weekday"]
    value: str  # "63", "2027-05-16", "Sunday"
    tolerance: float = 0.0


@dataclass(frozen=True)
class RealisticItem:
    id: str
    family: str
    bank: Bank
    question: str
    expected: tuple[Expected, ...]


Maker = Callable[[random.Random, Bank], tuple[str, tuple[Expected, ...]]]


def generate(
    per_family: int = 40,
    seed: int = REALISTIC_SEED,
    families: Sequence[str] = REALISTIC_FAMILIES,
    bank: Bank = "tune",
) -> list[RealisticItem]:
    """``per_family`` distinct items of each family from one bank; same seed, same items."""
    makers: dict[str, Maker] = {
        "word": word_item,
        "percent": percent_item,
        "relative-dates": relative_date_item,
        "phrase-letters": phrase_letters_item,
        "two-in-one": two_in_one_item,
    }
    items = []
    for family in families:
        rng = random.Random(f"{seed}-{bank}-{family}")
        seen: set[str] = set()
        while len(seen) < per_family:
            question, expected = makers[family](rng, bank)
            if question in seen:
                continue
            seen.add(question)
            items.append(
                RealisticItem(f"{bank}-{family}-{len(seen):03d}", family, bank, question, expected)
            )
    return items


def _number(value: float) -> Expected:
    rounded = round(value, 2)
    text = str(int(rounded)) if rounded == int(rounded) else f"{rounded:.2f}".rstrip("0")
    return Expected("number", text, 0.01 if rounded != int(rounded) else 0.0)


# --- word problems --------------------------------------------------------------------

_THINGS = [
    ("boxes", "eggs"), ("crates", "apples"), ("packs", "pencils"), ("bags", "oranges"),
    ("trays", "cupcakes"), ("cartons", "bottles"), ("shelves", "books"), ("rows", "chairs"),
]  # fmt: skip
_NAMES = ["Maya", "Tom", "Aisha", "Lukas", "Sofia", "Ken", "Priya", "Omar", "Elena", "Sam"]


def word_item(rng: random.Random, bank: Bank) -> tuple[str, tuple[Expected, ...]]:
    groups, item = rng.choice(_THINGS)
    name = rng.choice(_NAMES)
    n, per = rng.randint(3, 24), rng.randint(6, 48)
    shape = rng.randrange(4)
    if shape == 0:
        used = rng.randint(1, n * per - 1)
        value = n * per - used
        tune = [
            f"I have {n} {groups} of {per} {item} and use {used}. How many {item} are left?",
            f"{name} bought {n} {groups} with {per} {item} in each and gave away {used}. "
            f"How many {item} does {name} have now?",
        ]
        held = [
            f"There are {n} {groups}, each holding {per} {item}. If {used} {item} get used up, "
            f"how many remain?",
            f"We started with {n} {groups} of {per} {item}; {used} are gone. What's left?",
        ]
    elif shape == 1:
        people = rng.randint(2, 9)
        total = people * rng.randint(12, 250)
        value = total // people
        tune = [
            f"{people} friends split a bill of ${total} equally. How much does each pay?",
            f"A prize of ${total} is shared equally by {people} people. How much does each get?",
        ]
        held = [
            f"If {people} of us share ${total} evenly, what is each person's share?",
            f"Dinner came to ${total} and we were {people}. Split evenly, what do I owe?",
        ]
    elif shape == 2:
        price, qty, paid_extra = rng.randint(2, 40), rng.randint(2, 12), rng.randint(1, 50)
        paid = price * qty + paid_extra
        value = paid_extra
        tune = [
            f"I buy {qty} tickets at ${price} each and pay with ${paid}. What change do I get?",
            f"{name} pays ${paid} for {qty} items costing ${price} each. How much change?",
        ]
        held = [
            f"{qty} coffees at ${price} apiece, and I hand over ${paid}. Change?",
            f"How much change from ${paid} after buying {qty} things at ${price} each?",
        ]
    else:
        speed, hours = rng.randint(30, 120), rng.randint(2, 9)
        value = speed * hours
        tune = [
            f"A train goes {speed} km per hour for {hours} hours. How far does it travel?",
            f"If I drive at {speed} km/h for {hours} hours, how many km do I cover?",
        ]
        held = [
            f"Cycling {hours} hours at a steady {speed} km an hour, what distance is that?",
            f"How many kilometres is {hours} hours of travel at {speed} km/h?",
        ]
    return rng.choice(tune if bank == "tune" else held), (_number(value),)


# --- percentages and discounts --------------------------------------------------------


def percent_item(rng: random.Random, bank: Bank) -> tuple[str, tuple[Expected, ...]]:
    pct = rng.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 50, 60, 75])
    price = rng.randint(8, 480)
    shape = rng.randrange(3)
    if shape == 0:
        value = price * (100 - pct) / 100
        tune = [
            f"A jacket costs ${price} and is {pct}% off. What do I pay?",
            f"What is the price of a ${price} item after a {pct}% discount?",
        ]
        held = [
            f"The shop takes {pct}% off everything. How much is a ${price} lamp now?",
            f"${price} minus {pct} percent: what's the sale price?",
        ]
    elif shape == 1:
        value = price * pct / 100
        tune = [
            f"What is {pct}% of {price}?",
            f"How much is a {pct}% tip on a ${price} bill?",
        ]
        held = [
            f"I want to leave {pct} percent on a ${price} check. How much is that?",
            f"Work out {pct} percent of {price} for me.",
        ]
    else:
        value = price * (100 + pct) / 100
        tune = [
            f"A ${price} bill plus {pct}% tax comes to how much?",
            f"The rent of ${price} goes up by {pct}%. What is the new rent?",
        ]
        held = [
            f"Prices rose {pct}% on a ${price} basket. What does it cost now?",
            f"Add {pct} percent to {price}. What do you get?",
        ]
    return rng.choice(tune if bank == "tune" else held), (_number(value),)


# --- relative dates -------------------------------------------------------------------

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _a_date(rng: random.Random) -> dt.date:
    return dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 4 * 365))


def relative_date_item(rng: random.Random, bank: Bank) -> tuple[str, tuple[Expected, ...]]:
    start, days = _a_date(rng), rng.randint(3, 200)
    shape = rng.randrange(3)
    if shape == 0:
        end = start + dt.timedelta(days=days)
        tune = [
            f"What date is {days} days after {start.isoformat()}?",
            f"My trip starts on {start.isoformat()} and lasts {days} days. On what date does "
            f"it end?",
        ]
        held = [
            f"Count {days} days forward from {start.isoformat()}: which date is that?",
            f"If a warranty of {days} days begins {start.isoformat()}, when does it run out?",
        ]
        return rng.choice(tune if bank == "tune" else held), (Expected("date", end.isoformat()),)
    if shape == 1:
        end = start - dt.timedelta(days=days)
        tune = [
            f"What was the date {days} days before {start.isoformat()}?",
            f"The deadline is {start.isoformat()}. What date is {days} days earlier?",
        ]
        held = [
            f"Go back {days} days from {start.isoformat()}. What date do you land on?",
            f"Which day was it {days} days prior to {start.isoformat()}?",
        ]
        return rng.choice(tune if bank == "tune" else held), (Expected("date", end.isoformat()),)
    end = start + dt.timedelta(days=days)
    tune = [
        f"What day of the week is {days} days after {start.isoformat()}?",
        f"If today were {start.isoformat()}, what weekday would it be in {days} days?",
    ]
    held = [
        f"{days} days on from {start.isoformat()}, which day of the week is it?",
        f"Starting {start.isoformat()}, what weekday falls {days} days later?",
    ]
    weekday = _WEEKDAYS[end.weekday()]
    return rng.choice(tune if bank == "tune" else held), (Expected("weekday", weekday),)


# --- letters in a phrase --------------------------------------------------------------

_PHRASES = [
    "the quick brown fox", "bananas and pineapples", "mississippi river banks",
    "a bookkeeper's committee", "strawberry fields forever", "peppermint tea leaves",
    "the little red lighthouse", "balloons over barcelona", "an assessment of possession",
    "tomorrow never comes", "the parallel universe", "grasshoppers in the grass",
    "sweet summer afternoons", "a referee's difficult decision", "happy hippopotamus",
]  # fmt: skip


def phrase_letters_item(rng: random.Random, bank: Bank) -> tuple[str, tuple[Expected, ...]]:
    phrase = rng.choice(_PHRASES)
    letters = sorted({c for c in phrase if c.isalpha()})
    repeated = [c for c in letters if phrase.count(c) > 1]
    letter = rng.choice(repeated if repeated and rng.random() < 0.7 else letters)
    value = phrase.count(letter)
    tune = [
        f'How many times does the letter "{letter}" appear in "{phrase}"?',
        f'Count the {letter}\'s in the phrase "{phrase}".',
    ]
    held = [
        f'In "{phrase}", how often is there an {letter}?',
        f'How many letter {letter} are there in the words "{phrase}"?',
    ]
    return rng.choice(tune if bank == "tune" else held), (_number(value),)


# --- two questions in one message -----------------------------------------------------


def two_in_one_item(rng: random.Random, bank: Bank) -> tuple[str, tuple[Expected, ...]]:
    word = rng.choice(["strawberry", "banana", "committee", "parallel", "mississippi"])
    letter = rng.choice(sorted(set(word)))
    a, b = rng.randint(12, 9999), rng.randint(3, 99)
    start, days = _a_date(rng), rng.randint(3, 120)
    shape = rng.randrange(3)
    letters_q = f"How many {letter}'s are in the word {word}?"
    product_q = f"What is {a} * {b}?"
    date_q = f"What date is {days} days after {start.isoformat()}?"
    letters = _number(word.count(letter))
    product = _number(a * b)
    date = Expected("date", (start + dt.timedelta(days=days)).isoformat())
    if shape == 0:
        parts, expected = (letters_q, product_q), (letters, product)
    elif shape == 1:
        parts, expected = (product_q, date_q), (product, date)
    else:
        parts, expected = (date_q, letters_q), (date, letters)
    joiner = (
        rng.choice([" And ", " Also, ", " "])
        if bank == "tune"
        else rng.choice([" Plus: ", " Second question: ", "\n"])
    )
    second = parts[1][0].lower() + parts[1][1:] if joiner.strip() in ("And", "Also,") else parts[1]
    return parts[0] + joiner + second, expected
