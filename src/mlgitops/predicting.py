"""A model's predictions and class probabilities on the same rows, with the work they share
done once: what ``train`` records for its holdout and ``compare`` asks of the deployed model.

scikit-learn computes both ``predict`` and ``predict_proba`` of most classifiers from one
costly step that each method runs on its own: ``_raw_predict`` (gradient boosting's trees),
``predict_proba`` itself (a forest's ``predict`` votes with it), ``decision_function``
(linear models). Asked for both on the same rows, a model ran that step twice: for the
histogram gradient boosting of ``mlgitops init``'s example, the second pass over every tree
was a tenth of the whole ``train``.

:func:`outputs` calls the model's own ``predict_proba`` and ``predict``, unchanged, while
those three methods answer a second call with the very same input from the first (each
caller gets a copy: some methods change the array they are given in place). So the
values are the ones the two calls give on their own, whatever the class does inside
(tests hold them equal for every kind of classifier), and the step runs once. A scikit-learn
``Pipeline``'s steps before its last transform the rows once for both, as its own
``predict`` and ``predict_proba`` would each do (a subclass of it is asked itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The methods that both ``predict`` and ``predict_proba`` call with their input.
SHARED = ("_raw_predict", "decision_function", "predict_proba")


def outputs(model: Any, frame: Any, proba: bool) -> tuple[Any, Any, Any]:
    """``model.predict(frame)``; with ``proba``, where the model has ``predict_proba`` and
    ``classes_``, also ``model.predict_proba(frame)`` and ``model.classes_`` (else None,
    None)."""
    if not (proba and hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        return model.predict(frame), None, None
    final, given = encoded(model, frame)
    with _once(final, given):
        probabilities = final.predict_proba(given)
        predicted = final.predict(given)
    return predicted, probabilities, model.classes_


def encoded(model: Any, frame: Any) -> tuple[Any, Any]:
    """The model's last step and its input: what ``predict`` and ``predict_proba`` of a
    scikit-learn Pipeline hand that step, the transforms before it run once."""
    from sklearn.pipeline import Pipeline

    # scikit-learn's own Pipeline only: a subclass (imbalanced-learn's, one with its own
    # threshold or calibration) predicts in its own way, so it is asked itself
    if type(model) is Pipeline and len(model) > 1 and hasattr(model[-1], "predict"):
        return model[-1], model[:-1].transform(frame)
    return model, frame


@contextmanager
def _once(model: Any, given: Any) -> Iterator[None]:
    """While inside, each of :data:`SHARED` that ``model`` has answers a call with ``given``
    alone from its first such call. Nothing is left on the model after (it is pickled as
    it was)."""
    own = getattr(model, "__dict__", None)
    placed: list[str] = []
    if isinstance(own, dict):
        for name in SHARED:
            method = getattr(model, name, None)
            if callable(method) and name not in own:
                own[name] = _remembering(method, given)
                placed.append(name)
    try:
        yield
    finally:
        for name in placed:
            own.pop(name, None)  # type: ignore[union-attr]


def _remembering(method: Any, given: Any) -> Any:
    """``method``, answering a call with ``given`` alone from the first such call (an array
    result: a copy of it each time; any other result is not kept)."""
    import numpy as np

    kept: list[Any] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != 1 or args[0] is not given:
            return method(*args, **kwargs)
        if kept:
            return kept[0].copy()
        result = method(given)
        if isinstance(result, np.ndarray):
            kept.append(result.copy())
        return result

    return call
