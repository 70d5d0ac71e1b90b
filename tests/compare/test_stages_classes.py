"""Metrics taken over the classes (roc_auc, precision, recall, f1) on a holdout with few rows
of a class, played through the real stages as in :mod:`tests.compare.test_stages`: a value
resting on one or two rows of a class is no evidence, whatever the holdout's size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from tests.compare.test_stages import FEATURES, PullRequest, deployed, pr

pytestmark = pytest.mark.slow
__all__ = ["deployed", "pr"]  # the fixtures this module's tests use


def fresh_rows(negatives: int, positives: int) -> pd.DataFrame:
    """Rows of the same kind as the data, none of them the deployed model's training rows."""
    x, y = make_classification(
        n_samples=2000, n_features=6, n_informative=4, n_redundant=0, flip_y=0.1,
        class_sep=0.8, random_state=5,
    )  # fmt: skip
    frame = pd.DataFrame(np.round(x, 6), columns=FEATURES)
    frame["y"] = y
    kept = pd.concat([frame[frame.y == 0].head(negatives), frame[frame.y == 1].head(positives)])
    return kept.sample(frac=1.0, random_state=0)


def _gates(pr: PullRequest) -> dict[tuple[str, str], dict[str, object]]:
    return {(g["metric"], g["condition"]): g for g in pr.verdict()["gates"]}


@pytest.mark.parametrize("positives", [0, 1, 2])
def test_a_class_metric_is_not_judged_on_a_holdout_with_few_rows_of_a_class(
    pr: PullRequest, positives: int
) -> None:
    """A holdout of 100 rows, one of them positive: roc_auc's floor and its significance and
    recall's floor were judged on that one row (roc_auc 1.0, "significant"), and passed;
    with no positive row, recall was 0 for both models and "did not worsen". Those
    conditions are now not evaluable, naming the class and its rows; accuracy, a mean over
    every row, is judged as before."""
    pr.spec("metrics: [roc_auc, accuracy]", "metrics: [roc_auc, accuracy, recall]")
    pr.spec(
        "  roc_auc: {max_drop: 0.05}\n",
        "  roc_auc: {min: 0.5, max_drop: 0.05, require_significant: true}\n"
        "  recall: {min: 0.1, max_drop: 0.5}\n",
    )
    fresh_rows(100 - positives, positives).to_csv(pr.root / "data" / "test.csv", index=False)
    pr.spec("  split: {test_size: 0.3, seed: 42}\n", "  test_path: data/test.csv\n")
    code, out = pr.run()
    assert code == 1, out
    gates = _gates(pr)
    rows = "row" if positives == 1 else "rows"
    for metric, condition in [
        ("roc_auc", "min"),
        ("roc_auc", "max_drop"),
        ("roc_auc", "require_significant"),
        ("recall", "min"),
        ("recall", "max_drop"),
    ]:
        gate = gates[(metric, condition)]
        where = "candidate's holdout holds" if condition == "min" else "compared rows hold"
        assert gate["status"] == "not_evaluable", gate
        assert gate["reason"] == (
            f"{condition} cannot be evaluated: {metric} is taken over the classes, and the "
            f"{where} only {positives} {rows} of class 1, fewer than compare.min_rows (30)"
        ), gate
    assert gates[("accuracy", "min")]["status"] in ("pass", "fail")
    assert pr.verdict()["passed"] is False
    assert f"holds only {positives} {rows} of class 1" in pr.output("report.md")
