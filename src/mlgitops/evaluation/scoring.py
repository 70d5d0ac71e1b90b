"""Every metric of a pipeline for the candidate and the baseline, with the delta's interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from mlgitops.evaluation import bootstrap, discordant
from mlgitops.evaluation.metrics import (
    Array,
    Holdout,
    Predictions,
    available,
    fewest_of_a_class,
    fewest_predicted,
    kernel,
    metric,
    score,
)

NO_PROBABILITIES = "it gives no class probabilities"


@dataclass(frozen=True)
class BootstrapSettings:
    """``compare.resamples``, ``compare.confidence`` and ``compare.seed`` of the spec."""

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    exact_limit: int = bootstrap.EXACT_LIMIT


@dataclass(frozen=True)
class MetricResult:
    """One metric: both values, the delta (candidate minus baseline) and its interval.

    ``candidate`` is scored on the whole holdout (the absolute gates use it);
    ``paired_candidate``, ``baseline``, ``delta`` and ``ci`` on the rows both
    models are compared on, which exclude the deployed model's training rows.
    """

    name: str
    higher_is_better: bool
    candidate: float | None
    baseline: float | None = None
    delta: float | None = None
    ci: tuple[float, float] | None = None
    significant: bool | None = None
    #: ``exact`` or ``linearised`` (see :mod:`.bootstrap`); None without a baseline.
    method: str | None = None
    #: the candidate on the compared rows (None without a baseline value)
    paired_candidate: float | None = None
    #: why there is no baseline value although the deployed model was scored
    unavailable: str | None = None
    #: for a metric taken over the classes, the class the holdout holds the fewest rows of
    #: and how many (:func:`~mlgitops.evaluation.metrics.fewest_of_a_class`); on the
    #: compared rows, ``paired_fewest``
    fewest: tuple[Any, int] | None = None
    paired_fewest: tuple[Any, int] | None = None
    #: for precision, the class the candidate predicts on the fewest rows of those the
    #: metric is taken over (the class, who, and how many;
    #: :func:`~mlgitops.evaluation.metrics.fewest_predicted`); on the compared rows,
    #: ``paired_predicted``: whichever model predicts a class on fewer; last, which rows
    #: the ratio is over (``positive``, or ``each class`` for a macro average)
    predicted: tuple[Any, str, int, str] | None = None
    paired_predicted: tuple[Any, str, int, str] | None = None

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
    rows: Array | None = None,
) -> list[MetricResult]:
    """Score every metric; with a baseline, bootstrap each delta (paired, seeded).

    ``rows``: the holdout rows (indices) both models are compared on, to which
    ``baseline`` is aligned; None: every row.
    """
    results = []
    paired = holdout if rows is None else holdout.take(rows)
    ours = candidate if rows is None else candidate.take(rows)
    for name in names:
        value, fewest = score(name, holdout, candidate), fewest_of_a_class(name, holdout)
        predicted = _fewest_predicted(name, holdout, candidate=candidate)
        alone = MetricResult(
            name, metric(name).higher_is_better, value, fewest=fewest, predicted=predicted
        )
        if baseline is None:
            results.append(alone)
        elif not available(name, baseline):
            results.append(replace(alone, unavailable=NO_PROBABILITIES))
        elif paired.rows == 0:
            results.append(replace(alone, unavailable="no holdout rows are left to compare on"))
        else:
            found = _paired(name, paired, ours, baseline, settings)
            least = fewest_of_a_class(name, paired)
            few = _fewest_predicted(name, paired, candidate=ours, **{"deployed model": baseline})
            results.append(
                replace(
                    found,
                    candidate=value,
                    fewest=fewest,
                    paired_fewest=least,
                    predicted=predicted,
                    paired_predicted=few,
                )
            )
    return results


def _fewest_predicted(
    name: str, holdout: Holdout, **models: Predictions
) -> tuple[Any, str, int, str] | None:
    """Of ``models``, the one that predicts a class on the fewest rows, where ``name`` is a
    ratio over those rows (precision): the class, who, how many, and over which rows."""
    found = [
        (fewest[1], who, fewest[0])
        for who, p in models.items()
        if (fewest := fewest_predicted(name, holdout, p)) is not None
    ]
    if not found:
        return None
    count, who, value = min(found, key=lambda each: each[:2])
    return value, who, count, "positive" if holdout.k == 2 else "each class"


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
    if not math.isfinite(cand) or not math.isfinite(base):
        # undefined (NaN), or a model's predictions past any number (inf): no delta to judge
        why = None if not math.isfinite(cand) else "it is undefined on the compared rows"
        return MetricResult(
            name,
            higher,
            _number(cand),
            _number(base),
            paired_candidate=_number(cand),
            unavailable=why,
        )
    replicates = bootstrap.paired_bootstrap(
        paired,
        delta=cand - base,
        resamples=settings.resamples,
        rng=bootstrap.metric_rng(settings.seed, name),
        exact_limit=settings.exact_limit,
    )
    ci = replicates.interval(settings.confidence)
    alpha = 1.0 - settings.confidence
    if ci is not None and not discordant.could_reject(name, holdout, candidate, baseline, alpha):
        ci = (min(ci[0], 0.0), max(ci[1], 0.0))
    significant = None if ci is None else bool(ci[0] > 0 or ci[1] < 0)
    return MetricResult(
        name, higher, cand, base, cand - base, ci, significant, replicates.method, cand
    )


def _number(value: float) -> float | None:
    """A metric's value; None where it is undefined (NaN, or infinite: no JSON number)."""
    return value if math.isfinite(value) else None
