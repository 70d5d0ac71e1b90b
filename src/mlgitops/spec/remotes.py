"""What ``mlgitops.yaml`` names outside the repository, held to the rules of those who read
it: the Action every generated job calls (GitHub's names, a Git ref) and the Git source
every Argo CD Application syncs (a URL and a revision Argo CD fetches)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.spec.positions import Key
from mlgitops.spec.repo_checks import REF_RULE, is_ref_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: A GitHub account's name: letters, digits and single hyphens between them.
_OWNER = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
#: A repository's name, or a folder's in an Action's path ('.' and '..' are none).
_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]+")

REF_FORM = f"a tag, branch or commit SHA as Git names them: {REF_RULE}"


def action_problem(action: str) -> str | None:
    """Why GitHub runs no Action at ``action`` (``owner/repo[/path]@ref``, or ``./path`` in
    the checked-out repository); None where it may."""
    if action.startswith("./"):
        parts = action[2:].split("/") if action != "./" else []
        if all(_NAME.fullmatch(part) for part in parts):
            return None
        return (
            f"{action!r}: an Action in this repository is ./ and its folder's names, without "
            "empty, '.' or '..' parts (it may not leave the repository)"
        )
    where, _, ref = action.rpartition("@")
    owner, _, rest = where.partition("/")
    repo, _, path = rest.partition("/")
    if not _OWNER.fullmatch(owner):
        return (
            f"{action!r}: {owner!r} is no GitHub account (letters, digits and single '-' "
            "between them)"
        )
    if not _NAME.fullmatch(repo):
        return f"{action!r}: {repo!r} is no GitHub repository (letters, digits, '.', '_', '-')"
    if path and not all(_NAME.fullmatch(part) for part in path.split("/")):
        return (
            f"{action!r}: the Action's path in {owner}/{repo} holds an empty, '.' or '..' part, "
            "which GitHub does not resolve"
        )
    if not is_ref_name(ref):
        return f"{action!r}: {ref!r} is no Git ref ({REF_FORM})"
    return None


#: The repository URLs Argo CD fetches: http(s) and ssh URLs, and scp-like ``git@host:path``.
_URL = re.compile(r"(?:https?|ssh)://[^\s/?#]+(?:[/?#]\S*)?")
_SCP = re.compile(r"[^\s/:@]+@[^\s/:@]+:[^\s@]+")


def repo_url_problem(url: str) -> str | None:
    """Why Argo CD fetches no Git repository at ``url``; None where it may."""
    from urllib.parse import urlsplit

    expected = (
        f"invalid value {url!r}: expected a Git URL Argo CD fetches, without spaces: https://, "
        "http://, ssh://, or scp-like git@host:path (https://github.com/my-org/my-models.git)"
    )
    if _SCP.fullmatch(url):
        return None
    if not _URL.fullmatch(url):
        return expected
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port that is no number, or past 65535, raises)
    except ValueError as exc:
        return f"invalid value {url!r}: no URL ({exc})"
    return None if parts.hostname else f"invalid value {url!r}: names no host"


#: Go's ``\s``, which Masterminds' semver reads around and between constraints.
_SPACE = "[\t\n\f\r ]"
#: A version in a constraint (Masterminds' semver v3: ``1``, ``1.2.x``, ``v1.2.3-rc.1``, ``*``).
_VERSION = (
    r"v?[0-9|xX*]+(?:\.[0-9|xX*]+)?(?:\.[0-9|xX*]+)?"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_OP = r"(?:=|!=|>|<|>=|=>|<=|=<|~|~>|\^)?"
_RANGE = re.compile(rf"{_SPACE}*({_VERSION}){_SPACE}+-{_SPACE}+({_VERSION}){_SPACE}*")
_CONSTRAINTS = re.compile(
    rf"{_SPACE}*{_OP}{_SPACE}*{_VERSION}{_SPACE}*"
    rf"(?:(?:{_SPACE}+|,{_SPACE}*){_OP}{_SPACE}*{_VERSION}{_SPACE}*)*"
)


def is_semver_constraint(text: str) -> bool:
    """Whether Argo CD reads ``text`` as a range of tags to take the newest of (``1.*``,
    ``>=1.2 <2``, ``^1.2 || ~2.0``), as Masterminds' semver parses constraints."""
    text = _RANGE.sub(r">= \1, <= \2", text)
    return all(_CONSTRAINTS.fullmatch(part) for part in text.split("||"))


def revision_problem(revision: str) -> str | None:
    """Why Argo CD resolves no commit from ``revision``; None where it may."""
    if not revision or is_ref_name(revision) or is_semver_constraint(revision):
        return None  # "" is HEAD to Argo CD
    return (
        f"invalid value {revision!r}: expected HEAD, {REF_FORM}; or a range of "
        "version tags such as 1.2.*"
    )


def remote_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str]]:
    """``action``, ``argocd.repo_url`` and ``argocd.revision`` where they break their rules."""
    action = doc.get("action")
    if isinstance(action, str) and (message := action_problem(action)):
        yield ["action"], message
    argocd = doc.get("argocd")
    argocd = argocd if isinstance(argocd, dict) else {}
    for key, rule in (("repo_url", repo_url_problem), ("revision", revision_problem)):
        value = argocd.get(key)
        if isinstance(value, str) and (message := rule(value)):
            yield ["argocd", key], message
