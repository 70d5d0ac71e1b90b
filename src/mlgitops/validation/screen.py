"""A fast, conservative pre-check of a chunk with Arrow compute.

For the built-in checks whose meaning is plain (comparisons and ranges,
decided from the chunk's minimum and maximum; allowed and forbidden values)
and the null check, a clean column is cleared here
without building a pandas frame. The screen only ever says "clean" or "ask
pandera": whenever it is unsure (NaN, a type it cannot compare, any other
check), the column goes to pandera, which decides and reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from mlgitops.validation.plan import ColumnPlan


def _in_range(low: Any, high: Any, stats: dict[str, Any]) -> bool:
    above = (
        low >= stats["min_value"] if stats.get("include_min", True) else low > stats["min_value"]
    )
    below = (
        high <= stats["max_value"] if stats.get("include_max", True) else high < stats["max_value"]
    )
    return bool(above and below)


#: Checks decided from the column's minimum and maximum alone.
BOUNDS: dict[str, Callable[[Any, Any, dict[str, Any]], bool]] = {
    "in_range": _in_range,
    "greater_than": lambda low, _, s: bool(low > s["min_value"]),
    "greater_than_or_equal_to": lambda low, _, s: bool(low >= s["min_value"]),
    "less_than": lambda _, high, s: bool(high < s["max_value"]),
    "less_than_or_equal_to": lambda _, high, s: bool(high <= s["max_value"]),
    "equal_to": lambda low, high, s: bool(low == s["value"] and high == s["value"]),
}


def _membership(array: Any, values: Any, invert: bool) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.is_in(array, value_set=pa.array(list(values)).cast(array.type))
    hits = pc.sum(found).as_py() or 0
    present = len(array) - array.null_count
    return bool(hits == 0) if invert else bool(hits == present)


#: Checks decided by looking up each value in a set.
SETS: dict[str, Callable[[Any, dict[str, Any]], bool]] = {
    "isin": lambda array, s: _membership(array, s["allowed_values"], invert=False),
    "notin": lambda array, s: _membership(array, s["forbidden_values"], invert=True),
}


def screenable(check: Any) -> bool:
    """Whether the screen can decide ``check`` exactly as pandera would."""
    plain = check.ignore_na and not check.groupby and not check.element_wise
    return plain and not check.raise_warning and (check.name in BOUNDS or check.name in SETS)


def clean(column: ColumnPlan, array: pa.ChunkedArray) -> bool:
    """True only when pandera would surely find nothing wrong with ``array``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not column.screenable or array.type != column.arrow:
        return False
    if not column.nullable and array.null_count:
        return False
    floating = pa.types.is_floating(array.type)
    if floating and not column.nullable and pc.any(pc.is_nan(array)).as_py():
        return False  # pandas treats NaN as null
    try:
        return _passes(column.checks, array)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return False  # e.g. an allowed value pyarrow cannot hold: pandera decides


def _passes(checks: tuple[Any, ...], array: Any) -> bool:
    import pyarrow.compute as pc

    extremes = None
    for check in checks:
        if check.name in SETS:
            if not SETS[check.name](array, check.statistics):
                return False
            continue
        if extremes is None:
            found = pc.min_max(array)
            extremes = (found["min"].as_py(), found["max"].as_py())
        if extremes[0] is None:
            continue  # nothing but nulls: pandera skips them too
        if not BOUNDS[check.name](extremes[0], extremes[1], check.statistics):
            return False  # (a NaN extreme compares False: pandera decides)
    return True
