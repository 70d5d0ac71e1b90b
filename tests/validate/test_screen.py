"""The Arrow screen never clears a column that pandera would fail."""

from __future__ import annotations

import math
from typing import Any

import pytest


def _pandera_passes(values: list[Any], dtype: str, nullable: bool, check: Any) -> bool:
    import pandas as pd
    import pandera.pandas as pa

    schema = pa.DataFrameSchema({"x": pa.Column(dtype, [check], nullable=nullable)})
    try:
        schema.validate(pd.DataFrame({"x": pd.Series(values, dtype=dtype)}), lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


def _screen_passes(values: list[Any], dtype: str, nullable: bool, check: Any) -> bool:
    import pandera.pandas as pa
    import pyarrow as pa_

    from mlgitops.validation.plan import make_plan
    from mlgitops.validation.screen import clean

    plan = make_plan(pa.DataFrameSchema({"x": pa.Column(dtype, [check], nullable=nullable)}), ["x"])
    (column,) = plan.columns
    array = pa_.chunked_array([pa_.array(values, type=column.arrow, from_pandas=True)])
    return clean(column, array)


def _checks() -> list[Any]:
    from pandera.api.checks import Check

    return [
        Check.in_range(0, 10),
        Check.in_range(0, 10, include_min=False, include_max=False),
        Check.greater_than(0),
        Check.greater_than_or_equal_to(0),
        Check.less_than(10),
        Check.less_than_or_equal_to(10),
        Check.equal_to(10),
        Check.isin([0, 5, 10]),
        Check.notin([5]),
    ]


FLOATS = [
    [0.0, 5.0, 10.0],
    [0.0, 10.0, None],
    [1.0, math.nan],
    [math.nan],
    [None, None],
    [-0.5, 3.0],
    [10.0, 10.0],
    [5.0],
    [],
]


@pytest.mark.parametrize("nullable", [True, False])
@pytest.mark.parametrize("values", FLOATS)
def test_screen_agrees_with_pandera_on_floats(values: list[Any], nullable: bool) -> None:
    for check in _checks():
        truth = _pandera_passes(values, "float64", nullable, check)
        if _screen_passes(values, "float64", nullable, check):
            assert truth, (values, nullable, check)


@pytest.mark.parametrize("values", [[0, 5, 10], [0, 11], [10], [5, 5], [-1]])
def test_screen_agrees_with_pandera_on_ints(values: list[Any]) -> None:
    for check in _checks():
        truth = _pandera_passes(values, "int64", False, check)
        assert _screen_passes(values, "int64", False, check) == truth, (values, check)


@pytest.mark.parametrize("values", [["a", "b"], ["a", None], ["c"]])
def test_screen_agrees_with_pandera_on_text(values: list[Any]) -> None:
    from pandera.api.checks import Check

    for check in (Check.isin(["a", "b"]), Check.notin(["c"]), Check.greater_than_or_equal_to("a")):
        truth = _pandera_passes(values, "str", False, check)
        if _screen_passes(values, "str", False, check):
            assert truth, (values, check)


def test_uniqueness_with_keys_that_rise_then_fall() -> None:
    import pyarrow as pa

    from mlgitops.validation.tablewide import Uniqueness

    unique = Uniqueness(("id",), 4)
    for chunk in ([1, 2, 3], [4, 5], [0, 2]):
        unique.add(pa.table({"id": chunk}))
    parts = [pa.table({"id": c}) for c in ([1, 2, 3], [4, 5], [0, 2])]
    failure = unique.confirm(unique.repeated(), lambda: iter(parts))
    assert failure is not None
    assert (failure.failing_rows, [(e.row, e.value) for e in failure.examples]) == (
        2,
        [(2, 2), (7, 2)],
    )


def test_uniqueness_of_rising_keys_needs_no_sort() -> None:
    import pyarrow as pa

    from mlgitops.validation.tablewide import Uniqueness

    unique = Uniqueness(("id",), 4)
    for chunk in ([1, 2, 3], [4, 9]):
        unique.add(pa.table({"id": chunk}))
    assert len(unique.repeated()) == 0
