"""``mlgitops train NAME``: fit, log to MLflow with lineage, hand off; cached by content.

With ``--compare``, the candidate is then compared with the deployed model in
the same process, exactly as ``mlgitops compare NAME`` would do it from the
hand-off folder just written (the PR workflow's train job runs them together).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops import console, fsio
from mlgitops.basebranch import HELP
from mlgitops.errors import EXIT_OK, BadInput
from mlgitops.figures import figure
from mlgitops.outputs import Outputs, record_failure
from mlgitops.results import TrainResult
from mlgitops.spec import load_repo
from mlgitops.training.budget import BUDGET_FILE, BudgetExceeded

if TYPE_CHECKING:
    from mlgitops.spec import Repo
    from mlgitops.spec.model import Pipeline
    from mlgitops.training.run import Outcome


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline to train")
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, mlgitops.yaml, "
        "else sqlite:///<repo>/.mlgitops/mlflow.db)",
    )
    parser.add_argument(
        "--output", type=Path, metavar="DIR", help="hand-off folder (default: .mlgitops/NAME/)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train even when a run with the same content key exists",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="then compare the candidate with the deployed model, as `mlgitops compare` "
        "does, in this process; the exit code is compare's (1: a gate failed)",
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        default=None,
        help=f"with --compare: Git ref whose manifests say what is deployed {HELP}",
    )


def run(
    *,
    repo: Path,
    name: str,
    tracking_uri: str | None,
    output: Path | None,
    force: bool,
    compare: bool = False,
    base: str | None = None,
) -> int:
    """Reuse the cached run or train a new one; write the hand-off folder.

    ``compare``: then judge the candidate (``mlgitops compare``) and return its exit code.
    """
    if base is not None and not compare:
        raise BadInput("--base goes with --compare: train alone does not read the base branch")
    from mlgitops.training import handoff

    started = time.perf_counter()
    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    outputs = Outputs.for_pipeline(root, name, output)
    handoff.clear(outputs)
    try:
        outcome = _trained(root, loaded, pipeline, tracking_uri, force, started)
        handoff.write(outputs, outcome.files, outcome.result)
        _summary(outcome.result, outputs, root)
    except BudgetExceeded as exc:
        # The report shows why training stopped: the hand-off says so.
        text = json.dumps(exc.record, indent=2, sort_keys=True) + "\n"
        fsio.write_atomic(outputs.path(BUDGET_FILE), text.encode("utf-8"))
        raise
    except Exception as exc:
        record_failure(outputs, name, "train", exc)
        raise
    if not compare:
        return EXIT_OK
    from mlgitops.commands import compare as comparing

    console.line("")
    return comparing.run(
        repo=repo, name=name, base=base, output=output, tracking_uri=tracking_uri, trained_here=True
    )


def _trained(
    root: Path,
    loaded: Repo,
    pipeline: Pipeline,
    tracking_uri: str | None,
    force: bool,
    started: float,
) -> Outcome:
    """The cached run, or a new one."""
    from mlgitops.training import run as training
    from mlgitops.training.tracking import open_tracking, resolve_tracking_uri

    uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
    tracking = open_tracking(uri, root)
    inputs = training.inputs_of(loaded, pipeline)
    experiment_id = tracking.experiment(pipeline.name, create=True) or ""
    newest = None if force else tracking.find_run(experiment_id, inputs.content_key)
    outcome = None
    if newest is not None:
        from mlgitops.training import binding

        context = binding.from_env(os.environ)  # None outside a pull request's workflow
        outcome = training.restored(
            tracking, newest, inputs, started, "training again" if context is None else "not reused"
        )
        if context is not None:
            outcome = binding.reusable(
                context,
                pipeline,
                inputs.content_key,
                newest.run_id,
                outcome,
                lambda run_id: training.cached_run(
                    tracking, experiment_id, inputs, started, run_id
                ),
            )
    if outcome is None:
        outcome = training.fresh(loaded, inputs, tracking, experiment_id, os.environ, started)
    return outcome


def _summary(result: TrainResult, outputs: Outputs, root: Path) -> None:
    key = result.content_key[:12]
    if result.cached:
        console.line(
            f"train {result.pipeline}: cache hit, reusing run {result.run_id} (content key {key}); nothing trained"
        )
    else:
        console.line(
            f"train {result.pipeline}: trained run {result.run_id} in {result.duration_s:.1f}s (content key {key})"
        )
    metrics = "  ".join(f"{k} {figure(v)}" for k, v in sorted(result.metrics.items()))
    console.line(f"  metrics: {metrics}")
    console.line(f"  model:   {result.model_uri}")
    folder = outputs.folder
    shown = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
    console.line(f"  results: {shown}/")
