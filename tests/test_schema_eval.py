"""The spec schemas' evaluator agrees with jsonschema, and knows every keyword they use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mlgitops.spec.loader import _plain, parse_yaml
from mlgitops.spec.schema_eval import ANNOTATIONS, KEYWORDS, as_integers, iter_errors
from mlgitops.spec.schema_problems import schema

SPECS = Path(__file__).parent / "specs"


def _keywords(node: Any, in_properties: bool = False) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not in_properties:
                yield key
            yield from _keywords(value, in_properties=key == "properties" and not in_properties)
    elif isinstance(node, list):
        for item in node:
            yield from _keywords(item)


@pytest.mark.parametrize("name", ["pipeline", "repo"])
def test_schemas_are_valid_and_use_only_known_keywords(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))
    used = set(_keywords(schema(name)))
    assert used - KEYWORDS - ANNOTATIONS == set()


def _documents() -> Iterator[tuple[str, Any, str]]:
    for path in sorted((SPECS / "invalid").rglob("*.yaml")) + sorted(
        (SPECS / "valid").glob("*.yaml")
    ):
        doc, problems = parse_yaml(path.name, path.read_bytes().decode("utf-8", "replace"))
        if doc is not None and not problems:
            kind = "repo" if path.name == "mlgitops.yaml" else "pipeline"
            yield path.relative_to(SPECS).as_posix(), _plain(doc), kind


@pytest.mark.parametrize(
    ("case", "doc", "kind"), list(_documents()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_errors_match_jsonschema(case: str, doc: Any, kind: str) -> None:
    ours = {(tuple(e.absolute_path), e.validator) for e in iter_errors(doc, schema(kind))}
    reference = jsonschema.Draft202012Validator(_ecma_ends(schema(kind))).iter_errors(doc)
    theirs = {(tuple(e.absolute_path), str(e.validator)) for e in reference}
    assert ours == theirs


def _ecma_ends(node: Any) -> Any:
    """``node`` with each pattern's final ``$`` written ``\\Z``: JSON Schema's patterns are
    ECMA-262's, whose ``$`` is the end of the text, where the ``re`` module jsonschema uses
    also matches before a final newline. A pattern of the schemas has one ``$``, last, or none."""
    if isinstance(node, dict):
        found = {key: _ecma_ends(value) for key, value in node.items()}
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            assert pattern.count("$") == pattern.endswith("$"), pattern
            if pattern.endswith("$"):
                found["pattern"] = pattern[:-1] + "\\Z"
        return found
    return [_ecma_ends(value) for value in node] if isinstance(node, list) else node


def test_a_pattern_s_end_is_the_end_of_the_text() -> None:
    """``"churn\\n"`` matches no name: it would name files and folders with a newline."""
    node = {"type": "string", "pattern": "^[a-z]+$"}
    assert [e.validator for e in iter_errors("churn\n", node)] == ["pattern"]
    assert [e.validator for e in iter_errors("churn", node)] == []
    assert [e.validator for e in iter_errors("a$b", {"pattern": "^a[$]b$"})] == []


def test_true_is_not_one() -> None:
    node = {"type": "integer", "enum": [1]}
    assert [e.validator for e in iter_errors(True, node)] == ["type"]
    assert [e.validator for e in iter_errors(1.0, {"enum": [1]})] == []
    assert json.dumps([e.validator for e in iter_errors([True, 1], {"uniqueItems": True})]) == "[]"


@pytest.mark.parametrize("value", [10**400, -(10**400), 1e300, 2.5, 7])
def test_numbers_past_floats_range_are_judged_as_jsonschema_judges_them(value: Any) -> None:
    """An integer a float cannot hold (400 digits) was turned into one: OverflowError,
    exit 3, for a spec's ``timeout_minutes`` or a fork's ``verdict.json`` count."""
    node = {"type": "integer", "minimum": 1, "maximum": 4320}
    ours = sorted(e.validator for e in iter_errors(value, node))
    theirs = sorted(
        str(e.validator) for e in jsonschema.Draft202012Validator(node).iter_errors(value)
    )
    assert ours == theirs


def test_a_spec_number_past_floats_range_is_named_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgitops.cli import main

    assert main(["-C", str(tmp_path), "init"]) == 0
    spec = tmp_path / "pipelines" / "tumors.yaml"
    huge = "1" + "0" * 400
    spec.write_text(spec.read_text().replace("timeout_minutes: 60", f"timeout_minutes: {huge}"))
    capsys.readouterr()
    assert main(["-C", str(tmp_path), "render"]) == 2
    assert capsys.readouterr().err == (
        "pipelines/tumors.yaml:20:20: train.timeout_minutes: must be <= 4320 (got a number of "
        "401 digits)\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n"
    )


# --- the hand-off documents' schemas (report reads a fork's artifact through them) -----

FIXTURES = Path(__file__).parent / "report" / "fixtures"
HANDOFF = {
    "verdict": "verdict.json",
    "validation": "validation.json",
    "validation-failed": "validation.json",
    "datadiff": "datadiff.json",
    "train": "train.json",
}


def _handoff_schema(kind: str) -> dict[str, Any]:
    from mlgitops.report.documents import _schema

    return _schema(kind.removesuffix("-failed"))


def test_handoff_schemas_use_only_known_keywords() -> None:
    from mlgitops.report import documents

    schemas = [_handoff_schema(kind) for kind in HANDOFF] + [
        documents.TRAIN_FIELDS,
        documents.CLAIM_FIELDS,
        documents.BUDGET_FIELDS,
        documents.VALIDATION_FIELDS,
    ]
    for found in schemas:
        jsonschema.Draft202012Validator.check_schema(found)
        defs = found.get("$defs", {})
        body = {k: v for k, v in found.items() if k != "$defs"}
        used = set(_keywords(body)) | {k for d in defs.values() for k in _keywords(d)}
        assert used - KEYWORDS - ANNOTATIONS == set()


_ODD = [None, 1, 1.5, -1, "x", "", True, [], {}, float("nan")]


def _mutations(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """``doc`` with one node replaced, removed or added, at every place in turn."""

    def put(value: Any) -> Any:
        return _set(doc, path, value)

    if path:
        yield from (put(odd) for odd in _ODD)
    node = _get(doc, path)
    if isinstance(node, dict):
        for key in node:
            yield put({k: v for k, v in node.items() if k != key})
            yield from _mutations(doc, (*path, key))
        yield put({**node, "unexpected": 1})
    elif isinstance(node, list):
        if node:
            yield put(node[1:])
            yield put([*node, node[0]])
        for index in range(len(node)):
            yield from _mutations(doc, (*path, index))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _set(doc[head], rest, value)}
    return [*doc[:head], _set(doc[head], rest, value), *doc[head + 1 :]]


@pytest.mark.parametrize("kind", HANDOFF)
def test_handoff_documents_and_every_mutation_are_judged_as_jsonschema_judges(kind: str) -> None:
    schema_ = _handoff_schema(kind)
    reference = jsonschema.Draft202012Validator(schema_)
    doc = json.loads((FIXTURES / f"{kind}.json").read_text())
    assert list(iter_errors(doc, schema_)) == [] and reference.is_valid(doc)
    judged = broken = 0
    for variant in _mutations(doc):
        ours = {tuple(e.absolute_path) for e in iter_errors(variant, schema_)}
        theirs = {tuple(e.absolute_path) for e in reference.iter_errors(variant)}
        assert bool(ours) == bool(theirs), variant
        assert ours <= theirs, variant
        judged, broken = judged + 1, broken + bool(theirs)
    assert judged > 50 and 0 < broken < judged  # the mutations test both answers


def test_refs_const_conditions_and_prefix_items() -> None:
    node = {
        "$defs": {"pos": {"type": "integer", "minimum": 1}},
        "type": "object",
        "properties": {
            "n": {"$ref": "#/$defs/pos"},
            "pair": {"type": "array", "prefixItems": [{"const": "a"}], "items": {"type": "number"}},
            "kind": {"enum": ["x", "y"]},
        },
        "if": {"properties": {"kind": {"const": "x"}}},
        "then": {"required": ["n"]},
        "else": {"required": ["pair"]},
    }
    cases = [
        {"kind": "x", "n": 2},
        {"kind": "x"},
        {"kind": "x", "n": 0},
        {"kind": "y"},
        {"kind": "y", "pair": ["a", 1, 2.5]},
        {"kind": "y", "pair": ["b"]},
        {"kind": "y", "pair": ["a", "b"]},
        {"kind": True, "pair": []},
    ]
    reference = jsonschema.Draft202012Validator(node)
    for case in cases:
        ours = {(tuple(e.absolute_path), e.validator) for e in iter_errors(case, node)}
        theirs = {(tuple(e.absolute_path), str(e.validator)) for e in reference.iter_errors(case)}
        assert ours == theirs, case


def test_numbers_the_schema_asks_to_be_integers_are_made_ints() -> None:
    """Through every keyword that reaches a value: properties, additionalProperties, items,
    prefixItems, $ref, oneOf and if/then/else; a number field keeps its float."""
    schema = {
        "$defs": {"whole": {"type": "integer"}},
        "type": "object",
        "properties": {
            "port": {"$ref": "#/$defs/whole"},
            "ratio": {"type": "number"},
            "steps": {"type": "array", "items": {"type": "integer"}},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "number"}]},
            "either": {"oneOf": [{"type": "string"}, {"type": ["integer", "null"]}]},
            "when": {
                "type": "object",
                "if": {"properties": {"kind": {"const": "n"}}},
                "then": {"properties": {"size": {"type": "integer"}}},
                "else": {"properties": {"size": {"type": "number"}}},
            },
        },
        "additionalProperties": {"type": "integer"},
    }
    doc = {
        "port": 8080.0,
        "ratio": 2.0,
        "steps": [10.0, 50, 100.0],
        "pair": [3.0, 4.0],
        "either": 7.0,
        "when": {"kind": "n", "size": 5.0},
        "other": 1.0,
    }
    assert not list(iter_errors(doc, schema))
    made = as_integers(doc, schema)
    assert made == doc
    assert {k: type(v).__name__ for k, v in made.items() if not isinstance(v, list | dict)} == {
        "port": "int",
        "ratio": "float",
        "either": "int",
        "other": "int",
    }
    assert [type(v) for v in made["steps"]] == [int, int, int]
    assert [type(v) for v in made["pair"]] == [int, float]
    assert type(made["when"]["size"]) is int
    otherwise = as_integers({"when": {"kind": "m", "size": 5.0}}, schema)
    assert type(otherwise["when"]["size"]) is float
