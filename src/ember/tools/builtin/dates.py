"""Dates and time: today in a timezone, differences, adding days, weekdays (zoneinfo).

Dates are read as ISO ``YYYY-MM-DD`` and a few everyday spellings ("March 14, 2023",
"14 March 2023", "2023/03/14"); anything else is a clear error, never a guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ember.tools.registry import ToolError

_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%B %d, %Y", "%B %d %Y", "%d %B %Y", "%b %d, %Y",
            "%b %d %Y", "%d %b %Y")  # fmt: skip


def parse_date(text: str) -> dt.date:
    cleaned = " ".join(text.strip().replace(",", ", ").split()).replace(" ,", ",")
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        pass
    raise ToolError(f"cannot read {text!r} as a date; write it as YYYY-MM-DD, e.g. 2024-03-14")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown timezone {name!r}; use an IANA name like 'Europe/Paris' or 'UTC'"
        ) from None


def _describe(day: dt.date) -> str:
    return f"{day.isoformat()} ({day.strftime('%A')})"


def make_today(clock: Callable[[], dt.datetime]) -> Callable[[str], str]:
    """``today`` over an injected clock (tests pass a fixed one)."""

    def today(timezone: str = "UTC") -> str:
        """Today's date, weekday and time in a timezone.

        Args:
            timezone: An IANA timezone name such as "Europe/Paris" (default: UTC).
        """
        now = clock().astimezone(_zone(timezone))
        return f"{_describe(now.date())} {now.strftime('%H:%M')} {now.tzname()}"

    return today


def days_between(start: str, end: str) -> int:
    """The number of days from one date to another (negative when end is earlier).

    Args:
        start: The first date, YYYY-MM-DD.
        end: The second date, YYYY-MM-DD.
    """
    return (parse_date(end) - parse_date(start)).days


def add_days(date: str, days: int) -> str:
    """The date a number of days after (or, with a negative number, before) a date.

    Args:
        date: The starting date, YYYY-MM-DD.
        days: How many days to add; negative to go back.
    """
    try:
        return _describe(parse_date(date) + dt.timedelta(days=days))
    except OverflowError:
        raise ToolError("the resulting date is out of range (years 1 to 9999)") from None


def weekday(date: str) -> str:
    """The day of the week of a date.

    Args:
        date: The date, YYYY-MM-DD.
    """
    return parse_date(date).strftime("%A")
