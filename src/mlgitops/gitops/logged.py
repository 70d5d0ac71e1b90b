"""What the reviewed run logged beside its model, held to the merged commit: its training
rows (which rows later reviews keep the deployed model off) and its drift reference (what
drift judges recent data against). The pull request's job logged both, so deploy computes
each from the merged commit's data and split, as ``train`` does, and requires them equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgitops.digest import bytes_digest
from mlgitops.errors import CheckFailed
from mlgitops.results import TrainResult
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    from mlgitops.evaluation.pairing import TrainingRows
    from mlgitops.gitops.verify import Merged


def check_reference(
    uri: str, pipeline: Pipeline, merged: Merged, train: TrainResult, where: str
) -> str:
    """The digest of the drift reference the run logged; CheckFailed unless it is the one
    the merged commit's data and split give, as ``train`` writes it (their rows are the
    run's own: :func:`held_to_merged`). The pull request's job logged it, and a profile
    of its choosing (no features, a few, other bins) would decide what drift finds."""
    from mlgitops.evaluation.deployed import ARTIFACTS, run_file
    from mlgitops.outputs import REFERENCE
    from mlgitops.training.handoff import reference_bytes

    path = f"{ARTIFACTS}/{REFERENCE}"
    what = f"the drift reference run {train.run_id} logged ({path} in MLflow at {uri}; {where})"
    logged = run_file(train.run_id, path, uri)
    if logged is None:
        raise CheckFailed(f"{what} is missing; nothing deployed")
    given = reference_bytes(merged.split, pipeline.data.path, _stated_data_hash(logged, train))
    if logged != given:
        raise CheckFailed(
            f"{what} is not the one the merged commit's data and split give: drift would judge "
            f"recent data against another profile than the model's training data. {_why(train)}"
            "; nothing deployed"
        )
    return bytes_digest(given)


def _why(train: TrainResult) -> str:
    """Why a logged reference may differ from deploy's: the review's mlgitops, where it is
    not this one (its profile of the same rows may differ), else the job or a later write."""
    from mlgitops.training.content import package_hash, package_versions

    if train.hashes.package != package_hash():
        return (
            "The review's train job ran another mlgitops version than this deploy's "
            f"({package_versions()['mlgitops']}), whose profile of the same data may differ: "
            "run the pull request's training again with this version, or deploy with the "
            "version that reviewed it"
        )
    return "The training job logged another profile, or it changed after the review"


def _stated_data_hash(logged: bytes, train: TrainResult) -> str:
    """The hash of the data file a logged reference names as its source, where it names
    one (else the review's): deploy holds the profile to the rows, and the rows to the
    merged data (:func:`held_to_merged`); the file's hash is said beside them."""
    import json
    import re

    try:
        doc = json.loads(logged)
    except ValueError:
        return train.hashes.data
    source = doc.get("source") if isinstance(doc, dict) else None
    stated = source.get("data_hash") if isinstance(source, dict) else None
    if isinstance(stated, str) and re.fullmatch(r"[0-9a-f]{64}", stated):
        return stated
    return train.hashes.data


def check_training_rows(uri: str, train: TrainResult, where: str) -> TrainingRows | None:
    """The run's training rows in MLflow (None: it names no fingerprint columns);
    CheckFailed unless they are the ones the review recorded
    (:func:`mlgitops.gitops.anchor.check` requires that it recorded them)."""
    from mlgitops.errors import DataError
    from mlgitops.evaluation.deployed import ARTIFACTS, TRAINING_ROWS, run_training_rows

    what = f"the training rows of run {train.run_id} ({ARTIFACTS}/{TRAINING_ROWS} and "
    what += f"{ARTIFACTS}/train.json) in MLflow at {uri}"
    try:
        found = run_training_rows(train.run_id, uri)
    except DataError as exc:
        raise CheckFailed(f"{what} cannot be read ({exc}); nothing deployed") from exc
    now = "are missing" if found is None else f"have digest {found[0]}"
    if found is None or found[0] != train.training_rows_digest:
        raise CheckFailed(
            f"{what} {now}, but the review recorded {train.training_rows_digest} ({where}): "
            "they changed after the review; nothing deployed"
        )
    return found[1]


def held_to_merged(
    logged: TrainingRows | None, merged: Merged, train: TrainResult, where: str
) -> None:
    """CheckFailed unless the rows the run logged (and its review recorded) are the
    training rows the merged commit's data and split give, as ``train`` computes them:
    the pull request's job wrote the logged ones, and which rows later reviews leave out
    as the deployed model's own must not be its choice."""
    import numpy as np

    ours, split = merged.trained_on, merged.split
    shown = f"the training rows run {train.run_id} logged"
    if logged is None or (logged.columns, logged.target) != (ours.columns, split.target):
        over = "no columns" if logged is None else f"columns {', '.join(logged.columns)}"
        raise CheckFailed(
            f"{shown} ({where}) are fingerprinted over {over}, where the merged commit's "
            f"spec and schema give {', '.join(ours.columns)} (target {split.target}); "
            "nothing deployed"
        )
    theirs = np.sort(np.asarray(logged.fingerprints, dtype=np.uint64))
    given = np.sort(np.asarray(ours.fingerprints, dtype=np.uint64))
    inputs = None if logged.inputs is None else np.sort(np.asarray(logged.inputs, np.uint64))
    same_inputs = inputs is not None and np.array_equal(inputs, np.sort(ours.inputs))
    if np.array_equal(theirs, given) and same_inputs:
        return
    unknown = int(np.isin(theirs, given, invert=True).sum())
    unlisted = int(np.isin(given, theirs, invert=True).sum())
    what = f"{unknown} logged rows are not among them, {unlisted} of them are not logged"
    if np.array_equal(theirs, given):
        what = "their inputs' fingerprints (the inputs column) are not those rows' inputs"
        if inputs is None:
            what = "they hold no inputs column (written before mlgitops recorded one?)"
    raise CheckFailed(
        f"{shown} ({len(theirs)} rows, {train.training_rows_digest}; {where}) are not the "
        f"{len(given)} rows the merged commit's data and split give: {what}. The training "
        "job logged rows other than its model's, or the data or the split changed after the "
        "review ran (on the base branch: bring a branch up to date with its base before "
        "merging it; or at the data's URL); nothing deployed"
    )
