"""The one door to GitHub's REST API.

:class:`GitHub` takes its ``requests.Session`` and its ``sleep`` function as
arguments, so tests point it at a loopback server and never wait. It honours
``GITHUB_API_URL`` (GitHub Enterprise Server: ``https://HOST/api/v3``), sends
the token as a bearer token, follows ``Link: <…>; rel="next"`` pagination, and
retries the answers GitHub asks clients to retry:

- 5xx: exponential backoff (1 s, 2 s, 4 s, …), or ``Retry-After`` when sent;
- 429 and the secondary-rate-limit 403: ``Retry-After``, else the time until
  ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else backoff
  starting at one minute (GitHub's advice).

Retries stop after ``max_attempts`` answers, and a single wait longer than
``max_wait`` seconds is not waited at all: both raise :class:`GitHubError`
with the last answer's status and message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlgitops import jsondoc
from mlgitops.errors import BadInput, ServiceError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "mlgitops"
_RETRY_5XX = frozenset({500, 502, 503, 504})

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


def seconds_of(stamp: Any) -> float | None:
    """GitHub's ISO 8601 time stamp (``2025-01-01T00:00:00Z``) in epoch seconds; None when
    there is none or it is not one."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def paths_of(entries: list[JSON]) -> list[str]:
    """Every path of a pull request's file list (a renamed file's old path too)."""
    return [
        str(path)
        for entry in entries
        for path in (entry.get("filename"), entry.get("previous_filename"))
        if path
    ]


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


def event_from_env(environ: Mapping[str, str]) -> JSON:
    """The payload of the event that started the workflow (``$GITHUB_EVENT_PATH``); empty
    where there is none (not in GitHub Actions). BadInput names a file that does not read
    as a JSON object."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return {}
    try:
        doc = jsondoc.loads(Path(path).read_bytes(), path)
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read the GitHub event payload ({exc})") from exc
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: the GitHub event payload is not a JSON object")
    return doc


def token_from_env(environ: Mapping[str, str]) -> str | None:
    """``$GITHUB_TOKEN``, else ``$GH_TOKEN``; None when neither is set (local mode)."""
    return environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or None


def client_from_env(token: str, environ: Mapping[str, str]) -> GitHub:
    """A client of ``$GITHUB_API_URL`` (else github.com) over a new session, with ``token``."""
    import requests

    return GitHub(requests.Session(), token=token, api_url=api_url_from_env(environ))


class GitHub:
    """A small GitHub REST client: the calls mlgitops makes, retried and paginated."""

    def __init__(
        self,
        session: Any,
        *,
        token: str,
        api_url: str = DEFAULT_API_URL,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        max_attempts: int = 5,
        max_wait: float = 300.0,
        timeout: float = 30.0,
    ) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.sleep = sleep if sleep is not None else time.sleep
        self.clock = clock if clock is not None else time.time
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }

    def token_scopes(self) -> list[str] | None:
        """The classic token scopes GitHub lists for this token (None: not listed, as for
        fine-grained tokens and ``GITHUB_TOKEN``); a refused token is a GitHubError."""
        response = self._send("GET", "/rate_limit")
        listed = response.headers.get("X-OAuth-Scopes")
        if listed is None:
            return None
        return sorted(s.strip() for s in listed.split(",") if s.strip())

    # -- transport -----------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        """One API call (``path`` under the API URL, or a full URL); the decoded JSON."""
        response = self._send(method, path, params=params, body=body)
        return response.json() if response.content else None

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, key: str | None = None
    ) -> Iterator[Any]:
        """Every item of a listing, page by page (100 a page), following ``rel="next"``."""
        url: str | None = path
        query: Mapping[str, Any] | None = {**(params or {}), "per_page": 100}
        while url is not None:
            response = self._send("GET", url, params=query)
            page = response.json()
            yield from (page[key] if key is not None else page)
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path

    def _send(self, method: str, path: str, *, params: Any = None, body: Any = None) -> Any:
        import requests

        operation = f"{method} {path.split('?')[0]}"
        wait: float | None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.session.request(
                    method,
                    self._url(path),
                    params=params,
                    json=body,
                    headers=self._headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                status, message, wait = (
                    0,
                    f"no answer ({type(exc).__name__}: {exc})",
                    _backoff(attempt, 1.0),
                )
            else:
                if response.status_code < 400:
                    return response
                status, message = response.status_code, _message(response)
                wait = self._retry_wait(response, attempt)
                if wait is None:
                    raise GitHubError(operation, status, message)
            if attempt == self.max_attempts:
                note = f" (gave up after {attempt} attempts)"
                raise GitHubError(operation, status, message, note)
            if wait > self.max_wait:
                note = f" (asked to wait {wait:.0f} s, more than the {self.max_wait:.0f} s cap)"
                raise GitHubError(operation, status, message, note)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_wait(self, response: Any, attempt: int) -> float | None:
        """Seconds to wait before retrying this answer; None: do not retry."""
        status = response.status_code
        headers = response.headers
        if status in _RETRY_5XX:
            after = _retry_after(headers)
            return after if after is not None else _backoff(attempt, 1.0)
        if status == 429 or (status == 403 and _rate_limited(response)):
            after = _retry_after(headers)
            if after is not None:
                return after
            if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
                reset = _number(headers["x-ratelimit-reset"])
                if reset is not None:
                    return max(1.0, reset - self.clock())
            return _backoff(attempt, 60.0)
        return None

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


def _message(response: Any) -> str:
    try:
        doc = response.json()
    except ValueError:
        return (response.reason or "").strip() or "error"
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        details = [e.get("message") for e in doc.get("errors") or [] if isinstance(e, dict)]
        extra = "; ".join(d for d in details if isinstance(d, str))
        return f"{doc['message']}: {extra}" if extra else str(doc["message"])
    return (response.reason or "").strip() or "error"


def _rate_limited(response: Any) -> bool:
    """A 403 that is a (secondary) rate limit, not a permission problem."""
    headers = response.headers
    if "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in _message(response).lower()


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after")
    return None if value is None else _number(value)


def _number(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _backoff(attempt: int, first: float) -> float:
    """``first``, doubled each attempt, at most 16 times ``first``."""
    return float(first * min(2 ** (attempt - 1), 16))
