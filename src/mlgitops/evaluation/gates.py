"""Gate results: each condition of each ``gates.<metric>`` entry, and the slice-gap gates.

Conditions (spec.model.Gate):

- ``min`` / ``max``: absolute floor / ceiling of the candidate's value.
- ``max_drop``: largest allowed worsening against the baseline, in metric units
  (worsening = baseline minus candidate for higher-is-better metrics, candidate
  minus baseline for the others).
- ``max_relative_drop``: the same as a fraction of the baseline's absolute value.
- ``require_significant``: the delta's interval must lie entirely on the better side of 0.
- ``max_gap`` (``compare.slices.max_gap``): largest allowed gap between slices.

Without a deployed model the relative conditions cannot apply: they are listed as
skipped (``passed`` true, ``skipped`` true) so that the verdict shows what was not checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlgitops.evaluation.scoring import MetricResult
from mlgitops.evaluation.slices import SliceReport
from mlgitops.spec.model import Gate

RELATIVE = ("max_drop", "max_relative_drop", "require_significant")


@dataclass(frozen=True)
class GateResult:
    metric: str
    condition: str
    threshold: float | None
    value: float | None
    passed: bool
    reason: str
    skipped: bool = False


def metric_gates(
    gates: Sequence[Gate],
    results: Mapping[str, MetricResult],
    confidence: float,
    deployed: bool,
) -> list[GateResult]:
    """Every condition of every gate, in spec order (min, max, drops, significance).

    ``deployed``: whether there is a baseline at all; without one the relative
    conditions are skipped.
    """
    out = []
    for gate in gates:
        result = results[gate.metric]
        for condition in ("min", "max", "max_drop", "max_relative_drop"):
            threshold = getattr(gate, condition)
            if threshold is None:
                continue
            if condition in RELATIVE and not deployed:
                out.append(_skip(result, condition, float(threshold), deployed))
            else:
                out.append(_check(condition, float(threshold), result))
        if gate.require_significant:
            out.append(_significance(result, confidence, deployed))
    return out


def _check(condition: str, threshold: float, r: MetricResult) -> GateResult:
    if r.candidate is None:
        reason = f"{r.name} is undefined for the candidate on this holdout"
        return GateResult(r.name, condition, threshold, None, False, reason)
    if condition == "min":
        ok = r.candidate >= threshold
        why = f">= {threshold:g}" if ok else f"is below the floor {threshold:g}"
        return GateResult(
            r.name, condition, threshold, r.candidate, ok, f"{r.name} {r.candidate:.4f} {why}"
        )
    if condition == "max":
        ok = r.candidate <= threshold
        why = f"<= {threshold:g}" if ok else f"is above the ceiling {threshold:g}"
        return GateResult(
            r.name, condition, threshold, r.candidate, ok, f"{r.name} {r.candidate:.4f} {why}"
        )
    if r.worsening is None or r.baseline is None:
        return _skip(r, condition, threshold, deployed=True)
    if condition == "max_drop":
        return _drop(r, condition, threshold, r.worsening, f"{r.worsening:.4f}", f"{threshold:g}")
    relative = _relative(r.worsening, r.baseline)
    shown = "infinitely" if relative == float("inf") else f"{relative:.2%}"
    return _drop(r, condition, threshold, relative, f"{shown} of the baseline", f"{threshold:.2%}")


def _relative(worsening: float, baseline: float) -> float:
    if worsening <= 0:
        return worsening / abs(baseline) if baseline else 0.0
    return worsening / abs(baseline) if baseline else float("inf")


def _drop(
    r: MetricResult, condition: str, threshold: float, value: float, shown: str, allowed: str
) -> GateResult:
    if value <= 0:
        reason = f"{r.name} did not worsen ({r.delta:+.4f} against the baseline)"
        return GateResult(r.name, condition, threshold, value, True, reason)
    if value <= threshold:
        reason = f"{r.name} worsened by {shown} (allowed {allowed})"
        return GateResult(r.name, condition, threshold, value, True, reason)
    reason = f"{r.name} worsened by {shown}, more than the allowed {allowed}"
    return GateResult(r.name, condition, threshold, value, False, reason)


def _significance(r: MetricResult, confidence: float, deployed: bool) -> GateResult:
    condition = "require_significant"
    if not deployed or r.baseline is None:
        return _skip(r, condition, None, deployed)
    if r.ci is None:
        reason = f"{r.name}: the bootstrap could not estimate an interval of the delta"
        return GateResult(r.name, condition, None, None, False, reason)
    low, high = r.ci
    better = low if r.higher_is_better else -high
    shown = f"{confidence:.0%} CI of the delta [{low:+.4f}, {high:+.4f}]"
    if better > 0:
        return GateResult(
            r.name,
            condition,
            None,
            better,
            True,
            f"{r.name} improved significantly: {shown} excludes 0",
        )
    if r.significant:
        reason = f"{r.name} worsened significantly: {shown}"
    else:
        reason = f"{r.name} did not improve significantly: {shown} includes 0"
    return GateResult(r.name, condition, None, better, False, reason)


def _skip(r: MetricResult, condition: str, threshold: float | None, deployed: bool) -> GateResult:
    if not deployed:
        reason = f"no deployed model yet: {condition} needs a baseline"
    else:
        reason = f"{r.name} is undefined for the baseline, so {condition} cannot apply"
    return GateResult(r.name, condition, threshold, None, True, reason, skipped=True)


def gap_gates(max_gap: Mapping[str, float], report: SliceReport) -> list[GateResult]:
    """One gate per ``max_gap`` entry: the largest gap between gated slices."""
    out = []
    for name, threshold in sorted(max_gap.items()):
        gap = report.gaps.get(name)
        extremes = report.extremes(name)
        if gap is None or extremes is None:
            reason = (
                f"fewer than two slices of {report.column} with at least "
                f"{report.min_rows} rows and a defined {name}"
            )
            out.append(GateResult(name, "max_gap", threshold, None, True, reason, skipped=True))
            continue
        low, high = extremes
        between = (
            f"{report.column}={low.value} {low.candidate[name]:.4f} vs "
            f"{report.column}={high.value} {high.candidate[name]:.4f}"
        )
        ok = gap <= threshold
        verdict = f"allowed {threshold:g}" if ok else f"more than the allowed {threshold:g}"
        reason = (
            f"largest {name} gap between {report.column} slices is {gap:.4f}, {verdict} ({between})"
        )
        out.append(GateResult(name, "max_gap", threshold, gap, ok, reason))
    return out
