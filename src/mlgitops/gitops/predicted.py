"""Models' outputs on the merged holdout, as the stages that ran them leave them.

``mlgitops deploy NAME --env E --predict candidate|deployed --predictions DIR``
runs one model (:mod:`mlgitops.gitops.verify`) and writes ``DIR/candidate/``
or ``DIR/deployed/``: the outputs :mod:`mlgitops.evaluation.apart` wrote
(``predictions.parquet``, and ``proba.parquet`` with ``classes.json`` for a
classifier that gives them) and ``outputs.json``, which says whose outputs
they are and on which holdout; for the deployed model, also the input columns
its signature names, read from the files whose digest its stage checked (the
pull request credentials can rewrite its MLmodel in MLflow once that stage
ran). ``mlgitops deploy NAME --env E --predictions DIR`` reads both and holds
them to what it finds itself: the reviewed model (run, logged model, digest),
the record of the deployed model at the commit before the merge, and the
merged holdout (:func:`holdout_key`). A folder written for another model,
record or holdout deploys nothing.

The outputs themselves are the model's to give: whoever runs a model decides
what it predicts. What no model's stage decides is the holdout, the truth, the
scoring and the gates.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import jsondoc
from mlgitops.errors import BadInput, CheckFailed
from mlgitops.results import ProvenanceRecord, TrainResult

if TYPE_CHECKING:
    from mlgitops.evaluation.apart import Outputs
    from mlgitops.evaluation.assess import DeployedModel
    from mlgitops.evaluation.inputs import InputColumn

CANDIDATE, DEPLOYED, ABOUT = "candidate", "deployed", "outputs.json"


def holdout_key(frame: Any) -> str:
    """A digest of the holdout frame (its columns, in order, and every value)."""
    import pandas as pd

    names = json.dumps([str(c) for c in frame.columns]).encode("utf-8")
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(names + rows.tobytes()).hexdigest()


def write_candidate(
    into: Path, pipeline: str, key: str, train: TrainResult, model_id: str, outputs: Path
) -> Path:
    """``into/candidate/``: the reviewed model's outputs on the holdout ``key``."""
    about = {
        "which": CANDIDATE,
        "pipeline": pipeline,
        "holdout": key,
        "run_id": train.run_id,
        "model_id": model_id,
        "digest": train.model_digest,
    }
    return _write(into / CANDIDATE, about, outputs)


def write_deployed(
    into: Path,
    pipeline: str,
    key: str | None,
    deployed: tuple[str, str] | None,
    signature: tuple[InputColumn, ...] | None,
    answer: tuple[list[str] | None, str | None],
    outputs: Path | None,
) -> Path:
    """``into/deployed/``: the outputs of the deployed model (``deployed``: its URI and the
    record that names it; None: nothing is deployed) on the holdout ``key``, with the input
    columns its signature names (as its checked files give it; None: it names none), the
    feature names it knows and why it gave no outputs (``answer``)."""
    model_uri, record = deployed if deployed is not None else (None, None)
    names, refused = answer
    about = {
        "which": DEPLOYED,
        "pipeline": pipeline,
        "holdout": key,
        "model_uri": model_uri,
        "record": record,
        "signature": None if signature is None else [[c.name, c.type] for c in signature],
        "names": names,
        "refused": refused,
    }
    return _write(into / DEPLOYED, about, outputs)


def read_candidate(
    into: Path, pipeline: str, key: str, rows: int, train: TrainResult, model_id: str
) -> Outputs:
    """The reviewed model's outputs from ``into/candidate/``: CheckFailed where they are
    another model's or on another holdout; ModelFailed where their shape is wrong."""
    from mlgitops.evaluation.apart import read_outputs

    folder = into / CANDIDATE
    about = _about(folder, CANDIDATE, pipeline, key)
    for field, wanted in (
        ("run_id", train.run_id),
        ("model_id", model_id),
        ("digest", train.model_digest),
    ):
        if about.get(field) != wanted:
            raise CheckFailed(
                f"{folder / ABOUT}: outputs of {field} {about.get(field)!r}, not of the reviewed "
                f"model's {wanted!r}; nothing deployed"
            )
    return read_outputs(folder, rows)


def read_deployed(
    into: Path,
    pipeline: str,
    key: str,
    rows: int,
    record: ProvenanceRecord,
    source: str,
    tracking_uri: str,
) -> DeployedModel:
    """The deployed model (``record``, read from ``source``) as ``into/deployed/`` gives its
    outputs and its signature (never MLflow's copy of its MLmodel, which the pull request
    credentials can rewrite), with its training rows from MLflow; CheckFailed where they are
    another model's or on another holdout."""
    from mlgitops.evaluation.apart import ModelFailed, read_outputs
    from mlgitops.evaluation.assess import DeployedModel, Recorded
    from mlgitops.evaluation.deployed import deployed_info, reference_of, task_of, training_rows

    folder = into / DEPLOYED
    about = _about(folder, DEPLOYED, pipeline, key)
    for field, wanted in (("model_uri", record.model_uri), ("record", source)):
        if about.get(field) != wanted:
            raise CheckFailed(
                f"{folder / ABOUT}: outputs of {field} {about.get(field)!r}, not of the deployed "
                f"model's {wanted!r}; nothing deployed"
            )
    names, refused = about.get("names"), about.get("refused")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise CheckFailed(f"{folder / ABOUT}: names is not a list of names; nothing deployed")
    signature = _signature(folder / ABOUT, about)
    outputs = None
    if refused is None and (folder / "predictions.parquet").is_file():
        try:
            outputs = read_outputs(folder, rows, finite=False)
        except ModelFailed as exc:  # the deployed model's answer: it cannot be compared
            refused = str(exc)
    deployed_info(record, tracking_uri, source)  # its run is not deleted
    training = training_rows(record, tracking_uri, source) if record.run_id else None
    recorded = Recorded(outputs, None if refused is None else str(refused), names)
    reference = reference_of(record, tracking_uri, source)
    return DeployedModel(recorded, signature, training, task_of(record), reference)


def _signature(path: Path, about: dict[str, Any]) -> tuple[InputColumn, ...] | None:
    """The deployed model's signature in ``about`` (``[[name, type], …]``; null: it has
    none): CheckFailed where it is missing or of another shape."""
    from mlgitops.evaluation.inputs import InputColumn

    given = about.get("signature", ())
    if given is None:
        return None
    if not isinstance(given, list) or not all(
        isinstance(c, list) and len(c) == 2 and all(isinstance(v, str) for v in c) for c in given
    ):
        raise CheckFailed(
            f"{path}: signature is not a list of [name, type] columns; nothing deployed"
        )
    return tuple(InputColumn(name, kind) for name, kind in given)


def _about(folder: Path, which: str, pipeline: str, key: str) -> dict[str, Any]:
    path = folder / ABOUT
    try:
        about = jsondoc.read(path, ABOUT)
    except FileNotFoundError:
        raise CheckFailed(
            f"{path}: not found; the {which} model's outputs are missing "
            f"(`mlgitops deploy {pipeline} --predict {which}` writes them); nothing deployed"
        ) from None
    except (OSError, ValueError, BadInput) as exc:
        raise CheckFailed(f"{path}: cannot be read ({exc}); nothing deployed") from exc
    if not isinstance(about, dict) or about.get("which") != which:
        got = about.get("which") if isinstance(about, dict) else None
        raise CheckFailed(
            f"{path}: the outputs of the {got or 'unnamed'} model, where the {which} model's "
            "belong; nothing deployed"
        )
    if about.get("pipeline") != pipeline or about.get("holdout") != key:
        raise CheckFailed(
            f"{path}: written for another pipeline or another holdout than pipeline "
            f"{pipeline}'s on the merged commit; nothing deployed"
        )
    return about


def _write(folder: Path, about: dict[str, Any], outputs: Path | None) -> Path:
    """``folder`` with ``outputs``' files and ``about``, in place at once (nothing half-written)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for item in sorted(outputs.iterdir()) if outputs is not None else ():
            shutil.copyfile(item, staged / item.name)
        text = json.dumps(about, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (staged / ABOUT).write_text(text, "utf-8")
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        elif folder.exists() or folder.is_symlink():
            folder.unlink()
        staged.rename(folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return folder
