"""The metrics ``compare`` reports, and what each knows about itself.

Every metric is computed by a *kernel* (:mod:`.kernels`, :mod:`.auc`): a function
of how often each holdout row is drawn, evaluated for many bootstrap resamples at
once. A point score is the same kernel with every row drawn once, so the reported
values and the bootstrap can never disagree about what a metric means.

Definitions (they match scikit-learn, which the tests check):

- ``accuracy``: share of rows whose predicted class is the true class.
- ``precision``, ``recall``, ``f1``: binary: of the positive class (the second of the
  sorted classes, scikit-learn's ``pos_label``), undefined where its ratio is 0/0 (no
  positive row for recall, no positive prediction for precision:
  ``zero_division=np.nan``); multiclass: macro average over the classes the true labels
  of the rows scored hold (``average="macro", labels=<those classes>``: the same classes
  for both models, where scikit-learn's default adds the classes that model predicts),
  a class's 0/0 counted as 0 (``zero_division=0``).
- ``roc_auc``: binary: of the positive class's probability; multiclass: one-vs-rest,
  macro average over the classes present in the rows scored (``multi_class="ovr"``).
- ``log_loss``: mean of ``-ln p(true class)``, each row's probabilities normalised to
  sum 1 and clipped to ``[eps, 1 - eps]``.
- ``rmse``, ``mae``, ``r2``: the usual regression metrics; ``r2`` is undefined on a
  constant target (scikit-learn's ``force_finite=False`` gives NaN or -inf there), and
  where the target's variance is too small or too large for a float to hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlgitops.errors import BadInput
from mlgitops.spec.model import LOWER_IS_BETTER, TASK_METRICS

Array = npt.NDArray[Any]
Floats = npt.NDArray[np.float64]

PROBA_METRICS = frozenset({"roc_auc", "log_loss"})
#: The metrics taken over the classes: each rests on the rows of every class it compares,
#: so ``compare.min_rows`` counts the rows of each class for them (:func:`fewest_of_a_class`).
CLASS_METRICS = frozenset({"roc_auc", "precision", "recall", "f1"})


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    needs_proba: bool


METRICS: dict[str, Metric] = {
    name: Metric(name, name not in LOWER_IS_BETTER, name in PROBA_METRICS)
    for names in TASK_METRICS.values()
    for name in names
}


@dataclass(frozen=True)
class Holdout:
    """The rows both models are scored on: the true target.

    For classification ``y`` holds class codes ``0..k-1`` into ``classes``;
    for regression it holds the float target and ``classes`` is empty.
    """

    task: str
    y: Array
    classes: tuple[Any, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.y)

    @property
    def k(self) -> int:
        return len(self.classes)

    def take(self, rows: Array) -> Holdout:
        return Holdout(self.task, self.y[rows], self.classes)


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on the holdout rows, in holdout order.

    ``labels``: class codes (classification) or predicted values (regression).
    ``proba``: ``(rows, k)`` class probabilities, or None when the model gives none.
    """

    labels: Array
    proba: Floats | None = None

    def take(self, rows: Array) -> Predictions:
        return Predictions(self.labels[rows], None if self.proba is None else self.proba[rows])


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise BadInput(f"unknown metric {name!r} (known: {', '.join(METRICS)})") from None


def available(name: str, predictions: Predictions) -> bool:
    """Whether ``predictions`` carry what the metric needs (probabilities for some)."""
    return not metric(name).needs_proba or predictions.proba is not None


def kernel(name: str, holdout: Holdout, candidate: Predictions, baseline: Predictions) -> Any:
    """The paired kernel of one metric (see :class:`mlgitops.evaluation.kernels.Kernel`)."""
    from mlgitops.evaluation import auc, kernels

    if name in ("accuracy", "precision", "recall", "f1"):
        k = holdout.k
        return kernels.ConfusionKernel(name, holdout.y, candidate.labels, baseline.labels, k)
    if name == "roc_auc":
        return auc.AucKernel(holdout.y, _proba(candidate), _proba(baseline), holdout.k)
    stats_c, stats_b = _row_stats(name, holdout, candidate), _row_stats(name, holdout, baseline)
    return kernels.MeanKernel(stats_c, stats_b, kernels.MEAN_FUNCTIONS[name])


def score(name: str, holdout: Holdout, predictions: Predictions) -> float | None:
    """One model's value of one metric on the holdout (None when it is undefined there: NaN,
    or past any number, as an rmse of predictions near the largest float is)."""
    if holdout.rows == 0 or not available(name, predictions):
        return None
    value = kernel(name, holdout, predictions, predictions).point()[0]
    return float(value) if np.isfinite(value) else None


def fewest_of_a_class(name: str, holdout: Holdout) -> tuple[Any, int] | None:
    """For a metric taken over the classes, the class the holdout holds the fewest rows of,
    and how many: of a binary task's two classes, of a multiclass task's classes the holdout
    holds (a macro average leaves out the others). None for any other metric."""
    if name not in CLASS_METRICS or holdout.task != "classification" or holdout.k < 2:
        return None
    counts = np.bincount(holdout.y.astype(np.int64), minlength=holdout.k)
    among = np.arange(holdout.k) if holdout.k == 2 else np.flatnonzero(counts)
    if not len(among):
        return None
    from mlgitops.features import native

    fewest = int(among[np.argmin(counts[among])])
    return native(holdout.classes[fewest]), int(counts[fewest])


def fewest_predicted(
    name: str, holdout: Holdout, predictions: Predictions
) -> tuple[Any, int] | None:
    """For precision, a ratio over the rows a model predicts a class (binary: the positive
    class; multiclass: each class of the macro average, those the true labels hold, that the
    model predicts at all), the class the model predicts on the fewest rows and how many: a
    precision of 1 on one such row is no evidence of anything. None for any other metric."""
    if name != "precision" or holdout.task != "classification" or holdout.k < 2:
        return None
    from mlgitops.features import native

    counts = np.bincount(predictions.labels.astype(np.int64), minlength=holdout.k)
    if holdout.k == 2:
        among = np.array([1])
    else:
        # a class the model never predicts is a precision of 0 in the average (scikit-learn's
        # zero_division=0): no noise of few rows, and judged as such
        present = np.bincount(holdout.y.astype(np.int64), minlength=holdout.k) > 0
        among = np.flatnonzero(present & (counts[: holdout.k] > 0))
        if not len(among):
            return None
    fewest = int(among[np.argmin(counts[among])])
    return native(holdout.classes[fewest]), int(counts[fewest])


def _proba(predictions: Predictions) -> Floats:
    if predictions.proba is None:
        raise BadInput("class probabilities are needed for this metric")
    return predictions.proba


def _row_stats(name: str, holdout: Holdout, predictions: Predictions) -> Floats:
    """Per-row quantities whose means determine a mean-type metric."""
    if name == "log_loss":
        proba = _proba(predictions)
        eps = float(np.finfo(np.float64).eps)
        p_true = proba[np.arange(holdout.rows), holdout.y] / proba.sum(axis=1)
        losses: Floats = -np.log(np.clip(p_true, eps, 1 - eps))[:, None]
        return losses
    y = holdout.y.astype(np.float64)
    # values near the largest float overflow to inf: the metric is then undefined (``score``)
    with np.errstate(over="ignore", invalid="ignore"):
        error = y - predictions.labels.astype(np.float64)
        if name == "mae":
            return np.abs(error)[:, None]
        if name == "rmse":
            return (error**2)[:, None]
        centred = y - y.mean()  # centring keeps the variance exact for targets with a large mean
        return np.column_stack([error**2, centred, centred**2])
