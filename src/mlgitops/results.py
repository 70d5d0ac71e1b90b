"""The records that stages hand to each other, as JSON documents.

``TrainResult`` is ``train.json`` (written by ``train``; read by ``compare``,
``report`` and ``deploy``). ``ProvenanceRecord`` is an overlay's
``model.json`` (written by ``deploy``/``promote``/``rollback``; read by
``compare`` as the baseline). Both carry ``schema_version`` so readers can
refuse documents they do not understand.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from mlgitops import jsondoc
from mlgitops.errors import BadInput

SCHEMA_VERSION = 1
#: What mends a record of what is deployed that a merge changed.
RESTORE = "restore it from Git's history"
#: The highest version MLflow's registry can number: its SQL stores keep versions in an
#: INTEGER column, 32 bits on PostgreSQL and MySQL.
MAX_REGISTRY_VERSION = 2**31 - 1
#: How the registry writes a version: a whole number from 1, in ASCII digits.
_REGISTRY_VERSION = re.compile(r"[1-9][0-9]*")
#: ``verdict.json`` (written by ``compare``; read by ``report`` and ``deploy``).
VERDICT_SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Hashes:
    data: str
    schema: str
    spec: str
    code: str
    package: str


@dataclass(frozen=True)
class TrainResult:
    """What one ``mlgitops train`` produced (or reused from the cache)."""

    pipeline: str
    run_id: str
    experiment_id: str
    tracking_uri: str
    content_key: str
    model_uri: str
    task: str
    target: str
    metrics: dict[str, float]
    hashes: Hashes
    cached: bool = False
    classes: list[Any] | None = None
    duration_s: float = 0.0
    runner: str | None = None
    gpu: str | None = None
    #: The feature contract the model was trained on: ``{"name", "dtype"}`` in input order.
    features: list[dict[str, str]] = field(default_factory=list)
    #: Data columns the schema does not declare, left out of the features.
    undeclared: list[str] = field(default_factory=list)
    #: The columns ``training_rows.parquet``'s fingerprints are computed over.
    fingerprint_columns: list[str] = field(default_factory=list)
    #: Validation failures the spec allowed training with (``train.allow_invalid_data``).
    invalid_data: list[str] = field(default_factory=list)
    #: The runner's GPUs (0: none), what the fit ran on, and what it used (NVML).
    gpu_count: int = 0
    gpu_driver: str | None = None
    device: str = "cpu"
    fit_s: float = 0.0
    gpu_seconds: float = 0.0
    gpu_peak_memory_mb: float | None = None
    gpu_utilization: float | None = None
    #: ``sha256:<hex>`` over the logged model folder's files (:mod:`mlgitops.digest`)
    model_digest: str = ""
    #: :func:`mlgitops.digest.training_rows_digest` of the run's training rows
    training_rows_digest: str = ""
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True)
class DeployedModel:
    """The short form of a model kept as ``previous`` in a provenance record.

    The optional fields keep enough of the old record for ``rollback`` to
    restore it without reading Git history (CI checkouts are shallow).
    """

    version: str
    model_uri: str
    run_id: str
    content_key: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    data_hash: str = ""
    spec_hash: str = ""
    commit: str = ""
    pr: int | None = None
    deployed_at: str = ""
    #: the built serving image it ran on (``repository@sha256:…``; "" when not built)
    image: str = ""
    #: ``sha256:<hex>`` of its model folder, as deploy checked it ("" in older records)
    model_digest: str = ""
    #: its run's training rows, as deploy checked them ("" in older records)
    training_rows_digest: str = ""
    #: its run's drift reference, as deploy checked it ("" in older records)
    reference_digest: str = ""
    #: the task it was judged as when deployed ("" in older records)
    task: str = ""


@dataclass(frozen=True)
class ProvenanceRecord:
    """``manifests/<name>/overlays/<env>/model.json``: what is deployed there, and why."""

    pipeline: str
    environment: str
    model_name: str
    version: str
    model_uri: str
    run_id: str
    content_key: str
    metrics: dict[str, float]
    data_hash: str
    spec_hash: str
    commit: str
    pr: int | None = None
    deployed_at: str = ""
    previous: DeployedModel | None = None
    history: list[DeployedModel] = field(default_factory=list)
    #: Set by ``rollback``: the model this record replaced because it was rolled back.
    rolled_back_from: DeployedModel | None = None
    #: Set by ``promote``: the environment the model was copied from.
    promoted_from: str | None = None
    #: ``sha256:<hex>`` of the model folder that deploy checked before registering it.
    model_digest: str = ""
    #: :func:`mlgitops.digest.training_rows_digest` of its run's training rows, as deploy
    #: checked them: compare reads them to keep the model off the rows it trained on.
    training_rows_digest: str = ""
    #: :func:`mlgitops.digest.bytes_digest` of its run's ``mlgitops/reference.json``, which
    #: deploy held to the profile the merged commit's data and split give: what ``drift``
    #: judges recent data against ("" in older records).
    reference_digest: str = ""
    #: The serving image the overlay pins (``repository@sha256:…``), for
    #: ``deploy.server.build``; "" when the spec names its image itself.
    image: str = ""
    #: The task the model was judged as when deployed (its spec's ``task``): later reviews
    #: judge no candidate of another task against it ("" in older records).
    task: str = ""
    #: With ``deploy.target: kserve`` and a canary: the share of traffic, in percent, the
    #: overlay gives this model (``canaryTrafficPercent``). Deploy and promote set the
    #: environment's first step, ``promote --env`` the next, rollback 100; null otherwise.
    traffic_percent: int | None = None
    schema_version: int = SCHEMA_VERSION


def dumps(record: TrainResult | ProvenanceRecord) -> str:
    """Stable JSON (sorted keys, trailing newline) so Git diffs stay small."""
    return json.dumps(asdict(record), indent=2, sort_keys=True) + "\n"


def _check_version(doc: dict[str, Any], what: str) -> None:
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BadInput(
            f"{what}: unsupported schema_version {version!r} (expected {SCHEMA_VERSION})"
        )


def _known(cls: type, doc: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in doc.items() if k in names}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _entries(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


#: What each field of a train result or a provenance record may hold, by its annotation: a
#: hand-off read from MLflow or a workflow run's upload, or a ``model.json`` a pull request
#: edited, is checked before any stage uses a value.
_FIELD_CHECKS: dict[str, Any] = {
    "str": lambda v: isinstance(v, str),
    "str | None": lambda v: v is None or isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "int | None": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "float": _number,
    "float | None": lambda v: v is None or _number(v),
    "dict[str, float]": lambda v: (
        isinstance(v, dict) and all(isinstance(k, str) and _number(x) for k, x in v.items())
    ),
    "list[str]": _strings,
    "list[Any] | None": lambda v: v is None or isinstance(v, list),
    # the feature contract: each entry names a column and its dtype
    "list[dict[str, str]]": lambda v: (
        isinstance(v, list)
        and all(
            isinstance(d, dict)
            and {"name", "dtype"} <= d.keys()
            and all(isinstance(x, str) for x in d.values())
            for d in v
        )
    ),
    "Hashes": lambda v: (
        isinstance(v, dict)
        and set(v) == {f.name for f in fields(Hashes)}
        and all(isinstance(x, str) for x in v.values())
    ),
    # each entry's own fields are checked as it is read (:func:`_deployed`)
    "DeployedModel | None": lambda v: v is None or isinstance(v, dict),
    "list[DeployedModel]": _entries,
}


def _checked(cls: type, doc: dict[str, Any], where: str = "") -> dict[str, Any]:
    """The fields of ``cls`` in ``doc``, each present where it has no default and of the type
    its annotation says; a ValueError naming the first that is not (``where``: the path of a
    nested record, as ``history[0].``)."""
    known = _known(cls, doc)
    for f in fields(cls):
        if f.name not in known:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ValueError(f"{where}{f.name}: missing")
        elif not _FIELD_CHECKS[str(f.type)](known[f.name]):
            raise ValueError(f"{where}{f.name}: {_brief(known[f.name])} is not a {f.type}")
    return known


def _brief(value: Any) -> str:
    """``repr(value)``, cut short: a value in a document can be any size."""
    shown = repr(value)
    return shown if len(shown) <= 80 else f"{shown[:77]}..."


def _object(doc: Any) -> dict[str, Any]:
    """``doc``, a JSON object; a ValueError saying what it holds where it is none."""
    if isinstance(doc, dict):
        return doc
    kinds = {list: "an array", str: "a string", int: "a number", float: "a number"}
    held = kinds.get(type(doc)) or json.dumps(doc)  # null, true, false
    raise ValueError(f"it holds {held}, not a JSON object")


def load_train_result(text: str, what: str = "train.json") -> TrainResult:
    """``train.json``; BadInput naming ``what`` (and the field) where it is not one."""
    try:
        doc = _object(jsondoc.loads(text, what))
        _check_version(doc, what)
        doc = _checked(TrainResult, doc)
        doc["hashes"] = Hashes(**doc["hashes"])
        return TrainResult(**doc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # (not an object)
        raise BadInput(f"{what}: not a valid train result ({exc})") from exc


def load_provenance(
    text: str, what: str = "model.json", *, overlay: tuple[str, str] | None = None
) -> ProvenanceRecord:
    """A ``model.json``; BadInput naming ``what`` (and the field) where it is not one.

    Each version it names must be one the registry can number. ``overlay``: the pipeline
    and environment of the overlay it was read from, which it must name (with the
    pipeline's registered model): deploy, promote and rollback write no other, and each
    copies on the record it reads, so a record a merge changed would otherwise be committed
    as another environment's, or another pipeline's. Every reader of a record that knows
    where it lies passes it."""
    record = _provenance(text, what)
    problem = _misplaced(record, overlay) or _unregistrable(record)
    if problem is not None:
        raise BadInput(f"{what}: {problem}; {RESTORE}")
    return record


def _provenance(text: str, what: str) -> ProvenanceRecord:
    try:
        doc = _object(jsondoc.loads(text, what))
        _check_version(doc, what)
        doc = _checked(ProvenanceRecord, doc)
        from mlgitops.spec.deploy import recorded_share

        share = doc.get("traffic_percent")
        if share is not None and recorded_share(share) is None:
            raise ValueError(f"traffic_percent: {share} is not a share from 1 to 100")
        for key in ("previous", "rolled_back_from"):
            if doc.get(key) is not None:
                doc[key] = _deployed(doc[key], f"{key}.")
        doc["history"] = [
            _deployed(h, f"history[{i}].") for i, h in enumerate(doc.get("history", []))
        ]
        return ProvenanceRecord(**doc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # (not an object)
        raise BadInput(f"{what}: not a valid provenance record ({exc})") from exc


def _deployed(entry: dict[str, Any], where: str) -> DeployedModel:
    return DeployedModel(**_checked(DeployedModel, entry, where))


def _misplaced(record: ProvenanceRecord, overlay: tuple[str, str] | None) -> str | None:
    """Why ``record`` is not one of ``overlay`` (pipeline, environment); None where it is."""
    if overlay is None:
        return None
    pipeline, environment = overlay
    for name, value, wanted, whose in (
        ("pipeline", record.pipeline, pipeline, "the overlay's"),
        ("environment", record.environment, environment, "the overlay's"),
        ("model_name", record.model_name, pipeline, "the overlay's pipeline"),
    ):
        if value != wanted:
            return (
                f"{name} {_brief(value)} is not {whose} ({wanted}): the record was changed "
                "by other than deploy, promote and rollback"
            )
    return None


def _unregistrable(record: ProvenanceRecord) -> str | None:
    """Why a version ``record`` names (its own, or one it keeps) is none the registry can
    number; None where each is one. Asked for it, the registry answers in its own words,
    or its database's, naming no record."""
    kept = [("previous.", record.previous), ("rolled_back_from.", record.rolled_back_from)]
    kept += [(f"history[{i}].", entry) for i, entry in enumerate(record.history)]
    for where, version in [("", record.version)] + [(w, e.version) for w, e in kept if e]:
        if not _REGISTRY_VERSION.fullmatch(version):
            return f"{where}version {_brief(version)} is no registry version"
        if len(version) > len(str(MAX_REGISTRY_VERSION)) or int(version) > MAX_REGISTRY_VERSION:
            return (
                f"{where}version {_brief(version)} is too large for a registry version "
                f"(at most {MAX_REGISTRY_VERSION})"
            )
    return None
