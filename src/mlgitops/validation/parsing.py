"""Numbers and booleans parsed from text: one place for the rules, which every check uses.

A column declared as numbers (or booleans) that a file writes as text somewhere
(``5.0`` in an integer column, ``1_000``, a word) is read as text and parsed
here, value by value, as pandera's coercion to the declared dtype reads it. The
chunk checks judge the parsed values, and the table-wide checks (a unique key,
the set of distinct values) compare them, so ``10`` and ``10.0`` are the same id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


def is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


class Typed(Protocol):
    """A column declared as numbers, booleans or dates: its dtype, looked up only when needed (a
    schema file's dtype is pandera's, and clean data is checked without importing it), and
    the Arrow type it is read as when its values are numbers."""

    @property
    def target(self) -> Any: ...

    @property
    def arrow(self) -> pa.DataType: ...

    @property
    def kind(self) -> str: ...


def as_numbers(text: pa.ChunkedArray, typed: Typed) -> pa.ChunkedArray:
    """The numbers (or booleans) ``text`` parses to, in the column's Arrow type; a gap, and
    a value that is not one, as null. Text where the column's Arrow type is text."""
    import pyarrow as pa

    if is_text(typed.arrow):  # (Sparse[int64] has no Arrow type of its own: text)
        return text
    _, parsed, _ = _parsed(text, typed.target)
    return pa.chunked_array([pa.array(parsed, type=typed.arrow, from_pandas=True)])


def as_values(text: pa.Array | pa.ChunkedArray, target: Any) -> list[Any]:
    """Each value of ``text`` as a table-wide check compares it: the number (or boolean)
    it parses to, the text itself where it is not one, None for a gap."""
    import pandas as pd

    array, parsed, wrong = _parsed(text, target)
    return [
        None if raw is None else raw if bad else None if number is pd.NA else _plain(number)
        for raw, number, bad in zip(array.to_pylist(), parsed.astype(object), wrong, strict=True)
    ]


def as_comparable_text(text: pa.Array | pa.ChunkedArray, target: Any) -> pa.Array:
    """``text`` with each value spelt one way: the number (or boolean) it parses to, in
    Arrow's spelling, the text itself where it is not one. Two values are spelt alike
    exactly when ``as_values`` makes them equal (a hash of the spelling is a hash of the
    value), whichever chunk they are in."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array, parsed, wrong = _parsed(text, target)
    if hasattr(parsed, "sparse"):  # Sparse[int64] …: Arrow takes its dense values
        parsed = parsed.sparse.to_dense()
    if target.kind == "f":
        parsed = parsed + 0.0  # -0.0 is 0.0, as pandas hashes and compares it
    spelt = pc.cast(pa.array(parsed, from_pandas=True), pa.string())
    return pc.if_else(pa.array(wrong), array.cast(pa.string()), spelt) if wrong.any() else spelt


def _parsed(text: pa.Array | pa.ChunkedArray, target: Any) -> tuple[pa.Array, Any, Any]:
    """``text`` as one array, what it parses to (a gap where a value is not of the type),
    and the mask of the values that are not."""
    import pyarrow as pa

    array = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    parsed, bad = parse_column(array.to_pandas(), target)
    return array, parsed, bad.to_numpy(dtype=bool)


def _plain(value: Any) -> Any:
    """A parsed value as Python's: an int, a float, a bool."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def parse_column(text: Any, target: Any) -> tuple[Any, Any]:
    """Numbers (or booleans) from text, a gap where a value is not one; the mask of those."""
    import pandas as pd

    present = text.notna()
    if target.kind == "b":
        lowered = text.str.strip().str.lower()
        value = lowered.map({"true": True, "1": True, "false": False, "0": False})
        bad = present & value.isna()
        return (value if value.isna().any() else value.astype(bool)), bad
    if target.kind in "iu":
        return _parse_integers(text, present, target)
    if target.kind == "f":
        return _parse_floats(text, present, target)
    number = pd.to_numeric(text, errors="coerce")
    bad = present & number.isna()
    if not number.isna().any():
        number = number.astype(target)
    return number, bad


def _read_by_python(target: Any) -> bool:
    """Whether pandera coerces text to ``target`` value by value with Python's ``int()`` or
    ``float()`` (numpy's types do: ``1_000`` and digits of any script are numbers), not as
    ``pandas.to_numeric`` reads it (pandas' nullable and Arrow-backed types)."""
    import numpy as np

    return isinstance(getattr(target, "subtype", target), np.dtype)


#: An integer literal of at most 18 digits in ASCII, spaces or tabs around: it fits in
#: int64, so Arrow parses it exactly, with no Python call per value.
_SHORT_INTEGER = r"^[ \t]*[+-]?[0-9]{1,18}[ \t]*$"


def _parse_integers(text: Any, present: Any, target: Any) -> tuple[Any, Any]:
    """Integers of ``target`` from text; the mask of values that are not.

    An integer literal is read exactly, as a Python int (beyond 2**53 too), as
    pandera's coercion reads one: Python's ``int()`` for numpy's types (``1_000``,
    digits of any script), ASCII digits for the others; anything else that reads
    as a number (``12.0``, ``1e3``) must be a whole,
    finite float. Out of the type's range is not an integer of that type.
    Short ASCII literals (nearly every value) are parsed by Arrow, the rest
    one by one.
    """
    import numpy as np
    import pandas as pd

    limits = np.iinfo(_numpy_integer(target))
    low, high = int(limits.min), int(limits.max)
    unsigned = target.kind == "u"
    data = np.zeros(len(text), dtype=np.uint64 if unsigned else np.int64)
    known = np.zeros(len(text), dtype=bool)  # read, and of the type
    short = _short_integers(text, data, known, low, high)
    rest = np.flatnonzero(present.to_numpy(dtype=bool) & ~short)
    if rest.size:
        raw = text.to_numpy(dtype=object)[rest]
        literal = np.zeros(len(raw), dtype=bool)
        python = _read_by_python(target)
        for at, value in enumerate(raw):
            number = _int_literal(value, python)
            if number is not None:
                literal[at] = True
                if low <= number <= high:
                    data[rest[at]], known[rest[at]] = number, True
        others = rest[~literal]
        numbers = pd.to_numeric(pd.Series(raw[~literal], dtype=object), errors="coerce")
        floats = numbers.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(floats) & (np.floor(floats) == floats)
            # as floats, the largest integers round up: too large from max + 1 on
            fits = whole & (floats >= low) & (floats < float(high) + 1)
        for i, value in zip(others[fits], floats[fits], strict=True):
            data[i], known[i] = int(value), True
    bad = pd.Series(present.to_numpy(dtype=bool) & ~known, index=text.index)
    number = pd.Series(pd.arrays.IntegerArray(data, ~known), index=text.index)
    if known.all():
        return number.astype(target), bad
    return number, bad


#: An integer in ASCII digits, ASCII spaces around, as ``pandas.to_numeric`` reads one
#: (``\s`` of a text pattern would take Unicode spaces, and ``\x1c``, which ``int()``
#: refuses).
_ASCII_LITERAL = re.compile(r"[ \t\n\r\f\v]*[+-]?[0-9]+[ \t\n\r\f\v]*")


def _int_literal(value: Any, python: bool) -> int | None:
    """The integer ``value`` spells: as Python's ``int()`` reads it (``python``) or in ASCII
    digits; None if it does not spell one."""
    if not isinstance(value, str):
        return None
    if not python:
        return int(value) if _ASCII_LITERAL.fullmatch(value) else None
    try:
        return int(value)
    except ValueError:
        return None


def _short_integers(text: Any, data: Any, known: Any, low: int, high: int) -> Any:
    """Parse the short ASCII integer literals of ``text`` into ``data`` (``known`` set where
    one is of the type); the mask of the values parsed here, in range or not."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arrow = pa.array(text, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: every value one by one
        return np.zeros(len(text), dtype=bool)
    try:  # a column of plain literals (a chunk without the value that made it text)
        if pc.any(pc.match_substring(arrow, "x", ignore_case=True)).as_py():
            raise pa.ArrowInvalid("Arrow reads 0x1F as 31; Python's int() does not")
        parsed = pc.cast(arrow, pa.int64())
        mask = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
        values = pc.fill_null(parsed, 0).to_numpy(zero_copy_only=False)[mask]
    except pa.ArrowInvalid:
        short = pc.fill_null(pc.match_substring_regex(arrow, _SHORT_INTEGER), False)
        mask = short.to_numpy(zero_copy_only=False)
        digits = pc.replace_substring_regex(
            pc.array_filter(arrow, short), r"^[ \t]*\+?|[ \t]*$", ""
        )
        values = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
    where = np.flatnonzero(mask)
    fits = (values >= max(low, -(2**63))) & (values <= min(high, 2**63 - 1))
    data[where[fits]] = values[fits]
    known[where[fits]] = True
    return mask


#: A decimal number in ASCII digits, spaces or tabs around: Arrow reads it as the same
#: double as Python's ``float()`` and ``pandas.to_numeric`` do (``inf`` past the largest).
_PLAIN_FLOAT = r"^[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*$"


def _parse_floats(text: Any, present: Any, target: Any) -> tuple[Any, Any]:
    """Floats of ``target`` from text; the mask of values that are not.

    Each value is what pandera's coercion makes of it: Python's ``float()`` for numpy's
    types (``1_000``, digits of any script, ``nan`` read), ``pandas.to_numeric`` for the
    others (a value it makes NaN is not a number). Plain decimal numbers (nearly every
    value) are parsed by Arrow, as pyarrow's CSV reader parses a chunk read as numbers,
    the rest one by one; a value is the double Python's ``float()`` makes of it either
    way, whichever way its chunk was read.
    """
    import numpy as np
    import pandas as pd

    data = np.full(len(text), np.nan)
    known = np.zeros(len(text), dtype=bool)  # read as a number
    plain = _plain_floats(text, data, known)
    rest = np.flatnonzero(present.to_numpy(dtype=bool) & ~plain)
    if rest.size:
        raw = text.to_numpy(dtype=object)[rest]
        if _read_by_python(target):
            for i, value in zip(rest, raw, strict=True):
                try:
                    data[i] = float(value)
                except (TypeError, ValueError):
                    continue
                known[i] = True
        else:
            numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
            read = numbers.to_numpy(dtype="float64", na_value=np.nan)
            for i, value, number in zip(rest, raw, read, strict=True):
                if not np.isnan(number):  # the double float() makes of it, where it reads it
                    data[i], known[i] = _float_or(value, number), True
                elif np.isnan(_float_or(value, 0.0)):  # NAN, Nan: a gap (docs/validate.md)
                    known[i] = True
    bad = pd.Series(present.to_numpy(dtype=bool) & ~known, index=text.index)
    with np.errstate(over="ignore"):  # beyond float16's or float32's range: inf, as numpy
        return pd.Series(data, index=text.index).astype(target), bad


def _float_or(value: Any, number: float) -> float:
    """``float(value)`` (correctly rounded; ``to_numeric`` may be a bit off), else ``number``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return number


def _plain_floats(text: Any, data: Any, known: Any) -> Any:
    """Parse the plain decimal numbers of ``text`` into ``data`` (``known`` set); the mask
    of the values parsed here."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arrow = pa.array(text, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: every value one by one
        return np.zeros(len(text), dtype=bool)
    try:  # a column of numbers (a chunk without the value that made it text)
        parsed = pc.cast(arrow, pa.float64())
        values = parsed.to_numpy(zero_copy_only=False)  # gaps: NaN
        mask = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
        if not np.isfinite(values[mask]).all():
            raise pa.ArrowInvalid("inf and nan are spelt in ways each library reads its own")
    except pa.ArrowInvalid:
        plain = pc.fill_null(pc.match_substring_regex(arrow, _PLAIN_FLOAT), False)
        mask = plain.to_numpy(zero_copy_only=False)
        trimmed = pc.utf8_trim(pc.array_filter(arrow, plain), " \t")
        values = np.full(len(text), np.nan)
        values[mask] = pc.cast(trimmed, pa.float64()).to_numpy(zero_copy_only=False)
    data[mask] = values[mask]
    known[mask] = True
    return mask


def _numpy_integer(target: Any) -> Any:
    """numpy's integer dtype of the values of ``target``: itself, or that of pandas' ``Int64``
    (``numpy_dtype``), of ``Sparse[int64]`` (``subtype``), or of an Arrow-backed integer."""
    import numpy as np

    for inner in (target, getattr(target, "numpy_dtype", None), getattr(target, "subtype", None)):
        if isinstance(inner, np.dtype) and inner.kind in "iu":
            return inner
    return np.dtype(np.uint64 if target.kind == "u" else np.int64)
