"""The Action's hash-locked requirements stay in step with pyproject.toml (offline check)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "lock"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(PROJECT / "scripts" / "lock", root / "scripts" / "lock")
    shutil.copy2(PROJECT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(PROJECT / "requirements", root / "requirements")
    return root


def test_the_committed_locks_are_current() -> None:
    done = _check(PROJECT)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == "lock --check: 9 locks match pyproject.toml\n"


def test_every_extra_the_action_installs_has_its_lock() -> None:
    import re

    text = (PROJECT / "action.yml").read_text("utf-8")
    chosen = set(re.findall(r"\b(?:extra|EXTRA)=([a-z0-9]+)\b", text)) - {"none"}
    assert {"core", "data", "train", "gpu", "k8s"} <= chosen
    missing = sorted(e for e in chosen if not (PROJECT / "requirements" / f"{e}.txt").is_file())
    assert missing == []


def _checked_with(tmp_path: Path, written: str, instead: str) -> subprocess.CompletedProcess[str]:
    """``lock --check`` of a copy of the project whose pyproject.toml says ``instead`` where
    it says ``written``."""
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    assert written in text
    pyproject.write_text(text.replace(written, instead))
    return _check(root)


def test_a_changed_dependency_makes_the_locks_stale(tmp_path: Path) -> None:
    done = _checked_with(tmp_path, '"requests>=2.31",', '"requests>=99",')
    stale = "resolved from other requirements than pyproject.toml declares"
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"requirements/core.txt: {stale}",
        "requirements/core.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/data.txt: {stale}",
        "requirements/data.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/train.txt: {stale}",
        "requirements/train.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/train-remote.txt: {stale}",
        "requirements/train-remote.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/gpu.txt: {stale}",
        "requirements/gpu.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/gpu-remote.txt: {stale}",
        "requirements/gpu-remote.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/serve.txt: {stale}",
        "requirements/serve.txt: no pin of requests satisfies 'requests>=99'",
        f"requirements/k8s.txt: {stale}",
        "requirements/k8s.txt: no pin of requests satisfies 'requests>=99'",
        "lock --check: run scripts/lock and commit requirements/",
    ]


def test_a_new_build_backend_or_a_hand_edit_is_caught(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"uv_build>=0.13,<0.14"', '"uv_build>=99"'))
    core = root / "requirements" / "core.txt"
    lines = core.read_text().splitlines(keepends=True)
    pin = next(i for i, line in enumerate(lines) if line.startswith("jinja2=="))
    lines[pin] = lines[pin].replace(" \\", "")
    core.write_text("".join(line for line in lines if not line.strip().startswith("--hash")))
    done = _check(root)
    assert done.returncode == 1
    assert (
        "pyproject.toml [build-system]: requires 'uv_build>=99', which the locked uv (0.13.8) "
        "is not: the Action's uv could not build mlgitops itself"
    ) in done.stderr.splitlines()
    assert "requirements/core.txt: jinja2==3.1.6 has no hash" in done.stderr
    assert "requirements/core.txt: certifi==2026.10.19.post1 has no hash" in done.stderr


@pytest.mark.parametrize(
    ("written", "instead"),
    [
        ('build-backend = "uv_build"', 'build-backend = "hatchling.build"'),
        ('"uv_build>=0.13,<0.14"', '"uv_build>=0.13,<0.14", "hatchling"'),
        ('"uv_build>=0.13,<0.14"', '"uv_build @ https://example.invalid/uv_build.whl"'),
        ("[build-system]", "[tool.elsewhere]"),
    ],
    ids=["another backend", "another requirement", "a URL", "no build system"],
)
def test_a_build_the_locked_uv_cannot_do_itself_is_caught(
    tmp_path: Path, written: str, instead: str
) -> None:
    """The Action builds mlgitops with `uv build --no-index`: anything but uv_build by
    version would need a download the locks do not pin, and that build fails."""
    done = _checked_with(tmp_path, written, instead)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        "pyproject.toml [build-system]: the Action builds mlgitops with uv's own backend: "
        "build-backend must be uv_build, and requires uv_build alone, by version"
    ]


def test_an_extra_without_its_lock_is_missing(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "requirements" / "k8s.txt").unlink()
    done = _check(root)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "requirements/k8s.txt: missing"
