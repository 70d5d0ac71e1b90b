"""Each dtype a schema file may name, judged as plain pandera judges pandas' frame.

A column of every numeric and boolean dtype pandera knows (numpy's, pandas'
nullable ones such as ``Int64``, Arrow-backed ones such as ``int64[pyarrow]``)
is written with clean values, missing values, text, fractions and values out
of the type's range. The file is validated in chunks of two rows, so a chunk
the screen clears sits beside one that pandera judges, and the verdict and the
failing rows must be those of ``pandas.read_csv`` then ``schema.validate``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from mlgitops.data import open_data
from mlgitops.validation.engine import Limits, validate
from mlgitops.validation.schema import from_yaml_text

INTEGERS = ["int64", "int32", "uint8", "Int64", "Int8", "UInt16", "int64[pyarrow]", "Sparse[int64]"]
FLOATS = ["float64", "float32", "float16", "Float64", "Float32", "double[pyarrow]"]
#: (dtype, values of column ``a``; "" is a missing value)
CASES = [
    *((dtype, values) for dtype in INTEGERS
      for values in (["1", "2", "3", "4", "5"], ["1", "2", "3", "", "5"], ["1", "2", "3", "x"],
                     ["1", "2", "3", "2.0", "4"], ["1", "2", "3", "300", "-1"])),
    *((dtype, values) for dtype in FLOATS
      for values in (["1.5", "2", "3", "4.25"], ["1.5", "2", "3", "", "4"], ["1", "2", "3", "x"])),
    *((dtype, values) for dtype in ("bool", "boolean", "bool[pyarrow]")
      for values in (["True", "False", "True", "True"], ["True", "False", "True", ""],
                     ["True", "False", "true", "FALSE"], ["1", "0", "1", "0"],
                     ["1", "0", "", "1"])),
]  # fmt: skip


def _schema(dtype: str, nullable: bool) -> str:
    return (
        "schema_type: dataframe\ncolumns:\n"
        f"  a: {{dtype: '{dtype}', nullable: {str(nullable).lower()}, "
        "checks: {in_range: {min_value: 0, max_value: 50}}}\n"
        "  i: {dtype: int64}\ncoerce: true\nstrict: true\n"
    )


def _pandera(path: Path, schema: str) -> tuple[bool, set[int]]:
    """Plain pandera: the verdict, and the 1-based rows failing in column ``a``."""
    import pandas as pd
    import pandera.pandas as pa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pa.DataFrameSchema.from_yaml(schema).validate(pd.read_csv(path), lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            failing = cases[(cases["column"] == "a") & cases["index"].notna()]["index"]
            return False, {int(i) + 1 for i in failing}
    return True, set()


def _ours(tmp_path: Path, values: list[str], schema: str) -> tuple[bool, set[int]]:
    """mlgitops, in chunks of two rows: the verdict, and the rows failing in column ``a``."""
    (tmp_path / "d.csv").write_text("a,i\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))
    reader = open_data(tmp_path, "d.csv", fmt=None, workdir=tmp_path)
    outcome = validate(reader, from_yaml_text("s.yaml", schema), Limits(chunk_rows=2))
    return outcome.passed, {e.row for f in outcome.failures if f.column == "a" for e in f.examples}


# pandas' own repr of a half-float column with a gap, inside pandera's report
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("nullable", [True, False], ids=["nullable", "not-nullable"])
@pytest.mark.parametrize(("dtype", "values"), CASES, ids=str)
def test_the_verdict_is_plain_pandera_s(
    tmp_path: Path, dtype: str, values: list[str], nullable: bool
) -> None:
    schema = _schema(dtype, nullable)
    ours = _ours(tmp_path, values, schema)
    passed, rows = _pandera(tmp_path / "d.csv", schema)
    if dtype.endswith("[pyarrow]") and "x" in values:
        # pandera names every row of an Arrow-backed column it cannot coerce; the one
        # value that is not a number is the failing row
        assert (passed, rows) == (False, set(range(1, len(values) + 1)))
        rows = {values.index("x") + 1}
    assert ours == (passed, rows)


@pytest.mark.parametrize("dtype", INTEGERS)
def test_a_fraction_in_an_integer_column_fails_on_its_row(tmp_path: Path, dtype: str) -> None:
    """Where pandera coerces ``2.5`` to an integer, pandas cuts it to ``2`` (or refuses the
    column without naming a row); it is not an integer (docs/validate.md)."""
    for nullable in (True, False):
        schema = _schema(dtype, nullable)
        assert _ours(tmp_path, ["1", "2", "2.0", "2.5"], schema) == (False, {4})
        assert _pandera(tmp_path / "d.csv", schema)[1] == set()


@pytest.mark.parametrize("dtype", ["bool", "boolean", "bool[pyarrow]"])
@pytest.mark.parametrize("values", [["True", "yes", "False"], ["1", "0", "2"]], ids=str)
def test_a_value_that_is_not_a_boolean_fails_on_its_row(
    tmp_path: Path, dtype: str, values: list[str]
) -> None:
    """Where pandera coerces, numpy's ``bool`` makes any text and any number other than 0
    ``True``, and so does ``bool[pyarrow]`` a number; pandas' ``boolean`` refuses ``2``
    on its row, and both refuse every row of a column holding a word
    (docs/validate.md). Here the value that is not a boolean fails on its row."""
    word = "yes" in values
    plain = {
        ("bool", True): (True, set()),
        ("boolean", True): (False, {1, 2, 3}),
        ("bool[pyarrow]", True): (False, {1, 2, 3}),
        ("bool", False): (True, set()),
        ("boolean", False): (False, {3}),
        ("bool[pyarrow]", False): (True, set()),
    }[dtype, word]
    for nullable in (True, False):
        schema = _schema(dtype, nullable)
        assert _ours(tmp_path, values, schema) == (False, {2 if word else 3})
        assert _pandera(tmp_path / "d.csv", schema) == plain


#: numpy's types: pandera coerces text value by value with Python's int() or float()
NUMPY_LIKE = {"int64", "int32", "uint8", "Sparse[int64]", "float64", "float32", "float16"}


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("dtype", INTEGERS + FLOATS)
@pytest.mark.parametrize(
    "value", ["1_0", "١٢", "\uff11"], ids=["grouped", "arabic-indic", "fullwidth"]
)
def test_digits_python_reads_are_numbers_where_pandera_s_coercion_reads_them(
    tmp_path: Path, dtype: str, value: str
) -> None:
    """``1_0`` and digits of other scripts: Python's ``int()`` and ``float()`` read them, so
    pandera's coercion to numpy's types does; pandas' nullable and Arrow-backed types refuse
    them (naming no row, or every row). Here the value is a number for numpy's types, and
    for the others the failing row."""
    values = ["1", value, "3"]
    for nullable in (True, False):
        schema = _schema(dtype, nullable)
        ours = _ours(tmp_path, values, schema)
        passed, rows = _pandera(tmp_path / "d.csv", schema)
        if dtype in NUMPY_LIKE:
            assert (passed, rows) == (True, set())
            assert ours == (True, set())
        else:
            assert not passed and rows in (set(), {1, 2, 3})
            assert ours == (False, {2})


def test_each_value_is_judged_on_its_own_not_by_the_column_it_is_in(tmp_path: Path) -> None:
    """A word in an integer column makes pandas read the column as text, so pandera's
    ``int64`` refuses ``2.0`` there and runs no range check; here ``2.0`` is 2 and the
    ``400`` beside it is out of range, as they are in a column without the word
    (docs/validate.md)."""
    schema = _schema("int64", False)
    assert _ours(tmp_path, ["1", "2.0", "x", "400"], schema) == (False, {3, 4})
    assert _pandera(tmp_path / "d.csv", schema) == (False, {2, 3})
    assert _ours(tmp_path, ["1", "2.0", "3", "400"], schema) == (False, {4})
    assert _pandera(tmp_path / "d.csv", schema) == (False, {4})


@pytest.mark.parametrize("dtype", ["float64", "Float64"])
def test_a_boolean_word_in_a_number_column_fails_on_its_row(tmp_path: Path, dtype: str) -> None:
    """pandas reads a column of only ``True`` and ``False`` as booleans, which pandera's
    ``float64`` makes 1.0 and 0.0; they are not numbers (docs/validate.md)."""
    schema = _schema(dtype, False)
    assert _ours(tmp_path, ["True", "False", "1"], schema) == (False, {1, 2})
    assert _ours(tmp_path, ["False", "True"], schema) == (False, {1, 2})
    if dtype == "float64":
        assert _pandera(tmp_path / "d.csv", schema) == (True, set())


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("dtype", INTEGERS + FLOATS)
@pytest.mark.parametrize(
    "space",
    ["\x0b", "\xa0", "\u2007", "\u3000", "\x85", "\x1c"],
    ids=["vertical-tab", "no-break", "figure", "ideographic", "next-line", "file-separator"],
)
def test_spaces_around_a_number_are_read_as_pandera_s_coercion_reads_them(
    tmp_path: Path, dtype: str, space: str
) -> None:
    """Python's ``int()`` and ``float()`` strip Unicode spaces (not ``\\x1c``, which
    ``str.isspace`` calls one), so pandera's coercion to numpy's types reads ``\\xa05`` as
    5; ``pandas.to_numeric`` strips ASCII spaces only, so pandas' nullable and Arrow-backed
    types refuse it. Here such a value is a number exactly where Python reads it for
    numpy's types and where pandas reads it for the others; else it fails on its row."""
    values = ["1", f"{space}5", "3"]
    python = dtype in NUMPY_LIKE
    number = space != "\x1c" and (python or space.isascii())
    for nullable in (True, False):
        schema = _schema(dtype, nullable)
        ours = _ours(tmp_path, values, schema)
        passed, rows = _pandera(tmp_path / "d.csv", schema)
        assert passed is number
        assert ours == ((True, set()) if number else (False, {2}))
        assert passed or rows in (set(), {2}, {1, 2, 3})


def test_a_value_no_reader_takes_for_a_number_is_a_failing_row_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``\\x1c5`` in a column of pandas' nullable integers: ``validate`` exits 1 and names
    the row's line, as for any value that is not a number."""
    from tests.validate.corpus import make_repo, run_cli

    repo = make_repo(tmp_path / "repo")
    schema = repo / "schemas" / "accounts.yaml"
    schema.write_text(
        schema.read_text().replace("age:\n    dtype: int64", "age:\n    dtype: Int64")
    )
    (repo / "data" / "accounts.csv").write_text(
        "id,age,score,plan\n1,34,0.5,free\n2,\x1c35,1,pro\n"
    )
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert outcome.code == 1, outcome.render()
    assert "age     dtype('Int64')" in outcome.stdout
    assert "data/accounts.csv:3: '\\x1c35'" in outcome.stdout, outcome.stdout


@pytest.mark.parametrize("spelling", ["NAN", "Nan", "nAn"])
def test_nan_spelt_as_pandas_does_not_read_it_is_a_gap_in_every_float_column(
    tmp_path: Path, spelling: str
) -> None:
    """pyarrow reads ``NAN`` as NaN; pandas reads it as text, which pandera's ``float64``
    and ``Float64`` make a gap, and its ``double[pyarrow]`` a NaN value that fails a range
    check. Here it is a gap in every float column (docs/validate.md)."""
    values = ["1", spelling, "3"]
    for dtype in ("float64", "Float64", "double[pyarrow]"):
        assert _ours(tmp_path, values, _schema(dtype, True)) == (True, set())
        assert _ours(tmp_path, values, _schema(dtype, False)) == (False, {2})
    assert _pandera(tmp_path / "d.csv", _schema("Float64", True)) == (True, set())
    assert _pandera(tmp_path / "d.csv", _schema("double[pyarrow]", True)) == (False, {2})
    # read as text (a word in the same column): still a gap, and only the word fails
    for dtype in ("float64", "float32", "Float64", "double[pyarrow]"):
        assert _ours(tmp_path, ["1", spelling, "x"], _schema(dtype, True)) == (False, {3})


@pytest.mark.parametrize("nullable", [True, False], ids=["nullable", "not-nullable"])
@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize(
    "values",
    [["1", "", "3"], ["1", "", "2.0"], ["1", "2.0", "3", "", "5"], ["1", "", "x"]],
    ids=["gap", "gap-and-2.0", "2.0-and-a-gap-a-chunk-apart", "gap-and-a-word"],
)
def test_a_gap_in_an_integer_column_pandera_does_not_coerce_fails_as_there(
    tmp_path: Path, dtype: str, values: list[str], nullable: bool
) -> None:
    """With ``coerce`` unset, pandas reads an integer column with a gap as floats, which
    pandera refuses: numpy's and Arrow's integers on the gap's row, pandas' nullable ones
    as a column of the wrong type. So here, also where a value written ``2.0`` (read as
    the integer 2) makes the column text to the reader (docs/validate.md)."""
    schema = _schema(dtype, nullable).replace("coerce: true\n", "")
    ours = _ours(tmp_path, values, schema)
    passed, rows = _pandera(tmp_path / "d.csv", schema)
    if dtype.endswith("[pyarrow]") and "x" in values:
        # pandera names every row of an Arrow-backed column that pandas reads as text
        assert (passed, rows) == (False, set(range(1, len(values) + 1)))
        rows = {row for row, v in enumerate(values, 1) if v == "x" or (v == "" and not nullable)}
    assert ours == (passed, rows)


@pytest.mark.parametrize("age", ["", "2.0"], ids=["gap", "gap-and-2.0"])
def test_a_nullable_integer_column_with_a_gap_fails_without_coerce_as_in_pandera(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], age: str
) -> None:
    """``Int64`` with ``coerce`` unset: pandas reads a column with a gap as ``float64``,
    which pandera refuses as a column of the wrong type, whether or not another value is
    written ``2.0``."""
    import json

    import pandas as pd
    import pandera.pandas as pa

    from tests.validate.corpus import make_repo, run_cli

    repo = make_repo(tmp_path / "repo")
    schema = repo / "schemas" / "accounts.yaml"
    text = schema.read_text().replace("coerce: true\n", "")
    schema.write_text(
        text.replace("age:\n    dtype: int64\n", "age:\n    dtype: Int64\n    nullable: true\n")
    )
    (repo / "data" / "accounts.csv").write_text(
        f"id,age,score,plan\n1,34,0.5,free\n2,,1.5,pro\n3,{age},2.5,team\n"
    )
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--format", "json")
    assert outcome.code == 1, outcome.render()
    failures = json.loads(outcome.stdout)["failures"]
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        pa.DataFrameSchema.from_yaml(schema.read_text()).validate(
            pd.read_csv(repo / "data" / "accounts.csv"), lazy=True
        )
    cases = caught.value.failure_cases
    assert [(c.column, c.check, c.failure_case) for c in cases.itertuples()] == [
        ("age", "dtype('Int64')", "float64")
    ]
    assert failures == [
        {
            "column": "age",
            "check": "dtype('Int64')",
            "message": "column 'age' has type float64; the schema wants 'Int64'",
            "failing_rows": None,
            "examples": [],
        }
    ]


@pytest.mark.parametrize("coerce", [False, True])
def test_a_category_column_pandera_does_not_coerce_says_coercing_makes_categories(
    tmp_path: Path, coerce: bool
) -> None:
    """pandas reads a CSV column as text (or numbers), never as categories: without coercion
    every row fails ``dtype('category')``, as in pandera. The failure says why, as a date
    column's does, where it said only "values that are not of type category"."""
    schema = (
        "schema_type: dataframe\ncolumns:\n  a: {dtype: category}\n  i: {dtype: int64}\n"
        f"coerce: {str(coerce).lower()}\n"
    )
    (tmp_path / "d.csv").write_text("a,i\nlow,1\nmid,2\n")
    reader = open_data(tmp_path, "d.csv", fmt=None, workdir=tmp_path)
    outcome = validate(reader, from_yaml_text("s.yaml", schema), Limits(chunk_rows=1000))
    assert (outcome.passed, _pandera(tmp_path / "d.csv", schema)[0]) == (coerce, coerce)
    if not coerce:
        (failure,) = outcome.failures
        assert (failure.check, failure.failing_rows) == ("dtype('category')", 2)
        assert failure.message == (
            "values that are not of type category (pandas reads a CSV column as text or "
            "numbers; pandera makes categories of it only with coerce: true)"
        )
