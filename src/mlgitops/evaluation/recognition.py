"""Whether the candidate's data holds the rows the deployed model was trained on as they
were (:mod:`mlgitops.evaluation.pairing` leaves those out of the comparison): where most
changed, a changed row cannot be told from a new one, and where most carry another target,
the two models would be scored on different things."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlgitops.evaluation.pairing import Fingerprint, TrainingRows


#: The share of the deployed model's training rows the candidate's data holds as they were
#: (whole, or by their features), below which most were changed or removed; and the share
#: of those held by their features alone (another target), above which the target changed.
RECOGNISED_SHARE = 0.5


@dataclass(frozen=True)
class Recognised:
    """How many of the deployed model's distinct training rows the candidate's data holds:
    as they were (``whole``), by their features alone with another target
    (``retargeted_rows``), of ``total``."""

    whole: int
    retargeted_rows: int
    total: int

    @property
    def held(self) -> int:
        return self.whole + self.retargeted_rows

    @property
    def unrecognised(self) -> bool:
        """Most rows it was trained on are not in the data as they were: changed or removed.
        A changed row cannot be told from a new one, and the comparison may lean either way:
        rows written at another precision may be rows it trained on, scored as unseen (which
        favours it); a feature recomputed, or two columns' values swapped, gives it inputs it
        never learned from (which favours the candidate). The verdict stands and says so."""
        return self.held < RECOGNISED_SHARE * self.total

    @property
    def retargeted(self) -> bool:
        """Most rows it was trained on that the data holds carry another target: the target
        changed (other units, classes renamed or swapped), and the deployed model would be
        scored on what it was never trained to predict, which favours the candidate."""
        return not self.unrecognised and self.retargeted_rows > RECOGNISED_SHARE * self.held

    @property
    def unrecognised_note(self) -> str:
        return (
            f"only {self.held} of the {self.total} rows the deployed model was trained on are "
            "in the candidate's data as they were (whole, or by their features): the others "
            "were removed or changed, and changed rows may favour either model: written at "
            "another precision, some may be rows it was trained on, scored as unseen here "
            "(which favours it); a feature recomputed, or two columns' values swapped, gives "
            "it inputs it never learned from (which favours the candidate)"
        )

    @property
    def retargeted_reason(self) -> str:
        return (
            f"the target changed in {self.retargeted_rows} of the {self.held} rows the deployed "
            "model was trained on that the candidate's data holds (matched by their features "
            "alone): scored on targets it was never trained for (other units, classes renamed "
            "or swapped), it cannot be compared with the candidate"
        )


def recognised(
    frame: Any,
    training: TrainingRows,
    candidate: TrainingRows | None,
    fingerprint: Fingerprint,
    narrow: Sequence[str] = (),
) -> Recognised | None:
    """How many of the deployed model's distinct training rows the candidate's data (its
    training rows and the holdout ``frame``) holds, whole or by their inputs alone. None
    where that cannot be told: the candidate's rows were fingerprinted over other columns,
    or are read at another float width (``narrow``)."""
    if candidate is None or narrow or sorted(candidate.columns) != sorted(training.columns):
        return None  # a fingerprint is over a set of columns, whatever their order
    whole = np.asarray(training.fingerprints, dtype=np.uint64)
    held = both_ways(frame, training.columns, fingerprint)
    found = np.isin(whole, np.concatenate([_u64(candidate.fingerprints), *held]))
    by_inputs = np.zeros(len(whole), dtype=bool)
    same = sorted(candidate.input_columns) == sorted(training.input_columns)
    if same and has_inputs(training, frame) and has_inputs(candidate, frame):
        given = both_ways(frame, training.input_columns, fingerprint)
        inputs = np.concatenate([_u64(candidate.inputs), *given])
        by_inputs = np.isin(_u64(training.inputs), inputs) & ~found
    kept = np.unique(whole[found])
    retargeted = np.setdiff1d(np.unique(whole[by_inputs]), kept)
    return Recognised(len(kept), len(retargeted), len(np.unique(whole)))


def both_ways(frame: Any, columns: Sequence[str], fingerprint: Fingerprint) -> list[Any]:
    """``frame``'s fingerprints over ``columns``, and as runs recorded float32 fractions
    before they were read as decimals (:func:`mlgitops.features.as_written`), where those
    differ: a deployed model's rows may be recorded either way."""
    from mlgitops.features import as_written

    held = [_u64(fingerprint(frame, list(columns)))]
    written = as_written(frame, columns)
    return held if written is None else [*held, _u64(written)]


def _u64(values: Any) -> Any:
    return np.asarray(values, dtype=np.uint64)


def has_inputs(rows: TrainingRows, frame: Any) -> bool:
    """Whether ``rows`` record their inputs' fingerprints, over columns ``frame`` holds."""
    return (
        rows.inputs is not None
        and bool(rows.input_columns)
        and all(c in frame.columns for c in rows.input_columns)
    )
