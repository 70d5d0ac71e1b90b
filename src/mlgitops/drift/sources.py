"""Where drift gets its two inputs: the training reference and the current data.

The reference, first found wins:

1. ``--reference FILE``;
2. ``reference.json`` in the hand-off folder (left there by ``train``);
3. the artifact ``reference.json`` of the MLflow run of the model deployed in
   the first environment (``manifests/<name>/overlays/<env>/model.json``);
4. otherwise it is computed from the pipeline's training data (``data.path``),
   and the report says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import jsondoc
from mlgitops.digest import bytes_digest
from mlgitops.drift.profile import build_reference, load_reference
from mlgitops.drift.reference_check import refuse_unusable
from mlgitops.errors import BadInput, ServiceError, first_line
from mlgitops.masking import without_credentials
from mlgitops.outputs import REFERENCE
from mlgitops.results import ProvenanceRecord, load_provenance
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    from mlgitops.training.table import Table

ARTIFACT = REFERENCE
#: Where a run may hold it: at the root, or with train's other hand-off files.
ARTIFACT_PATHS = (ARTIFACT, f"mlgitops/{ARTIFACT}")
_TIMEOUT = 60.0


@dataclass(frozen=True)
class Reference:
    """A loaded reference and, in words, where it came from."""

    profile: dict[str, Any]
    source: str
    computed: bool = False


def reference_from_file(path: Path, shown: str) -> Reference:
    """A reference JSON file; BadInput when it is missing or not a reference."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise BadInput(f"{shown}: file not found") from exc
    except OSError as exc:
        raise BadInput(f"{shown}: cannot read ({exc})") from exc
    return Reference(load_reference(jsondoc.text(data, shown), shown), shown)


@dataclass(frozen=True)
class Deployed:
    """The model deployed in the first environment, as its ``model.json`` records it."""

    run_id: str
    #: the record's path in the repository
    record: str
    #: the digest of the run's reference that deploy checked ("" in older records)
    reference_digest: str = ""
    #: the record as the repository holds it (None: not read from one)
    provenance: ProvenanceRecord | None = None


def deployed_run(repo: Path, pipeline: Pipeline) -> Deployed | None:
    """The model deployed in the first environment, if any."""
    env = pipeline.first_environment
    if env is None:
        return None
    rel = f"manifests/{pipeline.name}/overlays/{env.name}/model.json"
    path = repo / rel
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{rel}: cannot read ({exc})") from exc
    record = load_provenance(jsondoc.text(data, rel), rel, overlay=(pipeline.name, env.name))
    return Deployed(record.run_id, rel, record.reference_digest, record)


#: What drift says to do with a reference changed after the deploy.
DRIFT_REMEDY = (
    "so no drift can be judged against it; restore the run's mlgitops/reference.json, or "
    "pass the reference with --reference FILE"
)


def reference_from_run(
    tracking_uri: str, deployed: Deployed, remedy: str = DRIFT_REMEDY
) -> Reference | None:
    """The deployed run's ``reference.json`` artifact; None when the run has none and its
    record names no digest. Where the record names one (deploy checked the run's
    ``mlgitops/reference.json`` against the merged data's profile), that file is read and
    must still have it: the pull request's MLflow credentials can write it, and a
    reference of their choosing would decide what drift finds."""
    run_id, shown = deployed.run_id, f"from {deployed.record}"
    if tracking_uri.startswith(("http://", "https://")):
        _held_by_server(tracking_uri, run_id, shown)
    else:
        _held_by_store(tracking_uri, run_id, shown)
    if deployed.reference_digest and deployed.provenance is not None:
        _held_to_registry(tracking_uri, deployed.provenance, deployed.record)
    paths = ARTIFACT_PATHS[1:] if deployed.reference_digest else ARTIFACT_PATHS
    for path in paths:
        if tracking_uri.startswith(("http://", "https://")):
            data = _artifact_over_http(tracking_uri, run_id, path)
        else:
            data = _artifact_with_mlflow(tracking_uri, run_id, path)
        what = f"artifact {path} of MLflow run {run_id}"
        if deployed.reference_digest:
            _held_to_record(data, deployed, f"{what} ({shown})", remedy)
        if data is not None:
            return Reference(load_reference(jsondoc.text(data, what), what), what)
    return None


def _held_to_registry(uri: str, record: ProvenanceRecord, rel: str) -> None:
    """BadInput unless the registry holds the version ``record`` names, of its model and
    run, registered with its digests: a merge can change a record (no deploy runs for a
    pull request that changes only one), and the PR credentials can write a reference to
    match the digest it names. The registry is the witness they cannot write; deploy,
    promote and rollback hold every record to it too (:mod:`mlgitops.gitops.records`)."""
    from mlgitops.gitops.records import unregistered
    from mlgitops.gitops.registry import open_registry

    found = open_registry(uri, Path.cwd()).get_version(record.model_name, record.version)
    if (problem := unregistered(record, found, rel)) is not None:
        raise BadInput(problem)


def _held_to_record(data: bytes | None, deployed: Deployed, what: str, remedy: str) -> None:
    """BadInput unless ``data`` is the reference whose digest the deployed record holds."""
    now = "is missing" if data is None else f"has digest {bytes_digest(data)}"
    if data is None or bytes_digest(data) != deployed.reference_digest:
        raise BadInput(
            f"{what} {now}, but {deployed.record} records {deployed.reference_digest}, the "
            f"reference deploy checked: it changed after the model was deployed, {remedy}"
        )


def _artifact_over_http(uri: str, run_id: str, path: str) -> bytes | None:
    """One GET of the tracking server's ``get-artifact`` endpoint (proxied or not)."""
    import requests

    from mlgitops.training.tracking_session import reason, server, session_for

    session = session_for(os.environ)
    base, shown = server(uri, session)
    try:
        answer = session.get(
            f"{base}/get-artifact", params={"path": path, "run_uuid": run_id}, timeout=_TIMEOUT
        )
    except requests.RequestException as exc:
        raise ServiceError(
            f"MLflow tracking server {shown} is unreachable ({reason(exc, _TIMEOUT)})"
        ) from exc
    if answer.status_code in (400, 404):
        return None
    if answer.status_code >= 400:
        raise ServiceError(
            f"MLflow tracking server {shown}: {path} of run {run_id} answered {answer.status_code}"
        )
    return answer.content


def _held_by_server(uri: str, run_id: str, shown: str) -> None:
    """ServiceError where the tracking server at ``uri`` does not hold the run (another
    server, a deleted run): read as a run without a reference, drift profiled the data it
    was given instead, and passed."""
    from mlgitops.training.tracking_rest import RestTracking
    from mlgitops.training.tracking_session import session_for

    tracking = RestTracking(uri, session_for(os.environ))
    if tracking.run(run_id) is None:
        where = f" ({shown})" if shown else ""
        raise ServiceError(
            f"MLflow tracking server {tracking.uri}: run {run_id}{where} cannot be read "
            "(RESOURCE_DOES_NOT_EXIST: the server holds no run of that id)"
        )


def _held_by_store(uri: str, run_id: str, shown: str) -> None:
    """ServiceError where the local store at ``uri`` cannot give the run: a store of another
    scheme, or one that does not hold it (a mistyped path makes a new, empty one). Read as
    a run without a reference, drift profiled the data it was given instead, and passed."""
    mlflow = _mlflow(uri)
    try:
        mlflow.MlflowClient(tracking_uri=uri).get_run(run_id)
    except Exception as exc:  # MLflow's, or its store's own: it cannot give the run
        where = f" ({shown})" if shown else ""
        raise ServiceError(
            f"MLflow tracking store {without_credentials(uri)}: run {run_id}{where} cannot be "
            f"read ({first_line(exc)})"
        ) from exc


def _artifact_with_mlflow(uri: str, run_id: str, path: str) -> bytes | None:
    """One artifact file of the run in a local store, read as compare reads the deployed
    run's (mlflow: :func:`_held_by_store` asked for it first)."""
    from mlgitops.evaluation.deployed import run_file

    return run_file(run_id, path, uri)


def _mlflow(uri: str) -> Any:
    """The mlflow package, which a local store is read with; ServiceError naming the extra
    that installs it where it is missing."""
    try:
        import mlflow
    except ImportError as exc:
        raise ServiceError(
            f"reading MLflow store {uri} needs mlflow (pip install mlgitops[train])"
        ) from exc
    return mlflow


def reference_from_data(repo: Path, pipeline: Pipeline) -> Reference:
    """Profile ``data.path`` now (all its rows, the target left out)."""
    table = read_frame(repo, pipeline, pipeline.data.path)
    source = {"data": pipeline.data.path}
    temporal = table.contract.temporal
    profile = build_reference(table.frame, pipeline.data.target, source=source, temporal=temporal)
    refuse_unusable(profile, f"reference computed from {pipeline.data.path}")
    return Reference(profile, f"computed now from {pipeline.data.path}", computed=True)


def read_frame(repo: Path, pipeline: Pipeline, location: str) -> Table:
    """A data file of the pipeline read as ``train`` reads it: the declared columns, typed
    (``frame``, without the row number), and the names of the columns the schema does not
    declare (not read).

    Data that fails validation is still read (drifting data often does); a value
    that does not parse as its column's dtype is a gap, as in training, and counted
    (``unparsed``).
    """
    import tempfile

    from mlgitops.outputs import ROW
    from mlgitops.training.table import read_table

    with tempfile.TemporaryDirectory(prefix="mlgitops-drift-") as tmp:
        table = read_table(
            repo, pipeline, location, Path(tmp), refuse_invalid=False, labelled=False
        )
    return replace(table, frame=table.frame.drop(columns=[ROW]))
