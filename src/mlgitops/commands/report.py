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
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgitops import console, fsio
from mlgitops.errors import EXIT_FAILED, EXIT_OK, BadInput
from mlgitops.github import event_from_env
from mlgitops.outputs import Outputs, set_github_outputs
from mlgitops.report import ReportInput, marker, outcome, render
from mlgitops.report.context import Target
from mlgitops.report.markdown import code, cut, escape
from mlgitops.spec import load_repo
from mlgitops.spec.model import Pipeline

SUMMARY_LIMIT = 1024 * 1024
KINDS = ("validation", "datadiff", "train", "verdict", "pr", "budget", "failed")
FORK_NOTE = (
    "This pull request comes from a fork, which never reaches the self-hosted GPU runners "
    "or this repository's secrets: data validation ran, training and comparison were skipped. "
    "A maintainer can run them by pushing the branch to this repository."
)


#: The status of a pull request that touches none of the pipeline's inputs.
UNCHANGED = "inputs unchanged"


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
        type=int,
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
        'post the status mlgitops/NAME as success, "inputs unchanged", and no comment',
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
) -> int:
    from mlgitops.report import context

    root = repo.resolve()
    pipeline = load_repo(root).pipeline(name)
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
    docs = None if fork_run and not folder.is_dir() else _documents(folder, name, root)
    verified: tuple[int | None, str] | None = None
    if fork_run:
        claim = pr or ((docs or {}).get("pr") or {}).get("pr")
        # A fork cannot have trained (its train and verdict are dropped below): its
        # results are its validation.
        validated = docs is not None and docs.get("validation") is not None
        fork = _fork_pull(pipeline, where, event, claim, validated, folder, root, check_run)
        if isinstance(fork, int):
            return fork
        verified = fork
    if docs is None:  # raises: no such folder
        docs = _documents(folder, name, root)
    _require_results(docs, folder, root)
    if where.fork and untrusted:  # a fork cannot have trained: such results are forged
        docs["train"] = docs["verdict"] = docs["budget"] = docs["failed"] = None
    _require_one_candidate(docs, _shown(folder, root), name)
    report = _report_input(root, pipeline, docs, where)
    full = render(report)
    fsio.write_atomic(outputs.report_md, full.encode("utf-8"))
    _job_summary(full)
    if not untrusted and where.pr and where.sha:
        claim = {"schema_version": 1, "pipeline": name, "pr": where.pr, "head_sha": where.sha}
        fsio.write_atomic(outputs.path("pr.json"), (json.dumps(claim, indent=2) + "\n").encode())
    comment = cut(full, _comment_limit(), _cut_note(where), _utf16_units)
    set_github_outputs({"report-path": str(outputs.report_md)})
    from mlgitops.github import token_from_env

    token = token_from_env(os.environ)
    if token is None:
        return _local(comment, name, _shown(outputs.report_md, root), untrusted)
    if where.fork and not untrusted:
        console.line(
            f"report {name}: fork pull request: nothing posted here; the report "
            "workflow posts it from this run's artifact"
        )
        return EXIT_OK
    claimed = pr or (docs["pr"] or {}).get("pr") if untrusted else None
    _post(
        token, pipeline.name, report, where, comment, full, check_run, untrusted, claimed, verified
    )
    return EXIT_OK


def _fork_pull(
    pipeline: Pipeline,
    where: Target,
    event: Mapping[str, Any],
    claimed: int | None,
    has_results: bool,
    folder: Path,
    root: Path,
    check_run: bool,
) -> int | tuple[int | None, str] | None:
    """The report workflow's own decision for a fork's pull request, before its results.

    The fork's run decided in the fork's code whether the pipeline is affected,
    and uploaded what it chose: neither is trusted. Here the files GitHub says
    the pull request changes meet this repository's own spec. Untouched: the
    status is "inputs unchanged", whatever the artifact holds. Touched, or not
    decidable, and no results: the status fails (the required check must never
    wait forever, nor pass without a verdict). Otherwise the verified pull
    request, for the report; None without a token (nothing is posted then).
    """
    from mlgitops.github import PULL_FILES_LIMIT, client_from_env, paths_of, token_from_env
    from mlgitops.report import context
    from mlgitops.training.planning import reasons

    token = token_from_env(os.environ)
    if token is None or where.repo is None or where.sha is None:
        return None
    client = client_from_env(token, os.environ)
    name = pipeline.name
    verified = context.verified_pull(
        client, where, claimed, context.run_pulls(event), context.run_head_label(event)
    )
    number, why = verified
    if number is not None:
        entries = client.list_pull_files(where.repo, number)
        changed = paths_of(entries)
        touched = reasons(pipeline, changed)
        if len(entries) >= PULL_FILES_LIMIT:
            why = f"pull request #{number} changes more files than GitHub lists"
        elif not touched:
            console.line(
                f"report {name}: pull request #{number} changes none of the pipeline's inputs "
                f"({len(entries)} files, per GitHub): {UNCHANGED}"
            )
            _post_state(client, name, where, "success", UNCHANGED, check_run, UNCHANGED)
            return EXIT_OK
        else:
            shown = ", ".join(touched[:3]) + (f" (+{len(touched) - 3})" if len(touched) > 3 else "")
            why = f"pull request #{number} changes the pipeline's inputs ({shown})"
    if has_results:
        return verified
    description = "no results from the pull request's workflow run"
    _post_state(client, name, where, "failure", description, check_run, description)
    console.error_line(
        f"mlgitops report: {why} but its workflow run left no results in "
        f"{_shown(folder, root)}: status mlgitops/{name} set to failure"
    )
    return EXIT_FAILED


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
    report = _report_input(root, pipeline, docs, where)
    report = replace(report, notes=(watchdog.no_runner_note(minutes),), stuck_minutes=minutes)
    full = render(report)
    fsio.write_atomic(outputs.report_md, full.encode("utf-8"))
    _job_summary(full)
    console.error_line(f"::warning title=mlgitops {name}::{watchdog.no_runner_note(minutes)}")
    comment = cut(full, _comment_limit(), _cut_note(where), _utf16_units)
    _post(token, name, report, where, comment, full, check_run, False, None)
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
    _post_state(client, name, where, "success", description, check_run, description)
    return EXIT_OK


def _documents(folder: Path, name: str, root: Path) -> dict[str, dict[str, Any] | None]:
    """The hand-off documents of the folder, each schema-checked and masked
    (:mod:`mlgitops.masking`); None for a missing one."""
    from mlgitops.masking import masked_values
    from mlgitops.report.documents import parse

    if not folder.is_dir():
        raise BadInput(
            f"{_shown(folder, root)}: no such folder; run `mlgitops validate {name}` first"
        )
    docs: dict[str, dict[str, Any] | None] = {}
    for kind in KINDS:
        path = folder / f"{kind}.json"
        data = fsio.read_bytes(path) if path.is_file() and not path.is_symlink() else None
        # Masked as failed.json is: a document written elsewhere (an older mlgitops, an
        # artifact) may quote a credential, and the comment is public.
        docs[kind] = (
            None if data is None else masked_values(parse(data, _shown(path, root), kind, name))
        )
    return docs


def _require_results(docs: Mapping[str, Any], folder: Path, root: Path) -> None:
    if all(docs[k] is None for k in ("validation", "train", "verdict", "budget", "failed")):
        raise BadInput(
            f"{_shown(folder, root)}: no validation.json, train.json or verdict.json to report"
        )


def _require_one_candidate(docs: Mapping[str, Any], folder: str, name: str) -> None:
    """The documents must describe one candidate: a stale hand-off is refused, never shown."""
    train, verdict, validation = docs["train"], docs["verdict"], docs["validation"]
    if verdict is not None:
        judged = verdict.get("candidate", {}).get("run_id")
        if train is None or judged != train.get("run_id"):
            trained = (
                "no train.json" if train is None else f"train.json is run {train.get('run_id')}"
            )
            raise BadInput(
                f"{folder}/verdict.json judges run {judged}, but {trained}: the verdict is "
                f"stale; run `mlgitops compare {name}` again"
            )
    if validation is not None and train is not None:
        validated, trained_on = validation.get("data_hash"), train.get("hashes", {}).get("data")
        if validated != trained_on:
            raise BadInput(
                f"{folder}/validation.json is for data {_short(validated)}, but the candidate "
                f"was trained on data {_short(trained_on)}: run `mlgitops validate {name}` again"
            )


def _short(digest: Any) -> str:
    return "(unrecorded)" if not digest else f"sha256:{str(digest)[:12]}"


def _report_input(
    root: Path, pipeline: Pipeline, docs: Mapping[str, Any], where: Target
) -> ReportInput:
    from mlgitops.report.promotion import promotion

    verdict = docs["verdict"]
    environment = pipeline.first_environment
    env_name = environment.name if environment else None
    text = None
    if env_name is not None:
        path = root / "manifests" / pipeline.name / "overlays" / env_name / "kustomization.yaml"
        data = fsio.read_bytes(path)
        text = None if data is None else data.decode("utf-8", errors="replace")
    baseline = (verdict or {}).get("baseline") or {}
    change = promotion(
        pipeline.name,
        env_name,
        text,
        gates_passed=None if verdict is None else bool(verdict["passed"]),
        candidate_run=(verdict or {}).get("candidate", {}).get("run_id"),
        deployed_run=baseline.get("run_id") if baseline.get("available") else None,
        candidate_digest=(docs["train"] or {}).get("model_digest"),
    )
    return ReportInput(
        pipeline.name,
        verdict,
        docs["validation"],
        docs["datadiff"],
        docs["train"],
        change,
        where.sha,
        where.commit_url,
        _notes(docs, where),
        budget=docs.get("budget"),
        failed=docs.get("failed"),
        price=_price(root, pipeline),
    )


def _price(root: Path, pipeline: Pipeline) -> tuple[float, str] | None:
    """The GPU-hour price of the pipeline's pool (or the repository's), from mlgitops.yaml."""
    config = load_repo(root).config
    runners = config.runners
    price = runners.price(config.pool_for(pipeline.train.runs_on))
    return None if price is None else (price, runners.currency)


def _notes(docs: Mapping[str, Any], where: Target) -> tuple[str, ...]:
    if where.fork:
        return (FORK_NOTE,)
    if docs.get("budget") is not None:
        return (escape(str(docs["budget"]["message"])) + ".",)
    if docs["verdict"] is not None:
        return ()
    validation = docs["validation"]
    if validation is not None and not validation["passed"]:
        return ("Training and comparison were skipped because data validation failed.",)
    failed = docs.get("failed")
    if failed is not None:
        return (
            f"`mlgitops {failed['stage']}` stopped (exit {int(failed['exit_code'])}): "
            f"{escape(' '.join(str(failed['message']).split()))}",
        )
    train = docs.get("train")
    if train is not None:
        run = code(str(train.get("run_id")))
        return (
            f"The candidate was trained (run {run}), but there is no verdict on it: "
            "compare stopped before judging it (in the pull request workflow, the train job's "
            "log says why). The check stays failed until a comparison passes.",
        )
    return ("There is no verdict yet: training and comparison have not run for this commit.",)


def _comment_limit() -> int:
    from mlgitops.report.publish import COMMENT_LIMIT

    return COMMENT_LIMIT


def _utf16_units(text: str) -> int:
    """Length as GitHub may count it: never less than the characters (code points)."""
    return len(text.encode("utf-16-le")) // 2


def _cut_note(where: Target) -> str:
    summary = f"[job summary]({where.run_url})" if where.run_url else "job summary"
    return (
        f"> [!WARNING]\n> This report is cut here to fit GitHub's comment size limit; the {summary} "
        "and `report.md` in the run's hand-off folder have all of it."
    )


def _job_summary(full: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    note = "> [!WARNING]\n> This summary is cut to fit GitHub's 1 MiB limit; `report.md` has all of it."
    fsio.append_text(Path(target), cut(full, SUMMARY_LIMIT - 1024, note, lambda s: len(s.encode())))


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


def _post(
    token: str,
    name: str,
    report: ReportInput,
    where: Target,
    comment: str,
    full: str,
    check_run: bool,
    untrusted: bool,
    claimed: int | None,
    verified: tuple[int | None, str] | None = None,
) -> None:
    from mlgitops.github import client_from_env, login_from_env
    from mlgitops.report import context, publish

    if where.repo is None:
        raise BadInput(
            "no repository to post to: pass --github-repo OWNER/REPO or set GITHUB_REPOSITORY"
        )
    client = client_from_env(token, os.environ)
    number = where.pr
    if untrusted:
        event = event_from_env(os.environ)
        number, why = verified or context.verified_pull(
            client, where, claimed, context.run_pulls(event), context.run_head_label(event)
        )
        if number is None:
            console.line(f"report {name}: no comment: {why}")
    if number is not None:
        login = login_from_env(os.environ)
        posted = publish.upsert_comment(client, where.repo, number, marker(name), comment, login)
        console.line(
            f"report {name}: {posted.action} the comment on pull request #{number}: {posted.url}"
        )
    elif not untrusted:
        console.line(f"report {name}: no pull request, so no comment")
    if where.sha is None:
        console.line(f"report {name}: no head commit, so no status")
        return
    state, description = outcome(report)
    summary = cut(full, publish.CHECK_TEXT_LIMIT, _cut_note(where), _utf16_units)
    _post_state(client, name, where, state, description, check_run, summary)


def _post_state(
    client: Any,
    name: str,
    where: Target,
    state: str,
    description: str,
    check_run: bool,
    summary: str,
) -> None:
    """The required ``mlgitops/NAME`` as a commit status, or a check run with ``summary``."""
    from mlgitops.report import publish

    assert where.repo is not None and where.sha is not None
    context_name = f"mlgitops/{name}"
    if check_run:
        publish.post_check_run(
            client,
            where.repo,
            where.sha,
            name=context_name,
            state=state,
            description=description,
            details_url=where.run_url,
            summary=summary,
        )
    else:
        publish.post_status(
            client,
            where.repo,
            where.sha,
            context=context_name,
            state=state,
            description=description,
            target_url=where.run_url,
        )
    kind = "check run" if check_run else "status"
    console.line(
        f"report {name}: {kind} {context_name} is {state} on {where.sha[:12]}: {description}"
    )


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
