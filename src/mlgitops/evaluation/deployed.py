"""The deployed model, loaded from MLflow for compare: the files and training rows of what
a provenance record names, refused unless they are the ones deploy checked (the record's
digests), and the model loaded as its flavor gives it."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from mlgitops import console, jsondoc
from mlgitops.errors import DataError, ServiceError
from mlgitops.evaluation.assess import DeployedModel
from mlgitops.evaluation.inputs import signature_of
from mlgitops.evaluation.pairing import TrainingRows, read_training_rows
from mlgitops.results import ProvenanceRecord
from mlgitops.spec.model import TASK_METRICS

ARTIFACTS = "mlgitops"
TRAINING_ROWS = "training_rows.parquet"


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
    reference = reference_of(record, tracking_uri, source)
    return DeployedModel(model, signature_of(info), training, task_of(record), reference)


def reference_of(record: ProvenanceRecord, tracking_uri: str, source: str) -> dict[str, Any] | None:
    """The deployed model's run's reference profile of its training data (None: it has
    none), held to the digest deploy recorded (``reference_digest``): what it is judged to
    have been trained on must not be the pull request credentials' choice."""
    from mlgitops.drift.sources import Deployed, reference_from_run

    if not record.run_id:
        return None
    remedy = "so nothing can be judged against it; restore the run's mlgitops/reference.json"
    deployed = Deployed(record.run_id, source, record.reference_digest)
    found = reference_from_run(tracking_uri, deployed, remedy)
    return None if found is None else found.profile


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

    root = _run_root(run_id, tracking_uri)
    if root is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlgitops-baseline-") as folder:
        train = _artifact(root, f"{ARTIFACTS}/train.json", tracking_uri, folder)
        rows = _artifact(root, f"{ARTIFACTS}/{TRAINING_ROWS}", tracking_uri, folder)
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


def run_file(run_id: str, path: str, tracking_uri: str) -> bytes | None:
    """The bytes of one artifact file of a run (None: the run holds no such file)."""
    root = _run_root(run_id, tracking_uri)
    if root is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlgitops-artifact-") as folder:
        found = _artifact(root, path, tracking_uri, folder)
        return None if found is None else found.read_bytes()


#: (tracking URI, run id) -> the run's artifact root, as found: a run's root never changes,
#: and deploy reads two of the reviewed run's files through separate checks.
_ROOTS: dict[tuple[str, str], str] = {}


def _run_root(run_id: str, tracking_uri: str) -> str | None:
    """Where the run's own artifacts are (None: MLflow has no such run), asked of MLflow
    once a process for each run it has."""
    import mlflow
    from mlflow.exceptions import MlflowException

    key = (tracking_uri, run_id)
    if key not in _ROOTS:
        try:
            run = mlflow.MlflowClient(tracking_uri=tracking_uri).get_run(run_id)
        except (MlflowException, OSError):
            return None
        _ROOTS[key] = str(run.info.artifact_uri)
    return _ROOTS[key]


def _artifact(root: str, path: str, tracking_uri: str, folder: str) -> Path | None:
    """The file at ``path`` under a run's artifact ``root`` (:func:`_run_root`); None where
    there is none. Read there, not through a ``runs:/`` URI, for which MLflow asks for the
    run twice more and searches the experiment's logged models, for each file."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root.rstrip('/')}/{path}", dst_path=folder, tracking_uri=tracking_uri
        )
    except (MlflowException, OSError):
        return None
    found = Path(local)
    return found if found.is_file() else None
