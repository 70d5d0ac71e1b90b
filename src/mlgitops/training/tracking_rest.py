"""MLflow's REST API over ``requests``: runs, logged models and proxied artifacts, in a
session of :mod:`mlgitops.training.tracking_session`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import requests

from mlgitops.errors import ServiceError
from mlgitops.training.mlmodel import ModelIdentity
from mlgitops.training.tracking import CONTENT_KEY_TAG, RunRecord
from mlgitops.training.tracking_session import TIMEOUT, reason, server

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
_RETRY_STATUS = frozenset({429, 502, 503, 504})
#: How much of a downloaded artifact is read at a time.
_PIECE = 1 << 20
#: How many artifact requests go side by side (each waits mostly on the server).
_SIDE_BY_SIDE = 4


class RestTracking:
    """A tracking server reached over HTTP; every failure is a ServiceError naming the URI."""

    def __init__(
        self, uri: str, session: requests.Session, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._base, self.uri = server(uri, session)
        self._session = session
        self._sleep = sleep

    # -- experiments and runs ---------------------------------------------------------
    def experiment(self, name: str, *, create: bool) -> str | None:
        found = self._call(
            "GET", "/experiments/get-by-name", params={"experiment_name": name}, missing_ok=True
        )
        if found is not None:
            return str(found["experiment"]["experiment_id"])
        if not create:
            return None
        return str(self._call("POST", "/experiments/create", json={"name": name})["experiment_id"])

    def run(self, run_id: str) -> RunRecord | None:
        """The run, or None where the server holds none of that id."""
        found = self._call("GET", "/runs/get", params={"run_id": run_id}, missing_ok=True)
        return None if found is None else run_record(found["run"])

    def find_run(self, experiment_id: str, content_key: str) -> RunRecord | None:
        query = {
            "experiment_ids": [experiment_id],
            "filter": f"tags.`{CONTENT_KEY_TAG}` = '{content_key}' and attributes.status = 'FINISHED'",
            "run_view_type": "ACTIVE_ONLY",
            "max_results": 1,
            "order_by": ["attributes.start_time DESC"],
        }
        runs = self._call("POST", "/runs/search", json=query).get("runs", [])
        return run_record(runs[0]) if runs else None

    def search_runs(self, experiment_id: str, query: str, max_results: int) -> list[RunRecord]:
        body = {
            "experiment_ids": [experiment_id],
            "filter": query,
            "run_view_type": "ACTIVE_ONLY",
            "max_results": max_results,
            "order_by": ["attributes.start_time DESC"],
        }
        return [
            run_record(r) for r in self._call("POST", "/runs/search", json=body).get("runs", [])
        ]

    def create_run(self, experiment_id: str, name: str, tags: Mapping[str, str]) -> RunRecord:
        body = {
            "experiment_id": experiment_id,
            "run_name": name,
            "start_time": int(time.time() * 1000),
            "tags": _pairs(tags),
        }
        return run_record(self._call("POST", "/runs/create", json=body)["run"])

    def log_batch(
        self,
        run_id: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
    ) -> None:
        now = int(time.time() * 1000)
        metric_rows = [
            {"key": k, "value": _metric_value(v), "timestamp": now, "step": 0}
            for k, v in metrics.items()
        ]
        body = {
            "run_id": run_id,
            "params": _pairs(params),
            "metrics": metric_rows,
            "tags": _pairs(tags),
        }
        self._call("POST", "/runs/log-batch", json=body)

    def end_run(self, run_id: str, status: str) -> None:
        body = {"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)}
        self._call("POST", "/runs/update", json=body)

    # -- logged models ------------------------------------------------------------------
    def create_model(
        self, experiment_id: str, run_id: str, name: str, params: Mapping[str, str]
    ) -> ModelIdentity:
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": run_id,
            "params": _pairs(params),
        }
        info = self._call("POST", "/logged-models", json=body)["model"]["info"]
        return ModelIdentity(
            model_id=info["model_id"], artifact_uri=info["artifact_uri"], run_id=run_id
        )

    def finalize_model(self, model_id: str, *, ready: bool) -> None:
        status = "LOGGED_MODEL_READY" if ready else "LOGGED_MODEL_UPLOAD_FAILED"
        self._call(
            "PATCH", f"/logged-models/{model_id}", json={"model_id": model_id, "status": status}
        )

    def link_model(self, run_id: str, model_id: str) -> None:
        self._call(
            "POST",
            "/runs/outputs",
            json={"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]},
        )

    # -- artifacts ------------------------------------------------------------------------
    def upload(self, artifact_uri: str, local: Path, dest: str = "") -> None:
        files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]

        def put(path: Path) -> None:
            rel = path.relative_to(local).as_posix() if local.is_dir() else path.name
            target = "/".join(p for p in (dest, rel) if p)
            self._artifact("PUT", artifact_uri, target, data=path.read_bytes())

        # Small files, one request each: send them side by side.
        with ThreadPoolExecutor(max_workers=_SIDE_BY_SIDE) as pool:
            list(pool.map(put, files))

    def download(self, artifact_uri: str, path: str) -> bytes:
        answer = self._artifact("GET", artifact_uri, path)
        if not isinstance(answer, requests.Response):
            return bytes(answer.content)
        try:  # read in large pieces, not requests' 10 KB
            return b"".join(answer.iter_content(_PIECE))
        except requests.RequestException as exc:
            raise ServiceError(
                f"MLflow tracking server {self.uri}: artifact {path} broke off mid-file "
                f"({type(exc).__name__})"
            ) from exc
        finally:
            answer.close()

    def downloads(self, artifact_uri: str, paths: Sequence[str]) -> list[bytes]:
        # Each request waits mostly on the server: send them side by side, as uploads are.
        with ThreadPoolExecutor(max_workers=_SIDE_BY_SIDE) as pool:
            return list(pool.map(lambda path: self.download(artifact_uri, path), paths))

    def _artifact(
        self, method: str, artifact_uri: str, path: str, data: bytes | None = None
    ) -> Any:
        parsed = urlparse(artifact_uri)
        if parsed.scheme != "mlflow-artifacts":
            return self._foreign(method, artifact_uri, path, data)
        url = f"{self._base}{ARTIFACTS_API}/{quote(parsed.path.lstrip('/'))}/{quote(path)}"
        return self._send(method, url, f"artifact {path}", data=data, stream=method == "GET")

    def _foreign(self, method: str, artifact_uri: str, path: str, data: bytes | None) -> Any:
        """Artifacts the server does not proxy (s3://, gs://, ...): MLflow's own stores."""
        from mlgitops.training.tracking_local import artifact_transfer

        return artifact_transfer(self.uri, method, artifact_uri, path, data)

    # -- transport -----------------------------------------------------------------------
    def _call(self, method: str, endpoint: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        answer = self._send(
            method, f"{self._base}{API}{endpoint}", endpoint, missing_ok=missing_ok, **kwargs
        )
        if answer is None:
            return None
        try:
            return answer.json()
        except ValueError as exc:
            raise ServiceError(
                f"{self.uri} does not look like an MLflow tracking server ({endpoint} answered non-JSON)"
            ) from exc

    def _send(
        self, method: str, url: str, what: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> Any:
        for attempt in range(4):
            try:
                answer = self._session.request(method, url, timeout=TIMEOUT, **kwargs)
            except requests.RequestException as exc:
                raise ServiceError(
                    f"MLflow tracking server {self.uri} is unreachable ({reason(exc)})"
                ) from exc
            if answer.status_code in _RETRY_STATUS and attempt < 3:
                answer.close()  # (a streamed answer holds its connection until closed)
                self._sleep(float(answer.headers.get("Retry-After") or 2**attempt))
                continue
            break
        if answer.status_code >= 400 and not _read(answer):
            raise ServiceError(
                f"MLflow tracking server {self.uri}: {what} answered {answer.status_code}, "
                "and its answer broke off"
            )
        if (
            answer.status_code == 404
            and missing_ok
            and _error_code(answer) == "RESOURCE_DOES_NOT_EXIST"
        ):
            return None
        if answer.status_code >= 400 and not _error_code(answer):
            raise ServiceError(
                f"{self.uri} does not look like an MLflow tracking server "
                f"({what} answered HTTP {answer.status_code} without an MLflow error)"
            )
        if answer.status_code >= 400:
            raise ServiceError(
                f"MLflow tracking server {self.uri}: {what} answered {answer.status_code} ({_message(answer)})"
            )
        return answer


def run_record(run: dict[str, Any]) -> RunRecord:
    """A run as MLflow's REST API returns it (``runs/get``, ``runs/search``)."""
    info, data = run["info"], run.get("data", {})
    return RunRecord(
        run_id=info["run_id"],
        experiment_id=str(info["experiment_id"]),
        status=info["status"],
        artifact_uri=info.get("artifact_uri", ""),
        tags={t["key"]: t["value"] for t in data.get("tags", [])},
        metrics={m["key"]: float(m["value"]) for m in data.get("metrics", [])},
        params={p["key"]: p["value"] for p in data.get("params", [])},
    )


def _pairs(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": str(v)} for k, v in values.items()]


def _error_code(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("error_code", ""))
    except ValueError:
        return ""


def _message(answer: requests.Response) -> str:
    try:
        doc = answer.json()
        return str(doc.get("message") or doc.get("error_code") or doc)[:300]
    except ValueError:
        return (answer.text or answer.reason or "no body").strip()[:200]


def _read(answer: requests.Response) -> bool:
    """Whether the whole of ``answer``'s body could be read (a streamed one is read here)."""
    try:
        answer.content  # noqa: B018  (reading it is the point)
    except requests.RequestException:
        answer.close()
        return False
    return True


def _metric_value(value: float) -> float | str:
    """A metric value as MLflow's own client writes it in JSON (protobuf's JSON mapping):
    a finite number as itself, NaN and the infinities as ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"`` (JSON has no such numbers)."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number
