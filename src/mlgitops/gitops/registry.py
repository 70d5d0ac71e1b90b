"""MLflow's model registry: register a reviewed run's model, move environment aliases.

Registered model name = pipeline name; alias per environment = the
environment's name. An ``http(s)://`` tracking URI is reached over MLflow's
REST API with ``requests`` (the deploy job needs no ``mlflow`` install); any
other URI (``sqlite:///…``) through ``mlflow.MlflowClient``, imported on use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlgitops.errors import CheckFailed, ServiceError
from mlgitops.training.tracking import RunRecord

_READY_WAIT_S = 300.0


#: Version tags deploy sets when it registers a version: the digests it checked.
MODEL_DIGEST_TAG = "mlgitops.model_digest"
TRAINING_ROWS_TAG = "mlgitops.training_rows_digest"
REFERENCE_TAG = "mlgitops.reference_digest"
#: Version tag ``<prefix><commit>`` = environment: a commit deploy, promote or rollback
#: made that records the version as deployed to that environment.
COMMIT_TAG = "mlgitops.commit."


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    source: str
    status: str = "READY"
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class Registry(Protocol):
    """The registry operations deploy, promote and rollback need."""

    uri: str

    def get_run(self, run_id: str) -> RunRecord:
        """The run with all its tags and metrics."""
        ...

    def version_for_run(self, name: str, run_id: str) -> ModelVersion | None:
        """The newest version of ``name`` registered from ``run_id``."""
        ...

    def register(
        self, name: str, run_id: str, source: str, model_id: str | None, tags: Mapping[str, str]
    ) -> ModelVersion:
        """A new version of ``name`` (created if missing) from the run's model."""
        ...

    def has_model(self, name: str) -> bool:
        """Whether the registered model ``name`` exists."""
        ...

    def get_version(self, name: str, version: str) -> ModelVersion | None: ...

    def aliases(self, name: str) -> dict[str, str] | None:
        """The aliases of the registered model ``name`` and the versions they point at
        (None: there is no such model)."""
        ...

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version`` (idempotent)."""
        ...

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set tag ``key`` of ``version`` to ``value`` (idempotent)."""
        ...


def ensure_version(
    registry: Registry,
    name: str,
    run_id: str,
    model_id: str,
    *,
    digests: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ModelVersion:
    """The READY version of ``name`` for ``run_id``, registering it once (idempotent).

    ``model_id`` is the logged model deploy checked (digest and re-score): the
    version is registered from exactly it, never from what a run tag names.
    ``digests``: tags the version carries (:data:`MODEL_DIGEST_TAG`,
    :data:`TRAINING_ROWS_TAG`, :data:`REFERENCE_TAG`), the digests deploy checked, which a record of the
    version in Git must repeat (a version registered without them gets them).
    """
    source = f"models:/{model_id}"
    wanted = {k: v for k, v in (digests or {}).items() if v}
    version = registry.version_for_run(name, run_id)
    if version is None:
        tags = {"mlgitops.run_id": run_id, **wanted}
        version = registry.register(name, run_id, source, model_id, tags)
    elif version.source != source:
        raise CheckFailed(
            f"MLflow registry {registry.uri}: model {name} version {version.version} of run "
            f"{run_id} was registered from {version.source}, not from the checked model "
            f"{source}; nothing deployed"
        )
    else:
        for key, value in wanted.items():
            if key not in version.tags:
                registry.set_version_tag(name, version.version, key, value)
            elif version.tags[key] != value:
                raise CheckFailed(
                    f"MLflow registry {registry.uri}: model {name} version {version.version} "
                    f"of run {run_id} was registered with {key} {version.tags[key]}, not "
                    f"{value}; nothing deployed"
                )
    deadline = clock() + _READY_WAIT_S
    while version.status == "PENDING_REGISTRATION" and clock() < deadline:
        sleep(1.0)
        version = registry.get_version(name, version.version) or version
    if version.status != "READY":
        raise ServiceError(
            f"MLflow registry {registry.uri}: model {name} version {version.version} is "
            f"{version.status}, not READY"
        )
    return version


def open_registry(uri: str, repo: Path, env: Mapping[str, str] | None = None) -> Registry:
    """A registry client for the tracking URI; nothing is contacted until the first call."""
    import os

    from mlgitops.training.tracking import is_http

    environ = os.environ if env is None else env
    if is_http(uri):
        from mlgitops.gitops.registry_rest import RestRegistry
        from mlgitops.training.tracking_session import session_for

        return RestRegistry(uri, session_for(environ))
    from mlgitops.gitops.registry_local import LocalRegistry

    return LocalRegistry(uri)


def version_of(doc: Mapping[str, Any]) -> ModelVersion:
    """A registry answer's model version (REST JSON or MLflow entity as a dict; its tags a
    list of ``{key, value}`` or a mapping)."""
    given = doc.get("tags") or {}
    if isinstance(given, list):
        pairs = [(t.get("key"), t.get("value")) for t in given if isinstance(t, Mapping)]
        given = {k: v for k, v in pairs if isinstance(k, str) and isinstance(v, str)}
    tags = {str(k): str(v) for k, v in given.items()} if isinstance(given, Mapping) else {}
    return ModelVersion(
        name=str(doc["name"]),
        version=str(doc["version"]),
        run_id=str(doc.get("run_id") or ""),
        source=str(doc.get("source") or ""),
        status=str(doc.get("status") or "READY"),
        tags=tags,
    )
