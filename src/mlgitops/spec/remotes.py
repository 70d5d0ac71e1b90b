"""What ``mlgitops.yaml`` names outside the repository, held to the rules of those who read
it: the Action every generated job calls (GitHub's names, a Git ref)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.spec.positions import Key
from mlgitops.spec.repo_checks import is_ref_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: A GitHub account's name: letters, digits and single hyphens between them.
_OWNER = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
#: A repository's name, or a folder's in an Action's path ('.' and '..' are none).
_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]+")

REF_FORM = (
    "a tag, branch or commit SHA as Git names them: no spaces, '..', '~^:?*[\\' or '@{', "
    "not starting with '-', '/' or '.', not ending with '/', '.' or '.lock'"
)


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


def remote_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str]]:
    """``action`` where it breaks its rules."""
    action = doc.get("action")
    if isinstance(action, str) and (message := action_problem(action)):
        yield ["action"], message
