"""Scoring a model against the deployed one on a holdout: the reusable core of ``compare``.

Given a pipeline, a holdout frame and the candidate's predictions, and
optionally the deployed model (:class:`DeployedModel`), :func:`against_deployed`
decides which rows and inputs the deployed model is scored on and scores it,
:func:`assess` produces the metric results and slices, and
:func:`mlgitops.evaluation.verdict.decide` the gate results. Any caller that
re-scores a model (``compare``, or ``deploy`` checking what was reviewed) goes
through these functions, so they judge alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mlgitops.errors import DataError
from mlgitops.evaluation.apart import Outputs
from mlgitops.evaluation.domain import outside
from mlgitops.evaluation.inputs import (
    InputColumn,
    NotEvaluable,
    baseline_inputs,
    column_types,
    feature_diff,
    whole_numbers,
)
from mlgitops.evaluation.metrics import Array, Holdout, Predictions
from mlgitops.evaluation.pairing import EVALUABLE, Comparison, TrainingRows, paired_rows
from mlgitops.evaluation.scoring import BootstrapSettings, MetricResult, score_metrics
from mlgitops.evaluation.slices import SliceReport, slice_metrics
from mlgitops.spec.model import Pipeline

NO_SIGNATURE = "the deployed model has no input signature, so which columns it takes is unknown"


@dataclass(frozen=True)
class Recorded:
    """A deployed model's outputs on every holdout row, as a process that ran it wrote them
    (:func:`mlgitops.gitops.verify.predict_deployed`), or why it gave none; and the feature
    names it knows (None: none, or its signature names its inputs)."""

    outputs: Outputs | None
    refused: str | None
    names: list[str] | None


@dataclass(frozen=True)
class DeployedModel:
    """The deployed model: loaded (or its :class:`Recorded` outputs), its signature's
    inputs, its training rows."""

    model: Any
    inputs: tuple[InputColumn, ...] | None
    training: TrainingRows | None
    #: the task it was judged as when it was deployed (None: not known)
    task: str | None = None
    #: its run's reference profile of its training data (None: its run has none)
    reference: dict[str, Any] | None = None


@dataclass(frozen=True)
class Evaluation:
    """Metric results, slices, and what the relative gates stand on (None: nothing deployed)."""

    metrics: tuple[MetricResult, ...]
    slices: SliceReport | None
    comparison: Comparison | None


@dataclass(frozen=True)
class BaselineScores:
    """The deployed model's predictions on ``rows`` of the holdout (None: not scored), and why."""

    predictions: Predictions | None
    rows: Array
    comparison: Comparison


def evaluate(
    pipeline: Pipeline,
    frame: Any,
    holdout: Holdout,
    candidate: Predictions,
    *,
    features: Sequence[str],
    deployed: DeployedModel | None,
    settings: BootstrapSettings,
    slice_values: Sequence[Any] | None = None,
    trained_on: TrainingRows | None = None,
) -> Evaluation:
    """Score a candidate's predictions on a holdout, against the deployed model if any.

    ``frame``: the holdout as a data frame (the columns a model is given, in holdout
    order); ``holdout``: its target; ``features``: the candidate's feature names;
    ``trained_on``: the candidate's training rows (None: not recorded).
    Pass the result to :func:`mlgitops.evaluation.verdict.decide` for the gate results.
    """
    scored = None
    if deployed is not None:
        typed = features_of(frame, features)
        scored = against_deployed(pipeline, frame, holdout, typed, deployed, trained_on)
    metrics, slices = assess(pipeline, holdout, candidate, scored, settings, slice_values)
    return Evaluation(tuple(metrics), slices, None if scored is None else scored.comparison)


def features_of(frame: Any, names: Sequence[str]) -> tuple[InputColumn, ...]:
    """The candidate's features with their MLflow types, as its signature would have them."""
    return column_types(frame, [n for n in names if n in frame.columns])


def against_deployed(
    pipeline: Pipeline,
    frame: Any,
    holdout: Holdout,
    features: Sequence[InputColumn],
    deployed: DeployedModel,
    trained_on: TrainingRows | None = None,
) -> BaselineScores:
    """Score the deployed model on the holdout rows it was not trained on, with its own inputs
    (:func:`mlgitops.evaluation.pairing.paired_rows`; ``trained_on``: the candidate's
    training rows).

    Never raises for a change of data: a missing or retyped column, too few rows,
    or a model that cannot score makes the comparison not evaluable instead.
    """
    model = deployed.model
    known = (
        model.names if isinstance(model, Recorded) else getattr(model, "feature_names_in_", None)
    )
    inputs = deployed.inputs or fallback_inputs(known, frame)
    diff = None if inputs is None else feature_diff(inputs, features, _whole(frame, inputs))
    unscored = Comparison(EVALUABLE, len(frame), min_rows=pipeline.compare.min_rows, features=diff)
    everything: Array = np.arange(len(frame))
    otherwise = _predicts_otherwise(pipeline, deployed)
    if otherwise is not None:
        return BaselineScores(None, everything, unscored.refused(otherwise))
    if inputs is None:
        return BaselineScores(None, everything, unscored.refused(NO_SIGNATURE))
    try:  # a column change stops the comparison before any row is looked at
        baseline_inputs(frame.head(0), inputs)
    except NotEvaluable as exc:
        return BaselineScores(None, everything, unscored.refused(str(exc)))
    rows, comparison = paired_rows(
        frame,
        deployed.training,
        required=pipeline.compare.require_training_rows,
        min_rows=pipeline.compare.min_rows,
        features=diff,
        fingerprint=_fingerprint,
        candidate=trained_on,
    )
    if not comparison.evaluable:
        return BaselineScores(None, rows, comparison)
    try:
        given = baseline_inputs(frame.iloc[rows].reset_index(drop=True), inputs)
        if isinstance(model, Recorded):
            predictions = recorded_predictions(model, rows, holdout)
        else:
            predictions = predict(model, given, holdout.take(rows))
    except NotEvaluable as exc:  # no row was compared
        return BaselineScores(None, rows, replace(comparison.refused(str(exc)), compared_rows=0))
    if comparison.retargeted is not None:
        refused = comparison.refused(comparison.retargeted)
        return BaselineScores(None, rows, replace(refused, compared_rows=0))
    names = [i.name for i in inputs]
    domain = outside(frame.iloc[rows].reset_index(drop=True), deployed.reference, names)
    allowed = pipeline.compare.allow_unseen_inputs
    if domain is not None and domain.refused and not allowed:
        refused = comparison.refused(domain.reason())
        return BaselineScores(None, rows, replace(refused, compared_rows=0))
    if domain is not None:
        comparison = replace(comparison, notes=(*comparison.notes, domain.note()))
    return BaselineScores(predictions, rows, comparison)


def _whole(frame: Any, inputs: Sequence[InputColumn]) -> set[str]:
    """The signature's integer columns the holdout holds as floats that are all whole."""
    return {c.name for c in inputs if c.name in frame and whole_numbers(frame[c.name], c.type)}


def _predicts_otherwise(pipeline: Pipeline, deployed: DeployedModel) -> str | None:
    """Why the deployed model predicts another thing than the candidate (None: the same, as
    far as its record and its training rows tell): scored on the candidate's target, it
    would be judged on what it was never trained to predict."""
    target = pipeline.data.target
    was = deployed.training.target if deployed.training is not None else None
    if was is not None and was != target:
        return (
            f"the deployed model predicts {was!r} and the candidate {target!r}: the target "
            "changed, so the two models cannot be scored on the same thing"
        )
    if deployed.task is not None and deployed.task != pipeline.task:
        return (
            f"the deployed model was judged as a {deployed.task} model and the candidate is a "
            f"{pipeline.task} one: the task changed, so the two models cannot be scored alike"
        )
    return None


def _fingerprint(frame: Any, columns: Sequence[str]) -> Any:
    from mlgitops.features import row_fingerprints

    return row_fingerprints(frame, list(columns))


def fallback_inputs(names: Any, frame: Any) -> tuple[InputColumn, ...] | None:
    """A scikit-learn model without a signature still knows its feature names (``names``:
    its ``feature_names_in_``; None: it knows none), with the holdout's types."""
    if names is None:
        return None
    known = [str(n) for n in names]
    present = column_types(frame, [n for n in known if n in frame.columns])
    types = {c.name: c.type for c in present}
    return tuple(InputColumn(n, types.get(n, "unknown")) for n in known)


def predict(model: Any, inputs: Any, holdout: Holdout) -> Predictions:
    """A model's predictions on ``inputs`` (one row per holdout row), in the holdout's classes.

    A model that fails on its inputs is not evaluable here: its own code decides
    what it accepts, so any error it raises is reported, not treated as a bug.
    """
    from mlgitops.evaluation.handoff import baseline_predictions

    try:
        return baseline_predictions(model, inputs, holdout)
    except Exception as exc:  # the model's own code: anything it raises is its refusal
        raise _could_not_score(exc) from exc


def recorded_predictions(model: Recorded, rows: Array, holdout: Holdout) -> Predictions:
    """The recorded outputs of a deployed model on ``rows``, in the holdout's classes: not
    evaluable where :func:`predict` would say so of the model itself (a class the holdout
    lacks: the classes changed)."""
    from mlgitops.evaluation.handoff import predictions_of

    if model.outputs is None:
        raise _could_not_score(model.refused or "it gave no outputs")
    given = model.outputs
    proba = None if given.proba is None else given.proba[rows]
    try:
        return predictions_of(
            given.values[rows], proba, given.classes, holdout.take(rows), "the baseline model"
        )
    except DataError as exc:
        raise _could_not_score(exc) from exc


def _could_not_score(why: Exception | str) -> NotEvaluable:
    """The comparison's reason where the deployed model gave no outputs on the holdout that
    can be scored: the first line of ``why`` (an exception, or what it printed)."""
    text = str(why).strip()
    first = (text.splitlines() or [type(why).__name__])[0]
    return NotEvaluable(f"the deployed model could not score the holdout: {first[:300]}")


def assess(
    pipeline: Pipeline,
    holdout: Holdout,
    candidate: Predictions,
    baseline: BaselineScores | None,
    settings: BootstrapSettings,
    slice_values: Sequence[Any] | None = None,
) -> tuple[list[MetricResult], SliceReport | None]:
    """Every metric (candidate on the whole holdout; deltas on the compared rows) and slices."""
    base = None if baseline is None else baseline.predictions
    rows = None if baseline is None else baseline.rows
    metrics = score_metrics(pipeline.metrics, holdout, candidate, base, settings, rows)
    spec = pipeline.compare.slices
    if spec is None or slice_values is None:
        return metrics, None
    names = list(dict.fromkeys([*pipeline.metrics, *spec.max_gap]))
    # Slices (and their max_gap gates) are the candidate's on its whole holdout; the
    # baseline's slice values are shown only when it was scored on every row.
    whole = base is not None and rows is not None and len(rows) == holdout.rows
    report = slice_metrics(
        spec.column,
        slice_values,
        names,
        holdout,
        candidate,
        base if whole else None,
        spec.min_rows,
    )
    return metrics, report
