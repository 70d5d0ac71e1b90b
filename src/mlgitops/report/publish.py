"""Posting the report: one sticky comment per pipeline, and a status or check run.

The comment is the oldest comment of the pull request whose body starts with
the pipeline's marker AND whose author is the token's own login
(:func:`mlgitops.github.login_from_env`): a marker anyone else planted is
ignored, never updated; every listing pages through all comments. Two reports
racing on a pull request with no comment yet may both create one (GitHub's
API has no conditional create), so each creator lists the comments again
after creating: the oldest marked comment (lowest id) wins on every side, and
a creator whose comment lost copies its report into the winner and turns its
own comment into a one-line pointer without the marker. The pointer can only
appear after a true race, and no later run sees it as a report. A comment
deleted after it was listed (its update answers 404) is created anew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlgitops.github import ACTIONS_BOT, GitHub, GitHubError, authored_by

COMMENT_LIMIT = 65_536
CHECK_TEXT_LIMIT = 65_535


@dataclass(frozen=True)
class Posted:
    """What happened to the comment: ``created``, ``updated`` or ``unchanged``."""

    action: str
    comment_id: int
    url: str


def _marked(
    client: GitHub, repo: str, number: int, marker: str, login: str
) -> list[dict[str, Any]]:
    found = [
        c
        for c in client.list_issue_comments(repo, number)
        if isinstance(c.get("body"), str)
        and c["body"].lstrip().startswith(marker)
        and authored_by(c, login)
    ]
    return sorted(found, key=lambda c: int(c["id"]))


def upsert_comment(
    client: GitHub, repo: str, number: int, marker: str, body: str, login: str = ACTIONS_BOT
) -> Posted:
    """Create or update the pipeline's one comment (by ``login``) on pull request ``number``."""
    existing = _marked(client, repo, number, marker, login)
    posted = _update(client, repo, existing, body) if existing else None
    return posted or _create(client, repo, number, marker, body, login)


def update_comment(
    client: GitHub,
    repo: str,
    number: int,
    marker: str,
    rewrite: Callable[[str], str],
    login: str = ACTIONS_BOT,
) -> Posted | None:
    """Update the pipeline's comment where pull request ``number`` has one, to what
    ``rewrite`` makes of its body; None where it has none (nothing is created)."""
    existing = _marked(client, repo, number, marker, login)
    if not existing:
        return None
    return _update(client, repo, existing, rewrite(str(existing[0]["body"])))


def _update(client: GitHub, repo: str, existing: list[dict[str, Any]], body: str) -> Posted | None:
    """The oldest marked comment updated, the others retired; None where it was deleted
    since it was listed (GitHub answers 404): the report is then created anew."""
    keep, *duplicates = existing
    action = "unchanged"
    if keep["body"] != body:
        try:
            client.update_issue_comment(repo, int(keep["id"]), body)
        except GitHubError as exc:
            if exc.status != 404:
                raise
            return None
        action = "updated"
    for duplicate in duplicates:
        _retire(client, repo, duplicate, keep)
    return Posted(action, int(keep["id"]), str(keep.get("html_url", "")))


def _create(client: GitHub, repo: str, number: int, marker: str, body: str, login: str) -> Posted:
    """A new comment; where a racing report created one too, the oldest is kept."""
    made = client.create_issue_comment(repo, number, body)
    again = _marked(client, repo, number, marker, login)
    keep = again[0] if again else made
    if int(keep["id"]) == int(made["id"]):
        return Posted("created", int(made["id"]), str(made.get("html_url", "")))
    client.update_issue_comment(repo, int(keep["id"]), body)
    _retire(client, repo, made, keep)
    return Posted("updated", int(keep["id"]), str(keep.get("html_url", "")))


def _retire(client: GitHub, repo: str, duplicate: dict[str, Any], keep: dict[str, Any]) -> None:
    url = keep.get("html_url") or ""
    pointer = f"[the report comment]({url})" if url else "the report comment above"
    client.update_issue_comment(
        repo, int(duplicate["id"]), f"<sub>mlgitops: this comment was merged into {pointer}.</sub>"
    )


def post_status(
    client: GitHub,
    repo: str,
    sha: str,
    *,
    context: str,
    state: str,
    description: str,
    target_url: str | None,
) -> None:
    """A commit status on ``sha`` (branch protection can require ``context``)."""
    client.create_commit_status(
        repo, sha, state=state, context=context, description=description, target_url=target_url
    )


def post_check_run(
    client: GitHub,
    repo: str,
    sha: str,
    *,
    name: str,
    state: str,
    description: str,
    summary: str,
    details_url: str | None,
) -> None:
    """A completed check run (or a queued one while the state is pending)."""
    payload: dict[str, Any] = {
        "name": name,
        "head_sha": sha,
        "output": {"title": description, "summary": summary},
    }
    if state == "pending":
        payload["status"] = "queued"
    else:
        payload["status"] = "completed"
        payload["conclusion"] = "success" if state == "success" else "failure"
    if details_url:
        payload["details_url"] = details_url
    client.create_check_run(repo, payload)
