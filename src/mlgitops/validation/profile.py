"""A small profile of the data, built chunk by chunk: rows, nulls, ranges, categories."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgitops.validation.extremes import Extremes
from mlgitops.validation.failures import plain_value
from mlgitops.validation.parsing import Typed, as_numbers, is_text

if TYPE_CHECKING:
    import pyarrow as pa

#: Distinct values kept per column; a column with more is not a category set.
CATEGORY_LIMIT = 20


@dataclass
class Totals:
    """What the profile keeps of one column, however the data was read."""

    dtype: str
    nulls: int = 0
    low: Any = None
    high: Any = None
    #: The sum of a column of floats, as two floats whose own sum is the exact sum (but for
    #: errors of the order of n * 2**-106 of its values): the mean rounds alike however the
    #: values were read and grouped (:func:`exact_sum`).
    total: float = 0.0
    error: float = 0.0
    #: The exact sum of a column of integers.
    whole: int = 0
    counted: int = 0
    values: set[Any] | None = field(default_factory=set)


class Profiler:
    """Feed record batches; :meth:`result` is a JSON-able profile.

    ``numbers``: the columns declared as numbers or booleans. Where the file writes such a
    column as text (``51.0`` in an integer column), it is profiled as the numbers it
    parses to; a value that is not one counts as missing here (validation reports it).
    """

    def __init__(self, numbers: Mapping[str, Typed] | None = None) -> None:
        self.rows = 0
        self._columns: dict[str, Totals] = {}
        self._numbers = dict(numbers or {})

    def add(self, batch: pa.Table) -> None:
        self.rows += batch.num_rows
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            typed = self._numbers.get(name)
            if typed is not None and is_text(array.type):
                array = as_numbers(array, typed)
            column = self._columns.setdefault(name, Totals(str(array.type)))
            _feed(column, array)

    def result(self) -> dict[str, Any]:
        return summarized(self.rows, self._columns)


def summarized(rows: int, columns: Mapping[str, Totals]) -> dict[str, Any]:
    """The JSON-able profile of ``rows`` rows whose columns hold ``columns``."""
    return {"rows": rows, "columns": {name: _summary(c, rows) for name, c in columns.items()}}


def _feed(column: Totals, array: pa.Array) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    column.nulls += array.null_count
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    extremes = Extremes(array)
    if pa.types.is_floating(kind) and extremes.nan():  # NaN is missing, as in pandas
        nan = pc.is_nan(array)
        column.nulls += int(pc.sum(nan).as_py() or 0)
        array = pc.filter(array, pc.invert(nan))
        extremes = Extremes(array)
    if numeric or pa.types.is_temporal(kind):
        _range(column, extremes)
    if pa.types.is_integer(kind):
        column.whole += int(pc.sum(array).as_py() or 0)
    elif numeric:
        for chunk in pc.drop_null(array).chunks:
            high, low = exact_sum(chunk.to_numpy(zero_copy_only=False))
            column.total, column.error = _added(column.total, column.error, high, low)
    if numeric:
        column.counted += len(array) - array.null_count
    if column.values is not None and not numeric and not pa.types.is_temporal(kind):
        column.values.update(plain_value(v) for v in pc.unique(array.drop_null()).to_pylist())
        if len(column.values) > CATEGORY_LIMIT:
            column.values = None


def exact_sum(values: Any) -> tuple[float, float]:
    """The sum of a numpy array of floats as two floats, the second what the first (the sum
    rounded) leaves out: added pairwise, each sum's rounding error kept exactly (Knuth's
    two-sum) and the errors added up. Their sum rounds as the exact sum does but where it
    lies within about n * 2**-106 of its values' magnitudes of a tie, so that compensated
    sums in another order (the native pass's) round alike. Values that are not finite, or
    a sum past the largest float, give numpy's sum."""
    import numpy as np

    high = np.asarray(values, dtype=np.float64)
    if not len(high):
        return 0.0, 0.0
    if not np.isfinite(high).all():
        return float(high.sum()), 0.0
    low = np.zeros_like(high)
    with np.errstate(over="ignore", invalid="ignore"):  # a sum past the largest float
        while len(high) > 1:
            if len(high) % 2:
                high, low = np.append(high, 0.0), np.append(low, 0.0)
            first, second = high[0::2], high[1::2]
            total = first + second
            part = total - first
            low = low[0::2] + low[1::2] + ((first - (total - part)) + (second - part))
            high = total
    if not math.isfinite(high[0]):
        return float(high[0]), 0.0
    return float(high[0]), float(low[0])


def _added(total: float, error: float, high: float, low: float) -> tuple[float, float]:
    """``total + error`` and ``high + low`` added as :func:`exact_sum` adds."""
    both = total + high
    if not math.isfinite(both):
        return both, 0.0
    part = both - total
    return both, error + low + ((total - (both - part)) + (high - part))


def _range(column: Totals, extremes: Extremes) -> None:
    low, high = extremes.get()
    if low is not None:
        column.low = low if column.low is None else min(column.low, low)
        column.high = high if column.high is None else max(column.high, high)


def _mean(column: Totals) -> Any:
    """The mean, JSON-safe: ``"inf"`` / ``"-inf"`` where the column holds such values (as its
    min and max show them), None where it is unknown (no value, or a sum of finite values
    past the largest float)."""
    if not column.counted:
        return None
    mean = (column.total + column.error + column.whole) / column.counted
    if not math.isfinite(mean) and not _infinite(column.low) and not _infinite(column.high):
        return None
    return plain_value(round(mean, 6))


def _infinite(value: Any) -> bool:
    return isinstance(value, float) and math.isinf(value)


def _summary(column: Totals, rows: int) -> dict[str, Any]:
    return {
        "dtype": column.dtype,
        "nulls": column.nulls,
        "null_rate": round(column.nulls / rows, 6) if rows else 0.0,
        "min": plain_value(column.low),
        "max": plain_value(column.high),
        "mean": _mean(column),
        "values": sorted(column.values, key=str) if column.values is not None else None,
    }
