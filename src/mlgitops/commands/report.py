"""``mlgitops report NAME``: the sticky PR comment, the job summary and the commit status.

Reads the hand-off folder (or, with ``--from-artifact``, a fork's untrusted
artifact), renders one Markdown report, writes ``report.md``, appends it to
``$GITHUB_STEP_SUMMARY`` and, with a token, upserts the pull request's comment
and sets the commit status ``mlgitops/NAME`` (or a check run) on the head
commit. Without a token it prints the comment and posts nothing (local mode).
Exit 0 once the report is out, whatever the verdict; 2 on bad input or when
GitHub refuses.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from mlgitops import console, fsio
from mlgitops.commands import pull_number
from mlgitops.errors import EXIT_OK, BadInput, Problem, SpecError
from mlgitops.github.payloads import event_from_env
from mlgitops.masking import masked
from mlgitops.outputs import Outputs, set_github_outputs, shown
from mlgitops.report import forks, outcome, render
from mlgitops.report.context import Target
from mlgitops.report.deliver import (
    comment_text,
    job_summary,
    mark_pending,
    post,
    post_state,
    post_unreported,
    retract,
)
from mlgitops.report.handoff import (
    KINDS,
    read_documents,
    report_input,
    require_one_candidate,
    require_results,
)
from mlgitops.report.render import MISNAMED, UNCHANGED, unloadable, unnamed
from mlgitops.spec import Repo, load_repo
from mlgitops.spec.model import Pipeline

#: What GitHub gives as a job's result (``needs.<job>.result``).
CHECK_RESULTS = ("success", "failure", "cancelled", "skipped")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline to report on")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="hand-off folder (default: .mlgitops/NAME, or $MLGITOPS_OUTPUT/NAME)",
    )
    parser.add_argument(
        "--from-artifact",
        type=Path,
        default=None,
        metavar="DIR",
        help="read the results from DIR, a pull request's artifact, as untrusted "
        "data (the workflow_run report workflow)",
    )
    parser.add_argument(
        "--pr",
        type=pull_number,
        default=None,
        metavar="N",
        help="pull request number (default: from the GitHub event)",
    )
    parser.add_argument(
        "--sha",
        default=None,
        metavar="SHA",
        help="head commit for the status (default: from the GitHub event)",
    )
    parser.add_argument(
        "--github-repo",
        default=None,
        metavar="OWNER/REPO",
        help="repository to post to (default: $GITHUB_REPOSITORY)",
    )
    parser.add_argument(
        "--check-run", action="store_true", help="post a check run instead of a commit status"
    )
    parser.add_argument(
        "--wait-for-runner",
        type=int,
        default=0,
        metavar="MINUTES",
        help="watchdog: wait until a runner picks up this run's train job; when none does "
        "within MINUTES, report that instead (needs the run's jobs: $GITHUB_RUN_ID)",
    )
    parser.add_argument(
        "--inputs-unchanged",
        action="store_true",
        help="the pull request touches none of the pipeline's inputs (as `plan` decided): "
        'post the status mlgitops/NAME as success, "inputs unchanged"; create no comment, and '
        "turn the pipeline's comment, where an earlier push left one, into a note that its "
        "report no longer applies",
    )
    parser.add_argument(
        "--pending",
        action="store_true",
        help="the pull request's head commit touches the pipeline's inputs (as `plan` "
        "decided) and is being checked: the pipeline's comment, where an earlier push left "
        "one, says that its report is for an earlier commit; nothing else is posted",
    )
    parser.add_argument(
        "--check-job",
        choices=CHECK_RESULTS,
        help="the result of the PR workflow's check job; where it failed and nothing was "
        "trained, the status fails and says so",
    )


def run(
    *,
    repo: Path,
    name: str,
    output: Path | None,
    from_artifact: Path | None,
    pr: int | None,
    sha: str | None,
    github_repo: str | None,
    check_run: bool,
    wait_for_runner: int = 0,
    inputs_unchanged: bool = False,
    pending: bool = False,
    check_job: str | None = None,
) -> int:
    from mlgitops.report import context

    if pending:
        if inputs_unchanged:
            raise BadInput("--pending and --inputs-unchanged: a pull request is one or the other")
        where = context.target(
            os.environ, event_from_env(os.environ), pr=pr, sha=sha, repo=github_repo
        )
        return _pending(name, where)
    root = repo.resolve()
    own = wait_for_runner <= 0 and from_artifact is None
    posts = partial(post_unreported, root, name, output, pr, sha, github_repo, check_run)
    loaded = _repo_or_posted(root, name, posts, own, inputs_unchanged, check_job)
    if loaded is None:
        return EXIT_OK
    pipeline = loaded.pipeline(name)
    if inputs_unchanged:
        where = context.target(
            os.environ, event_from_env(os.environ), pr=pr, sha=sha, repo=github_repo
        )
        return _unchanged(pipeline.name, where, check_run)
    outputs = Outputs.for_pipeline(root, name, output)
    if wait_for_runner > 0:
        return _watchdog(root, pipeline, outputs, wait_for_runner, pr, sha, github_repo, check_run)
    untrusted = from_artifact is not None
    event = event_from_env(os.environ)
    where = context.target(
        os.environ, event, pr=None if untrusted else pr, sha=sha, repo=github_repo
    )
    folder = from_artifact or outputs.folder
    fork_run = from_artifact is not None and where.fork
    # A fork's run may have left nothing: the decision below says whether it had to.
    docs = None if fork_run and not folder.is_dir() else read_documents(folder, name, root)
    verified: tuple[int | None, str] | None = None
    if fork_run:
        claim = pr or ((docs or {}).get("pr") or {}).get("pr")
        # A fork cannot have trained (its train and verdict are dropped below): its
        # results are its validation.
        validated = docs is not None and docs.get("validation") is not None
        default = loaded.config.default_branch
        fork = forks.fork_pull(
            pipeline, where, event, claim, validated, folder, root, check_run, default
        )
        if isinstance(fork, int):
            return fork
        verified = fork
        check_job = check_job or forks.check_job(where, event)
    if docs is None:  # raises: no such folder
        docs = read_documents(folder, name, root)
    require_results(docs, folder, root)
    if where.fork and untrusted:  # a fork cannot have trained: such results are forged
        docs["train"] = docs["verdict"] = docs["budget"] = docs["failed"] = None
    require_one_candidate(docs, shown(folder, root), name)
    report = report_input(root, pipeline, docs, where, check_failed=check_job == "failure")
    full = render(report)
    fsio.write_atomic(outputs.report_md, full.encode("utf-8"))
    job_summary(full)
    if not untrusted and where.pr and where.sha:
        claim = {"schema_version": 1, "pipeline": name, "pr": where.pr, "head_sha": where.sha}
        fsio.write_atomic(outputs.path("pr.json"), (json.dumps(claim, indent=2) + "\n").encode())
    comment = comment_text(full, where)
    set_github_outputs({"report-path": str(outputs.report_md)})
    from mlgitops.github import token_from_env

    token = token_from_env(os.environ)
    if token is None:
        return _local(comment, name, shown(outputs.report_md, root), untrusted)
    if where.fork and not untrusted:
        console.line(
            f"report {name}: fork pull request: nothing posted here; the report "
            "workflow posts it from this run's artifact"
        )
        return EXIT_OK
    claimed = pr or (docs["pr"] or {}).get("pr") if untrusted else None
    state = outcome(report)
    post(token, pipeline.name, state, where, comment, full, check_run, untrusted, claimed, verified)
    return EXIT_OK


def _repo_or_posted(
    root: Path,
    name: str,
    posts: Callable[[Callable[[str | None], tuple[str, str, str]]], bool],
    own: bool,
    unchanged: bool,
    check_job: str | None,
) -> Repo | None:
    """The specs, which hold the pipeline to report on; None where a failing status was
    posted instead, saying why
    there is nothing to report: the pull request's specs do not load, name no such pipeline
    (its spec renamed or removed), or name what is not there where that stopped the check
    job. ``posts``: ``post_unreported`` for this report, given what to say (False where it
    cannot post: the error is then the command's); ``own``: the PR workflow's own report
    (not the report workflow's, whose specs are the default branch's; nor the watchdog's,
    after a check job that passed)."""
    try:
        loaded = load_repo(root)
    except SpecError as exc:
        if not (own and not unchanged and exc.problems):
            raise
        problems = _masked(exc)
        if not posts(partial(unloadable, name, problems)):
            raise  # the command's error lists them
        _show(problems)
        return None
    known = [p.name for p in loaded.pipelines]
    if own and name not in known:
        if not posts(partial(unnamed, name, known)):
            loaded.pipeline(name)  # raises: no such pipeline
        return None
    if own and not unchanged and check_job == "failure":
        try:  # what render --check found in the specs, where it is what stopped the check
            load_repo(root, check_references=True)
        except SpecError as exc:
            problems = _masked(exc)
            if exc.problems and posts(partial(unloadable, name, problems, said=MISNAMED)):
                _show(problems)
                return None
    loaded.pipeline(name)  # raises: no such pipeline
    return loaded


def _masked(exc: SpecError) -> list[Problem]:
    """The spec error's problems, credentials masked."""
    return [Problem(masked(p.path), p.line, p.col, masked(p.message)) for p in exc.problems]


def _show(problems: list[Problem]) -> None:
    """Each problem posted, on the job's log as the command's error would list it."""
    for problem in problems:
        console.error_line(str(problem))


def _watchdog(
    root: Path,
    pipeline: Pipeline,
    outputs: Outputs,
    minutes: int,
    pr: int | None,
    sha: str | None,
    github_repo: str | None,
    check_run: bool,
) -> int:
    """Wait for a runner to pick up the train job; report when none does in time."""
    import time

    from mlgitops.github import client_from_env, token_from_env
    from mlgitops.report import context, watchdog

    where = context.target(os.environ, event_from_env(os.environ), pr=pr, sha=sha, repo=github_repo)
    token = token_from_env(os.environ)
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    if token is None or where.repo is None or not run_id.isdigit():
        raise BadInput("--wait-for-runner needs GITHUB_TOKEN, the repository and GITHUB_RUN_ID")
    client = client_from_env(token, os.environ)
    repo_slug, run = where.repo, int(run_id)
    found = watchdog.watch(
        lambda: client.list_run_jobs(repo_slug, run), minutes, clock=time.time, sleep=time.sleep
    )
    name = pipeline.name
    if found.state != "stuck":
        console.line(f"report {name}: {watchdog.describe(found)}; nothing to report")
        return EXIT_OK
    docs: dict[str, Any] = {kind: None for kind in KINDS}
    report = report_input(root, pipeline, docs, where)
    report = replace(report, notes=(watchdog.no_runner_note(minutes),), stuck_minutes=minutes)
    full = render(report)
    fsio.write_atomic(outputs.report_md, full.encode("utf-8"))
    job_summary(full)
    console.error_line(f"::warning title=mlgitops {name}::{watchdog.no_runner_note(minutes)}")
    comment = comment_text(full, where)
    post(token, name, outcome(report), where, comment, full, check_run, False, None)
    return EXIT_OK


def _unchanged(name: str, where: Target, check_run: bool) -> int:
    """The required status of a pull request that does not touch the pipeline."""
    from mlgitops.github import client_from_env, token_from_env

    token = token_from_env(os.environ)
    description = UNCHANGED
    if token is None or where.sha is None or where.repo is None:
        console.line(f"report {name}: {description}; no GitHub token or head commit, no status")
        return EXIT_OK
    client = client_from_env(token, os.environ)
    shared = post_state(client, name, where, "success", description, check_run, description)
    if where.pr is not None:
        retract(client, name, where, where.pr, shared)
    return EXIT_OK


def _pending(name: str, where: Target) -> int:
    """The comment of a pull request whose head commit is being checked, marked so; the
    specs are not read (they may not load: the check job and the report say why)."""
    from mlgitops.github import client_from_env, token_from_env

    token = token_from_env(os.environ)
    if token is None or where.repo is None or where.pr is None or where.sha is None:
        console.line(
            f"report {name}: no GitHub token, pull request or head commit: nothing to mark"
        )
        return EXIT_OK
    mark_pending(client_from_env(token, os.environ), name, where, where.pr)
    return EXIT_OK


def _local(comment: str, name: str, shown: str, untrusted: bool) -> int:
    if untrusted:
        with console.untrusted_output():
            console.write(comment)
    else:
        console.write(comment)
    console.error_line(
        f"mlgitops report {name}: no GITHUB_TOKEN, so nothing was posted "
        f"(local mode); the report is in {shown}"
    )
    return EXIT_OK
