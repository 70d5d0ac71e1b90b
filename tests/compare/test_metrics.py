"""Every metric against scikit-learn: point scores, and vectorised scores of weighted resamples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from mlgitops.evaluation.metrics import METRICS, Holdout, Predictions, kernel, score

CLASSIFICATION = ["roc_auc", "accuracy", "f1", "precision", "recall", "log_loss"]
REGRESSION = ["rmse", "mae", "r2"]


def _classification(k: int, rows: int = 300, seed: int = 0) -> tuple[Holdout, Predictions]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, rows)
    logits = rng.normal(size=(rows, k)) + 1.2 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Holdout("classification", y, tuple(range(k))), Predictions(proba.argmax(axis=1), proba)


def _regression(rows: int = 300, seed: int = 0) -> tuple[Holdout, Predictions]:
    rng = np.random.default_rng(seed)
    y = 1000.0 + rng.normal(size=rows)  # a large mean: r2 must not lose precision
    return Holdout("regression", y), Predictions(y + rng.normal(scale=0.6, size=rows))


def _sklearn(name: str, h: Holdout, p: Predictions, weight: Any = None) -> float:
    average = "binary" if h.k == 2 else "macro"
    if name == "accuracy":
        return float(skm.accuracy_score(h.y, p.labels, sample_weight=weight))
    if name in ("f1", "precision", "recall"):
        fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
        zero = np.nan if average == "binary" else 0  # binary 0/0 is undefined, as NaN
        # multiclass: averaged over the classes the rows hold (the same for both models)
        held = None if average == "binary" else np.unique(h.y)
        given = {"labels": held, "average": average, "zero_division": zero}
        return float(fn[name](h.y, p.labels, sample_weight=weight, **given))
    if name == "roc_auc":
        assert p.proba is not None
        scores = p.proba[:, 1] if h.k == 2 else p.proba
        return float(skm.roc_auc_score(h.y, scores, multi_class="ovr", sample_weight=weight))
    if name == "log_loss":
        return float(skm.log_loss(h.y, p.proba, labels=list(range(h.k)), sample_weight=weight))
    if name == "rmse":
        return float(skm.root_mean_squared_error(h.y, p.labels, sample_weight=weight))
    if name == "mae":
        return float(skm.mean_absolute_error(h.y, p.labels, sample_weight=weight))
    with np.errstate(divide="ignore", invalid="ignore"):  # its 0/0 and x/0
        found = float(skm.r2_score(h.y, p.labels, sample_weight=weight, force_finite=False))
    return found if np.isfinite(found) else np.nan  # -inf on a constant target: undefined


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_point_scores_match_sklearn(name: str, k: int) -> None:
    h, p = _classification(k)
    assert score(name, h, p) == pytest.approx(_sklearn(name, h, p), rel=1e-12)


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_point_scores_match_sklearn(name: str) -> None:
    h, p = _regression()
    assert score(name, h, p) == pytest.approx(_sklearn(name, h, p), rel=1e-9)


@pytest.mark.parametrize("name", ["recall", "f1", "precision"])
def test_both_models_are_averaged_over_the_classes_the_rows_hold(name: str) -> None:
    """A class no holdout row holds, predicted by one model on one row: averaged over the
    classes in the truth or in that model's predictions, the class entered that model's
    average only (its 0/0 as 0), a third of its recall gone, and a candidate that never
    predicts it "significantly" better. Both are averaged over the classes the rows hold;
    the stray prediction still costs the recall of the row's own class."""
    y = np.array([0] * 10 + [1] * 10 + [3] * 10)
    stray = y.copy()
    stray[0] = 2  # a class of the model's, which no row of the holdout holds
    h = Holdout("classification", y, (0, 1, 2, 3))
    held = [0, 1, 3]
    expected = {
        "recall": skm.recall_score(y, stray, labels=held, average="macro"),
        "f1": skm.f1_score(y, stray, labels=held, average="macro"),
        "precision": skm.precision_score(y, stray, labels=held, average="macro"),
    }[name]
    assert score(name, h, Predictions(stray)) == pytest.approx(expected)
    assert score("recall", h, Predictions(stray)) == pytest.approx((0.9 + 1 + 1) / 3)
    assert score(name, h, Predictions(y)) == 1.0


def test_macro_averages_skip_classes_that_neither_truth_nor_prediction_contains() -> None:
    y = np.array([0, 0, 1, 1, 1, 0])
    labels = np.array([0, 1, 1, 1, 0, 0])
    h, p = Holdout("classification", y, (0, 1, 2)), Predictions(labels)
    for name in ("f1", "precision", "recall"):
        expected = _sklearn(name, Holdout("classification", y, (0, 1, 2)), p)
        assert score(name, h, p) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("task", "name"),
    [("binary", n) for n in CLASSIFICATION]
    + [("multiclass", n) for n in CLASSIFICATION]
    + [("regression", n) for n in REGRESSION],
)
def test_vectorised_resample_scores_equal_sklearn_with_counts_as_weights(
    task: str, name: str
) -> None:
    if task == "regression":
        h, cand = _regression(seed=1)
        _, base = _regression(seed=2)
    else:
        h, cand = _classification(2 if task == "binary" else 3, seed=1)
        base = _classification(h.k, seed=2)[1]
    rng = np.random.default_rng(5)
    counts = np.stack(
        [np.bincount(rng.integers(0, h.rows, h.rows), minlength=h.rows) for _ in range(4)]
    )
    k = kernel(name, h, cand, base)
    # one cell per row, or pooled cells: the row counts summed as the kernel pooled them
    one_per_row = k.sizes.sum() == len(k.sizes)
    cells = counts.astype(float) if one_per_row else _cells(h, cand, base, counts)
    got_c, got_b = k.values(cells)
    for i, c in enumerate(counts):
        rows = c > 0
        for got, model in ((got_c[i], cand), (got_b[i], base)):
            expected = _sklearn(name, h.take(rows), model.take(rows), weight=c[rows])
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-12, nan_ok=True)


def test_each_metric_knows_its_direction() -> None:
    lower = {n for n, m in METRICS.items() if not m.higher_is_better}
    assert lower == {"log_loss", "rmse", "mae"}


@pytest.mark.parametrize(
    ("y", "labels", "undefined"),
    [
        ([0, 0, 0, 0], [0, 1, 0, 1], {"recall", "roc_auc"}),  # no positive row
        ([0, 1, 0, 1], [0, 0, 0, 0], {"precision"}),  # no positive prediction
        ([0, 0, 0, 0], [0, 0, 0, 0], {"recall", "precision", "f1", "roc_auc"}),
    ],
)
def test_binary_ratios_at_zero_over_zero_are_undefined_not_zero(
    y: list[int], labels: list[int], undefined: set[str]
) -> None:
    """Counted as 0, a recall on rows without a positive was 0 for both models: "did not
    worsen", whatever the candidate did. scikit-learn's ``zero_division=np.nan`` agrees."""
    h = Holdout("classification", np.array(y), (0, 1))
    proba = np.array([[0.6, 0.4], [0.3, 0.7], [0.8, 0.2], [0.1, 0.9]])
    p = Predictions(np.array(labels), proba)
    for name in ("recall", "precision", "f1", "roc_auc"):
        found = score(name, h, p)
        assert (found is None) == (name in undefined), (name, found)
        if name != "roc_auc":
            assert np.isnan(_sklearn(name, h, p)) == (name in undefined)


def test_binary_ratios_undefined_in_some_resamples_are_left_out_of_the_interval() -> None:
    """A resample without a positive row defines no recall: NaN there, never 0."""
    h = Holdout("classification", np.array([1] + [0] * 9), (0, 1))
    cand = Predictions(np.array([1] + [0] * 9))
    counts = np.array([[0] + [1] * 9, [1] * 10], dtype=float)
    values, _ = kernel("recall", h, cand, cand).values(_cells(h, cand, cand, counts))
    assert np.isnan(values[0]) and values[1] == 1.0


def _cells(h: Holdout, cand: Predictions, base: Predictions, counts: Any) -> Any:
    """Row counts pooled into a confusion kernel's cells, the way the kernel pools them."""
    code = (h.y * h.k + cand.labels) * h.k + base.labels
    cells = np.stack([np.bincount(code, weights=c, minlength=h.k**3) for c in counts])
    return cells[:, np.flatnonzero(np.bincount(code, minlength=h.k**3))]


@pytest.mark.parametrize("predicted", [[3.0, 3.0, 3.0], [3.0, 2.0, 4.0]])
def test_r2_is_undefined_on_a_constant_target(predicted: list[float]) -> None:
    """It was 1 when predicted exactly and 0 otherwise: two models of any quality both
    scored 0, and an r2 max_drop gate passed. scikit-learn, made to say it, gives NaN or
    -inf."""
    h, p = Holdout("regression", np.array([3.0, 3.0, 3.0])), Predictions(np.array(predicted))
    assert score("r2", h, p) is None
    assert np.isnan(_sklearn("r2", h, p))
    assert score("rmse", h, p) == pytest.approx(_sklearn("rmse", h, p))


@pytest.mark.parametrize(
    ("y", "classes", "expected"),
    [
        ([0, 0, 1, 0], (0, 1), (1, 1)),
        ([0, 0, 0], (0, 1), (1, 0)),  # a binary task's absent class: none of its rows
        ([0, 2, 2, 0, 0], (0, 1, 2), (2, 2)),  # multiclass: among the classes held
        (["no", "yes", "yes"], ("no", "yes"), ("no", 1)),
    ],
)
def test_the_fewest_rows_of_a_class_a_class_metric_rests_on(
    y: list[Any], classes: tuple[Any, ...], expected: tuple[Any, int]
) -> None:
    from mlgitops.evaluation.metrics import fewest_of_a_class

    codes = np.array([classes.index(v) for v in y])
    h = Holdout("classification", codes, classes)
    for name in ("roc_auc", "precision", "recall", "f1"):
        assert fewest_of_a_class(name, h) == expected
    assert fewest_of_a_class("accuracy", h) is None
    assert fewest_of_a_class("log_loss", h) is None


def test_roc_auc_is_undefined_on_rows_of_one_class() -> None:
    h = Holdout("classification", np.array([1, 1, 1]), (0, 1))
    p = Predictions(np.array([1, 1, 0]), np.array([[0.2, 0.8], [0.4, 0.6], [0.7, 0.3]]))
    assert score("roc_auc", h, p) is None
    assert score("accuracy", h, p) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("values", "dtype", "classes"),
    [
        ([0, 1, 1, 0], "int64", (0, 1)),
        ([0.0, 1.0, 1.0], "float64", (0, 1)),
        ([1.5, 2.0], "float64", (1.5, 2)),
        ([True, False, True], "bool", (False, True)),
        (["no", "yes", "no"], "object", ("no", "yes")),
        (["a", 1, "a", 2.0], "object", ("a", 1, 2)),
        ([1, 2, None], "Int64", (1, 2)),
        (["x", "y"], "string", ("x", "y")),
        (["x", "y", "x"], "category", ("x", "y")),
        ([3, 4, 5], "int32", (3, 4, 5)),
    ],
)
def test_labels_are_codes_as_pandas_matches_each_value_on_its_own(
    values: list[Any], dtype: str, classes: tuple[Any, ...]
) -> None:
    """``encode`` hands pandas the column, not a list of its values (40,000 of them as
    Python objects took 7 ms a column): the codes are those of matching value by value."""
    import pandas as pd

    from mlgitops.errors import DataError
    from mlgitops.evaluation.pointscore import encode

    column = pd.Series(values, dtype=dtype)
    expected = pd.Index(list(classes)).get_indexer(list(column)).tolist()
    if -1 in expected:
        with pytest.raises(DataError, match="is not one of the model's classes"):
            encode(column, classes, "predictions.parquet", None)
    else:
        assert encode(column, classes, "predictions.parquet", None).tolist() == expected


def test_a_baseline_past_any_number_makes_its_metric_undefined_not_infinite() -> None:
    """A deployed model predicting inf (a sentinel value it was never trained on) scores an
    infinite error: no JSON number, so undefined, and the relative gate cannot stand on it."""
    import json

    from mlgitops.evaluation.scoring import BootstrapSettings, score_metrics

    truth = np.linspace(0.0, 10.0, 50)
    holdout = Holdout("regression", truth, ())
    candidate = Predictions(truth + 0.5)
    baseline = Predictions(np.where(np.arange(50) % 10 == 0, -np.inf, truth))
    settings = BootstrapSettings(resamples=50, confidence=0.95, seed=0)
    results = score_metrics(["rmse", "r2", "mae"], holdout, candidate, baseline, settings)
    for result in results:
        assert result.candidate is not None and result.baseline is None, result
        assert (result.delta, result.ci) == (None, None)
        assert result.unavailable == "it is undefined on the compared rows"
    json.dumps([r.baseline for r in results], allow_nan=False)


@pytest.mark.parametrize(
    ("given", "usable"),
    [
        ([[0.2, 0.8], [0.6, 0.4]], True),
        ([[0.0, 0.0], [0.6, 0.4]], False),
        ([[0.0, 0.8], [0.6, 0.0]], True),
        ([[-0.1, 1.1], [0.6, 0.4]], False),
    ],
)
def test_a_model_s_probabilities_with_a_row_of_zeros_score_nothing(
    given: list[list[float]], usable: bool
) -> None:
    """A deployed (or re-scored) model's outputs: a row whose probabilities are all 0 is no
    distribution, so the model's probability metrics are undefined (their gates fail
    closed) rather than scored as ties (roc_auc 0.5)."""
    from mlgitops.evaluation.handoff import predictions_of

    holdout = Holdout("classification", np.array([1, 0]), (0, 1))
    found = predictions_of(np.array([1, 0]), np.array(given), [0, 1], holdout, "the model")
    assert (found.proba is not None) is usable
