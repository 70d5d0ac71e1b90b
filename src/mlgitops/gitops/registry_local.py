"""The model registry of a store MLflow's client opens directly (``sqlite:///…``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgitops.errors import ServiceError, first_line
from mlgitops.gitops.registry import ModelVersion
from mlgitops.training.tracking import RunRecord
from mlgitops.training.tracking_local import run_record


class LocalRegistry:
    """``mlflow.MlflowClient`` behind the :class:`~mlgitops.gitops.registry.Registry` shape."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._client: Any = None

    def _do(self, what: str, fn: Any, *, missing_ok: bool = False) -> Any:
        try:
            if self._client is None:
                from mlflow import MlflowClient

                self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            return fn(self._client)
        except ServiceError:
            raise
        except ImportError:
            raise  # a missing extra: the CLI names the pip install
        except Exception as exc:
            if missing_ok and _code(exc) == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise ServiceError(
                f"MLflow registry {self.uri}: {what} failed ({first_line(exc)})"
            ) from exc

    def get_run(self, run_id: str) -> RunRecord:
        return run_record(self._do("get run", lambda c: c.get_run(run_id)))

    def version_for_run(self, name: str, run_id: str) -> ModelVersion | None:
        found = self._do(
            "search model versions",
            lambda c: c.search_model_versions(f"name = '{name}' and run_id = '{run_id}'"),
        )
        versions = [_version(v) for v in found or []]
        return max(versions, key=lambda v: int(v.version), default=None)

    def register(
        self, name: str, run_id: str, source: str, model_id: str | None, tags: Mapping[str, str]
    ) -> ModelVersion:
        def create(client: Any) -> Any:
            import mlflow

            try:
                client.create_registered_model(name)
            except ImportError:
                raise  # a missing extra: the CLI names the pip install
            except Exception as exc:
                if _code(exc) != "RESOURCE_ALREADY_EXISTS":
                    raise
            # MLflow's sqlite registry looks a ``models:/<id>`` source up through the
            # *global* tracking URI, not the client's: point it here for the call.
            previous = mlflow.get_tracking_uri()
            mlflow.set_tracking_uri(self.uri)
            try:
                return client.create_model_version(
                    name, source, run_id=run_id, tags=dict(tags), model_id=model_id
                )
            finally:
                mlflow.set_tracking_uri(previous)

        created = self._do("register model version", create)
        return _version(created)

    def has_model(self, name: str) -> bool:
        if self.uri.startswith("sqlite:///") and not Path(self.uri[len("sqlite:///") :]).exists():
            return False  # asking MLflow would create an empty store as a side effect
        found = self._do(
            "get registered model", lambda c: c.get_registered_model(name), missing_ok=True
        )
        return found is not None

    def aliases(self, name: str) -> dict[str, str] | None:
        if not self.has_model(name):
            return None
        found = self._do("get registered model", lambda c: c.get_registered_model(name))
        return {str(alias): str(version) for alias, version in (found.aliases or {}).items()}

    def get_version(self, name: str, version: str) -> ModelVersion | None:
        found = self._do(
            "get model version", lambda c: c.get_model_version(name, version), missing_ok=True
        )
        return None if found is None else _version(found)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._do("set alias", lambda c: c.set_registered_model_alias(name, alias, version))

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._do("set tag", lambda c: c.set_model_version_tag(name, version, key, value))


def _version(entity: Any) -> ModelVersion:
    return ModelVersion(
        name=str(entity.name),
        version=str(entity.version),
        run_id=str(entity.run_id or ""),
        source=str(entity.source or ""),
        status=str(entity.status or "READY"),
        tags={str(k): str(v) for k, v in (entity.tags or {}).items()},
    )


def _code(exc: Exception) -> str:
    return str(getattr(exc, "error_code", ""))
