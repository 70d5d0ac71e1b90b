"""A spec nested deeper than mlgitops reads is refused at the first level past the limit,
without handing it to ruamel.yaml, whose reading takes seconds before it gives up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlgitops
from mlgitops.errors import Problem
from mlgitops.jsondoc import MAX_DEPTH
from mlgitops.spec.loader import parse_yaml

TOO_DEEP = f"YAML: collections nested more than {MAX_DEPTH} levels deep"
#: A value only ruamel.yaml reads exactly (YAML 1.1 and 1.2 differ on it).
SLOW_LINE = "flag: yes\n"

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


@pytest.mark.parametrize("slow", [False, True], ids=["libyaml", "ruamel"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.__name__)
def test_a_spec_nested_to_the_limit_reads(shape: Shape, slow: bool) -> None:
    text, _ = shape(MAX_DEPTH)
    doc, problems = parse_yaml("pipelines/deep.yaml", text + (SLOW_LINE if slow else ""))
    assert problems == []
    assert _depth(doc) == MAX_DEPTH


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 999, 1000, 1001, 5000])
@pytest.mark.parametrize("slow", [False, True], ids=["libyaml", "ruamel"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.__name__)
def test_a_spec_nested_past_the_limit_is_named_at_the_first_level_past_it(
    shape: Shape, slow: bool, levels: int
) -> None:
    text, (line, col) = shape(levels)
    doc, problems = parse_yaml("pipelines/deep.yaml", text + (SLOW_LINE if slow else ""))
    assert doc is None
    assert problems == [Problem("pipelines/deep.yaml", line, col, TOO_DEEP)]


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
