"""Read-only cache lookups in a local ``sqlite:///`` MLflow store, without MLflow.

MLflow's client takes seconds to import; ``plan`` and a cache hit of ``train``
only need to find one run and read three artifact files. This reads MLflow's
tables directly (read-only) and the run's ``file://`` artifacts from disk.
Any surprise (an unknown table layout, another artifact scheme) returns
``None`` and the caller falls back to MLflow's client.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlgitops.training.tracking import CONTENT_KEY_TAG, RunRecord

_EXPERIMENT = "SELECT experiment_id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'"
_RUN = f"""
SELECT r.run_uuid, r.experiment_id, r.status, r.artifact_uri
FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid
WHERE r.experiment_id = ? AND r.status = 'FINISHED' AND r.lifecycle_stage = 'active'
  AND t.key = '{CONTENT_KEY_TAG}' AND t.value = ?
ORDER BY r.start_time DESC LIMIT 1
"""


class Unavailable(Exception):
    """The fast path cannot answer; ask MLflow's client."""


def _connect(db: Path) -> sqlite3.Connection:
    if not db.is_file():
        raise Unavailable(str(db))
    try:
        # absolute: a relative path is the current folder's, as MLflow's client reads it
        return sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise Unavailable(str(exc)) from exc


def experiment_id(db: Path, name: str) -> str | None:
    """The active experiment's id; ``None`` when the store has no such experiment."""
    if not db.is_file():
        return None
    with _connect(db) as conn:
        try:
            row = conn.execute(_EXPERIMENT, (name,)).fetchone()
        except sqlite3.Error as exc:
            raise Unavailable(str(exc)) from exc
    return str(row[0]) if row else None


def find_run(db: Path, experiment: str, content_key: str) -> RunRecord | None:
    with _connect(db) as conn:
        try:
            row = conn.execute(_RUN, (int(experiment), content_key)).fetchone()
        except (sqlite3.Error, ValueError) as exc:
            raise Unavailable(str(exc)) from exc
    if row is None:
        return None
    return RunRecord(run_id=row[0], experiment_id=str(row[1]), status=row[2], artifact_uri=row[3])


def read_artifact(artifact_uri: str, path: str) -> bytes:
    """A ``file://`` (or plain path) artifact's bytes."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("file", ""):
        raise Unavailable(artifact_uri)
    target = Path(unquote(parsed.path)) / path
    try:
        return target.read_bytes()
    except OSError as exc:
        raise Unavailable(str(exc)) from exc
