"""Floats parsed from a column read as text, value by value as the library reads them.

A column that holds one value that is not a number is read as text in every
chunk and parsed by mlgitops: plain decimal literals (nearly every value) by
Arrow, the rest by Python. Each value must be what the coercion pandera applies
to text makes of it: for numpy's float types Python's ``float()`` (which reads
``1_000``, digits of any script, ``inf`` and ``nan``), for pandas' nullable and
Arrow-backed types what ``pandas.to_numeric`` reads. In the target's precision,
and bit for bit the double Python's ``float()`` makes of it, as pyarrow's CSV
reader does of a chunk read as numbers (``to_numeric`` is at times one bit off
for long mantissas): a value is the same number whichever way its chunk is read.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlgitops.validation.parsing import as_comparable_text, as_values, parse_column
from tests.validate.corpus import text_columns

PIECES = [
    "", " ", "\t", "+", "-", "0", "1", "9", "12", "007", ".", "e", "E", "e-", "E+", "5",
    "308", "309", "400", "324", "inf", "Infinity", "nan", "NaN", "x", "٣", "\uff11", "_",
    "\u00a0", "0x1F", "1,5", "½", "1.7976931348623157", "4.9", "2.2250738585072014",
    "12345678901234567890", "0.30000000000000004441", "d",
]  # fmt: skip
TARGETS = [
    np.dtype("float64"),
    np.dtype("float32"),
    np.dtype("float16"),
    pd.Float64Dtype(),
    pd.Float32Dtype(),
    pd.ArrowDtype(pa.float64()),
]


def _expected(value: str | None, target: Any) -> float | str | None:
    """The float ``value`` is in ``target``'s precision, ``None`` for a gap, ``"bad"`` for
    anything else."""
    if value is None:
        return None
    try:
        number: float | None = float(value)
    except ValueError:
        number = None
    if not isinstance(target, np.dtype):  # what to_numeric reads, correctly rounded
        if number is not None and math.isnan(number):
            return None  # NAN, Nan: a gap in every float column (docs/validate.md)
        read = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
        number = None if pd.isna(read) else (float(read) if number is None else number)
    if number is None:
        return "bad"
    precision = getattr(target, "numpy_dtype", target)
    with np.errstate(over="ignore"):
        return float(precision.type(number))


def _same(got: Any, expected: Any) -> bool:
    if isinstance(got, float) and isinstance(expected, float):
        if math.isnan(got) or math.isnan(expected):
            return math.isnan(got) and math.isnan(expected)
        return got == expected and math.copysign(1, got) == math.copysign(1, expected)
    return bool(got == expected)


def _columns(seed: int) -> list[list[str | None]]:
    chance = random.Random(seed)
    columns = text_columns(chance, PIECES, 4)
    # chunks of plain literals, as the chunks around the one bad value are: long
    # mantissas and far exponents, where a parser that rounds twice is off by one bit
    plain = [
        f"{chance.choice(['', '-', '+'])}{chance.randrange(10**17)}.{chance.randrange(10**9)}"
        f"e{chance.randrange(-340, 320)}"
        for _ in range(2_000)
    ]
    columns += [plain, [*plain[:50], None, " 2.5", "3.25 ", "\t-1e3"], [" 1e5 ", "7"]]
    return columns


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("storage", ["str", "object"])
@pytest.mark.parametrize("seed", [1, 2])
def test_each_value_is_what_the_library_makes_of_it(seed: int, storage: str) -> None:
    for values in _columns(seed):
        text = pd.Series(values, dtype=storage)
        for target in TARGETS:
            parsed, bad = parse_column(text, target)
            got = [
                "bad" if is_bad else (None if v is None or v is pd.NA else float(v))
                for v, is_bad in zip(parsed.astype(object), bad, strict=True)
            ]
            expected = [_expected(v, target) for v in values]
            gaps = [v is None for v in values]
            got = [None if gap else g for g, gap in zip(got, gaps, strict=True)]
            assert all(_same(g, e) for g, e in zip(got, expected, strict=True)), (
                values,
                target,
                got,
                expected,
            )
            assert not bad[text.isna()].any()  # a gap is not a bad value


def _equal(a: Any, b: Any) -> bool:
    """As pandas' ``duplicated`` compares two values: gaps and NaN alike, -0.0 as 0.0."""
    missing = (a is None or (isinstance(a, float) and math.isnan(a)),
               b is None or (isinstance(b, float) and math.isnan(b)))  # fmt: skip
    return all(missing) if any(missing) else bool(type(a) is type(b) and a == b)


@pytest.mark.parametrize("target", [np.dtype("float64"), np.dtype("int64"), pd.Float64Dtype()])
def test_values_are_spelt_alike_exactly_when_they_compare_equal(target: Any) -> None:
    """A unique key written as text is hashed by a spelling of each value: two values must
    be spelt alike exactly when the comparison of the candidates finds them equal, or a
    duplicate is missed (``0.0`` and ``-0``, ``5`` and ``5.0``) or counted twice."""
    chance = random.Random(7)
    columns = text_columns(chance, [*PIECES, "-0", "0.0", "5", "5.0", "+5"], 3)
    for values in [*columns, ["-0", "0.0", "0", "-0.0", "5", "5.0", "+5", None, None, "x", "x"]]:
        text = pa.chunked_array([pa.array(values, type=pa.string())])
        spelt = as_comparable_text(text, target).to_pylist()
        compared = as_values(text, target)
        for i in range(len(values)):
            for j in range(len(values)):
                same = spelt[i] == spelt[j]
                assert same == _equal(compared[i], compared[j]), (values, i, j, target)
