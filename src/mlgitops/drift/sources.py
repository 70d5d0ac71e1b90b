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

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.drift.profile import build_reference, load_reference
from mlgitops.errors import BadInput, DataError, ServiceError
from mlgitops.results import load_provenance
from mlgitops.spec.model import Pipeline, is_url

if TYPE_CHECKING:
    import pandas as pd

ARTIFACT = "reference.json"
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
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise BadInput(f"{shown}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{shown}: cannot read ({exc})") from exc
    return Reference(load_reference(text, shown), shown)


def deployed_run(repo: Path, pipeline: Pipeline) -> tuple[str, str] | None:
    """``(run_id, model.json path)`` of the model deployed in the first environment, if any."""
    env = pipeline.first_environment
    if env is None:
        return None
    rel = f"manifests/{pipeline.name}/overlays/{env.name}/model.json"
    path = repo / rel
    if not path.is_file():
        return None
    record = load_provenance(path.read_text("utf-8"), rel)
    return record.run_id, rel


def reference_from_run(tracking_uri: str, run_id: str) -> Reference | None:
    """The run's ``reference.json`` artifact; None when the run has none."""
    for path in ARTIFACT_PATHS:
        if tracking_uri.startswith(("http://", "https://")):
            text = _artifact_over_http(tracking_uri, run_id, path)
        else:
            text = _artifact_with_mlflow(tracking_uri, run_id, path)
        if text is not None:
            what = f"artifact {path} of MLflow run {run_id}"
            return Reference(load_reference(text, what), what)
    return None


def _artifact_over_http(uri: str, run_id: str, path: str) -> str | None:
    """One GET of the tracking server's ``get-artifact`` endpoint (proxied or not)."""
    import requests

    from mlgitops.training.tracking_rest import session_for

    url = f"{uri.rstrip('/')}/get-artifact"
    try:
        answer = session_for(os.environ).get(
            url, params={"path": path, "run_uuid": run_id}, timeout=_TIMEOUT
        )
    except requests.RequestException as exc:
        raise ServiceError(
            f"MLflow tracking server {uri} is unreachable ({type(exc).__name__})"
        ) from exc
    if answer.status_code in (400, 404):
        return None
    if answer.status_code >= 400:
        raise ServiceError(
            f"MLflow tracking server {uri}: {path} of run {run_id} answered {answer.status_code}"
        )
    return answer.content.decode("utf-8", "replace")


def _artifact_with_mlflow(uri: str, run_id: str, path: str) -> str | None:
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError as exc:
        raise ServiceError(
            f"reading MLflow store {uri} needs mlflow (pip install mlgitops[train])"
        ) from exc
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, tracking_uri=uri
        )
    except (MlflowException, OSError):
        return None
    return Path(local).read_text("utf-8")


def reference_from_data(repo: Path, pipeline: Pipeline) -> Reference:
    """Profile ``data.path`` now (all its rows, the target left out)."""
    frame = read_frame(repo, pipeline.data.path, pipeline.data.file_format)
    profile = build_reference(frame, pipeline.data.target, source={"data": pipeline.data.path})
    return Reference(profile, f"computed now from {pipeline.data.path}", computed=True)


def current_format(location: str) -> str:
    """``parquet`` for ``.parquet``/``.pq`` files, else ``csv``."""
    bare = location.lower().split("?")[0]
    return "parquet" if bare.endswith((".parquet", ".pq")) else "csv"


def read_frame(repo: Path, location: str, file_format: str | None = None) -> pd.DataFrame:
    """A CSV or Parquet file (repo-relative or absolute path, or http(s) URL) as a frame."""
    import pandas as pd

    fmt = file_format or current_format(location)
    source: Any = io.BytesIO(_download(location)) if is_url(location) else repo / location
    try:
        frame = pd.read_parquet(source) if fmt == "parquet" else pd.read_csv(source)
    except FileNotFoundError as exc:
        raise DataError(f"{location}: file not found") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{location}: cannot read as {fmt} ({exc})") from exc
    if frame.empty:
        raise DataError(f"{location}: no data rows")
    return frame


def _download(url: str) -> bytes:
    import requests

    try:
        answer = requests.get(url, timeout=_TIMEOUT)
        answer.raise_for_status()
    except requests.RequestException as exc:
        raise DataError(f"{url}: cannot download ({exc})") from exc
    return answer.content
