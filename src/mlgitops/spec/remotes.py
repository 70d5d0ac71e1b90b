"""What ``mlgitops.yaml`` names outside the repository, held to the rules of those who read
it: the Action every generated job calls (GitHub's names, a Git ref), the Git source
every Argo CD Application syncs (a URL and a revision Argo CD fetches) and the MLflow
tracking store the commands log to (a well-formed URI; the commands hold its scheme to
the stores MLflow has where they run)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.spec.positions import Key
from mlgitops.spec.repo_checks import REF_RULE, is_ref_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: A GitHub account's name: letters, digits and single hyphens between them.
_OWNER = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
#: A repository's name, or a folder's in an Action's path ('.' and '..' are none).
_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]+")

REF_FORM = f"a tag, branch or commit SHA as Git names them: {REF_RULE}"


def action_problem(action: str) -> str | None:
    """Why GitHub runs no Action at ``action`` (``owner/repo[/path]@ref``, or ``./path`` in
    the checked-out repository); None where it may."""
    if action.startswith("./"):
        parts = action[2:].split("/") if action != "./" else []
        if all(_NAME.fullmatch(part) for part in parts):
            return None
        return (
            f"{action!r}: an Action in this repository is ./ and its folder's names, without "
            "empty, '.' or '..' parts (it may not leave the repository)"
        )
    where, _, ref = action.rpartition("@")
    owner, _, rest = where.partition("/")
    repo, _, path = rest.partition("/")
    if not _OWNER.fullmatch(owner):
        return (
            f"{action!r}: {owner!r} is no GitHub account (letters, digits and single '-' "
            "between them)"
        )
    if not _NAME.fullmatch(repo):
        return f"{action!r}: {repo!r} is no GitHub repository (letters, digits, '.', '_', '-')"
    if path and not all(_NAME.fullmatch(part) for part in path.split("/")):
        return (
            f"{action!r}: the Action's path in {owner}/{repo} holds an empty, '.' or '..' part, "
            "which GitHub does not resolve"
        )
    if not is_ref_name(ref):
        return f"{action!r}: {ref!r} is no Git ref ({REF_FORM})"
    return None


#: The repository URLs Argo CD fetches: http(s) and ssh URLs, and scp-like ``git@host:path``.
_URL = re.compile(r"(?:https?|ssh)://[^\s/?#]+(?:[/?#]\S*)?")
_SCP = re.compile(r"[^\s/:@]+@[^\s/:@]+:[^\s@]+")


def repo_url_problem(url: str) -> str | None:
    """Why Argo CD fetches no Git repository at ``url``; None where it may."""
    from urllib.parse import urlsplit

    expected = (
        f"invalid value {url!r}: expected a Git URL Argo CD fetches, without spaces: https://, "
        "http://, ssh://, or scp-like git@host:path (https://github.com/my-org/my-models.git)"
    )
    if _SCP.fullmatch(url):
        return None
    if not _URL.fullmatch(url):
        return expected
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port that is no number, or past 65535, raises)
    except ValueError as exc:
        return f"invalid value {url!r}: no URL ({exc})"
    return None if parts.hostname else f"invalid value {url!r}: names no host"


#: Go's ``\s``, which Masterminds' semver reads around and between constraints.
_SPACE = "[\t\n\f\r ]"
#: A version in a constraint (Masterminds' semver v3: ``1``, ``1.2.x``, ``v1.2.3-rc.1``, ``*``).
_VERSION = (
    r"v?[0-9|xX*]+(?:\.[0-9|xX*]+)?(?:\.[0-9|xX*]+)?"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_OP = r"(?:=|!=|>|<|>=|=>|<=|=<|~|~>|\^)?"
_RANGE = re.compile(rf"{_SPACE}*({_VERSION}){_SPACE}+-{_SPACE}+({_VERSION}){_SPACE}*")
_CONSTRAINTS = re.compile(
    rf"{_SPACE}*{_OP}{_SPACE}*{_VERSION}{_SPACE}*"
    rf"(?:(?:{_SPACE}+|,{_SPACE}*){_OP}{_SPACE}*{_VERSION}{_SPACE}*)*"
)


def is_semver_constraint(text: str) -> bool:
    """Whether Argo CD reads ``text`` as a range of tags to take the newest of (``1.*``,
    ``>=1.2 <2``, ``^1.2 || ~2.0``), as Masterminds' semver parses constraints."""
    text = _RANGE.sub(r">= \1, <= \2", text)
    return all(_CONSTRAINTS.fullmatch(part) for part in text.split("||"))


def revision_problem(revision: str) -> str | None:
    """Why Argo CD resolves no commit from ``revision``; None where it may."""
    if not revision or is_ref_name(revision) or is_semver_constraint(revision):
        return None  # "" is HEAD to Argo CD
    return (
        f"invalid value {revision!r}: expected HEAD, {REF_FORM}; or a range of "
        "version tags such as 1.2.*"
    )


#: The schemes of the URIs MLflow's tracking store reads, besides a local path (no scheme):
#: those its store registry holds (``mlflow.tracking._tracking_service.utils``), less Unity
#: Catalog's (``databricks-uc``, ``uc``), whose store refuses to be a tracking store.
TRACKING_SCHEMES = ("file", "databricks", "http", "https", "postgresql", "mysql", "sqlite", "mssql")
#: The databases among them, whose scheme may add one driver (``postgresql+psycopg2``).
_DATABASES = ("postgresql", "mysql", "sqlite", "mssql")
#: Tracking URIs that MLflow reads as a scheme, where a URL parser sees a local path.
_BARE_SCHEMES = ("databricks", "databricks-uc", "uc")
#: The schemes of the tracking-store plugins MLflow itself names (``_resolve_custom_scheme``):
#: SageMaker's (``arn:aws:sagemaker:…``, the ``sagemaker-mlflow`` package) and Azure ML's
#: (``azureml://…``, ``azureml-mlflow``). MLflow reads them where the plugin is installed,
#: which a job that only loads ``mlgitops.yaml`` (render, validate) need not have.
PLUGIN_SCHEMES = ("arn", "azureml")
#: The entry-point group through which a package adds a tracking store to MLflow's.
_PLUGIN_GROUP = "mlflow.tracking_store"


def malformed_uri(uri: str) -> str | None:
    """Why no client can reach the tracking URI ``uri``; None where it is well-formed. A
    server's URI needs a host and a port that is a number; other schemes' parts are their
    store's to judge."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https"):
            parts.port  # noqa: B018  (reading it checks it)
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return None
    if not parts.hostname:
        return "it names no host"
    if any(c.isspace() for c in uri):
        return "it holds white space"
    return None


def tracking_uri_problem(uri: str) -> str | None:
    """Why MLflow's tracking store reads no runs from ``uri``: its scheme, picked as MLflow
    picks it (``mlflow.utils.uri.get_uri_scheme``), names no store; None where one does."""
    from urllib.parse import urlsplit

    try:
        scheme = uri if uri in _BARE_SCHEMES else urlsplit(uri).scheme
    except ValueError:  # a bad IPv6 host: the commands say where the URI is malformed
        return None
    store = "" if len(scheme) == 1 and scheme.isalpha() else scheme  # a drive, as MLflow has it
    if scheme.startswith(_DATABASES):
        engine, _, driver = scheme.partition("+")
        store = scheme if "+" in driver else engine
    if store == "" or store in TRACKING_SCHEMES or store in PLUGIN_SCHEMES:
        return None
    if store in installed_plugin_schemes():  # a store a plugin adds to MLflow's
        return None
    return (
        f"the scheme {scheme!r} is none MLflow's tracking store reads: expected a local path, "
        f"or a URI with the scheme {', '.join(TRACKING_SCHEMES[:-1])} or {TRACKING_SCHEMES[-1]} "
        "(a database's scheme may add its driver, as postgresql+psycopg2 does), or one an "
        f"installed MLflow plugin adds ({', '.join(PLUGIN_SCHEMES)}, …)"
    )


def installed_plugin_schemes() -> frozenset[str]:
    """The schemes installed packages add to MLflow's tracking store (entry points of
    ``mlflow.tracking_store``, which MLflow registers as it starts): read without importing
    MLflow, and only for a scheme MLflow does not read on its own."""
    from importlib.metadata import entry_points

    return frozenset(entry.name for entry in entry_points(group=_PLUGIN_GROUP))


def remote_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str]]:
    """``action``, ``argocd.repo_url``, ``argocd.revision`` and ``mlflow.tracking_uri``
    where they break their rules."""
    action = doc.get("action")
    if isinstance(action, str) and (message := action_problem(action)):
        yield ["action"], message
    argocd = doc.get("argocd")
    argocd = argocd if isinstance(argocd, dict) else {}
    for key, rule in (("repo_url", repo_url_problem), ("revision", revision_problem)):
        value = argocd.get(key)
        if isinstance(value, str) and (message := rule(value)):
            yield ["argocd", key], message
    mlflow = doc.get("mlflow")
    uri = mlflow.get("tracking_uri") if isinstance(mlflow, dict) else None
    # A scheme is the commands' to judge (tracking_uri_problem, with the plugins installed
    # where they run): a store a plugin adds is no spec problem where render runs without it.
    if isinstance(uri, str) and (malformed := malformed_uri(uri)):
        yield ["mlflow", "tracking_uri"], f"invalid value {uri!r}: it is malformed ({malformed})"
