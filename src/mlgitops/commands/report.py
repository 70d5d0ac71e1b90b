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
from pathlib import Path
from typing import Any

from mlgitops import console, fsio
from mlgitops.errors import EXIT_OK, BadInput
from mlgitops.outputs import Outputs, set_github_outputs
from mlgitops.report import ReportInput, marker, outcome, render
from mlgitops.report.context import Target
from mlgitops.report.markdown import cut
from mlgitops.spec import load_repo
from mlgitops.spec.model import Pipeline

SUMMARY_LIMIT = 1024 * 1024
KINDS = ("validation", "datadiff", "train", "verdict", "pr")
FORK_NOTE = (
    "This pull request comes from a fork, which never reaches the self-hosted GPU runners "
    "or this repository's secrets: data validation ran, training and comparison were skipped. "
    "A maintainer can run them by pushing the branch to this repository."
)


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
) -> int:
    from mlgitops.report import context

    root = repo.resolve()
    pipeline = load_repo(root).pipeline(name)
    outputs = Outputs.for_pipeline(root, name, output)
    untrusted = from_artifact is not None
    docs = _documents(from_artifact or outputs.folder, name, root)
    where = context.target(
        os.environ, _event(), pr=None if untrusted else pr, sha=sha, repo=github_repo
    )
    if where.fork and untrusted:  # a fork cannot have trained: such results are forged
        docs["train"] = docs["verdict"] = None
    _require_one_candidate(docs, _shown(from_artifact or outputs.folder, root), name)
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
    _post(token, pipeline.name, report, where, comment, full, check_run, untrusted, claimed)
    return EXIT_OK


def _event() -> Mapping[str, Any]:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        doc = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read the GitHub event payload ({exc})") from exc
    return doc if isinstance(doc, dict) else {}


def _documents(folder: Path, name: str, root: Path) -> dict[str, dict[str, Any] | None]:
    from mlgitops.report.documents import parse

    if not folder.is_dir():
        raise BadInput(
            f"{_shown(folder, root)}: no such folder; run `mlgitops validate {name}` first"
        )
    docs: dict[str, dict[str, Any] | None] = {}
    for kind in KINDS:
        path = folder / f"{kind}.json"
        data = fsio.read_bytes(path) if path.is_file() and not path.is_symlink() else None
        docs[kind] = None if data is None else parse(data, _shown(path, root), kind, name)
    if all(docs[k] is None for k in ("validation", "train", "verdict")):
        raise BadInput(
            f"{_shown(folder, root)}: no validation.json, train.json or verdict.json to report"
        )
    return docs


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
    )


def _notes(docs: Mapping[str, Any], where: Target) -> tuple[str, ...]:
    if where.fork:
        return (FORK_NOTE,)
    if docs["verdict"] is not None:
        return ()
    validation = docs["validation"]
    if validation is not None and not validation["passed"]:
        return ("Training and comparison were skipped because data validation failed.",)
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
) -> None:
    import requests

    from mlgitops.github import GitHub, api_url_from_env
    from mlgitops.report import context, publish

    if where.repo is None:
        raise BadInput(
            "no repository to post to: pass --github-repo OWNER/REPO or set GITHUB_REPOSITORY"
        )
    client = GitHub(requests.Session(), token=token, api_url=api_url_from_env(os.environ))
    number = where.pr
    if untrusted:
        number, why = context.verified_pull(client, where, claimed, context.run_pulls(_event()))
        if number is None:
            console.line(f"report {name}: no comment: {why}")
    if number is not None:
        posted = publish.upsert_comment(client, where.repo, number, marker(name), comment)
        console.line(
            f"report {name}: {posted.action} the comment on pull request #{number}: {posted.url}"
        )
    elif not untrusted:
        console.line(f"report {name}: no pull request, so no comment")
    if where.sha is None:
        console.line(f"report {name}: no head commit, so no status")
        return
    state, description = outcome(report)
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
            summary=cut(full, publish.CHECK_TEXT_LIMIT, _cut_note(where), _utf16_units),
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
