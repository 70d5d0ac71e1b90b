"""The anchor of a merge on GitHub (see :mod:`mlgitops.gitops.anchor`): the pull request
merged as the pushed commit, the newest completed run of its PR workflow that reviewed it
before the merge, and the results that run uploaded before the merge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgitops.errors import CheckFailed
from mlgitops.github import PULL_FILES_LIMIT, GitHub
from mlgitops.github.payloads import paths_of, seconds_of
from mlgitops.gitops.anchor import Anchor, verdict_doc
from mlgitops.gitops.workflow_runs import (
    apart,
    artifact_name,
    open_at,
    pull_request_runs,
    sharing_its_branch,
    uploaded_results,
)
from mlgitops.results import load_train_result


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
    verdict = verdict_doc(files.get("verdict.json"), f"workflow run {run['id']}: verdict.json")
    where = f"pull request #{number}, workflow run {run['id']} on {head[:12]}"
    entries = client.list_pull_files(repo, number)
    changed = None if len(entries) >= PULL_FILES_LIMIT else tuple(paths_of(entries))
    return Anchor(train, verdict, where, False, number, head, int(run["id"]), changed)


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
    return uploaded_results(
        client, repo, artifact, pipeline, f"artifact {name} of workflow run {run_id}"
    )
