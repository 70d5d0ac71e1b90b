"""The one door for reading data over HTTP: a download with a timeout, once per command.

The caller may pass the :class:`requests.Session`, so tests and callers choose
its transport, proxies and certificates. A URL is fetched once in a command
(:func:`fetched`): the content key's hash of the data, the rows validated,
trained and scored, and the file a custom trainer is given are all of the same
bytes, however the server changes them meanwhile. The downloads go when the
command ends (:func:`forget`, which the CLI calls) and at the process's exit.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import DataError

if TYPE_CHECKING:
    import requests

#: Seconds to wait for the server to answer (connect, and between two reads).
DEFAULT_TIMEOUT = 30.0
_BLOCK = 1 << 20


def new_session() -> requests.Session:
    """A plain session with mlgitops's User-Agent."""
    import requests

    from mlgitops import __version__

    session = requests.Session()
    session.headers["User-Agent"] = f"mlgitops/{__version__}"
    return session


@dataclass(frozen=True)
class Fetched:
    """A URL's bytes as this command read them: the file, and its sha256."""

    path: Path
    sha256: str


#: This command's downloads, by URL, and the folder that holds them.
_FETCHED: dict[str, Fetched] = {}
_FOLDER: list[Path] = []
_LOCK = threading.Lock()


def fetched(
    url: str, *, session: requests.Session | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Fetched:
    """``url`` downloaded on its first reading in this command, the same file afterwards."""
    with _LOCK:
        found = _FETCHED.get(url)
        if found is None:
            if not _FOLDER:
                _FOLDER.append(Path(tempfile.mkdtemp(prefix="mlgitops-downloads-")))
            dest = _FOLDER[0] / f"{len(_FETCHED)}.download"
            try:
                digest = download(url, dest, session=session or new_session(), timeout=timeout)
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
            found = _FETCHED[url] = Fetched(dest, digest)
        return found


@atexit.register
def forget() -> None:
    """Drop this command's downloads (the CLI does at each command's end, and the
    interpreter at its exit): the next command reads each URL afresh."""
    with _LOCK:
        _FETCHED.clear()
        while _FOLDER:
            shutil.rmtree(_FOLDER.pop(), ignore_errors=True)


def download(
    url: str, dest: Path, *, session: requests.Session, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Stream ``url`` into ``dest``, and answer the sha256 of what it wrote; any failure is a
    DataError naming the URL."""
    import requests

    digest = hashlib.sha256()
    try:
        with session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code >= 400:
                reason = f" {response.reason}" if response.reason else ""
                raise DataError(f"{url}: the server answered HTTP {response.status_code}{reason}")
            kind = response.headers.get("Content-Type", "")
            with dest.open("wb") as handle:
                for block in response.iter_content(_BLOCK):
                    handle.write(block)
                    digest.update(block)
    except requests.Timeout as exc:
        raise DataError(f"{url}: no answer within {timeout:g}s (timed out)") from exc
    except requests.RequestException as exc:
        if "timed out" in str(exc):  # a stall while streaming the body
            raise DataError(f"{url}: no answer within {timeout:g}s (timed out)") from exc
        raise DataError(f"{url}: cannot download: {_reason(exc)}") from exc
    if _web_page(kind, dest):
        raise DataError(
            f"{url}: the server answered with a web page (Content-Type: {kind}), not the data "
            "file: a sign-in or error page? Give the URL of the file itself"
        )
    return digest.hexdigest()


def _web_page(kind: str, path: Path) -> bool:
    """Whether the server called what it sent HTML and it reads as such (it starts with a
    tag): a sign-in or error page answered with 200, not data a server mislabels."""
    media = kind.split(";")[0].strip().lower()
    if media not in ("text/html", "application/xhtml+xml"):
        return False
    with path.open("rb") as handle:
        start = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<")


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
