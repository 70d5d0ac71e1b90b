"""What train requires of a pipeline's target: a value in every row, and for a
classification, classes: whole numbers where an estimator learns them, and at least two
in the training rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import DataError, SpecError
from mlgitops.outputs import ROW
from mlgitops.spec.model import Pipeline
from mlgitops.training.table import Table

if TYPE_CHECKING:
    import pandas as pd


def require_class_labels(
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


def require_classes(train: pd.DataFrame, pipeline: Pipeline) -> None:
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


def require_no_missing_target(table: Table, target: str, path: str) -> None:
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
