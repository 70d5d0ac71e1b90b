"""Which cached run a pull request's workflow may reuse: one that GitHub says a run of the
same workflow trained on the same commit.

MLflow alone cannot say where a run came from. Anyone holding the PR credentials (code on
any branch's train job, or whoever it handed them to) can create a run under any content
key, with any tags and start time, before the commit that computes the key is even pushed.
Reused on that key, such a run would be reviewed and deployed as the model of the
reviewed diff although no reviewed code made it.

So in a pull request's workflow the cache is GitHub's record, and MLflow only holds the
files: a run under the content key is reused only where a run of this pipeline's
PR workflow on the pull request's head commit and branch, from this repository, uploaded
results (``mlgitops-<name>-train``) saying it trained that run (``cached: false``), or
reused it so (``cached: true``: each attempt of a workflow run uploads over the last one's),
under that key, with the model digest the run's hand-off states and the digest of the
training rows restored now (deploy checks the model's files against that digest). That
workflow run ran this commit, its base's workflow file included, so its results are as
trustworthy as a new training; no job can upload into another workflow run. Runs made
while another pull request from the branch into another base was open are left out, as
for deploy's anchor; a pull request whose own base was changed is not told apart
(docs/security.md, "The training cache"). The newest run under the key is tried first;
where it has no record, the recorded runs under the key, newest record first (a newer run
hides none). Only records of the key this checkout computes count, and the hand-off holds
the record's train.json, not MLflow's copy. Anything less (no such run, its results expired, GitHub unreachable, another
digest) trains anew. Outside a pull request's workflow (a developer's ``train``, the local
store) the cache is MLflow's, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgitops import console, digest
from mlgitops.errors import MlgitopsError
from mlgitops.github.payloads import event_from_env

if TYPE_CHECKING:
    from mlgitops.github import GitHub
    from mlgitops.results import TrainResult
    from mlgitops.spec.model import Pipeline
    from mlgitops.training.run import Outcome


@dataclass(frozen=True)
class PullRequestRun:
    """This process's pull request workflow run, as its environment describes it."""

    repo: str
    #: the event's pull request (number, head and base branch and commit)
    pull: Mapping[str, Any]
    #: None where the environment gives no token or repository: nothing can be bound
    client: GitHub | None

    @property
    def head_sha(self) -> str:
        """The pull request's head commit (what the workflow's runs are listed by)."""
        head = self.pull.get("head")
        sha = head.get("sha") if isinstance(head, Mapping) else None
        return sha if isinstance(sha, str) else ""


def from_env(environ: Mapping[str, str]) -> PullRequestRun | None:
    """The pull request workflow run this process is in; None outside one."""
    if environ.get("GITHUB_ACTIONS") != "true" or environ.get("GITHUB_EVENT_NAME") != (
        "pull_request"
    ):
        return None
    from mlgitops.github import client_from_env, token_from_env

    token, repo = token_from_env(environ), environ.get("GITHUB_REPOSITORY", "")
    context = PullRequestRun(repo, _pull(environ), None)
    if token and repo.count("/") == 1 and context.head_sha and _branches_named(context.pull):
        context = PullRequestRun(repo, context.pull, client_from_env(token, environ))
    return context


def _pull(environ: Mapping[str, str]) -> Mapping[str, Any]:
    """The event's pull request; empty where there is none."""
    pull = event_from_env(environ).get("pull_request")
    return pull if isinstance(pull, dict) else {}


def _branches_named(pull: Mapping[str, Any]) -> bool:
    head, base = pull.get("head"), pull.get("base")
    return (
        isinstance(pull.get("number"), int)
        and isinstance(head, Mapping)
        and isinstance(head.get("ref"), str)
        and isinstance(base, Mapping)
        and isinstance(base.get("ref"), str)
    )


def reusable(
    context: PullRequestRun,
    pipeline: Pipeline,
    content_key: str,
    newest: str,
    outcome: Outcome | None,
    restore: Callable[[str], Outcome | None],
) -> Outcome | None:
    """A run under ``content_key`` (this checkout's) that a run of the PR workflow on this
    commit trained, handed off as that workflow run's results state it; None, saying why,
    where there is none. ``newest``: the newest FINISHED run under the key, ``outcome`` its
    hand-off (None where it does not read); other recorded runs are fetched by ``restore``
    (None where MLflow holds no FINISHED run of that id under the key), newest record first,
    so a newer run under the key (planted, or a developer's ``train`` of the same inputs)
    hides no recorded one."""
    name = pipeline.name
    head = context.head_sha[:12] or "(unknown)"
    if context.client is None:
        console.line(
            f"train {name}: cached run {newest} is not reused: in a pull request's "
            "workflow a cached run must be one its own runs trained, and without "
            "GITHUB_TOKEN, GITHUB_REPOSITORY and the event's pull request GitHub cannot be "
            "asked; training anew"
        )
        return None
    passed: list[str] = []  # records whose runs are not reused, and why
    try:
        for workflow_run, trained in _trained_here(context, pipeline):
            if trained.content_key != content_key:
                continue  # a record of other inputs (data behind a URL, another mlgitops)
            found = outcome if trained.run_id == newest else restore(trained.run_id)
            if found is None:
                passed.append(
                    f"train {name}: run {trained.run_id}, which workflow run {workflow_run} "
                    "recorded, is not a FINISHED run under the content key whose hand-off "
                    "reads in MLflow"
                )
                continue
            # the training rows restored are digested here, over the columns the record
            # names; the model's files, which the cache does not download, are checked
            # against the recorded digest by deploy
            rows = digest.training_rows_digest(
                found.files.get("training_rows.parquet", b""),
                trained.fingerprint_columns,
                trained.target,
            )
            if (trained.model_digest, trained.training_rows_digest) != (
                found.result.model_digest,
                rows,
            ):
                passed.append(
                    f"train {name}: cached run {trained.run_id} is not what workflow run "
                    f"{workflow_run} recorded when it trained it on {head} (model digest "
                    f"{trained.model_digest}, training rows {trained.training_rows_digest}): "
                    "its hand-off in MLflow changed since"
                )
                continue
            for line in passed:
                console.line(f"{line}; not reused")
            if trained.run_id == newest and not trained.cached:
                console.line(
                    f"train {name}: cached run {newest} was trained by workflow run "
                    f"{workflow_run} on this commit ({head}), as its uploaded results record"
                )
            elif trained.run_id == newest:
                console.line(
                    f"train {name}: cached run {newest} was recorded by workflow run "
                    f"{workflow_run} on this commit ({head}), as its uploaded results say (it "
                    "trained the run, or reused it from one that did)"
                )
            else:
                how = "reused" if trained.cached else "trained"
                console.line(
                    f"train {name}: cached run {newest}, the newest under the content key, is "
                    f"not one this pull request's workflow trained; run {trained.run_id} is: "
                    f"workflow run {workflow_run} {how} it on this commit ({head}), as its "
                    "uploaded results record"
                )
            return _as_recorded(trained, found)
    except MlgitopsError as exc:
        console.line(
            f"train {name}: cached run {newest} is not reused: asking GitHub which "
            f"workflow run trained it failed ({exc}); training anew"
        )
        return None
    for index, line in enumerate(passed, 1):
        console.line(f"{line}; {'training anew' if index == len(passed) else 'not reused'}")
    if not passed:
        console.line(
            f"train {name}: cached run {newest} is not reused: no run of this pull "
            f"request's workflow on its commit {head} uploaded results saying it trained that "
            "run or another under its content key (a run made elsewhere under the same key, "
            "or results expired); training anew"
        )
    return None


def _as_recorded(trained: TrainResult, found: Outcome) -> Outcome:
    """The reused run's hand-off with the train.json its workflow run uploaded (marked
    ``cached``): what MLflow's copy says beyond the digests checked is not taken."""
    from dataclasses import replace

    from mlgitops.results import dumps
    from mlgitops.training.run import Outcome

    result = replace(
        trained,
        cached=True,
        tracking_uri=found.result.tracking_uri,
        duration_s=found.result.duration_s,
    )
    return Outcome(result, {**found.files, "train.json": dumps(result).encode()})


def _trained_here(context: PullRequestRun, pipeline: Pipeline) -> Iterator[tuple[int, TrainResult]]:
    """(workflow run id, its train.json) for each run of the pipeline's PR workflow on the
    head commit, from this repository, whose uploaded results say it trained or reused a
    run (newest first). A run made while another pull request from the same branch into another base
    was open may be that one's, run with its base's workflow file: it is no record (as for
    deploy's anchor). Results that do not read as a train.json are none either."""
    from mlgitops.gitops.workflow_runs import (
        apart,
        artifact_name,
        pull_request_runs,
        sharing_its_branch,
        uploaded_results,
    )
    from mlgitops.render.workflows import pr_path
    from mlgitops.results import load_train_result

    client = context.client
    assert client is not None
    workflow, name = pr_path(pipeline), artifact_name(pipeline.name)
    runs = pull_request_runs(client, context.repo, context.pull, workflow)
    for run, _ in apart(
        runs, sharing_its_branch(client, context.repo, context.pull) if runs else []
    ):
        run_id = int(run["id"])
        for artifact in client.list_run_artifacts(context.repo, run_id, name):
            if artifact.get("name") != name or artifact.get("expired"):
                continue
            what = f"artifact {name} of workflow run {run_id}"
            try:
                files = uploaded_results(client, context.repo, artifact, pipeline.name, what)
                trained = load_train_result(files["train.json"].decode("utf-8", "replace"), what)
            except MlgitopsError:
                continue
            if digest.FORM.fullmatch(str(trained.model_digest)):
                # trained there, or reused there (an attempt uploads its results over the
                # last one's): a reuse is of a run such a record names, its digests checked
                yield run_id, trained  # (older results record no digest: no record)
