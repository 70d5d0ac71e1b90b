"""Delivering a rendered report: the job summary, the comment cut to fit GitHub's limit,
and the required status ``mlgitops/NAME`` or a check run."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgitops import console, fsio
from mlgitops.errors import BadInput
from mlgitops.github.payloads import event_from_env
from mlgitops.outputs import Outputs, set_github_outputs
from mlgitops.report.context import Target
from mlgitops.report.markdown import cut
from mlgitops.report.render import UNCHANGED, marker, pending, unchanged

#: GitHub's limit on a job summary's size.
SUMMARY_LIMIT = 1024 * 1024


def comment_text(full: str, where: Target) -> str:
    """The report as its comment: cut, with a note, where GitHub's limit would refuse it."""
    from mlgitops.report.publish import COMMENT_LIMIT

    return cut(full, COMMENT_LIMIT, cut_note(where), utf16_units)


def utf16_units(text: str) -> int:
    """Length as GitHub may count it: never less than the characters (code points)."""
    return len(text.encode("utf-16-le")) // 2


def cut_note(where: Target) -> str:
    summary = f"[job summary]({where.run_url})" if where.run_url else "job summary"
    return (
        f"> [!WARNING]\n> This report is cut here to fit GitHub's comment size limit; the {summary} "
        "and `report.md` in the run's hand-off folder have all of it."
    )


def job_summary(full: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    note = "> [!WARNING]\n> This summary is cut to fit GitHub's 1 MiB limit; `report.md` has all of it."
    fsio.append_text(Path(target), cut(full, SUMMARY_LIMIT - 1024, note, lambda s: len(s.encode())))


def post(
    token: str,
    name: str,
    state: tuple[str, str],
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
    shared = context.shared_head(client, where) if state[0] == "success" and where.sha else None
    if shared is not None:  # the comment says why the status fails under a passing report
        full = with_caution(full, shared)
        comment = comment_text(full, where)
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
    summary = cut(full, publish.CHECK_TEXT_LIMIT, cut_note(where), utf16_units)
    post_state(client, name, where, *state, check_run, summary, shared=(shared,))


def post_state(
    client: Any,
    name: str,
    where: Target,
    state: str,
    description: str,
    check_run: bool,
    summary: str,
    shared: tuple[str | None] | None = None,
) -> str | None:
    """The required ``mlgitops/NAME`` as a commit status, or a check run with ``summary``.

    A success fails instead where the head commit is shared by open pull requests into
    other base branches (:func:`~mlgitops.report.context.shared_head`; ``shared``: its
    answer, where the caller asked already): then it returns why."""
    from mlgitops.report import context, publish

    assert where.repo is not None and where.sha is not None
    why = None
    if state == "success":
        (why,) = shared if shared is not None else (context.shared_head(client, where),)
        if why is not None:
            state, description = "failure", why
            if caution(why) not in summary:
                summary = cut(with_caution(summary, why), publish.CHECK_TEXT_LIMIT, "", utf16_units)
            console.line(
                f"report {name}: this commit is {why}: close all but one of them, or give "
                "each a commit of its own, then run the checks again"
            )
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
    return why


def caution(shared: str) -> str:
    """The note on a report whose status fails for :func:`~mlgitops.report.context.shared_head`."""
    return (
        f"> [!CAUTION]\n> This commit is {shared}. GitHub keeps one status per commit, and each "
        "pull request's run judges its own merge, so the status fails while more than one of "
        "them is open (deploy, likewise, takes none of their runs as a review). Close all but "
        "one of them, or give each a commit of its own, then run the checks again."
    )


def with_caution(text: str, shared: str) -> str:
    """``text`` with :func:`caution` first (after the report's marker, where it has one)."""
    head, sep, rest = text.partition("\n\n")
    if sep and head.startswith("<!-- mlgitops:report:"):
        return f"{head}\n\n{caution(shared)}\n\n{rest}"
    return f"{caution(shared)}\n\n{text}"


def retract(client: Any, name: str, where: Target, number: int, shared: str | None = None) -> None:
    """The pipeline's comment on pull request ``number``, where it has one, says that the
    pull request no longer touches the pipeline's inputs (its report judged an earlier
    commit, and the status is now success, or a failure for ``shared``: see
    :func:`post_state`); no comment is created where there is none."""
    body = unchanged(name, where.sha)
    if shared is not None:
        body = with_caution(body, shared)
    _rewrite(client, name, where, number, lambda _: body, UNCHANGED)


def mark_pending(client: Any, name: str, where: Target, number: int) -> None:
    """The pipeline's comment on pull request ``number``, where it has one, says that its
    report is for an earlier commit while the head commit (``where.sha``), which touches the
    pipeline's inputs, is checked; no comment is created where there is none."""
    assert where.sha is not None
    sha = where.sha
    # cut where needed with a note that links no run: this run's summary is not the
    # earlier report's
    unlinked = replace(where, run_url=None)
    _rewrite(
        client,
        name,
        where,
        number,
        lambda earlier: comment_text(pending(name, sha, earlier), unlinked),
        f"commit {sha[:12]} is being checked",
    )


def _rewrite(
    client: Any, name: str, where: Target, number: int, body: Callable[[str], str], why: str
) -> None:
    """The pipeline's comment (the token's login's) rewritten to ``body`` of its text."""
    from mlgitops.github import login_from_env
    from mlgitops.report import publish

    assert where.repo is not None
    login = login_from_env(os.environ)
    posted = publish.update_comment(client, where.repo, number, marker(name), body, login)
    if posted is not None:
        console.line(
            f"report {name}: {posted.action} the comment on pull request #{number} ({why}): "
            f"{posted.url}"
        )


def post_unreported(
    root: Path,
    name: str,
    output: Path | None,
    pr: int | None,
    sha: str | None,
    github_repo: str | None,
    check_run: bool,
    said: Callable[[str | None], tuple[str, str, str]],
) -> bool:
    """A failing status and the report of why there is nothing to report (``said``: the
    report, state and description, given the head commit). False where nothing would be
    posted (no token, no head commit, a fork's read-only run): the error is then the
    command's."""
    from mlgitops.github import token_from_env
    from mlgitops.report import context

    where = context.target(os.environ, event_from_env(os.environ), pr=pr, sha=sha, repo=github_repo)
    token = token_from_env(os.environ)
    if token is None or where.sha is None or where.repo is None or where.fork:
        return False
    full, state, description = said(where.sha)
    outputs = Outputs.for_pipeline(root, name, output)
    fsio.write_atomic(outputs.report_md, full.encode("utf-8"))
    job_summary(full)
    set_github_outputs({"report-path": str(outputs.report_md)})
    comment = comment_text(full, where)
    post(token, name, (state, description), where, comment, full, check_run, False, None)
    return True
