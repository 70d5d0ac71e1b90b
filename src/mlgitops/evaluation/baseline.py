"""The baseline: what the base branch says is deployed, loaded from MLflow.

The deployed model is the one in the base branch's
``manifests/<name>/overlays/<first environment>/model.json`` (a provenance
record). Git is the source of truth: no record there means nothing is
deployed yet, whatever MLflow holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops import proc
from mlgitops.errors import BadInput, ServiceError
from mlgitops.evaluation.verdict import NO_BASELINE, Baseline
from mlgitops.results import ProvenanceRecord, load_provenance
from mlgitops.spec.model import Pipeline

NO_ENVIRONMENTS = "the spec deploys to no environment: absolute gates only"


def record_path(pipeline: Pipeline) -> str | None:
    env = pipeline.first_environment
    return None if env is None else f"manifests/{pipeline.name}/overlays/{env.name}/model.json"


def find_baseline(
    root: Path, ref: str, pipeline: Pipeline
) -> tuple[Baseline, ProvenanceRecord | None]:
    """Read the provenance record of the first environment at ``ref``, if there is one."""
    path = record_path(pipeline)
    if path is None:
        return Baseline(False, NO_ENVIRONMENTS), None
    _check_ref(root, ref)
    source = f"{ref}:{path}"
    env = path.split("/")[3]
    if not _exists(root, ref, path):
        return Baseline(False, NO_BASELINE, source=source, environment=env), None
    record = load_provenance(proc.git("show", f"{ref}:./{path}", cwd=root), what=source)
    info = Baseline(
        True,
        model_uri=record.model_uri,
        version=record.version,
        run_id=record.run_id,
        source=source,
        environment=env,
    )
    return info, record


def _exists(root: Path, ref: str, path: str) -> bool:
    done = proc.run(["git", "cat-file", "-e", f"{ref}:./{path}"], cwd=root, check=False)
    return done.returncode == 0


def _check_ref(root: Path, ref: str) -> None:
    inside = proc.run(["git", "rev-parse", "--git-dir"], cwd=root, check=False)
    if inside.returncode != 0:
        raise BadInput(
            f"{root} is not a Git repository: compare reads what is deployed from the base branch"
        )
    found = proc.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root, check=False
    )
    if found.returncode != 0:
        raise BadInput(
            f"base ref {ref!r} is not in this clone: fetch it (actions/checkout with "
            "fetch-depth: 0) or name another with --base REF"
        )


def load_model(record: ProvenanceRecord, tracking_uri: str, source: str) -> Any:
    """The deployed model from MLflow; its absence is an error, never a silent pass."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    where = f"the deployed model {record.model_uri} (recorded in {source})"
    try:
        if record.run_id:
            run = mlflow.MlflowClient().get_run(record.run_id)
            if run.info.lifecycle_stage == "deleted":
                raise ServiceError(
                    f"{where} cannot be used: its run {record.run_id} is deleted in "
                    f"MLflow at {tracking_uri}"
                )
        return load_flavor(record.model_uri)
    except (MlflowException, OSError) as exc:
        detail = str(getattr(exc, "message", exc)).strip().splitlines()[0]
        raise ServiceError(f"{where} is not in MLflow at {tracking_uri}: {detail}") from exc


def load_flavor(uri: str) -> Any:
    """A model (URI or local MLflow model folder): scikit-learn's own object where it is one.

    The scikit-learn flavor keeps ``predict_proba`` and ``classes_``, which the
    probability metrics need; any other model is loaded as a pyfunc.
    """
    import mlflow

    flavors = mlflow.models.get_model_info(uri).flavors
    if "sklearn" in flavors:
        return mlflow.sklearn.load_model(uri)
    return mlflow.pyfunc.load_model(uri)
