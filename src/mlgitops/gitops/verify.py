"""The model deploy is about to register, checked against its anchor.

Its checks, none of which believes MLflow's tags:

- the logged model named by the anchor's ``train.json`` belongs to the
  anchor's run (its ``source_run_id``);
- the digest of the model folder downloaded from MLflow now equals the digest
  ``train`` recorded when it uploaded it (so artifacts overwritten afterwards
  are caught);
- so does the digest of the run's training rows (what compare keeps the model
  off once it is deployed), which deploy records beside the model's;
- those rows are the ones the merged commit's data and split give, computed here
  as ``train`` computes them (the pull request's job wrote the logged ones), and
  so is the drift reference the run logged (:mod:`mlgitops.gitops.logged`);
- that very model, re-scored on the merged commit's holdout against the merged
  spec's gates, passes — with ``compare``'s own scoring (:func:`judge`), given
  the features the merged schema declares (never the list the pull request's
  job wrote), and against the model deployed before the merge.

The process that checks and scores loads no model. Both models' outputs on the
merged holdout come from :func:`predict_candidate` and :func:`predict_deployed`,
which run each model in a process without credentials
(:mod:`mlgitops.evaluation.apart`) and write its outputs to a folder
(:mod:`mlgitops.gitops.predicted`). The deploy workflow runs those two in jobs
of their own, which hold no write permission and no deploy secret; ``verify``
then reads the folders and holds them to the model, the record and the holdout
it finds itself.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import console
from mlgitops.digest import download_model, folder_digest
from mlgitops.errors import CheckFailed, ServiceError
from mlgitops.gitops import predicted
from mlgitops.gitops.anchor import Anchor
from mlgitops.gitops.logged import check_reference, check_training_rows, held_to_merged
from mlgitops.results import ProvenanceRecord, TrainResult
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    from mlgitops.evaluation.apart import Apart
    from mlgitops.evaluation.assess import DeployedModel
    from mlgitops.evaluation.metrics import Holdout
    from mlgitops.evaluation.pairing import TrainingRows
    from mlgitops.evaluation.verdict import Verdict
    from mlgitops.training.data import Split


@dataclass(frozen=True)
class Verified:
    """The model's digest (equal to the anchor's) and its verdict on the merged holdout."""

    digest: str
    source: str
    model_id: str
    verdict: Verdict
    #: its run's training rows' digest (equal to the anchor's; "" where it records none)
    training_rows_digest: str = ""
    #: its run's drift reference's digest (the one the merged data and split give)
    reference_digest: str = ""


@dataclass(frozen=True)
class Merged:
    """The merged commit's holdout, as every stage of deploy reads it."""

    root: Path
    split: Split
    #: the anchor's train result with the merged task, target, features and classes
    train: TrainResult
    holdout: Holdout
    #: :func:`mlgitops.gitops.predicted.holdout_key` of the holdout frame
    key: str

    @property
    def features(self) -> Any:
        return self.split.holdout[list(self.split.features)]

    @cached_property
    def trained_on(self) -> TrainingRows:
        """The merged commit's training rows, as train computes them (never the branch's
        upload): what the logged ones are held to, and what the re-score leaves out."""
        return self.split.training_rows()


def merged_holdout(root: Path, pipeline: Pipeline, anchor: Anchor) -> Merged:
    """The merged commit's holdout, read and split as ``train`` does; CheckFailed where the
    anchored model was trained with another task, target or features."""
    from mlgitops.evaluation.handoff import holdout_of
    from mlgitops.training.data import load_split

    with tempfile.TemporaryDirectory(prefix="mlgitops-rescore-") as tmp:
        split = load_split(root, pipeline, Path(tmp))  # the reader train uses, validated
    train = as_merged(anchor, pipeline, split)
    holdout, _ = holdout_of(split.holdout, train, root / pipeline.data.path)
    return Merged(root, split, train, holdout, predicted.holdout_key(split.holdout))


def predict_candidate(
    pipeline: Pipeline, anchor: Anchor, merged: Merged, uri: str, into: Path, apart: Apart
) -> Path:
    """Write the anchored model's outputs on the merged holdout to ``into``
    (:func:`mlgitops.gitops.predicted.write_candidate`), its digest checked first."""
    from mlgitops.evaluation.apart import ModelFailed

    train = anchor.train
    model_id = model_id_of(train.model_uri, anchor.source)
    with tempfile.TemporaryDirectory(prefix="mlgitops-deploy-") as tmp:
        folder = _checked_download(uri, model_id, train, anchor.source, Path(tmp))
        outputs = Path(tmp) / "outputs"
        with console.group(f"Running model {model_id} on the merged holdout"):
            try:
                apart.run(folder, merged.features, outputs)
            except ModelFailed as exc:
                raise _unusable(f"model of run {train.run_id}", merged, exc) from exc
        return predicted.write_candidate(into, pipeline.name, merged.key, train, model_id, outputs)


def predict_deployed(
    root: Path, pipeline: Pipeline, merged: Merged, ref: str, uri: str, into: Path, apart: Apart
) -> Path:
    """Write the outputs of the model ``ref`` says is deployed, on the merged holdout, to
    ``into`` (:func:`mlgitops.gitops.predicted.write_deployed`): on every row, given the
    inputs its signature (else the feature names it knows) names; or why it gave none. The
    signature is handed on as its digest-checked files give it."""
    from mlgitops.evaluation import baseline
    from mlgitops.evaluation.apart import ModelFailed
    from mlgitops.evaluation.assess import fallback_inputs
    from mlgitops.evaluation.deployed import checked_download
    from mlgitops.evaluation.inputs import NotEvaluable, baseline_inputs, signature_of

    found, record = baseline.find_baseline(root, ref, pipeline)
    if record is None or found.source is None:
        return predicted.write_deployed(
            into, pipeline.name, merged.key, None, None, (None, None), None
        )
    frame = merged.split.holdout
    with tempfile.TemporaryDirectory(prefix="mlgitops-deployed-") as tmp:
        with console.group(f"Downloading the deployed model {record.model_uri}"):
            folder, info = checked_download(record, uri, found.source, Path(tmp) / "model")
        outputs = Path(tmp) / "outputs"
        signature = signature_of(info)
        names, refused = None, None
        with console.group(f"Running the deployed model {record.model_uri} on the merged holdout"):
            try:
                inputs = signature
                if inputs is None:
                    names = apart.names(folder)
                    inputs = fallback_inputs(names, frame)
                if inputs is not None:
                    apart.run(folder, baseline_inputs(frame, inputs), outputs, finite=False)
            except (ModelFailed, NotEvaluable) as exc:
                refused = str(exc)
        scored = outputs if outputs.is_dir() and refused is None else None
        deployed = (record.model_uri, found.source)
        return predicted.write_deployed(
            into, pipeline.name, merged.key, deployed, signature, (names, refused), scored
        )


def verify(
    pipeline: Pipeline,
    anchor: Anchor,
    merged: Merged,
    uri: str,
    ref: str,
    outputs: Path,
    *,
    digested: bool = False,
) -> Verified:
    """Download and digest the anchored model, and judge the outputs in ``outputs`` (written
    by :func:`predict_candidate` and :func:`predict_deployed`) on the merged holdout;
    CheckFailed on any mismatch. No model is loaded here. ``digested``: this process
    already did (:func:`predict_candidate`, when one process runs every stage), so the
    model is not downloaded again."""
    train = anchor.train
    model_id = model_id_of(train.model_uri, anchor.source)
    if not digested:
        with tempfile.TemporaryDirectory(prefix="mlgitops-deploy-") as tmp:
            _checked_download(uri, model_id, train, anchor.source, Path(tmp))
    logged = check_training_rows(uri, train, anchor.source)
    held_to_merged(logged, merged, train, anchor.source)
    reference = check_reference(uri, pipeline, merged, train, anchor.source)
    with console.group(f"Re-scoring model {model_id} on the merged holdout"):
        judged = _rescore(pipeline, merged, model_id, uri, ref, outputs)
    if not judged.passed:
        raise CheckFailed(
            f"model {model_id} of run {train.run_id}, re-scored on the merged holdout, fails "
            f"the merged gates: {judged.summary}; nothing deployed"
        )
    source = f"models:/{model_id}"
    rows = train.training_rows_digest
    return Verified(train.model_digest, source, model_id, judged, rows, reference)


def model_id_of(model_uri: str, where: str) -> str:
    """The logged model id of ``models:/<id>`` (what ``train`` records)."""
    model_id = model_uri.removeprefix("models:/")
    if not model_uri.startswith("models:/") or not model_id or "/" in model_id:
        raise CheckFailed(
            f"{where}: train.json's model_uri {model_uri!r} is not a logged model "
            "(models:/<model id>); nothing deployed"
        )
    return model_id


def _checked_download(uri: str, model_id: str, train: TrainResult, where: str, tmp: Path) -> Path:
    """The anchored model's folder, downloaded; CheckFailed unless it is its run's and its
    digest is the one the review recorded."""
    with console.group(f"Downloading model {model_id} of run {train.run_id}"):
        folder = _download(uri, model_id, train.run_id, tmp / "model")
    digest = folder_digest(folder)
    if digest != train.model_digest:
        raise CheckFailed(
            f"model {model_id} of run {train.run_id} in MLflow at {uri} has digest "
            f"{digest}, but the review recorded {train.model_digest} ({where}): "
            "its files changed after the review; nothing deployed"
        )
    return folder


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
        return download_model(model.artifact_location, dest, uri)
    except (MlflowException, OSError) as exc:
        detail = str(getattr(exc, "message", exc)).strip().splitlines()[0]
        raise ServiceError(f"model {model_id} in MLflow at {uri}: {detail}") from exc


def _unusable(what: str, merged: Merged, exc: Exception) -> CheckFailed:
    columns = ", ".join(map(str, merged.split.features))
    return CheckFailed(
        f"{what} does not load, or does not predict on the merged holdout's features "
        f"({columns}): {exc}; nothing deployed"
    )


def _rescore(
    pipeline: Pipeline, merged: Merged, model_id: str, uri: str, ref: str, outputs: Path
) -> Verdict:
    from mlgitops.commands.compare import judge
    from mlgitops.evaluation.apart import ModelFailed
    from mlgitops.evaluation.handoff import CandidateRun, predictions_of

    train, holdout, split = merged.train, merged.holdout, merged.split
    what = f"model of run {train.run_id}"
    name, key, rows = pipeline.name, merged.key, holdout.rows
    try:
        given = predicted.read_candidate(outputs, name, key, rows, train, model_id)
    except ModelFailed as exc:
        raise _unusable(what, merged, exc) from exc
    predictions = predictions_of(given.values, given.proba, given.classes, holdout, what)
    trained_on = merged.trained_on
    candidate = CandidateRun(train, holdout, predictions, split.holdout, split.features, trained_on)

    def deployed(record: ProvenanceRecord, source: str) -> DeployedModel:
        return predicted.read_deployed(outputs, name, key, rows, record, source, uri)

    return judge(merged.root, pipeline, candidate, ref, lambda: uri, deployed, lambda: split.train)


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
