"""Metrics per slice of the holdout (``compare.slices.column``) and the gaps between slices.

A slice is every holdout row with one value of the column (missing values form
the slice ``null``). Slices with fewer than ``min_rows`` rows are reported but
not gated: their metrics are too noisy to fail a pull request on; nor, for a
metric taken over the classes, are those with fewer than ``min_rows`` rows of a
class. The gap of a metric is its largest minus its smallest candidate value
over the slices gated for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlgitops.evaluation.metrics import (
    Holdout,
    Predictions,
    fewest_of_a_class,
    score,
)

NULL_SLICE = "null"


@dataclass(frozen=True)
class Slice:
    value: str
    rows: int
    gated: bool
    #: metric -> candidate value (None where undefined in this slice)
    candidate: dict[str, float | None]
    #: metric -> baseline value; empty without a baseline
    baseline: dict[str, float | None]
    #: the metrics taken over the classes whose rows of a class here are fewer than
    #: ``min_rows``: shown, not gated (:func:`~mlgitops.evaluation.metrics.fewest_of_a_class`)
    short: frozenset[str] = frozenset()

    def gates(self, name: str) -> bool:
        """Whether this slice's value of ``name`` takes part in its gap."""
        return self.gated and name not in self.short


@dataclass(frozen=True)
class SliceReport:
    column: str
    min_rows: int
    slices: tuple[Slice, ...]
    #: metric -> largest gap of the candidate between gated slices (None: < 2 of them)
    gaps: dict[str, float | None]
    #: the same for the baseline (None without a baseline)
    baseline_gaps: dict[str, float | None] | None

    def extremes(self, name: str) -> tuple[Slice, Slice] | None:
        """The gated slices with the lowest and the highest candidate value of a metric."""
        scored = [s for s in self.slices if s.gates(name) and s.candidate.get(name) is not None]
        if len(scored) < 2:
            return None
        ordered = sorted(scored, key=lambda s: (s.candidate[name], s.value))
        return ordered[0], ordered[-1]


def slice_label(value: Any) -> str:
    """How a slice value is shown and keyed: ``null`` for missing, else its text."""
    if value is None or (isinstance(value, float) and value != value):
        return NULL_SLICE
    return str(value)


def slice_metrics(
    column: str,
    values: Sequence[Any],
    names: Sequence[str],
    holdout: Holdout,
    candidate: Predictions,
    baseline: Predictions | None,
    min_rows: int,
) -> SliceReport:
    """Score every metric on every slice; gaps over the slices with ``min_rows`` rows or more."""
    labels = np.array([slice_label(v) for v in values], dtype=object)
    slices = []
    for label in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == label)
        part = holdout.take(rows)
        few = [(n, fewest_of_a_class(n, part)) for n in names]
        slices.append(
            Slice(
                value=label,
                rows=len(rows),
                gated=len(rows) >= min_rows,
                candidate={n: score(n, part, candidate.take(rows)) for n in names},
                baseline={}
                if baseline is None
                else {n: score(n, part, baseline.take(rows)) for n in names},
                short=frozenset(n for n, f in few if f is not None and f[1] < min_rows),
            )
        )
    found = tuple(slices)
    base_gaps = None if baseline is None else _gaps(found, names, lambda s: s.baseline)
    return SliceReport(
        column, min_rows, found, _gaps(found, names, lambda s: s.candidate), base_gaps
    )


def _gaps(slices: tuple[Slice, ...], names: Sequence[str], pick: Any) -> dict[str, float | None]:
    gaps: dict[str, float | None] = {}
    for name in names:
        values = [pick(s)[name] for s in slices if s.gates(name) and pick(s).get(name) is not None]
        gaps[name] = float(max(values) - min(values)) if len(values) >= 2 else None
    return gaps
