"""What drift does in Git: open, or update, one retraining pull request or issue.

Pull request (``drift.action: pull_request``, the default):

- branch ``mlgitops/drift/<name>``, created from the base branch (or reset to
  it when no pull request is open on it any more);
- one commit that writes the drift marker ``pipelines/.drift/<name>.json``
  (the drift report as JSON; no commit when it is unchanged);
- the pull request, its body the Markdown report. A rerun finds the open pull
  request by its branch and puts the newest report in one sticky comment
  (GitHub's contract offers no edit of a pull request body).

Issue (``drift.action: issue``): one open issue, found again by the hidden
marker line in its body; reruns update the same sticky comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mlgitops.drift.report import BODY_LIMIT, marker

LABEL = "mlgitops-drift"


def branch_name(pipeline: str) -> str:
    return f"mlgitops/drift/{pipeline}"


def marker_path(pipeline: str) -> str:
    """The repo-relative file the retraining pull request changes."""
    return f"pipelines/.drift/{pipeline}.json"


def update_marker(pipeline: str) -> str:
    """The hidden line of the sticky comment that carries the newest report."""
    return f"<!-- mlgitops:drift-update:{pipeline} -->"


class DriftHub(Protocol):
    """The GitHub operations drift needs (one repository, one token)."""

    def branch_sha(self, branch: str) -> str | None: ...

    def create_branch(self, branch: str, sha: str) -> None: ...

    def reset_branch(self, branch: str, sha: str) -> None: ...

    def file_text(self, path: str, branch: str) -> tuple[str, str] | None:
        """``(blob sha, text)`` of a file on a branch, or None."""
        ...

    def put_file(
        self, path: str, branch: str, text: str, message: str, sha: str | None
    ) -> None: ...

    def open_pull(self, branch: str) -> dict[str, Any] | None: ...

    def create_pull(self, title: str, branch: str, base: str, body: str) -> dict[str, Any]: ...

    def open_issue_with(self, marker: str) -> dict[str, Any] | None: ...

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]: ...

    def upsert_comment(self, number: int, marker: str, body: str, *, create: bool) -> str:
        """Edit the comment holding ``marker``, or create it when ``create``.

        Returns ``created``, ``updated``, ``unchanged`` or ``absent``.
        """
        ...


@dataclass(frozen=True)
class Outcome:
    """What happened on GitHub, in words the CLI prints."""

    kind: str  # "pull request" or "issue"
    number: int
    url: str
    opened: bool
    detail: str

    def sentence(self) -> str:
        verb = "opened" if self.opened else "updated"
        return f"{verb} {self.kind} #{self.number}: {self.url} ({self.detail})"


def title(pipeline: str) -> str:
    return f"Retrain {pipeline}: data drift detected"


def open_pull_request(
    hub: DriftHub, *, pipeline: str, base: str, report_md: str, marker_json: str, summary: str
) -> Outcome:
    """Open the retraining pull request, or update the one already open."""
    branch = branch_name(pipeline)
    existing = hub.open_pull(branch)
    base_sha = hub.branch_sha(base)
    if base_sha is None:
        from mlgitops.errors import BadInput

        raise BadInput(f"base branch {base!r} not found on GitHub")
    branch_sha = hub.branch_sha(branch)
    if branch_sha is None:
        hub.create_branch(branch, base_sha)
    elif existing is None and branch_sha != base_sha:
        hub.reset_branch(branch, base_sha)
    committed = _write_marker(hub, pipeline, branch, marker_json, summary)
    if existing is None:
        pull = hub.create_pull(title(pipeline), branch, base, report_md)
        return Outcome(
            "pull request",
            int(pull["number"]),
            str(pull["html_url"]),
            True,
            "drift report in its body",
        )
    number = int(existing["number"])
    comment = _sticky(hub, number, pipeline, report_md, existing.get("body"))
    marker_note = "marker committed" if committed else "marker unchanged"
    return Outcome(
        "pull request", number, str(existing["html_url"]), False, f"{marker_note}, {comment}"
    )


def open_issue(hub: DriftHub, *, pipeline: str, report_md: str, summary: str) -> Outcome:
    """Open the drift issue, or update the one already open."""
    existing = hub.open_issue_with(marker(pipeline))
    if existing is None:
        issue = hub.create_issue(f"Data drift in {pipeline}", report_md, [LABEL])
        return Outcome(
            "issue", int(issue["number"]), str(issue["html_url"]), True, "drift report in its body"
        )
    number = int(existing["number"])
    comment = _sticky(hub, number, pipeline, report_md, existing.get("body"))
    return Outcome("issue", number, str(existing["html_url"]), False, comment)


def _write_marker(hub: DriftHub, pipeline: str, branch: str, text: str, summary: str) -> bool:
    path = marker_path(pipeline)
    found = hub.file_text(path, branch)
    if found is not None and found[1] == text:
        return False
    message = f"Drift in {pipeline}: {summary}"[:200]
    hub.put_file(path, branch, text, message, found[0] if found else None)
    return True


def _sticky(hub: DriftHub, number: int, pipeline: str, report_md: str, body: Any) -> str:
    """Put the newest report in the sticky comment (made only when the body says otherwise)."""
    same_as_body = isinstance(body, str) and body.strip() == report_md.strip()
    text = f"{update_marker(pipeline)}\n**Latest drift check**\n\n{report_md}"[:BODY_LIMIT]
    state = hub.upsert_comment(number, update_marker(pipeline), text, create=not same_as_body)
    return {"created": "latest report commented", "updated": "latest report comment updated"}.get(
        state, "report unchanged"
    )
