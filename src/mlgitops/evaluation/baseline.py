"""The baseline: what the base branch says is deployed, loaded from MLflow.

The deployed model is the one in the base branch's
``manifests/<name>/overlays/<environment>/model.json`` (a provenance record) of the
environment the pipeline deploys to first, else of another (:func:`find_baseline`). Git is
the source of truth: no record there means nothing is deployed yet, whatever MLflow holds.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgitops import console, jsondoc, proc
from mlgitops.basebranch import is_commit
from mlgitops.errors import BadInput, DataError, ServiceError
from mlgitops.evaluation.assess import DeployedModel
from mlgitops.evaluation.inputs import signature_of
from mlgitops.evaluation.pairing import TrainingRows, read_training_rows
from mlgitops.evaluation.verdict import NO_BASELINE, Baseline
from mlgitops.results import ProvenanceRecord, load_provenance
from mlgitops.spec.model import TASK_METRICS, Pipeline

NO_ENVIRONMENTS = "the spec deploys to no environment: absolute gates only"
#: A name a pipeline may have (the spec schema's), and so a folder under ``manifests/``.
PIPELINE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")
ARTIFACTS = "mlgitops"
TRAINING_ROWS = "training_rows.parquet"


def record_of(pipeline: Pipeline, environment: str) -> str:
    """The record of what is deployed to ``environment`` (only deploy, promote and rollback
    write it): its overlay's ``model.json``."""
    return record_path(pipeline.name, environment)


def record_path(name: str, environment: str) -> str:
    """:func:`record_of` a pipeline named ``name``."""
    from mlgitops.gitops.overlay import Overlay

    return Overlay(name, environment).model_json


def unchanged_records(root: Path, ref: str, pipeline: Pipeline) -> None:
    """BadInput where the commits since ``ref`` (``ref...HEAD``: a pull request's, on its
    branch or merged) change a record of what is deployed, of any environment, under the
    pipeline's name or the one ``ref`` gives it: deploy would refuse to ship their model
    (:mod:`mlgitops.gitops.before_merge`), so the review says so first."""
    _check_ref(root, ref)
    names = pipeline_names(root, ref, pipeline)
    every = [f":(glob)./{record_path(name, '*')}" for name in names]
    changed = proc.git_names(
        "diff", "-z", "--relative", "--name-only", f"{ref}...HEAD", "--", *every, cwd=root
    )
    for rel in changed:
        raise BadInput(
            f"the commits since {ref} change {rel}, the record of what is deployed to "
            f"{record_environment(names, rel)}, which only deploy, promote and rollback write: "
            "do not merge them, promote would copy the changed record and deploy judge against it; revert that change in a pull request of its own"
        )
    # the model lines of an overlay the commits edit: Argo CD serves them once merged
    from mlgitops.gitops.records import model_lines_problems

    edited = set(
        proc.git_names(
            "diff", "-z", "--relative", "--name-only", f"{ref}...HEAD", "--",
            f":(glob)./manifests/{pipeline.name}/overlays/*/kustomization.yaml", cwd=root,
        )
    )  # fmt: skip
    for rel, problem in model_lines_problems(root, pipeline, "HEAD"):
        if rel in edited:
            raise BadInput(f"the commits since {ref} edit {problem}")


def find_baseline(
    root: Path, ref: str, pipeline: Pipeline
) -> tuple[Baseline, ProvenanceRecord | None]:
    """The provenance record of what ``ref`` says is deployed, if anything is.

    That is the record of the environment the pipeline deploys to first. Where that one
    holds none, it is the record of the first environment that holds one in the order
    ``ref``'s own spec gives them (a pull request cannot change it), then in the pull
    request's, then by name; under the pipeline's name, else the one ``ref`` gives it. A pull
    request that reorders, renames or removes environments, or renames the pipeline, is
    judged against the model ``ref`` runs all the same.
    """
    first = pipeline.first_environment
    _check_ref(root, ref)
    names, base = _as_at(root, ref, pipeline)
    held = {name: recorded_environments(root, ref, name) for name in names}
    named = [e.name for e in pipeline.deploy.environments] if pipeline.deploy else []
    order = [(pipeline.name, first.name)] if first else []
    order += [(names[-1], env) for env in base]
    order += [(pipeline.name, env) for env in named]
    order += [(name, env) for name in names for env in sorted(held[name])]
    chosen = next(((n, env) for n, env in order if env in held[n]), None)
    if chosen is None:
        if first is None:
            return Baseline(False, NO_ENVIRONMENTS), None
        source = f"{ref}:{record_of(pipeline, first.name)}"
        return Baseline(False, NO_BASELINE, source=source, environment=first.name), None
    name, env = chosen
    path = record_path(name, env)
    source = f"{ref}:{path}"
    text = proc.git_text(root, ref, path)
    if text is None:  # listed a moment ago: the ref moved, or the repository is changing
        raise BadInput(f"{source}: listed by git, but it cannot be read")
    record = load_provenance(text, what=source)
    info = Baseline(
        True,
        reason=_why_elsewhere(pipeline, ref, name, env),
        model_uri=record.model_uri,
        version=record.version,
        run_id=record.run_id,
        source=source,
        environment=env,
    )
    return info, record


def _why_elsewhere(pipeline: Pipeline, ref: str, name: str, env: str) -> str | None:
    """Why the baseline is not the model of the environment the pipeline deploys to first."""
    first = pipeline.first_environment
    runs = f"what {env} runs" if name == pipeline.name else f"what {env} of {name!r} runs"
    if name != pipeline.name:
        return (
            f"the pipeline is named {name!r} at {ref}, and {pipeline.name!r} runs no model "
            f"yet: the baseline is {runs}"
        )
    if first is None:
        return f"the spec deploys to no environment; the baseline is {runs}"
    if env != first.name:
        return (
            f"{first.name}, where this pipeline deploys first, runs no model yet at {ref}: "
            f"the baseline is {runs}"
        )
    return None


def pipeline_names(root: Path, ref: str, pipeline: Pipeline) -> list[str]:
    """The pipeline's name, and the name ``ref``'s version of its spec file gives it where
    that is another."""
    return _as_at(root, ref, pipeline)[0]


def _moved_from(root: Path, ref: str, path: str) -> str | None:
    """Where the spec file ``path`` was at ``ref``, where the commits since (``ref...HEAD``)
    renamed it, as git's rename detection finds it; None where they did not."""
    listed = proc.git_names(
        "diff", "-z", "--relative", "-M", "--name-status", "--diff-filter=R",
        f"{ref}...HEAD", cwd=root, check=False,
    )  # fmt: skip
    for at in range(0, len(listed) - 2, 3):  # R<score>, the old path, the new
        if listed[at].startswith("R") and listed[at + 2] == path:
            return listed[at + 1]
    return None


def _as_at(root: Path, ref: str, pipeline: Pipeline) -> tuple[list[str], list[str]]:
    """:func:`pipeline_names`, and the environments ``ref``'s version of the pipeline's spec
    file names, in its order: the file read once."""
    from mlgitops.spec.loader import parse_yaml

    source = pipeline.source
    text = proc.git_text(root, ref, source)
    if text is None and (moved := _moved_from(root, ref, source)) is not None:
        source, text = moved, proc.git_text(root, ref, moved)  # renamed with the pipeline
    doc = parse_yaml(source, text)[0] if text is not None else None
    if not isinstance(doc, Mapping):
        return [pipeline.name], []
    named = doc.get("name")
    names = [pipeline.name]
    if isinstance(named, str) and named != pipeline.name and PIPELINE_NAME.fullmatch(named):
        names.append(named)
    deploy = doc.get("deploy")
    listed = deploy.get("environments") if isinstance(deploy, Mapping) else None
    environments = []
    for entry in listed if isinstance(listed, list) else ():
        env = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(env, str) and env and "/" not in env:
            environments.append(env)
    return names, environments


def recorded_environments(root: Path, ref: str, name: str) -> set[str]:
    """The environments of the pipeline named ``name`` that hold a record of a deployed
    model at ``ref``."""
    folder = f"./{record_path(name, '*').partition('*')[0]}"
    listed = proc.git_names("ls-tree", "-z", "-r", "--name-only", ref, "--", folder, cwd=root)
    return {env for rel in listed if (env := record_environment([name], rel))}


def record_environment(names: list[str], rel: str) -> str | None:
    """The environment whose record of a deployed model ``rel`` is, for a pipeline named one
    of ``names`` (``env``, or ``env of 'name'`` for any but the first); None: it is none."""
    for i, name in enumerate(names):
        head, _, tail = record_path(name, "*").partition("*")
        env = rel[len(head) : len(rel) - len(tail)]
        if rel.startswith(head) and rel.endswith(tail) and env and "/" not in env:
            return env if i == 0 else f"{env} of {name!r}"
    return None


def _check_ref(root: Path, ref: str) -> None:
    inside = proc.run(["git", "rev-parse", "--git-dir"], cwd=root, check=False)
    if inside.returncode != 0:
        raise BadInput(
            f"{root} is not a Git repository: compare reads what is deployed from the base branch"
        )
    if not is_commit(root, ref):
        raise BadInput(
            f"base ref {ref!r} is not in this clone: fetch it (actions/checkout with "
            "fetch-depth: 0) or name another with --base REF"
        )


def load_model(record: ProvenanceRecord, tracking_uri: str, source: str) -> DeployedModel:
    """The deployed model from MLflow, with its signature and training rows.

    Its absence is an error, never a silent pass.
    """
    from mlflow.exceptions import MlflowException

    folder = Path(tempfile.mkdtemp(prefix="mlgitops-deployed-"))
    try:
        files, info = checked_download(record, tracking_uri, source, folder / "model")
        model = load_flavor(str(files), info)
    except (MlflowException, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise _missing(record, tracking_uri, source, exc) from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _removed_with(model, folder)  # a pyfunc model may read its files while it predicts
    training = training_rows(record, tracking_uri, source) if record.run_id else None
    return DeployedModel(model, signature_of(info), training, task_of(record))


def task_of(record: ProvenanceRecord) -> str | None:
    """The task the deployed model was judged as when it was deployed: the one its record
    names; in a record from before records named it, that of the metrics it holds (None:
    it holds none, or metrics of both tasks)."""
    if record.task in TASK_METRICS:
        return record.task
    tasks = {task for task, names in TASK_METRICS.items() if set(record.metrics) & set(names)}
    return tasks.pop() if len(tasks) == 1 else None


def checked_download(
    record: ProvenanceRecord, tracking_uri: str, source: str, dest: Path
) -> tuple[Path, Any]:
    """The deployed model's files, downloaded to ``dest``, and their MLmodel (its flavors
    and signature): ServiceError where its run is deleted, or unless they are the files
    deploy checked (the record's ``model_digest``). The PR credentials can write the files
    of any model logged in the pipeline's experiment, the deployed one's included."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    from mlgitops.digest import download_model, folder_digest

    deployed_info(record, tracking_uri, source)  # its run is not deleted
    try:
        local = download_model(record.model_uri, dest, tracking_uri)
    except (MlflowException, OSError) as exc:
        raise _missing(record, tracking_uri, source, exc) from exc
    if not record.model_digest:  # a record from before deploy recorded digests
        console.error_line(
            f"mlgitops: warning: {source} records no model digest: the files of "
            f"{record.model_uri} are not checked (the next deploy records it)"
        )
    elif (digest := folder_digest(local)) != record.model_digest:
        raise ServiceError(
            f"the deployed model {record.model_uri} (recorded in {source}) has digest "
            f"{digest} in MLflow at {tracking_uri}, but {source} records "
            f"{record.model_digest}: its files changed after it was deployed, so nothing can "
            "be judged against it; restore its files, or roll back to a model whose files "
            "are intact"
        )
    try:
        return local, Model.load(str(local))
    except Exception as exc:  # the registry's files: no MLmodel, or not one MLflow reads
        raise ServiceError(
            f"{record.model_uri} in MLflow at {tracking_uri}: its MLmodel cannot be read ({exc})"
        ) from exc


def _removed_with(model: Any, folder: Path) -> None:
    """Remove ``folder`` once ``model`` is gone (at exit at the latest)."""
    import atexit
    import weakref

    try:
        weakref.finalize(model, shutil.rmtree, folder, True)
    except TypeError:  # an object that takes no weak reference
        atexit.register(shutil.rmtree, folder, True)


def deployed_info(record: ProvenanceRecord, tracking_uri: str, source: str) -> Any:
    """MLflow's model info of the deployed model (its flavors and signature: files MLflow
    reads as data, no model code); ServiceError where it or its run is gone."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        if record.run_id:
            run = mlflow.MlflowClient().get_run(record.run_id)
            if run.info.lifecycle_stage == "deleted":
                raise ServiceError(
                    f"the deployed model {record.model_uri} (recorded in {source}) cannot be "
                    f"used: its run {record.run_id} is deleted in MLflow at {tracking_uri}"
                )
        return mlflow.models.get_model_info(record.model_uri)
    except (MlflowException, OSError) as exc:
        raise _missing(record, tracking_uri, source, exc) from exc


def _missing(
    record: ProvenanceRecord, tracking_uri: str, source: str, exc: Exception
) -> ServiceError:
    detail = str(getattr(exc, "message", exc)).strip().splitlines()[0]
    where = f"the deployed model {record.model_uri} (recorded in {source})"
    return ServiceError(f"{where} is not in MLflow at {tracking_uri}: {detail}")


def load_flavor(uri: str, info: Any = None) -> Any:
    """A model (URI or local MLflow model folder): scikit-learn's own object where it is one.

    The scikit-learn flavor keeps ``predict_proba`` and ``classes_``, which the
    probability metrics need; any other model is loaded as a pyfunc.
    """
    import mlflow

    info = info if info is not None else mlflow.models.get_model_info(uri)
    with warnings.catch_warnings():
        # MLflow's advice to the model's author (type hints, …) is not the reviewer's concern.
        warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
        if "sklearn" in info.flavors:
            return mlflow.sklearn.load_model(uri)
        return mlflow.pyfunc.load_model(uri)


def training_rows(record: ProvenanceRecord, tracking_uri: str, source: str) -> TrainingRows | None:
    """The fingerprints of the rows the deployed model trained on (None: its run records
    none): ServiceError unless they are the ones deploy checked (the record's
    ``training_rows_digest``). Compare keeps the deployed model off these rows, so whoever
    could swap them would choose the holdout rows it is judged on."""
    found = run_training_rows(record.run_id, tracking_uri)
    if found is None and not record.training_rows_digest:
        return None
    digest, rows = found if found is not None else ("", None)
    if not record.training_rows_digest:  # a record from before deploy recorded it
        console.error_line(
            f"mlgitops: warning: {source} records no training rows digest: the training rows "
            f"of run {record.run_id} are not checked (the next deploy records it)"
        )
    elif digest != record.training_rows_digest:
        now = f"have digest {digest}" if digest else "are missing"
        raise ServiceError(
            f"the training rows of the deployed model {record.model_uri} (run {record.run_id}, "
            f"recorded in {source}) {now} in MLflow at {tracking_uri}, but "
            f"{source} records {record.training_rows_digest}: they changed after it was "
            "deployed, so nothing can be judged against it; restore its run's "
            f"{ARTIFACTS}/{TRAINING_ROWS} and {ARTIFACTS}/train.json, or roll back to a model "
            "whose run is intact"
        )
    return rows


def run_training_rows(run_id: str, tracking_uri: str) -> tuple[str, TrainingRows | None] | None:
    """A run's training rows as logged (None: it logged none), with their
    :func:`mlgitops.digest.training_rows_digest`."""
    from mlgitops.digest import training_rows_digest

    with tempfile.TemporaryDirectory(prefix="mlgitops-baseline-") as folder:
        train = _artifact(run_id, f"{ARTIFACTS}/train.json", tracking_uri, folder)
        rows = _artifact(run_id, f"{ARTIFACTS}/{TRAINING_ROWS}", tracking_uri, folder)
        if train is None or rows is None:
            return None
        try:
            doc = jsondoc.loads(train.read_bytes(), f"run {run_id}: {ARTIFACTS}/train.json")
            columns, target = doc.get("fingerprint_columns"), doc.get("target")
            digest = training_rows_digest(rows.read_bytes(), columns, target)
            return digest, read_training_rows(rows, columns, target)
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise DataError(
                f"run {run_id}: {ARTIFACTS}/{TRAINING_ROWS} or train.json cannot be read ({exc})"
            ) from exc


def _artifact(run_id: str, path: str, tracking_uri: str, folder: str) -> Path | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=folder, tracking_uri=tracking_uri
        )
    except (MlflowException, OSError):
        return None
    found = Path(local)
    return found if found.is_file() else None
