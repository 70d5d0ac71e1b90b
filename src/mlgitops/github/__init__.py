"""The one door to GitHub's REST API.

:class:`GitHub` makes the calls mlgitops makes, through :class:`.rest.RestClient`,
which takes its ``requests.Session`` and its ``sleep`` function as arguments,
sends the token as a bearer token, follows pagination and retries the answers
GitHub asks clients to retry. Here too: where the token, the API URL and the
login whose comments mlgitops may update come from. :mod:`.payloads` reads
the event that started the workflow and GitHub's answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from mlgitops.errors import ServiceError
from mlgitops.github.rest import DEFAULT_API_URL, RestClient

JSON = dict[str, Any]
#: The most files GitHub lists for one pull request; a longer list is cut there.
PULL_FILES_LIMIT = 3000


class GitHubError(ServiceError):
    """GitHub refused a request, or kept failing after the retries.

    ``status`` is the HTTP status of the last answer (0: no answer at all),
    ``operation`` is ``METHOD /path`` and ``message`` GitHub's own message.
    """

    def __init__(self, operation: str, status: int, message: str, note: str = "") -> None:
        self.operation = operation
        self.status = status
        self.message = message
        answer = f"{status} {message}" if status else message
        super().__init__(f"GitHub {operation}: {answer}{note}")


def api_url_from_env(environ: Mapping[str, str]) -> str:
    """``$GITHUB_API_URL`` (set by Actions, also on GitHub Enterprise), else api.github.com."""
    return (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


#: The login GitHub shows for comments made with a workflow's ``GITHUB_TOKEN``.
ACTIONS_BOT = "github-actions[bot]"
#: Names the token's own login when it is not the workflow's token (a GitHub App's
#: ``<app-slug>[bot]``, or a person's login for a personal token).
LOGIN_ENV = "MLGITOPS_GITHUB_LOGIN"


def login_from_env(environ: Mapping[str, str]) -> str:
    """Whose comments mlgitops may update: ``$MLGITOPS_GITHUB_LOGIN``, else the Actions bot.

    GitHub's API has no call that tells an installation token its own login, so
    the identity is configuration; a comment by anyone else is never updated,
    whatever it contains.
    """
    return (environ.get(LOGIN_ENV) or "").strip() or ACTIONS_BOT


def authored_by(item: Mapping[str, Any], login: str) -> bool:
    """Whether a comment or issue was written by ``login`` (GitHub's ``user.login``)."""
    user = item.get("user")
    return isinstance(user, Mapping) and user.get("login") == login


def token_from_env(environ: Mapping[str, str]) -> str | None:
    """``$GITHUB_TOKEN``, else ``$GH_TOKEN``; None when neither is set (local mode)."""
    return environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or None


def client_from_env(token: str, environ: Mapping[str, str]) -> GitHub:
    """A client of ``$GITHUB_API_URL`` (else github.com) over a new session, with ``token``."""
    import requests

    return GitHub(requests.Session(), token=token, api_url=api_url_from_env(environ))


class GitHub(RestClient):
    """A small GitHub REST client: the calls mlgitops makes, retried and paginated."""

    def token_scopes(self) -> list[str] | None:
        """The classic token scopes GitHub lists for this token (None: not listed, as for
        fine-grained tokens and ``GITHUB_TOKEN``); a refused token is a GitHubError."""
        response = self._send("GET", "/rate_limit")
        listed = response.headers.get("X-OAuth-Scopes")
        if listed is None:
            return None
        return sorted(s.strip() for s in listed.split(",") if s.strip())

    # -- issue comments -----------------------------------------------------------

    def list_issue_comments(self, repo: str, number: int) -> list[JSON]:
        """All comments of an issue or pull request, oldest first."""
        return list(self.paginate(f"/repos/{repo}/issues/{number}/comments"))

    def create_issue_comment(self, repo: str, number: int, body: str) -> JSON:
        return self._json("POST", f"/repos/{repo}/issues/{number}/comments", body={"body": body})

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> JSON:
        return self._json(
            "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", body={"body": body}
        )

    # -- statuses and check runs ----------------------------------------------------

    def create_commit_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> JSON:
        """A commit status; GitHub keeps the newest per ``context``."""
        body = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        return self._json("POST", f"/repos/{repo}/statuses/{sha}", body=body)

    def create_check_run(self, repo: str, payload: JSON) -> JSON:
        return self._json("POST", f"/repos/{repo}/check-runs", body=payload)

    def update_check_run(self, repo: str, check_run_id: int, payload: JSON) -> JSON:
        return self._json("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", body=payload)

    # -- pulls and issues -----------------------------------------------------------

    def get_pull(self, repo: str, number: int) -> JSON:
        return self._json("GET", f"/repos/{repo}/pulls/{number}")

    def list_pulls(self, repo: str, **filters: str) -> list[JSON]:
        """Pull requests; ``filters`` such as ``state="open"``, ``head="org:branch"``."""
        return list(self.paginate(f"/repos/{repo}/pulls", filters))

    def list_pull_files(self, repo: str, number: int) -> list[JSON]:
        """The files a pull request changes; GitHub lists at most :data:`PULL_FILES_LIMIT`."""
        return list(self.paginate(f"/repos/{repo}/pulls/{number}/files"))

    def pulls_for_commit(self, repo: str, sha: str) -> list[JSON]:
        """Pull requests whose head or merge commit is ``sha``."""
        return list(self.paginate(f"/repos/{repo}/commits/{sha}/pulls"))

    def create_pull(self, repo: str, *, title: str, head: str, base: str, body: str) -> JSON:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return self._json("POST", f"/repos/{repo}/pulls", body=payload)

    def list_issues(self, repo: str, **filters: str) -> list[JSON]:
        """Issues (GitHub lists pull requests here too; they carry ``pull_request``)."""
        return list(self.paginate(f"/repos/{repo}/issues", filters))

    def create_issue(
        self, repo: str, *, title: str, body: str, labels: list[str] | None = None
    ) -> JSON:
        payload: JSON = {"title": title, "body": body}
        if labels:
            payload["labels"] = labels
        return self._json("POST", f"/repos/{repo}/issues", body=payload)

    # -- git data and contents --------------------------------------------------------

    def get_ref(self, repo: str, ref: str) -> JSON:
        """``ref`` without ``refs/``, e.g. ``heads/main``."""
        return self._json("GET", f"/repos/{repo}/git/ref/{_segment(ref)}")

    def create_ref(self, repo: str, ref: str, sha: str) -> JSON:
        """``ref`` fully qualified, e.g. ``refs/heads/retrain``; 422 when it exists."""
        return self._json("POST", f"/repos/{repo}/git/refs", body={"ref": ref, "sha": sha})

    def update_ref(self, repo: str, ref: str, sha: str, *, force: bool = False) -> JSON:
        body = {"sha": sha, "force": force}
        return self._json("PATCH", f"/repos/{repo}/git/refs/{_segment(ref)}", body=body)

    def get_content(self, repo: str, path: str, ref: str | None = None) -> JSON:
        params = {"ref": ref} if ref else None
        return self._json("GET", f"/repos/{repo}/contents/{_segment(path)}", params=params)

    def put_content(self, repo: str, path: str, payload: JSON) -> JSON:
        """Create or update a file: ``message``, base64 ``content``, ``branch``, ``sha``."""
        return self._json("PUT", f"/repos/{repo}/contents/{_segment(path)}", body=payload)

    # -- workflow-run artifacts -------------------------------------------------------

    def list_run_artifacts(self, repo: str, run_id: int, name: str | None = None) -> list[JSON]:
        params = {"name": name} if name else None
        return list(
            self.paginate(f"/repos/{repo}/actions/runs/{run_id}/artifacts", params, "artifacts")
        )

    def list_run_jobs(self, repo: str, run_id: int) -> list[JSON]:
        """The jobs of a workflow run's latest attempt (queued ones included)."""
        return list(self.paginate(f"/repos/{repo}/actions/runs/{run_id}/jobs", None, "jobs"))

    def download_artifact(self, repo: str, artifact_id: int) -> bytes:
        """The artifact's zip archive (GitHub redirects to blob storage; followed)."""
        response = self._send("GET", f"/repos/{repo}/actions/artifacts/{artifact_id}/zip")
        content: bytes = response.content
        return content

    # -- workflow runs and attestations ----------------------------------------------

    def list_workflow_runs(self, repo: str, **filters: str) -> list[JSON]:
        """Workflow runs, newest first; ``filters`` such as ``event``, ``head_sha``, ``status``."""
        return list(self.paginate(f"/repos/{repo}/actions/runs", filters, "workflow_runs"))

    def list_attestations(self, repo: str, subject_digest: str) -> list[JSON]:
        """The artifact attestations of ``sha256:<hex>``; empty when there are none (404)."""
        try:
            doc = self._json("GET", f"/repos/{repo}/attestations/{_segment(subject_digest)}")
        except GitHubError as exc:
            if exc.status == 404:
                return []
            raise
        found = doc.get("attestations")
        return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []

    def _json(self, method: str, path: str, *, params: Any = None, body: Any = None) -> JSON:
        doc = self.request(method, path, params=params, body=body)
        if not isinstance(doc, dict):
            raise GitHubError(f"{method} {path}", 0, "answer is not a JSON object")
        return doc


def _segment(value: str) -> str:
    """One path parameter, slashes included, as one URL segment (as GitHub's SDKs send it)."""
    return quote(value, safe="")
