"""The data profile, built chunk by chunk, against pandas on the whole column."""

from __future__ import annotations

import math
from typing import Any

import pytest

CHUNKS: list[list[Any]] = [
    [1.5, 2.0, -3.25],
    [math.nan, 4.0, None],
    [None, None],
    [math.nan],
    [],
    [10.0, 0.5],
]


@pytest.mark.parametrize("first", range(len(CHUNKS)))
def test_float_columns_as_pandas_sums_them_up(first: int) -> None:
    """NaN and nulls alike are missing; min, max and mean are over the rest, whatever the
    chunks (one of only missing values, an empty one) and their order."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.validation.profile import Profiler

    chunks = CHUNKS[first:] + CHUNKS[:first]
    profiler = Profiler()
    for chunk in chunks:
        whole = pa.array([0.0, *chunk, 0.0], type=pa.float64())
        profiler.add(pa.table({"x": whole.slice(1, len(chunk))}))  # inside its buffer
    values = pd.Series([v for c in chunks for v in c], dtype="float64")
    column = profiler.result()["columns"]["x"]
    assert column["nulls"] == int(values.isna().sum())
    assert (column["min"], column["max"]) == (values.min(), values.max())
    assert column["mean"] == pytest.approx(values.mean())
