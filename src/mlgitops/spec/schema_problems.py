"""The packaged JSON Schemas of the specs, and their errors as positioned problems in the
user's words (``data.split.test_size: must be > 0 (got 0)``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from mlgitops.errors import Problem
from mlgitops.spec.positions import Key, dotted, locate
from mlgitops.spec.schema_eval import SchemaError, iter_errors, shown_number

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


@cache
def schema(name: str) -> dict[str, Any]:
    """The packaged JSON Schema ``pipeline`` or ``repo``."""
    # A plain path, not importlib.resources: importing that costs a tenth of render's budget.
    text = (_SCHEMAS / f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, int):
        return shown_number(value)
    return str(value)


def schema_problems(source: str, doc: Any, name: str) -> Iterator[Problem]:
    """Every error of ``doc`` against the schema ``name``, at its place in ``source``."""
    for error in iter_errors(doc, schema(name)):
        yield from _explain(source, doc, error)


def _explain(source: str, doc: Any, error: SchemaError) -> Iterator[Problem]:
    path: list[Key] = list(error.absolute_path)
    where = dotted(path)
    kind, arg, value = error.validator, error.validator_value, error.instance

    def at(message: str, at_key: bool = False, p: list[Key] = path) -> Problem:
        line, col = locate(doc, p, at_key=at_key)
        return Problem(source, line, col, message)

    if kind == "additionalProperties" and isinstance(value, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in value:
            if key in known:
                continue
            import difflib

            hint = difflib.get_close_matches(str(key), known, n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            if known and not hint:
                suffix = f" (expected one of: {', '.join(known)})"
            yield at(f"{dotted([*path, key])}: unknown key '{key}'{suffix}", True, [*path, key])
        return
    if kind == "required":
        missing = [k for k in arg if k not in value]
        for key in missing:
            yield at(f"{where}: missing required key '{key}'", True)
        return
    yield at(f"{where}: {_message(kind, arg, value, error)}", False)


def _message(kind: str, arg: Any, value: Any, error: SchemaError) -> str:
    got = _describe(value)
    if kind == "type":
        types = [arg] if isinstance(arg, str) else list(arg)
        return f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}, got {got}"
    if kind == "enum":
        return f"must be one of {', '.join(str(a) for a in arg)} (got {got})"
    simple = {
        "minimum": f"must be >= {arg} (got {got})",
        "maximum": f"must be <= {arg} (got {got})",
        "exclusiveMinimum": f"must be > {arg} (got {got})",
        "exclusiveMaximum": f"must be < {arg} (got {got})",
        "minItems": f"must have at least {arg} item{'s' if arg != 1 else ''}",
        "maxItems": f"must have at most {arg} items",
        "uniqueItems": "items must be unique",
        "minProperties": "must not be empty",
        "minLength": "must not be empty",
        "maxLength": f"must be at most {arg} characters (got {len(value) if isinstance(value, str) else '?'})",
        "oneOf": "expected a string or a list of strings",
    }
    if kind in simple:
        return simple[kind]
    if kind == "pattern":
        hint = error.schema.get("x-hint") if isinstance(error.schema, dict) else None
        return f"invalid value {got}: {hint}" if hint else f"invalid value {got} (must match {arg})"
    return str(error.message)
