"""The base branch's side of the data diff, read with ``git show REF:path``."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import lfs, proc
from mlgitops.data import file_format, open_data
from mlgitops.errors import BadInput, MlgitopsError
from mlgitops.features import declared_columns
from mlgitops.spec.loader import parse_pipeline
from mlgitops.spec.model import Pipeline, is_url
from mlgitops.validation import diff
from mlgitops.validation.engine import profile_only
from mlgitops.validation.inline_rules import inline
from mlgitops.validation.schema import from_yaml_text


@dataclass(frozen=True)
class Head:
    """The pull request's side: its pipeline, schema, data location and profile."""

    pipeline: Pipeline
    schema: Any
    data: str
    profile: dict[str, Any] | None
    #: the data file's columns in file order (declared or not)
    columns: tuple[str, ...] = ()


def datadiff(root: Path, ref: str, head: Head, *, workdir: Path, chunk_rows: int) -> dict[str, Any]:
    """datadiff.json: schema diff and profile diff of ``head`` against ``ref``."""
    out: dict[str, Any] = {"schema_version": 1, "pipeline": head.pipeline.name, "base": ref}
    out |= {"schema_diff": None, "data_columns": None, "profile_diff": None, "notes": []}
    source = head.pipeline.source
    try:
        text = proc.git_text(root, ref, source)
    except MlgitopsError as exc:
        out["notes"].append(f"the spec at {ref} cannot be loaded: {exc}")
        return out
    if text is None:
        out["notes"].append(f"{source} does not exist at {ref}: a new pipeline, nothing to compare")
        return out
    try:
        base = parse_pipeline(source, text)
        base_schema = _schema(root, ref, base)
    except MlgitopsError as exc:
        out["notes"].append(f"the schema at {ref} cannot be loaded: {exc}")
        return out
    out["schema_diff"] = diff.schema_diff(
        diff.describe_schema(base_schema), diff.describe_schema(head.schema)
    )
    read = _profile(root, ref, base, base_schema, head, workdir, chunk_rows, out["notes"])
    if read is not None and head.profile is not None:
        base_profile, base_columns = read
        out["profile_diff"] = diff.profile_diff(base_profile, head.profile)
        declared = dict(declared_columns(head.schema, head.columns))
        out["data_columns"] = diff.data_columns(base_columns, head.columns, declared)
    return out


def _schema(root: Path, ref: str, base: Pipeline) -> Any:
    if base.data.schema:
        text = proc.git_text(root, ref, base.data.schema)
        if text is None:
            raise BadInput(f"{base.data.schema} does not exist at {ref}")
        return from_yaml_text(f"{ref}:{base.data.schema}", text)
    return inline(base.data.columns)


def _profile(
    root: Path,
    ref: str,
    base: Pipeline,
    schema: Any,
    head: Head,
    workdir: Path,
    chunk_rows: int,
    notes: list[str],
) -> tuple[dict[str, Any], list[str]] | None:
    """The base data's profile and its columns (file order), or None with a note why not."""
    location = base.data.path
    try:
        if is_url(location):
            if location == head.data:
                notes.append(
                    f"the data is the same URL at {ref} ({location}): not versioned in Git, no profile diff"
                )
                return None
            reader = open_data(root, location, fmt=base.data.format, workdir=workdir)
        else:
            target = workdir / f"base.{file_format(location, base.data.format)}"
            if not proc.git_to_file("show", f"{ref}:./{location}", cwd=root, dest=target):
                notes.append(f"{location} does not exist at {ref}: no profile diff")
                return None
            with target.open("rb") as handle:
                first = handle.read(1024)  # a whole pointer, where it is one
            if first.startswith(lfs.POINTER):
                stored = lfs.local_object(root, first)
                if stored is None:
                    notes.append(
                        f"{location} is stored in Git LFS: {ref} holds its pointer, and its "
                        f"object is not in this clone (git lfs fetch origin {shlex.quote(ref)} "
                        f"{shlex.quote('--include=' + location)}); no "
                        "profile diff"
                    )
                    return None
                target = stored
            reader = open_data(
                root, str(target), fmt=file_format(location, base.data.format), workdir=workdir
            )
        return profile_only(reader, schema, chunk_rows), reader.columns()
    except MlgitopsError as exc:
        notes.append(f"the data at {ref} cannot be read: {exc}")
        return None
