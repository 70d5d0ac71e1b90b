"""A model's predictions and probabilities with their shared work done once
(mlgitops.predicting): the same values as the model's own two calls, for every kind of
classifier, the costly step run once, and nothing left on the model."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from mlgitops.predicting import SHARED, outputs


def _data(classes: int, rows: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(classes)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            # few distinct values: ties in the trees' votes and in the neighbours' counts
            "b": rng.integers(0, 3, size=rows).astype(float),
            "color": rng.choice(["red", "green", "blue"], size=rows),
        }
    )
    signal = frame["a"] + (frame["color"] == "red") + rng.normal(scale=0.8, size=rows)
    target = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1]))
    return frame, np.array([f"class-{t}" for t in target])


def _pipeline(estimator: Any, native: bool = False) -> Pipeline:
    """The encoding mlgitops' built-in trainer puts before the estimator."""
    if native:
        encode = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
    else:
        encode = OneHotEncoder(handle_unknown="ignore")
    return Pipeline(
        [
            ("encode", ColumnTransformer([("c", encode, ["color"])], remainder="passthrough")),
            ("model", estimator),
        ]
    )


CLASSIFIERS = {
    "hist gradient boosting": lambda: _pipeline(
        HistGradientBoostingClassifier(
            max_iter=30, random_state=0, categorical_features=[True, False, False]
        ),
        native=True,
    ),
    "random forest": lambda: _pipeline(RandomForestClassifier(n_estimators=15, random_state=0)),
    "extra trees": lambda: _pipeline(ExtraTreesClassifier(n_estimators=15, random_state=0)),
    "decision tree": lambda: _pipeline(DecisionTreeClassifier(max_depth=4, random_state=0)),
    "gradient boosting": lambda: _pipeline(
        GradientBoostingClassifier(n_estimators=20, random_state=0)
    ),
    "logistic regression": lambda: _pipeline(LogisticRegression(max_iter=500)),
    "nearest neighbours": lambda: _pipeline(KNeighborsClassifier(n_neighbors=4)),
    "naive bayes": lambda: _pipeline(GaussianNB()),
    "calibrated svc": lambda: _pipeline(CalibratedClassifierCV(SVC(), ensemble=False)),
}


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_the_values_are_the_models_own_two_calls(kind: str, classes: int) -> None:
    frame, target = _data(classes)
    model = CLASSIFIERS[kind]().fit(frame, target)
    holdout, _ = _data(classes, rows=250)
    predicted, proba, known = outputs(model, holdout, proba=True)
    np.testing.assert_array_equal(predicted, model.predict(holdout))
    np.testing.assert_array_equal(proba, model.predict_proba(holdout))
    assert list(known) == list(model.classes_)
    assert len(set(predicted)) > 1  # the holdout is not all one class: the check can fail


def test_without_probabilities_the_model_predicts_as_it_would() -> None:
    frame, target = _data(2)
    model = CLASSIFIERS["random forest"]().fit(frame, target)
    predicted, proba, known = outputs(model, frame, proba=False)
    np.testing.assert_array_equal(predicted, model.predict(frame))
    assert proba is None and known is None
    regressor = HistGradientBoostingRegressor(max_iter=10).fit(frame[["a", "b"]], frame["a"])
    predicted, proba, known = outputs(regressor, frame[["a", "b"]], proba=True)
    np.testing.assert_array_equal(predicted, regressor.predict(frame[["a", "b"]]))
    assert proba is None and known is None


class _Counted:
    """Counts calls of one method of a class, wherever they come from."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> None:
        self.calls = 0
        original = getattr(cls, name)

        def counted(model: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(model, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)


@pytest.mark.parametrize(
    ("kind", "cls", "step"),
    [
        ("hist gradient boosting", HistGradientBoostingClassifier, "_raw_predict"),
        ("random forest", RandomForestClassifier, "predict_proba"),
        ("logistic regression", LogisticRegression, "decision_function"),
    ],
)
def test_the_costly_step_runs_once(
    monkeypatch: pytest.MonkeyPatch, kind: str, cls: type, step: str
) -> None:
    frame, target = _data(3)
    model = CLASSIFIERS[kind]().fit(frame, target)
    expected = (model.predict(frame), model.predict_proba(frame))
    counted = _Counted(monkeypatch, cls, step)
    predicted, proba, _ = outputs(model, frame, proba=True)
    assert counted.calls == 1
    np.testing.assert_array_equal(predicted, expected[0])
    np.testing.assert_array_equal(proba, expected[1])
    # called again, on other rows, the step runs again: nothing is kept between calls
    outputs(model, frame.iloc[:50], proba=True)
    assert counted.calls == 2


def test_nothing_is_left_on_the_model_even_when_it_raises() -> None:
    frame, target = _data(2)
    model = CLASSIFIERS["hist gradient boosting"]().fit(frame, target)
    final = model[-1]
    before, pickled = dict(vars(final)), pickle.dumps(model)
    outputs(model, frame, proba=True)
    assert vars(final) == before and pickle.dumps(model) == pickled
    with pytest.raises(ValueError, match="columns"):
        outputs(model, frame.drop(columns=["color"]), proba=True)
    assert not set(SHARED) & set(vars(final)) and pickle.dumps(model) == pickled


class _Rewrites(ClassifierMixin, BaseEstimator):
    """A classifier whose ``predict`` writes into the array ``predict_proba`` gave it, and
    whose ``predict_proba`` writes into the scores ``decision_function`` gave it."""

    def fit(self, frame: Any, target: Any) -> _Rewrites:
        self.classes_ = np.unique(target)
        return self

    def decision_function(self, frame: Any) -> np.ndarray:
        column = np.asarray(frame)[:, 0].astype(float)
        return np.column_stack([-column, column])

    def predict_proba(self, frame: Any) -> np.ndarray:
        scores = self.decision_function(frame)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict(self, frame: Any) -> np.ndarray:
        proba = self.predict_proba(frame)
        chosen = proba.argmax(axis=1)
        proba[:] = -1.0
        return self.classes_[chosen]


def test_a_method_that_writes_into_what_it_was_given_changes_nobody_elses_values() -> None:
    frame = pd.DataFrame({"a": np.linspace(-2, 2, 41)})
    model = _Rewrites().fit(frame, np.where(frame["a"] > 0, "yes", "no"))
    predicted, proba, _ = outputs(model, frame, proba=True)
    np.testing.assert_array_equal(proba, model.predict_proba(frame))
    np.testing.assert_array_equal(predicted, model.predict(frame))
    assert (proba >= 0).all()


def test_an_attribute_the_model_already_holds_is_left_alone() -> None:
    frame, target = _data(2)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(frame[["a", "b"]], target)
    own = model.predict_proba
    model.__dict__["predict_proba"] = own  # set by the model's author: not replaced, not removed
    outputs(model, frame[["a", "b"]], proba=True)
    assert model.__dict__["predict_proba"] is own


class _Stricter(Pipeline):
    """A pipeline subclass with a threshold of its own: its predictions are not its last
    step's, and its probabilities are rescaled."""

    def predict(self, frame: Any) -> np.ndarray:
        return np.where(self.predict_proba(frame)[:, 1] > 0.3, self.classes_[1], self.classes_[0])

    def predict_proba(self, frame: Any) -> np.ndarray:
        proba = np.asarray(super().predict_proba(frame))
        raised = np.clip(proba[:, 1] * 1.2, 0, 1)
        return np.column_stack([1 - raised, raised])


def test_a_pipeline_subclass_is_asked_itself() -> None:
    frame, target = _data(2)
    model = _Stricter(CLASSIFIERS["logistic regression"]().steps).fit(frame, target)
    predicted, proba, _ = outputs(model, frame, proba=True)
    np.testing.assert_array_equal(predicted, model.predict(frame))
    np.testing.assert_array_equal(proba, model.predict_proba(frame))
    assert (predicted != model[-1].predict(model[:-1].transform(frame))).any()
