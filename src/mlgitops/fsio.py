"""Files are written here and nowhere else: atomically, and only when changed."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from mlgitops.record import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import BinaryIO


@record
class Changes:
    """What a write did (or, in a dry run, would do), as repo-relative paths."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(sorted(self.created + self.updated))


class NotAFile(OSError):
    """A path that names a device, a pipe or a socket, where a file is read."""


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes; None where there is none (nor a device: a link to ``/dev/zero`` in
    a pull request would never end)."""
    try:
        return read_file(path)
    except (FileNotFoundError, NotADirectoryError, NotAFile):
        return None


def read_file(path: Path) -> bytes:
    """The bytes of the regular file at ``path`` (a link followed). Anything else is an
    OSError whose ``strerror`` says what it is: IsADirectoryError for a folder,
    :class:`NotAFile` for a device or pipe that a link in a pull request can name
    (``/dev/zero`` never ends; a pipe blocks until written)."""
    with open_regular(path) as handle:
        return handle.read()


def open_regular(path: Path) -> BinaryIO:
    """The regular file at ``path`` (a link followed), opened for reading; :func:`read_file`'s
    errors for anything else. Opened without waiting (a pipe would wait for a writer), then
    asked what it is, so that nothing can swap it between the two."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotAFile(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


#: Why a file of the repository that is a link out of it is not read.
OUTSIDE = "a link to a file outside the repository, which a pipeline does not read"


#: The most bytes one name of a path can hold (Linux's NAME_MAX, that of every common file
#: system): a longer one is no file, and asking for it fails (ENAMETOOLONG).
NAME_MAX = 255


def too_long(rel: str) -> str | None:
    """Why no file can have the repository path ``rel``: a name in it longer than
    :data:`NAME_MAX` bytes; None where each fits."""
    for part in rel.split("/"):
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            return (
                f"the name '{part[:24]}…' in it is {size:,} bytes long, and no file system "
                f"allows more than {NAME_MAX} in one name"
            )
    return None


def leaves(repo: Path, path: Path) -> bool:
    """Whether ``path``, named within ``repo``, is (or passes through) a link that leads out
    of it: a pull request can commit a link to any file of the machine that runs it."""
    return not path.resolve().is_relative_to(repo.resolve())


def plan_writes(root: Path, files: Mapping[str, bytes]) -> Changes:
    """Compare the wanted contents with the tree, without writing."""
    created, updated, unchanged = [], [], []
    for rel in sorted(files):
        current = read_bytes(root / rel)
        if current is None:
            created.append(rel)
        elif current != files[rel]:
            updated.append(rel)
        else:
            unchanged.append(rel)
    return Changes(tuple(created), tuple(updated), tuple(unchanged))


def write_atomic(path: Path, content: bytes) -> None:
    """Write one file through a temporary file and a rename."""
    import tempfile  # (with shutil and random: only commands that write need them)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree(root: Path, files: Mapping[str, bytes]) -> Changes:
    """Write every changed file, all or nothing.

    New contents are staged next to their targets first; only when every one
    is staged are they renamed into place. If a rename fails, the files
    already replaced are restored and the new ones removed.
    """
    import tempfile

    changes = plan_writes(root, files)
    staged: list[tuple[Path, str]] = []
    created_dirs: list[Path] = []
    try:
        for rel in changes.changed:
            target = root / rel
            created_dirs += _make_parents(target.parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(files[rel])
            os.chmod(tmp, 0o644)
            staged.append((target, tmp))
        _commit(root, staged, changes)
    except BaseException:
        for _, tmp in staged:
            Path(tmp).unlink(missing_ok=True)
        for folder in reversed(created_dirs):
            _remove_if_empty(folder)
        raise
    return changes


def _make_parents(folder: Path) -> list[Path]:
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def _commit(root: Path, staged: list[tuple[Path, str]], changes: Changes) -> None:
    originals = {root / rel: (root / rel).read_bytes() for rel in changes.updated}
    done: list[Path] = []
    try:
        for target, tmp in staged:
            os.replace(tmp, target)
            done.append(target)
    except BaseException:
        for target in done:
            if target in originals:
                write_atomic(target, originals[target])
            else:
                target.unlink(missing_ok=True)
        raise


def append_text(path: Path, text: str) -> None:
    """Append UTF-8 ``text`` to a file other steps append to too (``$GITHUB_STEP_SUMMARY``)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
