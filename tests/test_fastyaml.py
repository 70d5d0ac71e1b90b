"""Specs read through libyaml equal ruamel.yaml's reading: values, types and positions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlgitops.spec import fastyaml
from mlgitops.spec.loader import _plain
from mlgitops.spec.positions import Key, locate

PROJECT = Path(__file__).resolve().parents[1]
SPECS = sorted(
    [
        *(PROJECT / "tests" / "specs").rglob("*.yaml"),
        *(PROJECT / "pipelines").glob("*.yaml"),
        *(PROJECT / "src" / "mlgitops" / "scaffold").rglob("*.yaml"),
        PROJECT / "mlgitops.yaml",
    ]
)
SCALARS = [
    "yes", "No", "on", "OFF", "y", "n", "true", "False", "TRUE", "null", "~", "", "Null",
    "010", "0o17", "0x1F", "0b11", "1_000", "1:30", "1e3", "1E-3", "1.5e+3", ".5", "1.",
    "-.inf", ".nan", "+1", "-0", "0", "12", "3.11", "2001-12-14", "10m", "256Mi", "5s", "v1",
    "models:/x/1", "./", ".github", ".5e3", ".Inf", "a: b", "'quoted'", '"q"', "<<", "=", "-", "-x", "1.0.0", "0.1", "00",
]  # fmt: skip


def _typed(value: Any) -> Any:
    """Values with their types spelled out (True and 1 differ here)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _paths(value: Any, prefix: tuple[Key, ...] = ()) -> list[tuple[Key, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _ruamel(text: str) -> Any:
    return YAML(typ="rt", pure=True).load(text)


def test_every_spec_reads_the_same_through_libyaml() -> None:
    fast_files = 0
    for path in SPECS:
        text = path.read_bytes().decode("utf-8", "replace")
        fast = fastyaml.load(text)
        if fast is fastyaml.SLOW:
            continue
        try:
            slow = _ruamel(text)
        except Exception:  # ruamel rejects it: the fast reader must not accept it
            pytest.fail(f"{path}: libyaml read a document ruamel.yaml rejects")
        fast_files += 1
        assert _typed(_plain(fast)) == _typed(_plain(slow)), path
        for keys in _paths(_plain(slow)):
            assert locate(fast, keys) == locate(slow, keys), (path, keys)
            assert locate(fast, keys, at_key=True) == locate(slow, keys, at_key=True), (path, keys)
    assert fast_files > len(SPECS) // 2


@pytest.mark.parametrize("scalar", SCALARS)
def test_a_scalar_reads_as_ruamel_reads_it_or_goes_to_ruamel(scalar: str) -> None:
    for text in (f"k: {scalar}\n", f"k:\n  - {scalar}\n", f"k: [{scalar}]\n"):
        fast = fastyaml.load(text)
        if fast is not fastyaml.SLOW:
            assert _typed(_plain(fast)) == _typed(_plain(_ruamel(text))), text


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",
        "a: &x [1]\nb: *x\n",
        "a: !!str 1\n",
        "<<: {a: 1}\n",
        "a: [1\n",
        "---\na: 1\n---\nb: 2\n",
        "q: 1\x85r: 2\n",  # line breaks in YAML 1.1 (libyaml), text in YAML 1.2 (ruamel)
        "q: 1\u2028r: 2\n",
        "q: 1\u2029r: 2\n",
    ],
)
def test_what_only_ruamel_reads_exactly_goes_to_ruamel(text: str) -> None:
    assert fastyaml.load(text) is fastyaml.SLOW
