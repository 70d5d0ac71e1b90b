"""A pandera YAML schema file's keys and shapes, audited before pandera loads it.

pandera's YAML loader silently ignores keys it does not know, and loads settings with
which it would judge other data than the file holds. :func:`audit` finds each such key
or setting, every shape pandera cannot load, and every column name it would read as
anything but text, at the place the file writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mlgitops.errors import Problem
from mlgitops.outputs import ROW, ROW_RESERVED
from mlgitops.spec.positions import locate
from mlgitops.validation import yaml_rules
from mlgitops.validation.check_arguments import (
    SHORT_NAMES,
    TEXT,
    as_read,
    column_dtype,
    is_check,
    numbers_against_text,
    problem_at,
    reads_true,
    written_checks,
)

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
    elif isinstance(index, list) and len(index) > 1:
        message = (
            f"index: {len(index)} levels, and a data file is read with one index, its row "
            "numbers: declare one level at most"
        )
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
        if key in COLUMN_KEYS or key in yaml_rules.CHECKS or is_check(key):
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
