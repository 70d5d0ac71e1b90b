"""Reading pipeline data: CSV or Parquet, from the repository or an https URL.

Readers are a :class:`Reader` protocol plus a registry keyed by format.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops import fsio, lfs
from mlgitops.data.base import ConversionFailed, Reader
from mlgitops.data.csv import CsvReader
from mlgitops.data.parquet import ParquetReader
from mlgitops.errors import DataError
from mlgitops.spec.model import is_url

if TYPE_CHECKING:
    import requests

#: format -> reader class, each built as ``cls(path, display, annotate_file)``.
READERS: dict[str, Callable[[Path, str, str | None], Reader]] = {
    "csv": CsvReader,
    "parquet": ParquetReader,
}


def file_format(location: str, explicit: str | None = None) -> str:
    """``csv`` or ``parquet``: the explicit format, else the file extension."""
    if explicit:
        return explicit
    path = location.lower().split("?", 1)[0]
    return "parquet" if path.endswith((".parquet", ".pq")) else "csv"


def open_data(
    repo: Path,
    location: str,
    *,
    fmt: str | None,
    workdir: Path,
    session: requests.Session | None = None,
    timeout: float | None = None,
) -> Reader:
    """A reader for ``location``: a repo-relative (or absolute) path, or a URL.

    A URL is downloaded first (streamed to disk, never held in memory), once in a
    command: :func:`mlgitops.data.http.fetched`.
    """
    form = file_format(location, fmt)
    kind = READERS[form]
    if is_url(location):
        from mlgitops.data import http

        got = http.fetched(location, session=session, timeout=timeout or http.DEFAULT_TIMEOUT)
        return kind(_plain(form, got.path, location, workdir), location, None)
    named = not Path(location).is_absolute()  # a file of the repository, not a command's
    path = repo / location if named else Path(location)
    if not path.is_file():
        what = "is not a file" if path.exists() else "no such file"
        raise DataError(f"{location}: {what}")
    if named and fsio.leaves(repo, path):
        raise DataError(f"{location}: {fsio.OUTSIDE}")
    plain = _plain(form, path, location, workdir, named=True)
    return kind(plain, location, _in_repo(repo, path))


def _plain(form: str, path: Path, display: str, workdir: Path, *, named: bool = False) -> Path:
    """The data file itself, or the CSV inside a compressed file or archive (written to
    ``workdir``); a DataError for a Git LFS pointer where the data should be, and
    (``named``: a file of the repository, named as written) for one named as compressed
    that is not."""
    with path.open("rb") as handle:
        head = handle.read(1024)  # what the checks look at
    lfs.refuse_pointer(head, display)
    if form != "csv":
        return path
    from mlgitops.data.compressed import decompressed, refuse_misnamed

    if named:
        refuse_misnamed(path, head, display)
    return decompressed(path, head, display, workdir)


def _in_repo(repo: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return None


__all__ = ["READERS", "ConversionFailed", "Reader", "file_format", "open_data"]
