"""MLflow's client settings from the environment (TLS, progress bars), read as MLflow's
client reads them and refused where it would refuse them, with the variable's name and exit 2.

MLflow's own client raises ``ValueError`` on a boolean it cannot read, from deep inside
whatever call first reaches the server; mlgitops' REST client reads the same variables
here, and the commands that reach MLflow check them first (:data:`mlgitops.cli`), so that
neither shows the user a traceback. Imports nothing heavy: the CLI calls it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from mlgitops.errors import BadInput

INSECURE = "MLFLOW_TRACKING_INSECURE_TLS"
SERVER_CERT = "MLFLOW_TRACKING_SERVER_CERT_PATH"
CLIENT_CERT = "MLFLOW_TRACKING_CLIENT_CERT_PATH"
#: Whether MLflow draws a progress bar (tqdm's, where tqdm is installed) for each artifact
#: download and upload, on stderr whatever stderr is.
PROGRESS_BARS = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
#: requests' own CA bundle variables, the first set of which it verifies with otherwise.
_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def tls_settings(env: Mapping[str, str]) -> tuple[bool | str, str | None]:
    """requests' ``verify`` and ``cert`` for the tracking server: the CA bundle that
    verifies it (``MLFLOW_TRACKING_SERVER_CERT_PATH``), else False where verification is
    off (``MLFLOW_TRACKING_INSECURE_TLS``: true, false, 1 or 0, any case), else True; and
    the client's certificate (``MLFLOW_TRACKING_CLIENT_CERT_PATH``). BadInput where they
    contradict each other or name a file that is not there, as also where requests' own CA
    bundle variable, the one it verifies with otherwise, does (read from the process's
    environment, as requests reads it)."""
    insecure = _flag(env, INSECURE)
    server_cert = _file(env, SERVER_CERT, folder=True)
    if insecure and server_cert is not None:
        raise BadInput(
            f"{INSECURE} is true and {SERVER_CERT} is set: "
            "the server's certificate is either not verified or verified with that CA bundle; "
            "unset one of them"
        )
    verify: bool | str = True
    if server_cert is not None:
        verify = server_cert
    elif insecure:
        verify = False
    else:
        bundle = next((name for name in _BUNDLES if os.environ.get(name)), None)
        if bundle is not None:
            _file(os.environ, bundle, folder=True)
    return verify, _file(env, CLIENT_CERT, folder=False)


@contextmanager
def progress_bars(env: MutableMapping[str, str], drawn: bool) -> Iterator[None]:
    """MLflow's artifact progress bars ``drawn`` or not for the block (the console's rule:
    on a terminal, not in a log or a captured stream, where each bar is lines of carriage
    returns), unless the user chose (:data:`PROGRESS_BARS`); a choice MLflow could not read
    is refused."""
    if PROGRESS_BARS in env:
        _flag(env, PROGRESS_BARS)
        yield
        return
    env[PROGRESS_BARS] = "true" if drawn else "false"
    try:
        yield
    finally:
        env.pop(PROGRESS_BARS, None)


def _flag(env: Mapping[str, str], name: str) -> bool:
    """A boolean variable as MLflow's client reads it: true or 1, false or 0, in any case;
    unset is false, anything else (an empty value too) is refused."""
    if name not in env:
        return False
    value = env[name].lower()
    if value not in ("true", "1", "false", "0"):
        raise BadInput(f"{name}={env[name]!r}: expected true or false (or 1 or 0)")
    return value in ("true", "1")


def _file(env: Mapping[str, str], name: str, *, folder: bool) -> str | None:
    """The path a variable names, or None where it is unset or empty; ``folder``: a folder
    will do (a CA bundle may be a folder of certificates)."""
    value = env.get(name)
    if not value:
        return None
    path = Path(value)
    try:
        usable = path.is_file() or (folder and path.is_dir())
        there = usable or path.exists()
    except OSError as exc:  # a name too long, a folder that may not be searched
        raise BadInput(f"{name}: {value} cannot be read ({exc.strerror})") from exc
    if not usable:
        raise BadInput(f"{name}: {value} {'is not a file' if there else 'does not exist'}")
    return value
