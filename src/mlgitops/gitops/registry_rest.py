"""The model registry over MLflow's REST API (``requests`` only)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from mlgitops.errors import ServiceError
from mlgitops.gitops.registry import ModelVersion, version_of
from mlgitops.training.tracking import RunRecord
from mlgitops.training.tracking_rest import run_record
from mlgitops.training.tracking_session import reason, server

API = "/api/2.0/mlflow"
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_TIMEOUT = 30.0


class RegistryError(ServiceError):
    """An error answer of the registry, with MLflow's ``error_code``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class RestRegistry:
    """An MLflow tracking server's registry; every failure is a ServiceError naming the URI."""

    def __init__(
        self, uri: str, session: requests.Session, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._base, self.uri = server(uri, session)
        self._session = session
        self._sleep = sleep

    def get_run(self, run_id: str) -> RunRecord:
        return run_record(self._call("GET", "/runs/get", params={"run_id": run_id})["run"])

    def version_for_run(self, name: str, run_id: str) -> ModelVersion | None:
        query = {"filter": f"name = '{name}' and run_id = '{run_id}'"}
        found = self._call("GET", "/model-versions/search", params=query)
        versions = [version_of(v) for v in found.get("model_versions", [])]
        return max(versions, key=lambda v: int(v.version), default=None)

    def register(
        self, name: str, run_id: str, source: str, model_id: str | None, tags: Mapping[str, str]
    ) -> ModelVersion:
        try:
            self._call("POST", "/registered-models/create", json={"name": name})
        except RegistryError as exc:
            if exc.code != "RESOURCE_ALREADY_EXISTS":
                raise
        body: dict[str, Any] = {
            "name": name,
            "source": source,
            "run_id": run_id,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        if model_id:
            body["model_id"] = model_id
        return version_of(self._call("POST", "/model-versions/create", json=body)["model_version"])

    def has_model(self, name: str) -> bool:
        found = self._call("GET", "/registered-models/get", params={"name": name}, missing_ok=True)
        return found is not None

    def aliases(self, name: str) -> dict[str, str] | None:
        found = self._call("GET", "/registered-models/get", params={"name": name}, missing_ok=True)
        if found is None:
            return None
        model = found.get("registered_model") if isinstance(found, dict) else None
        listed = model.get("aliases", []) if isinstance(model, dict) else None
        pairs = [
            (a.get("alias"), a.get("version")) if isinstance(a, dict) else (None, None)
            for a in (listed if isinstance(listed, list) else [None])
        ]
        if any(None in pair for pair in pairs):
            raise ServiceError(
                f"MLflow registry {self.uri}: /registered-models/get answered aliases that are "
                f"not a list of alias and version ({str(found)[:200]})"
            )
        return {str(alias): str(version) for alias, version in pairs}

    def can_read(self) -> None:
        """Raise unless the registry answers a search with these credentials."""
        self._call("GET", "/registered-models/search", params={"max_results": 1})

    def can_write(self, probe: str) -> None:
        """Raise unless a registered model ``probe`` can be created (it is deleted again)."""
        self._call("POST", "/registered-models/create", json={"name": probe})
        self._call("DELETE", "/registered-models/delete", json={"name": probe})

    def get_version(self, name: str, version: str) -> ModelVersion | None:
        params = {"name": name, "version": version}
        found = self._call("GET", "/model-versions/get", params=params, missing_ok=True)
        return None if found is None else version_of(found["model_version"])

    def set_alias(self, name: str, alias: str, version: str) -> None:
        body = {"name": name, "alias": alias, "version": version}
        self._call("POST", "/registered-models/alias", json=body)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        body = {"name": name, "version": version, "key": key, "value": value}
        self._call("POST", "/model-versions/set-tag", json=body)

    def _call(self, method: str, endpoint: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        url = f"{self._base}{API}{endpoint}"
        for attempt in range(4):
            try:
                answer = self._session.request(method, url, timeout=_TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                raise ServiceError(
                    f"MLflow tracking server {self.uri} is unreachable ({reason(exc, _TIMEOUT)})"
                ) from exc
            if answer.status_code not in _RETRY_STATUS or attempt == 3:
                break
            self._sleep(float(answer.headers.get("Retry-After") or 2**attempt))
        return self._answer(answer, endpoint, missing_ok)

    def _answer(self, answer: requests.Response, endpoint: str, missing_ok: bool) -> Any:
        try:
            doc = answer.json()
        except ValueError as exc:
            raise ServiceError(
                f"{self.uri} does not look like an MLflow tracking server "
                f"({endpoint} answered {answer.status_code}, not JSON)"
            ) from exc
        if answer.status_code < 400:
            return doc
        code = str(doc.get("error_code", "")) if isinstance(doc, dict) else ""
        if missing_ok and code == "RESOURCE_DOES_NOT_EXIST":
            return None
        message = doc.get("message") if isinstance(doc, dict) else None
        raise RegistryError(
            f"MLflow registry {self.uri}: {endpoint} answered {answer.status_code} "
            f"({str(message or code or doc)[:300]})",
            code,
        )
