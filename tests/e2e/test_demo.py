"""The README's first command: `mlgitops demo` plays the loop on embedded defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_the_loop_and_says_where_to_look(tmp_path: Path) -> None:
    box = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "mlgitops", "demo", "--dir", str(box)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    tail = done.stdout.splitlines()[-6:]
    work = box / "work"
    assert tail[0] == "── Where to look"
    assert tail[1] == f"  the PR comment:    {work / '.mlgitops' / 'tumors' / 'report.md'}"
    assert tail[2] == f"  the verdict:       {work / '.mlgitops' / 'tumors' / 'verdict.json'}"
    assert "deploy(tumors): model v1 to staging (canary 50%→100%)" in tail[3]
    model_json = work / "manifests" / "tumors" / "overlays" / "staging" / "model.json"
    digest = json.loads(model_json.read_text())["model_digest"]
    built = f"  ->  MODEL_DIGEST: {digest}, MODEL_URI: models:/tumors/1"
    assert any(line.endswith(built) for line in done.stdout.splitlines()), done.stdout
    # The local mode printed the comment instead of posting it.
    assert "no GITHUB_TOKEN, so nothing was posted" in done.stdout + done.stderr
    # The remote holds the deploy commit; the second PR was compared with that model.
    subject = subprocess.run(
        ["git", "log", "-1", "--format=%s", "main"],
        cwd=box / "remote.git",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert subject.startswith("deploy(tumors): model v1 to staging")
    verdict = json.loads((work / ".mlgitops" / "tumors" / "verdict.json").read_text())
    assert verdict["baseline"]["available"] is True
    assert verdict["baseline"]["model_uri"] == "models:/tumors/1"
    assert (
        (work / ".mlgitops" / "tumors" / "report.md")
        .read_text()
        .startswith("<!-- mlgitops:report:tumors -->")
    )
