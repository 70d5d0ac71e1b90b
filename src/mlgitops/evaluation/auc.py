"""ROC AUC from ranks, for many resamples at once.

Sorting the scores once gives every row its rank group (rows with equal scores
share one). For a resample with row counts ``w``, the AUC is the share of
(positive, negative) pairs ordered correctly, ties counting one half::

    AUC = sum_g pos_g * (negatives below g + neg_g / 2) / (P * N)

where ``pos_g``/``neg_g`` are the drawn positives/negatives in group ``g``: one
``reduceat`` and one ``cumsum`` over the sorted groups per resample, no sorting.
Multiclass is one-vs-rest, macro-averaged over the classes present.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from mlgitops.evaluation.metrics import Array, Floats


class _Ranking:
    """One score column against one binary label, sorted once."""

    def __init__(self, positive: Array, score: Floats) -> None:
        order = np.argsort(score)
        ordered = score[order]
        new_group = np.concatenate([[True], ordered[1:] != ordered[:-1]])
        group = np.cumsum(new_group) - 1
        self.groups = int(group[-1]) + 1 if len(group) else 0
        self.row_group = np.empty(len(score), dtype=np.int64)
        self.row_group[order] = group
        self._order, self._group, self._is_pos = order, group, positive[order]
        pos_group = group[self._is_pos]
        self._unit_pos = np.bincount(pos_group, minlength=self.groups).astype(np.float64)
        self._unit_neg = np.bincount(group, minlength=self.groups) - self._unit_pos

    @cached_property
    def _sums(self) -> tuple[_GroupSum, _GroupSum]:
        # built on first use: the linearised bootstrap of a large holdout never needs them
        order, group, is_pos = self._order, self._group, self._is_pos
        return (
            _GroupSum(order[is_pos], group[is_pos], self.groups),
            _GroupSum(order[~is_pos], group[~is_pos], self.groups),
        )

    def counts(self, counts: Floats) -> tuple[Floats, Floats]:
        pos, neg = self._sums
        return pos.sum(counts), neg.sum(counts)

    def point(self) -> float:
        """The AUC of the holdout itself (every row drawn once)."""
        return float(self._area(self._unit_pos[None, :], self._unit_neg[None, :])[0])

    def auc(self, counts: Floats) -> Floats:
        return self._area(*self.counts(counts))

    @staticmethod
    def _area(pos: Floats, neg: Floats) -> Floats:
        below = np.cumsum(neg, axis=1) - neg
        concordant = (pos * (below + 0.5 * neg)).sum(axis=1)
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            result: Floats = np.where(pairs > 0, concordant / pairs, np.nan)
        return result

    def influence(self, positive: Array) -> Floats:
        """Per-row first-order term of the AUC (DeLong's placement values)."""
        pos, neg = self._unit_pos, self._unit_neg
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return np.zeros(len(positive))
        area = float((pos * (np.cumsum(neg) - neg + 0.5 * neg)).sum() / (n_pos * n_neg))
        neg_below = (np.cumsum(neg) - neg + 0.5 * neg) / n_neg
        pos_above = (n_pos - np.cumsum(pos) + 0.5 * pos) / n_pos
        g = self.row_group
        rows = len(positive)
        result: Floats = np.where(
            positive,
            rows / n_pos * (neg_below[g] - area),
            rows / n_neg * (pos_above[g] - area),
        )
        return result


class _GroupSum:
    """Counts of chosen rows summed per rank group: ``(resamples, groups)``."""

    def __init__(self, rows: Array, group: Array, groups: int) -> None:
        self.rows, self.groups = rows, groups
        starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
        self.starts = starts if len(rows) else np.zeros(0, dtype=np.int64)
        self.present = group[self.starts] if len(rows) else np.zeros(0, dtype=np.int64)

    def sum(self, counts: Floats) -> Floats:
        out = np.zeros((len(counts), self.groups))
        if len(self.rows):
            out[:, self.present] = np.add.reduceat(counts[:, self.rows], self.starts, axis=1)
        return out


class AucKernel:
    """roc_auc of a candidate and a baseline on the same resamples (rows are cells)."""

    def __init__(self, y: Array, proba_c: Floats, proba_b: Floats, k: int) -> None:
        self.sizes = np.ones(len(y), dtype=np.int64)
        classes = [1] if k == 2 else list(range(k))
        self._labels = [y == c for c in classes]
        self._cand = [
            _Ranking(lab, proba_c[:, c]) for lab, c in zip(self._labels, classes, strict=True)
        ]
        self._base = [
            _Ranking(lab, proba_b[:, c]) for lab, c in zip(self._labels, classes, strict=True)
        ]

    def values(self, counts: Floats) -> tuple[Floats, Floats]:
        return _macro([r.auc(counts) for r in self._cand]), _macro(
            [r.auc(counts) for r in self._base]
        )

    def point(self) -> tuple[float, float]:
        cand = _macro([np.array([r.point()]) for r in self._cand])
        base = _macro([np.array([r.point()]) for r in self._base])
        return float(cand[0]), float(base[0])

    def ratio(self) -> tuple[Floats, Floats] | None:
        return None

    def influence(self) -> Floats | None:
        present = [lab.any() and not lab.all() for lab in self._labels]
        parts = [
            c.influence(lab) - b.influence(lab)
            for c, b, lab, ok in zip(self._cand, self._base, self._labels, present, strict=True)
            if ok
        ]
        return np.mean(parts, axis=0) if parts else np.zeros(len(self.sizes))


def _macro(per_class: list[Floats]) -> Floats:
    if len(per_class) == 1:
        return per_class[0]
    stacked = np.stack(per_class)
    present = ~np.isnan(stacked)
    total = np.where(present, stacked, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Floats = np.where(present.any(axis=0), total / present.sum(axis=0), np.nan)
    return result
