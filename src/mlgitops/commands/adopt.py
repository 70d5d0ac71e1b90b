"""``mlgitops adopt``: prepare an existing repository for mlgitops, without example files.

Writes the ``.gitignore`` entries and, when there is none, an ``mlgitops.yaml``
whose ``default_branch`` and ``argocd.repo_url`` come from the repository's
Git remote: the one ``--remote`` names (refused where the repository has no
remote of that name), else ``origin``; without it, the checked-out branch and
no ``argocd.repo_url``, which is said. Existing files keep their content
(``.gitignore`` only gains lines); running it again changes nothing. The
pipelines are the user's to write (docs/adopting.md).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

from mlgitops import console, fsio, hygiene, proc
from mlgitops.errors import EXIT_OK, BadInput
from mlgitops.outputs import DEFAULT_DIR
from mlgitops.spec import PIPELINES_DIR, REPO_CONFIG, spec_files

#: The remote adopt reads when none is named.
DEFAULT_REMOTE = "origin"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--remote",
        metavar="REMOTE",
        help=f"the remote to read (default: {DEFAULT_REMOTE}, where the repository has it)",
    )


def default_branch(root: Path, remote: str) -> str:
    """The remote's HEAD branch, else the checked-out branch, else ``main``."""
    head = proc.git(
        "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD", cwd=root, check=False
    )
    if head.startswith(f"{remote}/"):
        return head.removeprefix(f"{remote}/")
    current = proc.git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=root, check=False)
    return current or "main"


def https_url(url: str) -> str | None:
    """An Argo CD ``repoURL`` for a Git remote URL (``git@host:org/repo.git`` and
    ``ssh://git@host[:port]/org/repo.git`` as https, the ssh port left out), without the
    user and token a remote URL may hold (``mlgitops.yaml`` is committed); None for any
    other form, or one holding white space."""
    from mlgitops.masking import split_credentials

    if any(c.isspace() or not c.isprintable() for c in url):
        return None
    if url.startswith("https://"):
        try:
            return split_credentials(url)[0]
        except ValueError:  # not a URL after all (a port that is no number, a bad IPv6 host)
            return None
    if url.startswith("git@") and ":" in url:
        host, path = url.removeprefix("git@").split(":", 1)
        return f"https://{host}/{path}"
    if url.startswith(("ssh://", "git+ssh://")):
        return _ssh_as_https(url)
    return None


def _ssh_as_https(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a bad IPv6 host
        return None
    if not host or parts.path.strip("/") == "" or parts.query or parts.fragment:
        return None
    return f"https://{f'[{host}]' if ':' in host else host}{parts.path}"


def repo_config(branch: str, url: str | None) -> str:
    """The text of a new ``mlgitops.yaml``."""
    lines = [
        "# Repository-wide settings of mlgitops (docs/spec-reference.md). Every key is optional.",
        "action: mlgitops/mlgitops@v1     # pin a full commit SHA: zizmor flags a tag",
        f"default_branch: {_scalar(branch)}",
    ]
    if url:
        lines += ["argocd:", f"  repo_url: {_scalar(url)}"]
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """``text`` as a YAML value that reads back as that text: as it is where it does, else
    quoted (a branch named ``2024`` is a number unquoted, ``@rel`` no YAML at all)."""
    from mlgitops.spec.loader import parse_yaml

    doc, problems = parse_yaml("mlgitops.yaml", f"key: {text}\n")
    plain = not problems and isinstance(doc, Mapping) and doc.get("key") == text
    return text if plain and type(doc["key"]) is str else json.dumps(text)


def _remotes(root: Path) -> list[str]:
    """The names of the repository's remotes, as ``git remote`` lists them."""
    return proc.git("remote", cwd=root).splitlines()


def _remote_to_read(root: Path, named: str | None, remotes: list[str]) -> str | None:
    """The remote that ``mlgitops.yaml``'s settings are read from: the one named (BadInput
    where ``remotes``, the repository's, hold none of that name), else ``origin`` where it
    is there."""
    if named is None:
        return DEFAULT_REMOTE if DEFAULT_REMOTE in remotes else None
    if named not in remotes:
        raise BadInput(f"--remote {named}: no such remote in {root} ({_listed(remotes)})")
    return named


def _listed(remotes: list[str]) -> str:
    return f"its remotes: {', '.join(remotes)}" if remotes else "it has no remote"


def _repo_url(root: Path, remote: str | None) -> str | None:
    """The Argo CD ``repoURL`` of ``remote``'s URL (None: no remote, or a URL of no form
    Argo CD is given, :func:`https_url`)."""
    if remote is None:
        return None
    return https_url(proc.git("remote", "get-url", remote, cwd=root, check=False))


def _no_repo_url(remote: str | None, remotes: list[str]) -> None:
    """Say that ``mlgitops.yaml`` was written without ``argocd.repo_url``, and why."""
    if remote is None:
        why = f"there is no remote {DEFAULT_REMOTE} to read it from ({_listed(remotes)})"
    else:  # (its URL is not shown: it may hold a token, or a line break)
        why = f"the URL of remote {remote} is no https or ssh URL of a Git host"
    console.error_line(
        f"mlgitops adopt: warning: {REPO_CONFIG}: no argocd.repo_url written, as {why}: set "
        "it to the Git URL Argo CD syncs from (until then the Argo CD Applications name a "
        "placeholder)"
    )


def run(*, repo: Path, remote: str | None) -> int:
    """Write ``.gitignore`` entries and ``mlgitops.yaml``; say what comes next."""
    root = repo.resolve()
    inside = proc.run(["git", "rev-parse", "--show-toplevel"], cwd=root, check=False)
    if inside.returncode != 0:
        raise BadInput(f"{root} is not a Git repository: run `git init` first")
    top = Path(inside.stdout.strip()).resolve()
    if top != root:
        raise BadInput(
            f"{root} is a folder of the Git repository {top}: mlgitops lives at a "
            f"repository's top, where GitHub reads .github/workflows "
            f"(run `mlgitops -C {top} adopt`)"
        )
    remotes = _remotes(root)
    read = _remote_to_read(root, remote, remotes)
    files = {".gitignore": hygiene.gitignore_of(root)}
    url = None
    if not (root / REPO_CONFIG).exists():  # without a remote: the checked-out branch, no URL
        url = _repo_url(root, read)
        branch = default_branch(root, read or DEFAULT_REMOTE)
        files[REPO_CONFIG] = repo_config(branch, url).encode()
    changes = fsio.write_tree(root, files)
    for rel in changes.created:
        console.line(f"created {rel}")
    for rel in changes.updated:
        console.line(f"updated {rel}")
    if REPO_CONFIG in changes.created and url is None:
        _no_repo_url(read, remotes)
    if not changes.changed:
        console.line("adopt: nothing to change")
    tracked = hygiene.tracked_outputs(root)
    if tracked:
        console.line(f"untrack the local results: git rm -r --cached {DEFAULT_DIR}")
    if not spec_files(root):
        console.line(
            f"Next: write {PIPELINES_DIR}/<name>.yaml (docs/adopting.md), then "
            "`mlgitops doctor` and `mlgitops render`."
        )
    return EXIT_OK
