"""The hand-off documents the report reads, parsed and checked before any use.

A fork's artifact is untrusted, so every document is checked against a
schema, whatever its origin: ``verdict.json`` against the package's
``verdict.schema.json``, ``validation.json`` against
``validation.schema.json`` when the package has one (else against the fields
the report uses), ``train.json`` and ``pr.json`` against the fields the
report uses. A document that fails names its file and every problem.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from mlgitops import jsondoc
from mlgitops.errors import BadInput

_STRING = {"type": "string"}
_TEXT_OR_NONE = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STRING}
#: A training's seconds or MiB: beyond any real run's, and a float holds it (an integer of
#: 400 digits passed ``"number"`` and crashed the lineage's arithmetic).
_AMOUNT = {"type": "number", "minimum": 0, "maximum": 10**9}

TRAIN_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "pipeline", "run_id", "model_uri", "content_key", "hashes"],
    "properties": {
        "schema_version": {"const": 1},
        "pipeline": _STRING,
        "run_id": _STRING,
        "experiment_id": _STRING,
        "tracking_uri": _STRING,
        "model_uri": _STRING,
        "content_key": _STRING,
        "hashes": {"type": "object", "required": ["data"], "properties": {"data": _STRING}},
        "cached": {"type": "boolean"},
        "duration_s": _AMOUNT,
        "runner": _TEXT_OR_NONE,
        "gpu": _TEXT_OR_NONE,
        "gpu_count": {"type": "integer", "minimum": 0},
        "gpu_driver": _TEXT_OR_NONE,
        "device": {"enum": ["cpu", "cuda"]},
        "fit_s": _AMOUNT,
        "gpu_seconds": _AMOUNT,
        "gpu_peak_memory_mb": {**_AMOUNT, "type": ["number", "null"]},
        "gpu_utilization": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
        "model_digest": _STRING,
        "undeclared": _STRINGS,
        "invalid_data": _STRINGS,
    },
}

_MINUTES = {"type": ["number", "null"], "minimum": 0}
BUDGET_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "pipeline", "stopped", "budget_minutes", "message"],
    "properties": {
        "schema_version": {"const": 1},
        "pipeline": _STRING,
        "pr": {"type": ["integer", "null"]},
        "stopped": {"enum": ["before", "during"]},
        "budget_minutes": _MINUTES,
        "spent_minutes": _MINUTES,
        "estimate_minutes": _MINUTES,
        "message": {"type": "string", "maxLength": 1000},
    },
}

FAILED_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "pipeline", "stage", "exit_code", "message"],
    "properties": {
        "schema_version": {"const": 1},
        "pipeline": _STRING,
        "stage": {"enum": ["train", "compare"]},
        "exit_code": {"type": "integer", "minimum": 1, "maximum": 255},
        "message": {"type": "string", "maxLength": 1000},
    },
}

_FAILURES: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["check"],
        "properties": {
            "column": _TEXT_OR_NONE,
            "check": _STRING,
            "failing_rows": {"type": ["integer", "null"], "minimum": 0},
            "examples": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["row"],
                    "properties": {"row": {"type": "integer"}},
                },
            },
        },
    },
}

VALIDATION_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "pipeline", "passed", "failures"],
    "properties": {
        "schema_version": {"const": 1},
        "pipeline": _STRING,
        "data": _STRING,
        "passed": {"type": "boolean"},
        "rows": {"type": "integer", "minimum": 0},
        "failures": _FAILURES,
        "schema_diff": {"type": ["object", "null"]},
        "profile_diff": {"type": ["object", "null"]},
        "holdout": {
            "type": ["object", "null"],
            "required": ["passed", "failures"],
            "properties": {"data": _STRING, "passed": {"type": "boolean"}, "failures": _FAILURES},
        },
    },
}

CLAIM_FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "pipeline", "pr", "head_sha"],
    "properties": {
        "schema_version": {"const": 1},
        "pipeline": _STRING,
        "pr": {"type": "integer", "minimum": 1},
        "head_sha": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
    },
}


def package_schema(name: str) -> dict[str, Any] | None:
    """``src/mlgitops/schemas/<name>``, or None when the package has none."""
    resource = resources.files("mlgitops.schemas").joinpath(name)
    if not resource.is_file():
        return None
    loaded: dict[str, Any] = json.loads(resource.read_text("utf-8"))
    return loaded


def parse(text: bytes, shown: str, kind: str, pipeline: str) -> dict[str, Any]:
    """One document of ``kind`` (verdict, validation, train, datadiff, pr, budget, failed),
    checked."""
    jsondoc.within_limit(len(text), shown)
    try:
        doc = jsondoc.loads(jsondoc.text(text, shown), shown)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(doc, dict):
        raise BadInput(f"{shown}: expected a JSON object")
    _unicode(doc, shown)
    _check(doc, _schema(kind), shown)
    if kind == "verdict":
        _tallied(doc, shown)
    if doc.get("pipeline", pipeline) != pipeline:
        raise BadInput(f"{shown}: is for pipeline {doc.get('pipeline')!r}, not {pipeline!r}")
    return doc


def _tallied(doc: dict[str, Any], shown: str) -> None:
    """BadInput where a verdict's ``counts`` are not the tally of its gates, or ``passed`` is
    not what its gates decide: the headline and the status show both as written. Counted
    and decided as compare does (its schema holds a gate's fields, as compare wrote them)."""
    from mlgitops.evaluation.outcome import GateResult, gate_counts

    gates = [GateResult(**g) for g in doc["gates"]]
    counts = doc["counts"]  # (its schema: these keys and no others)
    tally = gate_counts(gates)
    tally = {key: tally[key] for key in counts}
    if counts != tally:
        raise BadInput(f"{shown}: at counts: {counts} is not the tally of its gates ({tally})")
    blocking = [f"{g.metric} {g.condition}" for g in gates if g.blocking]
    if doc["passed"] and blocking:
        raise BadInput(
            f"{shown}: at passed: true, where a gate fails the verdict ({', '.join(blocking)})"
        )
    if not doc["passed"] and not blocking:
        raise BadInput(f"{shown}: at passed: false, where no gate fails the verdict")


def _unicode(doc: dict[str, Any], shown: str) -> None:
    """BadInput where a string holds a lone surrogate: JSON can spell one (``\\udcff``), no
    UTF-8 text can hold it, and the report is UTF-8 text."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        where, char = _surrogate(doc, ()) or ("(top)", "?")
        raise BadInput(
            f"{shown}: at {where}: text that is not Unicode (a lone surrogate, \\u{ord(char):04x})"
        ) from None


def _surrogate(value: Any, path: tuple[str, ...]) -> tuple[str, str] | None:
    """Where the first lone surrogate is (the path, as schema problems name it) and what."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return "/".join(path) or "(top)", value[exc.start]
        return None
    if not isinstance(value, dict | list):
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        found = _surrogate(str(key), path) or _surrogate(item, (*path, str(key)))
        if found:
            return found
    return None


def _schema(kind: str) -> dict[str, Any]:
    if kind == "verdict":
        found = package_schema("verdict.schema.json")
        if found is None:  # pragma: no cover - the package ships it
            raise BadInput("verdict.schema.json is missing from the package")
        return found
    validation = package_schema("validation.schema.json")
    if kind == "validation":
        return validation or VALIDATION_FIELDS
    if kind == "datadiff" and validation is not None and "datadiff" in validation.get("$defs", {}):
        return {"$defs": validation["$defs"], "$ref": "#/$defs/datadiff"}
    known = {
        "train": TRAIN_FIELDS,
        "pr": CLAIM_FIELDS,
        "budget": BUDGET_FIELDS,
        "failed": FAILED_FIELDS,
    }
    return known.get(kind, {"type": "object"})


def _check(doc: dict[str, Any], schema: dict[str, Any], shown: str) -> None:
    from mlgitops.spec.schema_eval import iter_errors

    problems = sorted(
        f"{shown}: at {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message[:300]}"
        for error in iter_errors(doc, schema)
    )
    if problems:
        raise BadInput("\n".join(problems))
