"""Read a pipeline's data as ``validate`` does, and split it into training rows and holdout.

One reader for every stage: the file is read and validated in one pass by
:mod:`mlgitops.validation.engine` (the schema's dtypes, so ``"02139"`` stays
text, and missing stays missing), and only the columns the schema declares
are read (:mod:`mlgitops.features`). Data that fails validation does not
train unless the spec says ``train.allow_invalid_data: true``
(:mod:`mlgitops.training.table`).

The split is mlgitops's, never the trainer's: every trainer (built-in or
custom) and ``compare`` see exactly the same holdout rows
(:mod:`mlgitops.training.holdout`).

- ``data.test_path`` set: the test file is the holdout, and every row of ``data.path``
  trains but those the test file holds too (the same key, as below).
- otherwise each row's side is a function of its key (``data.split.key``, by
  default every declared column) and ``split.seed``: a row is in the holdout
  when a hash of both falls below ``split.test_size``. Appending rows never moves
  existing rows, and identical rows always land on the same side. The holdout
  is ``test_size`` of the rows in expectation, and of each class in expectation
  (a row's side is drawn from its key whatever its class), not exactly:
  ``split.stratify`` does not change it (an exact share per class would move
  existing rows as rows are added); it is handed to custom trainers.

``__row__`` is the 1-based record number in the file it came from (the header
line is not counted), so a holdout row can be found again in the data file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import DataError
from mlgitops.features import FeatureContract, row_fingerprints
from mlgitops.spec.model import Pipeline
from mlgitops.training.holdout import (
    as_number_features,
    require_columns,
    split_by_key,
    without_holdout_rows,
)
from mlgitops.training.table import read_table
from mlgitops.training.targets import (
    require_class_labels,
    require_classes,
    require_no_missing_target,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mlgitops.evaluation.pairing import TrainingRows


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
    #: The training rows' fingerprints when the split already computed them
    #: (see ``split_by_key``).
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
    require_no_missing_target(table, data.target, data.path)
    require_class_labels(root, frame, pipeline, data.path)
    failures = table.failures
    known = None
    left_out: tuple[int, ...] = ()
    categorical = features.categorical
    if data.test_path:
        test = read_table(root, pipeline, data.test_path, workdir)
        require_no_missing_target(test, data.target, data.test_path)
        require_class_labels(root, test.frame, pipeline, data.test_path)
        require_columns(features, test.frame, data.test_path)
        # the categorical features as text in both files before their rows are matched: a
        # column without a dtype is text in a CSV and numbers in Parquet
        frame = _as_category_text(frame, categorical)
        holdout = _as_category_text(test.frame[list(frame.columns)], categorical)
        holdout = as_number_features(holdout, features, data.test_path, data.path)
        train, left_out = without_holdout_rows(frame, holdout, pipeline, features)
        train = train.reset_index(drop=True)
        failures += test.failures
    else:
        train, holdout, known = split_by_key(frame, pipeline, features)
        train = _as_category_text(train, categorical)
        holdout = _as_category_text(holdout, categorical)
    require_classes(train, pipeline)
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


def _as_category_text(frame: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    """Categorical features as text, missing as NaN: the values served models get. A gap
    is NaN whatever the column held it as (a date's ``NaT``, a nullable boolean's ``NA``):
    scikit-learn's encoders refuse a column that mixes another object with text."""
    import numpy as np

    out = frame.reset_index(drop=True)
    for name in categorical:
        column = out[name]
        if column.dtype != object:
            present = column.notna()
            text = column[present].astype(str).astype(object)
            out[name] = text.reindex(column.index, fill_value=np.nan).astype(object)
    return out
