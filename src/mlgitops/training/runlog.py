"""What a fresh run logs to MLflow once its model is fitted, and in which order.

The order keeps the cache honest: only a FINISHED run is ever reused, and a
run is marked FINISHED last, after its parameters and metrics, its model
(READY and linked as the run's output) and every hand-off file are logged.
The files that the split alone decides are logged while the model fits
(:func:`log_split_files`). After the fit, requests that do not depend on each
other go side by side to an HTTP tracking server: each is a round trip that
waits on the server. A local store (MLflow's client on a sqlite file, in this
process) takes them one after another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlgitops import console
from mlgitops.digest import training_rows_digest
from mlgitops.frames import frame_bytes
from mlgitops.outputs import REFERENCE
from mlgitops.results import TrainResult
from mlgitops.training import budget, gpu, handoff
from mlgitops.training.tracking import RunRecord, Tracking, is_http

if TYPE_CHECKING:
    from mlgitops.spec.model import Pipeline
    from mlgitops.training.data import Split
    from mlgitops.training.run import Inputs

MODEL_NAME = "model"
_T = TypeVar("_T")


def log_fitted(
    tracking: Tracking,
    run: Any,
    experiment_id: str,
    inputs: Inputs,
    job: Any,
    fitted: Any,
    facts: Any,
    started: float,
    usage: gpu.Usage,
    split_files: handoff.SplitFiles,
) -> tuple[TrainResult, dict[str, bytes]]:
    """Score the holdout predictions, log everything, mark the run FINISHED."""
    from mlgitops.evaluation.pointscore import point_scores

    pipeline, split = inputs.pipeline, job.split
    predictions = handoff.predictions_frame(split.holdout, split.target, fitted.predictions)
    what = f"the predictions of `{pipeline.model.command or pipeline.model.estimator}`"
    scored = point_scores(pipeline.task, pipeline.metrics, fitted.classes or (), predictions, what)
    metrics = {**fitted.metrics, **scored}
    params = {**params_of(pipeline, split), **fitted.params}
    with console.group(f"log run {run.run_id} to {tracking.uri}"), _alongside(tracking) as pool:
        spent = {budget.METRIC: usage.budget_seconds, **usage_metrics(usage)}
        logged = pool.submit(tracking.log_batch, run.run_id, params, {**metrics, **spent}, {})
        data = handoff.data_files(split_files, frame_bytes(predictions))
        scored_rows = job.workdir / "predictions.parquet"  # the split's are on the run already
        scored_rows.write_bytes(data["predictions.parquet"])
        uploaded = pool.submit(tracking.upload, run.artifact_uri, scored_rows, handoff.ARTIFACT_DIR)
        identity, digest = _log_model(tracking, experiment_id, run.run_id, job, fitted, pool)
        duration = round(time.perf_counter() - started, 3)
        result = _result(
            tracking.uri, run.run_id, experiment_id, inputs, job, fitted, facts, usage, metrics
        )
        result = replace(
            result,
            model_uri=f"models:/{identity.model_id}",
            model_digest=digest,
            training_rows_digest=training_rows_digest(
                split_files.rows, result.fingerprint_columns, result.target
            ),
            duration_s=duration,
        )
        files = handoff.files_for(result, data)
        summary = job.workdir / "train.json"  # last: it names the logged model
        summary.write_bytes(files["train.json"])
        summarised = pool.submit(tracking.upload, run.artifact_uri, summary, handoff.ARTIFACT_DIR)
        tracking.log_batch(
            run.run_id,
            {},
            {"mlgitops.runner_seconds": duration},
            {"mlgitops.model_id": identity.model_id},
        )
        for request in (logged, uploaded, summarised):
            request.result()
        tracking.end_run(run.run_id, "FINISHED")
    return result, files


def log_split_files(
    tracking: Tracking,
    run: Future[RunRecord],
    split: Split,
    data_path: str,
    data_hash: str,
    workdir: Path,
) -> handoff.SplitFiles:
    """The hand-off files that the split alone decides, logged on the run once it exists.

    Meant for a worker thread while the model fits: the data is known, the run
    is being created, and a failure surfaces when the result is asked for.
    """
    prepared = handoff.split_files(split, data_path, data_hash)
    files = {
        "holdout.parquet": prepared.holdout,
        REFERENCE: prepared.reference,
        "training_rows.parquet": prepared.rows,
    }
    folder = _folder(workdir / "split" / handoff.ARTIFACT_DIR, files)
    tracking.upload(run.result().artifact_uri, folder, handoff.ARTIFACT_DIR)
    return prepared


def _log_model(
    tracking: Tracking, experiment_id: str, run_id: str, job: Any, fitted: Any, pool: Executor
) -> tuple[Any, str]:
    """Create the logged model, upload its folder, mark it READY (or failed); its digest."""
    from mlgitops.digest import folder_digest

    identity = tracking.create_model(experiment_id, run_id, MODEL_NAME, {})
    try:
        model_dir = job.workdir / "mlflow-model"
        fitted.save_model(model_dir, identity)
        digest = folder_digest(model_dir)  # what was uploaded, before anyone else can touch it
        tracking.upload(identity.artifact_uri, model_dir)
    except BaseException:
        tracking.finalize_model(identity.model_id, ready=False)
        raise
    linked = pool.submit(tracking.link_model, run_id, identity.model_id)
    tracking.finalize_model(identity.model_id, ready=True)
    linked.result()
    return identity, digest


def _result(
    tracking_uri: str,
    run_id: str,
    experiment_id: str,
    inputs: Inputs,
    job: Any,
    fitted: Any,
    facts: Any,
    usage: gpu.Usage,
    metrics: dict[str, float],
) -> TrainResult:
    """train.json but the logged model's URI and digest and the duration (known last)."""
    pipeline, split = inputs.pipeline, job.split
    contract = split.contract
    return TrainResult(
        pipeline=pipeline.name,
        run_id=run_id,
        experiment_id=experiment_id,
        tracking_uri=tracking_uri,
        content_key=inputs.content_key,
        model_uri="",
        task=pipeline.task,
        target=split.target,
        metrics=metrics,
        hashes=inputs.hashes,
        classes=fitted.classes,
        duration_s=0.0,
        runner=facts.runner,
        gpu=facts.gpu,
        features=contract.as_json() if contract else [],
        undeclared=list(contract.undeclared) if contract else [],
        fingerprint_columns=list(split.fingerprint_columns),
        invalid_data=list(split.invalid),
        gpu_count=usage.gpus.count,
        gpu_driver=facts.gpu_driver,
        device=job.device,
        fit_s=usage.wall_s,
        gpu_seconds=usage.gpu_seconds,
        gpu_peak_memory_mb=usage.peak_memory_mb,
        gpu_utilization=usage.utilization,
    )


def _folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def usage_metrics(usage: gpu.Usage) -> dict[str, float]:
    """What the fit used, as run metrics (GPU figures only where they were measured)."""
    found = {
        "mlgitops.fit_seconds": usage.wall_s,
        "mlgitops.gpu_seconds": usage.gpu_seconds,
        "mlgitops.gpu_count": float(usage.gpus.count),
    }
    if usage.peak_memory_mb is not None:
        found["mlgitops.gpu_peak_memory_mb"] = usage.peak_memory_mb
    if usage.utilization is not None:
        found["mlgitops.gpu_utilization"] = usage.utilization
    return found


def params_of(pipeline: Pipeline, split: Any) -> dict[str, str]:
    """The run's parameters that mlgitops decides (the trainer adds the estimator's)."""
    data = pipeline.data
    found = {
        "trainer": "command" if pipeline.model.command else "sklearn",
        "estimator": pipeline.model.estimator or "",
        "command": pipeline.model.command or "",
        "rows.train": str(len(split.train)),
        "rows.holdout": str(len(split.holdout)),
        "features": str(len(split.features)),
        "categorical": ",".join(split.categorical)[:500],
    }
    if data.test_path:
        found["split.test_path"] = data.test_path
    else:
        found.update(
            {
                "split.test_size": str(data.split.test_size),
                "split.seed": str(data.split.seed),
                "split.stratify": str(data.split.stratify),
            }
        )
    return {k: v for k, v in found.items() if v}


@contextmanager
def _alongside(tracking: Tracking) -> Iterator[Executor]:
    """Threads for an HTTP server's round trips; in this thread for a local store."""
    if is_http(tracking.uri):
        with ThreadPoolExecutor(max_workers=3) as pool:
            yield pool
    else:
        yield _InOrder()


class _InOrder(Executor):
    """Runs each call as it is submitted: the future is already done."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        done: Future[_T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done
