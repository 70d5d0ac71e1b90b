"""Schemas: pandera YAML loaded strictly, or inline columns from the spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.validate.corpus import make_repo, run_cli, target_is

HEAD = "schema_type: dataframe\ncolumns:\n  id:\n    dtype: int64\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo")
    (root / "data" / "accounts.csv").write_text("id\n1\n2\n")
    return root


def _validate(repo: Path, capsys: pytest.CaptureFixture[str], schema: str) -> tuple[int, str]:
    (repo / "schemas" / "accounts.yaml").write_text(schema)
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    return outcome.code, outcome.stderr


def test_a_key_pandera_would_ignore(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(repo, capsys, HEAD + "    positive_only: true\n")
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:5: column 'id': 'positive_only' is "
        "neither a column setting nor a built-in or registered pandera check; pandera would "
        "ignore it\n",
    )


def test_a_schema_that_is_not_utf8_names_the_line_and_column_of_the_byte(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "not UTF-8 text (invalid continuation byte)" and no place in the file."""
    (repo / "schemas" / "accounts.yaml").write_bytes(
        HEAD.encode() + b'    description: "caf\xe9 au lait"\n'
    )
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:22: not UTF-8 text (invalid "
        "continuation byte: byte 0xe9)\n",
    )


def test_an_index_of_two_levels_is_refused_where_it_is_declared(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pandera's multi-index backend has nothing to check a file's one index by: validate
    blamed the data file ("pandera cannot check rows 1-2 ... BackendNotFoundError")."""
    index = "index:\n- dtype: int64\n  name: a\n- dtype: int64\n  name: b\n"
    code, err = _validate(repo, capsys, HEAD + index)
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:1: index: 2 levels, and a data "
        "file is read with one index, its row numbers: declare one level at most\n",
    )


def test_an_unknown_top_level_key(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(repo, capsys, HEAD + "stritc: true\n")
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:1: unknown key 'stritc': pandera "
        "would ignore it\n",
    )


@pytest.mark.parametrize(
    ("key", "read"),
    [("1", "the number 1"), ("2.5", "the number 2.5"), ("yes", "true"), ("null", "null"),
     ("0x1F", "the number 31"), ("2024-01-31", "a date (2024-01-31)"),
     ("1:30", "the number 90")],
)  # fmt: skip
def test_a_column_name_pandera_reads_as_no_text_is_refused_where_it_is_written(
    repo: Path, capsys: pytest.CaptureFixture[str], key: str, read: str
) -> None:
    """A data file's column names are text: a column pandera keys by a number (or true, or
    null) is never found, and its checks never run."""
    schema = HEAD + f"  {key}:\n    dtype: int64\n    ge: 0\n"
    said = (
        f"schemas/accounts.yaml:5:3: column {key}: pandera reads this name as {read}, not "
        f"as text, and no data file's column is named so; quote it: '{key}'"
    )
    _refused(repo, capsys, schema, said)


def test_a_column_named_as_the_row_number_is_refused_where_it_is_declared(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Validate passing it would only move the refusal to train."""
    (repo / "data" / "accounts.csv").write_text("id,__row__\n1,7\n2,8\n")
    code, err = _validate(repo, capsys, HEAD + "  __row__:\n    dtype: int64\n")
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:3: column '__row__' is the name "
        "mlgitops gives each row's number in the hand-off files; rename the column\n",
    )


@pytest.mark.parametrize("value", ["5", "{id: true}", "true"])
def test_a_table_unique_that_names_no_columns(
    repo: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, err = _validate(repo, capsys, HEAD + f"unique: {value}\n")
    assert code == 2
    assert err.startswith(
        "mlgitops validate: error: schemas/accounts.yaml:5:1: unique: expected a column name "
        "or a list of them, not "
    ), err


@pytest.mark.parametrize("names", ["[id, region]", "region"])
def test_a_table_unique_naming_a_column_the_schema_does_not_declare_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], names: str
) -> None:
    """Its values would be compared as pandas guesses their type, which no dtype decides
    (a column a regex column stands for is declared)."""
    from mlgitops.validation.schema import from_yaml_text

    schema = HEAD + "  zone_.*:\n    regex: true\n    dtype: str\n    required: false\n"
    assert from_yaml_text("s.yaml", schema + "unique: [id, zone_eu]\n").unique == ["id", "zone_eu"]
    code, err = _validate(repo, capsys, schema + f"unique: {names}\n")
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:9:1: unique: 'region' is not a "
        "column of the schema, nor one a regex column stands for; declare it, with the dtype "
        "its values are compared as\n",
    )


@pytest.mark.parametrize(
    ("checks", "place", "own"),
    [
        ("    checks:\n    - {min_value: 0, max_value: 5, options: {check_name: in_range, name: greater_than}}\n",
         "6:68", "in_range"),
        ("    checks:\n      in_range: {min_value: 0, max_value: 5, options: {name: greater_than}}\n",
         "6:56", "in_range"),
        ("    isin: {allowed_values: [1, 3], options: {name: greater_than}}\n", "5:46", "isin"),
    ],
    ids=["list", "mapping", "flat"],
)  # fmt: skip
def test_a_check_given_another_check_s_name_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], checks: str, place: str, own: str
) -> None:
    """pandera runs in_range and reports it as greater_than: a check other than the one
    its failures would name, and the screen would read."""
    said = f"'greater_than' would report the check {own!r} under another check's name"
    _refused(
        repo,
        capsys,
        HEAD + checks,
        f"schemas/accounts.yaml:{place}: options: name: {said}; remove it",
    )


@pytest.mark.parametrize(
    ("line", "place", "said"),
    [
        ("drop_invalid_rows: true\n", "5:1", "drop_invalid_rows: pandera would drop the rows that fail and pass the rest"),
        ("    drop_invalid_rows: yes\n", "5:5", "column 'id': drop_invalid_rows: pandera would drop the rows that fail and pass the rest"),
        ("add_missing_columns: on\n", "5:1", "add_missing_columns: pandera would add a column the file lacks, filled with its default, and judge that"),
        ("    default: 0\n", "5:5", "column 'id': default: pandera would fill the column's gaps with it before judging them"),
        ("    default: false\n", "5:5", "column 'id': default: pandera would fill the column's gaps with it before judging them"),
    ],
    ids=["drop-rows", "drop-rows-of-a-column", "add-columns", "default", "default-false"],
)  # fmt: skip
def test_a_setting_with_which_pandera_changes_the_data_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], line: str, place: str, said: str
) -> None:
    """pandera would pass a file whose rows fail, or judge values the file does not hold."""
    whole = f"{said}; validate judges the file as it is, and train takes it so: remove it"
    _refused(repo, capsys, HEAD + line, f"schemas/accounts.yaml:{place}: {whole}")
    off = line.replace("true", "false").replace("yes", "no").replace(" on", " off")
    _, err = _validate(
        repo, capsys, HEAD + off.replace(" 0", " null").replace("t: false", "t: null")
    )
    assert "pandera would" not in err, err


def test_a_table_wide_check_that_warns_warns_and_passes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandera only warns where a check with ``raise_warning`` fails: so does validate, for
    the distinct values it compares over the whole table too."""
    (repo / "data" / "accounts.csv").write_text("id,plan\n1,basic\n2,pro\n")
    entry = (
        "    - {values: [basic], options: {check_name: unique_values_eq, raise_warning: true}}\n"
    )
    code, err = _validate(repo, capsys, HEAD + "  plan:\n    dtype: str\n    checks:\n" + entry)
    assert (code, err) == (
        0,
        "mlgitops: warning: column 'plan' unique_values_eq(['basic']): distinct values differ "
        "from the "
        "expected set: missing [], unexpected ['pro'] (raise_warning: not a failure)\n",
    )


def test_what_a_table_unique_names_is_read_as_pandera_reads_the_schema(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``regex: no`` is no regex column; a list in ``unique`` is no column's name; a
    schema-wide dtype that coerces types every column, so a key of undeclared ones is
    compared as that dtype (not refused)."""
    from mlgitops.validation.schema import from_yaml_text

    regex_no = HEAD + "  f:\n    regex: no\n    dtype: str\n    required: false\nunique: [f1]\n"
    listed = HEAD + "unique: [[id]]\n"
    for schema, said in (
        (regex_no, "unique: 'f1' is not a column of the schema, nor one a regex column stands "
         "for; declare it, with the dtype its values are compared as"),
        (listed, "unique: ['id'] is not a column name"),
    ):  # fmt: skip
        code, err = _validate(repo, capsys, schema)
        assert (code, err) == (
            2,
            f"mlgitops validate: error: schemas/accounts.yaml:9:1: {said}\n"
            if schema is regex_no
            else f"mlgitops validate: error: schemas/accounts.yaml:5:1: {said}\n",
        )
    wide = "schema_type: dataframe\ndtype: int64\ncoerce: true\nunique: [a]\n"
    assert from_yaml_text("s.yaml", wide).unique == ["a"]


def test_two_names_yaml_reads_as_one_boolean_are_each_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``yes`` and ``true`` are one key, true, as pandera's YAML reads them."""
    code, err = _validate(repo, capsys, HEAD + "  yes:\n    dtype: str\n  true:\n    dtype: str\n")
    said = [
        f"schemas/accounts.yaml:{place}: column {key}: pandera reads this name as true, not as "
        f"text, and no data file's column is named so; quote it: '{key}'"
        for place, key in (("5:3", "yes"), ("7:3", "true"))
    ]
    assert (code, err) == (2, "mlgitops validate: error: " + "\n".join(said) + "\n")


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("name: [a]\n", "name: expected text, not ['a'] (pandera names the structure's failures by it)"),
        ("index: {}\n", "index: expected a list of the index's levels, each a mapping, not {}"),
        ("index: []\n", "index: expected a list of the index's levels, each a mapping, not []"),
        ("dtype: int64\ncoerce: true\nunique: [[a]]\n", "unique: ['a'] is not a column name"),
    ],
    ids=["name-list", "index-mapping", "index-empty", "unique-list-under-a-schema-dtype"],
)  # fmt: skip
def test_a_setting_of_a_shape_pandera_cannot_judge_by_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], line: str, said: str
) -> None:
    """Each raised before (exit 3), or left pandera judging nothing."""
    place = f"{5 + line.count(chr(10)) - 1}:1"
    _refused(repo, capsys, HEAD + line, f"schemas/accounts.yaml:{place}: {said}")


def test_an_unregistered_check(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = HEAD + "checks:\n- options: {check_name: my_business_rule}\n"
    code, err = _validate(repo, capsys, schema)
    assert code == 2
    assert err.startswith(
        "mlgitops validate: error: schemas/accounts.yaml:5:1: checks: pandera cannot load this "
        "schema: "
    )
    assert "my_business_rule" in err


@pytest.mark.parametrize(
    ("checks", "place", "said"),
    [
        # A misspelt option: the range would hold 9, which the writer meant to exclude.
        ("    in_range: {min_value: 0, max_value: 9, include_mx: false}\n", "5:44",
         "column 'id': in_range has no argument 'include_mx' (it takes min_value, max_value, include_min, include_max)"),
        ("    checks:\n      greater_than: {min_value: 0, strict: true}\n", "6:36",
         "column 'id': greater_than has no argument 'strict' (it takes min_value)"),
        ("    checks:\n    - {min_value: 0, inclusive: true, options: {check_name: greater_than}}\n", "6:22",
         "column 'id': greater_than has no argument 'inclusive' (it takes min_value)"),
        ("checks:\n  unique_values_eq: {values: [1, 2], ordered: true}\n", "6:38",
         "unique_values_eq has no argument 'ordered' (it takes values)"),
    ],
    ids=["flat", "checks-mapping", "checks-list", "dataframe-check"],
)  # fmt: skip
def test_an_argument_a_check_does_not_take_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], checks: str, place: str, said: str
) -> None:
    """pandera keeps the argument and fails the check on any data it judges (a TypeError);
    the screen judged the clean file without it: a check other than the one written."""
    (repo / "data" / "accounts.csv").write_text("id,plan\n1,basic\n2,pro\n")  # clean
    _refused(repo, capsys, HEAD + checks, f"schemas/accounts.yaml:{place}: {said}")


def _refused(repo: Path, capsys: pytest.CaptureFixture[str], schema: str, said: str) -> None:
    """validate refuses ``schema`` with ``said`` (exit 2), and its record says so."""
    code, err = _validate(repo, capsys, schema)
    assert (code, err) == (2, f"mlgitops validate: error: {said}\n")
    record = json.loads((repo / ".mlgitops" / "accounts" / "validation.json").read_text())
    assert (record["passed"], record["error"]) == (False, said)


_READ_AS_TEXT = (
    "its values are text, which never equal or order with a number; declare its numeric "
    "dtype (dtype: float64, int64 ...)"
)


@pytest.mark.parametrize(
    ("column", "place", "said"),
    [
        ("    greater_than: 0\n", "6:5",
         "greater_than takes 0, a number, but the column has no dtype, and data/accounts.csv holds it as text"),
        ("    dtype: string[pyarrow]\n    ge: 0\n", "7:5", "ge takes 0, a number, but the column is string[pyarrow]"),
        ("    dtype: object\n    isin: [1, 2]\n", "7:5", "isin takes 1, a number, but the column is object"),
        ("    dtype: str\n    checks:\n      in_range: {min_value: 0, max_value: 9.5}\n", "8:7",
         "in_range takes 0, a number, but the column is str"),
        ("    checks:\n    - {forbidden_values: [0], options: {check_name: notin}}\n", "7:7",
         "notin takes 0, a number, but the column has no dtype, and data/accounts.csv holds it as text"),
        ("    dtype: str\n    isin: [x, 1_000]\n", "7:5", "isin takes 1000, a number, but the column is str"),
        ("    notin: [1:30]\n", "6:5",
         "notin takes 90, a number, but the column has no dtype, and data/accounts.csv holds it as text"),
    ],
    ids=["no-dtype", "short-name", "object", "str-checks-mapping", "checks-list",
         "number-to-pandera", "sexagesimal"],
)  # fmt: skip
def test_a_number_checked_against_a_column_read_as_text_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], column: str, place: str, said: str
) -> None:
    """Text never equals or orders with a number: the check fails every value (a TypeError,
    for an order) or none; pandas would have read the column's numbers as numbers."""
    (repo / "data" / "accounts.csv").write_text("id,score,plan\n1,3,basic\n2,4,pro\n")
    message = f"schemas/accounts.yaml:{place}: column 'score': {said}: {_READ_AS_TEXT}"
    _refused(repo, capsys, HEAD + "  score:\n" + column, message)


@pytest.mark.parametrize(
    ("column", "place", "check", "read", "had"),
    [
        ("    dtype: str\n    isin: [SE, NO, DK]\n", "7:5", "isin", "false", "is str"),
        ("    notin: [yes]\n", "6:5", "notin", "true",
         "has no dtype, and data/accounts.csv holds it as text"),
        ("    dtype: str\n    equal_to: On\n", "7:5", "equal_to", "true", "is str"),
    ],
    ids=["norway", "no-dtype", "scalar"],
)  # fmt: skip
def test_a_word_pandera_reads_as_a_boolean_is_refused_for_a_column_of_text(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    column: str,
    place: str,
    check: str,
    read: str,
    had: str,
) -> None:
    """pandera's YAML reads ``yes``, ``no``, ``on`` and ``off`` unquoted as booleans, which
    text never equals: ``isin: [SE, NO, DK]`` failed every Norwegian row."""
    (repo / "data" / "accounts.csv").write_text("id,country,plan\n1,SE,basic\n2,NO,pro\n")
    said = (
        f"column 'country': {check} takes {read}, a boolean as pandera's YAML reads the word "
        f"unquoted, but the column {had}: its values are text, which never equal a boolean; "
        "quote the word"
    )
    _refused(repo, capsys, HEAD + "  country:\n" + column, f"schemas/accounts.yaml:{place}: {said}")


def test_a_number_checked_against_a_schema_wide_text_dtype_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandera gives the schema's own dtype to every column it declares, over their own."""
    schema = "schema_type: dataframe\ndtype: str\ncolumns:\n  id: {}\n  score:\n    gt: 0\n"
    said = "gt takes 0, a number, but the column is str, the schema's dtype"
    message = f"schemas/accounts.yaml:6:5: column 'score': {said}: {_READ_AS_TEXT}"
    _refused(repo, capsys, schema, message)


def test_a_schema_wide_dtype_types_every_column_it_declares(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dtype`` beside ``columns`` is each column's, over the column's own: number checks of
    a column without one judge numbers, and a column declaring another is judged as the
    schema's (a fraction passes ``int64`` there)."""
    target_is(repo, "score")
    schema = (
        "schema_type: dataframe\ndtype: float64\ncolumns:\n  id: {dtype: int64}\n"
        "  score: {in_range: {min_value: 0, max_value: 1}}\n"
    )
    (repo / "data" / "accounts.csv").write_text("id,score\n1.5,0.5\n2,0.25\n")
    assert _validate(repo, capsys, schema) == (0, "")
    (repo / "data" / "accounts.csv").write_text("id,score\n1.5,0.5\n2,1.25\n")
    code, _ = _validate(repo, capsys, schema)
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    found = [
        (f["column"], f["check"], [e["row"] for e in f["examples"]]) for f in document["failures"]
    ]
    assert (code, found) == (1, [("score", "in_range(0, 1)", [2])])


def test_a_column_without_a_dtype_is_judged_as_the_parquet_file_stores_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Parquet file keeps its numbers: a number check of a column without a dtype judges
    them, as pandera does; a column the file stores as text is refused as in a CSV file."""
    import pandas as pd

    schema = HEAD + "  score:\n    greater_than: 0\n"
    (repo / "schemas" / "accounts.yaml").write_text(schema)
    data = repo / "data" / "accounts.parquet"

    def validate(frame: pd.DataFrame) -> tuple[int, str, str]:
        frame.to_parquet(data, index=False)
        done = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", str(data))
        return done.code, done.stdout, done.stderr

    assert validate(pd.DataFrame({"id": [1, 2], "score": [3, 4]}))[::2] == (0, "")
    code, out, _ = validate(pd.DataFrame({"id": [1, 2], "score": [3, -2]}))
    assert code == 1 and "greater_than(0)     1" in out, out
    refused = (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:6:5: column 'score': greater_than "
        f"takes 0, a number, but the column has no dtype, and {data} holds it as text: "
        f"{_READ_AS_TEXT}\n",
    )
    assert validate(pd.DataFrame({"id": [1, 2], "score": ["3", "4"]}))[::2] == refused
    categories = pd.DataFrame({"id": [1, 2], "score": pd.Categorical(["3", "4"])})
    assert validate(categories)[::2] == refused  # stored as a dictionary of text
    import pyarrow as pa
    import pyarrow.parquet as pq

    for stored in (pa.string_view(), pa.binary(1)):  # pyarrow keeps the view type in the file
        table = pa.table({"id": [1, 2], "score": pa.array([b"3", b"4"], stored)})
        pq.write_table(table, data)
        done = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", str(data))
        assert (done.code, done.stderr) == refused, stored


@pytest.mark.parametrize("regex", ["true", "yes", "On"])  # pandera's YAML 1.1 reads all three
def test_a_regex_column_without_a_dtype_is_refused_where_a_column_it_matches_is_text(
    repo: Path, capsys: pytest.CaptureFixture[str], regex: str
) -> None:
    (repo / "data" / "accounts.csv").write_text("id,plan,score_a,score_b\n1,a,3,4\n2,b,4,5\n")
    column = f"  '^score_':\n    regex: {regex}\n    greater_than: 0\n"
    said = (
        "schemas/accounts.yaml:7:5: column '^score_': greater_than takes 0, a number, but the "
        f"column has no dtype, and data/accounts.csv holds it as text: {_READ_AS_TEXT}"
    )
    _refused(repo, capsys, HEAD + column, said)


def test_a_short_check_name_is_refused_where_it_is_written(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pandera loads ``ge`` as ``greater_than_or_equal_to``: the argument is found as written."""
    (repo / "data" / "accounts.csv").write_text("id,plan\n1,basic\n2,pro\n")
    said = (
        "schemas/accounts.yaml:5:24: column 'id': greater_than_or_equal_to has no argument "
        "'bogus' (it takes min_value)"
    )
    _refused(repo, capsys, HEAD + "    ge: {min_value: 0, bogus: 1}\n", said)


@pytest.mark.parametrize(
    "column",
    [
        "    isin: [basic, pro]\n",
        "    dtype: str\n    checks:\n      str_length: {min_value: 1, max_value: 9}\n",
        "    dtype: str\n    isin: {allowed_values: [basic, pro], n_failure_cases: 3}\n",
        "    nullable: false\n",
        "    dtype: str\n    isin: [basic, pro, 0o17, 1e3]\n",
    ],
    ids=["no-dtype-words", "str-length", "option-number", "no-check", "words-to-pandera"],
)
def test_a_column_read_as_text_takes_checks_of_text(
    repo: Path, capsys: pytest.CaptureFixture[str], column: str
) -> None:
    (repo / "data" / "accounts.csv").write_text("id,plan\n1,basic\n2,pro\n")
    code, err = _validate(repo, capsys, HEAD + "  plan:\n" + column)
    assert (code, err) == (0, "")


def test_flat_checks_beside_a_checks_list_are_not_dropped(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = (
        HEAD
        + "    in_range: {min_value: 0, max_value: 9}\n    checks:\n    - {value: 0, options: {check_name: greater_than}}\n"
    )
    code, err = _validate(repo, capsys, schema)
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:3:3: column 'id' declares 2 check(s) but "
        "pandera loaded 1: refusing to validate with fewer checks than written\n",
    )


def test_a_dtype_pandera_does_not_know(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(repo, capsys, HEAD.replace("int64", "int65"))
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:3:3: column 'id': pandera cannot load "
        "this schema: data type 'int65' not understood\n",
    )


@pytest.mark.parametrize("dtype", ["float128", "longdouble"])
def test_a_dtype_wider_than_any_number_read_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], dtype: str
) -> None:
    """pandera knows numpy's long doubles; Arrow, which reads every value, does not."""
    code, err = _validate(repo, capsys, HEAD.replace("int64", dtype))
    assert (code, err) == (
        2,
        f"mlgitops validate: error: schemas/accounts.yaml:4:5: column 'id': dtype: {dtype!r} "
        "holds numbers wider than 64 bits, which mlgitops cannot read; use float64\n",
    )


@pytest.mark.parametrize("columns", ["", "columns:\n  id: {dtype: int64}\n"])
def test_a_schema_wide_dtype_wider_than_any_number_read_is_refused_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], columns: str
) -> None:
    """The schema's own dtype is every column's, declared or not."""
    code, err = _validate(repo, capsys, "schema_type: dataframe\ndtype: float128\n" + columns)
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:2:1: dtype: 'float128' holds numbers "
        "wider than 64 bits, which mlgitops cannot read; use float64\n",
    )


@pytest.mark.parametrize(
    ("line", "place", "said"),
    [
        ("report_duplicates: bad\n", "6:1", "report_duplicates: expected all, exclude_first or exclude_last, not 'bad'"),
        ("    report_duplicates: first\n", "6:5", "column 'id': report_duplicates: expected all, exclude_first or exclude_last, not 'first'"),
        ("report_duplicates: null\n", "6:1", "report_duplicates: expected all, exclude_first or exclude_last, not None"),
    ],
)  # fmt: skip
def test_report_duplicates_must_be_one_pandera_knows(
    repo: Path, capsys: pytest.CaptureFixture[str], line: str, place: str, said: str
) -> None:
    """pandera loads any value, and refuses it only when a ``unique`` check runs."""
    target_is(repo, "id")
    code, err = _validate(repo, capsys, HEAD + "    unique: true\n" + line + "unique: [id]\n")
    assert (code, err) == (2, f"mlgitops validate: error: schemas/accounts.yaml:{place}: {said}\n")


def test_a_regex_column_whose_name_is_no_regular_expression(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HEAD + '  "([":\n    dtype: int64\n    regex: yes\n    required: false\n'
    code, err = _validate(repo, capsys, text)
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:3: column '([': regex: true, but "
        "the name is not a regular expression (unterminated character set at position 1)\n",
    )


@pytest.mark.parametrize(
    ("check", "why"),
    [
        ("in_range: {min_value: zero, max_value: 9}", "'<' not supported"),
        ("str_matches: '(['", "unterminated character set"),
    ],
)
def test_a_check_pandera_cannot_load_is_placed_at_its_column(
    repo: Path, capsys: pytest.CaptureFixture[str], check: str, why: str
) -> None:
    schema = HEAD + "  name:\n    dtype: str\n    nullable: true\n"
    target = "    dtype: str\n" if "str_" in check else "    dtype: int64\n"
    code, err = _validate(repo, capsys, schema.replace(target, target + f"    {check}\n"))
    column = "name" if "str_" in check else "id"
    line = 5 if column == "name" else 3
    assert code == 2
    assert err.startswith(
        f"mlgitops validate: error: schemas/accounts.yaml:{line}:3: column '{column}': pandera "
        "cannot load this schema: "
    ), err
    assert why in err


DATED = (
    "schema_type: dataframe\ncolumns:\n  id:\n    dtype: int64\n  at:\n    dtype: datetime64[ns]\n"
)


@pytest.mark.parametrize(
    ("checks", "place", "bound"),
    [
        ("    greater_than: 0\n", "7:19", "greater_than: 0"),
        ("    checks:\n      in_range: {min_value: 0, max_value: 1.5}\n", "8:29", "min_value: 0"),
        (
            "    checks:\n    - {max_value: 2.5, options: {check_name: less_than_or_equal_to}}\n",
            "8:19",
            "max_value: 2.5",
        ),
    ],
)
def test_a_date_column_bounded_by_a_number_is_named_at_the_bound(
    repo: Path, capsys: pytest.CaptureFixture[str], checks: str, place: str, bound: str
) -> None:
    (repo / "data" / "accounts.csv").write_text("id,at\n1,2024-01-01\n")
    code, err = _validate(repo, capsys, DATED + checks)
    assert (code, err) == (
        2,
        f"mlgitops validate: error: schemas/accounts.yaml:{place}: column 'at': {bound} is a "
        "number, and the column is datetime64[ns]: write the bound as a date "
        "('2024-01-01 00:00:00')\n",
    )


def test_a_date_column_bounded_by_dates(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "data" / "accounts.csv").write_text("id,at\n1,2024-01-01\n2,2024-03-01\n")
    target_is(repo, "id")
    bounds = "    in_range: {min_value: 2024-01-01, max_value: '2024-02-01 00:00:00'}\n"
    code, _ = _validate(repo, capsys, DATED + bounds + "coerce: true\n")
    assert code == 1
    report = json.loads((repo / ".mlgitops" / "accounts" / "validation.json").read_text())
    assert [(f["column"], f["failing_rows"]) for f in report["failures"]] == [("at", 1)], report


def test_yaml_syntax(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(repo, capsys, HEAD + "  x: [\n")
    assert code == 2
    assert err.startswith("mlgitops validate: error: schemas/accounts.yaml:6:1: YAML: ")


def test_a_lone_surrogate_in_a_schema_file_is_named_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _validate(repo, capsys, HEAD + '  "z\\ud800":\n    dtype: int64\n')
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:5:3: columns.z\\ud800: holds a lone "
        "surrogate (an escape such as \\ud800), which is no character\n",
    )
    written = json.loads((repo / ".mlgitops" / "accounts" / "validation.json").read_bytes())
    assert (written["passed"], written["error"]) == (False, err.split("error: ", 1)[1].rstrip())


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        ("schema_type: dataframe\ncolumns:\n  id:\n    dtype: !custom int64\n", "4:12", "could not determine a constructor for the tag '!custom'"),
        ("schema_type: dataframe\ncolumns:\n  ? [id]\n  : {dtype: int64}\n", "3:5", "found unhashable key"),
    ],
)  # fmt: skip
def test_yaml_that_only_pandera_refuses_is_named_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str, place: str, message: str
) -> None:
    """A tag or a key that is a list reads as YAML, and PyYAML, which pandera reads the file
    with, refuses it: looking for the part pandera could not load read it again, unguarded
    (exit 3)."""
    code, err = _validate(repo, capsys, text)
    assert (code, err) == (
        2,
        f"mlgitops validate: error: schemas/accounts.yaml:{place}: pandera cannot load this "
        f"schema: {message}\n",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [("!!int", "!!int cannot make a value of ''"), ("!!int abc", "!!int cannot make a value of 'abc'"),
     ("!!bool maybe", "!!bool cannot make a value of 'maybe'"),
     ("!!float ''", "!!float cannot make a value of ''")],
)  # fmt: skip
def test_a_tag_that_makes_no_value_of_its_text_is_named_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    """Both YAML readers raise Python's own errors there (IndexError, KeyError, ValueError),
    not a YAML error: exit 3 before."""
    rules = f"    in_range:\n      min_value: {value}\n      max_value: 9\n"
    code, err = _validate(repo, capsys, HEAD + rules)
    assert (code, err) == (
        2,
        f"mlgitops validate: error: schemas/accounts.yaml:6:18: YAML: {message}\n",
    )


@pytest.mark.parametrize(
    ("line", "place", "shown"),
    [
        ("    nullable: 'false'\n", "5:5", "column 'id': nullable: 'false'"),
        ("    unique: 'no'\n", "5:5", "column 'id': unique: 'no'"),
        ("coerce: 'false'\n", "5:1", "coerce: 'false'"),
        ("strict: 'true'\n", "5:1", "strict: 'true'"),
        ("    required: 0\n", "5:5", "column 'id': required: 0"),
    ],
)
def test_a_setting_pandera_reads_as_true_or_false_must_be_one(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    line: str,
    place: str,
    shown: str,
) -> None:
    """``nullable: 'false'`` (a quoted word) is true to pandera: every gap passed, where
    ``nullable: false`` fails it; ``unique: 'no'`` turned the check on."""
    (repo / "data" / "accounts.csv").write_text("id\n1\n\n1\n")
    target_is(repo, "id")
    code, err = _validate(repo, capsys, HEAD + line)
    value = shown.rsplit(": ", 1)[1]
    read = "false" if value == "0" else "true"
    assert (code, err) == (
        2,
        f"mlgitops validate: error: schemas/accounts.yaml:{place}: {shown} is not true or false "
        f"(pandera would read it as {read})\n",
    )


def test_yes_and_no_are_true_and_false_as_pandera_reads_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "data" / "accounts.csv").write_text("id,x\n1,0.5\n2,\n")
    target_is(repo, "id")
    text = HEAD + "    unique: on\n  x:\n    dtype: float64\n    nullable: yes\ncoerce: no\n"
    code, err = _validate(repo, capsys, text)
    assert (code, err) == (0, "")
    code, err = _validate(repo, capsys, text.replace("nullable: yes", "nullable: no"))
    assert (code, err) == (1, "")


def test_a_missing_schema_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "schemas" / "accounts.yaml").unlink()
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml: no such file (data.schema in "
        "pipelines/accounts.yaml)\n",
    )


@pytest.mark.parametrize(("key", "place"), [("path", "3:9"), ("schema", "4:11")])
def test_a_nul_in_a_path_of_the_spec_is_named_at_its_place(
    repo: Path, capsys: pytest.CaptureFixture[str], key: str, place: str
) -> None:
    spec = repo / "pipelines" / "accounts.yaml"
    text = spec.read_text()
    named = {"path": "data/accounts.csv", "schema": "schemas/accounts.yaml"}[key]
    spec.write_text(text.replace(f"  {key}: {named}\n", f'  {key}: "{named}\\0"\n', 1))
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (
        2,
        f"pipelines/accounts.yaml:{place}: data.{key}: path {named + chr(0)!r} holds a NUL "
        "character, which no file name can\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n",
    )
    assert not (repo / ".mlgitops").exists()


def test_a_schema_pandera_wrote_round_trips(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandera.pandas as pa

    written = pa.DataFrameSchema(
        {"id": pa.Column(int, [pa.Check.in_range(0, 1), pa.Check.isin([0, 1])], unique=True)},
        strict=True,
    ).to_yaml()
    target_is(repo, "id")
    code, _ = _validate(repo, capsys, written)
    report = (repo / ".mlgitops/accounts/validation.md").read_text()
    assert code == 1
    assert "| `id` | in_range(0, 1) | 1 | data/accounts.csv:3: <code>2</code> |" in report
    assert "| `id` | isin([0, 1]) | 1 | data/accounts.csv:3: <code>2</code> |" in report


def test_inline_columns(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = repo / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  schema: schemas/accounts.yaml\n",
            "  columns:\n"
            "    id: {dtype: int64, unique: true, min: 1}\n"
            "    plan: {dtype: str, regex: '^[a-z]+$', isin: [free, pro]}\n",
        )
    )
    (repo / "data" / "accounts.csv").write_text("id,plan\n1,free\n0,Pro\n1,pro\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert outcome.code == 1
    assert outcome.stdout.splitlines() == [
        "accounts: data/accounts.csv, 3 rows: FAILED (4 check(s))",
        "column  check                        rows  first offending value",
        "id      field_uniqueness                2  data/accounts.csv:2: 1",
        "id      greater_than_or_equal_to(1)     1  data/accounts.csv:3: 0",
        "plan    isin(['free', 'pro'])           1  data/accounts.csv:3: 'Pro'",
        "plan    str_matches('^[a-z]+$')         1  data/accounts.csv:3: 'Pro'",
    ]
    document = (repo / ".mlgitops/accounts/validation.json").read_text()
    assert '"schema": "pipelines/accounts.yaml (data.columns)"' in document


def test_the_declared_pandera_reads_the_example_s_schema_as_written() -> None:
    """``mlgitops init``'s schema writes each check as a key of its column, which pandera
    reads from 0.31 on; an older one drops those checks, and validate refuses a schema
    weaker than written (exit 2 on the example itself). The data extra admits none older."""
    import tomllib

    import yaml
    from packaging.requirements import Requirement

    from mlgitops.validation.yaml_rules import CHECKS

    example = yaml.safe_load((PROJECT / "src/mlgitops/scaffold/schemas/tumors.yaml").read_text())
    assert any(set(column) & CHECKS for column in example["columns"].values())
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in extras["optional-dependencies"]["data"]]
    (pandera,) = [r for r in declared if r.name == "pandera"]
    assert not pandera.specifier.contains("0.30.0") and pandera.specifier.contains("0.31.0")


@pytest.mark.parametrize("spelled", ["true", "yes", "on", "True"])
def test_a_target_declared_nullable_is_refused_where_it_is_declared(
    repo: Path, capsys: pytest.CaptureFixture[str], spelled: str
) -> None:
    """validate passed the rows without a target; train then refused them (a row without
    a target can be neither learned from nor scored): the check disagreed with the stage
    it guards, and the pull request learnt it an hour later, from the GPU runner."""
    (repo / "data" / "accounts.csv").write_text("id,age,score,plan\n1,34,0.5,free\n2,40,,\n")
    schema = (PROJECT / "tests/validate/repo/accounts.yaml").read_text()
    nullable = schema.replace(
        "    isin: [free, pro, team]\n", f"    isin: [free, pro, team]\n    nullable: {spelled}\n"
    )
    code, err = _validate(repo, capsys, nullable)
    assert (code, err) == (
        2,
        "mlgitops validate: error: schemas/accounts.yaml:16:5: column 'plan' is the target of "
        "pipelines/accounts.yaml: it cannot be nullable (train can neither learn from nor "
        "score a row without a target); remove `nullable: true`\n",
    )
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    assert document["passed"] is False  # the pull request's comment shows the error
    assert document["error"] == err.removeprefix("mlgitops validate: error: ").rstrip("\n")


def test_an_inline_target_declared_nullable_is_a_spec_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = repo / "pipelines" / "accounts.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  schema: schemas/accounts.yaml\n",
            "  columns:\n    id: {dtype: int64}\n    plan: {dtype: str, nullable: true}\n",
        )
    )
    (repo / "data" / "accounts.csv").write_text("id,plan\n1,free\n2,\n")
    for verb in ("validate", "render"):
        outcome = run_cli(
            capsys, "-C", str(repo), verb, *(["accounts"] if verb == "validate" else [])
        )
        assert outcome.code == 2
        assert (
            "pipelines/accounts.yaml:6:24: data.columns.plan.nullable: the target cannot be "
            "nullable (train can neither learn from nor score a row without a target); remove "
            "`nullable: true`"
        ) in outcome.stderr, outcome.stderr


@pytest.mark.parametrize("form", ["schema file", "inline"])
def test_a_missing_or_unexpected_column_is_reported_on_that_column_in_a_named_schema(
    repo: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    """pandera reports the structure's failures on the schema's name: a schema file with a
    top-level ``name`` (and every inline schema, named after its pipeline) showed them as
    failures of a column ``accounts`` that no file has."""
    if form == "inline":
        spec = repo / "pipelines" / "accounts.yaml"
        spec.write_text(
            spec.read_text().replace(
                "  schema: schemas/accounts.yaml\n",
                "  columns:\n    id: {dtype: int64}\n    plan: {dtype: str}\n",
            )
        )
    else:
        (repo / "schemas" / "accounts.yaml").write_text(
            "schema_type: dataframe\nname: accounts\ncolumns:\n  id: {dtype: int64}\n"
            "  plan: {dtype: str}\nstrict: true\n"
        )
    (repo / "data" / "accounts.csv").write_text("id,extra\n1,x\n")
    assert run_cli(capsys, "-C", str(repo), "validate", "accounts").code == 1
    document = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())
    found = {(f["column"], f["check"]) for f in document["failures"]}
    assert found == {("plan", "column_in_dataframe"), ("extra", "column_in_schema")}, found


def test_a_target_neither_the_data_nor_the_schema_has_is_named_at_its_line_of_the_spec(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt target passed validate, and the pull request's train job then refused it:
    the check job says so first, with the slices' column. Another file (``--data``, current
    data for drift, which may lack the target) is not held to it."""
    spec = repo / "pipelines" / "accounts.yaml"
    text = spec.read_text().replace("  target: plan\n", "  target: plna\n")
    spec.write_text(text + "compare:\n  slices: {column: region}\n")
    (repo / "data" / "accounts.csv").write_text("id,age,score,plan\n1,34,0.5,free\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts")
    assert (outcome.code, outcome.stderr) == (
        2,
        "pipelines/accounts.yaml:5:11: data.target 'plna' is not a column of "
        "data/accounts.csv (its columns: id, age, score, plan)\n"
        "pipelines/accounts.yaml:10:20: compare.slices.column 'region' is not a column of "
        "data/accounts.csv (its columns: id, age, score, plan)\n"
        "mlgitops: 2 problem(s) in the specs; nothing written\n",
    )
    (repo / "data" / "current.csv").write_text("id,age,score,plan\n1,34,0.5,free\n")
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", "data/current.csv")
    assert (outcome.code, outcome.stderr) == (0, "")


@pytest.mark.parametrize(
    ("report", "rows"), [("all", [1, 2, 4]), ("exclude_first", [2, 4]), ("exclude_last", [1, 2])]
)
@pytest.mark.parametrize("where", ["column", "schema"])
def test_report_duplicates_counts_the_occurrences_pandera_counts(
    repo: Path, capsys: pytest.CaptureFixture[str], report: str, rows: list[int], where: str
) -> None:
    """``report_duplicates`` was accepted and ignored: every occurrence was counted."""
    import pandas as pd
    import pandera.pandas as pa

    if where == "column":
        text = (
            "schema_type: dataframe\ncolumns:\n  id:\n    dtype: int64\n    unique: true\n"
            f"    report_duplicates: {report}\n  plan:\n    dtype: str\n"
        )
    else:
        text = (
            "schema_type: dataframe\ncolumns:\n  id: {dtype: int64}\n  plan: {dtype: str}\n"
            f"unique: [id, plan]\nreport_duplicates: {report}\n"
        )
    csv = "id,plan\n1,free\n1,free\n2,pro\n1,free\n"
    (repo / "data" / "accounts.csv").write_text(csv)
    code, _ = _validate(repo, capsys, text)
    assert code == 1
    [failure] = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())["failures"]
    assert failure["failing_rows"] == len(rows)
    assert [e["row"] for e in failure["examples"]] == rows
    try:  # the same rows as pandera's own (0-based index)
        pa.DataFrameSchema.from_yaml(text).validate(
            pd.read_csv(repo / "data/accounts.csv"), lazy=True
        )
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        assert sorted({int(i) + 1 for i in cases["index"].dropna()}) == rows
    else:
        raise AssertionError("pandera passed it")


@pytest.mark.parametrize("key", ["id", "[id]"])
@pytest.mark.parametrize(
    ("column", "table"),
    [
        ("exclude_first", "exclude_last"),
        ("all", "exclude_first"),
        ("exclude_last", "all"),
        (None, "exclude_first"),
    ],
)
def test_a_column_s_unique_and_the_schema_s_unique_on_it_each_report_their_own_rows(
    repo: Path, capsys: pytest.CaptureFixture[str], column: str | None, table: str, key: str
) -> None:
    """``unique: true`` on a column and the schema's ``unique`` naming that column alone
    are two checks in pandera, each with its own ``report_duplicates``: both fail, each on
    the rows pandera names, and the schema's under pandera's name for it."""
    import pandas as pd
    import pandera.pandas as pa

    unique = f"    unique: true\n    report_duplicates: {column}\n" if column else ""
    text = (
        f"schema_type: dataframe\ncolumns:\n  id:\n    dtype: int64\n{unique}"
        f"  plan:\n    dtype: str\nunique: {key}\nreport_duplicates: {table}\n"
    )
    csv = "id,plan\n1,free\n2,pro\n1,team\n3,free\n1,pro\n2,free\n"
    (repo / "data" / "accounts.csv").write_text(csv)
    code, _ = _validate(repo, capsys, text)
    assert code == 1
    failures = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())["failures"]
    ours = {
        (f["column"], f["check"]): (f["failing_rows"], [e["row"] for e in f["examples"]])
        for f in failures
    }
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        pa.DataFrameSchema.from_yaml(text).validate(
            pd.read_csv(repo / "data/accounts.csv"), lazy=True
        )
    theirs: dict[tuple[str, str], list[int]] = {}
    for case in caught.value.failure_cases.itertuples():
        theirs.setdefault((case.column, case.check), []).append(int(case.index) + 1)
    checks = ["multiple_fields_uniqueness", *(["field_uniqueness"] if column else [])]
    assert set(theirs) == {("id", check) for check in checks}
    assert ours == {check: (len(rows), sorted(rows)) for check, rows in theirs.items()}


@pytest.mark.parametrize(
    ("dtype", "allowed", "csv", "rows"),
    [
        ("int64", '["1", "2"]', "1\n2\n", [1, 2]),  # text never equals a number
        ("str", '["1", "3"]', "1\n2\n", [2]),  # text is looked up as text (a number is
        # refused at its place: test_a_number_checked_against_a_column_read_as_text_...)
        ("float32", "[0.1, 0.5]", "0.1\n0.5\n", [1]),  # 0.1 as float32 is not 0.1
        ("float64", "[0.1, 0.5]", "0.1\n0.5\n", []),
    ],
)
def test_allowed_values_match_as_pandera_matches_them(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    dtype: str,
    allowed: str,
    csv: str,
    rows: list[int],
) -> None:
    """The screen turned the allowed values into the column's type before looking them up:
    ``isin: ["1", "2"]`` on integers passed there, where pandera fails every row."""
    import pandas as pd
    import pandera.pandas as pa

    text = (
        f"schema_type: dataframe\ncolumns:\n  x:\n    dtype: {dtype}\n"
        f"    isin: {allowed}\ncoerce: true\n"
    )
    (repo / "data" / "accounts.csv").write_text("x\n" + csv)
    target_is(repo, "x")
    code, _ = _validate(repo, capsys, text)
    failures = json.loads((repo / ".mlgitops/accounts/validation.json").read_text())["failures"]
    assert code == (1 if rows else 0)
    assert [[e["row"] for e in f["examples"]] for f in failures] == ([rows] if rows else [])
    try:
        pa.DataFrameSchema.from_yaml(text).validate(
            pd.read_csv(repo / "data/accounts.csv"), lazy=True
        )
    except pa.errors.SchemaErrors as exc:
        assert sorted(int(i) + 1 for i in exc.failure_cases["index"]) == rows
    else:
        assert rows == []


def test_fewer_checks_loaded_than_written_is_refused_at_the_column() -> None:
    """The last guard against weaker validation than written names its place too."""
    import pandera.pandas as pa

    from mlgitops.errors import BadInput
    from mlgitops.spec.loader import parse_yaml
    from mlgitops.validation.schema import _same_checks

    doc, _ = parse_yaml("s.yaml", HEAD + "    ge: 0\n    le: 9\nchecks:\n  ncols: 2\n")
    loaded = pa.DataFrameSchema({"id": pa.Column(int, pa.Check.ge(0))})
    with pytest.raises(BadInput) as caught:
        _same_checks("s.yaml", doc, loaded)
    assert str(caught.value) == (
        "s.yaml:3:3: column 'id' declares 2 check(s) but pandera loaded 1: refusing to "
        "validate with fewer checks than written"
    )
    loaded = pa.DataFrameSchema({"id": pa.Column(int, [pa.Check.ge(0), pa.Check.le(9)])})
    with pytest.raises(BadInput) as caught:
        _same_checks("s.yaml", doc, loaded)
    assert str(caught.value).startswith("s.yaml:7:1: 1 dataframe check(s) declared but pandera")
