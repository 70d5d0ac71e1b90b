"""What a schema file's checks are given, held to what each check takes and to what the
column holds.

pandera loads a check with an argument it does not take, and its function then fails on
whatever it judges; and a column of text never equals or orders with a number, so a
check that takes one fails every value (or, ``notin``, none). Both are refused at the
place the file writes them, with the places found in the file's three ways of writing a
check: a flat key, an entry of a ``checks`` mapping, one of a ``checks`` list. So is a
date column's bound written as a number, which pandera reads as a date only with a
deprecation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlgitops.errors import Problem, SpecError
from mlgitops.spec.positions import locate
from mlgitops.validation import yaml_rules
from mlgitops.validation.rules import DATA_FILE, TextOnly

if TYPE_CHECKING:
    import pandera.pandas as pa


def problem_at(source: str, doc: Any, path: Sequence[str | int], message: str) -> Problem:
    """A problem at ``path`` in the YAML document ``doc`` of file ``source``."""
    line, col = locate(doc, path, at_key=True)
    return Problem(source, line, col, message)


def known_arguments(source: str, doc: Mapping[str, Any], schema: pa.DataFrameSchema) -> None:
    """SpecError at each argument a check does not take. pandera loads it and hands it to
    the check's function, which then fails on whatever it judges (a TypeError, reported as
    the check failing); the screen decides such a check from its own arguments and passes
    the rows pandera is never asked about. A misspelt option (``include_mx: false``) is
    otherwise a check other than the one written."""
    problems = []
    columns = doc.get("columns") or {}
    for name, column in columns.items():
        loaded = schema.columns.get(str(name))
        if loaded is not None and isinstance(column, Mapping):
            where = ["columns", name]
            label = f"column {str(name)!r}: "
            problems += _unknown_arguments(source, doc, where, column, loaded.checks, label)
    problems += _unknown_arguments(source, doc, [], doc, schema.checks, "")
    if problems:
        raise SpecError(problems)


def _unknown_arguments(
    source: str, doc: Any, where: list[Any], holder: Mapping[str, Any], checks: Any, label: str
) -> list[Problem]:
    found = []
    for check in checks:
        taken = list(check.statistics or {})
        for argument in sorted(set(getattr(check, "_check_kwargs", None) or {}) - set(taken)):
            path = [*where, *_argument_path(holder, check.name, argument)]
            known = f"it takes {', '.join(taken)}" if taken else "it takes none"
            message = f"{label}{check.name} has no argument {argument!r} ({known})"
            found.append(problem_at(source, doc, path, message))
    return found


def _argument_path(holder: Mapping[str, Any], check: str, argument: str) -> list[Any]:
    """Where a check's argument is written, within a column (or the schema), under the
    check's name or its short one; else the check's holder."""
    for name, path, value in written_checks(holder):
        named = SHORT_NAMES.get(name, name) == check
        if named and isinstance(value, Mapping) and argument in value:
            return [*path, argument]
    return []


#: pandera's short names of checks, as a schema file may write them.
SHORT_NAMES = {
    "gt": "greater_than",
    "ge": "greater_than_or_equal_to",
    "lt": "less_than",
    "le": "less_than_or_equal_to",
    "eq": "equal_to",
    "ne": "not_equal_to",
    "between": "in_range",
}
#: Checks that compare each value with their arguments, or look it up among them.
_VALUE_CHECKS = frozenset(yaml_rules.CHECKS | {"not_equal_to"})
#: dtypes whose values are text, however the file stores them.
TEXT = frozenset(yaml_rules.TEXT_DTYPES | {"object", "string[pyarrow]", "string[python]"})


def numbers_against_text(
    source: str, doc: Any, name: str, column: Mapping[str, Any], had: str
) -> Iterator[Problem]:
    """A problem at each check that compares a column of text (its dtype ``had``) with a
    number, or looks one up: text never equals or orders with a number, so the check fails
    every value (a TypeError for an order), or, ``notin``, none. ``column``: as pandera
    reads it (:func:`as_read`), placed in ``doc``, the file's own reading."""
    for check, path, value in written_checks(column):
        if SHORT_NAMES.get(check, check) not in _VALUE_CHECKS:
            continue
        values = _values(value)
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        booleans = [v for v in values if isinstance(v, bool)]
        if numbers:
            message = (
                f"column {name!r}: {check} takes {numbers[0]!r}, a number, but the column "
                f"{had}: its values are text, which never equal or order with a number; "
                "declare its numeric dtype (dtype: float64, int64 ...)"
            )
        elif booleans:  # yes, no, on, off: YAML 1.1's booleans (the 'Norway problem')
            message = (
                f"column {name!r}: {check} takes {str(booleans[0]).lower()}, a boolean as "
                f"pandera's YAML reads the word unquoted, but the column {had}: its values "
                "are text, which never equal a boolean; quote the word"
            )
        else:
            continue
        yield problem_at(source, doc, ["columns", name, *path], message)


def column_dtype(doc: Any, name: Any, column: Mapping[str, Any]) -> tuple[Any, list[Any], str]:
    """The dtype pandera gives a column, as the file writes it: the schema's own ``dtype``
    over the column's; where it is written, and what a message says of it."""
    wide = doc.get("dtype") if isinstance(doc, Mapping) else None
    if wide is not None:
        return wide, ["dtype"], f"is {wide}, the schema's dtype"
    return column.get("dtype"), ["columns", name, "dtype"], f"is {column.get('dtype')}"


def as_read(read: Any, name: Any, column: Any) -> Any:
    """The column ``name`` of the document ``read`` as pandera reads it, where that reading
    has it by the same name; else ``column``, the file's own reading."""
    columns = read.get("columns") if isinstance(read, Mapping) else None
    found = columns.get(name) if isinstance(columns, Mapping) else None
    return found if isinstance(found, Mapping) else column


def numbers_if_text(source: str, doc: Any, read: Any = None) -> dict[str, TextOnly]:
    """Each column without a dtype whose checks take a number, with its problems where the
    data holds it as text (every column of a CSV file; a Parquet column stored as text),
    which pandas would have read as numbers where they all parse. ``read``: the document
    as pandera reads it, whose values the checks are given."""
    found = {}
    columns = doc.get("columns") if isinstance(doc, Mapping) else None
    for name, column in (columns or {}).items():
        if isinstance(column, Mapping) and column_dtype(doc, name, column)[0] is None:
            had = f"has no dtype, and {DATA_FILE} holds it as text"
            values = as_read(read, name, column)
            problems = tuple(numbers_against_text(source, doc, str(name), values, had))
            if problems:
                found[str(name)] = TextOnly(reads_true(column.get("regex")), problems)
    return found


def reads_true(value: Any) -> bool:
    """Whether pandera's YAML 1.1 reads ``value`` as true (``yes`` and ``on`` too, which
    the file's own reading leaves as words)."""
    if isinstance(value, str):
        return value in {word for w in ("true", "yes", "on") for word in (w, w.title(), w.upper())}
    return value is True


def written_checks(column: Mapping[str, Any]) -> Iterator[tuple[str, list[Any], Any]]:
    """Each check a column declares: its name, where it is written, and its arguments (flat
    keys, a ``checks`` mapping, or a ``checks`` list in pandera's own form)."""
    for key, value in column.items():
        if key != "checks" and isinstance(key, str):
            yield key, [key], value
    listed = column.get("checks")
    if isinstance(listed, Mapping):
        for key, value in listed.items():
            yield str(key), ["checks", key], value
    elif isinstance(listed, list):
        for index, entry in enumerate(listed):
            options = entry.get("options") if isinstance(entry, Mapping) else None
            if isinstance(options, Mapping):
                stats = {k: v for k, v in entry.items() if k != "options"}
                yield str(options.get("check_name")), ["checks", index], stats


#: The arguments of :data:`_VALUE_CHECKS` that hold the values compared or looked up.
_VALUE_ARGUMENTS = ("min_value", "max_value", "value", "allowed_values", "forbidden_values")


def _values(value: Any) -> list[Any]:
    """The values a check compares with or looks up: its one argument as written (a scalar
    or a list), or those of its named arguments (not its options, ``n_failure_cases`` …)."""
    if isinstance(value, Mapping):
        return [v for key in _VALUE_ARGUMENTS if key in value for v in _values(value[key])]
    if isinstance(value, list):
        return [v for part in value for v in _values(part)]
    return [value]


def numbers_for_dates(source: str, doc: Mapping[str, Any]) -> Problem | None:
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
        entries = [([*where, key], column[key]) for key in column if is_check(key)]
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


def is_check(key: Any) -> bool:
    """Whether pandera's ``Check`` has a built-in or registered check of that name."""
    from pandera.api.checks import Check

    return callable(getattr(Check, str(key), None))
