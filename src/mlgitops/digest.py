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
from pathlib import Path

PREFIX = "sha256:"
_CHUNK = 1 << 20


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


def hex_of(digest: str) -> str:
    """The hex part of ``sha256:<hex>`` (what GitHub's attestation API takes as the subject)."""
    return digest.removeprefix(PREFIX)
