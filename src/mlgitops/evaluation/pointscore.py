"""A model's predictions frame as metric inputs, and its point scores.

``train`` (the metrics logged to MLflow and written to ``train.json``) and
``compare`` (the candidate's and the deployed model's values) both go
through here and :mod:`mlgitops.evaluation.metrics`, so a metric means the
same thing, and has the same value, at every stage.

Classes are the model's labels in sorted order; probability columns are
matched to classes by name (``proba_<label>``), never by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlgitops.errors import DataError
from mlgitops.evaluation.metrics import Array, Floats, Holdout, Predictions, score
from mlgitops.features import native
from mlgitops.outputs import ROW


def from_frame(
    task: str, classes: Sequence[Any], predicted: Any, what: Path | str
) -> tuple[Holdout, Predictions]:
    """``y_true``, ``y_pred`` and ``proba_*`` columns as a holdout and predictions."""
    known = tuple(classes) if task == "classification" else ()
    holdout = Holdout(task, encode(predicted["y_true"], known, what, predicted), known)
    labels = encode(predicted["y_pred"], known, what, predicted)
    proba = proba_columns(predicted, known, what) if known else None
    return holdout, Predictions(labels, proba)


def point_scores(
    task: str, names: Sequence[str], classes: Sequence[Any], predicted: Any, what: Path | str
) -> dict[str, float]:
    """Each named metric of a predictions frame; a metric undefined there is left out."""
    holdout, predictions = from_frame(task, classes, predicted, what)
    return {
        name: value for name in names if (value := score(name, holdout, predictions)) is not None
    }


def encode(values: Any, classes: tuple[Any, ...], what: Path | str, frame: Any) -> Array:
    """Class codes for classification; floats for regression."""

    if not classes:
        try:
            numbers = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(_not_numbers(values, what, frame)) from exc
        if frame is not None:
            _finite(
                numbers[:, None],
                [getattr(values, "name", None) or "value"],
                frame,
                what,
                "a number",
            )
        return numbers
    codes = class_codes(values, classes)
    if (codes < 0).any():
        at = int(np.flatnonzero(codes < 0)[0])
        where = ""
        if frame is not None and ROW in frame.columns:
            where = f" (data row {int(frame[ROW].iloc[at])})"
        known = ", ".join(map(str, classes))
        value = native(list(values)[at])
        same_text = [c for c in classes if str(c) == str(value)]
        kind = (
            f": {value!r} is {type(value).__name__} where the class is "
            f"{type(same_text[0]).__name__} ({same_text[0]!r})"
            if same_text
            else ""
        )
        raise DataError(
            f"{what}: class {value!r}{where} is not one of the model's classes ({known}){kind}"
        )
    encoded: Array = codes.astype(np.int64)
    return encoded


def class_codes(values: Any, classes: tuple[Any, ...]) -> Array:
    """Each value's index in ``classes``; -1 where it is none of them."""
    import pandas as pd

    # the column itself where numpy holds it: a list of its values as Python objects took
    # 7 ms per 40,000 rows, and pandas matches the same values either way
    target = np.asarray(values) if isinstance(values.dtype, np.dtype) else list(values)
    codes: Array = pd.Index(list(classes)).get_indexer(target)
    return codes


def proba_columns(predicted: Any, classes: tuple[Any, ...], what: Path | str) -> Floats | None:
    """The ``proba_<class>`` columns in ``classes`` order (a binary model may give one)."""
    names = [f"proba_{c}" for c in classes]
    present = [n in predicted.columns for n in names]
    if not any(present):
        return None
    if len(classes) == 2 and present[1] and not present[0]:
        positive = predicted[names[1]].to_numpy(dtype=np.float64)
        _finite(positive[:, None], names[1:], predicted, what, "a probability")
        _probability(positive[:, None], names[1:], predicted, what, one=True)
        return np.column_stack([1.0 - positive, positive])
    if not all(present):
        missing = ", ".join(n for n, ok in zip(names, present, strict=True) if not ok)
        raise DataError(f"{what}: probability columns missing: {missing}")
    proba: Floats = predicted[names].to_numpy(dtype=np.float64)
    _finite(proba, names, predicted, what, "a probability")
    _probability(proba, names, predicted, what, one=False)
    return proba


def _probability(
    values: Any, names: Sequence[str], frame: Any, what: Path | str, one: bool
) -> None:
    """DataError naming the first negative value (and, for the positive class's column alone,
    the first past 1: the other class's is 1 minus it); a row's values are otherwise scaled
    to sum to 1 where they are scored."""
    bad = (values < 0) | (values > 1) if one else values < 0
    if bad.any():
        at, column = (int(i[0]) for i in np.nonzero(bad))
        limit = "from 0 to 1" if one else "that is not negative"
        raise DataError(
            f"{what}: {names[column]} of {_row(frame, at)} is {values[at, column]}, not a "
            f"probability (a number {limit})"
        )
    empty = [] if one else np.flatnonzero(values.sum(axis=1) == 0).tolist()
    if empty:
        raise DataError(
            f"{what}: {', '.join(names)} of {_row(frame, empty[0])} are all 0: no "
            "probabilities, which no scaling makes sum to 1 (every score of them would be "
            "made up)"
        )


def _row(frame: Any, at: int) -> str:
    """The data row of position ``at`` of ``frame``, as messages name it."""
    return f"data row {int(frame[ROW].iloc[at])}" if ROW in frame.columns else f"row {at + 1}"


def _not_numbers(values: Any, what: Path | str, frame: Any) -> str:
    """Which value of a regression's column is not a number, and on which data row."""
    given = list(values)
    at = next((i for i, value in enumerate(given) if not _is_number(value)), 0)
    where = ""
    if frame is not None and ROW in frame.columns:
        where = f" of data row {int(frame[ROW].iloc[at])}"
    name = getattr(values, "name", None) or "value"
    return f"{what}: {name}{where} is {given[at]!r}, not a number"


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _finite(values: Any, names: Sequence[str], frame: Any, what: Path | str, kind: str) -> None:
    """DataError naming the first value of ``values`` (one column each of ``names``) that is
    not a finite number (a NaN ranks nowhere: a score made of one is made up)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    at, column = (int(i) for i in np.argwhere(bad)[0])
    raise DataError(
        f"{what}: {names[column]} of {_row(frame, at)} is {values[at, column]}, not {kind} "
        "(a finite number)"
    )
