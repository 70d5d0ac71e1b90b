"""The spec's inline columns as plain rules agree with pandera's own schema of them.

:func:`mlgitops.validation.inline_rules.inline` writes down, without importing
pandera, what pandera's ``DataFrameSchema`` of the same columns holds; the
stages read those values. Each inline dtype and check is built both ways
here and compared field by field, and so are the plan, the structural
failures and the schema diff that the stages derive from them.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from mlgitops.spec.model import Column
from mlgitops.validation.diff import describe_schema
from mlgitops.validation.inline_rules import INLINE_DTYPES, inline
from mlgitops.validation.plan import make_plan
from mlgitops.validation.rules import ColumnRule, Schema
from mlgitops.validation.schema import from_yaml_text
from mlgitops.validation.structure import pandera_structure, structure
from tests.conftest import PROJECT

DTYPES = sorted(INLINE_DTYPES)
CHECKS = [
    {},
    {"min": 0},
    {"max": 9.5},
    {"min": -1, "max": 1},
    {"isin": ("a", "b")},
    {"isin": (1, 2, 3)},
    {"regex": "^[a-z]+$"},
    {"min": 0, "isin": (0, 1)},
]
FLAGS = [
    {},
    {"nullable": True},
    {"unique": True},
    {"required": False},
    {"nullable": True, "unique": True, "required": False},
]


def _columns() -> list[Column]:
    found = []
    for i, (dtype, checks, flags) in enumerate(itertools.product(DTYPES, CHECKS, FLAGS)):
        found.append(Column(name=f"c{i}", dtype=dtype, **checks, **flags))  # type: ignore[arg-type]
    return found


def _fields(rule: ColumnRule) -> dict[str, object]:
    values = {f.name: getattr(rule, f.name) for f in fields(rule) if f.name != "target"}
    values["target"] = rule.target()
    return values


def test_every_inline_column_is_what_pandera_makes_of_it() -> None:
    columns = _columns()
    ours = inline(columns, name="p")
    theirs = Schema.of(ours.pandera)
    assert set(ours.columns) == set(theirs.columns) == {c.name for c in columns}
    for name in ours.columns:
        assert _fields(ours.columns[name]) == _fields(theirs.columns[name]), name
    for setting in ("strict", "coerce", "ordered", "unique", "checks"):
        assert getattr(ours, setting) == getattr(theirs, setting), setting


def test_the_plan_and_the_schema_diff_are_the_same_either_way() -> None:
    columns = _columns()
    ours = inline(columns)
    header = [c.name for c in columns]
    mine, pandera = make_plan(ours, header), make_plan(ours.pandera, header)
    assert [(c.name, c.arrow, c.screenable, c.nullable, c.checks) for c in mine.columns] == [
        (c.name, c.arrow, c.screenable, c.nullable, c.checks) for c in pandera.columns
    ]
    assert (mine.unique_keys, mine.frame_checks) == (pandera.unique_keys, pandera.frame_checks)
    assert describe_schema(ours) == describe_schema(ours.pandera)


HEADERS = {
    "exact": ["a", "b", "c", "d"],
    "reordered": ["d", "c", "b", "a"],
    "optional left out": ["a", "b", "c"],
    "required left out": ["a", "c", "d"],
    "unexpected column": ["a", "b", "c", "d", "e"],
    "empty": [],
}


@pytest.mark.parametrize("case", HEADERS)
def test_structural_failures_are_pandera_s(case: str) -> None:
    header = HEADERS[case]
    columns = [
        Column(name="a", dtype="int64"),
        Column(name="b", dtype="str", nullable=True),
        Column(name="c", dtype="float64", min=0),
        Column(name="d", dtype="bool", required=False),
    ]
    fast = structure(inline(columns), tuple(header))
    judged = pandera_structure(Schema.of(inline(columns).pandera), tuple(header))
    assert fast == judged
    assert bool(fast) == (case not in ("exact", "reordered", "optional left out"))


def test_a_schema_file_s_structural_failures_are_pandera_s() -> None:
    """A schema file is pandera's own; where the header names its columns plainly, the
    structure is still judged without running pandera, so it must be what pandera finds,
    for every setting that bears on it (``required``, ``strict``, ``ordered``, regex
    columns, the schema's ``unique``) and headers that leave out, add, repeat or reorder
    columns."""
    chance = random.Random(5)
    names = ["a", "b", "c", "d"]
    asked = 0
    for _ in range(150):
        lines = ["schema_type: dataframe", "columns:"]
        for name in names:
            required = str(chance.random() < 0.7).lower()
            lines.append(f"  {name}: {{dtype: int64, required: {required}}}")
        if chance.random() < 0.2:
            lines.append("  x_\\d: {dtype: int64, regex: true, required: false}")
        strict = chance.choice(["true", "false", "filter"])
        lines += [f"strict: {strict}", f"ordered: {str(chance.random() < 0.2).lower()}"]
        if chance.random() < 0.1:
            lines.append("unique: [a, b]")
        rules = Schema.of(from_yaml_text("s.yaml", "\n".join(lines) + "\n"))
        pool = [*names, "e", "x_1", "a"]
        header = tuple(chance.sample(pool, chance.randint(0, len(pool))))
        expected = pandera_structure(rules, header)
        assert structure(rules.pandera, header) == expected, (lines, header)
        asked += bool(expected)
    assert asked > 30  # many headers have something wrong


CLEAN = """
import json, sys
from pathlib import Path
from mlgitops.data import open_data
from mlgitops.spec.model import Column
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.inline_rules import inline
columns = [Column("id", "int64"), Column("x", "float64", min=0, max=1),
           Column("k", "str", nullable=True)]
if sys.argv[2]:
    columns[0] = Column("id", "int64", unique=True)
    columns.append(Column("n", "int64", isin=(1, 2, 2**70) if sys.argv[2] == "huge" else (1, 2)))
folder = Path(sys.argv[1])
reader = open_data(folder, "clean.csv", fmt=None, workdir=folder)
outcome = validate(reader, inline(columns), Limits(chunk_rows=2))
print(json.dumps([outcome.passed, outcome.rows, sorted(m for m in ("pandas", "pandera")
                                                        if m in sys.modules)]))
"""


def _clean(folder: Path, data: str, columns: str = "", native: bool = False) -> list[object]:
    """(passed, rows, the data libraries imported) of validating ``data``: read in chunks,
    or (``native``) by the native pass where it reads the file."""
    (folder / "clean.csv").write_text(data)
    done = subprocess.run(
        [sys.executable, "-c", CLEAN, str(folder), columns],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MLGITOPS_NATIVE": "1" if native else "0"},
    )
    found: list[object] = json.loads(done.stdout)
    return found


def test_clean_data_is_validated_without_importing_pandera(tmp_path: Path) -> None:
    clean = "id,x,k\n1,0.5,a\n2,0.25,\n3,1,a\n4,0,b\n5,0.75,a\n"
    assert _clean(tmp_path, clean) == [True, 5, []]
    # A unique key and allowed values: pyarrow imports pandas to hash and convert them,
    # pandera stays out; an allowed value pyarrow cannot hold leaves the chunk to pandera.
    more = "id,x,k,n\n1,0.5,a,1\n2,0.25,,2\n3,1,a,1\n"
    assert _clean(tmp_path, more, "more") == [True, 3, ["pandas"]]
    assert _clean(tmp_path, more, "huge") == [True, 3, ["pandas", "pandera"]]
    # A failing value, or a duplicate, still reaches pandera, which judges and reports it.
    assert _clean(tmp_path, "id,x,k\n1,0.5,a\n2,7,b\n") == [False, 2, ["pandas", "pandera"]]
    assert _clean(tmp_path, "id,x,k,n\n1,0.5,a,1\n1,0.5,b,2\n", "more")[:2] == [False, 2]
    # The native pass reads such a file without either.
    assert _clean(tmp_path, more, "more", native=True) == [True, 3, []]


def test_an_integer_that_does_not_fit_its_column_is_a_dtype_failure(tmp_path: Path) -> None:
    from mlgitops.data import open_data
    from mlgitops.validation.engine import Limits, validate

    (tmp_path / "d.csv").write_text(
        "n,m\n1,1\n3000000000,2\n-2147483649,3\n2147483647,inf\n-2147483648,1e309\n"
        "5,9223372036854775808\n6,x\n7,9223372036854775807\n"
    )
    reader = open_data(tmp_path, "d.csv", fmt=None, workdir=tmp_path)
    columns = [Column(name="n", dtype="int32", min=-(2**31)), Column(name="m", dtype="int64")]
    outcome = validate(reader, inline(columns), Limits(chunk_rows=2))
    found = {(f.column, f.check): [(e.row, e.value) for e in f.examples] for f in outcome.failures}
    assert found == {
        ("n", "dtype('int32')"): [(2, "3000000000"), (3, "-2147483649")],
        ("m", "dtype('int64')"): [(4, "inf"), (5, "1e309"), (6, "9223372036854775808"), (7, "x")],
    }


def test_a_gap_in_a_nullable_inline_integer_column_passes_in_every_chunk(tmp_path: Path) -> None:
    """``nullable: true`` on an inline integer column allows a missing value (pandas'
    nullable ``Int64``), in a chunk the screen clears as in one pandera judges; a gap in
    a column that is not nullable fails there, and only there."""
    from mlgitops.data import open_data
    from mlgitops.validation.engine import Limits, validate

    chunks = ["1,1,0.5\n,2,0.5\n", "3,,0.5\n,4,7\n", "-1,5,0.5\n,6,0.5\n"]
    (tmp_path / "d.csv").write_text("n,m,x\n" + "".join(chunks))
    columns = [
        Column(name="n", dtype="int64", nullable=True, min=0),
        Column(name="m", dtype="int32"),
        Column(name="x", dtype="float64", min=0, max=1),
    ]
    reader = open_data(tmp_path, "d.csv", fmt=None, workdir=tmp_path)
    outcome = validate(reader, inline(columns), Limits(chunk_rows=2))
    found = {(f.column, f.check): [e.row for e in f.examples] for f in outcome.failures}
    assert found == {
        ("m", "not_nullable"): [3],
        ("x", "in_range(0, 1)"): [4],
        ("n", "greater_than_or_equal_to(0)"): [5],
    }
    assert [c.words for c in inline(columns).columns.values()] == ["Int64", "int32", "float64"]


@pytest.mark.parametrize(
    ("schema", "declared"),
    [
        ("columns:\n  f: {regex: true, dtype: float64}\n  f2x: {dtype: int64}\n",
         {"f1": "float64", "f2x": "int64", "ff": "float64"}),
        ("dtype: float64\ncoerce: true\ncolumns:\n  f: {regex: true, dtype: int64}\n  g: {}\n",
         {"f1": "float64", "f2x": "float64", "ff": "float64", "g": "float64"}),
    ],
    ids=["regex", "schema-wide-dtype"],
)  # fmt: skip
def test_the_features_are_the_declared_columns_as_validation_judges_them(
    schema: str, declared: dict[str, str]
) -> None:
    """A regex column stands for the names it matches from their start, as in pandera;
    a column the schema names is its own; a schema-wide dtype types them all (and, coercing,
    the columns it does not declare, which are judged but are no features)."""
    from mlgitops.features import declared_columns

    rules = from_yaml_text("s.yaml", "schema_type: dataframe\n" + schema)
    header = ["f1", "f2x", "g", "ff", "xf"]
    plan = make_plan(rules, header)
    judged = {c.name: c.rule.words for c in plan.columns if c.rule is not rules.others}
    assert dict(declared_columns(rules, header)) == judged == declared


def test_a_wide_file_s_columns_are_matched_to_the_schema_s_regex_columns_alone() -> None:
    """The schema's regex columns are found once, not again for each column of the file: a
    schema of thousands of columns made the plan quadratic (40,000 columns took minutes)."""

    class Counted(dict[str, ColumnRule]):
        walks = 0

        def items(self):  # type: ignore[no-untyped-def]
            Counted.walks += 1
            return super().items()

    names = [f"c{i}" for i in range(300)]
    schema = from_yaml_text(
        "s.yaml",
        "schema_type: dataframe\ncolumns:\n"
        + "".join(f"  {n}: {{dtype: float64}}\n" for n in names)
        + "  '^x_':\n    dtype: float64\n    regex: true\n",
    )
    rules = Schema.of(schema)
    object.__setattr__(rules, "columns", Counted(rules.columns))
    made = make_plan(rules, [*names, "x_1", "x_2"])
    assert [c.name for c in made.columns] == [*names, "x_1", "x_2"]
    assert made.columns[-1].rule is rules.columns["^x_"]
    assert Counted.walks < 10
