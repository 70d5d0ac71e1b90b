"""Access to MLflow tracking: one interface, two ways to reach it.

- an ``http(s)://`` tracking server: :class:`~mlgitops.training.tracking_rest.RestTracking`
  talks MLflow's REST API with ``requests`` (no ``import mlflow``, which
  costs over a second; the cache-hit path stays well under half a second);
- any other URI (``sqlite:///…``, a folder, ``databricks``):
  :class:`~mlgitops.training.tracking_local.LocalTracking` through
  ``mlflow.MlflowClient`` (imported when first needed).

Tracking URI: ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``, else
``mlgitops.yaml: mlflow.tracking_uri``, else ``sqlite:///<repo>/.mlgitops/mlflow.db``.
A relative path in a ``sqlite:///`` or ``file:`` URI is the repository's (``-C``), as
every path mlgitops reads, not the current folder's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from mlgitops import console
from mlgitops.errors import BadInput
from mlgitops.spec.remotes import malformed_uri, tracking_uri_problem
from mlgitops.spec.repo_config import RepoConfig
from mlgitops.training.mlmodel import ModelIdentity

#: The run tag that holds the content key; the cache looks runs up by it.
CONTENT_KEY_TAG = "mlgitops.content_key"
LOCAL_DB = ".mlgitops/mlflow.db"
LOCAL_ARTIFACTS = ".mlgitops/mlartifacts"


@dataclass(frozen=True)
class RunRecord:
    """The parts of an MLflow run that mlgitops reads back."""

    run_id: str
    experiment_id: str
    status: str
    artifact_uri: str
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


class Tracking(Protocol):
    """What ``train``, ``plan`` (and other stages) need from an MLflow tracking store."""

    uri: str

    def experiment(self, name: str, *, create: bool) -> str | None:
        """The id of the experiment ``name``; created when missing and ``create``."""
        ...

    def find_run(self, experiment_id: str, content_key: str) -> RunRecord | None:
        """The newest FINISHED, active run tagged with ``content_key``."""
        ...

    def search_runs(self, experiment_id: str, query: str, max_results: int) -> list[RunRecord]:
        """Active runs matching an MLflow filter ``query`` (any status), newest first."""
        ...

    def create_run(self, experiment_id: str, name: str, tags: Mapping[str, str]) -> RunRecord: ...

    def log_batch(
        self,
        run_id: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
    ) -> None: ...

    def end_run(self, run_id: str, status: str) -> None:
        """Mark a run FINISHED, FAILED or KILLED."""
        ...

    def upload(self, artifact_uri: str, local: Path, dest: str = "") -> None:
        """Upload a file, or a folder's files, under ``artifact_uri/dest``."""
        ...

    def download(self, artifact_uri: str, path: str) -> bytes: ...

    def downloads(self, artifact_uri: str, paths: Sequence[str]) -> list[bytes]:
        """Each of ``paths`` under ``artifact_uri`` (side by side where the store serves
        several at once)."""
        ...

    def create_model(
        self, experiment_id: str, run_id: str, name: str, params: Mapping[str, str]
    ) -> ModelIdentity:
        """A new MLflow logged model (PENDING) produced by ``run_id``."""
        ...

    def finalize_model(self, model_id: str, *, ready: bool) -> None: ...

    def link_model(self, run_id: str, model_id: str) -> None:
        """Record the model as the run's output."""
        ...


MISSING_IN_ACTIONS = (
    "no MLflow tracking URI: set the repository secret or variable MLFLOW_TRACKING_URI "
    "(Settings → Secrets and variables → Actions), or mlflow.tracking_uri in mlgitops.yaml; "
    "in GitHub Actions the local store would be thrown away with the runner"
)


def resolve_tracking_uri(
    repo: Path, option: str | None, config: RepoConfig, env: Mapping[str, str] | None = None
) -> str:
    """The tracking URI by precedence: option, environment, repo config, local default.

    The local default exists for trying things on a laptop: it is announced
    once on stderr, and in GitHub Actions (``GITHUB_ACTIONS=true``) it is an
    error, since a missing secret would otherwise train into the runner's
    throwaway store and leave deploy nothing to find.
    """
    environ = os.environ if env is None else env
    for given, chosen in (
        (_OPTION, option),
        (_ENVIRONMENT, environ.get("MLFLOW_TRACKING_URI")),
        (_CONFIG, config.tracking_uri),
    ):
        if chosen:
            return _usable(repo, chosen, given)
    if environ.get("GITHUB_ACTIONS") == "true":
        raise BadInput(MISSING_IN_ACTIONS)
    uri = local_uri(repo)
    console.notice_once(
        "mlgitops: no MLflow tracking URI set ($MLFLOW_TRACKING_URI, mlgitops.yaml "
        f"mlflow.tracking_uri or --tracking-uri): using the local store {uri}"
    )
    return uri


_OPTION, _ENVIRONMENT, _CONFIG = "--tracking-uri", "$MLFLOW_TRACKING_URI", "mlgitops.yaml"


def _usable(repo: Path, uri: str, given: str) -> str:
    """``uri`` with a relative store path made the repository's; a malformed one, or one of
    a scheme MLflow has no tracking store for, is refused, named where it was given."""
    why = malformed_uri(uri)
    if why is not None:
        why = f" is malformed ({why})"
    elif (unread := tracking_uri_problem(uri)) is not None:
        why = f": {unread}"
    else:
        anchored = _anchored(repo, uri)
        folder = _unopenable(anchored)
        if folder is None:
            return anchored
        why = f" names no store MLflow can open ({folder})"
    from mlgitops.masking import without_credentials

    place = _config_place(repo) if given == _CONFIG else given
    raise BadInput(f"{place}: MLflow tracking URI {without_credentials(uri)}{why}")


#: Why an in-memory SQLite store holds no run for a later stage to read.
IN_MEMORY = (
    "an in-memory database, which each of MLflow's connections opens empty and which is gone "
    "when the command ends: give a database file, as sqlite:///mlflow.db"
)


def _unopenable(uri: str) -> str | None:
    """Why a SQLite store cannot be a database file: in memory (``sqlite://``,
    ``sqlite:///:memory:``), or a folder, which MLflow would retry opening for a minute and a
    half; None for any other store."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.partition("+")[0] != "sqlite":
        return None
    path = rest.partition("?")[0].removeprefix("/")
    if path in ("", ":memory:"):
        return IN_MEMORY
    if not path.startswith("/"):
        return None
    store = Path(path)
    return f"{store} is a folder, not a database file" if store.is_dir() else None


def _anchored(repo: Path, uri: str) -> str:
    """A relative path in a ``sqlite:///`` or ``file:`` URI resolved against the repository,
    as :func:`local_uri` is; any other URI as it is."""
    if uri.startswith("sqlite:///"):
        path, mark, query = uri.removeprefix("sqlite:///").partition("?")
        if path and path != ":memory:" and not path.startswith("/"):
            return f"sqlite:///{(repo / path).resolve()}{mark}{query}"
        return uri
    parts = urlsplit(uri)
    if parts.scheme == "file" and not parts.netloc and parts.path[:1] not in ("", "/"):
        return (repo / unquote(parts.path)).resolve().as_uri()
    return uri


def _config_place(repo: Path) -> str:
    """``mlgitops.yaml:line:col: mlflow.tracking_uri``, at the value."""
    from mlgitops.spec import REPO_CONFIG
    from mlgitops.spec.loader import parse_yaml
    from mlgitops.spec.positions import locate

    line, col = 1, 1
    try:
        doc, _ = parse_yaml(REPO_CONFIG, (repo / REPO_CONFIG).read_text("utf-8"))
    except (OSError, UnicodeDecodeError):
        doc = None
    if doc is not None:
        line, col = locate(doc, ["mlflow", "tracking_uri"])
    return f"{REPO_CONFIG}:{line}:{col}: mlflow.tracking_uri"


def local_uri(repo: Path) -> str:
    """The fallback store of a repository: ``sqlite:///<repo>/.mlgitops/mlflow.db``."""
    return f"sqlite:///{(repo / LOCAL_DB).resolve()}"


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def open_tracking(uri: str, repo: Path, env: Mapping[str, str] | None = None) -> Tracking:
    """A client for ``uri``; nothing is contacted until the first call."""
    environ = os.environ if env is None else env
    if is_http(uri):
        from mlgitops.training.tracking_rest import RestTracking
        from mlgitops.training.tracking_session import session_for

        return RestTracking(uri, session_for(environ))
    from mlgitops.training.tracking_local import LocalTracking

    return LocalTracking(uri, artifact_root=(repo / LOCAL_ARTIFACTS).resolve())
