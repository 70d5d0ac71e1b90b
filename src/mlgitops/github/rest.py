"""How the GitHub client sends a request: under the API URL, with the token as a bearer
token, paginated, and retried as GitHub asks clients to retry.

It honours ``GITHUB_API_URL`` (GitHub Enterprise Server: ``https://HOST/api/v3``),
follows ``Link: <…>; rel="next"`` pagination, and retries:

- 5xx: exponential backoff (1 s, 2 s, 4 s, …), or ``Retry-After`` when sent;
- 429 and the secondary-rate-limit 403: ``Retry-After``, else the time until
  ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else backoff
  starting at one minute (GitHub's advice).

Retries stop after ``max_attempts`` answers, and a single wait longer than
``max_wait`` seconds is not waited at all: both raise
:class:`~mlgitops.github.GitHubError` with the last answer's status and message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "mlgitops"
_RETRY_5XX = frozenset({500, 502, 503, 504})


class RestClient:
    """GitHub's REST API as retried, paginated calls; :class:`~mlgitops.github.GitHub` adds
    the calls mlgitops makes. It takes its ``requests.Session`` and its ``sleep`` function
    as arguments, so tests point it at a loopback server and never wait."""

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

        from mlgitops.github import GitHubError  # beside the client, where its callers catch it

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
