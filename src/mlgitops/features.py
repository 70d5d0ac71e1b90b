"""The feature contract and row fingerprints: what every stage agrees a row is.

The features of a pipeline are the columns its schema declares, minus the
target, in the order the schema declares them (a regex column contributes
the matching data columns in file order). ``train`` fits on them, the logged
model's signature lists them, ``compare`` hands the deployed model the
columns of its own signature, and ``drift`` profiles them. A data column the
schema does not declare is never a feature: a strict schema rejects it
(``validate``), a non-strict one reports it as *undeclared* and it is not read.

A row fingerprint is a 64-bit hash of a row's values over named columns,
insensitive to column order and to the numeric type a value was read as
(``1`` and ``1.0`` are the same value; ``"1"`` is text), so a row can be recognised again in
another file, another split or another version of the data. ``train``
records the fingerprints of its training rows; ``compare`` uses them to keep
a deployed model off the rows it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mlgitops.spec.model import Pipeline
    from mlgitops.validation.rules import ColumnRule

#: Schema dtypes that make a column categorical whatever its values look like.
CATEGORICAL_DTYPES = frozenset({"category", "str", "string", "object"})
_MISSING = "\x00missing"


@dataclass(frozen=True)
class Feature:
    """One model input: its name, the schema's dtype for it, whether it is a category."""

    name: str
    dtype: str
    categorical: bool = False
    #: the schema declares a date or a time (read as text by the stages)
    temporal: bool = False


@dataclass(frozen=True)
class FeatureContract:
    """The target and the features, in one order, and the data columns left out."""

    target: str
    features: tuple[Feature, ...]
    #: Data columns the schema does not declare (ignored; a strict schema rejects them).
    undeclared: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def categorical(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.categorical)

    @property
    def temporal(self) -> tuple[str, ...]:
        """The features the schema declares as dates or times (drift does not profile them)."""
        return tuple(f.name for f in self.features if f.temporal)

    @property
    def fingerprint_columns(self) -> tuple[str, ...]:
        """The columns a training row is recognised by: every feature and the target."""
        return (*self.names, self.target)

    def as_json(self) -> list[dict[str, str]]:
        return [{"name": f.name, "dtype": f.dtype} for f in self.features]


def declared_columns(schema: Any, header: Sequence[str]) -> list[tuple[str, str]]:
    """``(column, dtype)`` for each data column the schema declares, in schema order."""
    return [(name, rule.words) for name, rule in _declared_rules(schema, header)]


def _declared_rules(schema: Any, header: Sequence[str]) -> list[tuple[str, ColumnRule]]:
    """The schema's rule of each data column it declares (by name or regex), in its order."""
    from mlgitops.validation.rules import Schema, regex_names

    found: dict[str, ColumnRule] = {}
    rules = Schema.of(schema)
    named = {key for key, column in rules.columns.items() if not column.regex}
    for key, column in rules.columns.items():
        if column.regex:
            for name in header:
                if regex_names(str(key), name) and name not in found and name not in named:
                    found[name] = column
        elif key in header and key not in found:
            found[str(key)] = column
    return list(found.items())


def named_columns(
    root: Path,
    pipeline: Pipeline,
    schema: Any,
    header: list[str],
    location: str,
    *,
    declared_too: bool = True,
) -> None:
    """A SpecError, at each one's line of the spec, where the target or
    ``compare.slices.column`` is not a column of the pipeline's data file at ``location``
    (``header``); ``declared_too``: only where the schema does not declare it either (where
    it does, validation reports the missing column); where a ``data.split.key`` column is
    one the schema does not declare (the split reads those alone)."""
    from mlgitops.errors import SpecError
    from mlgitops.spec import spec_problem

    named: list[tuple[list[str | int], str]] = [(["data", "target"], pipeline.data.target)]
    if (slices := pipeline.compare.slices) is not None:
        named.append((["compare", "slices", "column"], slices.column))
    wanted = [column for _, column in named]
    declared = dict(declared_columns(schema, wanted)) if declared_too else {}
    shown = ", ".join(map(str, header))
    problems = [
        spec_problem(
            root,
            pipeline,
            path,
            f"{'.'.join(map(str, path))} {column!r} is not a column of {location} (its "
            f"columns: {shown})",
        )
        for path, column in named
        if column not in header and column not in declared
    ]
    split = pipeline.data.split
    if split is not None and split.key:
        # declared but not in the file: validation reports the missing column
        keyed = dict(declared_columns(schema, [*split.key, *header]))
        where = pipeline.data.schema or f"{pipeline.source} (data.columns)"
        problems += [
            spec_problem(
                root,
                pipeline,
                ["data", "split", "key", i],
                f"data.split.key {column!r} is not a column the schema declares "
                f"({where}: {', '.join(keyed)})",
            )
            for i, column in enumerate(split.key)
            if column not in keyed
        ]
    in_file = slices is not None and slices.column in header
    if slices is not None and in_file and not dict(declared_columns(schema, [slices.column])):
        where = pipeline.data.schema or f"{pipeline.source} (data.columns)"
        message = (
            f"compare.slices.column {slices.column!r} is not declared by {where}: the "
            "holdout holds the columns the schema declares; declare it"
        )
        problems.append(spec_problem(root, pipeline, ["compare", "slices", "column"], message))
    if problems:
        raise SpecError(problems)


def contract(
    schema: Any, header: Sequence[str], target: str, frame: pd.DataFrame | None = None
) -> FeatureContract:
    """The feature contract of a data file with ``header`` under ``schema``.

    With ``frame`` (the data as read), a feature whose values are not numbers
    is categorical even if the schema's dtype does not say so.
    """
    declared = _declared_rules(schema, header)
    names = {name for name, _ in declared}
    features = tuple(
        Feature(
            name,
            rule.words,
            _is_categorical(rule.words, None if frame is None else frame[name]),
            temporal=rule.kind in ("M", "m") or rule.dtype == "date",
        )
        for name, rule in declared
        if name != target
    )
    undeclared = tuple(c for c in header if c not in names and c != target)
    return FeatureContract(target, features, undeclared)


def _is_categorical(dtype: str, values: pd.Series | None) -> bool:
    if dtype.lower() in CATEGORICAL_DTYPES:
        return True
    if values is None:
        return False
    import pandas as pd

    kind = values.dtype
    return not (pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind))


def row_fingerprints(
    frame: pd.DataFrame, columns: Sequence[str], *, decimals: bool = True
) -> npt.NDArray[np.uint64]:
    """One 64-bit fingerprint per row over ``columns`` (all must be in ``frame``).

    Values are compared as numbers when they are numbers (int and float alike),
    else as text; a missing value is its own value. Column order does not matter.
    ``decimals``: a fraction a float32 holds is the decimal it is read from
    (:func:`float32_decimals`); False: as float64 holds it, as runs recorded their rows
    before (:func:`as_written`).
    """
    import numpy as np
    import pandas as pd

    # hash_pandas_object combines columns by position: a fixed (sorted) order
    ordered = sorted(columns)
    normal = pd.DataFrame(
        {name: _canonical(frame[name], decimals) for name in ordered}, index=frame.index
    )
    # categorize: each distinct text hashed once, the same hashes (text features are mostly
    # categories: a quarter of the time of hashing every value)
    hashed = pd.util.hash_pandas_object(normal, index=False, categorize=True)
    return np.asarray(hashed, dtype=np.uint64)


def as_written(frame: pd.DataFrame, columns: Sequence[str]) -> npt.NDArray[np.uint64] | None:
    """The fingerprints of runs that recorded float32 fractions as float64 holds them (before
    :func:`float32_decimals`), where they differ from :func:`row_fingerprints`: a deployed
    model's recorded rows are matched both ways. None where no value is such a fraction
    (nearly all data read as float64): then both are the same, and nothing is hashed again."""
    import pandas as pd

    def changed(name: str) -> bool:
        values = frame[name].to_numpy(dtype="float64")
        return float32_decimals(values) is not values  # (the same array where none changes)

    floats = [name for name in columns if pd.api.types.is_float_dtype(frame[name].dtype)]
    if not any(changed(name) for name in floats):
        return None
    return row_fingerprints(frame, columns, decimals=False)


def _canonical(values: pd.Series, decimals: bool = True) -> pd.Series:
    """Numbers and booleans as float64 (missing NaN), a fraction a float32 holds as its
    shortest decimal (:func:`float32_decimals`), anything else as text (missing a marker)."""
    import pandas as pd

    kind = values.dtype
    if decimals and pd.api.types.is_float_dtype(kind):
        as_float = values.astype("float64")
        return pd.Series(float32_decimals(as_float.to_numpy()), index=values.index)
    if pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind):
        return values.astype("float64")
    text = _text_or_none(values)
    if text is not None:
        return text
    return values.map(lambda v: _MISSING if _missing(v) else str(v)).astype(object)


def float32_decimals(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``values`` with each fraction that a float32 holds exactly as the shortest decimal
    that float32 is read from (``1.2345670461654663``, float32's ``1.234567``, is
    ``1.234567``): data written as float32 and read as float64 holds the same rows as the
    decimals it was written from, as a CSV file writes them. Whole numbers, and values no
    float32 holds (nearly every decimal read as float64), are left as they are.

    The shortest of 1 to 9 significant digits that reads back as the same float32, the
    nearest such decimal, as numpy's shortest repr of a float32 picks it."""
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        narrow = values.astype(np.float32)
        index = np.flatnonzero(narrow == values)  # (NaN is not; infinity is whole)
        if index.size:
            index = index[values[index] != np.floor(values[index])]
        if not index.size:
            return values
        out = values.copy()
        x, target = values[index], narrow[index]
        exponent = np.floor(np.log10(np.abs(x))).astype(np.int64)
        left = np.ones(index.size, dtype=bool)
        for digits in range(1, 10):
            scale = digits - 1 - exponent  # decimals kept: may be negative
            up = np.power(10.0, np.clip(scale, 0, None))
            down = np.power(10.0, np.clip(-scale, 0, None))
            decimal = np.where(scale >= 0, np.round(x * up) / up, np.round(x / down) * down)
            found = left & (decimal.astype(np.float32) == target)
            out[index[found]] = decimal[found]
            left &= ~found
            if not left.any():
                break
    return out


def _text_or_none(values: pd.Series) -> pd.Series | None:
    """``_canonical`` of a column of text (missing None or NaN) without a call per value."""
    import pandas as pd

    cells = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(cells, skipna=True) != "string":
        return None
    gaps = pd.isna(cells)
    if not all(_missing(v) for v in cells[gaps]):  # pd.NA and such keep their text
        return None
    out = cells.copy()
    out[gaps] = _MISSING
    return pd.Series(out, index=values.index, dtype=object)


def native(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``np.True_`` is ``True``,
    ``np.int64(1)`` is ``1``): how a class or a row key is written in JSON and shown in
    messages."""
    import numpy as np

    return value.item() if isinstance(value, np.generic) else value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def missing_as_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with missing values as NaN (never ``None`` or the text ``"nan"``)."""
    import numpy as np
    import pandas as pd

    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and column.isna().any():
            frame[name] = column.where(column.notna(), np.nan)
        elif isinstance(column.dtype, pd.StringDtype):
            frame[name] = column.astype(object).where(column.notna(), np.nan)
    return frame
