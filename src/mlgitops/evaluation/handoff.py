"""The candidate as ``train`` left it: train.json, holdout.parquet, predictions.parquet,
training_rows.parquet.

Also turns a loaded baseline model's outputs on the same holdout into
:class:`~mlgitops.evaluation.metrics.Predictions` aligned with the candidate's classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlgitops import jsondoc
from mlgitops.errors import BadInput, DataError
from mlgitops.evaluation.metrics import Holdout, Predictions
from mlgitops.evaluation.pairing import TrainingRows, read_training_rows
from mlgitops.evaluation.pointscore import class_codes
from mlgitops.evaluation.pointscore import encode as _encode
from mlgitops.evaluation.pointscore import proba_columns as _proba_columns
from mlgitops.features import native
from mlgitops.outputs import ROW, Outputs
from mlgitops.predicting import outputs
from mlgitops.results import TrainResult, load_train_result
from mlgitops.spec.model import Pipeline


@dataclass(frozen=True)
class CandidateRun:
    train: TrainResult
    holdout: Holdout
    predictions: Predictions
    #: the holdout as a data frame (features, target, ``__row__``), in holdout order
    frame: Any
    #: the candidate's features, in its order (``train.json``'s, else every holdout
    #: column but the target and ``__row__``)
    feature_names: tuple[str, ...]
    #: the rows it was trained on (training_rows.parquet; None: not recorded)
    training: TrainingRows | None = None


def load_candidate(outputs: Outputs, pipeline: Pipeline) -> CandidateRun:
    """Read and cross-check the candidate's hand-off files."""
    train = _train_result(outputs.train_json, pipeline)
    frame = _parquet(outputs.holdout, pipeline)
    target = train.target
    holdout, _ = holdout_of(frame, train, outputs.holdout)
    predicted = _aligned(_parquet(outputs.predictions, pipeline), frame, outputs.predictions)
    classes = holdout.classes
    _check_truth(predicted, frame, target, outputs)
    labels = _encode(predicted["y_pred"], classes, outputs.predictions, frame)
    proba = _proba_columns(predicted, classes, outputs.predictions) if classes else None
    return CandidateRun(
        train,
        holdout,
        Predictions(labels, proba),
        frame,
        feature_names(train, frame),
        _training_rows(outputs.training_rows, train),
    )


def _training_rows(path: Path, train: TrainResult) -> TrainingRows | None:
    if not path.is_file():
        return None
    try:
        return read_training_rows(path, list(train.fingerprint_columns or ()), train.target)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc


def feature_names(train: TrainResult, frame: Any) -> tuple[str, ...]:
    """The candidate's features: train.json's contract, else every column but target and row."""
    declared = getattr(train, "features", None)
    if declared:
        return tuple(str(f["name"] if isinstance(f, dict) else f) for f in declared)
    return tuple(str(c) for c in frame.columns if c not in (train.target, ROW))


def holdout_of(frame: Any, train: TrainResult, path: Path) -> tuple[Holdout, Any]:
    """The holdout's truth in the model's classes, and the features a model is given."""
    target = train.target
    for column in (target, ROW):
        if column not in frame.columns:
            raise DataError(f"{path}: no column {column!r}")
    twice = frame[ROW].duplicated()
    if twice.any():  # a split holds each data row once
        row = int(frame.loc[twice, ROW].iloc[0])
        raise DataError(
            f"{path}: data row {row} is in it more than once (the hand-off holdout was "
            "changed since train wrote it: run train again)"
        )
    classes = tuple(train.classes or ()) if train.task == "classification" else ()
    if train.task == "classification" and not classes:
        classes = tuple(sorted(set(frame[target].tolist())))
    holdout = Holdout(train.task, _encode(frame[target], classes, path, frame), classes)
    return holdout, frame.drop(columns=[target, ROW])


def baseline_predictions(model: Any, features: Any, holdout: Holdout) -> Predictions:
    """The baseline model's predictions on the holdout features, in the candidate's classes."""
    values, given, known = model_outputs(model, features, holdout.task == "classification")
    return predictions_of(values, given, known, holdout, "the baseline model")


def model_outputs(model: Any, features: Any, proba: bool) -> tuple[Any, Any, list[Any] | None]:
    """A loaded model's predictions on ``features`` (one value a row) and, with ``proba``,
    its class probabilities and its classes where it gives them (else None, None)."""
    import pandas as pd

    raw, given, known = outputs(model, features, proba)
    if isinstance(raw, pd.DataFrame):
        raw = raw.iloc[:, 0]
    values = np.asarray(raw).reshape(len(features), -1)[:, 0]
    if given is not None:
        return values, np.asarray(given, dtype=np.float64), list(known)
    return values, None, None


def predictions_of(
    values: Any, given: Any, known: list[Any] | None, holdout: Holdout, what: str
) -> Predictions:
    """A model's outputs (:func:`model_outputs`) as predictions in the holdout's classes."""
    import pandas as pd

    if holdout.task != "classification":
        return Predictions(np.asarray(values).astype(np.float64))
    predicted = pd.Series(values)
    try:
        labels = _encode(predicted, holdout.classes, what, None)
    except DataError as exc:  # the first value none of the classes is, as _encode found it
        unknown = class_codes(predicted, holdout.classes) < 0
        classes = ", ".join(repr(native(c)) for c in holdout.classes)
        raise DataError(
            f"{what} predicts class {native(predicted[unknown].iloc[0])!r}, which the holdout's target "
            f"does not have (its classes: {classes}): the classes changed since it was trained"
        ) from exc
    proba = None
    # probabilities that are not all numbers, or negative, or all 0 in a row, score nothing
    # (a NaN ranks nowhere): without them, the probability metrics of this model are
    # undefined, and their gates say so
    usable = given is not None and np.isfinite(given).all() and (given >= 0).all()
    if usable and known is not None:
        where = pd.Index(known).get_indexer(list(holdout.classes))
        # a class the model never saw gets probability 0 from it
        proba = np.where(where[None, :] >= 0, given[:, np.maximum(where, 0)], 0.0)
        if not (proba.sum(axis=1) > 0).all():  # a row of zeros: no scaling makes it sum to 1
            proba = None
    return Predictions(labels, proba)


def _train_result(path: Path, pipeline: Pipeline) -> TrainResult:
    if not path.is_file():
        raise BadInput(f"{path}: not found; run `mlgitops train {pipeline.name}` first")
    result = load_train_result(jsondoc.text(path.read_bytes(), str(path)), what=str(path))
    if result.pipeline != pipeline.name:
        raise BadInput(f"{path}: written for pipeline {result.pipeline!r}, not {pipeline.name!r}")
    # the spec's hash covers its task, but a hand-edited or foreign train.json may keep the
    # hash and say another task: its holdout would be scored as that task
    if result.task != pipeline.task:
        raise BadInput(
            f"{path}: written for task {result.task!r}, not the spec's {pipeline.task!r}: "
            f"run `mlgitops train {pipeline.name}` again"
        )
    return result


def _parquet(path: Path, pipeline: Pipeline) -> Any:
    import pandas as pd

    if not path.is_file():
        raise BadInput(f"{path}: not found; run `mlgitops train {pipeline.name}` first")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable parquet file ({exc})") from exc


def _aligned(predicted: Any, frame: Any, path: Path) -> Any:
    """Predictions in holdout order; every holdout row must have exactly one."""
    for column in (ROW, "y_true", "y_pred"):
        if column not in predicted.columns:
            raise DataError(f"{path}: no column {column!r}")
    if predicted[ROW].duplicated().any():
        row = int(predicted.loc[predicted[ROW].duplicated(), ROW].iloc[0])
        raise DataError(f"{path}: data row {row} is predicted more than once")
    indexed = predicted.set_index(ROW)
    missing = ~frame[ROW].isin(indexed.index)
    if missing.any() or len(indexed) != len(frame):
        rows = (
            frame.loc[missing, ROW].head(5).tolist()
            or sorted(set(indexed.index) - set(frame[ROW]))[:5]
        )
        raise DataError(
            f"{path}: its rows do not match the holdout's (first differing data rows: "
            f"{', '.join(str(int(r)) for r in rows)})"
        )
    return indexed.loc[frame[ROW].to_numpy()].reset_index()


def _check_truth(predicted: Any, frame: Any, target: str, outputs: Outputs) -> None:
    truth, given = frame[target].to_numpy(), predicted["y_true"].to_numpy()
    differs = np.flatnonzero(truth != given)
    if len(differs):
        at = int(differs[0])
        raise DataError(
            f"{outputs.predictions}: y_true of data row {int(frame[ROW].iloc[at])} is "
            f"{given[at]!r} but {outputs.holdout.name} has {target}={truth[at]!r}"
        )
