"""A pandera YAML schema in plain forms, read into rules without importing pandera.

Importing pandera (and pandas with it) takes about 0.35 s: most of what
``validate`` spends on a small file; ``train``, which imports pandas anyway,
spends 0.2 s of it on pandera. Most schema files need nothing of pandera's to be understood: numpy
dtypes, the comparison and membership checks the screen decides
(:mod:`mlgitops.validation.screen`), plain flags. Those are read here into the
:class:`~mlgitops.validation.rules.Schema` that ``Schema.of`` makes of
pandera's own ``DataFrameSchema.from_yaml`` of the same text, which is built
(and pandera imported) only when a chunk needs pandera's judgement.

Anything else answers None, and pandera reads the file at once: another
dtype or check, a check option, an index, dataframe-wide checks, a value of a
type the plain form does not take, or a check pandera would refuse (an empty
range). The text is read with PyYAML's safe loader, as pandera reads it (YAML
1.1: ``1e3`` is text there). ``tests/validate/test_yaml_rules.py`` holds both
readings equal, field by field, on generated schemas and every schema file of
the tests, and holds that whatever this reads, pandera loads.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from mlgitops.validation import screen
from mlgitops.validation.rules import CheckRule, ColumnRule, Schema

if TYPE_CHECKING:
    import pandera.pandas as pa

#: A numpy dtype as a schema file names it -> numpy's kind of its values and the Arrow
#: type to read it as. pandera calls each of these by the same name, and expects
#: exactly the values Arrow reads.
NUMPY_DTYPES: dict[str, tuple[str, str]] = {
    "float64": ("f", "double"),
    "float32": ("f", "float"),
    "int64": ("i", "int64"),
    "int32": ("i", "int32"),
    "int16": ("i", "int16"),
    "int8": ("i", "int8"),
    "uint64": ("u", "uint64"),
    "uint32": ("u", "uint32"),
    "uint16": ("u", "uint16"),
    "uint8": ("u", "uint8"),
    "bool": ("b", "bool"),
}
#: Text dtypes: pandera reads both as pandas' Arrow-backed strings from pandas 3 on
#: (``str`` was numpy's objects before it).
TEXT_DTYPES = frozenset({"str", "string"})
#: Column settings whose values are flags.
_FLAGS = {"nullable": False, "unique": False, "required": True, "coerce": False}
#: Column settings that do not bear on validation.
_NOTES = frozenset({"title", "description"})
#: Top-level settings read here (the others leave the file to pandera).
_TOP = frozenset(
    {"schema_type", "version", "api", "dataframe_library", "columns", "coerce", "strict"}
    | {"name", "ordered", "unique", "title", "description", "metadata"}
)
#: Bound checks (but ``in_range``): their one parameter.
_BOUNDS = {
    "greater_than": "min_value",
    "greater_than_or_equal_to": "min_value",
    "less_than": "max_value",
    "less_than_or_equal_to": "max_value",
    "equal_to": "value",
}
#: Membership checks: their one parameter.
_SETS = {"isin": "allowed_values", "notin": "forbidden_values"}
#: Every check read here, by the name a schema file gives it: those the screen decides
#: (a check it does not would need pandera on every chunk anyway).
CHECKS = frozenset(screen.BOUNDS) | frozenset(screen.SETS)


class _Pandera(Exception):
    """Outside the plain forms: pandera reads the file."""


def as_pandera_reads(text: str) -> Any:
    """A schema file's ``text`` as pandera reads it: ``yaml.safe_load``, PyYAML's own
    loader, YAML 1.1 (``yes`` is true, ``1_000``, ``0x1F`` and ``1:30`` are numbers, ``0o17``
    and ``1e3`` are words); ``yaml.YAMLError`` where it does not load. Not libyaml's
    loader, which reads some texts otherwise (a tab after a key's colon). A value PyYAML
    cannot make (``!!int abc``, ``!!bool maybe``, an empty ``!!float``) is a
    ``yaml.YAMLError`` too, where PyYAML raises Python's own errors."""
    import yaml

    try:
        return yaml.safe_load(text)
    except (ValueError, LookupError, TypeError, RecursionError) as exc:
        raise yaml.YAMLError(f"a value that cannot be read ({exc!r})") from exc


def pandera_reading(text: str) -> Any:
    """:func:`as_pandera_reads`, or None where PyYAML does not load ``text``."""
    import yaml

    try:
        return as_pandera_reads(text)
    except yaml.YAMLError:
        return None


def read(text: str, build: Callable[[], pa.DataFrameSchema], doc: Any = None) -> Schema | None:
    """The rules of a schema file's ``text``, or None where pandera must read it.

    ``build`` makes pandera's schema of the same text, for the chunks that need it;
    ``doc``: the text :func:`as_pandera_reads` it, where already read.
    """
    doc = pandera_reading(text) if doc is None else doc
    if doc is None:
        return None
    try:
        return _schema(doc, build)
    except _Pandera:
        return None


def _schema(doc: Any, build: Callable[[], pa.DataFrameSchema]) -> Schema:
    _need(isinstance(doc, dict) and set(doc) <= _TOP)
    _need(doc.get("schema_type", "dataframe") == "dataframe")
    _need(doc.get("dataframe_library", doc.get("api", "pandas")) == "pandas")
    columns = doc.get("columns")
    _need(isinstance(columns, dict) and all(type(name) is str for name in columns))
    coerce, ordered = _flag(doc, "coerce", False), _flag(doc, "ordered", False)
    strict = doc.get("strict", False)
    _need(strict in (True, False, "filter") and type(strict) in (bool, str))
    unique = doc.get("unique")
    if isinstance(unique, str):
        unique = [unique]
    _need(unique is None or (type(unique) is list and all(type(k) is str for k in unique)))
    _need(isinstance(doc.get("name"), str | None))
    _need(isinstance(doc.get("metadata"), dict | None))
    schema = Schema(
        {},
        strict=strict,
        coerce=coerce,
        ordered=ordered,
        unique=unique,
        _build=lambda: _as_read(schema, build()),
    )
    text = any(
        isinstance(column, dict) and _dtype(column) in TEXT_DTYPES for column in columns.values()
    )
    strings = text and _pandas_3()
    for name, column in columns.items():
        schema.columns[name] = _column(name, column, schema, strings)
    return schema


def _as_read(plain: Schema, built: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """pandera's schema, built when a chunk needs it: the chunks screened before were judged
    by the plain reading, so the two must agree (a pandera that reads the file otherwise
    is a bug here, exit 3, never a verdict by two schemas)."""
    theirs = _settings(Schema.of(built))
    mine = _settings(plain)
    if mine != theirs:
        differ = sorted(
            key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key)
        )
        raise RuntimeError(f"pandera reads this schema file otherwise than mlgitops: {differ}")
    return built


def _settings(schema: Schema) -> dict[str, Any]:
    """What validation uses of a schema, comparable (a column's checks without labels)."""
    found: dict[str, Any] = {
        setting: getattr(schema, setting) for setting in ("strict", "coerce", "ordered", "unique")
    }
    for name, rule in schema.columns.items():
        found[f"column {name!r}"] = (
            rule.dtype, rule.words, rule.arrow, rule.exact, rule.kind, rule.missing,
            rule.nullable, rule.unique, rule.required, rule.regex, rule.coerce, rule.checks,
        )  # fmt: skip
    return found


def _column(name: str, column: Any, schema: Schema, strings: bool) -> ColumnRule:
    _need(isinstance(column, dict))
    dtype = _dtype(column)
    if dtype in NUMPY_DTYPES:
        kind, arrow = NUMPY_DTYPES[dtype]
        shown, words = dtype, dtype
    else:
        _need(strings and dtype in TEXT_DTYPES)
        kind, arrow, shown, words = "O", "string", "string[pyarrow]", "str"
    flags = {key: _flag(column, key, default) for key, default in _FLAGS.items()}
    return ColumnRule(
        dtype=shown,
        words=words,
        arrow=arrow,
        exact=True,
        kind=kind,
        target=lambda: getattr(schema.pandera.columns[name].dtype, "type", None),
        missing=kind not in "iu",
        nullable=flags["nullable"],
        unique=flags["unique"],
        required=flags["required"],
        coerce=schema.coerce or flags["coerce"],
        checks=tuple(_check(*entry) for entry in _checks(column)),
    )


def _checks(column: dict[str, Any]) -> list[tuple[str, Any]]:
    """The column's checks as (name, value): its ``checks`` list or mapping, or its flat
    keys (which pandera reads only where there is no ``checks``)."""
    flat = [key for key in column if key not in _FLAGS and key not in _NOTES and key != "dtype"]
    listed = column.get("checks")
    if listed is None:
        _need(all(key in CHECKS for key in flat if key != "checks"))
        return [(key, column[key]) for key in flat if key != "checks"]
    _need(flat == ["checks"])
    if isinstance(listed, dict):
        return list(listed.items())
    _need(isinstance(listed, list))
    found = []
    for entry in listed:
        _need(isinstance(entry, dict) and isinstance(entry.get("options"), dict))
        options = entry["options"]
        _need(set(options) == {"check_name"})
        stats = {key: value for key, value in entry.items() if key != "options"}
        _need(bool(stats))
        found.append((options["check_name"], stats))
    return found


def _dtype(column: dict[str, Any]) -> str | None:
    dtype = column.get("dtype")
    return dtype if isinstance(dtype, str) else None


def _check(name: Any, value: Any) -> CheckRule:
    """One check, with the statistics and label pandera's constructor gives it."""
    _need(isinstance(name, str) and name in CHECKS)
    if isinstance(value, dict) and set(value) == {"value"}:
        value = value["value"]  # pandera reads a lone ``value`` as the check's argument
    if name == "in_range":
        _need(isinstance(value, dict) and {"min_value", "max_value"} <= set(value))
        _need(set(value) <= {"min_value", "max_value", "include_min", "include_max"})
        low, high = _number(value["min_value"]), _number(value["max_value"])
        lower, upper = _flag(value, "include_min", True), _flag(value, "include_max", True)
        _need(low < high or (low == high and lower and upper))  # pandera refuses an empty range
        stats = {"min_value": low, "max_value": high, "include_min": lower, "include_max": upper}
        return CheckRule(name, stats, error=f"in_range({low}, {high})")
    key = _BOUNDS.get(name) or _SETS[name]
    if isinstance(value, dict):
        _need(set(value) == {key})
        value = value[key]
    if name in _SETS:
        _need(type(value) is list and all(_scalar(item) for item in value))
    else:
        value = _number(value)
    return CheckRule(name, {key: value}, error=f"{name}({value})")


def _number(value: Any) -> Any:
    _need(type(value) in (int, float) and not (type(value) is float and math.isnan(value)))
    return value


def _scalar(value: Any) -> bool:
    return type(value) in (int, str) or (type(value) is float and not math.isnan(value))


def _flag(doc: Mapping[str, Any], key: str, default: bool) -> bool:
    value = doc.get(key, default)
    _need(type(value) is bool)
    return bool(value)


def _need(condition: bool) -> None:
    if not condition:
        raise _Pandera


_DIST = re.compile(r"pandas-(\d+)\.[^-]*\.dist-info\Z")


def _pandas_3() -> bool:
    """Whether the installed pandas is 3 or later, told by its install record beside it
    (without importing pandas, or ``importlib.metadata``: 45 ms); False when in doubt."""
    spec = find_spec("pandas")
    if spec is None or not spec.submodule_search_locations:
        return False
    folder = os.path.dirname(next(iter(spec.submodule_search_locations)))
    try:
        majors = {m[1] for m in map(_DIST.match, os.listdir(folder)) if m}
    except OSError:
        return False
    return len(majors) == 1 and int(majors.pop()) >= 3
