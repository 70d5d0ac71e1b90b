"""The one default of every ``--base`` (plan, validate, compare): where a change goes.

1. In a pull-request job (``$GITHUB_BASE_REF`` set): ``origin/<base branch>``,
   the branch the pull request targets, as actions/checkout fetched it.
2. Elsewhere: ``origin/<default_branch>`` when this clone has it. The local
   default branch may be stale (it moves only when pulled), while Git's
   truth about what is deployed is what was last fetched from the remote.
3. Else ``<default_branch>`` (a repository without a remote).

``default_branch`` comes from ``mlgitops.yaml`` (default ``main``). What is deployed is the
default branch's to say: ``compare`` judges a pull request into another branch against
``origin/<default_branch>`` (:func:`deployed_base`).
docs/base.md states the same, and a test keeps the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mlgitops import proc
from mlgitops.errors import BadInput

REMOTE = "origin"


def default_base(root: Path, default_branch: str, env: Mapping[str, str] | None = None) -> str:
    """The base a command uses when ``--base`` is not given."""
    environ = os.environ if env is None else env
    pull_base = environ.get("GITHUB_BASE_REF")
    if pull_base:
        return unambiguous(root, f"{REMOTE}/{pull_base}")
    remote = f"{REMOTE}/{default_branch}"
    return unambiguous(root, remote if is_commit(root, remote) else default_branch)


def deployed_base(root: Path, default_branch: str, env: Mapping[str, str] | None = None) -> str:
    """The base whose records say what is deployed, which ``compare`` judges against: the
    default one, but ``origin/<default_branch>`` for a pull request into another branch
    (its verdict is its commit's status, which a pull request into the default branch may
    share; the branch it is into may record an older model, or none)."""
    environ = os.environ if env is None else env
    remote = f"{REMOTE}/{default_branch}"
    if into_another(default_branch, environ) and is_commit(root, remote):
        return unambiguous(root, remote)
    return default_base(root, default_branch, environ)


def into_another(default_branch: str, env: Mapping[str, str] | None = None) -> str | None:
    """The branch a pull request's job is into (``$GITHUB_BASE_REF``) where it is not
    ``default_branch``; None otherwise (into the default branch, or no pull request)."""
    into = (os.environ if env is None else env).get("GITHUB_BASE_REF")
    return into if into and into != default_branch else None


def is_commit(root: Path, ref: str) -> bool:
    found = proc.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root, check=False
    )
    return found.returncode == 0


def commit(root: Path, ref: str, named: str = "--base") -> str:
    """``ref`` when it names a commit in this clone; otherwise bad input that names it as
    ``named`` (the option it came from, or what chose it)."""
    if not is_commit(root, ref):
        raise BadInput(
            f"{named} {ref}: no such commit in {root} (a shallow checkout? fetch it first)"
        )
    return unambiguous(root, ref)


#: Where git looks for a short ref name, in its order (``git help revisions``): the first
#: that exists is what ``ref`` means to git.
_LOOKUPS = {
    "refs/{}": "ref",
    "refs/tags/{}": "tag",
    "refs/heads/{}": "branch",
    "refs/remotes/{}": "remote branch",
}


def unambiguous(root: Path, ref: str) -> str:
    """``ref``; BadInput where it names more than one ref. Git then reads the first (a tag
    before a branch), so a tag named ``origin/main``, which anyone who can push a tag can
    make and a checkout of every tag brings, would decide what a pull request is judged
    against, and which records say what is deployed."""
    named = [(form.format(ref), kind) for form, kind in _LOOKUPS.items()]
    listing = ["git", "for-each-ref", "--format=%(refname)", *(n for n, _ in named)]
    listed = proc.run(listing, cwd=root, check=False)  # outside a repository: no refs
    found = [(name, kind) for name, kind in named if name in listed.stdout.splitlines()]
    if len(found) < 2:
        return ref
    (read, kind), others = found[0], found[1:]
    advice = f"rename or delete {read}"
    if kind == "tag":
        advice = f"delete the tag (git tag -d {ref}, and git push {REMOTE} :{read} where "
        advice += "it was pushed)"
    meant = " or ".join(f"the {k} {n}" for n, k in others)
    raise BadInput(f"{ref} names the {kind} {read}, not {meant}: {advice}")


def same_commit(root: Path, ref: str, other: str = "HEAD") -> bool:
    """Whether ``ref`` and ``other`` name one commit."""
    a = proc.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=root, check=False)
    b = proc.git("rev-parse", "--verify", "--quiet", f"{other}^{{commit}}", cwd=root, check=False)
    return bool(a) and a == b


HELP = "(default: origin/$GITHUB_BASE_REF in a pull request, else origin/<default_branch>, else <default_branch>; docs/base.md)"
