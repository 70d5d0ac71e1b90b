"""What a repository using mlgitops must keep out of Git, and the check that it does.

``.mlgitops/`` holds each command's local results and, without a tracking
server, the local MLflow store: committed, it is overwritten or lost by the
next checkout or rebase (with whatever models it held). ``init`` and
``adopt`` write the ``.gitignore`` entry; every command warns when the folder
is tracked anyway.
"""

from __future__ import annotations

from pathlib import Path

from mlgitops import console, fsio, proc
from mlgitops.outputs import DEFAULT_DIR

#: The lines ``init`` and ``adopt`` add to ``.gitignore``.
GITIGNORE_LINES = (f"{DEFAULT_DIR}/",)
_GITIGNORE_COMMENT = "# mlgitops: local results and the local MLflow store (never committed)"


def gitignore(current: bytes | None) -> bytes:
    """``.gitignore`` with the mlgitops entries added (unchanged when they are there). The
    file's own bytes are kept as they are, whatever their encoding: git matches patterns
    byte for byte, and a pattern re-encoded would no longer match its file."""
    data = current or b""
    have = {line.strip() for line in data.splitlines()}
    missing = [
        line
        for line in GITIGNORE_LINES
        if line.encode() not in have and line.rstrip("/").encode() not in have
    ]
    if not missing:
        return data
    prefix = data if data.endswith(b"\n") or not data else data + b"\n"
    return prefix + ("\n".join([_GITIGNORE_COMMENT, *missing]) + "\n").encode("utf-8")


def gitignore_of(root: Path) -> bytes:
    return gitignore(fsio.read_bytes(root / ".gitignore"))


def tracked_outputs(root: Path) -> list[str]:
    """Files under ``.mlgitops/`` that Git tracks (none outside a Git work tree)."""
    if not (root / DEFAULT_DIR).exists():  # the common case costs no subprocess
        return []
    return proc.git_names("ls-files", "-z", "--", DEFAULT_DIR, cwd=root, check=False)


def tracked_warning(files: list[str]) -> str:
    return (
        f"{DEFAULT_DIR}/ is tracked by Git ({len(files)} file(s), e.g. {files[0]}): it holds "
        "local results and the local MLflow store, which a checkout or rebase overwrites; "
        f"run `git rm -r --cached {DEFAULT_DIR}` and add `{DEFAULT_DIR}/` to .gitignore "
        "(`mlgitops adopt` does)"
    )


def warn_if_tracked(root: Path) -> None:
    """Warn (stderr, or a workflow annotation in Actions) when ``.mlgitops/`` is in Git."""
    files = tracked_outputs(root)
    if not files:
        return
    text = tracked_warning(files)
    if console.in_actions():
        console.error_line(console.annotation("warning", text, title="mlgitops"))
    else:
        console.error_line(f"mlgitops: warning: {text}")
