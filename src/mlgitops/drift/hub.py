"""Drift's GitHub operations (:class:`~mlgitops.drift.action.DriftHub`) over the GitHub client."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from mlgitops.drift.action import LABEL
from mlgitops.errors import BadInput
from mlgitops.github import (
    ACTIONS_BOT,
    GitHub,
    GitHubError,
    authored_by,
    client_from_env,
    login_from_env,
    token_from_env,
)


def hub_from_env(environ: Mapping[str, str]) -> GitHubRepository:
    """A hub for ``$GITHUB_REPOSITORY`` with ``$GITHUB_TOKEN`` (or ``$GH_TOKEN``)."""
    token = token_from_env(environ)
    repo = environ.get("GITHUB_REPOSITORY", "")
    if not token or repo.count("/") != 1:
        raise BadInput("GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name) must be set")
    client = client_from_env(token, environ)
    return GitHubRepository(client, repo, login_from_env(environ))


def _missing(exc: GitHubError) -> bool:
    return exc.status == 404


class GitHubRepository:
    """One repository's branches, files, pull requests, issues and comments.

    Pull requests, issues and comments are only ever taken for drift's own when
    ``login`` (the token's identity) wrote them: a marker is not a signature.
    """

    def __init__(self, client: GitHub, repo: str, login: str = ACTIONS_BOT) -> None:
        self.client = client
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self.login = login

    def branch_sha(self, branch: str) -> str | None:
        try:
            ref = self.client.get_ref(self.repo, f"heads/{branch}")
        except GitHubError as exc:
            if _missing(exc):
                return None
            raise
        return str(ref["object"]["sha"])

    def create_branch(self, branch: str, sha: str) -> None:
        self.client.create_ref(self.repo, f"refs/heads/{branch}", sha)

    def reset_branch(self, branch: str, sha: str) -> None:
        self.client.update_ref(self.repo, f"heads/{branch}", sha, force=True)

    def file_text(self, path: str, branch: str) -> tuple[str, str] | None:
        try:
            found = self.client.get_content(self.repo, path, ref=branch)
        except GitHubError as exc:
            if _missing(exc):
                return None
            raise
        text = base64.b64decode(found.get("content") or "").decode("utf-8", "replace")
        return str(found["sha"]), text

    def put_file(self, path: str, branch: str, text: str, message: str, sha: str | None) -> None:
        payload: dict[str, Any] = {
            "message": message,
            "content": base64.b64encode(text.encode("utf-8")).decode("ascii"),
            "branch": branch,
        }
        if sha is not None:
            payload["sha"] = sha
        self.client.put_content(self.repo, path, payload)

    def open_pull(self, branch: str) -> dict[str, Any] | None:
        pulls = self.client.list_pulls(self.repo, state="open", head=f"{self.owner}:{branch}")
        mine = [p for p in pulls if authored_by(p, self.login)]
        return mine[0] if mine else None

    def create_pull(self, title: str, branch: str, base: str, body: str) -> dict[str, Any]:
        return self.client.create_pull(self.repo, title=title, head=branch, base=base, body=body)

    def open_issue_with(self, marker: str) -> dict[str, Any] | None:
        """The open issue whose body holds ``marker``: labelled ones first, then all."""
        for filters in ({"state": "open", "labels": LABEL}, {"state": "open"}):
            for issue in self.client.list_issues(self.repo, **filters):
                if (
                    "pull_request" not in issue
                    and marker in (issue.get("body") or "")
                    and authored_by(issue, self.login)
                ):
                    return issue
        return None

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        return self.client.create_issue(self.repo, title=title, body=body, labels=labels)

    def upsert_comment(self, number: int, marker: str, body: str, *, create: bool) -> str:
        for comment in self.client.list_issue_comments(self.repo, number):
            if marker in (comment.get("body") or "") and authored_by(comment, self.login):
                if comment.get("body") == body:
                    return "unchanged"
                self.client.update_issue_comment(self.repo, int(comment["id"]), body)
                return "updated"
        if not create:
            return "absent"
        self.client.create_issue_comment(self.repo, number, body)
        return "created"
