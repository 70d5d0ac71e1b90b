"""Every metric of a pipeline for the candidate and the baseline, with the delta's interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlgitops.evaluation import bootstrap
from mlgitops.evaluation.metrics import Holdout, Predictions, available, kernel, metric, score


@dataclass(frozen=True)
class BootstrapSettings:
    """``compare.resamples``, ``compare.confidence`` and ``compare.seed`` of the spec."""

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    exact_limit: int = bootstrap.EXACT_LIMIT


@dataclass(frozen=True)
class MetricResult:
    """One metric: both values, the delta (candidate minus baseline) and its interval."""

    name: str
    higher_is_better: bool
    candidate: float | None
    baseline: float | None = None
    delta: float | None = None
    ci: tuple[float, float] | None = None
    significant: bool | None = None
    #: ``exact`` or ``linearised`` (see :mod:`.bootstrap`); None without a baseline.
    method: str | None = None

    @property
    def worsening(self) -> float | None:
        """How much worse the candidate is than the baseline, in metric units (<= 0: not worse)."""
        if self.delta is None:
            return None
        return -self.delta if self.higher_is_better else self.delta


def score_metrics(
    names: Sequence[str],
    holdout: Holdout,
    candidate: Predictions,
    baseline: Predictions | None,
    settings: BootstrapSettings,
) -> list[MetricResult]:
    """Score every metric; with a baseline, bootstrap each delta (paired, seeded)."""
    results = []
    for name in names:
        if baseline is None or not available(name, baseline) or holdout.rows == 0:
            value = score(name, holdout, candidate)
            results.append(MetricResult(name, metric(name).higher_is_better, value))
        else:
            results.append(_paired(name, holdout, candidate, baseline, settings))
    return results


def _paired(
    name: str,
    holdout: Holdout,
    candidate: Predictions,
    baseline: Predictions,
    settings: BootstrapSettings,
) -> MetricResult:
    paired = kernel(name, holdout, candidate, baseline)
    cand, base = paired.point()
    higher = metric(name).higher_is_better
    if math.isnan(cand) or math.isnan(base):
        return MetricResult(name, higher, _number(cand), _number(base))
    replicates = bootstrap.paired_bootstrap(
        paired,
        delta=cand - base,
        resamples=settings.resamples,
        rng=bootstrap.metric_rng(settings.seed, name),
        exact_limit=settings.exact_limit,
    )
    ci = replicates.interval(settings.confidence)
    significant = None if ci is None else bool(ci[0] > 0 or ci[1] < 0)
    return MetricResult(name, higher, cand, base, cand - base, ci, significant, replicates.method)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value
