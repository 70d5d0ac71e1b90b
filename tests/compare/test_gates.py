"""Gate results and the verdict, as pure functions; verdict.json against its schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from mlgitops.evaluation import gates, verdict
from mlgitops.evaluation.scoring import BootstrapSettings, MetricResult
from mlgitops.evaluation.slices import Slice, SliceReport
from mlgitops.spec.model import Compare, Data, Gate, Model, Pipeline, Slices

AUC = MetricResult("roc_auc", True, 0.90, 0.92, -0.02, (-0.035, -0.006), True, "exact")
LOSS = MetricResult("log_loss", False, 0.30, 0.32, -0.02, (-0.03, -0.01), True, "exact")
ALONE = MetricResult("roc_auc", True, 0.90)


def _one(gate: Gate, result: MetricResult, deployed: bool = True) -> tuple[bool, bool, str]:
    [g] = gates.metric_gates([gate], {result.name: result}, 0.95, deployed)
    return g.passed, g.skipped, g.reason


@pytest.mark.parametrize(
    ("gate", "result", "expected"),
    [
        (Gate("roc_auc", min=0.85), AUC, (True, False, "roc_auc 0.9000 >= 0.85")),
        (Gate("roc_auc", min=0.95), AUC, (False, False, "roc_auc 0.9000 is below the floor 0.95")),
        (Gate("log_loss", max=0.35), LOSS, (True, False, "log_loss 0.3000 <= 0.35")),
        (
            Gate("log_loss", max=0.25),
            LOSS,
            (False, False, "log_loss 0.3000 is above the ceiling 0.25"),
        ),
        (
            Gate("roc_auc", max_drop=0.03),
            AUC,
            (True, False, "roc_auc worsened by 0.0200 (allowed 0.03)"),
        ),
        (
            Gate("roc_auc", max_drop=0.01),
            AUC,
            (False, False, "roc_auc worsened by 0.0200, more than the allowed 0.01"),
        ),
        (
            Gate("log_loss", max_drop=0.0),
            LOSS,
            (True, False, "log_loss did not worsen (-0.0200 against the baseline)"),
        ),
        (
            Gate("roc_auc", max_relative_drop=0.03),
            AUC,
            (True, False, "roc_auc worsened by 2.17% of the baseline (allowed 3.00%)"),
        ),
        (
            Gate("roc_auc", max_relative_drop=0.02),
            AUC,
            (
                False,
                False,
                "roc_auc worsened by 2.17% of the baseline, more than the allowed 2.00%",
            ),
        ),
        (
            Gate("log_loss", require_significant=True),
            LOSS,
            (
                True,
                False,
                "log_loss improved significantly: 95% CI of the delta [-0.0300, -0.0100] excludes 0",
            ),
        ),
        (
            Gate("roc_auc", require_significant=True),
            AUC,
            (
                False,
                False,
                "roc_auc worsened significantly: 95% CI of the delta [-0.0350, -0.0060]",
            ),
        ),
        (Gate("roc_auc", min=0.85), ALONE, (True, False, "roc_auc 0.9000 >= 0.85")),
    ],
)
def test_each_gate_kind(gate: Gate, result: MetricResult, expected: tuple[bool, bool, str]) -> None:
    assert _one(gate, result) == expected


def test_an_insignificant_change_fails_a_gate_that_requires_significance() -> None:
    flat = MetricResult("roc_auc", True, 0.91, 0.90, 0.01, (-0.004, 0.024), False, "exact")
    assert _one(Gate("roc_auc", require_significant=True), flat) == (
        False,
        False,
        "roc_auc did not improve significantly: 95% CI of the delta [-0.0040, +0.0240] includes 0",
    )


def test_without_a_deployed_model_relative_gates_are_skipped_and_absolute_gates_apply() -> None:
    gate = Gate("roc_auc", min=0.95, max_drop=0.01, max_relative_drop=0.1, require_significant=True)
    results = gates.metric_gates([gate], {"roc_auc": ALONE}, 0.95, deployed=False)
    assert [(g.condition, g.passed, g.skipped, g.reason) for g in results] == [
        ("min", False, False, "roc_auc 0.9000 is below the floor 0.95"),
        ("max_drop", True, True, "no deployed model yet: max_drop needs a baseline"),
        (
            "max_relative_drop",
            True,
            True,
            "no deployed model yet: max_relative_drop needs a baseline",
        ),
        (
            "require_significant",
            True,
            True,
            "no deployed model yet: require_significant needs a baseline",
        ),
    ]


def test_a_metric_undefined_for_the_candidate_fails_its_gate() -> None:
    undefined = MetricResult("roc_auc", True, None)
    assert _one(Gate("roc_auc", min=0.5), undefined) == (
        False,
        False,
        "roc_auc is undefined for the candidate on this holdout",
    )


def _report(values: dict[str, tuple[int, float | None]]) -> SliceReport:
    slices = tuple(
        Slice(v, rows, rows >= 30, {"accuracy": acc}, {}) for v, (rows, acc) in values.items()
    )
    gated = [acc for rows, acc in values.values() if rows >= 30 and acc is not None]
    gap = max(gated) - min(gated) if len(gated) > 1 else None
    return SliceReport("segment", 30, slices, {"accuracy": gap}, None)


def test_the_gap_gate_compares_the_extreme_gated_slices_only() -> None:
    report = _report({"a": (100, 0.90), "b": (80, 0.82), "c": (5, 0.10)})
    [g] = gates.gap_gates({"accuracy": 0.05}, report)
    assert (g.passed, g.value) == (False, pytest.approx(0.08))
    assert g.reason == (
        "largest accuracy gap between segment slices is 0.0800, more than the allowed 0.05 "
        "(segment=b 0.8200 vs segment=a 0.9000)"
    )
    [ok] = gates.gap_gates({"accuracy": 0.1}, report)
    assert ok.passed and ok.reason.endswith(
        "is 0.0800, allowed 0.1 (segment=b 0.8200 vs segment=a 0.9000)"
    )


def test_the_gap_gate_is_skipped_with_fewer_than_two_gated_slices() -> None:
    [g] = gates.gap_gates({"accuracy": 0.05}, _report({"a": (100, 0.9), "b": (10, 0.2)}))
    assert (g.passed, g.skipped, g.reason) == (
        True,
        True,
        "fewer than two slices of segment with at least 30 rows and a defined accuracy",
    )


def _pipeline(gate_list: tuple[Gate, ...], slices: Slices | None = None) -> Pipeline:
    return Pipeline(
        name="churn",
        source="pipelines/churn.yaml",
        data=Data("data/churn.csv", "y"),
        model=Model("sklearn.linear_model.LogisticRegression"),
        task="classification",
        metrics=("roc_auc", "log_loss", "accuracy"),
        gates=gate_list,
        compare=Compare(slices=slices),
    )


DEPLOYED = verdict.Baseline(
    True,
    model_uri="models:/churn/3",
    version="3",
    run_id="abc",
    source="origin/main:manifests/churn/overlays/staging/model.json",
    environment="staging",
)
NOTHING = verdict.Baseline(
    False,
    verdict.NO_BASELINE,
    source="origin/main:manifests/churn/overlays/staging/model.json",
    environment="staging",
)


def _decide(
    pipeline: Pipeline,
    baseline: verdict.Baseline,
    metrics: list[MetricResult],
    report: SliceReport | None = None,
) -> verdict.Verdict:
    return verdict.decide(
        pipeline,
        baseline=baseline,
        candidate=verdict.Candidate("run1", "runs:/run1/model", "sha256:k"),
        holdout_rows=143,
        data_hash="sha256:d",
        settings=BootstrapSettings(),
        metrics=metrics,
        slices=report,
    )


def test_the_verdict_fails_when_any_gate_fails_and_names_them() -> None:
    v = _decide(
        _pipeline((Gate("roc_auc", min=0.85, max_drop=0.01), Gate("log_loss", max=0.25))),
        DEPLOYED,
        [AUC, LOSS],
    )
    assert not v.passed
    assert v.summary == (
        "failed: 2 of 3 gates failed (roc_auc max_drop, log_loss max) against models:/churn/3"
    )


def test_the_verdict_says_plainly_when_nothing_is_deployed() -> None:
    v = _decide(_pipeline((Gate("roc_auc", min=0.85, max_drop=0.01),)), NOTHING, [ALONE])
    assert v.passed
    assert v.summary == "passed: 1 of 1 gates hold; no deployed model yet: absolute gates only"


def _validate(doc: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)


def test_verdict_documents_validate_against_the_packaged_schema(
    verdict_schema: dict[str, Any],
) -> None:
    report = _report({"a": (100, 0.90), "b": (80, 0.82), "null": (5, None)})
    pipe = _pipeline(
        (Gate("roc_auc", min=0.85, max_drop=0.01, require_significant=True),),
        Slices("segment", {"accuracy": 0.05}),
    )
    for v in (
        _decide(pipe, DEPLOYED, [AUC, LOSS], report),
        _decide(pipe, NOTHING, [ALONE], report),
        _decide(_pipeline(()), NOTHING, [MetricResult("roc_auc", True, None)]),
    ):
        doc = json.loads(verdict.dumps(v))
        _validate(doc, verdict_schema)
        assert doc["schema_version"] == 1 and doc["passed"] is v.passed


def test_the_schema_rejects_a_verdict_missing_what_deploy_checks(
    verdict_schema: dict[str, Any],
) -> None:
    doc = json.loads(verdict.dumps(_decide(_pipeline(()), DEPLOYED, [AUC])))
    del doc["passed"]
    with pytest.raises(jsonschema.ValidationError, match="'passed' is a required property"):
        _validate(doc, verdict_schema)
    doc = json.loads(verdict.dumps(_decide(_pipeline(()), DEPLOYED, [AUC])))
    del doc["baseline"]["model_uri"]
    with pytest.raises(jsonschema.ValidationError, match="'model_uri' is a required property"):
        _validate(doc, verdict_schema)
