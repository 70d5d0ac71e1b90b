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

from mlgitops.evaluation.gates import GateResult, gap_gates, metric_gates
from mlgitops.evaluation.scoring import BootstrapSettings, MetricResult
from mlgitops.evaluation.slices import SliceReport
from mlgitops.spec.model import Pipeline

SCHEMA_VERSION = 1
NO_BASELINE = "no deployed model yet: absolute gates only"


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

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)


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
) -> Verdict:
    """Evaluate every gate against the scored metrics and slices; pass when none fails."""
    by_name = {m.name: m for m in metrics}
    gates = metric_gates(pipeline.gates, by_name, settings.confidence, baseline.available)
    if slices is not None and pipeline.compare.slices is not None:
        gates += gap_gates(pipeline.compare.slices.max_gap, slices)
    passed = all(g.passed for g in gates)
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
    )


def summarize(gates: Sequence[GateResult], baseline: Baseline) -> str:
    """One sentence: the outcome, what failed, and against what."""
    applied = [g for g in gates if not g.skipped]
    failed = [g for g in applied if not g.passed]
    if failed:
        names = ", ".join(f"{g.metric} {g.condition}" for g in failed)
        head = f"failed: {len(failed)} of {len(applied)} gates failed ({names})"
    elif applied:
        head = f"passed: {len(applied)} of {len(applied)} gates hold"
    else:
        head = "passed: no gates to check"
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
        "holdout": {"rows": verdict.holdout_rows, "data_hash": verdict.data_hash},
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
