"""The Arrow screen never clears a column that pandera would fail."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
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


def _screen_passes(
    values: list[Any], dtype: str, nullable: bool, check: Any, pieces: int = 1, coerce: bool = False
) -> bool:
    """The screen's answer, the values held in ``pieces`` chunks (as a file read in blocks)."""
    import pandera.pandas as pa
    import pyarrow as pa_

    from mlgitops.validation.plan import make_plan
    from mlgitops.validation.screen import clean

    column = pa.Column(dtype, [check], nullable=nullable)
    plan = make_plan(pa.DataFrameSchema({"x": column}, coerce=coerce), ["x"])
    (column,) = plan.columns
    size = -(-len(values) // pieces) if values else 1
    parts = [values[i : i + size] for i in range(0, len(values), size)] or [[]]
    array = pa_.chunked_array(
        [pa_.array(part, type=column.arrow, from_pandas=True) for part in parts], column.arrow
    )
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


def _listed_bounds() -> list[Any]:
    """Bounds in a list: pandas compares a column with a list element by element, and fails
    a column of another length; numpy's scalar broadcast them, and the screen passed it."""
    from pandera.api.checks import Check

    return [
        Check.greater_than([-1]),
        Check.less_than((11,)),
        Check.equal_to([10]),
        Check.in_range([0], [10]),
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


@pytest.mark.parametrize("pieces", [1, 3])
@pytest.mark.parametrize("nullable", [True, False])
@pytest.mark.parametrize("values", FLOATS)
def test_screen_agrees_with_pandera_on_floats(
    values: list[Any], nullable: bool, pieces: int
) -> None:
    for check in [*_checks(), *_listed_bounds()]:
        truth = _pandera_passes(values, "float64", nullable, check)
        if _screen_passes(values, "float64", nullable, check, pieces):
            assert truth, (values, nullable, check)


def test_the_screen_clears_clean_floats_whatever_is_missing() -> None:
    """Missing values (None or NaN) in a nullable column are skipped, as pandera skips them:
    the column is cleared without building a frame; in a column that may not have them,
    it goes to pandera."""
    from pandera.api.checks import Check

    for values in ([0.0, 5.0, 10.0], [0.0, math.nan, 10.0, None], [math.nan, 1.0]):
        for pieces in (1, 2):
            assert _screen_passes(values, "float64", True, Check.in_range(0, 10), pieces)
    assert not _screen_passes([1.0, math.nan], "float64", False, Check.in_range(0, 10), 2)
    assert not _screen_passes([1.0, 2.0, math.nan], "float64", True, Check.less_than(2), 2)


def test_the_screen_reads_a_slice_of_floats_as_sliced() -> None:
    """Only the values inside a slice count (an Arrow chunk may start inside its buffer)."""
    import pandera.pandas as pa
    import pyarrow as pa_
    from pandera.api.checks import Check

    from mlgitops.validation.plan import make_plan
    from mlgitops.validation.screen import clean

    for dtype, arrow in (("float64", pa_.float64()), ("float32", pa_.float32())):
        schema = pa.DataFrameSchema({"x": pa.Column(dtype, [Check.in_range(0, 10)])})
        (column,) = make_plan(schema, ["x"]).columns
        whole = pa_.array([-5.0, 1.0, 2.0, 3.0, 50.0], type=arrow)
        inside = pa_.chunked_array([whole.slice(1, 3), whole.slice(2, 1)])
        assert clean(column, inside)
        assert not clean(column, pa_.chunked_array([whole.slice(2, 3)]))
        assert not clean(column, pa_.chunked_array([whole.slice(1, 2), whole.slice(0, 1)]))


INTS = [[0, 5, 10], [0, 11], [10], [5, 5], [-1], [3, 1, 2, 4, 0], [0, 4, 2], [1, 2, 9], []]


@pytest.mark.parametrize("pieces", [1, 2])
@pytest.mark.parametrize("values", INTS)
def test_screen_agrees_with_pandera_on_ints(values: list[Any], pieces: int) -> None:
    from pandera.api.checks import Check

    # a run of whole numbers is decided from the extremes; a set with a gap by lookup
    runs = [Check.isin([0, 1, 2, 3, 4]), Check.isin([4, 2, 3]), Check.isin([0, 2, 4])]
    for check in [*_checks(), *runs]:
        truth = _pandera_passes(values, "int64", False, check)
        assert _screen_passes(values, "int64", False, check, pieces) == truth, (values, check)
    odd = (Check.isin([True, False]), Check.isin([0.0, 1.5, 5]))  # odd sets
    for check in (*odd, *_listed_bounds()):
        if _screen_passes(values, "int64", False, check, pieces):
            assert _pandera_passes(values, "int64", False, check), (values, check)


@pytest.mark.parametrize("values", [[0, None, 4], [None, None], [7, None], [0, 4]])
def test_screen_agrees_with_pandera_on_nullable_ints(values: list[Any]) -> None:
    """pandas' ``Int64`` holds a gap, and pandera's checks skip it; numpy's ``int64`` holds
    none: pandas reads an integer column with a gap as floats, which pandera refuses."""
    import pandas as pd
    import pandera.pandas as pa
    from pandera.api.checks import Check

    for check in (Check.isin([0, 1, 2, 3, 4]), Check.in_range(0, 4), Check.notin([7])):
        truth = _pandera_passes(values, "Int64", True, check)
        assert _screen_passes(values, "Int64", True, check, 2, coerce=True) == truth
        schema = pa.DataFrameSchema({"x": pa.Column("int64", [check], nullable=True)}, coerce=True)
        read = pd.DataFrame({"x": pd.Series(values, dtype="float64")})  # as pandas reads them
        try:
            schema.validate(read, lazy=True)
            truth = True
        except pa.errors.SchemaErrors:
            truth = False
        assert _screen_passes(values, "int64", True, check, 2) == truth, (values, check)


@pytest.mark.parametrize("values", [["a", "b"], ["a", None], ["c"]])
def test_screen_agrees_with_pandera_on_text(values: list[Any]) -> None:
    from pandera.api.checks import Check

    for check in (Check.isin(["a", "b"]), Check.notin(["c"]), Check.greater_than_or_equal_to("a")):
        truth = _pandera_passes(values, "str", False, check)
        if _screen_passes(values, "str", False, check):
            assert truth, (values, check)


def test_uniqueness_with_keys_that_rise_then_fall() -> None:
    import pyarrow as pa

    from mlgitops.validation.uniqueness import Uniqueness

    unique = Uniqueness(("id",), 4)
    for chunk in ([1, 2, 3], [4, 5], [0, 2]):
        unique.add(pa.table({"id": chunk}))
    parts = [pa.table({"id": c}) for c in ([1, 2, 3], [4, 5], [0, 2])]
    (failure,) = unique.confirm(unique.repeated(), lambda: iter(parts))
    assert (failure.failing_rows, [(e.row, e.value) for e in failure.examples]) == (
        2,
        [(2, 2), (7, 2)],
    )


def test_uniqueness_of_rising_keys_needs_no_sort() -> None:
    import pyarrow as pa

    from mlgitops.validation.uniqueness import Uniqueness

    unique = Uniqueness(("id",), 4)
    for chunk in ([1, 2, 3], [4, 9]):
        unique.add(pa.table({"id": chunk}))
    assert len(unique.repeated()) == 0


#: int64's view of the hash the missing values of an integer key share.
_AS_NULL = 0x9E3779B97F4A7C15 - 2**64


@pytest.mark.parametrize(
    ("chunks", "kind"),
    [
        (([5, -1, 3], [2**62, -(2**63)], [-1]), "int64"),
        (([None, _AS_NULL], [7]), "int64"),  # a value whose bits are the missing values' hash
        (([None, 1], [None]), "int64"),
        (([3, -3], [70_000, -70_000], [3]), "int32"),
        (([3, 2**64 - 1], [2**63]), "uint64"),
        (([1, 2], [3, 4], [2**40]), "int64"),
    ],
)
def test_uniqueness_of_whole_numbers_agrees_with_pandas(
    chunks: tuple[list[Any], ...], kind: str
) -> None:
    """A whole-number key is its own hash: the failing rows are those pandas finds repeated
    (missing values are equal to each other, and to nothing else)."""
    import pandas as pd
    import pyarrow as pa

    from mlgitops.validation.uniqueness import Uniqueness

    parts = [pa.table({"id": pa.array(c, type=getattr(pa, kind)())}) for c in chunks]
    unique = Uniqueness(("id",), 2)
    for part in parts:
        unique.add(part)
    failures = unique.confirm(unique.repeated(), lambda: iter(parts))
    values = pd.Series([v for c in chunks for v in c], dtype=object)
    repeated = values.isna() if values.isna().sum() > 1 else values.isna() & False
    repeated |= values.duplicated(keep=False) & values.notna()
    expected = [i + 1 for i in range(len(values)) if repeated[i]]
    if not expected:
        assert failures == []
    else:
        (failure,) = failures
        assert (failure.failing_rows, [e.row for e in failure.examples]) == (
            len(expected),
            expected[: len(failure.examples)],
        )


@pytest.mark.parametrize("seed", range(6))
def test_uniqueness_of_ids_that_rise_in_runs_then_fall_back(seed: int) -> None:
    """Ids that rise, in runs of consecutive numbers and with gaps, then fall back onto a
    run, into a gap, or past the start: the failing rows are those pandas finds repeated."""
    import random

    import pandas as pd
    import pyarrow as pa

    from mlgitops.validation.uniqueness import Uniqueness

    rng = random.Random(seed)
    chunks, next_id = [], rng.choice([-50, 0, 1, 2**40])
    for _ in range(rng.randint(3, 6)):  # rising: consecutive runs, some with gaps
        size = rng.randint(1, 6)
        step = rng.choice([1, 1, 2])
        chunks.append(list(range(next_id, next_id + size * step, step)))
        next_id = chunks[-1][-1] + rng.choice([1, 1, 3])
    seen = [v for c in chunks for v in c]
    fallen = [rng.choice(seen), rng.choice(seen) + 1, seen[0] - 1, next_id + 5]
    chunks.append(rng.sample(fallen, rng.randint(1, 4)))
    chunks.append(list(range(next_id, next_id + 3)))
    kind = pa.int64() if seed % 2 else pa.uint64()
    if kind == pa.uint64() and min(v for c in chunks for v in c) < 0:
        kind = pa.int64()
    parts = [pa.table({"id": pa.array(c, type=kind)}) for c in chunks]
    unique = Uniqueness(("id",), 2)
    for part in parts:
        unique.add(part)
    failures = unique.confirm(unique.repeated(), lambda: iter(parts))
    values = pd.Series([v for c in chunks for v in c])
    expected = [i + 1 for i, hit in enumerate(values.duplicated(keep=False)) if hit]
    assert sum(f.failing_rows or 0 for f in failures) == len(expected), chunks
    for failure in failures:
        assert [e.row for e in failure.examples] == expected[: len(failure.examples)]


def test_consecutive_ids_take_no_memory_while_they_rise() -> None:
    """Millions of ids in order, in chunks: nothing is kept per row, and nothing repeats."""
    import pyarrow as pa

    from mlgitops.validation.uniqueness import Uniqueness

    unique = Uniqueness(("id",), 4_000_000)
    for start in range(0, 4_000_000, 250_000):
        unique.add(pa.table({"id": pa.array(range(start, start + 250_000))}))
    assert unique.stored() == 0
    assert len(unique.repeated()) == 0


def test_hashes_beyond_the_memory_budget_go_to_disk_and_find_the_same_repeats(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Keys in no order keep 8 bytes a row; past ``KEPT`` hashes they go to files on disk,
    in parts by hash, so memory stays bounded whatever the file's size, and the repeats
    found (then confirmed by value) are those pandas finds. The files go with the check."""
    import tempfile

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from mlgitops.validation import uniqueness

    monkeypatch.setattr(uniqueness, "KEPT", 1000)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rng = np.random.default_rng(5)
    ids = rng.permutation(20_000).astype(np.int64)
    ids[rng.choice(20_000, 30, replace=False)] = ids[rng.choice(20_000, 30)]
    for column in (ids, np.array([f"k{v}" for v in ids]), ids.astype(np.float64)):
        unique = uniqueness.Uniqueness(("id",), 20_000)
        parts = [pa.table({"id": column[i : i + 700]}) for i in range(0, len(column), 700)]
        for part in parts:
            unique.add(part)
            assert unique.stored() <= 1000
        assert list(tmp_path.iterdir())  # spilled
        (failure,) = unique.confirm(unique.repeated(), lambda parts=parts: iter(parts))
        assert not list(tmp_path.iterdir())
        repeats = np.flatnonzero(pd.Series(column).duplicated(keep=False)) + 1
        assert failure.failing_rows == len(repeats) > 30
        assert [e.row for e in failure.examples] == list(repeats[: len(failure.examples)])


def test_a_temporary_folder_that_cannot_hold_the_hashes_is_the_machines_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    import pyarrow as pa

    from mlgitops.errors import ServiceError
    from mlgitops.validation import uniqueness

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocked / "tmp"))
    monkeypatch.setattr(uniqueness, "KEPT", 10)
    unique = uniqueness.Uniqueness(("id",), 100)
    unique.add(pa.table({"id": [5, 3, 9, 1]}))
    with pytest.raises(ServiceError, match=r"cannot keep a unique key's hashes in .*a-file/tmp"):
        unique.add(pa.table({"id": list(range(20, 0, -1))}))


def test_many_keys_in_no_order_are_sorted_in_halves_and_find_the_same_repeats() -> None:
    """Past 1M hashes kept in memory, the two halves are sorted side by side and merged:
    repeats within a half and across the halves are found, as pandas finds them."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from mlgitops.validation.uniqueness import Uniqueness

    rng = np.random.default_rng(9)
    ids = rng.permutation(1_200_000).astype(np.int64)
    ids[[5, 10, 900_000, 1_100_000]] = ids[[7, 1_000_000, 950_000, 20]]  # within, across
    unique = Uniqueness(("id",), len(ids))
    for start in range(0, len(ids), 250_000):
        unique.add(pa.table({"id": ids[start : start + 250_000]}))
    twice = np.unique(ids[pd.Series(ids).duplicated().to_numpy()]).view(np.uint64)
    assert len(twice) == 4
    assert np.array_equal(unique.repeated(), np.sort(twice))


#: Keys as (a permutation of 300,000 ids, numpy) -> keys, and whether their hashes are sorted.
_SPANS: dict[str, tuple[Callable[[Any, Any], Any], bool]] = {
    "a span of ids in no order": (lambda ids, np: ids, False),
    "every other value of a span": (lambda ids, np: ids * 2 + 7, False),
    "too spread out": (lambda ids, np: ids * 3, True),
    "negative and positive": (lambda ids, np: ids - 150_000, True),
    "two repeats": (lambda ids, np: np.r_[ids, [17, 299_999]], True),
    "a repeat in a small span": (lambda ids, np: np.r_[np.arange(10), [3]][::-1], True),
}


@pytest.mark.parametrize("shape", sorted(_SPANS))
def test_keys_in_no_order_within_a_span_are_told_distinct_without_a_sort(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole-number keys in no order that fill a span at most twice their number are
    found distinct without sorting their hashes; any other keys are sorted, and both
    find what pandas finds."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from mlgitops.validation import row_hashes, uniqueness

    sorts: list[int] = []
    real = row_hashes.repeats
    monkeypatch.setattr(row_hashes, "repeats", lambda *a, **k: sorts.append(1) or real(*a, **k))
    build, sorted_ = _SPANS[shape]
    ids = np.asarray(build(np.random.default_rng(3).permutation(300_000), np), dtype=np.int64)
    unique = uniqueness.Uniqueness(("id",), len(ids))
    for start in range(0, len(ids), 70_000):
        unique.add(pa.table({"id": ids[start : start + 70_000]}))
    twice = np.unique(ids[pd.Series(ids).duplicated().to_numpy()]).view(np.uint64)
    assert np.array_equal(unique.repeated(), np.sort(twice))
    assert bool(sorts) == sorted_


def _edge_cases() -> list[tuple[str, list[Any], Any]]:
    from pandera.api.checks import Check

    return [
        ("float32", [0.5, 0.7], Check.less_than(0.7)),
        ("float32", [0.1, 0.5], Check.greater_than(0.1)),
        ("float32", [0.1, 0.5], Check.in_range(0.1, 1, include_min=False)),
        ("float32", [16777217.0], Check.less_than(16777217)),
        ("float64", [9007199254740992.0], Check.less_than(9007199254740993)),
        ("int64", [9007199254740993, 9007199254740999], Check.greater_than(9007199254740992.0)),
        ("int64", [9007199254740993], Check.in_range(0, 9007199254740992.0)),
        ("float64", [1.5, -0.0], Check.notin([0])),
        ("float64", [0.0, 2.0], Check.notin([-0.0])),
        ("float32", [-0.0], Check.notin([0])),
        ("float64", [-0.0, 1.0], Check.isin([0.0, 1.0])),
    ]


@pytest.mark.parametrize(("dtype", "values", "check"), _edge_cases(), ids=repr)
def test_the_screen_compares_in_the_column_s_own_type_as_pandas_does(
    dtype: str, values: list[Any], check: Any
) -> None:
    """A bound is compared as pandas compares it with the column (``0.7`` is float32's 0.7 in a
    float32 column, an int64 is a float64 beside a float bound), and ``-0.0`` is ``0.0``:
    compared exactly, the screen cleared values pandera fails."""
    passes = _pandera_passes(values, dtype, False, check)
    assert _screen_passes(values, dtype, False, check) == passes, passes


def test_a_bound_past_float32_compares_quietly_as_pandas_does() -> None:
    """1e40 is inf to a float32 column (numpy warns of the overflow); the screen compares as
    pandas does, without the warning on stderr."""
    import warnings

    from pandera.api.checks import Check

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _screen_passes([1.5, 2.5], "float32", False, Check.less_than(1e40))
