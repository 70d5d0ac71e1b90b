"""CSV files stored compressed: gzip, bzip2, xz, zstd, or a zip or tar archive of one file.

pandas reads ``data.csv.gz`` as the CSV inside (it infers the compression from
the name); so does pyarrow for gzip, bzip2 and zstd. Here the compression is
recognised by the file's first bytes, whatever its name (``git show`` writes the
base branch's data under a name of its own). The CSV inside is written once,
streamed, into the work folder and read from there like any CSV, so rows, lines
and every check are those of the CSV inside. A file that does not decompress
is a DataError naming it, and its partial copy is removed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mlgitops.errors import DataError, ServiceError

_CHUNK = 1 << 20
#: What each compression's stream starts with. bzip2's signature is followed by a block
#: size digit and a block magic, checked too: a CSV may well start with "BZh".
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an archive without members
)
_TAR_MAGIC_AT = 257  # "ustar" in a tar header block
#: What messages call each kind.
_NAMES = {"gzip": "gzip", "bz2": "bzip2", "xz": "xz", "zstd": "zstd", "zip": "zip", "tar": "tar"}


def kind_of(head: bytes) -> str | None:
    """The compression or archive that ``head`` (a file's first 512+ bytes) starts, or None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "bz2"
    if head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar":
        return "tar"
    return None


#: What pandas decompresses a file as, by the end of its name.
_SUFFIXES = {
    ".gz": "gzip",
    ".bz2": "bz2",
    ".xz": "xz",
    ".zst": "zstd",
    ".zip": "zip",
    ".tar": "tar",
}


def refuse_misnamed(path: Path, head: bytes, display: str) -> None:
    """A DataError where ``path``'s name says a compression (``.gz`` …) that its first bytes
    (``head``) are not: pandas decompresses by the name, and refuses such a file."""
    named = _SUFFIXES.get(path.suffix.lower())
    if named is not None and head and kind_of(head) is None:
        word = _NAMES[named]
        raise DataError(
            f"{display}: its name says {word} ({path.suffix}), but the file holds no {word} data"
        )


def decompressed(path: Path, head: bytes, display: str, workdir: Path) -> Path:
    """``path`` itself when it is not compressed, else a copy of the CSV inside it
    (``head``: the file's first bytes, at least 265)."""
    kind = kind_of(head)
    if kind is None:
        return path
    fd, name = tempfile.mkstemp(prefix="decompressed-", suffix=".csv", dir=workdir)
    target = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, _inside(kind, path, display) as source:
            _copy(source, out, kind, display, workdir)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _copy(source: IO[bytes], out: IO[bytes], kind: str, display: str, workdir: Path) -> None:
    while True:
        try:
            chunk = source.read(_CHUNK)
        except _broken_data() as exc:
            raise _broken(kind, display, exc) from exc
        if not chunk:
            return
        try:
            out.write(chunk)
        except OSError as exc:
            raise ServiceError(
                f"{display}: cannot write the decompressed CSV into {workdir}: {exc}"
            ) from exc


@functools.cache
def _broken_data() -> tuple[type[BaseException], ...]:
    """What reading data that does not decompress raises (imported only when needed)."""
    import lzma
    import tarfile
    import zipfile
    import zlib

    # gzip.BadGzipFile and pyarrow's ArrowIOError are OSErrors; ArrowInvalid a ValueError.
    # zipfile raises NotImplementedError for a compression method it lacks (AES, say) and
    # RuntimeError for an encrypted member.
    return (
        NotImplementedError,
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
        lzma.LZMAError,
        zlib.error,
        zipfile.BadZipFile,
        tarfile.TarError,
    )


def _broken(kind: str, display: str, exc: BaseException) -> DataError:
    why = str(exc) or type(exc).__name__
    return DataError(f"{display}: {_NAMES[kind]} data that does not decompress ({why})")


@contextlib.contextmanager
def _inside(kind: str, path: Path, display: str) -> Iterator[IO[bytes]]:
    """The decompressed bytes of ``path`` as a stream."""
    try:
        opened = _open(kind, path, display)
    except _broken_data() as exc:
        raise _broken(kind, display, exc) from exc
    with opened as stream:
        yield stream


def _open(kind: str, path: Path, display: str) -> Any:
    if kind == "zip":
        return _zip_member(path, display)
    if kind == "tar" or (kind != "zstd" and _is_tar(_stream(kind, path))):
        return _tar_member(path, display)  # data.csv.tar, or compressed: data.csv.tar.gz
    return _stream(kind, path)


def _stream(kind: str, path: Path) -> Any:
    """The decompressed bytes of a gzip, bzip2, xz or zstd file."""
    if kind == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if kind == "bz2":
        import bz2

        return bz2.open(path, "rb")
    if kind == "xz":
        import lzma

        return lzma.open(path, "rb")
    import pyarrow as pa

    return pa.input_stream(str(path), compression="zstd")


def _is_tar(stream: Any) -> bool:
    """Whether a decompressed stream is a tar archive (closes it)."""
    with stream:
        try:
            head = stream.read(_TAR_MAGIC_AT + 8)
        except _broken_data():
            return False  # read again by the copy, which says what is wrong
    return bool(head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar")


def _one(kind: str, display: str, names: list[str]) -> str:
    """The archive's only file, as pandas requires."""
    if len(names) == 1:
        return names[0]
    if not names:
        raise DataError(f"{display}: a {kind} archive holds no file; it must hold one CSV")
    listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    raise DataError(
        f"{display}: a {kind} archive holds {len(names)} files ({listed}); "
        "it must hold exactly one CSV"
    )


def _zip_member(path: Path, display: str) -> Any:
    import zipfile

    with contextlib.ExitStack() as opened:
        archive = opened.enter_context(zipfile.ZipFile(path))
        # Finder's zip archives add resource forks under __MACOSX/: not data.
        names = [
            info.filename
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        member = archive.open(_one("zip", display, names))
        opened.pop_all()  # the member is read after this returns; _Closing closes both
    return _Closing(member, archive)


def _tar_member(path: Path, display: str) -> Any:
    import tarfile

    with contextlib.ExitStack() as opened:
        archive = opened.enter_context(tarfile.open(path, "r:*"))
        files = [m for m in archive.getmembers() if m.isfile()]
        name = _one("tar", display, [m.name for m in files])
        member = archive.extractfile(next(m for m in files if m.name == name))
        assert member is not None  # a regular file always has contents
        opened.pop_all()
    return _Closing(member, archive)


class _Closing:
    """An archive member's stream that closes its archive with it."""

    def __init__(self, member: IO[bytes], archive: Any) -> None:
        self._member, self._archive = member, archive

    def read(self, size: int = -1) -> bytes:
        return self._member.read(size)

    def __enter__(self) -> _Closing:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._member.close()
        finally:
            self._archive.close()
