"""MLflow tracking stores reached through MLflow's own client (sqlite, folders, ...).

``mlflow`` is imported on first use only.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlgitops.errors import ServiceError, first_line
from mlgitops.training import tracking_sqlite as fast_path
from mlgitops.training.mlmodel import ModelIdentity
from mlgitops.training.tracking import CONTENT_KEY_TAG, RunRecord


class LocalTracking:
    """A tracking store that MLflow's Python client opens directly."""

    def __init__(self, uri: str, artifact_root: Path) -> None:
        from mlgitops.masking import without_credentials

        self._uri = uri
        #: The store in messages and train.json: a database URI's password masked.
        self.uri = without_credentials(uri)
        self._artifact_root = artifact_root
        self._client: Any = None

    def _mlflow(self) -> Any:
        if self._client is None:
            db = self._db()
            if db is not None:
                try:
                    db.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise ServiceError(
                        f"MLflow tracking store {self.uri}: cannot create {db.parent} ({exc.strerror})"
                    ) from exc
            try:
                import logging

                from mlflow import MlflowClient

                for noisy in ("mlflow", "alembic"):
                    logging.getLogger(noisy).setLevel(logging.WARNING)

                self._client = MlflowClient(tracking_uri=self._uri)
                self._client.search_experiments(max_results=1)
            except ImportError as exc:
                if (exc.name or "mlflow").partition(".")[0] in ("mlflow", "sqlalchemy"):
                    raise  # a missing extra: the CLI names the pip install
                raise ServiceError(
                    f"MLflow tracking store {self.uri} needs the Python module {exc.name}, "
                    "which is not installed: install the database driver its URI names"
                ) from exc
            except Exception as exc:
                raise ServiceError(
                    f"MLflow tracking store {self.uri} cannot be opened ({first_line(exc)})"
                ) from exc
        return self._client

    def _do(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        client = self._mlflow()
        try:
            return fn(client, *args, **kwargs)
        except ImportError:
            raise  # a missing extra: the CLI names the pip install
        except Exception as exc:
            raise ServiceError(
                f"MLflow tracking store {self.uri}: {what} failed ({first_line(exc)})"
            ) from exc

    def _db(self) -> Path | None:
        """The database file of a ``sqlite:///`` URI (its driver's options left out)."""
        if not self._uri.startswith("sqlite:///"):
            return None
        return Path(self._uri.removeprefix("sqlite:///").partition("?")[0])

    def experiment(self, name: str, *, create: bool) -> str | None:
        db = self._db()
        if db is not None:
            try:
                fast = fast_path.experiment_id(db, name)
            except fast_path.Unavailable:
                fast = None
            if fast is not None or (not create and not db.is_file()):
                return fast
        found = self._do("get experiment", lambda c: c.get_experiment_by_name(name))
        if found is not None:
            return str(found.experiment_id)
        if not create:
            return None
        location = (self._artifact_root / name).as_uri()
        return str(
            self._do(
                "create experiment", lambda c: c.create_experiment(name, artifact_location=location)
            )
        )

    def find_run(self, experiment_id: str, content_key: str) -> RunRecord | None:
        db = self._db()
        if db is not None:
            try:
                return fast_path.find_run(db, experiment_id, content_key)
            except fast_path.Unavailable:
                pass
        query = f"tags.`{CONTENT_KEY_TAG}` = '{content_key}' and attributes.status = 'FINISHED'"
        runs = self._do(
            "search runs",
            lambda c: c.search_runs(
                [experiment_id], query, max_results=1, order_by=["attributes.start_time DESC"]
            ),
        )
        return run_record(runs[0]) if runs else None

    def search_runs(self, experiment_id: str, query: str, max_results: int) -> list[RunRecord]:
        runs = self._do(
            "search runs",
            lambda c: c.search_runs(
                [experiment_id],
                query,
                max_results=max_results,
                order_by=["attributes.start_time DESC"],
            ),
        )
        return [run_record(r) for r in runs]

    def create_run(self, experiment_id: str, name: str, tags: Mapping[str, str]) -> RunRecord:
        run = self._do(
            "create run", lambda c: c.create_run(experiment_id, tags=dict(tags), run_name=name)
        )
        return run_record(run)

    def log_batch(
        self,
        run_id: str,
        params: Mapping[str, str],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        batch = {
            "metrics": [Metric(k, v, now, 0) for k, v in metrics.items()],
            "params": [Param(k, str(v)) for k, v in params.items()],
            "tags": [RunTag(k, str(v)) for k, v in tags.items()],
        }
        self._do("log batch", lambda c: c.log_batch(run_id, **batch))

    def end_run(self, run_id: str, status: str) -> None:
        self._do("end run", lambda c: c.set_terminated(run_id, status=status))

    def upload(self, artifact_uri: str, local: Path, dest: str = "") -> None:
        repo = _repository(artifact_uri)
        if local.is_dir():
            self._do("upload artifacts", lambda c: repo.log_artifacts(str(local), dest or None))
        else:
            self._do("upload artifact", lambda c: repo.log_artifact(str(local), dest or None))

    def download(self, artifact_uri: str, path: str) -> bytes:
        try:
            return fast_path.read_artifact(artifact_uri, path)
        except fast_path.Unavailable:
            pass
        return bytes(artifact_transfer(self.uri, "GET", artifact_uri, path, None).content)

    def downloads(self, artifact_uri: str, paths: Sequence[str]) -> list[bytes]:
        return [self.download(artifact_uri, path) for path in paths]

    def create_model(
        self, experiment_id: str, run_id: str, name: str, params: Mapping[str, str]
    ) -> ModelIdentity:
        model = self._do(
            "create logged model",
            lambda c: c.create_logged_model(
                experiment_id, name=name, source_run_id=run_id, params=dict(params)
            ),
        )
        return ModelIdentity(
            model_id=model.model_id, artifact_uri=model.artifact_location, run_id=run_id
        )

    def finalize_model(self, model_id: str, *, ready: bool) -> None:
        from mlflow.entities import LoggedModelStatus

        status = LoggedModelStatus.READY if ready else LoggedModelStatus.FAILED
        self._do("finalize logged model", lambda c: c.finalize_logged_model(model_id, status))

    def link_model(self, run_id: str, model_id: str) -> None:
        from mlflow.entities import LoggedModelOutput

        self._do("log outputs", lambda c: c.log_outputs(run_id, [LoggedModelOutput(model_id, 0)]))


class _Downloaded:
    def __init__(self, content: bytes) -> None:
        self.content = content


def artifact_transfer(
    uri: str, method: str, artifact_uri: str, path: str, data: bytes | None
) -> Any:
    """Read or write one artifact file through MLflow's artifact repositories."""
    try:
        repo = _repository(artifact_uri)
        with tempfile.TemporaryDirectory() as tmp:
            if method == "GET":
                local = repo.download_artifacts(path, dst_path=tmp)
                return _Downloaded(Path(local).read_bytes())
            target = Path(tmp) / Path(path).name
            target.write_bytes(data or b"")
            parent = str(Path(path).parent)
            repo.log_artifact(str(target), None if parent == "." else parent)
            return _Downloaded(b"")
    except ServiceError:
        raise
    except ImportError:
        raise  # a missing extra: the CLI names the pip install
    except Exception as exc:
        raise ServiceError(
            f"MLflow tracking {uri}: artifact {path} at {artifact_uri} failed ({first_line(exc)})"
        ) from exc


def _repository(artifact_uri: str) -> Any:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri)


def run_record(run: Any) -> RunRecord:
    """A run as MLflow's client returns it."""
    info, data = run.info, run.data
    return RunRecord(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        status=info.status,
        artifact_uri=info.artifact_uri,
        tags=dict(data.tags),
        metrics={k: float(v) for k, v in data.metrics.items()},
        params=dict(data.params),
    )
