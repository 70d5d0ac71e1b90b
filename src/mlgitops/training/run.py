"""One ``mlgitops train``: the cache lookup, or a fit logged to MLflow.

Nothing half-registered: the data is read and the spec checked before any
run exists; once a run exists, any failure marks it FAILED (KILLED on
Ctrl-C), and only a FINISHED run is ever reused from the cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import collector, console
from mlgitops.errors import BadInput, ServiceError, SpecError
from mlgitops.results import Hashes, TrainResult
from mlgitops.spec import Repo
from mlgitops.spec.model import Pipeline
from mlgitops.training import budget, content, handoff
from mlgitops.training.tracking import CONTENT_KEY_TAG, RunRecord, Tracking

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mlgitops.training import gpu

#: What an MLflow run id is (32 hex digits); anything else names no run.
_RUN_ID = re.compile(r"[0-9a-f]{32}")
#: How many classes found in the holdout only are named one by one.
SHOWN_CLASSES = 5


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


def cached_run(
    tracking: Tracking, experiment_id: str, inputs: Inputs, started: float, run_id: str
) -> Outcome | None:
    """The hand-off of run ``run_id`` where it is a FINISHED, active run with the same
    content key; None where it is not (or is not a run id at all)."""
    if not _RUN_ID.fullmatch(run_id):
        return None  # nothing else goes into the search's filter
    query = (
        f"tags.`{CONTENT_KEY_TAG}` = '{inputs.content_key}' and attributes.status = 'FINISHED'"
        f" and attributes.run_id = '{run_id}'"
    )
    found = [run for run in tracking.search_runs(experiment_id, query, 1) if run.run_id == run_id]
    return restored(tracking, found[0], inputs, started, "not reused") if found else None


def restored(
    tracking: Tracking, run: RunRecord, inputs: Inputs, started: float, then: str
) -> Outcome | None:
    """``run``'s hand-off (marked cached); None, saying so and ``then``, where its files are
    missing or are not this run's hand-off of ``inputs``."""
    try:
        result, files = handoff.restore(tracking, run, tracking.uri, started)
        if result.run_id != run.run_id:  # another run's train.json: not this run's hand-off
            raise BadInput(f"its train.json names run {result.run_id}")
        if result.content_key != inputs.content_key:
            raise BadInput(f"its train.json names content key {result.content_key[:12]}")
    except (ServiceError, BadInput) as exc:  # files missing, or not a hand-off mlgitops wrote
        console.line(
            f"train {inputs.pipeline.name}: cached run {run.run_id} is incomplete ({exc}); {then}"
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
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    # (imported here: a cache hit, which restores a run, needs none of them)
    from mlgitops.training import TrainJob, gpu, lineage, runlog, trainer_for
    from mlgitops.training.data import load_split

    pipeline = inputs.pipeline
    trainer = trainer_for(pipeline)
    # The folder is removed after the pool's threads are done: one writes the split into it.
    with (
        tempfile.TemporaryDirectory(prefix="mlgitops-train-") as tmp,
        ThreadPoolExecutor(max_workers=3) as pool,
    ):
        # git and the GPU probe answer while the trainer's check imports its libraries.
        gathering = pool.submit(lineage.gather, repo.root, env)
        with collector.paused():  # the trainer's libraries, imported to check the spec
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
        with console.group(f"read and validate {pipeline.data.path}"), collector.paused():
            split = load_split(repo.root, pipeline, Path(tmp))
        _announce(pipeline, split)
        # While the model fits, the run is created and the hand-off files that the split
        # alone decides are written and logged on it.
        run_future = pool.submit(
            tracking.create_run, experiment_id, _run_name(pipeline, facts), tags
        )
        split_files = pool.submit(
            runlog.log_split_files,
            tracking,
            run_future,
            handoff.detached(split),
            pipeline.data.path,
            inputs.hashes.data,
            Path(tmp),
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
                metrics = {budget.METRIC: usage.budget_seconds, **runlog.usage_metrics(usage)}
                tracking.log_batch(run_future.result().run_id, {}, metrics, {})
                raise budget.stopped(allowance, usage.budget_seconds) from None
            result, files = runlog.log_fitted(
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
            return Outcome(result, files)


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
    if split.left_out:
        rows = split.left_out
        shown = ", ".join(map(str, rows[:5])) + (f" (+{len(rows) - 5})" if len(rows) > 5 else "")
        console.line(
            f"train {pipeline.name}: {len(rows)} row(s) of {pipeline.data.path} are also in "
            f"data.test_path ({pipeline.data.test_path}), the holdout: left out of training "
            f"(rows {shown})"
        )
    if pipeline.task == "classification":
        where = pipeline.data.test_path or pipeline.data.path
        only = list(split.holdout_only_classes().items())
        for label, rows in only[:SHOWN_CLASSES]:
            console.line(
                f"train {pipeline.name}: class {label!r} of {split.target!r} is in the holdout "
                f"only ({rows} row{'s' if rows != 1 else ''}, {where}): no training row holds "
                "it, so the model never predicts it (probability 0)"
            )
        if len(only) > SHOWN_CLASSES:
            rest = only[SHOWN_CLASSES:]
            console.line(
                f"train {pipeline.name}: and {len(rest)} more classes of {split.target!r} in "
                f"the holdout only ({sum(rows for _, rows in rest)} rows)"
            )


def _run_name(pipeline: Pipeline, facts: Any) -> str:
    suffix = f"pr-{facts.pr}" if facts.pr else (facts.commit or "local")[:8]
    return f"{pipeline.name}-{suffix}"


def environ() -> Mapping[str, str]:
    return os.environ
