"""Metrics as functions of resample counts, vectorised over many resamples.

A bootstrap resample draws ``n`` holdout rows with replacement; all that matters
for a metric is how often each row was drawn. Rows that no metric can tell apart
(for the confusion metrics: the same true class, candidate class and baseline
class) are pooled into one *cell*, and the resample is a vector of counts per
cell, multinomially distributed: drawing cell counts is exactly the same
distribution as drawing row indices, only cheaper. ``counts`` below is always a
``(resamples, cells)`` float array; each kernel returns the candidate's and the
baseline's metric for every resample, computed on the same counts (paired).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from mlgitops.evaluation.metrics import Array, Floats


class Kernel(Protocol):
    """A metric of a candidate and a baseline as a function of cell counts."""

    #: rows per cell; a point score is ``values(sizes[None, :])``.
    sizes: Array

    def values(self, counts: Floats) -> tuple[Floats, Floats]:
        """``(candidate, baseline)`` metric per resample, each ``(resamples,)``."""
        ...

    def point(self) -> tuple[float, float]:
        """``(candidate, baseline)`` on the holdout itself (every row drawn once)."""
        ...

    def influence(self) -> Floats | None:
        """Per-row influence of the candidate-minus-baseline delta (None: never needed).

        The first-order change of the delta when row ``i`` gets weight ``1 + e``
        is ``e * influence[i] / n``; the large-holdout bootstrap resamples it.
        """
        ...

    def ratio(self) -> tuple[Floats, Floats] | None:
        """Where the delta is a ratio of two means (r2's), their per-row terms: the
        large-holdout bootstrap draws the two means together (None: not a ratio)."""
        ...


class ConfusionKernel:
    """accuracy, precision, recall, f1: exact on cells of (true, candidate, baseline) class."""

    def __init__(self, name: str, y: Array, pred_c: Array, pred_b: Array, k: int) -> None:
        self.name, self.k = name, k
        code = (y.astype(np.int64) * k + pred_c) * k + pred_b
        counts = np.bincount(code, minlength=k**3)
        cells = np.flatnonzero(counts)
        self.sizes = counts[cells]
        true, rest = np.divmod(cells, k * k)
        cand, base = np.divmod(rest, k)
        self._cand = _one_hot(true * k + cand, k * k)
        self._base = _one_hot(true * k + base, k * k)

    def values(self, counts: Floats) -> tuple[Floats, Floats]:
        shape = (-1, self.k, self.k)
        cand = from_confusion(self.name, (counts @ self._cand).reshape(shape))
        base = from_confusion(self.name, (counts @ self._base).reshape(shape))
        return cand, base

    def point(self) -> tuple[float, float]:
        return _point(self)

    def influence(self) -> Floats | None:
        return None

    def ratio(self) -> tuple[Floats, Floats] | None:
        return None


def from_confusion(name: str, confusion: Floats) -> Floats:
    """A confusion metric from ``(resamples, true, predicted)`` confusion matrices."""
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    if name == "accuracy":
        return _ratio(tp.sum(axis=1), confusion.sum(axis=(1, 2)))
    predicted, true = confusion.sum(axis=1), confusion.sum(axis=2)
    # binary: the positive class's ratio, undefined at 0/0; multiclass: 0/0 counts as 0
    zero = np.nan if confusion.shape[1] == 2 else 0.0
    if name == "precision":
        per_class = _ratio(tp, predicted, zero=zero)
    elif name == "recall":
        per_class = _ratio(tp, true, zero=zero)
    else:
        per_class = _ratio(2 * tp, predicted + true, zero=zero)
    if confusion.shape[1] == 2:
        return per_class[:, 1]
    # the classes the rows hold: the same for both models (a class only one model predicts
    # is no class of the average; predicting it costs the recall of the row's own class)
    present = true > 0
    return _ratio((per_class * present).sum(axis=1), present.sum(axis=1))


class MeanKernel:
    """log_loss, mae, rmse, r2: a function of the means of a few per-row quantities."""

    def __init__(
        self, stats_c: Floats, stats_b: Floats, function: Callable[[Floats], Floats]
    ) -> None:
        self.sizes = np.ones(len(stats_c), dtype=np.int64)
        self._c, self._b, self._f = stats_c, stats_b, function

    def values(self, counts: Floats) -> tuple[Floats, Floats]:
        total = counts.sum(axis=1)[:, None]
        return self._f(counts @ self._c / total), self._f(counts @ self._b / total)

    def point(self) -> tuple[float, float]:
        return _point(self)

    def influence(self) -> Floats | None:
        return _linear_part(self._c, self._f) - _linear_part(self._b, self._f)

    def ratio(self) -> tuple[Floats, Floats] | None:
        """r2's delta, ``(SSE_b - SSE_c) / SST``: each row's difference of squared errors
        over its squared distance from the target's mean (both models share SST, so the
        delta's sign in any resample is the numerator's)."""
        if self._f is not _r2:
            return None
        return self._b[:, 0] - self._c[:, 0], self._c[:, 2]


def _point(kernel: ConfusionKernel | MeanKernel) -> tuple[float, float]:
    cand, base = kernel.values(kernel.sizes[None, :].astype(np.float64))
    return float(cand[0]), float(base[0])


def _linear_part(stats: Floats, function: Callable[[Floats], Floats]) -> Floats:
    """Per-row first-order term of ``function(mean of stats)`` (central differences)."""
    means = stats.mean(axis=0)
    steps = 1e-6 * np.maximum(np.abs(means), 1e-6)
    probes = np.concatenate([means + np.diag(steps), means - np.diag(steps)])
    out = function(probes)
    m = len(means)
    gradient = (out[:m] - out[m:]) / (2 * steps)
    result: Floats = np.nan_to_num((stats - means) @ gradient)
    return result


def _r2(means: Floats) -> Floats:
    error2, centred, centred2 = means[:, 0], means[:, 1], means[:, 2]
    with np.errstate(over="ignore", invalid="ignore"):  # inf in, NaN out: r2 undefined
        variance = centred2 - centred**2
        constant = variance <= 1e-12 * np.maximum(centred2, 1e-300)
        safe = np.where(constant, 1.0, variance)
        r2: Floats = np.where(constant, np.nan, 1.0 - error2 / safe)  # constant: undefined
    return r2


MEAN_FUNCTIONS: dict[str, Callable[[Floats], Floats]] = {
    "log_loss": lambda means: means[:, 0],
    "mae": lambda means: means[:, 0],
    "rmse": lambda means: np.sqrt(means[:, 0]),
    "r2": _r2,
}


def _one_hot(index: Array, width: int) -> Floats:
    out = np.zeros((len(index), width))
    out[np.arange(len(index)), index] = 1.0
    return out


def _ratio(numerator: Floats, denominator: Floats, zero: float = np.nan) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Floats = np.where(denominator > 0, numerator / denominator, zero)
    return result
