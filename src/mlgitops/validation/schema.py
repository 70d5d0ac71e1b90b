"""The data schema: pandera's own YAML format, or the spec's inline ``data.columns``.

pandera's YAML loader silently ignores keys it does not know, and a check
pandera cannot rebuild is dropped when a schema is written. Here every key of
the YAML is accounted for before pandera loads it
(:mod:`~mlgitops.validation.schema_audit`), and the loaded schema must
hold every check the file declares: weaker validation than written is an
error (exit 2), never a silent outcome.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import fsio
from mlgitops.errors import BadInput, SpecError
from mlgitops.spec import utf8_text
from mlgitops.spec.checks import TARGET_NULLABLE
from mlgitops.spec.loader import parse_yaml
from mlgitops.spec.model import Pipeline
from mlgitops.spec.positions import locate
from mlgitops.validation import yaml_rules
from mlgitops.validation.check_arguments import (
    is_check,
    known_arguments,
    numbers_for_dates,
    numbers_if_text,
    problem_at,
)
from mlgitops.validation.inline_rules import inline
from mlgitops.validation.rules import Schema
from mlgitops.validation.schema_audit import COLUMN_KEYS, audit

if TYPE_CHECKING:
    import pandera.pandas as pa


def load_schema(repo: Path, pipeline: Pipeline) -> Schema:
    """The pipeline's schema: ``data.schema`` (pandera YAML) or ``data.columns``."""
    data = pipeline.data
    if data.schema:
        path = repo / data.schema
        if path.exists() and fsio.leaves(repo, path):
            raise BadInput(f"{data.schema}: {fsio.OUTSIDE}")
        try:
            raw = fsio.read_file(path)
        except FileNotFoundError as exc:
            raise BadInput(
                f"{data.schema}: no such file (data.schema in {pipeline.source})"
            ) from exc
        except OSError as exc:
            raise BadInput(f"{data.schema}: cannot be read ({exc.strerror or exc})") from exc
        try:
            text = utf8_text(data.schema, raw)
            schema = from_yaml_text(data.schema, text)
            _target_not_nullable(schema, data.schema, text, data.target, pipeline.source)
        except SpecError as exc:  # a data input, not a spec: reported like bad data
            raise BadInput("\n".join(str(p) for p in exc.problems)) from exc
        return schema
    if data.columns:
        return inline(data.columns, name=pipeline.name)
    raise BadInput(
        f"{pipeline.source}: data has neither `schema` nor `columns`: nothing to validate against"
    )


def _target_not_nullable(schema: Schema, source: str, text: str, target: str, spec: str) -> None:
    """SpecError where the schema file declares the pipeline's target nullable, however the
    file spells it (``true``, ``yes``, ``on`` … as the schema reads them)."""
    column = schema.columns.get(target)
    if column is None or column.regex or not column.nullable:
        return
    doc, _ = parse_yaml(source, text)
    why = TARGET_NULLABLE.removeprefix("the target ")
    message = f"column {target!r} is the target of {spec}: it {why}"
    raise SpecError([problem_at(source, doc, ["columns", target, "nullable"], message)])


def from_yaml_text(source: str, text: str) -> Schema:
    """Load pandera YAML strictly; ``source`` names the file in messages.

    A file in plain forms is read without pandera (:mod:`~mlgitops.validation.yaml_rules`),
    which loads it only when a chunk needs it; any other, pandera loads now.
    """
    doc, problems = parse_yaml(source, text)
    read = yaml_rules.pandera_reading(text)
    if doc is not None:
        problems = sorted(audit(source, doc, read, text))
    if problems:
        raise SpecError(problems)
    plain = yaml_rules.read(text, lambda: pandera_schema(source, text, doc, read), read)
    schema = plain if plain is not None else Schema.of(pandera_schema(source, text, doc, read))
    schema.numbers_if_text = numbers_if_text(source, doc, read)
    return schema


#: The settings pandera reads as true or false, whatever they hold: ``nullable: 'false'`` (a
#: quoted word) is true to it, and would let every gap through.
COLUMN_FLAGS = ("nullable", "unique", "coerce", "required", "regex", "drop_invalid_rows")
TOP_FLAGS = ("coerce", "ordered", "unique_column_names", "add_missing_columns", "drop_invalid_rows")


def pandera_schema(
    source: str, text: str, doc: Mapping[str, Any], read: Any = None
) -> pa.DataFrameSchema:
    """pandera's schema of the file, holding every check the file declares; ``read``: the
    file as pandera reads it, where already read."""
    import pandera.pandas as pa

    _flags_are_booleans(source, read if read is not None else yaml_rules.pandera_reading(text), doc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            schema = pa.DataFrameSchema.from_yaml(text)
        except Exception as exc:  # pandera raises anything from TypeError to its own errors
            dated = numbers_for_dates(source, doc)
            if dated is not None:
                raise SpecError([dated]) from exc
            where = _failing_part(source, text, doc)
            raise BadInput(f"{where}pandera cannot load this schema: {_short(exc)}") from exc
    _same_checks(source, doc, schema)
    known_arguments(source, doc, schema)
    _readable_columns(source, doc, schema)
    return schema


def _readable_columns(source: str, doc: Mapping[str, Any], schema: pa.DataFrameSchema) -> None:
    """SpecError at each column whose values no reader holds (numpy's long doubles, which
    Arrow has no type for), and at each regex column whose name does not compile."""
    import re

    import numpy as np

    def wide(dtype: Any) -> bool:
        native = getattr(dtype, "type", None)
        return isinstance(native, np.dtype) and native.kind == "f" and native.itemsize > 8

    problems = []
    if wide(schema.dtype):  # every column's, declared or not
        message = (
            f"dtype: {doc.get('dtype')!r} holds numbers wider than 64 bits, which mlgitops "
            "cannot read; use float64"
        )
        problems.append(problem_at(source, doc, ["dtype"], message))
    for name, column in (doc.get("columns") or {}).items():
        loaded = schema.columns.get(str(name))
        if schema.dtype is None and wide(getattr(loaded, "dtype", None)):
            message = (
                f"column {str(name)!r}: dtype: {column.get('dtype')!r} holds numbers wider "
                "than 64 bits, which mlgitops cannot read; use float64"
            )
            problems.append(problem_at(source, doc, ["columns", name, "dtype"], message))
        if loaded is not None and loaded.regex:
            try:
                re.compile(str(name))
            except re.error as exc:
                message = (
                    f"column {str(name)!r}: regex: true, but the name is not a regular "
                    f"expression ({exc})"
                )
                problems.append(problem_at(source, doc, ["columns", name], message))
    if problems:
        raise SpecError(problems)


def _flags_are_booleans(source: str, whole: Any, doc: Mapping[str, Any]) -> None:
    """SpecError at each setting pandera reads as true or false that is neither, as pandera
    reads the file (``whole``; PyYAML: ``yes`` and ``on`` are true there, and None where it
    does not load, which pandera's own load then says); ``strict`` may also be ``filter``."""
    if not isinstance(whole, Mapping):
        return
    found = [([key], whole[key]) for key in TOP_FLAGS if key in whole]
    if "strict" in whole and whole["strict"] != "filter":
        found.append((["strict"], whole["strict"]))
    columns = whole.get("columns")
    for name, column in columns.items() if isinstance(columns, Mapping) else ():
        if isinstance(column, Mapping):
            found += [(["columns", name, k], column[k]) for k in COLUMN_FLAGS if k in column]
    problems = [
        problem_at(
            source,
            doc,
            path,
            f"{'column ' + repr(str(path[1])) + ': ' if len(path) == 3 else ''}{path[-1]}: "
            f"{value!r} is not true or false (pandera would read it as "
            f"{str(bool(value)).lower()})",
        )
        for path, value in found
        if not isinstance(value, bool)
    ]
    if problems:
        raise SpecError(problems)


def _failing_part(source: str, text: str, doc: Mapping[str, Any]) -> str:
    """``file:line:col: column 'x': `` for the first column pandera cannot load on its own
    (the file's other keys kept), ``file:line:col: checks: `` for its table-wide checks;
    ``file: `` where neither alone fails."""
    import yaml
    from pandera.io.pandas_io import deserialize_schema

    def loads(part: dict[str, Any]) -> bool:
        try:
            deserialize_schema(part)  # type: ignore[no-untyped-call]
        except Exception:  # as pandera.from_yaml: any error is the part's
            return False
        return True

    try:
        whole = yaml_rules.as_pandera_reads(text)
    except yaml.YAMLError as exc:  # a tag, a key that is a list: what only ruamel reads
        mark = getattr(exc, "problem_mark", None)
        return f"{source}:{mark.line + 1}:{mark.column + 1}: " if mark else f"{source}: "
    if not isinstance(whole, dict):
        return f"{source}: "
    rest = {k: v for k, v in whole.items() if k not in ("columns", "checks", "unique")}
    columns = whole.get("columns")
    for name, column in columns.items() if isinstance(columns, dict) else ():
        if not loads({**rest, "columns": {name: column}}):
            line, col = locate(doc, ["columns", name], at_key=True)
            return f"{source}:{line}:{col}: column {str(name)!r}: "
    if "checks" in whole and not loads({**rest, "columns": {}, "checks": whole["checks"]}):
        line, col = locate(doc, ["checks"], at_key=True)
        return f"{source}:{line}:{col}: checks: "
    return f"{source}: "


def declared_checks(column: Mapping[str, Any]) -> int:
    """How many checks a YAML column declares (flat keys or a ``checks`` list/map)."""
    listed = column.get("checks")
    count = 0 if listed is None else len(listed) if isinstance(listed, list | Mapping) else 1
    return count + sum(1 for k in column if k not in COLUMN_KEYS and is_check(k))


def _same_checks(source: str, doc: Any, schema: pa.DataFrameSchema) -> None:
    columns = doc.get("columns") or {}
    for name, column in columns.items():
        loaded = schema.columns.get(str(name))
        held = len(loaded.checks) if loaded is not None else 0
        wanted = declared_checks(column)
        if held != wanted:
            line, col = locate(doc, ["columns", name], at_key=True)
            raise BadInput(
                f"{source}:{line}:{col}: column {name!r} declares {wanted} check(s) but "
                f"pandera loaded {held}: refusing to validate with fewer checks than written"
            )
    top = doc.get("checks")
    wanted = len(top) if isinstance(top, list | Mapping) else 0
    if len(schema.checks) != wanted:
        line, col = locate(doc, ["checks"], at_key=True)
        raise BadInput(
            f"{source}:{line}:{col}: {wanted} dataframe check(s) declared but pandera "
            f"loaded {len(schema.checks)}: refusing to validate with fewer checks than written"
        )


def _short(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)  # PyYAML's, without its quotes of the text
    text = " ".join(str(problem or exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
