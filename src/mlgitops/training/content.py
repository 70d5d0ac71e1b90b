"""The content key: one sha256 over everything that decides what ``train`` produces.

Light on purpose (hashlib, json and one ``git ls-files`` for folders): ``plan``
and the cache-hit path of ``train`` compute it without importing pandas,
scikit-learn or MLflow.

Definition (docs/train.md, "Cache semantics")::

    content_key = sha256(canonical JSON of {
        "data":    sha256 of the data file's bytes (and of data.test_path's, if any),
        "schema":  sha256 of the schema file's bytes, or of the inline columns as JSON,
        "spec":    sha256 of the training part of the spec as canonical JSON,
        "code":    sha256 over (path, sha256 of bytes) of every file under
                   Pipeline.trainer_inputs(): model.code, the files the custom
                   command names, and for `python -m pkg.mod` the package's folder
                   (a folder: the files git tracks or would add),
        "package": sha256 of {"mlgitops": version} (nothing about the machine),
        "version": 4,
    })
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mlgitops import __version__, fsio
from mlgitops.errors import DataError
from mlgitops.record import asdict
from mlgitops.results import Hashes
from mlgitops.spec.model import Pipeline, is_url
from mlgitops.spec.positions import dotted

#: The key's own version: raised whenever ``train`` makes something else of the same inputs
#: (another split, other hand-off files), so that no run made before is reused for them, or
#: whenever what a run's records mean changes. 4: a pull request's ``cached: true`` record
#: binds the run it names (:mod:`mlgitops.training.binding`); builds before recorded it for
#: any run found under the key.
KEY_VERSION = 4
_CHUNK = 1 << 20
_SKIP_PARTS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints"})


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, so equal values hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def sha256_file(
    path: Path, *, first: Callable[[bytes], None] | None = None, shown: str | None = None
) -> str:
    """The file's sha256; ``first`` sees its first chunk (up to 1 MiB) before it is hashed;
    ``shown``: its name in errors (the path as the spec gives it; else ``path``)."""
    digest = hashlib.sha256()
    try:
        with fsio.open_regular(path) as handle:
            chunk = handle.read(_CHUNK)
            if first is not None:
                first(chunk)
            while chunk:
                digest.update(chunk)
                chunk = handle.read(_CHUNK)
    except FileNotFoundError as exc:
        raise DataError(f"{shown or path}: no such file") from exc
    except fsio.NotAFile as exc:  # a pipe or a device: it would wait for a writer or never end
        raise DataError(f"{shown or path}: is not a file") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{shown or path}: is a folder, expected a file") from exc
    except OSError as exc:  # permissions, a device that fails
        raise DataError(f"{shown or path}: cannot be read ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def training_spec(pipeline: Pipeline) -> dict[str, Any]:
    """The parts of a spec that decide the trained model and its logged metrics.

    Gates, compare, deploy and drift settings are left out: changing them
    re-runs compare or deploy, not training.
    """
    return {
        "name": pipeline.name,
        "data": asdict(pipeline.data),
        "model": asdict(pipeline.model),
        "task": pipeline.task,
        "metrics": list(pipeline.metrics),
    }


def code_files(root: Path, paths: Iterable[str], declared: Iterable[str] = ()) -> list[str]:
    """Every file under the given repo-relative paths, sorted; a folder stands for the
    files git tracks or would add under it (:mod:`mlgitops.worktree`), or outside a git
    repository for every file in it. Byte-code in ``__pycache__``, git's own folder and
    notebook checkpoints never count.

    A path in ``declared`` (``model.code``) must exist; the others (read from the
    command's text) are skipped when they do not.
    """
    files: set[str] = set()
    must = set(declared)
    folders: list[str] = []
    for rel in paths:
        target = root / rel
        if rel not in must and not target.exists():
            continue
        if target.is_dir():
            folders.append(rel)
        elif target.is_file():
            files.add(Path(rel).as_posix())
        else:
            raise DataError(f"{rel}: model.code path not found")
    from mlgitops.worktree import files_under

    listed = files_under(root, folders, own_excludes=True)
    # a nested repository is listed as its folder: every file in it counts
    for name in folders if listed is None else listed:
        target = root / name
        found = target.rglob("*") if target.is_dir() else [target]
        files.update(
            path.relative_to(root).as_posix()
            for path in found
            if path.is_file() and not _skipped(path.relative_to(root))
        )
    return sorted(files)


def _skipped(path: Path) -> bool:
    """Python writes its own byte-code into ``__pycache__``; a ``.pyc`` elsewhere, which git
    tracks or would add, is a sourceless module ``import`` runs: it counts."""
    return bool(_SKIP_PARTS.intersection(path.parts))


def package_versions() -> dict[str, str]:
    """The package part of the key: mlgitops's own version, nothing about the machine.

    ``plan`` computes the key on a runner that has no ML libraries installed and
    may run another Python, and a developer's ``train`` must find the run of the
    pull request's GPU runner, so the key cannot depend on either; the model's
    own requirements pin the library versions it was trained with.
    """
    return {"mlgitops": __version__}


def hashes(root: Path, pipeline: Pipeline, data_bytes_hash: str | None = None) -> Hashes:
    """The component hashes of a pipeline's training inputs as they are on disk."""
    data = data_bytes_hash or data_hash(root, pipeline)
    model = pipeline.model
    missing = [i for i, rel in enumerate(model.code) if not (root / rel).exists()]
    if missing:  # as render says it, at the spec's line
        from mlgitops.errors import SpecError
        from mlgitops.spec import spec_problem
        from mlgitops.spec.references import absent

        places: list[list[str | int]] = [["model", "code", i] for i in missing]
        raise SpecError(
            [
                spec_problem(root, pipeline, at, f"{dotted(at)}: {absent(root, model.code[i])}")
                for at, i in zip(places, missing, strict=True)
            ]
        )
    code = code_files(root, pipeline.trainer_inputs(), declared=model.code)
    code_doc = [[rel, sha256_file(root / rel, shown=rel)] for rel in sorted(set(code))]
    return Hashes(
        data=data,
        schema=schema_hash(root, pipeline),
        spec=sha256_bytes(canonical(training_spec(pipeline))),
        code=sha256_bytes(canonical(code_doc)),
        package=package_hash(),
    )


def package_hash() -> str:
    """The package part of the content key, as this mlgitops computes it."""
    return sha256_bytes(canonical(package_versions()))


def changed_since(root: Path, pipeline: Pipeline, recorded: Hashes) -> list[str]:
    """What of a pipeline's training inputs on disk differs from ``recorded`` (a run's), in
    words; data read from a URL is not fetched again to tell."""
    fetched = any(is_url(p) for p in (pipeline.data.path, pipeline.data.test_path) if p)
    return differences(hashes(root, pipeline, recorded.data if fetched else None), recorded)


#: Each part of the content key, in words.
_PARTS = {
    "data": "the data",
    "schema": "the schema",
    "spec": "the spec's training settings",
    "code": "the trainer's code",
    "package": "mlgitops's version",
}


#: The parts a reviewed run must share with the merged commit it deploys from
#: (:func:`mlgitops.gitops.stale.merged_inputs`).
REVIEWED_PARTS = ("schema", "spec", "code")


def differences(now: Hashes, recorded: Hashes, parts: tuple[str, ...] = tuple(_PARTS)) -> list[str]:
    """The ``parts`` of the training inputs whose hashes differ, in words."""
    return [_PARTS[p] for p in parts if getattr(now, p) != getattr(recorded, p)]


def data_hash(root: Path, pipeline: Pipeline) -> str:
    """sha256 of the data bytes; with a ``test_path``, over both files' hashes."""
    data = file_or_url_hash(root, pipeline.data.path)
    if pipeline.data.test_path:
        return with_holdout(data, file_or_url_hash(root, pipeline.data.test_path))
    return data


def with_holdout(data: str, holdout: str) -> str:
    """The data hash of a pipeline with a ``test_path``, from the two files' own hashes."""
    return sha256_bytes(canonical([data, holdout]))


def file_or_url_hash(root: Path, path: str) -> str:
    """A data file's hash; a Git LFS pointer in its place is refused by name (its hash is no
    key: no run trained on it)."""
    if is_url(path):
        from mlgitops.data import http

        return http.fetched(path).sha256  # the bytes this command reads, trains and scores
    from mlgitops.lfs import refuse_pointer

    return sha256_file(
        root / path, first=lambda head: refuse_pointer(head[:1024], path), shown=path
    )


def schema_hash(root: Path, pipeline: Pipeline) -> str:
    if pipeline.data.schema:
        return sha256_file(root / pipeline.data.schema, shown=pipeline.data.schema)
    return sha256_bytes(canonical([asdict(c) for c in pipeline.data.columns]))


def content_key(parts: Hashes) -> str:
    """The cache key stored on every run as the tag ``mlgitops.content_key``."""
    doc: Mapping[str, Any] = {**asdict(parts), "version": KEY_VERSION}
    return sha256_bytes(canonical(doc))
