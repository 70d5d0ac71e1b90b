"""The data schema: pandera's own YAML format, or the spec's inline ``data.columns``.

pandera's YAML loader silently ignores keys it does not know, and a check
pandera cannot rebuild is dropped when a schema is written. Here every key of
the YAML is accounted for before pandera loads it, and the loaded schema must
hold every check the file declares: weaker validation than written is an
error (exit 2), never a silent outcome.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import fsio
from mlgitops.errors import BadInput, Problem, SpecError
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.checks import TARGET_NULLABLE
from mlgitops.spec.loader import parse_yaml
from mlgitops.spec.model import Pipeline
from mlgitops.spec.positions import locate
from mlgitops.validation import yaml_rules
from mlgitops.validation.check_arguments import (
    SHORT_NAMES,
    TEXT,
    as_read,
    column_dtype,
    known_arguments,
    numbers_against_text,
    numbers_if_text,
    problem_at,
    reads_true,
    written_checks,
)
from mlgitops.validation.inline_rules import inline
from mlgitops.validation.rules import Schema

if TYPE_CHECKING:
    import pandera.pandas as pa

TOP_KEYS = frozenset(
    [
        "schema_type",
        "version",
        "api",
        "dataframe_library",
        "columns",
        "index",
        "checks",
        "dtype",
        "coerce",
        "strict",
        "name",
        "ordered",
        "unique",
        "report_duplicates",
        "unique_column_names",
        "add_missing_columns",
        "title",
        "description",
        "metadata",
        "drop_invalid_rows",
        "multiindex",
    ]
)
COLUMN_KEYS = frozenset(
    [
        "title",
        "description",
        "dtype",
        "nullable",
        "checks",
        "name",
        "unique",
        "coerce",
        "required",
        "regex",
        "default",
        "report_duplicates",
        "drop_invalid_rows",
    ]
)


#: What ``report_duplicates`` may say: which occurrences of a duplicate fail (pandera
#: refuses anything else only once a ``unique`` check runs).
REPORT_DUPLICATES = ("all", "exclude_first", "exclude_last")


def load_schema(repo: Path, pipeline: Pipeline) -> Schema:
    """The pipeline's schema: ``data.schema`` (pandera YAML) or ``data.columns``."""
    data = pipeline.data
    if data.schema:
        path = repo / data.schema
        try:
            text = fsio.read_file(path).decode("utf-8")
        except FileNotFoundError as exc:
            raise BadInput(
                f"{data.schema}: no such file (data.schema in {pipeline.source})"
            ) from exc
        except OSError as exc:
            raise BadInput(f"{data.schema}: cannot be read ({exc.strerror or exc})") from exc
        except UnicodeDecodeError as exc:
            raise BadInput(f"{data.schema}: not UTF-8 text ({exc.reason})") from exc
        try:
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
            dated = _numbers_for_dates(source, doc)
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


def _numbers_for_dates(source: str, doc: Mapping[str, Any]) -> Problem | None:
    """The first check of a date column whose bound is a number, not a date.

    pandera reads each bound of a date column's check as a date, and a number as one
    only with a deprecation (in a later pandas, as nanoseconds since 1970); kept a
    number, its comparison with every date raises on every run.
    """
    from pandera.engines import pandas_engine

    dates = pandas_engine.Engine.dtype(pandas_engine.DateTime)
    columns = doc.get("columns")
    for name, column in columns.items() if isinstance(columns, Mapping) else ():
        if not isinstance(column, Mapping):
            continue
        dtype, _, had = column_dtype(doc, name, column)
        if not isinstance(dtype, str):
            continue
        try:
            if not dates.check(pandas_engine.Engine.dtype(dtype)):
                continue
        except Exception:  # a dtype pandera does not know: its own message says so
            continue
        for path, value in _check_bounds(["columns", name], column):
            if isinstance(value, int | float) and not isinstance(value, bool):
                line, col = locate(doc, path)
                return Problem(
                    source,
                    line,
                    col,
                    f"column {str(name)!r}: {path[-1]}: {value!r} is a number, and the "
                    f"column {had}: write the bound as a date "
                    "('2024-01-01 00:00:00')",
                )
    return None


def _check_bounds(where: list[Any], column: Mapping[str, Any]) -> Iterator[tuple[list[Any], Any]]:
    """(path, value) of each value a column's checks are given, flat keys or ``checks``."""
    listed = column.get("checks")
    if listed is None:
        entries = [([*where, key], column[key]) for key in column if _is_check(key)]
    elif isinstance(listed, Mapping):
        entries = [([*where, "checks", key], value) for key, value in listed.items()]
    elif isinstance(listed, list):
        entries = [([*where, "checks", i], entry) for i, entry in enumerate(listed)]
    else:
        entries = []
    for path, value in entries:
        if isinstance(value, Mapping):
            for arg, stat in value.items():
                if arg != "options":
                    yield [*path, arg], stat
        else:
            yield path, value


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


def audit(
    source: str, doc: Mapping[str, Any], read: Any = None, text: str = ""
) -> Iterator[Problem]:
    """Keys pandera would ignore without a word, and shapes it cannot load; ``read``: the
    document as pandera reads it (:func:`~mlgitops.validation.yaml_rules.as_pandera_reads`),
    whose values the checks are given; ``text``: the file's."""
    for key in doc:
        if key not in TOP_KEYS:
            yield problem_at(source, doc, [key], f"unknown key {key!r}: pandera would ignore it")
    kind = doc.get("schema_type", "dataframe")
    if kind != "dataframe":
        message = f"schema_type {kind!r}: only dataframe schemas can validate a data file"
        yield problem_at(source, doc, ["schema_type"], message)
    unique = doc.get("unique")
    if unique is not None and not isinstance(unique, str | list):
        message = f"unique: expected a column name or a list of them, not {unique!r}"
        yield problem_at(source, doc, ["unique"], message)
    elif unique:
        yield from _unique_declared(source, doc, read)
    name = doc.get("name")
    if name is not None and not isinstance(name, str):
        message = (
            f"name: expected text, not {name!r} (pandera names the structure's failures by it)"
        )
        yield problem_at(source, doc, ["name"], message)
    index = doc.get("index")
    if index is not None and not (
        isinstance(index, list) and index and all(isinstance(i, Mapping) for i in index)
    ):
        message = f"index: expected a list of the index's levels, each a mapping, not {index!r}"
        yield problem_at(source, doc, ["index"], message)
    yield from _report_duplicates(source, doc, [], doc)
    yield from _renamed_checks(source, doc, [], doc)
    yield from _changes_the_data(source, doc, [], doc, read if isinstance(read, Mapping) else doc)
    columns = doc.get("columns") or {}
    if not isinstance(columns, Mapping):
        yield problem_at(source, doc, ["columns"], "columns: expected a mapping of column names")
        return
    for name, column in columns.items():
        yield from _audit_column(source, doc, str(name), column, as_read(read, name, column))
    yield from _names_not_text(source, doc, read, text)


def _names_not_text(source: str, doc: Any, read: Any, text: str) -> Iterator[Problem]:
    """A problem at each column name pandera reads as a number, a boolean, a date or null:
    a data file's column names are text, so that column is never found, and its checks
    never run (nor are they counted as its: ``str()`` of the name finds nothing). Each
    name is read as pandera's YAML reads it where the file writes it plainly (two names
    may then be one: ``yes`` and ``true``)."""
    import yaml

    columns = doc.get("columns")
    if not isinstance(columns, Mapping) or read is None:
        return
    lines = text.splitlines()
    resolver = yaml.resolver.Resolver()
    for name in columns:
        line, col = locate(doc, ["columns", name], at_key=True)
        rest = lines[line - 1][col - 1 :] if 0 < line <= len(lines) else ""
        key = re.match(r"(.*?):(\s|$)", rest)
        written = key.group(1).strip() if key else str(name)
        if written.startswith(("'", '"')):
            continue  # quoted: text
        tag = resolver.resolve(yaml.ScalarNode, written, (True, False))  # type: ignore[no-untyped-call]
        if tag == "tag:yaml.org,2002:str":
            continue
        try:
            value = yaml.safe_load(written)
        except yaml.YAMLError:
            continue
        message = (
            f"column {written}: pandera reads this name as {_reading(value)}, "
            f"not as text, and no data file's column is named so; quote it: '{written}'"
        )
        yield Problem(source, line, col, message)


#: Settings with which pandera changes the data it judges, each with what it would do.
_CHANGES = {
    "drop_invalid_rows": "drop the rows that fail and pass the rest",
    "add_missing_columns": "add a column the file lacks, filled with its default, and judge that",
    "default": "fill the column's gaps with it before judging them",
}


def _changes_the_data(
    source: str, doc: Any, where: list[Any], holder: Mapping[str, Any], read: Mapping[str, Any]
) -> Iterator[Problem]:
    """A problem at each setting with which pandera would judge other data than the file
    holds (``read``: ``holder`` as pandera reads it): validate judges every row of the file
    as it is, and the stages take it so. pandera acts on a flag that is truthy, and on a
    ``default`` that is not a gap itself (``false`` and ``0`` fill gaps too)."""
    import math

    for key, does in _CHANGES.items():
        if key not in holder or key not in read:
            continue
        value = read[key]
        if key == "default":
            acts = value is not None and not (isinstance(value, float) and math.isnan(value))
        else:
            acts = (
                bool(value) if isinstance(value, bool | int | float | str | list | dict) else True
            )
        if acts:
            message = (
                f"{'column ' + repr(str(where[-1])) + ': ' if where else ''}{key}: pandera "
                f"would {does}; validate judges the file as it is, and train takes it so: "
                "remove it"
            )
            yield problem_at(source, doc, [*where, key], message)


def _renamed_checks(
    source: str, doc: Any, where: list[Any], holder: Mapping[str, Any]
) -> Iterator[Problem]:
    """A problem at each check whose ``options`` give it a ``name`` other than its own (a
    ``checks`` list entry's ``check_name``, or the key it is written under): pandera runs
    the check its name says, and reports it, and the screen reads it, under the other."""
    listed = holder.get("checks")
    for own, path, value in written_checks(holder):
        # a checks list entry's options are not among the arguments the walk gives
        entry = listed[path[1]] if isinstance(listed, list) and len(path) == 2 else value
        options = entry.get("options") if isinstance(entry, Mapping) else None
        if not isinstance(options, Mapping) or "name" not in options:
            continue
        name = options["name"]
        if name != own and name != SHORT_NAMES.get(str(own), own):
            message = (
                f"options: name: {name!r} would report the check {own!r} under another "
                "check's name; remove it"
            )
            yield problem_at(source, doc, [*where, *path, "options", "name"], message)


def _unique_declared(source: str, doc: Mapping[str, Any], read: Any) -> Iterator[Problem]:
    """A problem at ``unique`` for the first name in it that no column of the schema stands
    for, where pandera would compare its values as pandas guesses their type: not where a
    schema-wide dtype, coercing or with no column declared, types every column."""
    from mlgitops.validation.rules import regex_names

    unique = doc.get("unique")
    names = [unique] if isinstance(unique, str) else unique if isinstance(unique, list) else []
    columns = doc.get("columns")
    columns = columns if isinstance(columns, Mapping) else {}
    settings = read if isinstance(read, Mapping) else doc
    odd = [name for name in names if not isinstance(name, str)]
    if odd:
        yield problem_at(source, doc, ["unique"], f"unique: {odd[0]!r} is not a column name")
        return
    if settings.get("dtype") is not None and settings.get("strict") != "filter":
        coerced = reads_true(settings.get("coerce")) or any(
            isinstance(c, Mapping) and reads_true(c.get("coerce")) for c in columns.values()
        )
        if coerced or not columns:
            return
    patterns = []
    for key, column in columns.items():
        if isinstance(column, Mapping) and reads_true(column.get("regex")):
            try:
                patterns.append(re.compile(str(key)))
            except re.error:
                continue  # refused where its name is written
    for name in names:
        if name in columns or any(regex_names(p.pattern, name) for p in patterns):
            continue
        message = (
            f"unique: {name!r} is not a column of the schema, nor one a regex column stands "
            "for; declare it, with the dtype its values are compared as"
        )
        yield problem_at(source, doc, ["unique"], message)
        return


def _reading(key: Any) -> str:
    """What YAML made of a name that is not text, in words."""
    if key is None or isinstance(key, bool):
        return "null" if key is None else str(key).lower()
    if isinstance(key, int | float):
        return f"the number {key!r}"
    return f"a {type(key).__name__} ({key})"


def _audit_column(
    source: str, doc: Any, name: str, column: Any, values: Mapping[str, Any]
) -> Iterator[Problem]:
    where = ["columns", name]
    if name == ROW:
        yield problem_at(source, doc, where, ROW_RESERVED)
    if not isinstance(column, Mapping):
        yield problem_at(source, doc, where, f"column {name!r}: expected a mapping")
        return
    yield from _report_duplicates(source, doc, where, column)
    yield from _renamed_checks(source, doc, where, column)
    yield from _changes_the_data(source, doc, where, column, values)
    for key in column:
        if key in COLUMN_KEYS or key in yaml_rules.CHECKS or _is_check(key):
            continue
        message = (
            f"column {name!r}: {key!r} is neither a column setting nor a built-in or "
            "registered pandera check; pandera would ignore it"
        )
        yield problem_at(source, doc, [*where, key], message)
    dtype, _, had = column_dtype(doc, name, column)
    if dtype is not None and str(dtype) in TEXT:
        yield from numbers_against_text(source, doc, name, values, had)


def _report_duplicates(
    source: str, doc: Any, where: list[str], settings: Mapping[str, Any]
) -> Iterator[Problem]:
    """A problem where ``report_duplicates`` (the schema's, or a column's at ``where``) is
    none that pandera knows."""
    value = settings.get("report_duplicates", "all")
    if isinstance(value, str) and value in REPORT_DUPLICATES:
        return
    column = f"column {where[-1]!r}: " if where else ""
    message = (
        f"{column}report_duplicates: expected all, exclude_first or exclude_last, not {value!r}"
    )
    yield problem_at(source, doc, [*where, "report_duplicates"], message)


def _is_check(key: Any) -> bool:
    """Whether pandera's ``Check`` has a built-in or registered check of that name."""
    from pandera.api.checks import Check

    return callable(getattr(Check, str(key), None))


def declared_checks(column: Mapping[str, Any]) -> int:
    """How many checks a YAML column declares (flat keys or a ``checks`` list/map)."""
    listed = column.get("checks")
    count = 0 if listed is None else len(listed) if isinstance(listed, list | Mapping) else 1
    return count + sum(1 for k in column if k not in COLUMN_KEYS and _is_check(k))


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
