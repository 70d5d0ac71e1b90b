"""Gate results: each condition of each ``gates.<metric>`` entry, and the slice-gap gates.

Conditions (spec.model.Gate):

- ``min`` / ``max``: absolute floor / ceiling of the candidate's value (whole holdout).
- ``max_drop``: largest allowed worsening against the baseline, in metric units
  (worsening = baseline minus candidate for higher-is-better metrics, candidate
  minus baseline for the others), on the rows both models are compared on.
  ``judge: ci_bound`` judges the worsening at the bound of the delta's interval
  nearest to no change (the smallest worsening the data support), so a noisy
  holdout alone cannot fail it; ``judge: point`` (default) judges the point estimate.
- ``max_relative_drop``: the same as a fraction of the baseline's absolute value.
- ``require_significant``: the delta's interval must lie entirely on the better side of 0.
- ``max_gap`` (``compare.slices.max_gap``): largest allowed gap between slices.

Every result is ``pass``, ``fail``, ``not_evaluable`` (it should apply but cannot
be computed: the deployed model cannot be scored on this holdout, lacks what the
metric needs, or too few rows are left) or ``not_applicable`` (nothing is
deployed: a first deployment). Nothing fails open: a not-evaluable gate fails
the verdict unless the spec allows it (``allow_not_evaluable``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from mlgitops.evaluation.evidence import unjudgeable
from mlgitops.evaluation.metrics import CLASS_METRICS
from mlgitops.evaluation.outcome import FAIL, NOT_EVALUABLE, PASS, GateResult
from mlgitops.evaluation.pairing import Comparison
from mlgitops.evaluation.scoring import MetricResult
from mlgitops.evaluation.slices import SliceReport
from mlgitops.figures import figure
from mlgitops.spec.model import Gate


def metric_gates(
    gates: Sequence[Gate],
    results: Mapping[str, MetricResult],
    confidence: float,
    comparison: Comparison,
    allow_all: bool = False,
    min_rows: int = 0,
) -> list[GateResult]:
    """Every condition of every gate, in spec order (min, max, drops, significance).

    ``comparison``: whether the relative conditions can apply at all (and how many rows
    the candidate's holdout has); ``allow_all``: ``compare.allow_not_evaluable``;
    ``min_rows``: ``compare.min_rows``, the fewest rows any condition is judged on (of each
    class, for the metrics taken over the classes: :mod:`.evidence`).
    """
    out = []
    for gate in gates:
        result = results[gate.metric]
        allowed = allow_all or gate.allow_not_evaluable
        conditions: list[tuple[str, float | None]] = [
            (c, float(getattr(gate, c)))
            for c in ("min", "max", "max_drop", "max_relative_drop")
            if getattr(gate, c) is not None
        ]
        if gate.require_significant:
            conditions.append(("require_significant", None))
        for condition, threshold in conditions:
            judge = gate.judge if condition in ("max_drop", "max_relative_drop") else None
            found = unjudgeable(result, condition, comparison, min_rows)
            if found is not None:
                status, reason = found
                unjudged = GateResult(
                    result.name, condition, threshold, None, status, reason, judge=judge
                )
                out.append(_allow(unjudged, allowed))
            elif threshold is None:
                out.append(_allow(_significance(result, confidence), allowed))
            else:
                out.append(_allow(_check(condition, threshold, result, confidence, judge), allowed))
    return out


def _allow(result: GateResult, allowed: bool) -> GateResult:
    if result.status != NOT_EVALUABLE or not allowed:
        return result
    return replace(result, reason=f"{result.reason} (allowed by the spec)", allowed=True)


def _check(
    condition: str, threshold: float, r: MetricResult, confidence: float, judge: str | None
) -> GateResult:
    if condition in ("min", "max"):
        return _absolute(condition, threshold, r)
    missing = _no_pair(r, condition)
    if missing is not None:
        return GateResult(r.name, condition, threshold, None, NOT_EVALUABLE, missing, judge=judge)
    assert r.worsening is not None and r.baseline is not None
    worsening, shown_as = r.worsening, ""
    if judge == "ci_bound":
        if r.ci is None:
            reason = f"{r.name}: the bootstrap could not estimate an interval of the delta, so {condition} (judged on its bound) cannot be evaluated"
            return GateResult(
                r.name, condition, threshold, None, NOT_EVALUABLE, reason, judge=judge
            )
        low, high = r.ci
        worsening = -high if r.higher_is_better else low
        shown_as = f" at the {confidence:.0%} CI bound"
    if condition == "max_drop":
        return _drop(
            r,
            condition,
            threshold,
            worsening,
            f"{figure(worsening)}{shown_as}",
            f"{threshold:g}",
            judge,
        )
    relative = _relative(worsening, r.baseline)
    shown = "infinitely" if relative == float("inf") else f"{relative:.2%}"
    return _drop(
        r,
        condition,
        threshold,
        relative,
        f"{shown} of the baseline{shown_as}",
        f"{threshold:.2%}",
        judge,
    )


def _absolute(condition: str, threshold: float, r: MetricResult) -> GateResult:
    if r.candidate is None:
        reason = f"{r.name} is undefined for the candidate on this holdout"
        return GateResult(r.name, condition, threshold, None, FAIL, reason)
    if condition == "min":
        ok = r.candidate >= threshold
        why = f">= {threshold:g}" if ok else f"is below the floor {threshold:g}"
    else:
        ok = r.candidate <= threshold
        why = f"<= {threshold:g}" if ok else f"is above the ceiling {threshold:g}"
    status = PASS if ok else FAIL
    return GateResult(
        r.name, condition, threshold, r.candidate, status, f"{r.name} {figure(r.candidate)} {why}"
    )


def _no_pair(r: MetricResult, condition: str) -> str | None:
    """Why a relative condition cannot be evaluated on this metric, or None."""
    if r.baseline is not None and r.worsening is not None:
        return None
    if r.baseline is None:
        detail = r.unavailable or "it is undefined on the compared rows"
        return f"{r.name} cannot be computed for the deployed model ({detail}), so {condition} cannot be evaluated"
    return f"{r.name} is undefined for the candidate on the compared rows, so {condition} cannot be evaluated"


def _relative(worsening: float, baseline: float) -> float:
    if worsening <= 0:
        return worsening / abs(baseline) if baseline else 0.0
    return worsening / abs(baseline) if baseline else float("inf")


def _drop(
    r: MetricResult,
    condition: str,
    threshold: float,
    value: float,
    shown: str,
    allowed: str,
    judge: str | None,
) -> GateResult:
    if value <= 0:
        bound = " at the CI bound" if judge == "ci_bound" else ""
        reason = (
            f"{r.name} did not worsen{bound} ({figure(r.delta, signed=True)} against the baseline)"
        )
        return GateResult(r.name, condition, threshold, value, PASS, reason, judge=judge)
    if value <= threshold:
        reason = f"{r.name} worsened by {shown} (allowed {allowed})"
        return GateResult(r.name, condition, threshold, value, PASS, reason, judge=judge)
    reason = f"{r.name} worsened by {shown}, more than the allowed {allowed}"
    return GateResult(r.name, condition, threshold, value, FAIL, reason, judge=judge)


def _significance(r: MetricResult, confidence: float) -> GateResult:
    condition = "require_significant"
    missing = _no_pair(r, condition)
    if missing is not None:
        return GateResult(r.name, condition, None, None, NOT_EVALUABLE, missing)
    if r.ci is None:
        reason = f"{r.name}: the bootstrap could not estimate an interval of the delta"
        return GateResult(r.name, condition, None, None, NOT_EVALUABLE, reason)
    low, high = r.ci
    better = low if r.higher_is_better else -high
    shown = f"{confidence:.0%} CI of the delta [{figure(low, signed=True)}, {figure(high, signed=True)}]"
    if better > 0:
        reason = f"{r.name} improved significantly: {shown} excludes 0"
        return GateResult(r.name, condition, None, better, PASS, reason)
    if r.significant:
        reason = f"{r.name} worsened significantly: {shown}"
    else:
        reason = f"{r.name} did not improve significantly: {shown} includes 0"
    return GateResult(r.name, condition, None, better, FAIL, reason)


def gap_gates(
    max_gap: Mapping[str, float], report: SliceReport, allowed: bool = False
) -> list[GateResult]:
    """One gate per ``max_gap`` entry: the largest gap between gated slices."""
    out = []
    for name, threshold in sorted(max_gap.items()):
        gap = report.gaps.get(name)
        extremes = report.extremes(name)
        if gap is None or extremes is None:
            each = f" (of each class, for {name})" if name in CLASS_METRICS else ""
            reason = (
                f"max_gap cannot be evaluated: fewer than two slices of {report.column} with at "
                f"least {report.min_rows} rows{each} and a defined {name}"
            )
            found = GateResult(name, "max_gap", threshold, None, NOT_EVALUABLE, reason)
            out.append(_allow(found, allowed))
            continue
        low, high = extremes
        between = (
            f"{report.column}={low.value} {figure(low.candidate[name])} vs "
            f"{report.column}={high.value} {figure(high.candidate[name])}"
        )
        ok = gap <= threshold
        verdict = f"allowed {threshold:g}" if ok else f"more than the allowed {threshold:g}"
        reason = f"largest {name} gap between {report.column} slices is {figure(gap)}, {verdict} ({between})"
        out.append(GateResult(name, "max_gap", threshold, gap, PASS if ok else FAIL, reason))
    return out
