"""The content key: every training input changes it; settings that do not train leave it."""

from __future__ import annotations

import os
import py_compile
import subprocess
from pathlib import Path

import pytest

from mlgitops.errors import DataError, SpecError
from mlgitops.spec import load_repo
from mlgitops.training import content
from mlgitops.training.data import load_split
from tests.train.helpers import example_repo


def _key(root: Path) -> str:
    pipeline = load_repo(root).pipeline("tumors")
    return content.content_key(content.hashes(root, pipeline))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = example_repo(tmp_path / "repo", "tumors")
    spec = root / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace("model:\n", "model:\n  code: [src/]\n"))
    (root / "src" / "features").mkdir(parents=True)
    (root / "src" / "features" / "ratios.py").write_text("RATIO = 1\n")
    return root


def _compile(root: Path, rel: str) -> None:
    """Byte-code of ``src/features/ratios.py`` at ``rel``: in ``__pycache__``, what Python
    writes for itself; elsewhere a sourceless module ``import`` loads as it would a
    ``.py`` (a reviewer sees no text of it)."""
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    source = root / "src" / "features" / "ratios.py"
    py_compile.compile(str(source), cfile=str(target), doraise=True)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: _append(r / "data" / "tumors.csv", "1,1,1,1,0.1,0.1,0.1,0.1,0.1,0.1,0\n"),
        lambda r: _append(r / "schemas" / "tumors.yaml", "# a comment\n"),
        lambda r: (r / "src" / "features" / "ratios.py").write_text("RATIO = 2\n"),
        lambda r: (r / "src" / "features" / "new.py").write_text(""),
        lambda r: _compile(r, "src/features/knobs.pyc"),
        lambda r: _replace(r, "max_iter: 200", "max_iter: 300"),
        lambda r: _replace(r, "seed: 42", "seed: 43"),
        lambda r: _replace(
            r, "metrics: [roc_auc, accuracy, f1, log_loss]", "metrics: [roc_auc, accuracy]"
        ),
    ],
    ids=[
        "data",
        "schema",
        "code",
        "new-code-file",
        "sourceless-module",
        "param",
        "split",
        "metrics",
    ],
)
def test_each_training_input_changes_the_key(repo: Path, change: object) -> None:
    before = _key(repo)
    change(repo)  # type: ignore[operator]
    assert _key(repo) != before


@pytest.mark.parametrize(
    "change",
    [
        lambda r: _replace(r, "roc_auc: {min: 0.90, max_drop: 0.01}", "roc_auc: {min: 0.95}"),
        lambda r: _replace(r, "replicas: 3", "replicas: 5"),
        lambda r: _replace(r, "timeout_minutes: 60", "timeout_minutes: 90"),
        lambda r: _replace(r, "# An example pipeline", "# The example pipeline"),
        lambda r: _compile(r, "src/features/__pycache__/ratios.cpython-311.pyc"),
        lambda r: (r / "README.md").write_text("docs\n"),
    ],
    ids=["gate", "deploy", "runner-timeout", "comment", "pycache", "unrelated-file"],
)
def test_what_does_not_train_keeps_the_key(repo: Path, change: object) -> None:
    before = _key(repo)
    change(repo)  # type: ignore[operator]
    assert _key(repo) == before


def _ignore(root: Path, *patterns: str) -> None:
    _append(root / ".gitignore", "".join(f"{p}\n" for p in patterns))
    subprocess.run(["git", "add", ".gitignore"], cwd=root, check=True)


def _junk(root: Path) -> None:
    """What a developer's machine leaves in a code folder, none of it in a clean checkout."""
    features = root / "src" / "features"
    (features / ".DS_Store").write_bytes(b"\0\1")
    (features / ".ratios.py.swp").write_bytes(b"b0VIM")
    (root / "src" / "features.egg-info").mkdir()
    (root / "src" / "features.egg-info" / "PKG-INFO").write_text("Name: features\n")


def test_files_the_repository_ignores_in_a_code_folder_keep_the_key(repo: Path) -> None:
    _ignore(repo, ".DS_Store", "*.swp", "*.egg-info/")
    before = _key(repo)
    _junk(repo)
    assert _key(repo) == before


def test_files_the_developer_s_own_excludes_ignore_keep_the_key(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They never reach the commit (`git add` skips them), so CI never hashes them."""
    mine = tmp_path / "my-excludes"
    mine.write_text(".DS_Store\n*.swp\n*.egg-info/\n")
    config = tmp_path / "my-gitconfig"
    config.write_text(f"[core]\n\texcludesFile = {mine}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    before = _key(repo)
    _junk(repo)
    assert _key(repo) == before


def test_a_file_git_tracks_counts_though_a_pattern_ignores_it(repo: Path) -> None:
    _ignore(repo, "*.bin")
    weights = repo / "src" / "features" / "weights.bin"
    weights.write_bytes(b"\1" * 64)
    subprocess.run(["git", "add", "-f", str(weights)], cwd=repo, check=True)
    before = _key(repo)
    weights.write_bytes(b"\2" * 64)
    assert _key(repo) != before


def test_a_code_file_whose_name_is_not_utf_8_counts(repo: Path) -> None:
    latin = repo / os.fsdecode(b"src/features/caf\xe9.py")
    latin.write_text("CAFE = 1\n")
    before = _key(repo)
    latin.write_text("CAFE = 2\n")
    assert _key(repo) != before


def test_outside_a_git_repository_every_file_of_a_code_folder_counts(tmp_path: Path) -> None:
    root = example_repo(tmp_path / "repo", "tumors")
    spec = root / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace("model:\n", "model:\n  code: [src/]\n"))
    (root / "src").mkdir()
    (root / "src" / "ratios.py").write_text("RATIO = 1\n")
    _ignore(root, "*.swp")
    subprocess.run(["rm", "-rf", str(root / ".git")], check=True)
    before = _key(root)
    (root / "src" / ".ratios.py.swp").write_bytes(b"b0VIM")
    assert _key(root) != before


def test_the_key_is_a_sha256_over_the_component_hashes(repo: Path) -> None:
    pipeline = load_repo(repo).pipeline("tumors")
    parts = content.hashes(repo, pipeline)
    assert parts.data == content.sha256_file(repo / "data" / "tumors.csv")
    assert parts.schema == content.sha256_file(repo / "schemas" / "tumors.yaml")
    expected = content.sha256_bytes(
        content.canonical(
            {
                "data": parts.data,
                "schema": parts.schema,
                "spec": parts.spec,
                "code": parts.code,
                "package": parts.package,
                "version": 4,
            }
        )
    )
    assert content.content_key(parts) == expected
    assert len(expected) == 64


def test_a_missing_code_path_is_a_spec_error_at_its_place(repo: Path) -> None:
    _replace(repo, "code: [src/]", "code: [src/, lib/]")
    with pytest.raises(SpecError) as raised:
        _key(repo)
    [problem] = raised.value.problems
    assert (problem.path, problem.message) == (
        "pipelines/tumors.yaml",
        "model.code[1]: 'lib/' does not exist in the repository",
    )
    assert "code: [src/, lib/]" in (repo / problem.path).read_text().splitlines()[problem.line - 1]
    # the reader of the paths alone says which is missing
    with pytest.raises(DataError, match=r"^lib/: model.code path not found$"):
        content.code_files(repo, ["src/", "lib/"], declared=["src/", "lib/"])


def test_the_split_is_deterministic_disjoint_and_close_to_test_size(
    repo: Path, tmp_path: Path
) -> None:
    pipeline = load_repo(repo).pipeline("tumors")
    first, second = load_split(repo, pipeline, tmp_path), load_split(repo, pipeline, tmp_path)
    assert first.holdout["__row__"].tolist() == second.holdout["__row__"].tolist()
    assert set(first.train["__row__"]).isdisjoint(first.holdout["__row__"])
    rows = len(first.train) + len(first.holdout)
    assert rows == 569
    # each row is in the holdout with probability test_size: within 3 standard errors
    expected, sd = rows * 0.25, (rows * 0.25 * 0.75) ** 0.5
    assert abs(len(first.holdout) - expected) < 3 * sd
    # the hash never looks at the target: class shares differ by sampling noise only
    p = first.train["malignant"].mean()
    se = (p * (1 - p) * (1 / len(first.holdout) + 1 / len(first.train))) ** 0.5
    assert abs(first.holdout["malignant"].mean() - p) < 3 * se


def _replace(root: Path, old: str, new: str) -> None:
    spec = root / "pipelines" / "tumors.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))
