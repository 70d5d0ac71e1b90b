"""The spec schemas' evaluator agrees with jsonschema, and knows every keyword they use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mlgitops.spec.checks import schema
from mlgitops.spec.loader import _plain, parse_yaml
from mlgitops.spec.schema_eval import ANNOTATIONS, KEYWORDS, iter_errors

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
    reference = jsonschema.Draft202012Validator(schema(kind)).iter_errors(doc)
    theirs = {(tuple(e.absolute_path), str(e.validator)) for e in reference}
    assert ours == theirs


def test_true_is_not_one() -> None:
    node = {"type": "integer", "enum": [1]}
    assert [e.validator for e in iter_errors(True, node)] == ["type"]
    assert [e.validator for e in iter_errors(1.0, {"enum": [1]})] == []
    assert json.dumps([e.validator for e in iter_errors([True, 1], {"uniqueItems": True})]) == "[]"
