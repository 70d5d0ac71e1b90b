"""One ``mlgitops train``: the cache lookup, or a fit logged to MLflow.

Nothing half-registered: the data is read and the spec checked before any
run exists; once a run exists, any failure marks it FAILED (KILLED on
Ctrl-C), and only a FINISHED run is ever reused from the cache.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import console
from mlgitops.errors import ServiceError, SpecError
from mlgitops.results import Hashes, TrainResult
from mlgitops.spec import Repo
from mlgitops.spec.model import Pipeline
from mlgitops.training import budget, content, gpu, handoff, lineage
from mlgitops.training.tracking import Tracking

MODEL_NAME = "model"


@dataclass(frozen=True)
class Inputs:
    """A pipeline's training inputs as they are on disk, and their content key."""

    pipeline: Pipeline
    spec_text: str
    hashes: Hashes
    content_key: str
    spec_file_hash: str


@dataclass(frozen=True)
class Outcome:
    result: TrainResult
    files: dict[str, bytes]


def inputs_of(repo: Repo, pipeline: Pipeline) -> Inputs:
    """Hash everything that decides the trained model (see :mod:`.content`)."""
    spec_text = (repo.root / pipeline.source).read_text("utf-8")
    hashes = content.hashes(repo.root, pipeline)
    return Inputs(pipeline, spec_text, hashes, content.content_key(hashes), pipeline.spec_hash)


def cached(
    tracking: Tracking, experiment_id: str, inputs: Inputs, started: float
) -> Outcome | None:
    """The hand-off of a FINISHED run with the same content key, if there is one."""
    run = tracking.find_run(experiment_id, inputs.content_key)
    if run is None:
        return None
    try:
        result, files = handoff.restore(tracking, run, tracking.uri, started)
    except ServiceError as exc:
        console.line(
            f"train {inputs.pipeline.name}: cached run {run.run_id} is incomplete ({exc}); training again"
        )
        return None
    return Outcome(result, files)


def fresh(
    repo: Repo,
    inputs: Inputs,
    tracking: Tracking,
    experiment_id: str,
    env: Mapping[str, str],
    started: float,
) -> Outcome:
    """Fit, score and log a new run."""
    from mlgitops.training import TrainJob, trainer_for
    from mlgitops.training.data import load_split

    pipeline = inputs.pipeline
    trainer = trainer_for(pipeline)
    with (
        ThreadPoolExecutor(max_workers=2) as pool,
        tempfile.TemporaryDirectory(prefix="mlgitops-train-") as tmp,
    ):
        # git and the GPU probe answer while the trainer's check imports its libraries.
        gathering = pool.submit(lineage.gather, repo.root, env)
        problems = trainer.check(pipeline, inputs.spec_text)
        if problems:
            raise SpecError(problems)
        facts = gathering.result()
        device = _device(pipeline, facts.gpus)
        allowance = None
        if pipeline.train.gpu_budget_minutes is not None:
            allowance = budget.allowance(
                tracking, experiment_id, pipeline.name, pipeline.train.gpu_budget_minutes, facts.pr
            )
            budget.check_before(allowance)
        tags = lineage.tags(
            pipeline.name,
            pipeline.source,
            inputs.spec_file_hash,
            inputs.hashes,
            inputs.content_key,
            trainer.name,
            facts,
            device,
        )
        with console.group(f"read and validate {pipeline.data.path}"):
            split = load_split(repo.root, pipeline, Path(tmp))
        _announce(pipeline, split)
        # The run is created, and the hand-off files that the split alone decides are
        # written, while the model fits.
        run_future = pool.submit(
            tracking.create_run, experiment_id, _run_name(pipeline, facts), tags
        )
        split_files = pool.submit(
            handoff.split_files, handoff.detached(split), pipeline.data.path, inputs.hashes.data
        )
        job = TrainJob(pipeline, repo.root, split, Path(tmp), inputs.spec_text, device)
        with _failing_marks(tracking, run_future):
            remaining = allowance.remaining_s if allowance else None
            try:
                with (
                    gpu.metered(facts.gpus) as usage,
                    budget.timer(remaining, facts.gpus.count),
                ):
                    fitted = trainer.fit(job)
            except budget.Stop:
                assert allowance is not None
                metrics = {budget.METRIC: usage.budget_seconds, **_usage_metrics(usage)}
                tracking.log_batch(run_future.result().run_id, {}, metrics, {})
                raise budget.stopped(allowance, usage.budget_seconds) from None
            return _log(
                tracking,
                run_future.result(),
                experiment_id,
                inputs,
                job,
                fitted,
                facts,
                started,
                usage,
                split_files.result(),
            )


def _device(pipeline: Pipeline, gpus: gpu.Gpus) -> str:
    """``cuda`` when the spec asks for the GPU and there is one; says so when there is none."""
    if not pipeline.train.gpu:
        return "cpu"
    if gpus.count:
        return "cuda"
    console.line(
        f"train {pipeline.name}: train.gpu is true, but this runner has no GPU "
        f"({gpus.why_none}): training on the CPU"
    )
    return "cpu"


def _usage_metrics(usage: gpu.Usage) -> dict[str, float]:
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


class _failing_marks:
    """Mark the run FAILED (KILLED on Ctrl-C) when the block raises."""

    def __init__(self, tracking: Tracking, run: Future[Any]) -> None:
        self._tracking, self._run = tracking, run

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if kind is None:
            return
        try:
            run = self._run.result()
        except Exception:
            return  # no run was created: nothing to mark
        status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        try:
            self._tracking.end_run(run.run_id, status)
        except ServiceError as mark_error:
            console.error_line(f"could not mark run {run.run_id} {status}: {mark_error}")


def _log(
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
) -> Outcome:
    from mlgitops.evaluation.pointscore import point_scores

    pipeline, split = inputs.pipeline, job.split
    predictions = handoff.predictions_frame(split.holdout, split.target, fitted.predictions)
    what = f"the predictions of `{pipeline.model.command or pipeline.model.estimator}`"
    scored = point_scores(pipeline.task, pipeline.metrics, fitted.classes or (), predictions, what)
    metrics = {**fitted.metrics, **scored}
    params = {**_params(pipeline, split), **fitted.params}
    with console.group(f"log run {run.run_id} to {tracking.uri}"):
        spent = {budget.METRIC: usage.budget_seconds, **_usage_metrics(usage)}
        tracking.log_batch(run.run_id, params, {**metrics, **spent}, {})
        identity, digest = _log_model(tracking, experiment_id, run.run_id, job.workdir, fitted)
        duration = round(time.perf_counter() - started, 3)
        result = TrainResult(
            pipeline=pipeline.name,
            run_id=run.run_id,
            experiment_id=experiment_id,
            tracking_uri=tracking.uri,
            content_key=inputs.content_key,
            model_uri=f"models:/{identity.model_id}",
            task=pipeline.task,
            target=split.target,
            metrics=metrics,
            hashes=inputs.hashes,
            classes=fitted.classes,
            duration_s=duration,
            runner=facts.runner,
            gpu=facts.gpu,
            features=split.contract.as_json() if split.contract else [],
            undeclared=list(split.contract.undeclared) if split.contract else [],
            fingerprint_columns=list(split.fingerprint_columns),
            invalid_data=list(split.invalid),
            gpu_count=usage.gpus.count,
            gpu_driver=facts.gpu_driver,
            device=job.device,
            fit_s=usage.wall_s,
            gpu_seconds=usage.gpu_seconds,
            gpu_peak_memory_mb=usage.peak_memory_mb,
            gpu_utilization=usage.utilization,
            model_digest=digest,
        )
        files = handoff.files_for(result, split_files, handoff.parquet_bytes(predictions))
        artifacts = job.workdir / handoff.ARTIFACT_DIR
        artifacts.mkdir()
        for name, data in files.items():
            (artifacts / name).write_bytes(data)
        tracking.upload(run.artifact_uri, artifacts, handoff.ARTIFACT_DIR)
        tracking.log_batch(
            run.run_id,
            {},
            {"mlgitops.runner_seconds": duration},
            {"mlgitops.model_id": identity.model_id},
        )
        tracking.end_run(run.run_id, "FINISHED")
    return Outcome(result, files)


def _log_model(
    tracking: Tracking, experiment_id: str, run_id: str, workdir: Path, fitted: Any
) -> tuple[Any, str]:
    """Create the logged model, upload its folder, mark it READY (or failed); its digest."""
    from mlgitops.digest import folder_digest

    identity = tracking.create_model(experiment_id, run_id, MODEL_NAME, {})
    try:
        model_dir = workdir / "mlflow-model"
        fitted.save_model(model_dir, identity)
        digest = folder_digest(model_dir)  # what was uploaded, before anyone else can touch it
        tracking.upload(identity.artifact_uri, model_dir)
    except BaseException:
        tracking.finalize_model(identity.model_id, ready=False)
        raise
    tracking.finalize_model(identity.model_id, ready=True)
    tracking.link_model(run_id, identity.model_id)
    return identity, digest


def _announce(pipeline: Pipeline, split: Any) -> None:
    """Say what the data holds that the model will not see, or should not have seen."""
    contract = split.contract
    if contract is not None and contract.undeclared:
        names = ", ".join(contract.undeclared)
        console.line(
            f"train {pipeline.name}: column(s) not declared in the schema, not used as "
            f"features: {names}"
        )
    for text in split.invalid:
        console.line(
            f"train {pipeline.name}: training on invalid data (allowed by the spec): {text}"
        )


def _params(pipeline: Pipeline, split: Any) -> dict[str, str]:
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


def _run_name(pipeline: Pipeline, facts: Any) -> str:
    suffix = f"pr-{facts.pr}" if facts.pr else (facts.commit or "local")[:8]
    return f"{pipeline.name}-{suffix}"


def environ() -> Mapping[str, str]:
    return os.environ
