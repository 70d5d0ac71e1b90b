"""Which rows of a pipeline's data are the holdout (see :mod:`mlgitops.training.data`):
with ``data.test_path``, the test file's rows, the rows of ``data.path`` it holds too left
out of training; otherwise the rows whose key and ``split.seed`` hash below
``split.test_size``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgitops.errors import DataError
from mlgitops.features import FeatureContract, row_fingerprints
from mlgitops.outputs import ROW
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd


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


def split_by_key(
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
    same columns, and no categorical column that ``load_split`` will rewrite as text."""
    same_columns = sorted(key) == sorted(features.fingerprint_columns)
    return same_columns and all(frame[c].dtype == object for c in features.categorical)


def without_holdout_rows(
    frame: pd.DataFrame, holdout: pd.DataFrame, pipeline: Pipeline, features: FeatureContract
) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """The rows of ``data.path`` to train on with ``data.test_path`` as the holdout: every
    row but those the test file holds too (every feature and the target equal), so that the
    model is never scored on a row it trained on, as the split keeps identical rows on one
    side; and the record numbers of those left out. Both frames hold every fingerprint
    column (``require_columns``)."""
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


def require_columns(features: FeatureContract, holdout: pd.DataFrame, path: str) -> None:
    """DataError where the test file at ``path`` lacks a column the training rows are
    matched on (a feature or the target)."""
    missing = [c for c in features.fingerprint_columns if c not in holdout.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) of the training data: {', '.join(missing)}")


def as_number_features(
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
