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

from mlgitops.validation.extremes import Extremes
from mlgitops.validation.plan import coerced_bool

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


def _membership(array: Any, values: Any, invert: bool, extremes: Extremes) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _same_kind(array.type, values):
        return False  # pandera compares them as they are: let it
    run = _whole_run(values) if not invert and pa.types.is_integer(array.type) else None
    if run is not None:  # a run of whole numbers: every value in it iff the extremes are
        low, high = extremes.get()
        return low is None or (run[0] <= low and high <= run[1])
    distinct = pc.unique(array).drop_null()  # fewer to look up, and faster to find
    wanted = pa.array(list(values)).cast(array.type)
    if pa.types.is_floating(array.type):  # -0.0 is 0.0 to pandas, not to Arrow's lookup
        distinct, wanted = pc.add(distinct, 0.0), pc.add(wanted, 0.0)
    found = pc.is_in(distinct, value_set=wanted)
    hits = pc.sum(found).as_py() or 0
    return bool(hits == 0) if invert else bool(hits == len(distinct))


def _same_kind(kind: Any, values: Any) -> bool:
    """Whether each of ``values`` is looked up in an array of type ``kind`` as pandas looks
    it up, once cast to that type: numbers among numbers (a float exactly so in a float32
    column: 0.1 is not float32's 0.1), text among text, booleans among booleans. Text
    never equals a number there, though a cast would make ``"1"`` of it."""
    import numpy as np
    import pyarrow as pa

    values = list(values)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return all(type(v) is str for v in values)
    if pa.types.is_boolean(kind):
        return all(type(v) is bool for v in values)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        numbers = all(type(v) in (int, float) for v in values)
        if not numbers or not pa.types.is_floating(kind) or kind.bit_width == 64:
            return numbers
        width = np.dtype(f"<f{kind.bit_width // 8}").type
        return all(float(width(v)) == v for v in values)
    return False


def _whole_run(values: Any) -> tuple[int, int] | None:
    """The first and last of ``values`` when they are every whole number between the two
    (``{0, 1, 2, 3, 4}``); None otherwise."""
    values = list(values)
    if not values or any(type(v) is not int for v in values):  # bool is an int: not here
        return None
    low, high = min(values), max(values)
    return (low, high) if len(set(values)) == high - low + 1 else None


#: Checks decided by looking up each value in a set.
SETS: dict[str, Callable[[Any, dict[str, Any], Extremes], bool]] = {
    "isin": lambda array, s, ends: _membership(array, s["allowed_values"], False, ends),
    "notin": lambda array, s, ends: _membership(array, s["forbidden_values"], True, ends),
}


def screenable(check: Any) -> bool:
    """Whether the screen can decide ``check`` exactly as pandera would: a bound that is no
    single value (``greater_than: [1]``) pandas compares element by element, and fails a
    column of another length, where numpy's scalar would broadcast it."""
    plain = check.ignore_na and not check.groupby and not check.element_wise
    if not plain or check.raise_warning:
        return False
    if check.name in BOUNDS:
        return all(_single(value) for value in check.statistics.values())
    return check.name in SETS


def _single(value: Any) -> bool:
    from collections.abc import Iterable

    return isinstance(value, str | bytes) or not isinstance(value, Iterable)


def clean(column: ColumnPlan, array: pa.ChunkedArray, plainly: bool = True) -> bool:
    """True only when pandera would surely find nothing wrong with ``array``. ``plainly``:
    pandas reads the column in the dtype of ``array``'s type (not so a Parquet column
    pandas' metadata gives a dtype of its own, ``Int64`` for ``int64``): else, where pandera
    does not coerce, it judges that dtype, and decides."""
    import pyarrow as pa

    if not column.screenable or array.type != column.arrow:
        return False
    if not plainly and not column.rule.coerce:
        return False
    if array.null_count and not (column.nullable and column.rule.missing):
        return False  # numpy's int64 holds no missing value: pandera refuses a gap there
    if array.null_count and coerced_bool(column):
        return False  # a gap is a boolean to pandera there (bool_gaps): it judges it so
    extremes = Extremes(array)
    floating = pa.types.is_floating(array.type)
    if floating and not column.nullable and extremes.nan():
        return False  # pandas treats NaN as null
    try:
        return _passes(column.checks, array, extremes)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return False  # e.g. an allowed value pyarrow cannot hold: pandera decides


def _passes(checks: tuple[Any, ...], array: Any, extremes: Extremes) -> bool:
    for check in checks:
        if check.name in SETS:
            if not SETS[check.name](array, check.statistics, extremes):
                return False
            continue
        low, high = _as_pandas_compares(array.type, *extremes.get())
        if low is None:
            continue  # nothing but nulls: pandera skips them too
        with _quiet():  # a bound past float32 overflows to inf there, as it does in pandas
            if not BOUNDS[check.name](low, high, check.statistics):
                return False  # (a NaN extreme compares False: pandera decides)
    return True


def _quiet() -> Any:
    import numpy as np

    return np.errstate(over="ignore", invalid="ignore")


def _as_pandas_compares(kind: Any, low: Any, high: Any) -> tuple[Any, Any]:
    """A number column's extremes as numpy scalars of its own type, which compare with a
    check's bound as pandas compares the column with it: a float32 column with the bound
    made float32 (0.7 is then float32's 0.7, as 0.6999999881 is), an int64 column beside a
    float bound as float64 (9007199254740993 is then 2**53)."""
    import numpy as np
    import pyarrow as pa

    if low is None or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return low, high
    if pa.types.is_floating(kind):
        own = np.dtype(f"float{kind.bit_width}").type
    else:  # (Arrow's to_pandas_dtype would import pandas, which clean data never needs)
        own = np.dtype(
            f"{'int' if pa.types.is_signed_integer(kind) else 'uint'}{kind.bit_width}"
        ).type
    return own(low), own(high)
