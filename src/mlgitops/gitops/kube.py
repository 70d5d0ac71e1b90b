"""Read an environment's Argo CD Application and Argo Rollouts Rollout from the cluster.

Through the ``kubernetes`` client (imported on use): the kubeconfig
(``--kubeconfig``, ``$KUBECONFIG``, ``~/.kube/config``; ``--context``), else
the in-cluster service account.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput, ServiceError

GROUP, VERSION = "argoproj.io", "v1alpha1"
_TIMEOUT_S = 15


@dataclass(frozen=True)
class ObjectRef:
    """A namespaced custom object: ``plural`` (applications, rollouts), namespace, name, of
    the API ``group``/``version`` (Argo's unless said: KServe's inferenceservices are
    ``serving.kserve.io``/``v1beta1``)."""

    plural: str
    namespace: str
    name: str
    group: str = GROUP
    version: str = VERSION

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def api_client(kubeconfig: Path | None, context: str | None) -> Any:
    """A configured ``kubernetes.client.ApiClient``."""
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig or _default_kubeconfig()
    try:
        if path is not None:
            _require_kubeconfig(path)
            return config.new_client_from_config(config_file=str(path), context=context)
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config()
            return client.ApiClient()
    # the library reads the file's YAML and walks it as a kubeconfig: a file that is none
    # (not YAML, or another shape) fails inside it with YAML's error or a type error
    except (ConfigException, OSError, ValueError, yaml.YAMLError, TypeError, AttributeError) as exc:
        raise BadInput(
            f"cannot use the Kubernetes configuration {path or 'in-cluster'}: {exc}"
        ) from exc
    raise BadInput(
        "no Kubernetes configuration: pass --kubeconfig, set $KUBECONFIG, or run in a cluster"
    )


#: What the library walks a kubeconfig as, said where a file is of another shape.
_SHAPE = "a kubeconfig is a mapping with clusters, contexts and users"


def _require_kubeconfig(path: Path) -> None:
    """A BadInput where ``path`` is not YAML (at its line and column), not a mapping, or
    holds its clusters, contexts or users other than as a list: the library walks any YAML as
    a kubeconfig and fails with a type error that names nothing."""
    import yaml

    from mlgitops import fsio

    shown = f"cannot use the Kubernetes configuration {path}"
    try:
        doc = yaml.safe_load(fsio.read_file(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise BadInput(f"{shown}{where}: not YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise BadInput(f"{shown}: not YAML: {exc}") from exc
    if doc is None:
        return  # empty: the library says what it lacks
    if not isinstance(doc, dict):
        held = "a list" if isinstance(doc, list) else "text" if isinstance(doc, str) else repr(doc)
        raise BadInput(f"{shown}: it holds {held}, and {_SHAPE}")
    for key in ("clusters", "contexts", "users"):
        entries = doc.get(key)
        if entries is not None and not (
            isinstance(entries, list) and all(isinstance(e, dict) for e in entries)
        ):
            raise BadInput(f"{shown}: {key}: expected a list of named entries, not {entries!r:.80}")


def _default_kubeconfig() -> Path | None:
    env = os.environ.get("KUBECONFIG")
    if env:
        return Path(env.split(os.pathsep)[0])
    home = Path.home() / ".kube" / "config"
    return home if home.is_file() else None


def get_object(client: Any, ref: ObjectRef) -> dict[str, Any] | None:
    """The object as a dict, or ``None`` when the API says it does not exist."""
    from kubernetes.client import CustomObjectsApi
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = CustomObjectsApi(client)
    host = client.configuration.host
    try:
        found = api.get_namespaced_custom_object(
            ref.group,
            ref.version,
            ref.namespace,
            ref.plural,
            ref.name,
            _request_timeout=_TIMEOUT_S,
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise ServiceError(
            f"Kubernetes API {host}: reading {ref.plural} {ref} answered {exc.status} "
            f"({exc.reason})"
        ) from exc
    except HTTPError as exc:
        raise ServiceError(f"Kubernetes API {host} is unreachable ({type(exc).__name__})") from exc
    except ValueError as exc:  # JSON cut short, or not JSON where it says it is
        raise ServiceError(
            f"Kubernetes API {host}: reading {ref.plural} {ref} answered no JSON ({exc})"
        ) from exc
    if not isinstance(found, dict):  # a page of another server, a proxy's
        raise ServiceError(
            f"Kubernetes API {host}: reading {ref.plural} {ref} answered no object (got "
            f"{type(found).__name__})"
        )
    return found
