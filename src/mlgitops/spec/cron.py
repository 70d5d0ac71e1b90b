"""GitHub Actions' ``schedule`` cron expressions: what each field allows, and how often
the schedule runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    ),
    ("day of week", 0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
)
_CRON_ITEM = re.compile(r"^(\*|([0-9a-z]+)(-([0-9a-z]+))?)(/([0-9]+))?$")


def cron_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a 5-field cron expression GitHub runs; None when it is."""
    fields = schedule.split(" ")
    if len(fields) != 5:
        return None  # the schema's pattern says so already
    sets: list[set[int]] = []
    for text, (what, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        items = [_cron_item(item, low, high, names) for item in text.lower().split(",")]
        if any(values is None for values in items):
            return (
                f"invalid value {schedule!r}: {what} field {text!r} is not a cron field "
                f"(numbers {low}-{high}, ranges a-b, lists a,b, steps */n or a-b/n)"
            )
        sets.append({value for values in items if values is not None for value in values})
    minutes, hours, days, months, _ = sets
    ordered = sorted(minutes)
    gaps = [(b - a, a, b) for a, b in pairwise(ordered)]
    every_day = _every(fields[2]) and _every(fields[4])
    # the last minute of an hour, then the first of the next (of the next day: every day)
    if any(h + 1 in hours or (h == 23 and 0 in hours and every_day) for h in hours):
        gaps.append((60 - ordered[-1] + ordered[0], ordered[-1], ordered[0]))
    closest = min(gaps, default=None)
    if closest is not None and closest[0] < _SHORTEST_MINUTES:
        gap, first, then = closest
        return (
            f"invalid value {schedule!r}: it runs {gap} minute(s) apart (at minute {first}, "
            f"then {then}), and GitHub runs a schedule at most every {_SHORTEST_MINUTES} minutes"
        )
    by_day = not _every(fields[2]) and _every(fields[4])  # else a weekday may run it
    if by_day and not any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
        return f"invalid value {schedule!r}: it never runs (no such day in those months)"
    return None


def _every(field: str) -> bool:
    """Whether a cron field stands for every value (``*``, ``*/1``)."""
    return field in ("*", "*/1")


#: GitHub's shortest interval between two runs of a schedule (actionlint refuses less).
_SHORTEST_MINUTES = 5
#: The most days each month has.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _cron_item(item: str, low: int, high: int, names: Sequence[str]) -> range | None:
    """The values one item of a cron field stands for (``*``, ``a``, ``a-b``, each with an
    optional ``/n``; ``a/n`` runs from ``a`` to the field's end); None where it is no item
    of a field from ``low`` to ``high``."""
    found = _CRON_ITEM.match(item)
    if found is None:
        return None
    if found[6] is not None and (len(found[6]) > 9 or int(found[6]) < 1):
        return None
    step = int(found[6]) if found[6] else 1
    if found[1] == "*":
        return range(low, high + 1, step)
    first = _cron_value(found[2], names)
    last = _cron_value(found[4], names) if found[4] else (high if found[6] else first)
    if first is None or last is None or not low <= first <= last <= high:
        return None
    return range(first, last + 1, step)


def _cron_value(text: str, names: Sequence[str]) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text) if len(text) <= 9 else None  # past any field's range
    return list(names).index(text) + (1 if len(names) == 12 else 0) if text in names else None
