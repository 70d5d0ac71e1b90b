"""The one door for reading data over HTTP: a download with a timeout.

The caller passes the :class:`requests.Session`, so tests and callers choose
its transport, proxies and certificates; nothing here creates global state.
"""

from __future__ import annotations

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


def download(
    url: str, dest: Path, *, session: requests.Session, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Stream ``url`` into ``dest``; any failure is a DataError naming the URL."""
    import requests

    try:
        with session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code >= 400:
                reason = f" {response.reason}" if response.reason else ""
                raise DataError(f"{url}: the server answered HTTP {response.status_code}{reason}")
            with dest.open("wb") as handle:
                for block in response.iter_content(_BLOCK):
                    handle.write(block)
    except requests.Timeout as exc:
        raise DataError(f"{url}: no answer within {timeout:g}s (timed out)") from exc
    except requests.RequestException as exc:
        if "timed out" in str(exc):  # a stall while streaming the body
            raise DataError(f"{url}: no answer within {timeout:g}s (timed out)") from exc
        raise DataError(f"{url}: cannot download: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
