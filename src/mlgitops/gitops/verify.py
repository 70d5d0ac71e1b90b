"""The model deploy is about to register, checked against its anchor.

Three checks, none of which believes MLflow's tags:

- the logged model named by the anchor's ``train.json`` belongs to the
  anchor's run (its ``source_run_id``);
- the digest of the model folder downloaded from MLflow now equals the digest
  ``train`` recorded when it uploaded it (so artifacts overwritten afterwards
  are caught);
- that very model, re-scored on the merged commit's holdout against the merged
  spec's gates, passes — with ``compare``'s own scoring (:func:`judge`), given
  the features the merged schema declares (never the list the pull request's
  job wrote), loaded and run in a process without credentials
  (:mod:`mlgitops.evaluation.apart`), and against the model deployed before
  the merge.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops import console
from mlgitops.digest import folder_digest
from mlgitops.errors import CheckFailed, ServiceError
from mlgitops.gitops.anchor import Anchor
from mlgitops.results import TrainResult
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    from mlgitops.evaluation.apart import Apart
    from mlgitops.evaluation.verdict import Verdict
    from mlgitops.training.data import Split


@dataclass(frozen=True)
class Verified:
    """The model's digest (equal to the anchor's) and its verdict on the merged holdout."""

    digest: str
    source: str
    model_id: str
    verdict: Verdict


def verify(root: Path, pipeline: Pipeline, anchor: Anchor, uri: str, ref: str) -> Verified:
    """Download, digest and re-score the anchored model; CheckFailed on any mismatch."""
    from mlgitops.evaluation.apart import Apart

    train = anchor.train
    model_id = model_id_of(train.model_uri, anchor.source)
    # the process that loads the model starts first: its imports overlap the download
    with tempfile.TemporaryDirectory(prefix="mlgitops-deploy-") as tmp, Apart() as apart:
        with console.group(f"Downloading model {model_id} of run {train.run_id}"):
            folder = _download(uri, model_id, train.run_id, Path(tmp) / "model")
        digest = folder_digest(folder)
        if digest != train.model_digest:
            raise CheckFailed(
                f"model {model_id} of run {train.run_id} in MLflow at {uri} has digest "
                f"{digest}, but the review recorded {train.model_digest} ({anchor.source}): "
                "its files changed after the review; nothing deployed"
            )
        with console.group(f"Re-scoring model {model_id} on the merged holdout"):
            judged = _rescore(root, pipeline, anchor, folder, uri, ref, apart)
    if not judged.passed:
        raise CheckFailed(
            f"model {model_id} of run {train.run_id}, re-scored on the merged holdout, fails "
            f"the merged gates: {judged.summary}; nothing deployed"
        )
    return Verified(digest, f"models:/{model_id}", model_id, judged)


def model_id_of(model_uri: str, where: str) -> str:
    """The logged model id of ``models:/<id>`` (what ``train`` records)."""
    model_id = model_uri.removeprefix("models:/")
    if not model_uri.startswith("models:/") or not model_id or "/" in model_id:
        raise CheckFailed(
            f"{where}: train.json's model_uri {model_uri!r} is not a logged model "
            "(models:/<model id>); nothing deployed"
        )
    return model_id


def _download(uri: str, model_id: str, run_id: str, dest: Path) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        model = mlflow.MlflowClient(tracking_uri=uri).get_logged_model(model_id)
        if model.source_run_id != run_id:
            raise CheckFailed(
                f"model {model_id} in MLflow at {uri} was logged by run "
                f"{model.source_run_id}, not by the reviewed run {run_id}; nothing deployed"
            )
        dest.mkdir(parents=True)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=model.artifact_location, dst_path=str(dest), tracking_uri=uri
        )
    except (MlflowException, OSError) as exc:
        detail = str(getattr(exc, "message", exc)).strip().splitlines()[0]
        raise ServiceError(f"model {model_id} in MLflow at {uri}: {detail}") from exc
    return Path(local)


def _rescore(
    root: Path, pipeline: Pipeline, anchor: Anchor, folder: Path, uri: str, ref: str, apart: Apart
) -> Verdict:
    from mlgitops.commands.compare import judge
    from mlgitops.evaluation.handoff import CandidateRun, holdout_of
    from mlgitops.training.data import load_split

    with tempfile.TemporaryDirectory(prefix="mlgitops-rescore-") as tmp:
        split = load_split(root, pipeline, Path(tmp))  # the reader train uses, validated
    train = as_merged(anchor, pipeline, split)
    holdout, _ = holdout_of(split.holdout, train, root / pipeline.data.path)
    features = split.holdout[list(split.features)]
    predictions = apart.predict(folder, features, holdout, f"model of run {train.run_id}")
    candidate = CandidateRun(train, holdout, predictions, split.holdout, split.features)
    return judge(root, pipeline, candidate, ref, lambda: uri)


def as_merged(anchor: Anchor, pipeline: Pipeline, split: Split) -> TrainResult:
    """The anchor's train result with what the merged commit decides in place of what the
    pull request's job wrote: the task, the target, the features (the merged schema's) and
    the classes (the merged training rows'); CheckFailed where the model was trained on
    others."""
    train = anchor.train
    declared = [str(f["name"] if isinstance(f, dict) else f) for f in train.features]
    merged = list(split.features)
    for what, reviewed, wanted in (
        ("task", train.task, pipeline.task),
        ("target", train.target, split.target),
        ("features", declared or merged, merged),
    ):
        if reviewed != wanted:
            raise CheckFailed(
                f"{anchor.source}: the model was trained with {what} {_listed(reviewed)}, but "
                f"the merged commit's spec and schema say {_listed(wanted)}; nothing deployed"
            )
    classes = None
    if pipeline.task == "classification":
        classes = sorted(split.train[split.target].drop_duplicates().tolist())
    features = split.contract.as_json() if split.contract else train.features
    return replace(train, classes=classes, features=features)


def _listed(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else repr(value)
