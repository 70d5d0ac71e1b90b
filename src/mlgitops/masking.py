"""Credentials kept out of what others read: the hand-off files (uploaded as the run's
artifacts), failed.json and the pull request's comment. GitHub masks secrets in a job's
log only, so mlgitops masks them, as GitHub does (``***``), in what it writes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit, urlunsplit

T = TypeVar("T")

MASK = "***"
#: A URL's user information: ``scheme://user:password@host``, up to the last ``@`` before
#: the path (where HTTP clients split it: a password may hold an ``@``).
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s?#]*@")
#: Environment variables whose values are credentials, by their names.
_SECRET_NAME = re.compile(
    r"TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY", re.IGNORECASE
)
#: Shorter values are not masked: they cannot be secret, and masking them would blank
#: words of the message.
_SHORTEST = 4


def without_credentials(text: str) -> str:
    """``text`` with the user information of every URL in it masked."""
    return _USERINFO.sub(rf"\1{MASK}@", text)


def masked(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with URLs' user information and the values of the environment's credentials
    (variables named like ``*_TOKEN``, ``*_PASSWORD``, ``*_SECRET``, ``*_API_KEY``) masked."""
    return _masked(text, _secrets(os.environ if env is None else env))


def masked_values(doc: T, env: Mapping[str, str] | None = None) -> T:
    """A JSON document with every text value in it masked as :func:`masked` masks one."""
    secrets = _secrets(os.environ if env is None else env)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _masked(value, secrets)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return cast(T, walk(doc))


def _secrets(env: Mapping[str, str]) -> list[str]:
    """The credentials' values, longest first (one may hold another)."""
    found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _SHORTEST}
    return sorted(found, key=len, reverse=True)


def _masked(text: str, secrets: list[str]) -> str:
    text = without_credentials(text)
    for value in secrets:
        text = text.replace(value, MASK)
    return text


def split_credentials(uri: str) -> tuple[str, tuple[str, str] | None]:
    """The URI without its user information, and that information (user and password,
    percent-escapes decoded, as HTTP clients send it); None where it holds none."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri, None
    host = parts.netloc.rpartition("@")[2]
    bare = urlunsplit(parts._replace(netloc=host))
    return bare, (unquote(parts.username or ""), unquote(parts.password or ""))
