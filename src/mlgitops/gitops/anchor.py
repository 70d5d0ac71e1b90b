"""What a merge may deploy: the results its reviewed pull request's workflow uploaded.

Deploy runs in the trusted context after the merge. It never asks MLflow which
run to ship (tags and run ordering are writable by any job holding the PR
credentials) and never reads the working tree's hand-off folder in CI (a
committed ``.mlgitops/<name>/verdict.json`` is just a file in the merge). It
asks GitHub instead (:mod:`mlgitops.gitops.anchor_github`):

1. the pull request merged as the pushed commit (``merge_commit_sha``);
2. the PR workflow's newest run for that pull request's last head commit and
   head branch, from this repository, started before the merge (code on
   another branch cannot write another run's artifacts; a pull request opened
   after the merge cannot add a run), and completed: where it is running again,
   an older run is not its review in its place. A run that started while
   another pull request from the same branch into another base was open cannot
   be told apart from that one's, and is not taken; where none is left,
   nothing deploys;
3. that run's uploaded results (``mlgitops-<name>-train``), uploaded before
   the merge (an attempt run after it replaces them): ``train.json`` names the
   MLflow run and the model digest, ``verdict.json`` the review.

Locally, without GitHub, the same record is read from the hand-off folder,
and everything says that the anchor is local.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import digest, jsondoc, proc
from mlgitops.errors import BadInput, CheckFailed
from mlgitops.outputs import Outputs, shown
from mlgitops.results import VERDICT_SCHEMA_VERSION, TrainResult, load_train_result


@dataclass(frozen=True)
class Anchor:
    """The reviewed results deploy holds the model to."""

    train: TrainResult
    #: ``verdict.json`` as compare wrote it in the reviewed run
    verdict: Mapping[str, Any]
    #: where the record came from, in words (printed by deploy)
    source: str
    local: bool
    pr: int | None = None
    #: the pull request's last head commit (what the PR workflow ran on)
    head_sha: str | None = None
    workflow_run: int | None = None
    #: the paths the pull request changes, as GitHub lists them (None: more than it lists)
    changed: tuple[str, ...] | None = ()

    @property
    def passed(self) -> bool:
        return self.verdict.get("passed") is True

    @property
    def summary(self) -> str:
        return str(self.verdict.get("summary") or "")


def from_handoff(root: Path, outputs: Outputs, pipeline: str) -> Anchor:
    """The local anchor: the hand-off folder, which must not be committed to Git."""
    tracked = _tracked(root, outputs.folder)
    if tracked:
        raise CheckFailed(
            f"{tracked[0]} is committed to Git: committed results are files anyone can "
            "write, never a review; remove them from the repository (they belong in "
            ".gitignore); nothing deployed"
        )
    train = _read(outputs.train_json, pipeline, "train")
    verdict = _verdict(outputs.verdict_json, pipeline)
    resolved = outputs.folder.resolve()
    folder = shown(resolved if resolved.is_relative_to(root) else outputs.folder, root)
    where = f"local hand-off folder {folder} (no GitHub: the anchor is local)"
    return Anchor(load_train_result(train, str(outputs.train_json)), verdict, where, local=True)


#: What the fields of train.json that deploy writes into a commit and model.json look like
#: (a pull request's job wrote them: a line break would add trailers to the commit).
_FORMS = {
    "run_id": (re.compile(r"[A-Za-z0-9_-]{1,128}"), "an MLflow run id"),
    "content_key": (re.compile(r"[0-9a-f]{64}"), "a sha256 content key"),
    "model_uri": (re.compile(r"models:/[A-Za-z0-9_-]{1,128}"), "a logged model (models:/<id>)"),
    "model_digest": (digest.FORM, "a sha256 digest"),
    "training_rows_digest": (digest.FORM, "a sha256 digest"),
    "data": (re.compile(r"[0-9a-f]{64}"), "a sha256 data hash"),
}


def check(anchor: Anchor, pipeline: str) -> None:
    """The record must be one reviewed, passed, digested model of ``pipeline``, its fields
    in their forms; CheckFailed (BadInput for a malformed field) says why not."""
    train, candidate = anchor.train, anchor.verdict.get("candidate") or {}
    if train.pipeline != pipeline:
        raise CheckFailed(
            f"{anchor.source}: train.json is pipeline {train.pipeline!r}'s, not "
            f"{pipeline!r}'s; nothing deployed"
        )
    fields = {
        "run_id": train.run_id,
        "content_key": train.content_key,
        "model_uri": train.model_uri,
        "model_digest": train.model_digest,
        "training_rows_digest": train.training_rows_digest,
        "data": train.hashes.data,
    }
    for key, value in fields.items():
        form, what = _FORMS[key]
        if value and not (isinstance(value, str) and form.fullmatch(value)):
            shown = f"hashes.{key}" if key == "data" else key
            raise BadInput(
                f"{anchor.source}: train.json's {shown} {value!r} is not {what}; nothing deployed"
            )
    judged = candidate.get("run_id") if isinstance(candidate, Mapping) else None
    if judged != train.run_id:
        raise CheckFailed(
            f"{anchor.source}: the verdict judged run {judged!r} "
            f"but train.json names run {train.run_id}; nothing deployed"
        )
    if not anchor.passed:
        why = f": {anchor.summary}" if anchor.summary else ""
        raise CheckFailed(
            f"run {train.run_id} did not pass its review ({anchor.source}){why}; nothing deployed"
        )
    for field, what in (
        (train.model_digest, "model digest"),
        (train.training_rows_digest, "training rows digest"),
    ):
        if not field:
            raise CheckFailed(
                f"{anchor.source}: train.json records no {what} (trained by an older "
                "mlgitops?): run the pull request's checks again; nothing deployed"
            )


# -- files ----------------------------------------------------------------------------


def _tracked(root: Path, folder: Path) -> list[str]:
    try:
        rel = folder.resolve().relative_to(root)
    except ValueError:
        return []
    return proc.git_names("ls-files", "-z", "--", rel.as_posix(), cwd=root, check=False)


def _read(path: Path, pipeline: str, stage: str) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise BadInput(
            f"{path}: not readable ({exc.strerror or exc}); run `mlgitops {stage} {pipeline}` "
            "first, or deploy from the workflow, where the anchor is the pull request's run"
        ) from exc


def _verdict(path: Path, pipeline: str) -> Mapping[str, Any]:
    return verdict_doc(_read(path, pipeline, "compare").encode(), str(path))


def verdict_doc(raw: bytes | None, what: str) -> Mapping[str, Any]:
    """``verdict.json`` (``raw``, read from ``what``) as compare wrote it; CheckFailed where
    there is none, BadInput where it is not a verdict document."""
    if raw is None:
        raise CheckFailed(f"{what} is missing: compare never judged the model; nothing deployed")
    try:
        doc = jsondoc.loads(raw, what)
    except ValueError as exc:
        raise BadInput(f"{what}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != VERDICT_SCHEMA_VERSION:
        raise BadInput(f"{what}: not a verdict document (schema_version {VERDICT_SCHEMA_VERSION})")
    return doc
