"""Commit an edit and push it, safe against others pushing at the same time.

An *edit* is a pure function from a snapshot of a base commit to the files it
wants changed and the commit message (or :class:`Unchanged`: already as wanted,
or superseded, with the reason). The
commit is built with git's plumbing (a private index, ``commit-tree``), so
the work tree is not touched until the push has landed. When the push is
rejected because someone else pushed first, the remote tip is fetched and
the same edit is applied to it afresh — re-applying the pure edit cannot
conflict the way a textual rebase can — up to ``attempts`` times. Pushes are
fast-forward only, so a failed publish leaves the remote exactly as it was. The
checkout's HEAD must be on the remote branch (fetched first): the commit is built on
it, so a checkout of a branch no one merged would push that branch's commits too.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from mlgitops import proc
from mlgitops.errors import BadInput, ServiceError

#: git's words for "your commit is not on top of the remote branch any more".
_RACE_MARKS = ("fetch first", "non-fast-forward", "cannot lock ref", "failed to update ref")
_BOT = {
    "GIT_AUTHOR_NAME": "mlgitops",
    "GIT_AUTHOR_EMAIL": "mlgitops@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "mlgitops",
    "GIT_COMMITTER_EMAIL": "mlgitops@users.noreply.github.com",
}


@dataclass(frozen=True)
class Snapshot:
    """The files of one commit, read-only."""

    root: Path
    commit: str

    def read(self, rel: str) -> str | None:
        """The text of a repo-relative file; ``None`` when the commit has no such file."""
        return proc.git_text(self.root, self.commit, rel)

    def blob_id(self, rel: str) -> str | None:
        """The git object id of a file (compares big files without reading them)."""
        found = proc.git(
            "rev-parse", "--verify", "--quiet", f"{self.commit}:./{rel}", cwd=self.root, check=False
        )
        return found or None


@dataclass(frozen=True)
class Change:
    """What an edit wants: new file contents and the commit message."""

    files: Mapping[str, str]
    message: str


@dataclass(frozen=True)
class Unchanged:
    """Nothing to commit, and why.

    ``settled``: the environment already is in the wanted state (``False``:
    the edit does not apply any more, e.g. superseded by a newer merge).
    """

    reason: str
    settled: bool = True
    #: the commit found in that state (filled in by :func:`publish`)
    at: str = ""


Edit = Callable[[Snapshot], "Change | Unchanged"]


@dataclass(frozen=True)
class Target:
    """Where a commit goes: ``remote`` (``None``: local only) and ``branch``."""

    branch: str
    remote: str | None = "origin"
    attempts: int = 5

    def describe(self) -> str:
        return f"{self.remote}/{self.branch}" if self.remote else "the local checkout"


@dataclass(frozen=True)
class Published:
    """A commit that landed: its sha, the change it made, and how many pushes it took."""

    sha: str
    change: Change
    attempts: int
    pushed: bool


def publish(
    root: Path,
    edit: Edit,
    target: Target,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Published | Unchanged:
    """Commit ``edit`` on the branch tip and push it; :class:`Unchanged` when nothing changes."""
    head = proc.head_commit(root)
    base = head
    if target.remote is not None:  # HEAD must be on the branch, or the push lands its commits
        _fetch(root, target, head)
    for attempt in range(1, target.attempts + 1):
        built = _build(root, base, edit)
        if isinstance(built, Unchanged):
            return replace(built, at=base)
        sha, change = built
        if attempt == 1:
            _check_clean(root, change)
        if target.remote is None:
            _fast_forward(root, sha)
            return Published(sha, change, attempt, pushed=False)
        refused = _push(root, target, sha)
        if refused is None:
            _fast_forward(root, sha, target.branch)
            return Published(sha, change, attempt, pushed=True)
        if attempt < target.attempts:
            sleep(min(2.0, 0.25 * attempt) * random.uniform(0.5, 1.5))
            base = _fetch(root, target, head)
    raise ServiceError(
        f"push to {target.describe()} was rejected {target.attempts} time(s) because others "
        f"pushed first ({refused}); gave up, nothing was pushed"
    )


def _build(root: Path, base: str, edit: Edit) -> tuple[str, Change] | Unchanged:
    """The commit that applies ``edit`` on ``base``, or why there is none."""
    snapshot = Snapshot(root, base)
    change = edit(snapshot)
    if isinstance(change, Unchanged):
        return change
    wanted = {rel: text for rel, text in change.files.items() if snapshot.read(rel) != text}
    if not wanted:
        return Unchanged("the files already hold these contents")
    with tempfile.TemporaryDirectory(prefix="mlgitops-commit-") as tmp:
        scratch = Path(tmp)
        tree = _tree(root, base, wanted, scratch)
        message = scratch / "message"
        message.write_text(change.message, "utf-8")
        sha = proc.git(
            "commit-tree", tree, "-p", base, "-F", str(message), cwd=root, env=_identity(root)
        )
    return sha, change


def _tree(root: Path, base: str, files: Mapping[str, str], scratch: Path) -> str:
    """The tree of ``base`` with ``files`` replaced, built in a private index."""
    paths = sorted(files)
    blobs = []
    for number, rel in enumerate(paths):
        blob = scratch / f"blob-{number}"
        blob.write_bytes(files[rel].encode("utf-8"))
        blobs.append(str(blob))
    shas = proc.git("hash-object", "-w", "--", *blobs, cwd=root).split()
    env = {"GIT_INDEX_FILE": str(scratch / "index")}
    proc.git("read-tree", base, cwd=root, env=env)
    for rel, sha in zip(paths, shas, strict=True):
        proc.git("update-index", "--add", "--cacheinfo", f"100644,{sha},{rel}", cwd=root, env=env)
    return proc.git("write-tree", cwd=root, env=env)


def _identity(root: Path) -> dict[str, str] | None:
    """A bot identity when git has none configured (a bare CI checkout)."""
    if os.environ.get("GIT_COMMITTER_EMAIL") or proc.git(
        "config", "user.email", cwd=root, check=False
    ):
        return None
    return _BOT


def _check_clean(root: Path, change: Change) -> None:
    dirty = proc.git("status", "--porcelain", "--", *sorted(change.files), cwd=root)
    if dirty:
        paths = ", ".join(line[3:] for line in dirty.splitlines())
        raise BadInput(f"uncommitted changes in {paths}; commit or discard them first")


def _push(root: Path, target: Target, sha: str) -> str | None:
    """Push ``sha`` to the branch; ``None`` when it landed, else the race reason."""
    answer = proc.run(
        ["git", "push", "--porcelain", str(target.remote), f"{sha}:refs/heads/{target.branch}"],
        cwd=root,
        check=False,
    )
    if answer.returncode == 0:
        return None
    said = f"{answer.stdout}\n{answer.stderr}"
    if any(mark in said for mark in _RACE_MARKS):
        return next(mark for mark in _RACE_MARKS if mark in said)
    raise ServiceError(
        f"push to {target.describe()} failed, nothing was pushed: "
        f"{_refusal(answer.stdout, answer.stderr)}"
    )


def _refusal(stdout: str, stderr: str) -> str:
    """git's reason for refusing a push, without its progress chatter."""
    reasons = [
        line.rsplit("\t", 1)[-1].strip() for line in stdout.splitlines() if line.startswith("!")
    ]
    told = [
        line.strip()
        for line in stderr.splitlines()
        if line.startswith(("remote:", "fatal:")) and line.strip() != "remote:"
    ]
    return "; ".join(reasons + told) or stderr.strip() or "no reason given"


def remote_tip(root: Path, target: Target) -> str:
    """The tip of ``target``'s branch on its remote, fetched now: by its full name, since
    git takes a tag of the same name (one anyone who can push a tag names so) over the
    branch."""
    answer = proc.run(
        [
            "git",
            "fetch",
            "--quiet",
            "--no-tags",
            str(target.remote),
            f"refs/heads/{target.branch}",
        ],
        cwd=root,
        check=False,
    )
    if answer.returncode != 0:
        raise ServiceError(
            f"fetch of {target.describe()} failed, nothing was pushed: "
            f"{_refusal(answer.stdout, answer.stderr)}"
        )
    return proc.git("rev-parse", "FETCH_HEAD", cwd=root)


def _fetch(root: Path, target: Target, head: str) -> str:
    """The remote branch's tip, fetched now; it must contain the commit the edit starts
    from, or the push would land that checkout's commits (a branch no one merged) there."""
    tip = remote_tip(root, target)
    contained = proc.run(
        ["git", "merge-base", "--is-ancestor", head, tip], cwd=root, check=False
    ).returncode
    if contained != 0:
        raise BadInput(
            f"HEAD {head[:12]} is not on {target.describe()}: pushing would land commits "
            f"there that were never merged; check out {target.branch} as it is on "
            f"{target.remote}, or use --no-push"
        )
    return tip


def _fast_forward(root: Path, sha: str, branch: str | None = None) -> None:
    """Bring the checkout (its branch, index and files) to the new commit.

    With ``branch``, only when the checkout is on that branch or detached: a
    deploy pushed from another branch leaves that branch alone.
    """
    current = proc.git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=root, check=False)
    if branch is not None and current and current != branch:
        return
    proc.git("merge", "--ff-only", "--quiet", sha, cwd=root)
