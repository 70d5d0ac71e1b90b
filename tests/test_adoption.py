"""Adopting mlgitops in an existing repository: ``adopt``, ``.gitignore``, tracked results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _mlgitops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """A repository with history and a remote whose default branch is ``trunk``."""
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "trunk", str(remote))
    root = tmp_path / "repo"
    _git(tmp_path, "clone", "-q", str(remote), str(root))
    (root / ".gitignore").write_text("__pycache__/")
    (root / "train.py").write_text("print('hello')\n")
    _git(root, "checkout", "-q", "-b", "trunk")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Existing work")
    _git(root, "push", "-q", "origin", "trunk")
    _git(root, "remote", "set-url", "origin", "git@github.com:acme/churn.git")
    return root


def test_adopt_writes_the_gitignore_entry_and_the_repo_settings(existing: Path) -> None:
    result = _mlgitops("adopt", cwd=existing)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "created mlgitops.yaml\n"
        "updated .gitignore\n"
        "Next: write pipelines/<name>.yaml (docs/adopting.md), then `mlgitops doctor` and "
        "`mlgitops render`.\n"
    )
    assert (existing / ".gitignore").read_text() == (
        "__pycache__/\n"
        "# mlgitops: local results and the local MLflow store (never committed)\n"
        ".mlgitops/\n"
    )
    assert (existing / "mlgitops.yaml").read_text() == (
        "# Repository-wide settings of mlgitops (docs/spec-reference.md). Every key is optional.\n"
        "action: mlgitops/mlgitops@v1     # pin a full commit SHA: zizmor flags a tag\n"
        "default_branch: trunk\n"
        "argocd:\n"
        "  repo_url: https://github.com/acme/churn.git\n"
    )
    again = _mlgitops("adopt", cwd=existing)
    assert again.stdout.splitlines()[0] == "adopt: nothing to change"
    assert _mlgitops("render", "--check", cwd=existing).returncode == 0


@pytest.mark.parametrize(
    ("url", "written"),
    [
        ("https://x-access-token:ghp_example@github.com/acme/churn.git", "https://github.com/acme/churn.git"),
        ("https://github.com/acme/churn.git\"\nevil: 1", None),
        ("ssh://git@github.com/acme/churn.git", "https://github.com/acme/churn.git"),
        ("ssh://git@gitlab.example.com:2222/ml/churn.git", "https://gitlab.example.com/ml/churn.git"),
        ("git+ssh://git@github.com/acme/churn.git", "https://github.com/acme/churn.git"),
    ],
)  # fmt: skip
def test_adopt_writes_no_credential_and_no_line_a_remote_url_holds(
    existing: Path, url: str, written: str | None
) -> None:
    """``mlgitops.yaml`` is committed: the token of a remote URL was written into it, and a
    URL holding a quote and a line break wrote a file every later command refused."""
    _git(existing, "remote", "set-url", "origin", url)
    result = _mlgitops("adopt", cwd=existing)
    assert result.returncode == 0
    # no URL written: said, without the URL (its line break, its token)
    assert (result.stderr == "") == (written is not None)
    assert "ghp_example" not in result.stderr and "evil" not in result.stderr
    config = (existing / "mlgitops.yaml").read_text()
    assert "ghp_example" not in config and "evil" not in config
    assert config.endswith(f"argocd:\n  repo_url: {written}\n" if written else "trunk\n")
    assert _mlgitops("render", "--check", cwd=existing).returncode == 0


def test_adopt_in_a_folder_of_the_repository_writes_nothing_and_names_its_top(
    existing: Path,
) -> None:
    """``mlgitops -C sub adopt`` wrote ``mlgitops.yaml`` into ``sub``, where no command run at
    the top finds it, and GitHub reads workflows only from the top's ``.github``."""
    (existing / "sub").mkdir()
    result = _mlgitops("-C", "sub", "adopt", cwd=existing)
    top = existing.resolve()
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"mlgitops adopt: error: {top / 'sub'} is a folder of the Git repository {top}: "
        "mlgitops lives at a repository's top, where GitHub reads .github/workflows "
        f"(run `mlgitops -C {top} adopt`)\n"
    )
    assert sorted(p.name for p in (existing / "sub").iterdir()) == []
    assert not (existing / "mlgitops.yaml").exists()


@pytest.mark.parametrize("branch", ["2024", "@rel"])
def test_a_default_branch_yaml_reads_otherwise_is_written_quoted(
    existing: Path, branch: str
) -> None:
    """A branch named ``2024`` was written as a number, ``@rel`` as no YAML at all: every
    later command refused the file adopt wrote."""
    _git(existing, "symbolic-ref", "refs/remotes/origin/HEAD", f"refs/remotes/origin/{branch}")
    _git(existing, "update-ref", f"refs/remotes/origin/{branch}", "HEAD")
    assert _mlgitops("adopt", cwd=existing).returncode == 0
    assert f'default_branch: "{branch}"\n' in (existing / "mlgitops.yaml").read_text()
    from mlgitops.spec import load_repo

    assert load_repo(existing).config.default_branch == branch


def test_init_writes_the_gitignore_entry(git_repo: Path) -> None:
    assert _mlgitops("init", cwd=git_repo).returncode == 0
    assert ".mlgitops/\n" in (git_repo / ".gitignore").read_text()
    (git_repo / ".mlgitops").mkdir()
    (git_repo / ".mlgitops" / "mlflow.db").write_bytes(b"local store")
    _git(git_repo, "add", "-A")
    assert _git(git_repo, "ls-files", ".mlgitops") == ""


@pytest.mark.parametrize("verb", ["adopt", "init"])
def test_a_gitignore_in_another_encoding_keeps_its_bytes(existing: Path, verb: str) -> None:
    """git matches patterns byte for byte: a Latin-1 line re-encoded matches nothing."""
    latin = b"caf\xe9.log\r\n__pycache__/"
    (existing / ".gitignore").write_bytes(latin)
    (existing / "caf\xe9.log".encode("latin-1").decode("utf-8", "surrogateescape")).write_text("x")
    assert _mlgitops(verb, cwd=existing).returncode == 0
    assert (existing / ".gitignore").read_bytes() == latin + (
        b"\n# mlgitops: local results and the local MLflow store (never committed)\n.mlgitops/\n"
    )
    assert _git(existing, "status", "--porcelain", "--ignored").count("caf") == 1
    assert "!! " in _git(existing, "status", "--porcelain", "--ignored")


def test_the_warning_names_a_tracked_result_as_it_is_named(existing: Path) -> None:
    (existing / ".mlgitops").mkdir()
    (existing / ".mlgitops" / "résumé du modèle.json").write_text("{}")
    _git(existing, "add", "-A")
    _git(existing, "commit", "-qm", "Commit a result by mistake")
    render = _mlgitops("render", cwd=existing)
    assert render.returncode == 0
    assert render.stderr.startswith(
        "mlgitops: warning: .mlgitops/ is tracked by Git (1 file(s), "
        "e.g. .mlgitops/résumé du modèle.json): "
    )


def test_every_command_warns_when_the_results_folder_is_tracked(existing: Path) -> None:
    (existing / ".mlgitops").mkdir()
    (existing / ".mlgitops" / "mlflow.db").write_bytes(b"local store")
    _git(existing, "add", "-A")
    _git(existing, "commit", "-qm", "Commit the local store by mistake")
    warning = (
        "mlgitops: warning: .mlgitops/ is tracked by Git (1 file(s), e.g. .mlgitops/mlflow.db): "
        "it holds local results and the local MLflow store, which a checkout or rebase "
        "overwrites; run `git rm -r --cached .mlgitops` and add `.mlgitops/` to .gitignore "
        "(`mlgitops adopt` does)\n"
    )
    render = _mlgitops("render", cwd=existing)
    assert (render.returncode, render.stderr) == (0, warning)
    adopt = _mlgitops("adopt", cwd=existing)
    assert adopt.stderr == warning
    assert "untrack the local results: git rm -r --cached .mlgitops\n" in adopt.stdout
    _git(existing, "rm", "-r", "-q", "--cached", ".mlgitops")
    assert _mlgitops("render", cwd=existing).stderr == ""


def _files(root: Path) -> dict[str, bytes]:
    """Every file of the work tree (``.git`` left out), by its path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]
    }


@pytest.mark.parametrize(
    ("remotes", "named", "known"),
    [
        ([], "nonexistent", "it has no remote"),
        ([], "origin", "it has no remote"),
        (["origin", "upstream"], "fork", "its remotes: origin, upstream"),
    ],
)
@pytest.mark.parametrize("initialised", [False, True])
def test_a_remote_that_is_not_there_is_refused_and_nothing_is_written(
    git_repo: Path, remotes: list[str], named: str, known: str, initialised: bool
) -> None:
    """``adopt --remote nonexistent`` said "nothing to change" after ``init`` and, without
    it, wrote an ``mlgitops.yaml`` without ``argocd.repo_url``, both with exit 0: the remote
    the user named was never looked for."""
    for remote in remotes:
        _git(git_repo, "remote", "add", remote, f"https://github.com/acme/{remote}.git")
    if initialised:
        assert _mlgitops("init", cwd=git_repo).returncode == 0
    before = _files(git_repo)
    result = _mlgitops("adopt", "--remote", named, cwd=git_repo)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"mlgitops adopt: error: --remote {named}: no such remote in {git_repo.resolve()} "
        f"({known})\n"
    )
    assert _files(git_repo) == before


@pytest.mark.parametrize(
    ("remotes", "said"),
    [([], "it has no remote"), (["upstream"], "its remotes: upstream")],
)
def test_adopt_without_an_origin_writes_no_repo_url_and_says_so(
    git_repo: Path, remotes: list[str], said: str
) -> None:
    """With no remote named and no ``origin``, adopt wrote ``mlgitops.yaml`` without
    ``argocd.repo_url`` and said nothing: every Argo CD Application it led to rendered the
    placeholder URL, which Argo CD cannot sync."""
    for remote in remotes:
        _git(git_repo, "remote", "add", remote, f"https://github.com/acme/{remote}.git")
    result = _mlgitops("adopt", cwd=git_repo)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == ["created .gitignore", "created mlgitops.yaml"]
    assert result.stderr == (
        "mlgitops adopt: warning: mlgitops.yaml: no argocd.repo_url written, as there is no "
        f"remote origin to read it from ({said}): set it to the Git URL Argo CD syncs from "
        "(until then the Argo CD Applications name a placeholder)\n"
    )
    assert (git_repo / "mlgitops.yaml").read_text() == (
        "# Repository-wide settings of mlgitops (docs/spec-reference.md). Every key is optional.\n"
        "action: mlgitops/mlgitops@v1     # pin a full commit SHA: zizmor flags a tag\n"
        "default_branch: main\n"
    )


def test_adopt_reads_the_remote_it_is_named(existing: Path) -> None:
    _git(existing, "remote", "add", "fork", "git@github.com:me/churn.git")
    result = _mlgitops("adopt", "--remote", "fork", cwd=existing)
    assert (result.returncode, result.stderr) == (0, "")
    written = (existing / "mlgitops.yaml").read_text()
    assert written.endswith(
        "default_branch: trunk\nargocd:\n  repo_url: https://github.com/me/churn.git\n"
    )


@pytest.mark.parametrize(
    "url", ["/srv/git/churn.git", "http://git.example.com/acme/churn.git", "file:///srv/churn"]
)
def test_adopt_says_so_where_origin_s_url_gives_no_repo_url(git_repo: Path, url: str) -> None:
    """An origin whose URL is no https or ssh URL of a Git host (a folder, plain http) left
    ``argocd.repo_url`` out as silently as no origin did."""
    _git(git_repo, "remote", "add", "origin", url)
    result = _mlgitops("adopt", cwd=git_repo)
    assert result.returncode == 0
    assert result.stderr == (
        "mlgitops adopt: warning: mlgitops.yaml: no argocd.repo_url written, as the URL of "
        "remote origin is no https or ssh URL of a Git host: set it to the Git URL Argo CD "
        "syncs from (until then the Argo CD Applications name a placeholder)\n"
    )
    assert "repo_url" not in (git_repo / "mlgitops.yaml").read_text()
