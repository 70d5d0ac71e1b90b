"""The wheel the Action builds and installs in every job holds the package as committed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def _built_by_the_backend(out: Path) -> Path:
    """The wheel pyproject.toml's build backend (uv_build, through its PEP 517 hook) builds."""
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, uv_build; print(uv_build.build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=PROJECT,
        # the backend runs its executable from PATH, as a build frontend's environment has it
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return out / built.stdout.strip().splitlines()[-1]


def test_the_wheel_holds_every_committed_file_of_the_package_and_nothing_else(
    tmp_path: Path,
) -> None:
    """Templates, schemas, the scaffold and the precompiled templates are package data that
    only the built wheel can lose (the tests import the source tree); byte-code and other
    files git does not track must not reach it."""
    wheel = _built_by_the_backend(tmp_path)
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "src/mlgitops"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = {name.removeprefix("src/") for name in tracked.split("\0") if name}
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    files = {n for n in names if not n.endswith("/") and not n.startswith(info + "/")}
    assert files == committed
    assert any(n.startswith("mlgitops/templates/") for n in files)  # what is checked is there
    assert "Requires-Python: >=3.11" in metadata.splitlines()
    assert "mlgitops = mlgitops.__main__:main" in entry_points.splitlines()


def _action_s_build(uv: Path, python: str, out: Path) -> list[str]:
    """The install step's `uv build` command, as action.yml writes it (no word of it holds
    a space), with its variables given."""
    import re

    from tests.render.test_action import _script

    script = re.sub(r"\\\n\s*", " ", _script("install"))  # one command per line
    (line,) = [s.strip() for s in script.splitlines() if s.strip().startswith('"$uv" build ')]
    given = {'"$uv"': str(uv), '"$venv/bin/python"': python, '"$built"': str(out)}
    given['"$ACTION_PATH"'] = str(PROJECT)
    return [given.get(word, word) for word in line.split()]


def test_the_action_s_uv_builds_the_same_wheel_with_nothing_downloaded(tmp_path: Path) -> None:
    """The Action builds mlgitops with the locked uv (`uv build --no-index`, an empty cache):
    uv builds with the backend it holds, so no build backend is downloaded, and the wheel
    holds what uv_build's own holds, byte for byte, but the name of the tool that built it.
    It runs in the job's working folder, where a pull request's job on the same runner may
    have left a ``.venv``: uv runs the interpreter the step names, never that one."""
    import re

    uv = Path(sys.executable).parent / "uv"
    locked = re.search(
        r"^uv==(\S+)", (PROJECT / "requirements" / "installer.txt").read_text(), re.M
    )
    assert locked is not None
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[:2] == ["uv", locked.group(1)]  # the Action's uv
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",  # no build backend on PATH either
        "HOME": str(home),
        "UV_CACHE_DIR": str(tmp_path / "empty-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    workspace, ran = tmp_path / "workspace", tmp_path / "planted-python-ran"
    (workspace / ".venv" / "bin").mkdir(parents=True)
    (workspace / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    planted = workspace / ".venv" / "bin" / "python"
    planted.write_text(f'#!/bin/sh\ntouch {ran}\nexec {sys.executable} "$@"\n')
    planted.chmod(0o755)
    done = subprocess.run(
        _action_s_build(uv, sys.executable, tmp_path / "by-uv"),
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not ran.exists(), "uv ran the interpreter a job left in the working folder"
    by_uv = next((tmp_path / "by-uv").glob("mlgitops-*.whl"))
    by_backend = _built_by_the_backend(tmp_path)
    assert by_uv.name == by_backend.name

    def contents(wheel: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(wheel) as archive:
            return {
                name: archive.read(name)
                for name in archive.namelist()
                if not name.endswith(("/WHEEL", "/RECORD"))
            }

    assert contents(by_uv) == contents(by_backend)
    with zipfile.ZipFile(by_uv) as archive:
        wheel = archive.read(next(n for n in archive.namelist() if n.endswith("/WHEEL")))
    assert f"Generator: uv {locked.group(1)}" in wheel.decode().splitlines()
