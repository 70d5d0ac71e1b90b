"""Gate results and the verdict, as pure functions; verdict.json against its schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np
import pytest

from mlgitops.evaluation import gates, verdict
from mlgitops.evaluation.pairing import EVALUABLE as EVALUABLE_STATUS
from mlgitops.evaluation.pairing import Comparison, not_applicable
from mlgitops.evaluation.scoring import BootstrapSettings, MetricResult
from mlgitops.evaluation.slices import Slice, SliceReport
from mlgitops.record import replace
from mlgitops.spec.model import Compare, Data, Gate, Model, Pipeline, Slices

AUC = MetricResult("roc_auc", True, 0.90, 0.92, -0.02, (-0.035, -0.006), True, "exact", 0.90)
LOSS = MetricResult("log_loss", False, 0.30, 0.32, -0.02, (-0.03, -0.01), True, "exact", 0.30)
ALONE = MetricResult("roc_auc", True, 0.90)


EVALUABLE = Comparison(EVALUABLE_STATUS, 143, 143, min_rows=30)
FIRST = not_applicable(143, "first deployment")


def _one(gate: Gate, result: MetricResult) -> tuple[str, bool, str]:
    [g] = gates.metric_gates([gate], {result.name: result}, 0.95, EVALUABLE)
    return g.status, g.blocking, g.reason


@pytest.mark.parametrize(
    ("gate", "result", "expected"),
    [
        (Gate("roc_auc", min=0.85), AUC, ("pass", False, "roc_auc 0.9000 >= 0.85")),
        (Gate("roc_auc", min=0.95), AUC, ("fail", True, "roc_auc 0.9000 is below the floor 0.95")),
        (Gate("log_loss", max=0.35), LOSS, ("pass", False, "log_loss 0.3000 <= 0.35")),
        (
            Gate("log_loss", max=0.25),
            LOSS,
            ("fail", True, "log_loss 0.3000 is above the ceiling 0.25"),
        ),
        (
            Gate("roc_auc", max_drop=0.03),
            AUC,
            ("pass", False, "roc_auc worsened by 0.0200 (allowed 0.03)"),
        ),
        (
            Gate("roc_auc", max_drop=0.01),
            AUC,
            ("fail", True, "roc_auc worsened by 0.0200, more than the allowed 0.01"),
        ),
        (
            Gate("log_loss", max_drop=0.0),
            LOSS,
            ("pass", False, "log_loss did not worsen (-0.0200 against the baseline)"),
        ),
        (
            Gate("roc_auc", max_relative_drop=0.03),
            AUC,
            ("pass", False, "roc_auc worsened by 2.17% of the baseline (allowed 3.00%)"),
        ),
        (
            Gate("roc_auc", max_relative_drop=0.02),
            AUC,
            (
                "fail",
                True,
                "roc_auc worsened by 2.17% of the baseline, more than the allowed 2.00%",
            ),
        ),
        (
            Gate("log_loss", require_significant=True),
            LOSS,
            (
                "pass",
                False,
                "log_loss improved significantly: 95% CI of the delta [-0.0300, -0.0100] excludes 0",
            ),
        ),
        (
            Gate("roc_auc", require_significant=True),
            AUC,
            (
                "fail",
                True,
                "roc_auc worsened significantly: 95% CI of the delta [-0.0350, -0.0060]",
            ),
        ),
        (Gate("roc_auc", min=0.85), ALONE, ("pass", False, "roc_auc 0.9000 >= 0.85")),
    ],
)
def test_each_gate_kind(gate: Gate, result: MetricResult, expected: tuple[str, bool, str]) -> None:
    assert _one(gate, result) == expected


#: An rmse on a target in millionths: four decimals would show every value as 0.0000.
SMALL = MetricResult(
    "rmse", False, 3.2e-06, 1.9e-06, 1.3e-06, (4.1e-07, 2.2e-06), True, "exact", 1.9e-06
)


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        (
            Gate("rmse", max_drop=1e-06),
            "rmse worsened by 1.3e-06, more than the allowed 1e-06",
        ),
        (Gate("rmse", max=1e-06), "rmse 3.2e-06 is above the ceiling 1e-06"),
        (
            Gate("rmse", require_significant=True),
            "rmse worsened significantly: 95% CI of the delta [+4.1e-07, +2.2e-06]",
        ),
    ],
)
def test_metrics_on_a_small_scale_are_shown_to_four_significant_digits(
    gate: Gate, expected: str
) -> None:
    """Shown to four decimals, a gate read "rmse worsened by 0.0000, more than the allowed
    1e-06" and a CI "[+0.0000, +0.0000]" was called significant."""
    assert _one(gate, SMALL)[2] == expected


def test_an_insignificant_change_fails_a_gate_that_requires_significance() -> None:
    flat = MetricResult("roc_auc", True, 0.91, 0.90, 0.01, (-0.004, 0.024), False, "exact")
    assert _one(Gate("roc_auc", require_significant=True), flat) == (
        "fail",
        True,
        "roc_auc did not improve significantly: 95% CI of the delta [-0.0040, +0.0240] includes 0",
    )


def test_without_a_deployed_model_relative_gates_are_not_applicable_and_absolute_gates_apply() -> (
    None
):
    gate = Gate("roc_auc", min=0.95, max_drop=0.01, max_relative_drop=0.1, require_significant=True)
    results = gates.metric_gates([gate], {"roc_auc": ALONE}, 0.95, FIRST)
    assert [(g.condition, g.status, g.blocking, g.reason) for g in results] == [
        ("min", "fail", True, "roc_auc 0.9000 is below the floor 0.95"),
        ("max_drop", "not_applicable", False, "not applicable: first deployment"),
        ("max_relative_drop", "not_applicable", False, "not applicable: first deployment"),
        ("require_significant", "not_applicable", False, "not applicable: first deployment"),
    ]


def test_a_metric_undefined_for_the_candidate_fails_its_gate() -> None:
    undefined = MetricResult("roc_auc", True, None)
    assert _one(Gate("roc_auc", min=0.5), undefined) == (
        "fail",
        True,
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
    assert (g.status, g.value) == ("fail", pytest.approx(0.08))
    assert g.reason == (
        "largest accuracy gap between segment slices is 0.0800, more than the allowed 0.05 "
        "(segment=b 0.8200 vs segment=a 0.9000)"
    )
    [ok] = gates.gap_gates({"accuracy": 0.1}, report)
    assert ok.status == "pass" and ok.reason.endswith(
        "is 0.0800, allowed 0.1 (segment=b 0.8200 vs segment=a 0.9000)"
    )


def test_the_gap_gate_is_not_evaluable_with_fewer_than_two_gated_slices() -> None:
    report = _report({"a": (100, 0.9), "b": (10, 0.2)})
    [g] = gates.gap_gates({"accuracy": 0.05}, report)
    assert (g.status, g.blocking, g.reason) == (
        "not_evaluable",
        True,
        "max_gap cannot be evaluated: fewer than two slices of segment with at least 30 rows "
        "and a defined accuracy",
    )
    [allowed] = gates.gap_gates({"accuracy": 0.05}, report, allowed=True)
    assert (allowed.status, allowed.allowed, allowed.blocking) == ("not_evaluable", True, False)


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
    comparison: Comparison | None = None,
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
        comparison=comparison or (EVALUABLE if baseline.available else None),
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
    assert v.summary == (
        "passed: 1 of 1 gates hold, 1 not applicable; "
        "first deployment: no deployed model yet, absolute gates only"
    )


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
        assert doc["schema_version"] == 2 and doc["passed"] is v.passed


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


NO_PROBA = MetricResult("roc_auc", True, 0.65, unavailable="it gives no class probabilities")


def test_a_drop_gate_without_a_baseline_value_is_not_evaluable_and_fails_the_verdict() -> None:
    v = _decide(_pipeline((Gate("roc_auc", max_drop=0.01),)), DEPLOYED, [NO_PROBA])
    [g] = v.gates
    assert (g.status, g.blocking, g.value) == ("not_evaluable", True, None)
    assert g.reason == (
        "roc_auc cannot be computed for the deployed model (it gives no class probabilities), "
        "so max_drop cannot be evaluated"
    )
    assert not v.passed
    assert v.summary == "failed: 1 gate not evaluable (roc_auc max_drop) against models:/churn/3"
    assert v.counts == {
        "pass": 0,
        "fail": 0,
        "not_evaluable": 1,
        "allowed": 0,
        "not_applicable": 0,
    }


def test_the_spec_can_allow_a_gate_that_cannot_be_evaluated() -> None:
    per_gate = _pipeline((Gate("roc_auc", min=0.6, max_drop=0.01, allow_not_evaluable=True),))
    v = _decide(per_gate, DEPLOYED, [NO_PROBA])
    assert v.passed
    assert [(g.status, g.allowed) for g in v.gates] == [("pass", False), ("not_evaluable", True)]
    assert v.gates[1].reason.endswith("so max_drop cannot be evaluated (allowed by the spec)")
    assert v.summary == (
        "passed: 1 of 1 gates hold, 1 not evaluable (allowed) against models:/churn/3"
    )
    everywhere = replace(
        _pipeline((Gate("roc_auc", max_drop=0.01),)), compare=Compare(allow_not_evaluable=True)
    )
    assert _decide(everywhere, DEPLOYED, [NO_PROBA]).passed


def test_a_comparison_that_is_not_evaluable_fails_every_relative_gate_with_its_reason() -> None:
    missing = "the deployed model needs column 'tenure', which the candidate's holdout lacks"
    refused = Comparison(EVALUABLE_STATUS, 143, 143, min_rows=30).refused(missing)
    gate = Gate("roc_auc", min=0.85, max_drop=0.01, require_significant=True)
    v = _decide(_pipeline((gate,)), DEPLOYED, [ALONE], comparison=refused)
    assert [(g.condition, g.status, g.reason) for g in v.gates] == [
        ("min", "pass", "roc_auc 0.9000 >= 0.85"),
        ("max_drop", "not_evaluable", f"max_drop cannot be evaluated: {missing}"),
        (
            "require_significant",
            "not_evaluable",
            f"require_significant cannot be evaluated: {missing}",
        ),
    ]
    assert not v.passed
    assert v.summary == (
        "failed: 2 gates not evaluable (roc_auc max_drop, roc_auc require_significant) "
        "against models:/churn/3"
    )


NOISY = MetricResult("roc_auc", True, 0.88, 0.90, -0.02, (-0.06, 0.015), False, "exact", 0.88)
CLEAR = MetricResult("roc_auc", True, 0.80, 0.90, -0.10, (-0.14, -0.06), True, "exact", 0.80)


@pytest.mark.parametrize(
    ("result", "judge", "expected"),
    [
        (NOISY, "point", ("fail", "roc_auc worsened by 0.0200, more than the allowed 0.01")),
        (
            NOISY,
            "ci_bound",
            ("pass", "roc_auc did not worsen at the CI bound (-0.0200 against the baseline)"),
        ),
        (
            CLEAR,
            "ci_bound",
            (
                "fail",
                "roc_auc worsened by 0.0600 at the 95% CI bound, more than the allowed 0.01",
            ),
        ),
        (
            replace(CLEAR, ci=None),
            "ci_bound",
            (
                "not_evaluable",
                "roc_auc: the bootstrap could not estimate an interval of the delta, so "
                "max_drop (judged on its bound) cannot be evaluated",
            ),
        ),
    ],
)
def test_a_drop_judged_on_the_interval_bound_fails_only_on_an_established_worsening(
    result: MetricResult, judge: str, expected: tuple[str, str]
) -> None:
    [g] = gates.metric_gates(
        [Gate("roc_auc", max_drop=0.01, judge=judge)], {"roc_auc": result}, 0.95, EVALUABLE
    )
    assert (g.status, g.reason) == expected
    assert g.judge == judge


def test_relative_drop_judged_on_the_interval_bound() -> None:
    [g] = gates.metric_gates(
        [Gate("roc_auc", max_relative_drop=0.05, judge="ci_bound")],
        {"roc_auc": CLEAR},
        0.95,
        EVALUABLE,
    )
    assert (g.status, g.value) == ("fail", pytest.approx(0.06 / 0.90))


def test_a_slice_with_few_rows_of_a_class_is_left_out_of_that_metric_s_gap() -> None:
    """A slice of 60 rows with two positives, both missed, had recall 0: "a gap of 0.90 to
    the other slice", failing the pull request on two rows. For a metric taken over the
    classes a slice is gated on its rows of each class too; accuracy still gates it."""
    from mlgitops.evaluation.metrics import Holdout, Predictions
    from mlgitops.evaluation.slices import slice_metrics

    y = np.array([1] * 50 + [0] * 50 + [1] * 2 + [0] * 58)
    predicted = y.copy()
    predicted[:5] = 0  # slice a: recall 0.9
    predicted[100:102] = 0  # slice b: both positives missed
    values = ["a"] * 100 + ["b"] * 60
    holdout = Holdout("classification", y, (0, 1))
    report = slice_metrics(
        "segment", values, ["recall", "accuracy"], holdout, Predictions(predicted), None, 30
    )
    [recall] = gates.gap_gates({"recall": 0.1}, report)
    assert (recall.status, recall.reason) == (
        "not_evaluable",
        "max_gap cannot be evaluated: fewer than two slices of segment with at least 30 rows "
        "(of each class, for recall) and a defined recall",
    )
    [accuracy] = gates.gap_gates({"accuracy": 0.1}, report)
    assert (accuracy.status, accuracy.value) == ("pass", pytest.approx(58 / 60 - 0.95))
