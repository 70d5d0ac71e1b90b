"""The HTTP session of every client of an MLflow server (tracking, the registry, drift's
reference, doctor): MLflow's credentials and TLS settings from the environment, as its own
client takes them, the server's URL, and why a request got no answer, in the words of
mlgitops's messages."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from http.client import RemoteDisconnected
from typing import Any

import requests
from urllib3.exceptions import ProtocolError

from mlgitops.mlflow_env import CLIENT_CERT, SERVER_CERT, tls_settings

#: The seconds a request to the server is given.
TIMEOUT = 30.0


class Session(requests.Session):
    """requests' session, whose TLS settings hold for every request.

    requests lets ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) replace a
    session's own ``verify``, so a session told to trust only the tracking
    server's CA, or not to verify at all, would trust the bundle instead. MLflow's
    client gives each request its settings, which the environment does not
    replace; so does this session. Where the session verifies as usual, the
    bundle still applies, as it does for MLflow."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        return super().request(method, url, *args, **kwargs)


def session_for(env: Mapping[str, str]) -> requests.Session:
    """A session carrying MLflow's usual credentials and TLS settings from the environment,
    as MLflow's client takes them: a user and password, else a token; and the TLS
    settings of :func:`mlgitops.mlflow_env.tls_settings` (BadInput where they cannot
    hold)."""
    session = Session()
    user, password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:  # before a token, as MLflow's client sends them
        session.auth = (user, password)
    elif token := env.get("MLFLOW_TRACKING_TOKEN"):
        session.headers["Authorization"] = f"Bearer {token}"
    session.verify, session.cert = tls_settings(env)
    return session


def server(uri: str, session: requests.Session) -> tuple[str, str]:
    """The server's URL for requests, and its name in messages and train.json (credentials
    masked). A password in the URI is sent as requests would send it, as basic auth, unless
    the environment gave the session one."""
    from mlgitops.masking import split_credentials, without_credentials

    base, credentials = split_credentials(uri.rstrip("/"))
    if credentials is not None and session.auth is None:
        session.auth = credentials
    return base, without_credentials(uri.rstrip("/"))


def reason(exc: requests.RequestException, timeout: float = TIMEOUT) -> str:
    """Why a request to the tracking server got no answer, in the words of its messages;
    ``timeout``: the seconds the request was given."""
    if isinstance(exc, requests.Timeout):  # ConnectTimeout is a ConnectionError too
        return f"no answer within {timeout:.0f}s"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "its proxy failed: check HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
    if isinstance(exc, requests.exceptions.SSLError) and _chained(
        exc, ssl.SSLCertVerificationError
    ):
        return (
            "TLS failed: its certificate could not be verified; "
            f"{SERVER_CERT} names the CA bundle to verify it with"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        failure = _chained(exc, ssl.SSLError)
        why = getattr(failure, "reason", None) or "no reason given"
        return (
            f"TLS failed ({why}): it may not speak https at this address, or it refused "
            f"the client's certificate, which {CLIENT_CERT} names"
        )
    if isinstance(exc, requests.ConnectionError) and _chained(
        exc, (ProtocolError, RemoteDisconnected, ConnectionResetError)
    ):
        url = str(getattr(exc.request, "url", None) or "")
        if not url.startswith("https:"):
            return "it closed the connection without answering"
        return (
            "it closed the connection without answering, as a server behind TLS does when it "
            f"asks for a client certificate and gets none or one it refuses ({CLIENT_CERT} "
            "names the client's certificate)"
        )
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host not found"
    return type(exc).__name__


def _chained(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of ``kind`` in ``exc``'s chain (its arguments, its cause, and a
    urllib3 error's ``reason``), or None."""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, kind):
            return error
        linked = [*error.args, error.__cause__, error.__context__, getattr(error, "reason", None)]
        todo += [e for e in linked if isinstance(e, BaseException)]  # (ssl's reason is text)
    return None
