"""Which holdout rows both models are scored on, and whether the relative gates can apply.

A model scored on rows it was trained on looks better than it is. The deployed
model's run records a fingerprint of every training row
(``mlgitops/training_rows.parquet``, over the ``fingerprint_columns`` its
``train.json`` names); every holdout row whose fingerprint is among them is
excluded from the *paired* comparison. A row whose target a pull request
changed (a corrected label) has another fingerprint, and may land in the
holdout although the deployed model was trained on its inputs: the run also
records a fingerprint of each training row's inputs alone (its features), and
a holdout row whose inputs the deployed model was trained on and the
candidate was not is excluded too. (Inputs both models were trained on, as in
data whose feature vectors repeat with other targets, keep the row: neither
model has the advantage.) Relative metrics (baseline, delta, interval) use the
remaining rows; the candidate's own values and the absolute gates use its
whole holdout.

:class:`Comparison` is what the verdict says about it: rows compared and
excluded (and why), the feature diff, and the status of the relative gates:
``evaluable``, ``not_evaluable`` (with the reasons) or ``not_applicable``
(nothing is deployed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mlgitops.evaluation.inputs import FeatureDiff
from mlgitops.evaluation.metrics import Array
from mlgitops.evaluation.outcome import NOT_APPLICABLE, NOT_EVALUABLE
from mlgitops.evaluation.recognition import both_ways, has_inputs, recognised
from mlgitops.figures import counted

EVALUABLE = "evaluable"

FIRST_DEPLOYMENT = "first deployment: nothing is deployed to compare with"
NO_TRAINING_ROWS = (
    "the deployed model's run records no training rows (mlgitops/training_rows.parquet), "
    "so rows it was trained on cannot be told apart from unseen ones"
)
UNCHECKED_ROWS = (
    "the deployed model's run records no training rows: compared on every holdout row, "
    "some of which it may have been trained on (compare.require_training_rows is false)"
)
TRAINED_ON = "the deployed model was trained on them"

Fingerprint = Callable[[Any, Sequence[str]], Any]


@dataclass(frozen=True)
class TrainingRows:
    """A model's training rows: one uint64 fingerprint each over ``columns`` (its features and
    the target), and one over its features alone (``inputs`` over ``input_columns``; None: the
    run records none)."""

    fingerprints: Any
    columns: tuple[str, ...]
    inputs: Any = None
    input_columns: tuple[str, ...] = ()
    #: the target the model was trained to predict (its train.json's, which the digest of
    #: these rows covers; None: not known)
    target: str | None = None


@dataclass(frozen=True)
class Comparison:
    """The rows and inputs the relative gates stand on."""

    status: str
    holdout_rows: int
    compared_rows: int = 0
    excluded_rows: int = 0
    #: why rows were excluded (None: none were)
    excluded_reason: str | None = None
    min_rows: int = 0
    reasons: tuple[str, ...] = ()
    #: notes that do not stop the comparison (e.g. rows not checked for overlap)
    notes: tuple[str, ...] = ()
    features: FeatureDiff | None = None
    #: why the comparison is refused once both models' outputs are known to be comparable
    #: (the target changed in most rows the deployed model was trained on: decided after
    #: the check of its classes, which says more where they were renamed); None: no reason
    retargeted: str | None = None

    @property
    def evaluable(self) -> bool:
        return self.status == EVALUABLE

    def refused(self, reason: str) -> Comparison:
        """The same comparison, made not evaluable for ``reason`` (reasons keep their order)."""
        return replace(self, status=NOT_EVALUABLE, reasons=(*self.reasons, reason))


def read_training_rows(rows: Path, columns: Any, target: Any) -> TrainingRows | None:
    """A run's ``training_rows.parquet`` (``rows``), with the ``fingerprint_columns`` and
    ``target`` of its train.json: None where no fingerprint columns are named. Runs recorded
    before the ``inputs`` column give fingerprints of whole rows only. Raises ``ValueError``
    (or ``OSError``, ``KeyError``, ``TypeError``) where the file cannot be read as such."""
    import pandas as pd

    if not isinstance(columns, list) or not columns:
        return None
    frame = pd.read_parquet(rows)
    full = tuple(str(c) for c in columns)
    whole = np.asarray(frame["fingerprint"].to_numpy(), dtype=np.uint64)
    named = target if isinstance(target, str) else None
    if "inputs" not in frame.columns:
        return TrainingRows(whole, full, target=named)
    inputs = tuple(c for c in full if c != target)
    given = np.asarray(frame["inputs"].to_numpy(), dtype=np.uint64)
    return TrainingRows(whole, full, given, inputs, named)


def over_columns_of(
    candidate: TrainingRows,
    deployed: TrainingRows,
    holdout: Any,
    training_frame: Callable[[], Any],
    fingerprint: Fingerprint,
) -> TrainingRows:
    """The candidate's training rows fingerprinted over the deployed model's columns, where
    its own are other ones (a column added or renamed since): its rows as recorded cannot
    be matched with the deployed model's, and the rows it holds with another target would
    go unseen (:mod:`mlgitops.evaluation.recognition`). ``training_frame`` reads its
    training rows again, asked only then (None: they cannot be read as they were trained
    on). Unchanged where the columns are the same, or where the data lacks one of the
    deployed model's columns (the comparison is refused for it: :func:`unseen_rows`)."""
    if sorted(candidate.columns) == sorted(deployed.columns):
        return candidate
    if any(c not in holdout.columns for c in deployed.columns):
        return candidate
    rows = training_frame()
    if rows is None:
        return candidate
    inputs = None
    if deployed.inputs is not None and deployed.input_columns:
        inputs = fingerprint(rows, list(deployed.input_columns))
    whole = fingerprint(rows, list(deployed.columns))
    return TrainingRows(whole, deployed.columns, inputs, deployed.input_columns, candidate.target)


def not_applicable(holdout_rows: int, reason: str = FIRST_DEPLOYMENT) -> Comparison:
    return Comparison(NOT_APPLICABLE, holdout_rows, reasons=(reason,))


def unseen_rows(
    frame: Any,
    training: TrainingRows,
    fingerprint: Fingerprint,
    candidate: TrainingRows | None = None,
    narrow: Sequence[str] = (),
) -> tuple[Array, int, int]:
    """Indices of the holdout rows the deployed model was not trained on; how many it was
    trained on as they are, and how many more only by their inputs (with another target),
    inputs that ``candidate`` (the candidate's training rows) does not hold. ``narrow``: the
    columns the deployed model read as 32-bit floats, matched at that precision.

    ``fingerprint`` is :func:`mlgitops.features.row_fingerprints` (a parameter so the
    rule can be checked on its own). Raises ``KeyError`` naming the first
    fingerprint column the holdout lacks.
    """
    missing = [c for c in training.columns if c not in frame.columns]
    if missing:
        raise KeyError(missing[0])
    theirs = frame.astype(dict.fromkeys(narrow, "float32")) if narrow else frame
    seen = recorded_in(theirs, training.columns, training.fingerprints, fingerprint)
    by_inputs = np.zeros(len(seen), dtype=bool)
    if has_inputs(training, frame) and candidate is not None and has_inputs(candidate, frame):
        deployed = recorded_in(theirs, training.input_columns, training.inputs, fingerprint)
        by_inputs = deployed & ~seen & ~_seen_inputs(frame, candidate, fingerprint)
    kept: Array = np.flatnonzero(~(seen | by_inputs))
    return kept, int(seen.sum()), int(by_inputs.sum())


def recorded_in(frame: Any, columns: Sequence[str], recorded: Any, fingerprint: Fingerprint) -> Any:
    """Which rows of ``frame`` a deployed model's run recorded (``recorded``, fingerprints over
    ``columns``): by their fingerprints, or as runs wrote float32 fractions before they were
    read as decimals (:func:`mlgitops.features.as_written`)."""
    known = np.asarray(recorded, dtype=np.uint64)
    return np.logical_or.reduce([np.isin(f, known) for f in both_ways(frame, columns, fingerprint)])


def _seen_inputs(frame: Any, rows: TrainingRows, fingerprint: Fingerprint) -> Any:
    ours = np.asarray(fingerprint(frame, list(rows.input_columns)), dtype=np.uint64)
    return np.isin(ours, np.asarray(rows.inputs, dtype=np.uint64))


def paired_rows(
    frame: Any,
    training: TrainingRows | None,
    *,
    required: bool,
    min_rows: int,
    features: FeatureDiff | None,
    fingerprint: Fingerprint,
    candidate: TrainingRows | None = None,
) -> tuple[Array, Comparison]:
    """The rows both models are scored on, and the comparison they make (``training``: the
    deployed model's training rows; ``candidate``: the candidate's)."""
    rows = len(frame)
    everything: Array = np.arange(rows)
    base = Comparison(EVALUABLE, rows, rows, 0, None, min_rows, features=features)
    if training is None:
        if required:
            return everything, replace(base, compared_rows=0).refused(NO_TRAINING_ROWS)
        return everything, _enough(replace(base, notes=(UNCHECKED_ROWS,)))
    widened, narrowed = _float_widths(features, training.columns)
    if narrowed:
        return everything, replace(base, compared_rows=0).refused(_narrowed(narrowed))
    fingerprint = _once(fingerprint)  # the holdout's, for the exclusions and the recognition
    try:
        kept, excluded, relabelled = unseen_rows(
            frame, training, fingerprint, candidate, narrow=widened
        )
    except KeyError as exc:
        reason = (
            f"rows the deployed model was trained on cannot be recognised: the candidate's "
            f"holdout lacks column {exc.args[0]!r}, one of the columns its training rows "
            "were fingerprinted over"
        )
        return everything, replace(base, compared_rows=0).refused(reason)
    known = recognised(frame, training, candidate, fingerprint, widened)
    if known is not None and known.retargeted:
        base = replace(base, retargeted=known.retargeted_reason)
    how = f"matched by fingerprints over {len(training.columns)} columns"
    if relabelled:
        how += (
            f"; {relabelled} of them by their {len(training.input_columns)} feature columns "
            "alone: it was trained on these inputs with another target, which the candidate "
            "was not"
        )
    found = replace(
        base,
        compared_rows=len(kept),
        excluded_rows=excluded + relabelled,
        excluded_reason=f"{TRAINED_ON} ({how})" if excluded + relabelled else None,
        notes=copies_note(frame.iloc[kept], training.columns, fingerprint),
    )
    if known is not None and known.unrecognised:
        found = replace(found, notes=(known.unrecognised_note, *found.notes))
    return kept, _enough(found)


def _once(fingerprint: Fingerprint) -> Fingerprint:
    """``fingerprint``, computed once per frame and columns: the same holdout rows are
    fingerprinted to leave out the deployed model's training rows and to recognise them."""
    done: dict[tuple[int, tuple[str, ...]], tuple[Any, Any]] = {}

    def fingerprinted(frame: Any, columns: Sequence[str]) -> Any:
        key = (id(frame), tuple(columns))
        if key not in done:  # the frame is held with its result: its id stays its own
            done[key] = (frame, fingerprint(frame, columns))
        return done[key][1]

    return fingerprinted


def copies_note(frame: Any, columns: Sequence[str], fingerprint: Fingerprint) -> tuple[str, ...]:
    """A note where compared rows are exact copies of one another (every feature and the
    target): the paired bootstrap resamples rows, so each copy counts as another
    observation, and copying the data narrows every interval by the square root of the
    number of copies."""
    if not len(frame):
        return ()
    distinct = len(np.unique(np.asarray(fingerprint(frame, list(columns)), dtype=np.uint64)))
    copies = len(frame) - distinct
    if not copies:
        return ()
    return (
        f"{copies} of the {len(frame)} compared rows are exact copies of other compared rows "
        f"(every feature and the target): the bootstrap counts each as another observation, "
        f"so the intervals are narrower than {distinct} distinct rows support",
    )


def _enough(comparison: Comparison) -> Comparison:
    if comparison.compared_rows >= comparison.min_rows:
        return comparison
    return comparison.refused(
        f"only {counted(comparison.compared_rows, 'holdout row')} "
        f"{'is' if comparison.compared_rows == 1 else 'are'} left to compare the models on, "
        f"fewer than compare.min_rows ({comparison.min_rows})"
    )


def _float_widths(
    features: FeatureDiff | None, columns: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The fingerprint columns the candidate reads as 64-bit floats where the deployed
    model's signature says 32-bit ones, and the reverse. Its training rows were fingerprinted
    over the values it read: 32-bit floats are matched as such, and a 64-bit value no
    longer held cannot be."""
    changes = features.type_changed if features is not None else ()
    kept = [(t.name, (t.baseline, t.candidate)) for t in changes if t.name in columns]
    widened = [name for name, types in kept if types == ("float", "double")]
    narrowed = [name for name, types in kept if types == ("double", "float")]
    return widened, narrowed


def _narrowed(names: Sequence[str]) -> str:
    named = ", ".join(repr(name) for name in names)
    return (
        f"rows the deployed model was trained on cannot be recognised: the candidate reads "
        f"{named} as 32-bit floats, where its training rows were fingerprinted over their "
        "64-bit values (declare float64 to compare)"
    )
