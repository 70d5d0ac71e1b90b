"""What a merge may deploy: the results its reviewed pull request's workflow uploaded.

Deploy runs in the trusted context after the merge. It never asks MLflow which
run to ship (tags and run ordering are writable by any job holding the PR
credentials) and never reads the working tree's hand-off folder in CI (a
committed ``.mlgitops/<name>/verdict.json`` is just a file in the merge). It
asks GitHub instead:

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

import io
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import digest, jsondoc, proc
from mlgitops.errors import BadInput, CheckFailed
from mlgitops.github import PULL_FILES_LIMIT, GitHub
from mlgitops.github.payloads import paths_of, seconds_of
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


def artifact_name(pipeline: str) -> str:
    """The PR workflow's upload of train.json and verdict.json (see pr.yml.j2)."""
    return f"mlgitops-{pipeline}-train"


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


def from_github(client: GitHub, repo: str, sha: str, pipeline: str, pr_workflow: str) -> Anchor:
    """The anchor of pushed commit ``sha``: its merged pull request's reviewed results."""
    pull = _merged_pull(client, repo, sha)
    number, head = int(pull["number"]), str(pull["head"]["sha"])
    run = _reviewed_run(client, repo, pull, pr_workflow)
    files = _results(client, repo, int(run["id"]), pipeline, pull)
    train = load_train_result(
        files["train.json"].decode("utf-8", "replace"),
        f"workflow run {run['id']}: train.json",
    )
    verdict = _verdict_doc(files.get("verdict.json"), f"workflow run {run['id']}: verdict.json")
    where = f"pull request #{number}, workflow run {run['id']} on {head[:12]}"
    entries = client.list_pull_files(repo, number)
    changed = None if len(entries) >= PULL_FILES_LIMIT else tuple(paths_of(entries))
    return Anchor(train, verdict, where, False, number, head, int(run["id"]), changed)


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


# -- GitHub lookups -------------------------------------------------------------------


def _merged_pull(client: GitHub, repo: str, sha: str) -> dict[str, Any]:
    pulls = [
        p
        for p in client.pulls_for_commit(repo, sha)
        if p.get("merged_at") and p.get("merge_commit_sha") == sha
    ]
    if not pulls:
        raise CheckFailed(
            f"commit {sha[:12]} is not the merge of a pull request: deploy ships only "
            "what a pull request reviewed (merge through a pull request); nothing deployed"
        )
    return pulls[0]


def sharing_its_branch(client: GitHub, repo: str, pull: Mapping[str, Any]) -> list[Any]:
    """The other pull requests from the same branch into another base: GitHub's runs name
    the head branch and commit, not the pull request, so a run of theirs on the merged one's
    head commit (their base's workflow file, anything) would pass for its review."""
    number, branch, base = int(pull["number"]), str(pull["head"]["ref"]), pull["base"]["ref"]
    owner = repo.split("/", 1)[0]
    return [
        p
        for p in client.list_pulls(repo, state="all", head=f"{owner}:{branch}")
        if int(p["number"]) != number and (p.get("base") or {}).get("ref") != base
    ]


def open_at(pull: Mapping[str, Any], moment: float) -> bool:
    """Whether ``pull`` was open at ``moment`` (so a run then may be its own); when GitHub
    does not say, it may have been."""
    opened, closed = seconds_of(pull.get("created_at")), seconds_of(pull.get("closed_at"))
    return (opened is None or opened <= moment) and (closed is None or moment <= closed)


def pull_request_runs(
    client: GitHub, repo: str, pull: Mapping[str, Any], workflow: str
) -> list[tuple[dict[str, Any], float]]:
    """Runs of ``workflow`` (a path) that may be ``pull``'s own, with the moment each was
    created: runs for a ``pull_request`` event on its head commit and branch, from this
    repository (GitHub's runs name the head branch and commit, not the pull request: a run
    of the same commit on another branch is another pull request's, which ran its base's
    workflow file). Runs started while another pull request from the same branch into
    another base was open (:func:`sharing_its_branch`) are still among them: see
    :func:`apart`."""
    head, branch = str(pull["head"]["sha"]), pull["head"]["ref"]
    return [
        (run, started)
        for run in client.list_workflow_runs(repo, event="pull_request", head_sha=head)
        if run.get("path") == workflow
        and run.get("event") == "pull_request"
        and (run.get("head_repository") or {}).get("full_name") == repo
        and run.get("head_sha") == head
        and run.get("head_branch") == branch
        and (started := seconds_of(run.get("created_at"))) is not None
    ]


def apart(
    runs: list[tuple[dict[str, Any], float]], others: list[Any]
) -> list[tuple[dict[str, Any], float]]:
    """The runs not started while one of ``others`` (:func:`sharing_its_branch`) was open:
    those cannot be told from theirs."""
    return [(run, started) for run, started in runs if not any(open_at(o, started) for o in others)]


def _reviewed_run(
    client: GitHub, repo: str, pull: Mapping[str, Any], workflow: str
) -> dict[str, Any]:
    number, head, branch = int(pull["number"]), str(pull["head"]["sha"]), pull["head"]["ref"]
    merged = seconds_of(pull.get("merged_at"))
    runs = [
        (run, started)
        for run, started in pull_request_runs(client, repo, pull, workflow)
        if merged is not None and started <= merged
    ]
    if not any(run.get("status") == "completed" for run, _ in runs):
        raise CheckFailed(
            f"pull request #{number}: no completed run of {workflow} on its last commit "
            f"{head[:12]} (branch {branch}) from this repository before its merge, so nothing "
            "reviewed it; nothing deployed"
        )
    others = sharing_its_branch(client, repo, pull)
    ours = [run for run, _ in apart(runs, others)]
    if not ours:
        open_then = [o for o in others if any(open_at(o, started) for _, started in runs)]
        into = ", ".join(f"#{o['number']}" for o in open_then)
        raise CheckFailed(
            f"pull request #{number} comes from branch {branch}, and so does {into} into "
            f"another base branch, open when {workflow} ran on {head[:12]}: those runs cannot "
            f"be told apart from #{number}'s, so none of them is a review; nothing deployed "
            "(merge the change again through a pull request from a branch of its own)"
        )
    newest = max(ours, key=lambda r: int(r["id"]))
    if newest.get("status") != "completed":
        # (run again, or still running: an older run is not its review in its place, as
        # the newest may judge otherwise)
        raise CheckFailed(
            f"pull request #{number}: workflow run {newest['id']}, the newest of {workflow} "
            f"on its last commit {head[:12]}, is {newest.get('status')} (attempt "
            f"{newest.get('run_attempt') or 1}): its results are not settled; nothing "
            "deployed (once it completes, running the deploy again takes its results only "
            "where the attempt uploaded none: a new upload was made after the merge)"
        )
    return newest


def _results(
    client: GitHub, repo: str, run_id: int, pipeline: str, pull: Mapping[str, Any]
) -> dict[str, bytes]:
    """The run's uploaded results, uploaded before the pull request's merge: a run can be run
    again after it, and its new attempt's upload replaces the reviewed one."""
    name, number, merged_at = artifact_name(pipeline), int(pull["number"]), pull.get("merged_at")
    merged = seconds_of(merged_at)
    found = [
        a
        for a in client.list_run_artifacts(repo, run_id, name)
        if a.get("name") == name and not a.get("expired")
    ]
    if not found:
        raise CheckFailed(
            f"pull request #{number}: workflow run {run_id} has no artifact {name} (expired, "
            "or training did not run); run the pull request's checks again; nothing deployed"
        )
    artifact = found[-1]
    stamps = [seconds_of(artifact.get(field)) for field in ("created_at", "updated_at")]
    uploaded = [stamp for stamp in stamps if stamp is not None]
    if merged is None or not uploaded:
        missing = "the merge" if merged is None else f"the upload of artifact {name}"
        raise CheckFailed(
            f"pull request #{number}: GitHub gives no time for {missing} (workflow run "
            f"{run_id}), so whether its results are the ones reviewed before the merge cannot "
            "be told; nothing deployed"
        )
    if max(uploaded) > merged:
        stamp = artifact.get("updated_at") or artifact.get("created_at")
        raise CheckFailed(
            f"pull request #{number}: artifact {name} of workflow run {run_id} was uploaded "
            f"at {stamp}, after the merge at {merged_at} (the run was run again since): its "
            "results are not the ones reviewed; nothing deployed"
        )
    archive = client.download_artifact(repo, int(artifact["id"]))
    return members(archive, pipeline, f"artifact {name} of workflow run {run_id}")


def members(archive: bytes, pipeline: str, what: str) -> dict[str, bytes]:
    """train.json and verdict.json of ``pipeline`` from the artifact's zip: at its top, where
    the train job names each file it uploads, or in ``<pipeline>/`` in an artifact uploaded
    by a workflow that uploaded its whole hand-off folder."""
    wanted = ("train.json", "verdict.json")
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            names = zipped.namelist()
            out = {}
            for file in wanted:
                for candidate in (f"{pipeline}/{file}", file):
                    if candidate in names:
                        out[file] = zipped.read(candidate)
                        break
    except (
        zipfile.BadZipFile,
        OSError,
        RuntimeError,
        NotImplementedError,
        EOFError,
        zlib.error,
    ) as exc:
        # (encrypted, compressed in a way zipfile does not read, cut short)
        raise BadInput(f"{what}: not a zip archive ({exc})") from exc
    if "train.json" not in out:
        raise CheckFailed(f"{what} holds no {pipeline}/train.json; nothing deployed")
    return out


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
    return _verdict_doc(_read(path, pipeline, "compare").encode(), str(path))


def _verdict_doc(raw: bytes | None, what: str) -> Mapping[str, Any]:
    if raw is None:
        raise CheckFailed(f"{what} is missing: compare never judged the model; nothing deployed")
    try:
        doc = jsondoc.loads(raw, what)
    except ValueError as exc:
        raise BadInput(f"{what}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != VERDICT_SCHEMA_VERSION:
        raise BadInput(f"{what}: not a verdict document (schema_version {VERDICT_SCHEMA_VERSION})")
    return doc
