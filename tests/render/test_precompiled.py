"""Workflow templates come from their precompiled modules while those are current."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from mlgitops.render import workflows

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(workflows._Precompiled().list_templates())


def test_the_precompiled_modules_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "gen-templates"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"gen-templates: {len(TEMPLATES)} templates, 0 stale\n"


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_is_loaded_from_its_module(name: str) -> None:
    environment = workflows._environment()
    template = workflows._Precompiled().load(environment, name)
    module = f"mlgitops.render.precompiled.{workflows._module_name(name)}"
    assert template.root_render_func.__module__ == module


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_stale_module_is_not_used(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    environment = workflows._environment()
    module = importlib.import_module(f"mlgitops.render.precompiled.{workflows._module_name(name)}")
    # The module's record of its source, as if the template had been edited since.
    monkeypatch.setattr(module, "SOURCE", "jinja2 0 sha256:stale")
    stale = workflows._Precompiled().load(environment, name)
    assert stale.root_render_func.__module__ != module.__name__
    fresh = environment.from_string(workflows._Precompiled().get_source(environment, name)[0])
    context = {"header": "# h\n"}
    assert _render_or_error(stale, context) == _render_or_error(fresh, context)


def _render_or_error(template: object, context: dict[str, str]) -> str:
    try:
        return template.render(**context)  # type: ignore[attr-defined,no-any-return]
    except Exception as exc:  # StrictUndefined: the same missing name either way
        return f"{type(exc).__name__}: {exc}"
