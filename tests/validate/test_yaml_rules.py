"""A schema file read without pandera is what pandera makes of it.

:mod:`mlgitops.validation.yaml_rules` reads pandera's YAML format in its plain
forms and leaves every other file to pandera. Here both read the same texts:
generated schemas that mix plain and other forms (dtypes, each way of writing
a check, options, values of odd types, ranges pandera refuses, top-level
settings) and every schema file of the tests. Wherever the plain reading
answers, pandera must load the text (with the same strictness ``validate``
loads it) and every field of the two readings must be equal, each check's
label included; and the plain reading must answer for most plain texts.
"""

from __future__ import annotations

import importlib
import json
import math
import random
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.errors import BadInput, SpecError
from mlgitops.validation import yaml_rules
from mlgitops.validation.rules import ColumnRule, Schema
from mlgitops.validation.schema import from_yaml_text, pandera_schema
from mlgitops.validation.schema_audit import audit
from tests.conftest import PROJECT

DTYPES = [
    *yaml_rules.NUMPY_DTYPES,
    *yaml_rules.TEXT_DTYPES,
    "float",
    "int",
    "Int64",
    "category",
    "object",
    "datetime64[ns]",
    "boolean",
    "float16",
    "[int64]",
    "{kind: int64}",
]
#: Ways to write each check's value that the plain reading takes, as YAML text.
PLAIN_FORMS: dict[str, list[str]] = {
    "in_range": [
        "{min_value: 0, max_value: 5}",
        "{min_value: -1.5, max_value: 2.25, include_min: false}",
        "{min_value: 3, max_value: 3}",
        "{min_value: 0, max_value: .inf, include_max: true}",
        "{value: {min_value: 1, max_value: 2}}",
    ],
    "greater_than": ["0", "-2.5", "{min_value: 1}", "{value: 1}"],
    "greater_than_or_equal_to": ["0", "{min_value: 0.5}", "-.inf"],
    "less_than": ["10", "{max_value: 1.0e+2}", ".inf"],
    "less_than_or_equal_to": ["100", "{max_value: 7}"],
    "equal_to": ["3", "{value: 3}", "0.5"],
    "isin": ["[a, b, c]", "[1, 2, 3]", "[1.5, x, 2]", "[]", "{allowed_values: [red, green]}"],
    "notin": ["[0]", "{forbidden_values: [x, y]}", "['']"],
}
#: Ways the plain reading leaves to pandera (which loads some and refuses others).
OTHER_FORMS: dict[str, list[str]] = {
    "in_range": [
        "{min_value: 3, max_value: 3, include_max: false}",
        "{min_value: 5, max_value: 0}",
        "{min_value: 0}",
        "{min_value: .nan, max_value: 1}",
        "{min_value: 0, max_value: 1, include_min: 1}",
        "{min_value: '0', max_value: '9'}",
        "{min_value: 1e3, max_value: 1e4}",
        "{min_value: 0, max_value: 1, ignore_na: false}",
        "[0, 5]",
        "5",
    ],
    "greater_than": ["true", "''", "~", "1_000", "{min_value: 1, value: 2}"],
    "greater_than_or_equal_to": ["{min_value: 0, raise_warning: true}"],
    "less_than": ["{max_value: 1e2}", "[1]"],
    "less_than_or_equal_to": ["{max_value: 7, error: custom}"],
    "equal_to": ["x", "yes"],
    "isin": [
        "abc",
        "[true, false]",
        "[[1], 2]",
        "{allowed_values: [a], ignore_na: false}",
        "[a, .nan]",
    ],
    "notin": ["[~]"],
    "str_matches": ["'^[a-z]+$'"],
    "str_length": ["{min_value: 1, max_value: 5}"],
    "ge": ["0"],
}
FLAGS = ["nullable", "unique", "required", "coerce"]
#: true and false as pandera's YAML reads them (anything else is refused where it is written:
#: ``test_schema.py::test_a_setting_pandera_reads_as_true_or_false_must_be_one``)
FLAG_VALUES = ["true", "false", "yes", "no", "on"]
TOP = [
    "coerce: true",
    "coerce: false",
    "strict: true",
    "strict: filter",
    "strict: no",
    "ordered: true",
    "unique: c0",
    "unique: [c0, c1]",
    "name: accounts",
    "title: Accounts",
    "version: 0.20.0",
    "report_duplicates: all",
    "api: pandas",
    "unique: [1]",
    "api: polars",
    "metadata: {owner: data}",
    "metadata: x",
    "add_missing_columns: true",
    "checks: {ncols: 2}",
    "index: [{dtype: int64}]",
]


def _check_lines(chance: random.Random, indent: str, plain: bool) -> list[str]:
    """A column's checks: flat keys, a ``checks`` mapping or a ``checks`` list; ``plain``:
    only in forms the plain reading takes."""
    pool = sorted(PLAIN_FORMS if plain else {*PLAIN_FORMS, *OTHER_FORMS})
    names = chance.sample(pool, chance.choice([0, 1, 1, 2, 3]))
    picked = []
    for name in names:
        forms = PLAIN_FORMS.get(name, []) + ([] if plain else OTHER_FORMS.get(name, []))
        picked.append((name, chance.choice(forms)))
    form = chance.choice(["flat", "flat", "mapping", "list"])
    if form == "flat":
        return [f"{indent}{name}: {value}" for name, value in picked]
    if form == "mapping":
        return [f"{indent}checks:"] + [f"{indent}  {name}: {value}" for name, value in picked]
    lines = [f"{indent}checks:"] if picked else [f"{indent}checks: []"]
    for name, value in picked:
        options = chance.choice(
            [
                f"{{check_name: {name}}}",
                f"{{check_name: {name}, ignore_na: true}}",
                f"{{check_name: [{name}]}}",
            ][: 3 - 2 * plain]
        )
        loaded = yaml.safe_load(value)
        if isinstance(loaded, dict):
            stats = ", ".join(f"{k}: {_written(v)}" for k, v in loaded.items())
            lines.append(f"{indent}- {{{stats}, options: {options}}}")
        else:
            lines.append(f"{indent}- {{value: {value}, options: {options}}}")
    return lines


def _written(value: Any) -> str:
    """A loaded value as YAML flow text (JSON's, but YAML's infinities)."""
    if isinstance(value, float) and math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return json.dumps(value)


def _schema_text(chance: random.Random, mostly_plain: bool) -> str:
    """A schema file; ``mostly_plain``: mostly forms the plain reading takes."""
    plain = mostly_plain and chance.random() < 0.8
    dtypes = DTYPES[:13] if plain else DTYPES
    lines = ["schema_type: dataframe", "columns:"]
    count = chance.randint(1, 4)
    for i in range(count):
        lines.append(f"  c{i}:")
        if plain or chance.random() < 0.95:
            lines.append(f"    dtype: {chance.choice(dtypes)}")
        for flag in FLAGS:
            if chance.random() < 0.3:
                lines.append(f"    {flag}: {chance.choice(FLAG_VALUES[: 2 if plain else None])}")
        if chance.random() < 0.2:
            lines.append("    description: a column")
        lines += _check_lines(chance, "    ", plain)
    for setting in chance.sample(TOP[:12] if plain else TOP, chance.randint(0, 3)):
        if "c1" in setting and count < 2:
            continue  # a key names declared columns (else it is refused)
        if not setting.startswith(tuple(line.split(":")[0] + ":" for line in lines)):
            lines.append(setting)
    return "\n".join(lines) + "\n"


def _fields(rule: ColumnRule) -> dict[str, Any]:
    values = {f.name: getattr(rule, f.name) for f in fields(rule) if f.name != "target"}
    values["target"] = rule.target()
    values["errors"] = [check.error for check in rule.checks]  # not part of equality
    return values


def _same(ours: Schema, theirs: Schema, text: str) -> None:
    assert list(ours.columns) == list(theirs.columns), text
    for name in ours.columns:
        assert _fields(ours.columns[name]) == _fields(theirs.columns[name]), (name, text)
    for setting in ("strict", "coerce", "ordered", "unique", "checks"):
        assert getattr(ours, setting) == getattr(theirs, setting), (setting, text)
        assert type(getattr(ours, setting)) is type(getattr(theirs, setting)), (setting, text)


def _pandera_reading(text: str) -> Schema | BadInput:
    """pandera's reading of ``text``, after the file's audit that both readings share."""
    doc = yaml.safe_load(text)
    try:
        problems = sorted(audit("s.yaml", doc))
        if problems:
            raise SpecError(problems)
        return Schema.of(pandera_schema("s.yaml", text, doc))
    except BadInput as exc:
        return exc


def _compare(text: str) -> str:
    """Read ``text`` both ways: "plain" where the plain reading answered, "pandera" where
    it left the file to pandera, "refused" where loading the file is bad input."""
    try:
        ours = from_yaml_text("s.yaml", text)
    except BadInput as exc:
        assert isinstance(_pandera_reading(text), BadInput), (text, exc)
        return "refused"
    if ours.pandera_loaded:
        return "pandera"
    theirs = _pandera_reading(text)
    assert isinstance(theirs, Schema), (text, theirs)  # whatever is read plainly, pandera loads
    _same(ours, theirs, text)  # (each column's target builds pandera's schema on demand)
    _same(ours, Schema.of(ours.pandera), text)  # and that schema is the same
    return "plain"


@pytest.mark.parametrize("plain", [True, False], ids=["mostly-plain", "mixed"])
def test_generated_schemas_read_plainly_are_what_pandera_reads(plain: bool) -> None:
    chance = random.Random(17 + plain)
    outcomes = {"plain": 0, "pandera": 0, "refused": 0}
    for _ in range(500):  # a number checked against a text column, often drawn, is refused
        outcomes[_compare(_schema_text(chance, plain))] += 1
    # both readings are asked often, and so is a file pandera refuses
    if plain:
        assert outcomes["plain"] >= 90 and outcomes["pandera"] >= 40, outcomes
    else:
        assert outcomes["pandera"] >= 100 and outcomes["refused"] >= 40, outcomes


def _schema_files() -> list[Path]:
    found = []
    for path in sorted([*PROJECT.glob("tests/**/*.yaml"), *PROJECT.glob("src/mlgitops/**/*.yaml")]):
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:  # a test's file that is not UTF-8 on purpose
            continue
        if "schema_type:" in text:
            found.append(path)
    return found


#: Modules whose module-level texts include schema files the tests validate with.
SCHEMA_MODULES = [
    "tests.compare.test_stages",
    "tests.train.test_data_contract",
    "tests.validate.test_dtypes",
    "tests.validate.test_odd_csv",
    "tests.validate.test_outputs",
    "tests.validate.test_schema",
    "tests.validate.test_verdict_differential",
    "benchmarks.bench_validate",
]


def _schema_texts() -> list[str]:
    texts = [path.read_text("utf-8") for path in _schema_files()]
    for name in SCHEMA_MODULES:
        module = importlib.import_module(name)
        texts += [
            value
            for value in vars(module).values()
            if isinstance(value, str) and value.startswith("schema_type: dataframe")
        ]
    return texts


def test_the_tests_schema_files_read_plainly_are_what_pandera_reads() -> None:
    texts = _schema_texts()
    outcomes = [_compare(text) for text in texts]
    assert len(texts) >= 8
    assert outcomes.count("plain") >= 4 and "pandera" in outcomes, outcomes


@pytest.mark.parametrize(
    "text",
    [
        "columns:\n  a: {dtype: float64, in_range: {min_value: 0, max_value: 1}}\n",
        "columns:\n  a: {dtype: int64, unique: true, isin: [1, 2]}\ncoerce: true\nstrict: true\n",
        pytest.param(
            "columns:\n  a: {dtype: str, nullable: true, notin: ['']}\n",
            marks=pytest.mark.skipif(
                not yaml_rules._pandas_3(), reason="str is text from pandas 3"
            ),
        ),
        "columns:\n  a:\n    dtype: uint8\n    checks:\n"
        "      - {min_value: 1, options: {check_name: greater_than_or_equal_to}}\n",
    ],
)
def test_plain_forms_are_read_without_pandera(text: str) -> None:
    schema = from_yaml_text("s.yaml", text)
    assert not schema.pandera_loaded
    _same(schema, _pandera_reading(text), text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "columns:\n  a: {dtype: float64, in_range: {min_value: 0, max_value: 1, ignore_na: false}}\n",
        "columns:\n  a: {dtype: Int64}\n",
        "columns:\n  a: {dtype: float64, str_matches: x}\n",
        "columns:\n  a: {dtype: float64, greater_than: 1e3}\n",  # YAML 1.1: the text '1e3'
        "columns:\n  a: {dtype: float64}\nchecks: {ncols: 1}\n",
    ],
)
def test_other_forms_are_left_to_pandera(text: str) -> None:
    assert yaml_rules.read(text, lambda: pytest.fail("not built")) is None  # type: ignore[arg-type, return-value]


def test_every_check_the_screen_decides_is_read_plainly() -> None:
    """The plain reading takes exactly the checks the screen decides, each with its
    parameter, and the generated schemas write every one of them."""
    from mlgitops.validation import screen, yaml_rules

    assert yaml_rules.CHECKS == set(screen.BOUNDS) | set(screen.SETS) == set(PLAIN_FORMS)
    for name in yaml_rules.CHECKS - {"in_range"}:
        assert name in yaml_rules._BOUNDS or name in yaml_rules._SETS, name


def test_pandas_3_is_told_from_its_install_record() -> None:
    import pandas as pd

    assert yaml_rules._pandas_3() == (int(pd.__version__.split(".")[0]) >= 3)


def test_a_pandera_that_reads_the_file_otherwise_is_a_bug_not_a_second_verdict() -> None:
    """Chunks screened before pandera is built were judged by the plain reading: where the
    pandera schema built on demand reads otherwise, that is a bug (exit 3), said loudly."""
    text = "columns:\n  a: {dtype: int64, in_range: {min_value: 0, max_value: 5}}\n"
    other = "columns:\n  a: {dtype: int32, in_range: {min_value: 0, max_value: 6}}\n"
    schema = yaml_rules.read(text, lambda: pandera_schema("s.yaml", other, yaml.safe_load(other)))
    assert schema is not None
    with pytest.raises(RuntimeError, match=r"otherwise than mlgitops: \[\"column 'a'\"\]"):
        schema.pandera  # noqa: B018 (building it is the point)
    same = yaml_rules.read(text, lambda: pandera_schema("s.yaml", text, yaml.safe_load(text)))
    assert same is not None and same.pandera.columns["a"].checks  # the same text: no error
