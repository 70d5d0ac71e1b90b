"""A base install (no extras): each command that needs one says which ``pip install`` to run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "pandera", "pyarrow", "numpy", "scipy", "sklearn", "mlflow", "kubernetes")


def _base_install(folder: Path) -> Path:
    """A ``sitecustomize`` that makes every library of an extra unimportable, as pip leaves
    a base install (``ModuleNotFoundError``, like a package that is not there)."""
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n"
        f"HEAVY = {HEAVY!r}\n"
        "class _Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in HEAVY:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Absent())\n"
    )
    return folder


def _run(root: Path, shim: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(shim), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def base_install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    shim = _base_install(tmp_path_factory.mktemp("shim"))
    init = _run(root, shim, "init")
    assert init.returncode == 0, init.stderr
    return root, shim


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["validate", "tumors"],
            # the schema file is read without pandera: the data reader's library is the first
            'pyarrow is not installed, and validate needs it: pip install "mlgitops[data]"',
        ),
        (
            ["train", "tumors"],
            'mlflow is not installed, and train needs it: pip install "mlgitops[train]"',
        ),
        (
            ["status", "tumors", "--env", "staging"],
            'kubernetes is not installed, and status needs it: pip install "mlgitops[k8s]"',
        ),
        (
            ["drift", "tumors"],
            'pyarrow is not installed, and drift needs it: pip install "mlgitops[data]"',
        ),
    ],
)
def test_a_missing_extra_names_the_pip_install(
    base_install: tuple[Path, Path], args: list[str], message: str
) -> None:
    root, shim = base_install
    result = _run(root, shim, *args)
    assert (result.returncode, result.stderr.splitlines()[-1:]) == (
        2,
        [f"mlgitops {args[0]}: error: {message}"],
    )
    assert "Traceback" not in result.stderr


def test_the_base_install_still_renders(base_install: tuple[Path, Path]) -> None:
    root, shim = base_install
    result = _run(root, shim, "render")
    assert result.returncode == 0, result.stderr
