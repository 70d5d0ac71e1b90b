"""A spec nested deeper than mlgitops reads is refused at the first level past the limit,
without handing it to ruamel.yaml, whose reading takes seconds before it gives up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import mlgitops
from mlgitops.errors import Problem
from mlgitops.jsondoc import MAX_DEPTH
from mlgitops.spec import fastyaml
from mlgitops.spec.loader import parse_yaml

TOO_DEEP = f"YAML: collections nested more than {MAX_DEPTH} levels deep"
#: A value only ruamel.yaml reads exactly (YAML 1.1 and 1.2 differ on it): the text goes
#: the slow way, past the fast reader.
SLOW_LINE = "flag: yes\n"
#: A line libyaml refuses (NEL is a line break in YAML 1.1, where a plain value cannot
#: hold one) and ruamel.yaml reads: the depth is found in ruamel's own events.
REFUSED_BY_LIBYAML = "note: a\x85b\n"
#: How each case's text reaches the reader: as it is, past the fast reader, or refused by
#: libyaml before its collections open. The line goes after the spec's first.
ROUTES = {"fast": "", "slow": SLOW_LINE, "not-libyaml": REFUSED_BY_LIBYAML}


def _routed(text: str, route: str) -> tuple[str, int]:
    """``text`` with ``route``'s line, checked to take that route, and how many lines it
    added."""
    first, rest = text.split("\n", 1)
    routed = f"{first}\n{ROUTES[route]}{rest}"
    if route != "fast":
        assert fastyaml.load(routed) is fastyaml.SLOW
    if route == "not-libyaml":
        with pytest.raises(yaml.YAMLError, match="simple key"):
            list(yaml.parse(routed, Loader=yaml.CSafeLoader))
    return routed, ROUTES[route].count("\n")


#: A spec nested ``levels`` deep (the top mapping is the first level), and the 1-based
#: line and column of the collection at level ``MAX_DEPTH + 1``.
Shape = Callable[[int], tuple[str, tuple[int, int]]]


def flow_lists(levels: int) -> tuple[str, tuple[int, int]]:
    inner = levels - 1
    return f"name: deep\nparams: {'[' * inner}{']' * inner}\n", (2, len("params: ") + MAX_DEPTH)


def flow_mappings(levels: int) -> tuple[str, tuple[int, int]]:
    inner = levels - 1
    text = f"name: deep\nparams: {'{a: ' * (inner - 1)}{{}}{'}' * (inner - 1)}\n"
    return text, (2, len("params: ") + len("{a: ") * (MAX_DEPTH - 1) + 1)


def block_lists(levels: int) -> tuple[str, tuple[int, int]]:
    lines = ["name: deep", "params:"]
    lines += ["  " * level + "-" for level in range(1, levels)]
    return "\n".join(lines) + "\n", (MAX_DEPTH + 2, 2 * MAX_DEPTH + 1)


def block_mappings(levels: int) -> tuple[str, tuple[int, int]]:
    lines = ["name: deep", "params:"]
    lines += ["  " * level + "a:" for level in range(1, levels - 1)]
    lines.append("  " * (levels - 1) + "a: 1")
    return "\n".join(lines) + "\n", (MAX_DEPTH + 2, 2 * MAX_DEPTH + 1)


SHAPES: list[Shape] = [flow_lists, flow_mappings, block_lists, block_mappings]


def _depth(value: Any) -> int:
    """How many levels of collections ``value`` nests (a level at a time)."""
    depth, level = 0, [value]
    while level:
        level = [v for v in level if isinstance(v, dict | list)]
        depth += bool(level)
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v)]
    return depth


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.__name__)
def test_a_spec_nested_to_the_limit_reads(shape: Shape, route: str) -> None:
    text, _ = _routed(shape(MAX_DEPTH)[0], route)
    if route == "fast":
        assert fastyaml.load(text) is not fastyaml.SLOW
    doc, problems = parse_yaml("pipelines/deep.yaml", text)
    assert problems == []
    assert _depth(doc) == MAX_DEPTH


#: Depths past the limit: just past it, and around and past libyaml's own limit of 1,000
#: (which only the libyaml routes meet; ruamel's events take a second to reach these).
PAST = [
    (route, levels)
    for route in ROUTES
    for levels in (MAX_DEPTH + 1, 999, 1000, 1001, 5000)
    if route != "not-libyaml" or levels in (MAX_DEPTH + 1, 1000)
]


@pytest.mark.parametrize(("route", "levels"), PAST)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.__name__)
def test_a_spec_nested_past_the_limit_is_named_at_the_first_level_past_it(
    shape: Shape, route: str, levels: int
) -> None:
    text, (line, col) = shape(levels)
    routed, added = _routed(text, route)
    doc, problems = parse_yaml("pipelines/deep.yaml", routed)
    assert doc is None
    assert problems == [Problem("pipelines/deep.yaml", line + added, col, TOO_DEEP)]


def _anchors(count: int, levels: int) -> str:
    """``count`` anchored lists ``levels`` deep, each holding an alias of the one before."""
    lines = ["name: deep"]
    for i in range(count):
        inner = f"*a{i - 1}" if i else "1"
        lines.append(f"k{i}: &a{i} {'[' * levels}{inner}{']' * levels}")
    return "\n".join(lines) + "\n"


def test_an_alias_reaches_as_deep_as_the_collection_it_names() -> None:
    # k1's lists take levels 2 to 61 and hold an alias of k0's 60 levels: 121 in all
    doc, problems = parse_yaml("pipelines/deep.yaml", _anchors(2, 60))
    assert doc is None
    assert problems == [Problem("pipelines/deep.yaml", 3, len("k1: &a1 ") + 60 + 1, TOO_DEEP)]


def test_aliases_within_the_limit_read() -> None:
    # each list is 33 levels and k2 holds k1, which holds k0: 1 + 3 * 33 = 100 levels
    doc, problems = parse_yaml("pipelines/deep.yaml", _anchors(3, 33))
    assert problems == []
    assert _depth(doc) == MAX_DEPTH


def test_a_deep_spec_that_stops_being_yaml_first_is_named_where_it_stops() -> None:
    text, _ = flow_lists(MAX_DEPTH * 3)
    broken = "name: deep\nkey: [1\n" + text.split("\n", 1)[1]
    doc, problems = parse_yaml("pipelines/deep.yaml", broken)
    assert doc is None
    assert len(problems) == 1 and problems[0].line == 3 and problems[0].message != TOO_DEEP


def test_a_spec_nested_too_deeply_is_refused_without_ruamel(tmp_path: Path) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(flow_lists(100_000)[0] + SLOW_LINE)
    script = (
        "import sys\n"
        "from mlgitops.spec.loader import parse_yaml\n"
        "_, problems = parse_yaml('deep.yaml', open(sys.argv[1]).read())\n"
        "print(problems[0].line, problems[0].col, problems[0].message)\n"
        "print(sorted(m for m in sys.modules if m.startswith('ruamel')))\n"
    )
    source = str(Path(mlgitops.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", script, str(spec)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": source, "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.splitlines() == [f"2 {len('params: ') + MAX_DEPTH} {TOO_DEEP}", "[]"]
