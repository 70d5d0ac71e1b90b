"""How to read and check one data file against one schema, decided once from its header.

Each schema column present in the file gets an Arrow type to read it as.
When that type maps exactly onto the pandera dtype and every check of the
column is one :mod:`mlgitops.validation.screen` can decide with Arrow
compute, clean chunks never reach pandera; anything else (and any chunk
the screen cannot clear) is validated by pandera itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mlgitops.validation.failures import COLUMN_UNIQUE, TABLE_UNIQUE
from mlgitops.validation.rules import ColumnRule, Schema, regex_names, with_schema_dtype

if TYPE_CHECKING:
    import pandera.pandas as pa
    import pyarrow

#: Checks whose result only means something over the whole table.
TABLE_CHECKS = frozenset({"unique_values_eq"})


@dataclass(frozen=True)
class ColumnPlan:
    """One column of the file that the schema describes."""

    name: str
    #: The Arrow type to read it as (text when pandera must coerce).
    arrow: pyarrow.DataType
    #: The schema's column (or regex of columns) it falls under.
    rule: ColumnRule
    #: Arrow type equals what pandera expects, and all checks are screenable.
    screenable: bool
    nullable: bool
    checks: tuple[Any, ...] = ()

    @property
    def kind(self) -> str:
        """numpy's kind of the values pandera expects (``i``, ``u``, ``f``, ``b``, ...)."""
        return self.rule.kind

    @property
    def target(self) -> Any:
        """The dtype pandera expects (for the text-to-number fallback)."""
        return self.rule.target()


def coerced_bool(column: ColumnPlan) -> bool:
    """Whether pandera coerces ``column`` to numpy's ``bool``, which holds no gap: it makes
    one a boolean (:func:`bool_gaps`). pandas' ``boolean`` and ``bool[pyarrow]`` keep it."""
    return column.rule.coerce and column.rule.dtype == "bool"


def bool_gaps(plan: Plan, gap_as_bool: Callable[[str], bool | None]) -> dict[str, bool]:
    """What pandera's coercion makes a gap of each :func:`coerced_bool` column, as the
    reader's ``gap_as_bool`` says: True where pandas reads it as NaN (a CSV file, a Parquet
    file's numbers or text), False where it reads None (a Parquet file's booleans). Nullable
    or not: the coerced column holds no gap to refuse. A column whose gap the cast does not
    make a boolean (pandas' ``NA``) is not here: pandera judges it as pandas reads it."""
    found = {c.name: gap_as_bool(c.name) for c in plan.columns if coerced_bool(c)}
    return {name: gap for name, gap in found.items() if gap is not None}


@dataclass(frozen=True)
class Plan:
    """Everything decided from the schema and the file's header."""

    header: tuple[str, ...]
    columns: tuple[ColumnPlan, ...]
    schema: Schema
    #: Dataframe-level checks (or an index) exist: pandera must see whole chunks.
    frame_checks: bool
    #: Column sets that must be unique over the whole table, each with pandera's checks of it
    #: (a column's ``unique``, the schema's) and which occurrences of a duplicate each fails
    #: (its ``report_duplicates``).
    unique_keys: dict[tuple[str, ...], dict[str, str]]
    #: (column, the check) of each table-wide ``unique_values_eq``: a column may have
    #: several, from each schema column that stands for it.
    value_sets: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def declared(self) -> list[str]:
        """The columns the schema declares (by name or regex): what the stages take. Not
        those judged only as a schema-wide dtype's (:attr:`Schema.others`)."""
        return [c.name for c in self.columns if c.rule is not self.schema.others]

    @cached_property
    def chunk_schema(self) -> Any:
        """The pandera schema chunks are validated with: table-wide parts taken out
        (built, and pandera imported, when a chunk first needs it)."""
        return _chunk_schema(self.schema.pandera, self.header)

    def types(
        self, text: frozenset[str], *, as_stored: bool = False
    ) -> dict[str, pyarrow.DataType]:
        """Arrow read types; the columns in ``text`` as strings. ``as_stored``: the file
        stores each column's type (Parquet), and a column pandera does not coerce is read as
        stored, as pandas reads it (pandera judges that dtype): none is given."""
        import pyarrow as pa

        return {
            c.name: pa.string() if c.name in text else c.arrow
            for c in self.columns
            if c.name in text or c.rule.coerce or not as_stored
        }


def make_plan(schema: Schema | pa.DataFrameSchema, header: Sequence[str]) -> Plan:
    """The plan for a file whose header is ``header``."""
    import pyarrow

    from mlgitops.validation.screen import screenable

    rules = Schema.of(schema)
    regexes = [(str(k), c) for k, c in rules.columns.items() if c.regex]
    columns = []
    for name in header:
        under = _columns_for(rules, regexes, name)
        rule = under[0] if under else rules.others
        if rule is None:
            continue
        checks = tuple(c for c in rule.checks if c.name not in TABLE_CHECKS)
        # a column that more than one schema column stands for has each one's checks,
        # which pandera runs all of
        alone = len(under) < 2
        ok = rule.exact and not rule.regex and alone and all(screenable(c) for c in checks)
        arrow = pyarrow.type_for_alias(rule.arrow)
        columns.append(ColumnPlan(name, arrow, rule, ok, rule.nullable, checks))
    return Plan(
        header=tuple(header),
        columns=tuple(columns),
        schema=rules,
        frame_checks=bool(rules.checks) or rules.index,
        unique_keys=_unique_keys(rules, header),
        value_sets=_value_sets(rules, header),
    )


def _columns_for(
    schema: Schema, regexes: Sequence[tuple[str, ColumnRule]], name: str
) -> list[ColumnRule]:
    """The schema's columns that stand for the column ``name``: its own, then each regex
    column (of ``regexes``, the schema's) that matches it (pandera judges it by all of
    them). None: the rule pandera gives the columns a schema does not declare, if any
    (:attr:`Schema.others`)."""
    named = schema.columns.get(name)
    found = [named] if named is not None and not named.regex else []
    found += [c for k, c in regexes if regex_names(k, name)]
    return found


def _chunk_schema(schema: pa.DataFrameSchema, header: Sequence[str]) -> Any:
    """The schema minus what is checked once per table: structure, uniqueness; a
    schema-wide dtype written into the columns it types."""
    chunk = copy.deepcopy(with_schema_dtype(schema, header))
    missing = [n for n, c in chunk.columns.items() if not c.regex and n not in header]
    chunk = chunk.remove_columns(missing) if missing else chunk
    chunk.unique = None
    chunk.strict = False
    chunk.ordered = False
    chunk.drop_invalid_rows = False
    for column in chunk.columns.values():
        column.unique = False
        column.drop_invalid_rows = False
        column.checks = [c for c in column.checks if c.name not in TABLE_CHECKS]
        for check in column.checks:
            check.n_failure_cases = None  # count every failing row, not the first few
    for check in chunk.checks:
        check.n_failure_cases = None
    return chunk


def _unique_keys(schema: Schema, header: Sequence[str]) -> dict[tuple[str, ...], dict[str, str]]:
    """Each key's checks: a column's ``unique`` and the schema's naming that column alone
    are two, each with its own ``report_duplicates``, as in pandera. Where two schema
    columns (its own, a regex) ask ``unique`` of one column, a row fails where either's
    report says it does: every occurrence, unless both spare the same one."""
    keys: dict[tuple[str, ...], dict[str, str]] = {}
    for key, column in schema.columns.items():
        if column.unique:
            for name in _stands_for(key, column, header):
                checks = keys.setdefault((name,), {})
                report = checks.setdefault(COLUMN_UNIQUE, column.report_duplicates)
                if report != column.report_duplicates:
                    checks[COLUMN_UNIQUE] = "all"
    table = schema.unique
    if table:
        # pandera judges the names of the key the file has, each once
        names = tuple(dict.fromkeys((table,) if isinstance(table, str) else table))
        present = tuple(n for n in names if n in header)
        if present:
            keys.setdefault(present, {})[TABLE_UNIQUE] = schema.report_duplicates
    return keys


def _value_sets(schema: Schema, header: Sequence[str]) -> list[tuple[str, Any]]:
    return [
        (name, check)
        for key, column in schema.columns.items()
        for check in column.checks
        if check.name in TABLE_CHECKS
        for name in _stands_for(key, column, header)
    ]


def _stands_for(key: str, column: ColumnRule, header: Sequence[str]) -> list[str]:
    """The columns of ``header`` a schema column stands for: itself, or each its regex
    matches."""
    if column.regex:
        return [name for name in header if regex_names(str(key), name)]
    return [key] if key in header else []
