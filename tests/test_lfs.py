"""Which inputs the repository stores in Git LFS, as git says, and pointers where data belongs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlgitops import lfs
from mlgitops.data import open_data
from mlgitops.errors import DataError

POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 2048\n"
)
PATHS = ["data/train.csv", "data/raw/events.parquet", "pipelines/p.yaml", "model.pkl"]


def _repo(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_git_matches_the_repository_s_patterns_at_every_level(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    assert lfs.tracked(root, PATHS) == frozenset()  # no attribute file at all
    (root / ".gitattributes").write_text("*.pkl filter=lfs diff=lfs merge=lfs -text\n")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / ".gitattributes").write_text("*.parquet filter=lfs -text\n")
    assert lfs.tracked(root, PATHS) == {"model.pkl", "data/raw/events.parquet"}
    (root / ".git" / "info" / "attributes").write_text("data/*.csv filter=lfs\n")
    assert lfs.tracked(root, PATHS) == {"model.pkl", "data/raw/events.parquet", "data/train.csv"}
    (root / ".gitattributes").write_text("*.pkl -filter\n")  # unset again
    (root / ".git" / "info" / "attributes").write_text("")
    assert lfs.tracked(root, PATHS) == {"data/raw/events.parquet"}


def test_a_developer_s_own_attributes_do_not_change_what_render_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path / "repo")
    (root / ".gitattributes").write_text("*.bin filter=lfs\n")
    mine = tmp_path / "my-attributes"
    mine.write_text("*.csv filter=lfs\n")
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\tattributesFile = {mine}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    alone = subprocess.run(
        ["git", "check-attr", "filter", "--", "data/train.csv"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "filter: lfs" in alone.stdout  # git alone would say so
    assert lfs.tracked(root, PATHS) == frozenset()


def test_a_developer_s_own_ignores_do_not_change_what_a_folder_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder stands for what the repository would commit of it: its own .gitignore
    counts, a developer's global excludes do not (another developer renders the same)."""
    root = _repo(tmp_path / "repo")
    (root / ".gitattributes").write_text("*.bin filter=lfs\n")
    (root / "src").mkdir()
    (root / "src" / "vocabulary.bin").write_bytes(b"\x00")
    mine = tmp_path / "my-ignores"
    mine.write_text("*.bin\n")
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\texcludesFile = {mine}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    assert lfs.tracked(root, ["src"]) == {"src/vocabulary.bin"}
    (root / ".gitignore").write_text("*.bin\n")  # the repository's own: never committed
    assert lfs.tracked(root, ["src"]) == frozenset()


def test_a_file_name_that_is_not_utf_8_is_a_file_name(tmp_path: Path) -> None:
    """git hands out names as bytes: one written in Latin-1 is a name like any other."""
    root = _repo(tmp_path / "repo")
    (root / ".gitattributes").write_text("*.bin filter=lfs\n")
    (root / "src").mkdir()
    latin = os.fsdecode(b"src/caf\xe9.bin")
    (root / latin).write_bytes(b"\x00")
    assert lfs.tracked(root, ["src"]) == {latin}


def test_outside_a_git_repository_nothing_is_in_lfs(tmp_path: Path) -> None:
    (tmp_path / ".gitattributes").write_text("*.csv filter=lfs\n")
    assert lfs.tracked(tmp_path, PATHS) == frozenset()


@pytest.mark.parametrize("name", ["data.csv", "data.parquet"])
def test_a_pointer_where_data_belongs_is_refused_by_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(POINTER)
    with pytest.raises(DataError) as caught:
        open_data(tmp_path, name, fmt=None, workdir=tmp_path).columns()
    assert str(caught.value).startswith(
        f"{name} is a Git LFS pointer (object sha256:4d7a2146…, 2,048 bytes), not the data"
    )


def test_a_csv_that_mentions_lfs_is_data(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("text\nversion https://git-lfs.github.com/spec/v1\n")
    assert open_data(tmp_path, "notes.csv", fmt=None, workdir=tmp_path).columns() == ["text"]
