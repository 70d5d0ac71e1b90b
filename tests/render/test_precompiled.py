"""Workflow templates run precompiled, without Jinja, exactly as Jinja renders them."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlgitops.render import jinja_shim, workflows
from mlgitops.render.workflows import templates
from mlgitops.spec import load_repo

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(p.name for p in (PROJECT / "src/mlgitops/templates/workflows").glob("*.j2"))


def test_the_precompiled_modules_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "gen-templates"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.endswith(" 0 stale\n")


def test_the_pull_request_workflow_runs_precompiled() -> None:
    assert templates._precompiled("pr.yml.j2") is not None


def _repos(tmp_path: Path) -> list[Path]:
    roots = [PROJECT]
    for spec in sorted((PROJECT / "tests" / "specs" / "valid").glob("*.yaml")):
        root = tmp_path / spec.stem
        (root / "pipelines").mkdir(parents=True)
        (root / "pipelines" / spec.name).write_text(spec.read_text())
        roots.append(root)
    return roots


def test_every_template_renders_as_jinja_renders_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    original = templates.render_template

    def recording(name: str, context: dict[str, Any]) -> str:
        calls.append((name, context))
        return original(name, context)

    # Records each template's context, to render it both ways below.
    monkeypatch.setattr(workflows, "render_template", recording)
    for root in _repos(tmp_path):
        workflows.render(load_repo(root))
    assert {name for name, _ in calls} == set(TEMPLATES)
    for name, context in calls:
        module = templates._precompiled(name)
        if module is None:
            continue
        expected = templates._environment().get_template(name).render(**context)
        assert jinja_shim.render(module, {"expr": templates.expr, **context}) == expected, name


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_stale_module_is_not_used(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if templates._precompiled(name) is None:
        pytest.skip(f"{name} is compiled by Jinja at run time")
    module = importlib.import_module(f"mlgitops.render.precompiled.{templates._module_name(name)}")
    # The module's record of its source, as if the template had been edited since.
    monkeypatch.setattr(module, "SOURCE", "sha256:stale")
    assert templates._precompiled(name) is None


def test_an_undefined_name_is_an_error_as_in_jinja() -> None:
    module = templates._precompiled("report.yml.j2")
    assert module is not None
    with pytest.raises(jinja_shim.UndefinedError, match="'header' is undefined"):
        jinja_shim.render(module, {})


def test_render_check_imports_no_jinja(tmp_path: Path) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from pathlib import Path\n"
        "from mlgitops.commands import render\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = render.run(repo=Path({str(PROJECT)!r}), check=True)\n"
        "print(code, sorted(m for m in ('jinja2', 'ruamel') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "0 []\n"
