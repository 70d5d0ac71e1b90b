"""Holdout metrics, computed the same way for every trainer.

Classification: the positive class of a binary task is the larger label
(``classes[-1]``, e.g. 1 of 0/1); ``f1``, ``precision`` and ``recall`` are
binary for two classes and macro-averaged otherwise; ``roc_auc`` uses the
predicted probabilities (one-vs-rest, macro, for more than two classes) and
``log_loss`` needs them too. Regression: ``rmse``, ``mae``, ``r2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def score(
    task: str,
    names: Sequence[str],
    y_true: Any,
    y_pred: Any,
    proba: Any | None = None,
    classes: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Each named metric on the holdout; a metric that cannot be computed is left out."""
    return {
        name: value
        for name in names
        if (value := _one(task, name, y_true, y_pred, proba, classes)) is not None
    }


def _one(task: str, name: str, y_true: Any, y_pred: Any, proba: Any, classes: Any) -> float | None:
    from sklearn import metrics as m

    if task == "regression":
        if name == "rmse":
            return float(m.root_mean_squared_error(y_true, y_pred))
        return float({"mae": m.mean_absolute_error, "r2": m.r2_score}[name](y_true, y_pred))
    binary = classes is not None and len(classes) == 2
    averaged: dict[str, Any] = {"pos_label": classes[-1]} if binary else {"average": "macro"}
    if name == "accuracy":
        return float(m.accuracy_score(y_true, y_pred))
    if name in ("f1", "precision", "recall"):
        fn = {"f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[name]
        return float(fn(y_true, y_pred, zero_division=0, **averaged))
    if proba is None:
        return None
    if name == "log_loss":
        return float(m.log_loss(y_true, proba, labels=list(classes)))
    if name == "roc_auc":
        if binary:
            return float(m.roc_auc_score(y_true, proba[:, -1]))
        return float(m.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(classes)))
    return None
