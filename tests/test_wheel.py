"""The wheel the Action builds and installs in every job holds the package as committed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_committed_file_of_the_package_and_nothing_else(
    tmp_path: Path,
) -> None:
    """Templates, schemas, the scaffold and the precompiled templates are package data that
    only the built wheel can lose (the tests import the source tree); byte-code and other
    files git does not track must not reach it."""
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, uv_build; print(uv_build.build_wheel(sys.argv[1]))",
            str(tmp_path),
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
    wheel = tmp_path / built.stdout.strip().splitlines()[-1]
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
