"""Files stored in Git LFS: which inputs are, and a pointer read where data was expected.

A checkout without LFS objects (``actions/checkout`` without ``lfs: true``, a
clone without ``git lfs``) holds a three-line pointer where the data should be.
``render`` asks git which of a pipeline's inputs ``.gitattributes`` stores in
LFS (``filter=lfs``), so the jobs that read them check out the objects; a
reader that finds a pointer anyway refuses it by name instead of validating
its three lines as a CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from mlgitops.errors import DataError

#: What a pointer file starts with (Git LFS specification, docs/spec.md).
POINTER = b"version https://git-lfs.github.com/spec/"
#: Where attributes that name LFS can come from within the repository.
_INFO_ATTRIBUTES = ".git/info/attributes"


def tracked(root: Path, paths: Sequence[str]) -> frozenset[str]:
    """Of the files at the repo-relative ``paths``, those the repository's attributes store
    in Git LFS; a folder (``model.code``) stands for the files git has or would add under
    it (tracked, or new and not ignored: what a clean checkout will hold).

    git itself matches the patterns (``git check-attr``), reading only the
    repository's own attribute files, so a developer's global attributes do
    not change what ``render`` writes. Without an attribute file that mentions
    ``lfs``, or outside a git repository, none is.
    """
    folders = [path for path in paths if (root / path).is_dir()]
    candidates = _attribute_files(paths)
    for folder in folders:
        candidates.update(
            p.relative_to(root).as_posix() for p in (root / folder).rglob(".gitattributes")
        )
    if not paths or not any(_mentions_lfs(root / name) for name in candidates):
        return frozenset()
    from mlgitops import proc
    from mlgitops.worktree import files_under

    # a file that never reaches a clean checkout, such as weights downloaded locally,
    # decides nothing; nor do a developer's own excludes
    listed = files_under(root, folders, own_excludes=False) or []
    files = [path for path in paths if path not in folders] + listed
    if not files:
        return frozenset()
    done = proc.run(
        ["git", "-c", "core.attributesFile=", "check-attr", "-z", "--stdin", "filter"],
        cwd=root,
        env={"GIT_ATTR_NOSYSTEM": "1"},
        input_text="".join(f"{name}\0" for name in files),
        check=False,
        lossless=True,
    )
    if done.returncode != 0:
        return frozenset()
    fields = done.stdout.split("\0")
    return frozenset(fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "lfs")


def _attribute_files(paths: Sequence[str]) -> set[str]:
    """The ``.gitattributes`` files that may hold a pattern for ``paths``, and git's own."""
    files = {_INFO_ATTRIBUTES}
    for path in paths:
        for folder in PurePosixPath(path).parents:
            files.add(str(folder / ".gitattributes"))
    return files


def _mentions_lfs(path: Path) -> bool:
    try:
        return b"lfs" in path.read_bytes()
    except OSError:  # no such file (the usual case), or not readable: no pattern from it
        return False


def local_object(root: Path, pointer: bytes) -> Path | None:
    """The object a Git LFS pointer names, where this clone's LFS store holds it (git lfs
    keeps each object at ``lfs/objects/<oid[:2]>/<oid[2:4]>/<oid>`` in git's own folder;
    a store moved elsewhere with ``lfs.storage`` is not looked at) and its bytes are the
    ones named (size and sha256); None otherwise."""
    from mlgitops import proc
    from mlgitops.training.content import sha256_file

    fields = _fields(pointer)
    oid = fields.get("oid", "").removeprefix("sha256:")
    size = fields.get("size", "")
    if len(oid) != 64 or not size.isdigit():
        return None
    found = proc.run(["git", "rev-parse", "--git-common-dir"], cwd=root, check=False)
    if found.returncode != 0:
        return None
    git_dir = root / found.stdout.strip()
    stored = git_dir / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    try:
        if stored.stat().st_size != int(size):
            return None
        return stored if sha256_file(stored) == oid else None
    except OSError:
        return None


def refuse_pointer(head: bytes, display: str) -> None:
    """A DataError when a file whose first bytes are ``head`` (1 KiB holds a whole pointer)
    is a Git LFS pointer instead of the data it points to."""
    if not head.startswith(POINTER):
        return
    fields = _fields(head)
    what = []
    if fields.get("oid", "").startswith("sha256:"):
        what.append(f"object {fields['oid'][:15]}…")
    if fields.get("size", "").isdigit():
        what.append(f"{int(fields['size']):,} bytes")
    described = f" ({', '.join(what)})" if what else ""
    raise DataError(
        f"{display} is a Git LFS pointer{described}, not the data: fetch the object first "
        "(git lfs pull; the workflows mlgitops render writes check out the LFS objects of "
        "the inputs .gitattributes stores in LFS)"
    )


def _fields(pointer: bytes) -> dict[str, str]:
    """A pointer's ``key value`` lines (``oid sha256:…``, ``size 2048``)."""
    lines = pointer.decode("utf-8", "replace").splitlines()
    return dict(line.split(" ", 1) for line in lines if " " in line)
