"""A small JSON Schema (2020-12) evaluator for the packaged schemas.

It covers exactly the keywords the spec schemas and the hand-off documents'
schemas use (local ``$ref`` into ``$defs`` included) and reports every error,
in the shape the spec checks read (``validator``, ``validator_value``,
``instance``, ``schema``, ``absolute_path``, ``message``). It exists because
importing ``jsonschema`` costs more than the whole start-up budget of
``mlgitops render`` (and half of ``report``'s); the tests check that it agrees
with ``jsonschema`` on every spec fixture and on valid and broken hand-off
documents, and that the schemas use no keyword it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from mlgitops.record import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: Keywords that only annotate (documentation, defaults, hints for messages).
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "default", "x-hint"})
#: Keywords this evaluator implements.
KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "properties",
        "additionalProperties",
        "required",
        "minProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "oneOf",
        "const",
        "if",
        "then",
        "else",
        "prefixItems",
        "$ref",
    }
)


@record
class SchemaError:
    validator: str
    validator_value: Any
    instance: Any
    schema: dict[str, Any]
    absolute_path: tuple[str | int, ...]
    message: str


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_type(value: Any, kind: str) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "number": _is_number,
        # an int past float's range (1e400 written out) is an integer all the same
        "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
        "null": lambda v: v is None,
    }
    return bool(checks[kind](value))


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` as JSON Schema (ECMA-262) reads it: ``$`` is the end of the text, where
    Python's ``$`` also matches before a final newline (``"churn\\n"`` would pass a name's
    pattern, and name a folder with a newline)."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def iter_errors(
    instance: Any,
    schema: dict[str, Any],
    path: tuple[str | int, ...] = (),
    root: dict[str, Any] | None = None,
) -> Iterator[SchemaError]:
    """Every error of ``instance`` against ``schema`` (``root``: the document that
    ``$ref`` pointers resolve in; ``schema`` itself at the top)."""
    top = schema if root is None else root

    def error(kind: str, message: str) -> SchemaError:
        return SchemaError(kind, schema[kind], instance, schema, path, message)

    def valid(sub: dict[str, Any]) -> bool:
        return not any(iter_errors(instance, sub, path, top))

    if "$ref" in schema:
        yield from iter_errors(instance, _resolve(top, schema["$ref"]), path, top)
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not any(_has_type(instance, k) for k in kinds):
            shown = ", ".join(repr(k) for k in kinds)  # as jsonschema words it
            yield error("type", f"{instance!r} is not of type {shown}")
            return
    if "enum" in schema and not any(_same(instance, v) for v in schema["enum"]):
        yield error("enum", f"{instance!r} is not one of {schema['enum']!r}")
    if "const" in schema and not _same(instance, schema["const"]):
        yield error("const", f"{schema['const']!r} was expected")
    if "oneOf" in schema:
        matches = sum(1 for sub in schema["oneOf"] if valid(sub))
        if matches != 1:
            yield error(
                "oneOf", f"{instance!r} is not valid under exactly one of the given schemas"
            )
    if "if" in schema:
        branch = "then" if valid(schema["if"]) else "else"
        if branch in schema:
            yield from iter_errors(instance, schema[branch], path, top)
    if isinstance(instance, dict):
        yield from _object(instance, schema, path, error, top)
    elif isinstance(instance, list):
        yield from _array(instance, schema, path, error, top)
    elif isinstance(instance, str):
        if "minLength" in schema and len(instance) < schema["minLength"]:
            yield error("minLength", f"{instance!r} is too short")
        if "maxLength" in schema and len(instance) > schema["maxLength"]:
            yield error("maxLength", f"{instance!r} is too long")
        if "pattern" in schema and not _regex(schema["pattern"]).search(instance):
            yield error("pattern", f"{instance!r} does not match {schema['pattern']!r}")
    elif _is_number(instance):
        yield from _number(instance, schema, error)


def as_integers(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """``instance`` (valid against ``schema``) with each number the schema asks to be an
    integer made an ``int``: JSON Schema counts ``8080.0`` (a float to YAML) as the integer
    8080, and every stage takes it as one (a port, a seed, a canary weight)."""
    top = schema if root is None else root
    if "$ref" in schema:
        instance = as_integers(instance, _resolve(top, schema["$ref"]), top)
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else kind or []
    if isinstance(instance, float) and "integer" in kinds and "number" not in kinds:
        return int(instance)  # valid, so a whole number
    for sub in schema.get("oneOf", ()):
        if not any(iter_errors(instance, sub, (), top)):
            instance = as_integers(instance, sub, top)
    if "if" in schema:
        branch = "then" if not any(iter_errors(instance, schema["if"], (), top)) else "else"
        if branch in schema:
            instance = as_integers(instance, schema[branch], top)
    if isinstance(instance, dict):
        properties, others = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            key: as_integers(value, properties[key], top)
            if key in properties
            else as_integers(value, others, top)
            if isinstance(others, dict)
            else value
            for key, value in instance.items()
        }
    if isinstance(instance, list):
        first, rest = schema.get("prefixItems", []), schema.get("items")
        return [
            as_integers(value, first[i], top)
            if i < len(first)
            else as_integers(value, rest, top)
            if isinstance(rest, dict)
            else value
            for i, value in enumerate(instance)
        ]
    return instance


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """A local JSON pointer (``#/$defs/name``) in ``root``."""
    if not ref.startswith("#"):
        raise ValueError(f"$ref {ref!r}: only local references are supported")
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if not isinstance(node, dict):
        raise ValueError(f"$ref {ref!r} does not name a schema")
    return node


def _object(
    instance: dict[str, Any],
    schema: dict[str, Any],
    path: tuple[str | int, ...],
    error: Any,
    root: dict[str, Any],
) -> Iterator[SchemaError]:
    properties = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in instance:
            yield error("required", f"{key!r} is a required property")
            break  # one error names every missing key, as jsonschema's does per keyword
    if "minProperties" in schema and len(instance) < schema["minProperties"]:
        yield error("minProperties", f"{instance!r} does not have enough properties")
    extra = schema.get("additionalProperties", True)
    unknown = [k for k in instance if k not in properties]
    if extra is False and unknown:
        yield error("additionalProperties", f"Additional properties are not allowed ({unknown!r})")
    for key, value in instance.items():
        if key in properties:
            yield from iter_errors(value, properties[key], (*path, key), root)
        elif isinstance(extra, dict):
            yield from iter_errors(value, extra, (*path, key), root)


def _array(
    instance: list[Any],
    schema: dict[str, Any],
    path: tuple[str | int, ...],
    error: Any,
    root: dict[str, Any],
) -> Iterator[SchemaError]:
    if "minItems" in schema and len(instance) < schema["minItems"]:
        yield error("minItems", f"{instance!r} should be non-empty")
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        yield error("maxItems", f"{instance!r} is too long")
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for item in instance:
            if any(_same(item, s) for s in seen):
                yield error("uniqueItems", f"{instance!r} has non-unique elements")
                break
            seen.append(item)
    prefix = schema.get("prefixItems", [])
    for index, (item, sub) in enumerate(zip(instance, prefix, strict=False)):
        yield from iter_errors(item, sub, (*path, index), root)
    if "items" in schema:  # 2020-12: the items after prefixItems
        for index, item in enumerate(instance[len(prefix) :], start=len(prefix)):
            yield from iter_errors(item, schema["items"], (*path, index), root)


def _number(instance: float, schema: dict[str, Any], error: Any) -> Iterator[SchemaError]:
    # Written as jsonschema decides them: an error only when the comparison that
    # breaks the bound holds (so NaN breaks none, as there).
    breaks: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
        ("minimum", lambda v, b: v < b),
        ("maximum", lambda v, b: v > b),
        ("exclusiveMinimum", lambda v, b: v <= b),
        ("exclusiveMaximum", lambda v, b: v >= b),
    )
    for keyword, broken in breaks:
        if keyword in schema and broken(instance, schema[keyword]):
            yield error(
                keyword,
                f"{shown_number(instance)} is out of bounds ({keyword} {schema[keyword]!r})",
            )


def shown_number(number: float) -> str:
    """``number`` as a message shows it: an integer of 400 digits by its length (a message
    is cut at a few hundred characters, before it says what is wrong)."""
    if isinstance(number, int) and abs(number) >= 10**20:
        return f"a number of {len(str(abs(number)))} digits"
    return repr(number)
