"""A delta judged on too little evidence is neither significant nor shown worse: few rows
where the two models' predictions differ, few rows a model predicts positive, or too few
resamples for the interval's tails. Each case against the exact test it must agree with
(scipy's), and a case beside it with evidence enough, which stays significant."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from mlgitops.evaluation import bootstrap, gates
from mlgitops.evaluation.metrics import Holdout, Predictions
from mlgitops.evaluation.pairing import EVALUABLE, Comparison
from mlgitops.evaluation.scoring import BootstrapSettings, MetricResult, score_metrics
from mlgitops.spec.model import Gate

COMPARED = Comparison(EVALUABLE, 1000, 1000, min_rows=30)


def _scored(
    name: str, holdout: Holdout, candidate: Predictions, baseline: Predictions, seed: int = 0
) -> MetricResult:
    [result] = score_metrics([name], holdout, candidate, baseline, BootstrapSettings(seed=seed))
    return result


def _statuses(gate: Gate, result: MetricResult) -> dict[str, tuple[str, str]]:
    found = gates.metric_gates([gate], {result.name: result}, 0.95, COMPARED, min_rows=30)
    return {g.condition: (g.status, g.reason) for g in found}


def _discordant(rows: int, better: int, worse: int) -> tuple[Holdout, Predictions, Predictions]:
    """A baseline wrong on a tenth of the rows; the candidate the same but right on
    ``better`` of them and wrong on ``worse`` rows the baseline gets right."""
    y = np.zeros(rows, dtype=np.int64)
    y[rows // 2 :] = 1
    base = y.copy()
    base[: rows // 10] ^= 1
    cand = base.copy()
    cand[:better] = y[:better]
    cand[rows // 10 : rows // 10 + worse] ^= 1
    return Holdout("classification", y, (0, 1)), Predictions(cand), Predictions(base)


@pytest.mark.parametrize(("better", "worse"), [(4, 0), (5, 0), (7, 1), (9, 2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_is_significant_only_where_mcnemar_s_exact_test_rejects(
    better: int, worse: int, seed: int
) -> None:
    assert binomtest(better, better + worse).pvalue > 0.05
    result = _scored("accuracy", *_discordant(100_000, better, worse), seed=seed)
    assert result.significant is False
    assert result.ci is not None and result.ci[0] <= 0 <= result.ci[1]


@pytest.mark.parametrize(("better", "worse"), [(9, 0), (20, 4)])
def test_accuracy_with_evidence_enough_stays_significant(better: int, worse: int) -> None:
    assert binomtest(better, better + worse).pvalue < 0.05
    assert _scored("accuracy", *_discordant(100_000, better, worse)).significant is True


def test_four_rows_worse_do_not_fail_a_drop_judged_at_the_interval_s_bound() -> None:
    result = _scored("accuracy", *_discordant(100_000, 0, 4), seed=1)
    statuses = _statuses(Gate("accuracy", max_drop=0.0, judge="ci_bound"), result)
    assert statuses["max_drop"][0] == "pass", statuses


def _changed(rows_changed: int) -> tuple[Holdout, Predictions, Predictions]:
    """A regression whose candidate halves the baseline's error on ``rows_changed`` rows."""
    chance = np.random.default_rng(0)
    y = chance.normal(size=5000)
    base = y + chance.normal(size=5000)
    cand = base.copy()
    cand[:rows_changed] = y[:rows_changed] + 0.5 * (base[:rows_changed] - y[:rows_changed])
    return Holdout("regression", y), Predictions(cand), Predictions(base)


@pytest.mark.parametrize("name", ["mae", "rmse", "r2"])
@pytest.mark.parametrize("rows_changed", [4, 5])
def test_a_few_changed_rows_of_a_regression_are_no_significant_change(
    name: str, rows_changed: int
) -> None:
    # the smallest two-sided p of any exact paired test over k changed rows is 2 ** (1 - k)
    assert 2.0 ** (1 - rows_changed) > 0.05
    assert _scored(name, *_changed(rows_changed)).significant is False


@pytest.mark.parametrize("name", ["mae", "rmse"])
def test_many_changed_rows_of_a_regression_stay_significant(name: str) -> None:
    assert _scored(name, *_changed(400)).significant is True


def _recalled(found: int) -> tuple[Holdout, Predictions, Predictions]:
    """2,000 rows, 400 positive, of which the baseline misses 40 and the candidate ``found``
    fewer; the two also differ on 200 negative rows, 100 each way, which recall never
    reads."""
    y = np.zeros(2000, dtype=np.int64)
    y[:400] = 1
    base = y.copy()
    base[:40] = 0
    cand = base.copy()
    cand[:found] = 1
    cand[1000:1100] = 1
    base[1100:1200] = 1
    return Holdout("classification", y, (0, 1)), Predictions(cand), Predictions(base)


def test_recall_is_judged_on_the_positive_rows_where_the_models_differ() -> None:
    # 5 positive rows, all one way: McNemar's p over the rows recall reads is 0.0625
    assert binomtest(5, 5).pvalue > 0.05
    result = _scored("recall", *_recalled(5))
    assert result.significant is False, result.ci
    assert _scored("recall", *_recalled(12)).significant is True


def _positives(candidate_positives: list[int]) -> tuple[Holdout, Predictions, Predictions]:
    """1,000 rows, 300 positive; the baseline predicts 300 positives (precision 0.8), the
    candidate only the rows given."""
    y = np.zeros(1000, dtype=np.int64)
    y[:300] = 1
    base = np.zeros(1000, dtype=np.int64)
    base[:240] = 1
    base[300:360] = 1
    cand = np.zeros(1000, dtype=np.int64)
    cand[candidate_positives] = 1
    return Holdout("classification", y, (0, 1)), Predictions(cand), Predictions(base)


@pytest.mark.parametrize("positives", [[0], [0, 1, 2]])
def test_precision_on_a_few_predicted_positives_is_not_judged(positives: list[int]) -> None:
    result = _scored("precision", *_positives(positives))
    assert result.candidate == 1.0
    statuses = _statuses(Gate("precision", min=0.9, require_significant=True), result)
    count = len(positives)
    assert statuses["min"] == (
        "not_evaluable",
        f"min cannot be evaluated: precision is taken over the rows a model predicts "
        f"positive, and the candidate predicts only {count} {'row' if count == 1 else 'rows'} "
        "as class 1, fewer than compare.min_rows (30)",
    )
    assert statuses["require_significant"][0] == "not_evaluable"


def test_precision_on_enough_predicted_positives_is_judged() -> None:
    result = _scored("precision", *_positives(list(range(30))))
    statuses = _statuses(Gate("precision", min=0.9, require_significant=True), result)
    assert statuses == {
        "min": ("pass", "precision 1.0000 >= 0.9"),
        "require_significant": (
            "pass",
            statuses["require_significant"][1],
        ),
    }
    assert "improved significantly" in statuses["require_significant"][1]


def _three_classes(rare_predicted: int) -> tuple[Holdout, Predictions, Predictions]:
    """1,000 rows of classes a, b, c (400, 400, 200); the baseline right on 90% of each
    class, the candidate right on every row of a and b and predicting c on the first
    ``rare_predicted`` rows of c only (rightly), the other rows of c as a."""
    y = np.repeat([0, 1, 2], [400, 400, 200])
    base = y.copy()
    base[::10] = (y[::10] + 1) % 3
    cand = np.where(y == 2, 0, y)
    cand[800 : 800 + rare_predicted] = 2
    return Holdout("classification", y, ("a", "b", "c")), Predictions(cand), Predictions(base)


@pytest.mark.parametrize("rare_predicted", [1, 29])
def test_multiclass_precision_on_a_class_predicted_on_few_rows_is_not_judged(
    rare_predicted: int,
) -> None:
    """A macro precision averages each class's precision, a ratio over the rows a model
    predicts that class: one right guess of c makes c's precision 1 and lifts the average
    by a third, as one predicted positive does a binary precision."""
    holdout, candidate, baseline = _three_classes(rare_predicted)
    result = _scored("precision", holdout, candidate, baseline)
    assert result.candidate is not None and result.candidate > 0.8
    statuses = _statuses(Gate("precision", min=0.8, max_drop=0.0), result)
    rows = "row" if rare_predicted == 1 else "rows"
    assert statuses["min"] == (
        "not_evaluable",
        "min cannot be evaluated: precision is taken over the rows a model predicts each "
        f"class, and the candidate predicts only {rare_predicted} {rows} as class 'c', "
        "fewer than compare.min_rows (30)",
    )
    assert statuses["max_drop"][0] == "not_evaluable"


def test_multiclass_precision_on_every_class_predicted_on_enough_rows_is_judged() -> None:
    result = _scored("precision", *_three_classes(30))
    statuses = _statuses(Gate("precision", min=0.8, max_drop=0.0), result)
    assert statuses["min"] == ("pass", f"precision {result.candidate:.4f} >= 0.8")
    assert statuses["max_drop"][0] in ("pass", "fail")


def test_multiclass_precision_of_a_model_that_never_predicts_a_class_is_judged() -> None:
    """A class never predicted counts 0 in the average (scikit-learn's zero_division=0):
    no chance of few rows, and the gates fail on it."""
    result = _scored("precision", *_three_classes(0))
    assert result.candidate is not None and result.candidate < 0.6
    statuses = _statuses(Gate("precision", min=0.8, max_drop=0.0), result)
    assert statuses["min"] == ("fail", f"precision {result.candidate:.4f} is below the floor 0.8")
    assert statuses["max_drop"][0] == "fail"


def test_an_interval_needs_no_more_undefined_resamples_than_a_tail_holds() -> None:
    # 37 of 100 resamples undefined: the other 63 are a selected sample, not a random one
    assert (
        bootstrap.Replicates(np.array([np.nan] * 37 + [0.1] * 63), "exact").interval(0.95) is None
    )
    found = bootstrap.Replicates(np.array([np.nan] * 2 + [0.1] * 98), "exact").interval(0.95)
    assert found == pytest.approx((0.1, 0.1))


@pytest.mark.parametrize(
    ("resamples", "confidence", "defined"),
    [(100, 0.99, False), (100, 0.999, False), (100, 0.95, True), (2000, 0.999, True)],
)
def test_an_interval_needs_a_resample_in_each_tail(
    resamples: int, confidence: float, defined: bool
) -> None:
    deltas = np.random.default_rng(0).normal(size=resamples)
    found = bootstrap.Replicates(deltas, "exact").interval(confidence)
    assert (found is not None) == defined


def test_a_floor_on_a_holdout_of_one_row_counts_it_in_the_singular() -> None:
    result = _scored("accuracy", *_discordant(1000, 0, 0))
    one_row = Comparison(EVALUABLE, 1, 1, min_rows=30)
    gate = Gate("accuracy", min=0.5)
    [found] = gates.metric_gates([gate], {"accuracy": result}, 0.95, one_row, min_rows=30)
    assert (found.status, found.reason) == (
        "not_evaluable",
        "min cannot be evaluated: the candidate's holdout has only 1 row, fewer than "
        "compare.min_rows (30)",
    )
