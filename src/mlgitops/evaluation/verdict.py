"""The verdict: every metric, interval and gate result, and whether the candidate passes.

``decide`` is pure (records in, a :class:`Verdict` out); ``document`` turns it into
the versioned ``verdict.json`` (schema: ``mlgitops/schemas/verdict.schema.json``),
which ``report`` renders and ``deploy`` checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mlgitops.evaluation.gates import gap_gates, metric_gates
from mlgitops.evaluation.inputs import FeatureDiff
from mlgitops.evaluation.outcome import GateResult, gate_counts
from mlgitops.evaluation.pairing import Comparison, not_applicable
from mlgitops.evaluation.scoring import BootstrapSettings, MetricResult
from mlgitops.evaluation.slices import SliceReport
from mlgitops.results import VERDICT_SCHEMA_VERSION
from mlgitops.spec.model import Pipeline

SCHEMA_VERSION = VERDICT_SCHEMA_VERSION
NO_BASELINE = "first deployment: no deployed model yet, absolute gates only"


@dataclass(frozen=True)
class Baseline:
    """What the base branch says is deployed (``available`` false: nothing is)."""

    available: bool
    reason: str | None = None
    model_uri: str | None = None
    version: str | None = None
    run_id: str | None = None
    #: ``<ref>:<path>`` of the provenance record read
    source: str | None = None
    environment: str | None = None


@dataclass(frozen=True)
class Candidate:
    run_id: str
    model_uri: str
    content_key: str


@dataclass(frozen=True)
class Verdict:
    pipeline: str
    passed: bool
    summary: str
    baseline: Baseline
    candidate: Candidate
    holdout_rows: int
    data_hash: str
    settings: BootstrapSettings
    metrics: tuple[MetricResult, ...]
    gates: tuple[GateResult, ...]
    slices: SliceReport | None
    comparison: Comparison

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        """The gates that fail the verdict (failed, or not evaluable and not allowed)."""
        return tuple(g for g in self.gates if g.blocking)

    @property
    def counts(self) -> dict[str, int]:
        return gate_counts(self.gates)


def decide(
    pipeline: Pipeline,
    *,
    baseline: Baseline,
    candidate: Candidate,
    holdout_rows: int,
    data_hash: str,
    settings: BootstrapSettings,
    metrics: Sequence[MetricResult],
    slices: SliceReport | None,
    comparison: Comparison | None = None,
) -> Verdict:
    """Evaluate every gate against the scored metrics and slices; pass when none fails.

    ``comparison``: what the relative gates stand on; None: nothing is deployed
    (they are not applicable, for ``baseline.reason``).
    """
    if comparison is None:
        comparison = not_applicable(holdout_rows, _first(baseline))
    by_name = {m.name: m for m in metrics}
    allow_all = pipeline.compare.allow_not_evaluable
    gates = metric_gates(
        pipeline.gates,
        by_name,
        settings.confidence,
        comparison,
        allow_all,
        min_rows=pipeline.compare.min_rows,
    )
    if slices is not None and pipeline.compare.slices is not None:
        gates += gap_gates(pipeline.compare.slices.max_gap, slices, allow_all)
    passed = not any(g.blocking for g in gates)
    return Verdict(
        pipeline=pipeline.name,
        passed=passed,
        summary=summarize(gates, baseline),
        baseline=baseline,
        candidate=candidate,
        holdout_rows=holdout_rows,
        data_hash=data_hash,
        settings=settings,
        metrics=tuple(metrics),
        gates=tuple(gates),
        slices=slices,
        comparison=comparison,
    )


def _first(baseline: Baseline) -> str:
    reason = baseline.reason or NO_BASELINE
    return "first deployment" if reason == NO_BASELINE else reason


def summarize(gates: Sequence[GateResult], baseline: Baseline) -> str:
    """One sentence: the outcome, what failed or could not be evaluated, and against what."""
    counts = gate_counts(gates)
    evaluated = counts["pass"] + counts["fail"]
    blocking = [g for g in gates if g.blocking]
    parts = []
    if counts["fail"]:
        parts.append(f"{counts['fail']} of {evaluated} gates failed")
    refused = counts["not_evaluable"] - counts["allowed"]
    if refused:
        parts.append(f"{refused} {'gate' if refused == 1 else 'gates'} not evaluable")
    if blocking:
        names = ", ".join(f"{g.metric} {g.condition}" for g in blocking)
        head = f"failed: {' and '.join(parts)} ({names})"
    elif evaluated:
        head = f"passed: {evaluated} of {evaluated} gates hold"
    else:
        head = "passed: no gates were evaluated"
    if counts["allowed"]:
        head += f", {counts['allowed']} not evaluable (allowed)"
    if counts["not_applicable"]:
        head += f", {counts['not_applicable']} not applicable"
    if baseline.available:
        return f"{head} against {baseline.model_uri}"
    return f"{head}; {baseline.reason or NO_BASELINE}"


def document(verdict: Verdict) -> dict[str, Any]:
    """``verdict.json`` as a plain dict (see the JSON Schema for every field)."""
    baseline = {k: v for k, v in asdict(verdict.baseline).items() if v is not None}
    return {
        "schema_version": SCHEMA_VERSION,
        "pipeline": verdict.pipeline,
        "passed": verdict.passed,
        "summary": verdict.summary,
        "baseline": baseline,
        "candidate": asdict(verdict.candidate),
        "holdout": _holdout(verdict),
        "comparison": {
            "status": verdict.comparison.status,
            "reasons": list(verdict.comparison.reasons),
            "notes": list(verdict.comparison.notes),
        },
        "features": _features(verdict.comparison.features),
        "counts": verdict.counts,
        "confidence": verdict.settings.confidence,
        "resamples": verdict.settings.resamples,
        "seed": verdict.settings.seed,
        "metrics": [_metric(m) for m in verdict.metrics],
        "gates": [asdict(g) for g in verdict.gates],
        "slices": None if verdict.slices is None else _slices(verdict.slices),
    }


def dumps(verdict: Verdict) -> str:
    """Stable JSON text of the verdict (sorted keys, trailing newline)."""
    return json.dumps(document(verdict), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _metric(m: MetricResult) -> dict[str, Any]:
    return {
        "name": m.name,
        "higher_is_better": m.higher_is_better,
        "candidate": m.candidate,
        "baseline": m.baseline,
        "delta": m.delta,
        "ci": None if m.ci is None else list(m.ci),
        "significant": m.significant,
        "method": m.method,
        "paired_candidate": m.paired_candidate,
    }


def _holdout(verdict: Verdict) -> dict[str, Any]:
    c = verdict.comparison
    return {
        "rows": verdict.holdout_rows,
        "data_hash": verdict.data_hash,
        "compared": c.compared_rows,
        "excluded": c.excluded_rows,
        "excluded_reason": c.excluded_reason,
        "min_rows": c.min_rows,
    }


def _features(diff: FeatureDiff | None) -> dict[str, Any] | None:
    if diff is None:
        return None
    return {
        "baseline": [asdict(c) for c in diff.baseline],
        "added": [asdict(c) for c in diff.added],
        "removed": [asdict(c) for c in diff.removed],
        "type_changed": [asdict(c) for c in diff.type_changed],
        "reordered": diff.reordered,
    }


def _slices(report: SliceReport) -> dict[str, Any]:
    return {
        "column": report.column,
        "min_rows": report.min_rows,
        "gaps": report.gaps,
        "baseline_gaps": report.baseline_gaps,
        "slices": [
            {
                "value": s.value,
                "rows": s.rows,
                "gated": s.gated,
                "candidate": s.candidate,
                "baseline": s.baseline or None,
            }
            for s in report.slices
        ],
    }
