"""The model digest: one sha256 over a model folder's files (``sha256:<hex>``).

``train`` records it when it logs the model (train.json, the PR comment);
``deploy`` recomputes it over the folder it downloads from MLflow before it
registers anything, and writes it to ``model.json``. The digest covers every
file's relative path and bytes, so a renamed, added, removed or changed file
changes it; it does not depend on modification times or on the order the
file system lists the files in.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

PREFIX = "sha256:"
#: What every digest here looks like (and an image's, by the same algorithm).
FORM = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20
#: What MLflow's client adds to a registered version's download: not one of the model's
#: files, so the digest of ``models:/<name>/<version>`` is the logged model's.
REGISTERED_MODEL_META = "registered_model_meta"


def folder_digest(path: Path) -> str:
    """``sha256:<hex>`` over every file under ``path`` (sorted relative paths, then bytes)."""
    outer = hashlib.sha256()
    files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
    for rel, file in files:
        inner = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                inner.update(chunk)
        outer.update(f"{len(rel.encode())}:{rel}\0{inner.hexdigest()}\n".encode())
    return PREFIX + outer.hexdigest()


def training_rows_digest(rows: bytes, columns: object, target: object) -> str:
    """``sha256:<hex>`` over a run's ``training_rows.parquet`` (``rows``) and the
    ``fingerprint_columns`` and ``target`` of its train.json, which say how the
    fingerprints are matched: what ``compare`` reads to keep a deployed model off the rows
    it was trained on. ``train`` records it, ``deploy`` copies it into ``model.json``."""
    about = {
        "fingerprint_columns": columns,
        "target": target,
        "training_rows": hashlib.sha256(rows).hexdigest(),
    }
    text = json.dumps(about, sort_keys=True, separators=(",", ":"), default=str)
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()


def bytes_digest(data: bytes) -> str:
    """``sha256:<hex>`` of one file's bytes (a run's ``reference.json``, as deploy checked
    it: what ``drift`` holds the run's copy to)."""
    return PREFIX + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    """The hex part of ``sha256:<hex>`` (what GitHub's attestation API takes as the subject)."""
    return digest.removeprefix(PREFIX)


def download_model(model_uri: str, dest: Path, tracking_uri: str | None = None) -> Path:
    """The files of ``model_uri`` downloaded to ``dest`` (MLflow's errors pass through),
    without :data:`REGISTERED_MODEL_META`: what :func:`folder_digest` is taken over.
    ``tracking_uri`` (else MLflow's own) becomes the process's tracking and registry URI:
    MLflow resolves a ``models:/<name>/<version>`` URI through those alone."""
    import mlflow

    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    dest.mkdir(parents=True)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=str(dest), tracking_uri=tracking_uri
        )
    )
    (local / REGISTERED_MODEL_META).unlink(missing_ok=True)
    return local
