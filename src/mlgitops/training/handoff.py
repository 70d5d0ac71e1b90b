"""The hand-off folder of ``train``: train.json, holdout.parquet, predictions.parquet,
reference.json (drift's training profile) and training_rows.parquet (row fingerprints).

The same files are logged on the run under ``mlgitops/``, so a cache
hit re-creates the folder byte for byte from MLflow (no pandas, no training).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mlgitops import fsio, results
from mlgitops.digest import training_rows_digest
from mlgitops.frames import frame_bytes
from mlgitops.outputs import REFERENCE, ROW, Outputs, set_github_outputs
from mlgitops.results import TrainResult
from mlgitops.training.tracking import RunRecord, Tracking

if TYPE_CHECKING:
    import pandas as pd

    from mlgitops.training.data import Split

ARTIFACT_DIR = "mlgitops"
FILES = (
    "train.json",
    "holdout.parquet",
    "predictions.parquet",
    REFERENCE,
    "training_rows.parquet",
)


def predictions_frame(
    holdout: pd.DataFrame, target: str, predictions: pd.DataFrame
) -> pd.DataFrame:
    """``__row__``, ``y_true``, ``y_pred``, ``proba_*`` in holdout order."""
    extra = [c for c in predictions.columns if c.startswith("proba_")]
    merged = holdout[[ROW, target]].merge(
        predictions[[ROW, "y_pred", *extra]], on=ROW, how="left", validate="1:1"
    )
    return merged.rename(columns={target: "y_true"})


@dataclass(frozen=True)
class SplitFiles:
    """The hand-off files that the split alone decides (written while the model fits)."""

    holdout: bytes
    reference: bytes
    rows: bytes


def split_files(split: Split, data_path: str, data_hash: str) -> SplitFiles:
    """holdout.parquet, reference.json and training_rows.parquet of ``split``."""
    return SplitFiles(
        holdout=frame_bytes(split.holdout),
        reference=reference_bytes(split, data_path, data_hash),
        rows=fingerprints_bytes(split),
    )


def detached(split: Split) -> Split:
    """``split`` over frames of its own (the same data, not copied), so that another
    thread can read it while this one uses the original: pandas may reorganise a
    frame's internal blocks in place on a read."""
    return replace(
        split, train=split.train.copy(deep=False), holdout=split.holdout.copy(deep=False)
    )


def data_files(prepared: SplitFiles, predictions: bytes) -> dict[str, bytes]:
    """Every hand-off file but train.json."""
    return {
        "holdout.parquet": prepared.holdout,
        "predictions.parquet": predictions,
        REFERENCE: prepared.reference,
        "training_rows.parquet": prepared.rows,
    }


def files_for(result: TrainResult, data: dict[str, bytes]) -> dict[str, bytes]:
    """The hand-off files, in :data:`FILES` order."""
    found = {"train.json": results.dumps(result).encode(), **data}
    return {name: found[name] for name in FILES}


def fingerprints_bytes(split: Split) -> bytes:
    """``training_rows.parquet``: per training row, a ``fingerprint`` (uint64) over its
    features and target, and an ``inputs`` fingerprint over its features alone.

    ``compare`` keeps this model, once deployed, off these rows (and off rows whose inputs
    it was trained on with another target): see :func:`mlgitops.features.row_fingerprints`,
    ``fingerprint_columns`` in train.json and :mod:`mlgitops.evaluation.pairing`.
    """
    import pandas as pd

    rows = split.training_rows()
    return frame_bytes(pd.DataFrame({"fingerprint": rows.fingerprints, "inputs": rows.inputs}))


def reference_bytes(split: Split, data_path: str, data_hash: str) -> bytes:
    """The training-data profile that ``drift`` compares recent data with."""
    from mlgitops.drift.profile import build_reference, dumps_reference

    reference = build_reference(
        split.train,
        split.target,
        features=split.features,
        source={"data": data_path, "data_hash": data_hash},
        temporal=split.contract.temporal if split.contract is not None else (),
    )
    return dumps_reference(reference).encode("utf-8")


def clear(outputs: Outputs) -> None:
    """Remove the previous candidate from the hand-off folder: its files, the verdict on it,
    a budget stop, a stage's failure. A train that then refuses the data or fails leaves no candidate for
    ``compare`` or ``report`` to take for this one; validate's files stay."""
    from mlgitops.training.budget import BUDGET_FILE

    for name in (*FILES, outputs.verdict_json.name, BUDGET_FILE, outputs.failed_json.name):
        outputs.path(name).unlink(missing_ok=True)


def write(outputs: Outputs, files: dict[str, bytes], result: TrainResult) -> None:
    """The files, all or nothing, and the step outputs for GitHub Actions."""
    fsio.write_tree(outputs.folder, files)
    set_github_outputs(
        {
            "run-id": result.run_id,
            "content-key": result.content_key,
            "cached": "true" if result.cached else "false",
            "model-uri": result.model_uri,
            "train-json": str(outputs.train_json),
        }
    )


def restore(
    tracking: Tracking, run: RunRecord, tracking_uri: str, started: float
) -> tuple[TrainResult, dict[str, bytes]]:
    """The hand-off files of a cached run, from its artifacts, marked ``cached``."""
    paths = [f"{ARTIFACT_DIR}/{name}" for name in FILES]
    fetched = dict(zip(FILES, tracking.downloads(run.artifact_uri, paths), strict=True))
    original = results.load_train_result(
        fetched["train.json"].decode("utf-8", "replace"), f"run {run.run_id}: train.json"
    )
    rows_digest = original.training_rows_digest or training_rows_digest(
        fetched["training_rows.parquet"], original.fingerprint_columns, original.target
    )  # a run logged before train recorded it: its rows as the cache restores them
    result = replace(
        original,
        cached=True,
        tracking_uri=tracking_uri,
        duration_s=round(time.perf_counter() - started, 3),
        training_rows_digest=rows_digest,
    )
    return result, {**fetched, "train.json": results.dumps(result).encode()}
