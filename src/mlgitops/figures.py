"""How a metric's value is written, in the verdict's reasons, the terminal and the report:
one rule for every stage, so the same number reads the same everywhere."""

from __future__ import annotations

import math

#: Below this size, four decimals would show a value that is not 0 as 0.0000.
_SMALL = 0.00005
#: From this size on, a float's digits past its 17th say nothing: four decimals would
#: write tens or hundreds of them.
_LARGE = 1e15


def figure(value: float | None, signed: bool = False) -> str:
    """``value`` to four decimals (``signed``: with its sign), or to four significant digits
    where four decimals would show 0 for a value that is not (a metric on a small scale: an
    rmse of 3.2e-06) or digits no float holds (an rmse of 3.2e+200); ``-`` for no value."""
    if value is None:
        return "-"
    sign = "+" if signed else ""
    if value != 0 and math.isfinite(value) and not _SMALL <= abs(value) < _LARGE:
        return f"{value:{sign}.4g}"
    return f"{value:{sign}.4f}"


def counted(count: int, noun: str) -> str:
    """``count`` with its thousands separated and ``noun`` in the plural unless it is one:
    ``1 row``, ``1,500 rows``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
