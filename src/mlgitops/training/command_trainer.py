"""The custom trainer: ``model.command``, any program, under a documented contract.

In (environment variables, all paths absolute):

=========================  ==================================================
MLGITOPS_PIPELINE          the pipeline name
MLGITOPS_TASK              ``classification`` or ``regression``
MLGITOPS_DATA              the data file (``data.path``; downloaded if a URL)
MLGITOPS_TRAIN             parquet: the training rows (``__row__``, features, target)
MLGITOPS_HOLDOUT           parquet: the holdout rows, same columns
MLGITOPS_TARGET            the target column
MLGITOPS_FEATURES          JSON list of the feature columns
MLGITOPS_CATEGORICAL       JSON list of the categorical feature columns
MLGITOPS_METRICS           JSON list of the metrics that will be computed
MLGITOPS_PARAMS            JSON object: ``model.params`` (empty for commands)
MLGITOPS_SPLIT_SEED        ``data.split.seed``
MLGITOPS_SPLIT_TEST_SIZE   ``data.split.test_size`` (empty with ``test_path``)
MLGITOPS_SPLIT_STRATIFY    ``true`` / ``false``
MLGITOPS_OUTPUT            an empty folder for the results
MLGITOPS_DEVICE            ``cuda`` when ``train.gpu`` is true and the runner has a GPU, else ``cpu``
=========================  ==================================================

Out, under ``$MLGITOPS_OUTPUT``:

- ``model/``: an MLflow model folder (``mlflow.<flavor>.save_model(model, path,
  signature=...)``), required, with an input signature naming the features, all of
  them and nothing else;
- ``predictions.parquet`` (or ``.csv``): one row per holdout row with
  ``__row__`` and ``y_pred``, and for classifiers ``proba_<class>`` per class
  (the positive class's alone for two), each naming a class of the target;
  a class no training row holds may have none (its probability is 0); required;
- ``params.json`` / ``metrics.json``: optional flat objects logged as extra
  params and metrics, under names MLflow takes and mlgitops does not log itself;
  params strings, numbers or booleans, metrics finite numbers.

The command runs from the repository root, in a process group of its own; a
leading ``python``/``python3`` is the interpreter running mlgitops. A non-zero
exit fails the training, and past ``train.timeout_minutes`` the command and every
process it started are stopped.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from mlgitops import jsondoc, proc
from mlgitops.errors import BadInput, Problem
from mlgitops.features import native
from mlgitops.frames import write_frame
from mlgitops.outputs import ROW
from mlgitops.spec.model import Pipeline, command_words
from mlgitops.training.base import Fitted, TrainJob, progress
from mlgitops.training.mlmodel import MLMODEL, ModelIdentity


class CommandTrainer:
    """``model.command``: a program that trains and writes an MLflow model."""

    name = "command"

    def check(self, pipeline: Pipeline, spec_text: str) -> list[Problem]:
        return []

    def fit(self, job: TrainJob) -> Fitted:
        out = job.workdir / "output"
        out.mkdir(parents=True)
        env = _environment(job, out)
        command = _argv(job.pipeline.model.command or "")
        minutes = job.pipeline.train.timeout_minutes
        with progress(f"run {job.pipeline.model.command}"):
            try:
                result = proc.run(
                    command,
                    cwd=job.root,
                    env=env,
                    check=False,
                    capture=False,
                    timeout=minutes * 60,
                    group=True,
                )
            except proc.TimedOut as exc:
                raise BadInput(
                    f"custom trainer `{job.pipeline.model.command}` did not finish within "
                    f"train.timeout_minutes ({minutes}): it was stopped, with every process "
                    "it started"
                ) from exc
        if result.returncode != 0:
            raise BadInput(
                f"custom trainer `{job.pipeline.model.command}` failed (exit {result.returncode})"
            )
        return _collect(job, out)


def _argv(command: str) -> list[str]:
    words = command_words(command)
    if words and words[0] in ("python", "python3"):
        words[0] = sys.executable
    return words


def _environment(job: TrainJob, out: Path) -> dict[str, str]:
    from mlgitops.spec.model import is_url

    split, data = job.split, job.pipeline.data
    train, holdout = job.workdir / "train.parquet", job.workdir / "holdout.parquet"
    write_frame(split.train, train)
    write_frame(split.holdout, holdout)
    data_path = data.path
    if is_url(data_path):
        import shutil

        from mlgitops.data import http

        shutil.copyfile(http.fetched(data_path).path, job.workdir / "data")  # the bytes keyed
        data_path = str(job.workdir / "data")
    return {
        "MLGITOPS_PIPELINE": job.pipeline.name,
        "MLGITOPS_TASK": job.pipeline.task,
        "MLGITOPS_DATA": str((job.root / data_path).resolve()),
        "MLGITOPS_TRAIN": str(train),
        "MLGITOPS_HOLDOUT": str(holdout),
        "MLGITOPS_TARGET": data.target,
        "MLGITOPS_FEATURES": json.dumps(list(split.features)),
        "MLGITOPS_CATEGORICAL": json.dumps(list(split.categorical)),
        "MLGITOPS_METRICS": json.dumps(list(job.pipeline.metrics)),
        "MLGITOPS_PARAMS": json.dumps(job.pipeline.model.params, sort_keys=True),
        "MLGITOPS_SPLIT_SEED": str(data.split.seed),
        "MLGITOPS_SPLIT_TEST_SIZE": "" if data.test_path else str(data.split.test_size),
        "MLGITOPS_SPLIT_STRATIFY": "true"
        if data.split.stratify and not data.test_path
        else "false",
        "MLGITOPS_OUTPUT": str(out),
        "MLGITOPS_DEVICE": job.device,
    }


def _collect(job: TrainJob, out: Path) -> Fitted:
    command = job.pipeline.model.command
    if not (out / "model" / MLMODEL).is_file():
        raise BadInput(
            f"custom trainer `{command}` wrote no MLflow model at $MLGITOPS_OUTPUT/model/{MLMODEL}"
        )
    _check_signature(out / "model" / MLMODEL, job, command or "")
    predictions = _predictions(out, command or "")
    _check_rows(predictions, job, command or "")
    classes = _classes(predictions, job, command or "")
    if classes is not None:
        predictions = _never_predicted(predictions, job)
    model_dir = out / "model"

    def save(folder: Path, identity: ModelIdentity) -> None:
        shutil.copytree(model_dir, folder, dirs_exist_ok=True)

    return Fitted(
        predictions=predictions,
        save_model=save,
        classes=classes,
        params=_params(out / "params.json", job, command or ""),
        metrics=_metrics(out / "metrics.json", job, command or ""),
    )


def _check_signature(mlmodel: Path, job: TrainJob, command: str) -> None:
    """The model must declare its inputs, and take the features (the schema's columns)."""
    import yaml

    try:
        doc = yaml.safe_load(mlmodel.read_text("utf-8")) or {}
        signature = doc.get("signature") if isinstance(doc, dict) else None
        written = signature.get("inputs") if isinstance(signature, dict) else None
        inputs = json.loads(written) if isinstance(written, str) else None
    except (OSError, ValueError, LookupError, TypeError, yaml.YAMLError) as exc:  # ``!!int``
        raise BadInput(f"custom trainer `{command}`: cannot read {MLMODEL} ({exc})") from exc
    if not isinstance(doc, dict):
        raise BadInput(f"custom trainer `{command}`: {MLMODEL} is not a YAML mapping")
    if not isinstance(inputs, list) or not all(isinstance(c, dict) for c in inputs):
        raise BadInput(
            f"custom trainer `{command}`: the model has no input signature; save it with "
            "signature=mlflow.models.infer_signature(holdout[features], predictions)"
        )
    _check_inputs([str(c.get("name")) for c in inputs], job.split.features, command)


def _check_inputs(names: list[str], features: tuple[str, ...], command: str) -> None:
    """The signature's inputs are the features, all of them (one list, DESIGN §7): compare,
    deploy and serving give a model every feature, and nothing else."""
    extra = [n for n in names if n not in features]
    lacking = [f for f in features if f not in names]
    if not extra and not lacking:
        return
    found = [f"takes column(s) {', '.join(extra)} that are not features"] if extra else []
    if lacking:
        whose = "its" if extra else "the model's"
        found.append(f"{whose} signature lacks feature(s) {', '.join(lacking)}")
    why = "; compare, deploy and serving give a model every feature" if lacking else ""
    model = "the model " if extra else ""
    raise BadInput(
        f"custom trainer `{command}`: {model}{' and '.join(found)} (features: "
        f"{', '.join(features)}; see $MLGITOPS_FEATURES){why}"
    )


def _predictions(out: Path, command: str) -> Any:
    import pandas as pd

    for name, reader in (
        ("predictions.parquet", pd.read_parquet),
        ("predictions.csv", pd.read_csv),
    ):
        if (out / name).is_file():
            try:
                return reader(out / name)
            except (ValueError, OSError) as exc:
                raise BadInput(
                    f"custom trainer `{command}`: cannot read $MLGITOPS_OUTPUT/{name} ({exc})"
                ) from exc
    raise BadInput(f"custom trainer `{command}` wrote no $MLGITOPS_OUTPUT/predictions.parquet")


def _check_rows(predictions: Any, job: TrainJob, command: str) -> None:
    missing = [c for c in (ROW, "y_pred") if c not in predictions.columns]
    if missing:
        raise BadInput(
            f"custom trainer `{command}`: predictions lack column(s) {', '.join(missing)}"
        )
    want, got = set(job.split.holdout[ROW]), set(predictions[ROW])
    if want != got or len(predictions) != len(want):
        rows = predictions[ROW]
        found = [f"{len(want - got)} holdout row(s) missing"]
        twice = rows[rows.duplicated()]
        if len(twice):
            found.append(f"{ROW} {native(twice.iloc[0])!r} more than once")
        other = [native(r) for r in rows if r not in want]
        if other:
            found.append(f"{ROW} {other[0]!r} is no holdout row's")
        raise BadInput(
            f"custom trainer `{command}`: predictions must have one row per holdout row "
            f"({len(want)} rows, {ROW} as in $MLGITOPS_HOLDOUT), got {len(predictions)} rows: "
            + "; ".join(found)
        )


def _classes(predictions: Any, job: TrainJob, command: str) -> list[Any] | None:
    """A classifier's classes: the target's labels in the training and holdout rows, in their
    data type and sorted, as every built-in classifier's ``classes_`` is; each ``proba_<class>``
    column must name one of them (``proba_1`` is the label 1 for a numeric target), and for
    two classes the positive one's alone is enough. None for a regression."""
    if job.pipeline.task != "classification":
        return None
    target = job.split.target
    known = job.split.classes()
    by_text = {str(v) for v in known}
    names = [str(c)[len("proba_") :] for c in predictions.columns if str(c).startswith("proba_")]
    shown = ", ".join(map(str, known))
    if not names:
        raise BadInput(
            f"custom trainer `{command}`: a classifier's predictions need its probabilities, "
            f"a column proba_<class> per class (classes of {target!r}: {shown}; for two "
            "classes the positive one's alone is enough)"
        )
    unknown = [n for n in names if n not in by_text]
    if unknown:
        raise BadInput(
            f"custom trainer `{command}`: predictions column proba_{unknown[0]} names no class "
            f"of {target!r} (its classes: {shown})"
        )
    return known


def _never_predicted(predictions: Any, job: TrainJob) -> Any:
    """The predictions with ``proba_<class>`` 0 for each class the holdout alone holds that the
    trainer wrote no column for: it is given no list of classes, only the training rows, and
    the model never predicts such a class, as the built-in estimators' columns say too."""
    columns = {str(c) for c in predictions.columns}
    unseen = [c for c in job.split.holdout_only_classes() if f"proba_{c}" not in columns]
    return predictions.assign(**{f"proba_{c}": 0.0 for c in unseen}) if unseen else predictions


#: Names mlgitops gives its own run metrics (the fit's resources, the GPU budget).
_OWN_METRIC_PREFIX = "mlgitops."
#: The longest param or metric name MLflow stores.
_NAME_LIMIT = 250
_NAME = re.compile(r"[/\w.\- :]+")


def _name_problem(name: str) -> str | None:
    """Why MLflow would refuse ``name`` as a param or metric name (None: it takes it)."""
    if not _NAME.fullmatch(name):
        return (
            "names hold only letters, digits, underscores, dashes, periods, colons, spaces "
            "and slashes"
        )
    if len(name) > _NAME_LIMIT:
        return f"names are at most {_NAME_LIMIT} characters"
    normal = posixpath.normpath(name)
    if normal != name or normal == "." or normal.startswith(("..", "/")):
        return f"a name must not read as another path ({normal!r})"
    return None


def _checked_names(doc: dict[str, Any], own: set[str], file: str, command: str) -> None:
    for name in doc:
        why = _name_problem(name)
        if why is None and (name in own or name.startswith(_OWN_METRIC_PREFIX)):
            why = "mlgitops logs that name itself"
        if why:
            raise BadInput(
                f"custom trainer `{command}`: $MLGITOPS_OUTPUT/{file}: {name!r} cannot be "
                f"logged: {why}"
            )


def _params(path: Path, job: TrainJob, command: str) -> dict[str, str]:
    """params.json: names MLflow takes and mlgitops does not log itself; values strings,
    numbers or booleans (logged as text)."""
    from mlgitops.training.runlog import params_of

    doc = _json_object(path, command)
    _checked_names(doc, set(params_of(job.pipeline, job.split)), path.name, command)
    for name, value in doc.items():
        if value is None or not isinstance(value, str | int | float | bool):
            raise BadInput(
                f"custom trainer `{command}`: $MLGITOPS_OUTPUT/{path.name}: {name!r} is "
                f"{json.dumps(value)[:80]}; a param is a string, a number or a boolean"
            )
    return {name: str(value) for name, value in doc.items()}


def _metrics(path: Path, job: TrainJob, command: str) -> dict[str, float]:
    """metrics.json: names MLflow takes and mlgitops does not log itself (the spec's metrics,
    which mlgitops computes from the predictions, and ``mlgitops.*``); values finite numbers."""
    doc = _json_object(path, command)
    _checked_names(doc, set(job.pipeline.metrics), path.name, command)
    for name, value in doc.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise BadInput(
                f"custom trainer `{command}`: $MLGITOPS_OUTPUT/{path.name}: {name!r} is "
                f"{json.dumps(value)[:80]}; a metric is a finite number (leave out one that "
                "is undefined)"
            )
    return {name: float(value) for name, value in doc.items()}


def _json_object(path: Path, command: str) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        doc = jsondoc.loads(path.read_bytes(), f"$MLGITOPS_OUTPUT/{path.name}")
    except ValueError as exc:
        raise BadInput(
            f"custom trainer `{command}`: $MLGITOPS_OUTPUT/{path.name} is not JSON ({exc})"
        ) from exc
    if not isinstance(doc, dict):
        raise BadInput(
            f"custom trainer `{command}`: $MLGITOPS_OUTPUT/{path.name} must be a JSON object"
        )
    return doc
