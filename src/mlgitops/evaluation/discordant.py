"""Whether an exact paired test could reject "no change" on the rows where the two models'
predictions differ.

The percentile interval of the bootstrap is centred on the observed delta. Where the
models differ on a handful of rows, all one way, it leaves 0 out although no exact test
rejects: a resample that draws none of 5 such rows has a chance of ``e ** -5`` (0.7 %),
less than the 2.5 % tail, while the exact test over those rows cannot go below
``2 ** (1 - 5)`` (6.25 %). So an interval whose delta no exact test could call a change at
``1 - confidence`` is widened to hold 0: not significant, and not shown worse at its
bound either.

- Every metric: swapping the two models' predictions on any of the ``m`` rows where they
  differ is as likely as not under "no change", and swapping all of them turns the delta
  around; the smallest two-sided p of that exact (randomisation) test is ``2 ** (1 - m)``.
- ``accuracy``: its delta is ``(b - c) / n`` for the ``b`` rows only the candidate gets
  right and the ``c`` only the baseline does, and that test is McNemar's exact test;
  binary ``recall`` the same over the positive rows (the only ones it reads).
- The rows counted are those the metric reads a difference in: for recall, a row whose
  rightness differs (a row that moves from one wrong class to another is none).
"""

from __future__ import annotations

import math

import numpy as np

from mlgitops.evaluation.metrics import Array, Holdout, Predictions, metric


def _read(name: str, holdout: Holdout, candidate: Predictions, baseline: Predictions) -> Array:
    """The rows where the two models' predictions differ as ``name`` reads them; for
    recall, only rows whose rightness differs (a positive row, in a binary task: recall
    never reads the negative ones); for accuracy, the same over every row."""
    if metric(name).needs_proba and candidate.proba is not None and baseline.proba is not None:
        differ: Array = np.any(candidate.proba != baseline.proba, axis=1)
        return differ
    if name in ("accuracy", "recall"):
        rightness: Array = (candidate.labels == holdout.y) != (baseline.labels == holdout.y)
        if name == "recall" and holdout.k == 2:
            rightness &= holdout.y == 1
        return rightness
    labels: Array = candidate.labels != baseline.labels
    return labels


def mcnemar_p(only_candidate: int, only_baseline: int) -> float:
    """Two-sided p of McNemar's exact test: the binomial test of ``b`` of ``b + c`` at 1/2."""
    total, fewer = only_candidate + only_baseline, min(only_candidate, only_baseline)
    if total == 0:
        return 1.0
    # log C(total, i) / 2 ** total for i = 0..fewer, by the ratio of successive terms
    steps = np.log((total - np.arange(fewer)) / (np.arange(fewer) + 1.0))
    logs = np.concatenate(([0.0], np.cumsum(steps))) - total * math.log(2.0)
    return min(1.0, 2.0 * float(np.exp(logs).sum()))


def could_reject(
    name: str, holdout: Holdout, candidate: Predictions, baseline: Predictions, alpha: float
) -> bool:
    """Whether an exact paired test could reject "no change" in ``name`` at ``alpha``."""
    read = _read(name, holdout, candidate, baseline)
    differ = int(np.count_nonzero(read))
    if differ == 0 or 2.0 ** (1 - differ) > alpha:
        return False
    if name != "accuracy" and not (name == "recall" and holdout.k == 2):
        return True
    # accuracy's delta is (b - c) / n, binary recall's (b - c) / positives, over the rows
    # only one model gets right: McNemar's exact test of those rows
    only_c = int(np.count_nonzero(read & (candidate.labels == holdout.y)))
    return mcnemar_p(only_c, differ - only_c) <= alpha
