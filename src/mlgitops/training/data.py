"""Read a pipeline's data as ``validate`` does, and split it into training rows and holdout.

One reader for every stage: the file is read and validated in one pass by
:mod:`mlgitops.validation.engine` (the schema's dtypes, so ``"02139"`` stays
text, and missing stays missing), and only the columns the schema declares
are read (:mod:`mlgitops.features`). Data that fails validation does not
train unless the spec says ``train.allow_invalid_data: true``.

The split is mlgitops's, never the trainer's: every trainer (built-in or
custom) and ``compare`` see exactly the same holdout rows.

- ``data.test_path`` set: the test file is the holdout, and every row of ``data.path``
  trains but those the test file holds too (the same key, as below).
- otherwise each row's side is a function of its key (``data.split.key``, by
  default every declared column) and ``split.seed``: a row is in the holdout
  when a hash of both falls below ``split.test_size``. Appending rows never moves
  existing rows, and identical rows always land on the same side. The holdout
  is ``test_size`` of the rows in expectation, and of each class in expectation
  (the hash does not look at the target), so ``split.stratify`` needs no extra step.

``__row__`` is the 1-based record number in the file it came from (the header
line is not counted), so a holdout row can be found again in the data file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput, CheckFailed, DataError, SpecError
from mlgitops.features import (
    FeatureContract,
    contract,
    declared_columns,
    missing_as_nan,
    named_columns,
    row_fingerprints,
)
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mlgitops.evaluation.pairing import TrainingRows
    from mlgitops.validation.failures import Example

#: Failures named in the message when ``train`` refuses invalid data.
_FIRST_FAILURES = 3


@dataclass(frozen=True)
class Split:
    """Training rows and holdout rows; both keep ``__row__`` and the target."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    target: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    contract: FeatureContract | None = None
    #: Validation failures the spec allowed training with (``train.allow_invalid_data``).
    invalid: tuple[str, ...] = ()
    #: Rows of ``data.path`` left out of training because ``data.test_path`` holds them too.
    left_out: tuple[int, ...] = ()
    #: The training rows' fingerprints when the split already computed them (see ``_split``).
    known_fingerprints: npt.NDArray[np.uint64] | None = field(
        default=None, compare=False, repr=False
    )

    def training_fingerprints(self) -> npt.NDArray[np.uint64]:
        """One fingerprint per training row, over every feature and the target."""
        if self.known_fingerprints is not None:
            return self.known_fingerprints
        return row_fingerprints(self.train, self.fingerprint_columns)

    @property
    def fingerprint_columns(self) -> tuple[str, ...]:
        return (*self.features, self.target)

    def training_input_fingerprints(self) -> npt.NDArray[np.uint64]:
        """One fingerprint per training row over its features alone (its inputs)."""
        return row_fingerprints(self.train, self.features)

    def classes(self) -> list[Any]:
        """A classification's classes: the target's labels in the training and holdout rows,
        as Python values, sorted as every built-in classifier's ``classes_`` is (labels of
        several types in the order their text sorts). A label the holdout alone holds is one
        of them: the model never predicts it, and is scored so (probability 0)."""
        import pandas as pd

        from mlgitops.features import native

        labels = pd.concat([self.train[self.target], self.holdout[self.target]]).unique()
        known = [native(v) for v in labels]
        try:
            known.sort()
        except TypeError:
            known.sort(key=str)
        return known

    def holdout_only_classes(self) -> dict[Any, int]:
        """The labels of the holdout that no training row holds, with their holdout rows."""
        from mlgitops.features import native

        trained = set(self.train[self.target].unique())
        counts = self.holdout[self.target].value_counts(sort=False)
        return {native(k): int(n) for k, n in counts.items() if k not in trained}

    def training_rows(self) -> TrainingRows:
        """The training rows as ``compare`` matches them (what training_rows.parquet holds)."""
        from mlgitops.evaluation.pairing import TrainingRows

        return TrainingRows(
            self.training_fingerprints(),
            self.fingerprint_columns,
            self.training_input_fingerprints(),
            self.features,
        )


@dataclass(frozen=True)
class Table:
    """One data file as read: ``__row__`` and the declared columns, typed by the schema."""

    frame: pd.DataFrame
    contract: FeatureContract
    failures: tuple[str, ...]
    #: Per column: the values that are not of its type, gaps in ``frame`` (invalid data read
    #: anyway: training allowed to, drift).
    unparsed: Mapping[str, int] = field(default_factory=dict)
    #: Per column of ``unparsed``: the first such value, with its row and line.
    first_unparsed: Mapping[str, Example] = field(default_factory=dict)


def read_table(
    root: Path,
    pipeline: Pipeline,
    location: str,
    workdir: Path,
    *,
    refuse_invalid: bool = True,
    labelled: bool = True,
) -> Table:
    """Read and validate one data file of ``pipeline`` in one pass.

    ``refuse_invalid``: failing validation is an error (exit 1) unless the spec
    allows training on invalid data; ``drift`` reads current data that may well fail.
    ``labelled``: a file other than the pipeline's own data must hold the target (current
    data for drift need not: what a model served has no labels).
    """
    from mlgitops.data import open_data
    from mlgitops.validation.engine import Limits, validate
    from mlgitops.validation.schema import load_schema

    data = pipeline.data
    schema = load_schema(root, pipeline)
    fmt = data.format_of(location)
    reader = open_data(root, location, fmt=fmt, workdir=workdir)
    header = reader.columns()
    require_spec_columns(root, pipeline, schema, header, location, labelled=labelled)
    bounds = data.rows if location == data.path else None
    limits = Limits(
        chunk_rows=data.chunk_rows,
        min_rows=bounds.min if bounds else None,
        max_rows=bounds.max if bounds else None,
    )
    outcome = validate(reader, schema, limits, keep=True)
    failures = tuple(_describe(f, location) for f in outcome.failures)
    if failures and refuse_invalid and not pipeline.train.allow_invalid_data:
        import shlex

        shown = "" if location == data.path else f" --data {shlex.quote(location)}"
        raise CheckFailed(_refusal(location, f"{pipeline.name}{shown}", failures))
    if outcome.text_columns:
        names = ", ".join(sorted(outcome.text_columns))
        raise DataError(f"{location}: column(s) {names} have values that are not of their dtype")
    assert outcome.table is not None  # asked for with keep=True
    frame = missing_as_nan(_as_pandas(outcome.table))
    if frame.empty:
        raise DataError(f"{location}: no data rows")
    if ROW in frame.columns:
        raise DataError(f"{location}: {ROW_RESERVED}")
    frame.insert(0, ROW, range(1, len(frame) + 1))
    features = contract(schema, header, data.target, frame)
    return Table(frame, features, failures, outcome.unparsed, outcome.first_unparsed)


def _as_pandas(table: Any) -> pd.DataFrame:
    """The validated table as pandas: booleans with gaps as pandas' ``boolean`` (a bool
    column with gaps would otherwise be Python objects, which read as text)."""
    import pandas as pd
    import pyarrow as pa

    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_boolean(column.type) and column.null_count:
            frame[name] = column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    return frame


def load_split(root: Path, pipeline: Pipeline, workdir: Path) -> Split:
    """Read the data (and test file), validated, and split it deterministically."""
    data = pipeline.data
    table = read_table(root, pipeline, data.path, workdir)
    frame, features = table.frame, table.contract
    if not features.names:
        declares = data.schema or f"{pipeline.source} (data.columns)"
        left = f" (undeclared columns are never features: {', '.join(features.undeclared)})"
        raise DataError(
            f"{declares} declares no feature column: only the target {data.target!r}"
            + (left if features.undeclared else "")
        )
    _require_no_missing_target(table, data.target, data.path)
    _require_class_labels(root, frame, pipeline, data.path)
    failures = table.failures
    known = None
    left_out: tuple[int, ...] = ()
    categorical = features.categorical
    if data.test_path:
        test = read_table(root, pipeline, data.test_path, workdir)
        _require_no_missing_target(test, data.target, data.test_path)
        _require_class_labels(root, test.frame, pipeline, data.test_path)
        _require_columns(features, test.frame, data.test_path)
        # the categorical features as text in both files before their rows are matched: a
        # column without a dtype is text in a CSV and numbers in Parquet
        frame = _as_category_text(frame, categorical)
        holdout = _as_category_text(test.frame[list(frame.columns)], categorical)
        holdout = _as_number_features(holdout, features, data.test_path, data.path)
        train, left_out = _without_holdout_rows(frame, holdout, pipeline, features)
        train = train.reset_index(drop=True)
        failures += test.failures
    else:
        train, holdout, known = _split(frame, pipeline, features)
        train = _as_category_text(train, categorical)
        holdout = _as_category_text(holdout, categorical)
    _require_classes(train, pipeline)
    return Split(
        train,
        holdout,
        data.target,
        features.names,
        categorical,
        features,
        invalid=failures,
        left_out=left_out,
        known_fingerprints=known,
    )


def _without_holdout_rows(
    frame: pd.DataFrame, holdout: pd.DataFrame, pipeline: Pipeline, features: FeatureContract
) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """The rows of ``data.path`` to train on with ``data.test_path`` as the holdout: every
    row but those the test file holds too (every feature and the target equal), so that the
    model is never scored on a row it trained on, as the split keeps identical rows on one
    side; and the record numbers of those left out. Both frames hold every fingerprint
    column (``_require_columns``)."""
    import numpy as np

    data = pipeline.data
    key = features.fingerprint_columns
    held = np.isin(row_fingerprints(frame, key), row_fingerprints(holdout, key))
    if held.all():
        raise DataError(
            f"{data.path}: every one of its {len(frame)} rows is also in data.test_path "
            f"({data.test_path}): nothing is left to train on that the holdout does not hold"
        )
    return frame[~held], tuple(int(r) for r in frame.loc[held, ROW])


def _require_class_labels(
    root: Path, frame: pd.DataFrame, pipeline: Pipeline, location: str
) -> None:
    """SpecError where the target of a classification by a scikit-learn estimator holds
    numbers that are not whole: it learns no classes from them (its ``continuous``
    target). A trainer of its own (``model.command``) decides what it takes."""
    import numpy as np
    import pandas as pd

    target = pipeline.data.target
    column = frame[target]
    if (
        pipeline.task != "classification"
        or not pipeline.model.estimator
        or not pd.api.types.is_float_dtype(column.dtype)
    ):
        return
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    fractions = values[np.isfinite(values) & (values != np.round(values))]
    if not len(fractions):
        return
    from mlgitops.spec import spec_problem

    shown = ", ".join(repr(float(v)) for v in fractions[:3])
    more = f" and {len(fractions) - 3} more" if len(fractions) > 3 else ""
    message = (
        f"task: classification, but data.target {target!r} holds numbers that are not whole "
        f"in {location} ({shown}{more}), which are no classes: set `task: regression`, or "
        "choose a target of classes"
    )
    raise SpecError([spec_problem(root, pipeline, ["task"], message)])


def _require_classes(train: pd.DataFrame, pipeline: Pipeline) -> None:
    """A classifier learns from at least two classes."""
    data = pipeline.data
    if pipeline.task != "classification":
        return
    found = train[data.target].unique()
    if len(found) >= 2:
        return
    why = ""
    if data.target in (data.split.key or ()):
        why = (
            f": data.split.key includes the target {data.target!r}, so all rows of a class "
            "land on the same side of the split"
        )
    shown = ", ".join(repr(plain) for plain in found.tolist())
    raise DataError(
        f"{data.path}: the training rows hold one class of {data.target!r} ({shown}); a "
        f"classifier needs at least two{why}"
    )


def require_spec_columns(
    root: Path,
    pipeline: Pipeline,
    schema: Any,
    header: list[str],
    location: str,
    *,
    labelled: bool = True,
) -> None:
    """An error where a column the spec names is not a column of the data file at
    ``location`` (``header``): the target (in one of the pipeline's own data files, a
    SpecError at its line of the spec, with ``compare.slices.column``; in another file, a
    DataError naming the file, unless it need not be ``labelled``); BadInput where the
    schema does not declare the target."""
    data = pipeline.data
    if location not in (data.path, data.test_path):
        if labelled and data.target not in header:
            shown = ", ".join(map(str, header))
            raise DataError(f"{location}: no target column {data.target!r} (columns: {shown})")
    else:
        named_columns(root, pipeline, schema, header, location, declared_too=False)
    if data.target not in dict(declared_columns(schema, [data.target])):
        where = pipeline.data.schema or f"{pipeline.source} (data.columns)"
        raise BadInput(
            f"{where}: the target column {data.target!r} is not declared: declare it with its dtype"
        )


def _require_no_missing_target(table: Table, target: str, path: str) -> None:
    """Every row holds a target: a value that is not of its type (read as a gap where the
    spec allows invalid data) is named as written, before a gap."""
    import pandas as pd

    frame = table.frame
    word = table.first_unparsed.get(target)
    if word is not None:
        kind = "a boolean" if pd.api.types.is_bool_dtype(frame[target].dtype) else "a number"
        place = f"{path}:{word.line}" if word.line else path
        raise DataError(
            f"{place}: target column {target!r} is not {kind} in {table.unparsed[target]} "
            f"row(s), first at row {word.row} ({word.value!r})"
        )
    missing = int(frame[target].isna().sum())
    if missing:
        first = int(frame.loc[frame[target].isna(), ROW].iloc[0])
        raise DataError(
            f"{path}: target column {target!r} is empty in {missing} row(s), first at row {first}"
        )


def _require_columns(features: FeatureContract, holdout: pd.DataFrame, path: str) -> None:
    missing = [c for c in features.fingerprint_columns if c not in holdout.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) of the training data: {', '.join(missing)}")


def _as_number_features(
    holdout: pd.DataFrame, features: FeatureContract, path: str, data_path: str
) -> pd.DataFrame:
    """The test file's number features as numbers, as the data file holds them: a column
    the schema gives no dtype is text in a CSV and may be text in a Parquet file. A value
    that is no number is bad input at its row, not a model that fails to predict."""
    import pandas as pd

    out = holdout
    for name in features.names:
        column = holdout[name]
        if name in features.categorical or not (
            pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)
        ):
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = column.notna() & numbers.isna()
        if bad.any():
            first = holdout.loc[bad].iloc[0]
            raise DataError(
                f"{path}: column {name!r} holds {first[name]!r} in row {int(first[ROW])} "
                f"({int(bad.sum())} row(s) that are not numbers), where it is a number feature, "
                f"as {data_path} holds it: give the column a dtype in the schema, or fix the value"
            )
        out = out.assign(**{name: numbers})
    return out


def _describe(failure: Any, location: str) -> str:
    """``file:line: column 'c': message (value)`` for the first failing row, as ``validate``
    shows it (a failure without rows names its column in its message)."""
    example = failure.examples[0] if failure.examples else None
    if example is None:
        return f"{location}: {failure.message}"
    place = f"{location}:{example.line}" if example.line else f"{location} row {example.row}"
    column = f"column {failure.column!r}: " if failure.column is not None else ""
    rows = f" ({failure.failing_rows} row(s))" if failure.failing_rows else ""
    return f"{place}: {column}{failure.message}{rows}, e.g. {example.value!r}"


def _refusal(location: str, name: str, failures: tuple[str, ...]) -> str:
    """Why ``location`` is not trained on; ``name``: the arguments of the ``validate``
    command that reports it in full (the pipeline, and ``--data`` for another file)."""
    shown = failures[:_FIRST_FAILURES]
    more = len(failures) - len(shown)
    lines = [
        f"{location} fails validation ({len(failures)} check(s)); not training on it. "
        f"Run `mlgitops validate {name}` for the full report, or set "
        "train.allow_invalid_data: true to train anyway.",
        *(f"  {text}" for text in shown),
    ]
    if more:
        lines.append(f"  … and {more} more")
    return "\n".join(lines)


def holdout_mask(
    frame: pd.DataFrame, key: tuple[str, ...], seed: int, test_size: float
) -> npt.NDArray[np.bool_]:
    """Which rows are in the holdout: a function of each row's key and the seed alone."""
    return _holdout_of(row_fingerprints(frame, key), seed, test_size)


def _holdout_of(
    fingerprints: npt.NDArray[np.uint64], seed: int, test_size: float
) -> npt.NDArray[np.bool_]:
    import numpy as np

    with np.errstate(over="ignore"):
        mixed = _mix(fingerprints ^ _mix(np.array([seed], dtype=np.uint64))[0])
    # the top 53 bits as a uniform number in [0, 1)
    uniform = (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    mask: npt.NDArray[np.bool_] = uniform < test_size
    return mask


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: spreads every input bit over the whole word."""
    import numpy as np

    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return out


def _split(
    frame: pd.DataFrame, pipeline: Pipeline, features: FeatureContract
) -> tuple[pd.DataFrame, pd.DataFrame, npt.NDArray[np.uint64] | None]:
    """Training rows, holdout rows and, when the split key is the fingerprint
    columns, the training rows' fingerprints (the split hashed them already)."""
    split = pipeline.data.split
    key = split.key or features.fingerprint_columns
    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise DataError(
            f"{pipeline.data.path}: data.split.key column(s) {', '.join(missing)} are not "
            "declared columns of the data"
        )
    fingerprints = row_fingerprints(frame, tuple(key))
    in_holdout = _holdout_of(fingerprints, split.seed, split.test_size)
    train, holdout = frame[~in_holdout], frame[in_holdout]
    if train.empty or holdout.empty:
        side = "holdout" if holdout.empty else "training set"
        raise DataError(
            f"{pipeline.data.path}: the split leaves the {side} empty ({len(frame)} rows, "
            f"test_size {split.test_size}): add rows or use data.test_path"
        )
    return train, holdout, fingerprints[~in_holdout] if _same_rows(frame, key, features) else None


def _same_rows(frame: pd.DataFrame, key: tuple[str, ...], features: FeatureContract) -> bool:
    """Whether the split key's fingerprints are the training rows' fingerprints: the
    same columns, and no categorical column that ``_as_category_text`` will rewrite."""
    same_columns = sorted(key) == sorted(features.fingerprint_columns)
    return same_columns and all(frame[c].dtype == object for c in features.categorical)


def _as_category_text(frame: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    """Categorical features as text, missing kept as NaN: the values served models get."""
    out = frame.reset_index(drop=True)
    for name in categorical:
        column = out[name]
        if column.dtype != object:
            present = column.notna()
            out[name] = column.astype(object).where(~present, column[present].astype(str))
    return out
