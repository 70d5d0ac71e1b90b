"""The built-in trainer: any scikit-learn-API estimator class, named by import path.

Categorical features (see :mod:`mlgitops.training.data` for which columns
count) are encoded inside the logged model, so the model takes the raw
columns when served:

- estimators with native categorical support (a ``categorical_features``
  parameter, e.g. ``HistGradientBoostingClassifier``): an ``OrdinalEncoder``
  (unknown and missing values become missing; at most ``max_bins`` categories,
  rarer ones grouped) feeds the estimator with those columns marked categorical;
- every other estimator: a ``OneHotEncoder`` (at most 50 columns per feature,
  rarer categories grouped as infrequent; unseen categories encode as infrequent
  or all zeros).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from mlgitops import proc
from mlgitops.errors import DataError, Problem, SpecError, first_line
from mlgitops.features import native
from mlgitops.outputs import ROW
from mlgitops.predicting import outputs
from mlgitops.spec.model import Pipeline
from mlgitops.training.base import Fitted, TrainJob, progress
from mlgitops.training.fit_errors import beyond, emptied
from mlgitops.training.gpu import device_params, serving_params
from mlgitops.training.mlmodel import ModelIdentity, write_sklearn_model

ONE_HOT_MAX_CATEGORIES = 50
_PARAM_IN_MESSAGE = re.compile(r"The '([^']+)' parameter")


class SklearnTrainer:
    """``model.estimator`` + ``model.params``."""

    name = "sklearn"

    def check(self, pipeline: Pipeline, spec_text: str) -> list[Problem]:
        try:
            _estimator(pipeline, spec_text)
        except SpecError as exc:
            return list(exc.problems)
        return []

    def fit(self, job: TrainJob) -> Fitted:
        with proc.SafeModulePath():  # the estimator's workers import no module of the checkout
            return self._fit(job)

    def _fit(self, job: TrainJob) -> Fitted:
        estimator = _estimator(job.pipeline, job.spec_text)
        chosen = _use_device(estimator, job)
        split = job.split
        model, encoding = _with_encoding(estimator, split.features, split.categorical)
        x_train, y_train = split.train[list(split.features)], split.train[split.target]
        title = f"fit {type(estimator).__name__} on {len(x_train)} rows"
        with progress(title):
            try:
                model.fit(x_train, y_train)
            except ValueError as exc:
                spec_error = _param_error(job.pipeline, job.spec_text, exc)
                if spec_error:
                    raise spec_error from exc
                raise DataError(
                    f"{job.pipeline.data.path}: {title} failed: {first_line(exc)}"
                    f"{emptied(x_train) or beyond(exc, split.train, split.features)}"
                ) from exc
            except MemoryError:
                raise
            except Exception as exc:  # the estimator's own failure on the spec's parameters
                raise _failed(job.pipeline, job.spec_text, title, exc) from exc
        # The run records the parameters of the fit; the model it logs predicts on the CPU,
        # as where it is served, and the holdout's predictions are the served model's.
        params = {k: _short(v) for k, v in estimator.get_params(deep=False).items()}
        params["categorical_encoding"] = encoding
        serving = serving_params(chosen)
        if serving:
            estimator.set_params(**serving)
        return _predict(model, estimator, split, params, job)


def _failed(pipeline: Pipeline, spec_text: str, title: str, exc: Exception) -> SpecError:
    """What the estimator raised other than a ValueError, at the spec's ``model`` section:
    its class and parameters are the spec's, whatever it trips on."""
    message = f"model: {title} failed: {type(exc).__name__}: {first_line(exc)}"
    return SpecError([_problem(pipeline, spec_text, ["model"], message, at_key=True)])


def _predict(
    model: Any, estimator: Any, split: Any, params: dict[str, str], job: TrainJob
) -> Fitted:
    import numpy as np
    import pandas as pd

    pipeline = job.pipeline
    x_holdout = split.holdout[list(split.features)]
    title = f"predict with {type(estimator).__name__} on {len(x_holdout)} holdout rows"
    try:
        y_pred, proba, known = outputs(model, x_holdout, proba=True)
    except ValueError as exc:  # what the spec's parameters let the fit take and not this
        where = beyond(exc, split.holdout, split.features)
        raise DataError(f"{pipeline.data.path}: {title} failed: {first_line(exc)}{where}") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise _failed(pipeline, job.spec_text, title, exc) from exc
    columns: dict[str, Any] = {ROW: split.holdout[ROW].to_numpy(), "y_pred": y_pred}
    # the split's classes: a class the holdout alone holds, the model never predicts
    classes = split.classes() if pipeline.task == "classification" else None
    if proba is not None and classes is not None:
        column = {native(c): i for i, c in enumerate(known)}
        never = np.zeros(len(x_holdout))
        columns.update(
            {f"proba_{c}": proba[:, column[c]] if c in column else never for c in classes}
        )
    predictions = pd.DataFrame(columns)

    def save(folder: Path, identity: ModelIdentity) -> None:
        write_sklearn_model(
            folder, model, x_holdout, y_pred, identity, extra=_extra_dists(estimator)
        )

    return Fitted(predictions=predictions, save_model=save, classes=classes, params=params)


def _estimator(pipeline: Pipeline, spec_text: str) -> Any:
    """An unfitted estimator from the spec; problems at the spec's line:col."""
    path = pipeline.model.estimator or ""
    cls = _import_class(path)
    if cls is None or not (hasattr(cls, "fit") and hasattr(cls, "predict")):
        what = "cannot be imported" if cls is None else "is not an estimator (no fit/predict)"
        raise _spec_error(
            pipeline, spec_text, ["model", "estimator"], f"model.estimator: {path} {what}"
        )
    bad = _unknown_params(cls, pipeline.model.params)
    problems = [
        _problem(pipeline, spec_text, ["model", "params", k], msg, at_key=True) for k, msg in bad
    ]
    unknown = {k for k, _ in bad}
    for key, value in pipeline.model.params.items():
        if key not in unknown:  # each known value on its own, so every bad one is named
            problems += _value_problems(pipeline, spec_text, cls, key, value)
    if problems:
        raise SpecError(problems)
    try:
        estimator = cls(**pipeline.model.params)
    except Exception as exc:  # the class's own refusal of the spec's parameters
        msg = f"model.params: {path} cannot be made from them: {exc}"
        raise _spec_error(pipeline, spec_text, ["model", "params"], msg) from exc
    _check_kind(pipeline, spec_text, estimator, path)
    # scikit-learn's own check, where the class declares its constraints (XGBoost,
    # LightGBM ... inherit the method but not the constraints).
    validate = getattr(estimator, "_validate_params", None)
    if callable(validate) and isinstance(getattr(cls, "_parameter_constraints", None), dict):
        try:
            validate()
        except ValueError as exc:
            spec_error = _param_error(pipeline, spec_text, exc)
            if spec_error:
                raise spec_error from exc
            raise
    return estimator


def _value_problems(
    pipeline: Pipeline, spec_text: str, cls: Any, key: str, value: Any
) -> list[Problem]:
    """scikit-learn's refusal of one parameter's value, the others left at their defaults
    (none where the class declares no constraints, or cannot be made so)."""
    if not isinstance(getattr(cls, "_parameter_constraints", None), dict):
        return []
    try:
        alone = cls(**{key: value})
        alone._validate_params()
    except ValueError as exc:
        error = _param_error(pipeline, spec_text, exc)
        return list(error.problems) if error else []
    except Exception:  # the class needs others beside it: the whole set is judged below
        return []
    return []


def _use_device(estimator: Any, job: TrainJob) -> dict[str, Any]:
    """Point an estimator with a device setting at the GPU when the job has one; the
    setting it was given."""
    accepted = estimator.get_params(deep=False)
    chosen = device_params(job.pipeline.model.params, accepted, job.device == "cuda")
    if chosen:
        estimator.set_params(**chosen)
    return chosen


def _import_class(path: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, attr, None)
    return found if inspect.isclass(found) else None


def _unknown_params(cls: Any, params: dict[str, Any]) -> list[tuple[str, str]]:
    signature = inspect.signature(cls.__init__)
    accepted = [n for n, p in signature.parameters.items() if n != "self"]
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return []
    found = []
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            found.append(
                (key, f"model.params.{key}: {cls.__name__} has no parameter '{key}'{hint}")
            )
    return found


def _check_kind(pipeline: Pipeline, spec_text: str, estimator: Any, path: str) -> None:
    """A classifier for classification, a regressor for regression; an estimator that does
    not say what it is is taken at its word. A classifier without class probabilities
    (``predict_proba``) is refused only where a listed metric is scored on them."""
    from mlgitops.evaluation.metrics import metric

    wanted = "classifier" if pipeline.task == "classification" else "regressor"
    kind = _estimator_type(estimator)
    if kind is not None and kind != wanted:
        article = "an" if kind[0] in "aeiou" else "a"
        msg = f"model.estimator: {path} is {article} {kind}, but the task is {pipeline.task}"
        raise _spec_error(pipeline, spec_text, ["model", "estimator"], msg)
    needing = [name for name in pipeline.metrics if metric(name).needs_proba]
    if wanted == "classifier" and needing and not hasattr(estimator, "predict_proba"):
        listed = " and ".join(needing)
        msg = (
            f"model.estimator: {path} gives no class probabilities (predict_proba), which "
            f"{listed} {'is' if len(needing) == 1 else 'are'} scored on: choose a classifier "
            "that gives them, set the parameter that turns them on, or list only metrics "
            "scored on labels (accuracy, f1, precision, recall)"
        )
        raise _spec_error(pipeline, spec_text, ["model", "estimator"], msg)


def _estimator_type(estimator: Any) -> str | None:
    """What the estimator says it is: classifier, regressor, clusterer, outlier_detector,
    ... (scikit-learn's tags); None where it does not say."""
    try:
        from sklearn.utils import get_tags
    except ImportError:  # scikit-learn before 1.6
        kind = getattr(estimator, "_estimator_type", None)
    else:
        try:
            kind = get_tags(estimator).estimator_type
        except Exception:  # a class whose tags cannot be read says nothing
            kind = getattr(estimator, "_estimator_type", None)
    return kind.replace("_", " ") if isinstance(kind, str) else None


def _param_error(pipeline: Pipeline, spec_text: str, exc: ValueError) -> SpecError | None:
    """An invalid parameter value reported by scikit-learn, at that parameter's line."""
    match = _PARAM_IN_MESSAGE.search(str(exc))
    if not match or match.group(1) not in pipeline.model.params:
        return None
    key = match.group(1)
    message = str(exc).split("\n")[0]
    return _spec_error(
        pipeline, spec_text, ["model", "params", key], f"model.params.{key}: {message}"
    )


def _spec_error(
    pipeline: Pipeline, spec_text: str, path: list[str | int], message: str
) -> SpecError:
    return SpecError([_problem(pipeline, spec_text, path, message)])


def _problem(
    pipeline: Pipeline, spec_text: str, path: list[str | int], message: str, at_key: bool = False
) -> Problem:
    from mlgitops.spec import spec_problem

    return spec_problem(None, pipeline, path, message, text=spec_text, at_key=at_key)


def _with_encoding(
    estimator: Any, features: tuple[str, ...], categorical: tuple[str, ...]
) -> tuple[Any, str]:
    """The estimator alone, or in a Pipeline that encodes the categorical features."""
    if not categorical:
        return estimator, "none"
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline as SkPipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    params = estimator.get_params(deep=False)
    native = "categorical_features" in params and params["categorical_features"] in (
        None,
        "from_dtype",
    )
    if native:
        encoder: Any = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=int(params.get("max_bins", 255)),
        )
        numeric = [f for f in features if f not in categorical]
        estimator.set_params(
            categorical_features=[True] * len(categorical) + [False] * len(numeric)
        )
        encoding = "ordinal-native"
    else:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=ONE_HOT_MAX_CATEGORIES,
            sparse_output=False,
        )
        encoding = "one-hot"
    # pandas out, as the estimator gets the data without categories: a boolean feature with
    # gaps (pandas' ``boolean``) passes as it is, where a numpy stack of it fails on its NA
    columns = ColumnTransformer(
        [("categorical", encoder, list(categorical))], remainder="passthrough"
    ).set_output(transform="pandas")
    return SkPipeline([("encode", columns), ("model", estimator)]), encoding


def _extra_dists(estimator: Any) -> tuple[str, ...]:
    """The installed distributions that provide the estimator's package (``xgboost-cpu``...)."""
    from importlib.metadata import packages_distributions

    top = type(estimator).__module__.split(".")[0]
    if top == "sklearn":
        return ()
    return tuple(sorted(set(packages_distributions().get(top, [top]))))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."
