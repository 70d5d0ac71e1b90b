"""Integers parsed from a column read as text, value by value as Python and pandas read them.

A column that holds one value that is not an integer is read as text in every
chunk and parsed by mlgitops. Most of it goes through Arrow, the rest through
Python. Either way each value must be what the coercion pandera applies to text
makes of an integer literal: for numpy's types Python's ``int()`` (which reads
``1_000`` and digits of any script), for pandas' nullable and Arrow-backed types
what ``pandas.to_numeric`` reads as an integer (ASCII digits, ASCII spaces
around). Else it must be what ``pandas.to_numeric`` makes of
it when that is a whole finite number. Either way within the target type's
range. Anything else is a bad value, and a gap stays a gap.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgitops.validation.parsing import parse_column
from tests.validate.corpus import text_columns

PIECES = [
    "", " ", "\t", "+", "-", "0", "1", "9", "12", "007", "255", "256", "-128",
    "9223372036854775807", "9223372036854775808", "18446744073709551615",
    "18446744073709551616", "999999999999999999", "1000000000000000000", ".", "e", "E3",
    ".5", "1.0", "2.5", "inf", "nan", "x", "٣", "١٢", "\u00a0", "_", "0x1F", "0X1f", "0b1",
    "1e18", "1e19", "-0.0", "1,000", "--1", "½", "²", "1_0", "_0", "0_", "1__0", "\uff11",
    "\x0b", "\x0c", "\x1c", "\x85", "\u2007", "\u3000",
]  # fmt: skip
TARGETS = [
    *(np.dtype(name) for name in ("int64", "int32", "int8", "uint8", "uint16", "uint64")),
    pd.Int64Dtype(),
    pd.UInt8Dtype(),
]


def _python_int(value: str, target: Any) -> int | None:
    """The integer the coercion to ``target`` reads from ``value`` as a literal, or None."""
    if isinstance(target, np.dtype):  # numpy calls int() on each value
        try:
            return int(value)
        except ValueError:
            return None
    read = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce")
    if pd.api.types.is_integer_dtype(read.dtype) or isinstance(read.iloc[0], int):
        return int(read.iloc[0])  # pandas reads it as an integer, not as a float
    return None


def _expected(value: str | None, target: Any) -> int | str | None:
    """The integer ``value`` is, ``None`` for a gap, ``"bad"`` for anything else."""
    if value is None:
        return None
    limits = np.iinfo(getattr(target, "numpy_dtype", target))
    literal = _python_int(value, target)
    if literal is not None:
        number = literal
    else:
        read = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
        if pd.isna(read) or not np.isfinite(read) or float(read) != np.floor(float(read)):
            return "bad"
        if not float(limits.min) <= float(read) < float(limits.max) + 1:
            return "bad"
        number = int(read)
    return number if limits.min <= number <= limits.max else "bad"


def _columns(seed: int) -> list[list[str | None]]:
    chance = random.Random(seed)
    columns = text_columns(chance, PIECES, 3)
    # a chunk of plain literals, as the chunks around the one bad value are; and chunks
    # that Arrow's own integer parsing reads whole (it takes 0x1F for 31)
    columns += [[str(n) for n in range(-50, 50)] + [None], ["0x1F", "12", None], ["0X1f"]]
    return columns


@pytest.mark.parametrize("storage", ["str", "object"])
@pytest.mark.parametrize("seed", [1, 2])
def test_each_value_is_what_python_and_pandas_make_of_it(seed: int, storage: str) -> None:
    for values in _columns(seed):
        text = pd.Series(values, dtype=storage)
        for target in TARGETS:
            parsed, bad = parse_column(text, target)
            got = [
                "bad" if is_bad else (None if pd.isna(v) else int(v))
                for v, is_bad in zip(parsed, bad, strict=True)
            ]
            assert got == [_expected(v, target) for v in values], (values, target)
            if not bad.any() and text.notna().all():
                assert parsed.dtype == target  # a column without gaps has the type asked for
