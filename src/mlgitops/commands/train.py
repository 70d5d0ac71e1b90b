"""``mlgitops train NAME``: fit, log to MLflow with lineage, hand off; cached by content."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from mlgitops import console, fsio
from mlgitops.errors import EXIT_OK
from mlgitops.outputs import Outputs
from mlgitops.results import TrainResult
from mlgitops.spec import load_repo
from mlgitops.training.budget import BUDGET_FILE, BudgetExceeded


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


def run(
    *, repo: Path, name: str, tracking_uri: str | None, output: Path | None, force: bool
) -> int:
    """Reuse the cached run or train a new one; write the hand-off folder."""
    from mlgitops.training import handoff
    from mlgitops.training import run as training
    from mlgitops.training.tracking import open_tracking, resolve_tracking_uri

    started = time.perf_counter()
    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    outputs = Outputs.for_pipeline(root, name, output)
    uri = resolve_tracking_uri(root, tracking_uri, loaded.config)
    tracking = open_tracking(uri, root)
    inputs = training.inputs_of(loaded, pipeline)
    experiment_id = tracking.experiment(pipeline.name, create=True) or ""
    outcome = None if force else training.cached(tracking, experiment_id, inputs, started)
    if outcome is None:
        try:
            outcome = training.fresh(loaded, inputs, tracking, experiment_id, os.environ, started)
        except BudgetExceeded as exc:
            # The report shows why training stopped: the hand-off says so.
            text = json.dumps(exc.record, indent=2, sort_keys=True) + "\n"
            fsio.write_atomic(outputs.path(BUDGET_FILE), text.encode("utf-8"))
            raise
    handoff.write(outputs, outcome.files, outcome.result)
    _summary(outcome.result, outputs, root)
    return EXIT_OK


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
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in sorted(result.metrics.items()))
    console.line(f"  metrics: {metrics}")
    console.line(f"  model:   {result.model_uri}")
    folder = outputs.folder
    shown = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
    console.line(f"  results: {shown}/")
