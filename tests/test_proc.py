"""What git hands over: file names and file texts exactly as they are (real git in tmp)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgitops import proc
from mlgitops.errors import BadInput
from tests.fixtures.processes import ended


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    return root


def test_names_come_whole_whatever_they_hold(repo: Path) -> None:
    names = [
        "données.csv",
        'a "quoted" name.csv',
        "two\nlines.csv",
        "ends in cr\r.csv",
        os.fsdecode(b"caf\xe9.csv"),
    ]
    for name in names:
        (repo / name).write_text("x\n")
    _git(repo, "add", "-A")
    assert proc.git_names("ls-files", "-z", cwd=repo) == sorted(names, key=lambda n: os.fsencode(n))
    assert proc.git_names("ls-files", "-z", cwd=repo.parent, check=False) == []


def test_a_commit_s_text_keeps_its_line_ends(repo: Path) -> None:
    (repo / "a.yaml").write_bytes(b"one: 1\r\ntwo: 2\r\n")
    (repo / "latin.yaml").write_bytes(b"# r\xe9vis\xe9\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    assert proc.git_text(repo, "HEAD", "a.yaml") == "one: 1\r\ntwo: 2\r\n"
    assert proc.git_text(repo, "HEAD", "missing.yaml") is None
    assert proc.git_text(repo, "no-such-ref", "a.yaml") is None
    with pytest.raises(BadInput, match=r"^HEAD:latin.yaml: not UTF-8 text \(invalid "):
        proc.git_text(repo, "HEAD", "latin.yaml")


def test_a_commit_s_folder_is_no_text(repo: Path) -> None:
    """``git show`` lists a folder's entries: read as a file's text they met a JSON or YAML
    parser's "Expecting value: line 1 column 1", naming no folder."""
    (repo / "model.json").mkdir()
    (repo / "model.json" / "x").write_text("{}\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    with pytest.raises(BadInput, match=r"^HEAD:model.json: a folder, not a file$"):
        proc.git_text(repo, "HEAD", "model.json")
    assert proc.git_text(repo, "HEAD", "model.json/x") == "{}\n"


def test_a_command_past_its_timeout_is_stopped_with_every_process_it_started(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; sleep 300"
    started = time.monotonic()
    with pytest.raises(proc.TimedOut):
        proc.run(["sh", "-c", script], timeout=2, group=True, check=False)
    assert time.monotonic() - started < 30
    child = int(pids.read_text())
    assert ended(child), "the command's own child is still running"


#: Before mlgitops runs its command: "" (as it is), or code that holds each start for 3 s
#: after the command runs, as a loaded runner's scheduler may hold it.
HELD_START = (
    "import subprocess, time\n"
    "class Slow(subprocess.Popen):\n"
    "    def __init__(self, *args, **kwargs):\n"
    "        super().__init__(*args, **kwargs)\n"
    "        time.sleep(3)\n"
    "subprocess.Popen = Slow\n"
)


@pytest.mark.parametrize("before", ["", HELD_START], ids=["running", "starting"])
def test_a_command_is_stopped_with_every_process_it_started_when_mlgitops_is_terminated(
    tmp_path: Path, before: str
) -> None:
    """A cancelled job terminates mlgitops; the command's own group no longer hears it.
    Also where the job is cancelled as the command starts, before mlgitops has said what a
    SIGTERM does: its default ended mlgitops alone, and the command (a trainer holding the
    GPU) ran on."""
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; sleep 300"
    code = (
        f"{before}from mlgitops import proc\n"
        f"proc.run(['sh', '-c', {script!r}], group=True, check=False)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    child = int(pids.read_text())
    assert ended(child), "the command's own child is still running"
