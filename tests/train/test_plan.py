"""``mlgitops plan``: affected pipelines from a git range or a file list, and the cache state."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, commit, example_repo, unique


def _second_pipeline(root: Path) -> None:
    spec = (root / "pipelines" / "tumors.yaml").read_text()
    spec = spec.replace("name: tumors", "name: cells").replace(
        "schemas/tumors.yaml", "schemas/cells.yaml"
    )
    (root / "pipelines" / "cells.yaml").write_text(spec)
    (root / "schemas" / "cells.yaml").write_text((root / "schemas" / "tumors.yaml").read_text())
    commit(root, "second pipeline")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = example_repo(tmp_path / "repo", "tumors")
    _second_pipeline(root)
    return root


def test_plan_from_a_git_range(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=repo, check=True)
    (repo / "schemas" / "cells.yaml").write_text(
        (repo / "schemas" / "cells.yaml").read_text() + "# x\n"
    )
    (repo / "README.md").write_text("notes\n")
    commit(repo, "touch the cells schema")
    assert cli(repo, "plan", "--base", "main") == 0
    assert capsys.readouterr().out == (
        "pipeline  affected  train cache  stages                         because\n"
        "cells     yes       miss         validate train compare report  schemas/cells.yaml\n"
        "tumors    no        -            -                              -\n"
        "2 changed file(s); 1 pipeline(s) affected; GPU training needed for: cells\n"
    )
    assert not (repo / ".mlgitops").exists()


def test_a_repository_whose_pipelines_live_in_a_folder_plans_from_that_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mlgitops -C ml``: git names changed files from the repository's top
    (``ml/pipelines/tumors.yaml``), the specs from their root (``pipelines/tumors.yaml``).
    Nothing ever matched, and every pull request was "inputs unchanged"."""
    top = tmp_path / "top"
    example_repo(top / "ml", "tumors")
    shutil.rmtree(top / "ml" / ".git")
    (top / "README.md").write_text("the team's repository\n")
    commit(top, "ml in a folder", init=True)
    subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=top, check=True)
    spec = top / "ml" / "pipelines" / "tumors.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    (top / "README.md").write_text("notes\n")  # outside the root: no input of any pipeline
    commit(top, "tune it")
    capsys.readouterr()
    assert cli(top / "ml", "plan", "--base", "main", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changed"] == ["pipelines/tumors.yaml"], doc
    assert [p["name"] for p in doc["pipelines"] if p["affected"]] == ["tumors"], doc


def test_a_changed_file_whose_name_git_would_quote_is_an_input(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """git quotes such names in its plain output (``"data/donn\\303\\251es.csv"``): read as
    names, the pipeline they feed is affected; a PR changing them is never "unchanged"."""
    spec = repo / "pipelines" / "cells.yaml"
    named = 'data/données "cellules".csv'
    spec.write_text(spec.read_text().replace("path: data/tumors.csv", f"path: '{named}'"))
    (repo / named).write_bytes((repo / "data" / "tumors.csv").read_bytes())
    commit(repo, "the cells' own data")
    subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=repo, check=True)
    (repo / named).write_text(
        (repo / named).read_text() + (repo / named).read_text().splitlines()[1] + "\n"
    )
    commit(repo, "more cells")
    assert cli(repo, "plan", "--base", "main", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["changed"], doc["affected"]) == ([named], ["cells"])
    assert [p["reasons"] for p in doc["pipelines"] if p["name"] == "cells"] == [[named]]


def test_an_input_moved_away_affects_its_pipeline(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """git's rename detection names only where a file went: the input it left is changed
    too (the pipeline now reads a file that is not there), so its checks run."""
    subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=repo, check=True)
    subprocess.run(
        ["git", "mv", "schemas/cells.yaml", "schemas/cells-old.yaml"], cwd=repo, check=True
    )
    commit(repo, "move the cells schema away")
    assert cli(repo, "plan", "--base", "main", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["changed"], doc["affected"]) == (
        ["schemas/cells-old.yaml", "schemas/cells.yaml"],
        ["cells"],
    )


def test_inputs_the_spec_spells_another_way_are_inputs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``./data/tumors.csv`` and ``schemas//cells.yaml`` name the files git calls
    ``data/tumors.csv`` and ``schemas/cells.yaml``: changing them affects the pipeline."""
    spec = repo / "pipelines" / "cells.yaml"
    text = spec.read_text().replace("path: data/tumors.csv", "path: ./data/tumors.csv")
    spec.write_text(text.replace("schema: schemas/cells.yaml", "schema: schemas//cells.yaml"))
    commit(repo, "spell the paths another way")
    subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=repo, check=True)
    data = repo / "data" / "tumors.csv"
    data.write_text(data.read_text() + data.read_text().splitlines()[1] + "\n")
    schema = repo / "schemas" / "cells.yaml"
    schema.write_text(schema.read_text() + "# x\n")
    commit(repo, "more rows, a schema comment")
    assert cli(repo, "plan", "--base", "main", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    reasons = {p["name"]: p["reasons"] for p in doc["pipelines"]}
    assert reasons == {
        "cells": ["data/tumors.csv", "schemas/cells.yaml"],
        "tumors": ["data/tumors.csv"],
    }


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--base", "nosuch"], "--base nosuch"),
        (["--base", "main", "--head", "feature/gone"], "--head feature/gone"),
    ],
)
def test_a_ref_that_names_no_commit_is_named(
    repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    """As validate --base says it: the option, the ref, and what to do, not git's usage text."""
    assert cli(repo, "plan", *args) == 2
    assert capsys.readouterr().err == (
        f"mlgitops plan: error: {named}: no such commit in {repo} "
        "(a shallow checkout? fetch it first)\n"
    )


def test_a_default_base_that_names_no_commit_is_named(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_BASE_REF", "main")  # a pull request's base, not fetched
    assert cli(repo, "plan") == 2
    assert capsys.readouterr().err == (
        f"mlgitops plan: error: the default base origin/main: no such commit in {repo} "
        "(a shallow checkout? fetch it first)\n"
    )


@pytest.mark.parametrize("given", [True, False], ids=["given", "default"])
def test_a_base_a_tag_shadows_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str], given: bool
) -> None:
    """A tag ``main`` is what git reads for ``main``: the plan would list what changed
    since the tag's commit, whichever its author chose."""
    subprocess.run(["git", "tag", "main", "HEAD~1"], cwd=repo, check=True)
    assert cli(repo, "plan", *(["--base", "main"] if given else [])) == 2
    assert capsys.readouterr().err == (
        "mlgitops plan: error: main names the tag refs/tags/main, not the branch "
        "refs/heads/main: delete the tag (git tag -d main, and git push origin "
        ":refs/tags/main where it was pushed)\n"
    )


def test_the_repo_config_affects_every_pipeline(
    repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert cli(repo, "plan", "--files", "./mlgitops.yaml", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["affected"], doc["train"], doc["changed"]) == (
        ["cells", "tumors"],
        ["cells", "tumors"],
        ["mlgitops.yaml"],
    )
    assert [p["reasons"] for p in doc["pipelines"]] == [["mlgitops.yaml"], ["mlgitops.yaml"]]
    assert out.read_text() == (
        'affected=["cells", "tumors"]\ntrain=["cells", "tumors"]\nany-affected=true\n'
        "needs-gpu=true\ncache-cells=miss\ncache-tumors=miss\n"
    )


def test_files_render_writes_affect_their_pipeline(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand edit of a generated file must meet ``render --check`` (the check job, which runs
    only for an affected pipeline), never "inputs unchanged"."""
    edited = {
        "manifests/tumors/base/rollout.yaml": ["tumors"],
        "manifests/tumors/overlays/staging/kustomization.yaml": ["tumors"],
        "manifests/tumors/overlays/staging/model.json": ["tumors"],
        "manifests/argocd/cells-staging.yaml": ["cells"],
        ".github/workflows/mlgitops-cells-deploy.yml": ["cells"],
        ".github/workflows/mlgitops-tumors-drift.yml": ["tumors"],
        ".github/workflows/mlgitops-report.yml": ["cells", "tumors"],
        "manifests/runners/gpu.yaml": ["cells", "tumors"],
    }
    for path, pipelines in edited.items():
        assert cli(repo, "plan", "--files", path, "--json") == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["affected"] == pipelines, path
        assert [p["reasons"] for p in doc["pipelines"] if p["affected"]] == [[path]] * len(
            pipelines
        )


def test_files_given_are_read_as_git_names_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = ["schemas/v1/../cells.yaml", "data//tumors.csv"]
    assert cli(repo, "plan", "--files", *given, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changed"] == ["schemas/cells.yaml", "data/tumors.csv"]
    assert doc["affected"] == ["cells", "tumors"]


def test_nothing_relevant_changed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(repo, "plan", "--files", "README.md", "docs/x.md", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["affected"], doc["train"]) == ([], [])
    assert doc["pipelines"][0] == {
        "affected": False,
        "cache": None,
        "content_key": None,
        "name": "cells",
        "needs_gpu": False,
        "note": None,
        "reasons": [],
        "run_id": None,
        "stages": [],
    }


def test_an_unreachable_server_makes_the_cache_unknown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "http://127.0.0.1:9"
    assert cli(repo, "plan", "--files", "data/tumors.csv", "--tracking-uri", uri) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "cells     yes       unknown*     validate train compare report  data/tumors.csv",
        "tumors    yes       unknown*     validate train compare report  data/tumors.csv",
        f"* cells: MLflow tracking server {uri} is unreachable (connection refused or host not found)",
        f"* tumors: MLflow tracking server {uri} is unreachable (connection refused or host not found)",
        "1 changed file(s); 2 pipeline(s) affected; GPU training needed for: cells, tumors",
    ]


def test_data_checked_out_as_a_git_lfs_pointer_makes_the_cache_unknown(
    repo: Path, capsys: pytest.CaptureFixture[str], mlflow_server: MlflowServer
) -> None:
    """The pointer's hash is no content key: a "miss" would ask for a GPU the run may not need."""
    (repo / "data" / "tumors.csv").write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 2048\n"
    )
    uri = mlflow_server.uri
    assert cli(repo, "plan", "--files", "data/tumors.csv", "--tracking-uri", uri, "--json") == 0
    entries = json.loads(capsys.readouterr().out)["pipelines"]
    pointer = (
        "data/tumors.csv is a Git LFS pointer (object sha256:4d7a2146…, 2,048 bytes), not the "
        "data: fetch the object first (git lfs pull;"
    )
    for entry in entries:
        assert (entry["cache"], entry["content_key"], entry["run_id"]) == ("unknown", None, None)
        assert entry["note"].startswith(pointer)


def test_in_actions_without_a_tracking_uri_the_cache_is_unknown(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli(repo, "plan", "--files", "data/tumors.csv") == 0
    missing = (
        "no MLflow tracking URI: set the repository secret or variable MLFLOW_TRACKING_URI "
        "(Settings → Secrets and variables → Actions), or mlflow.tracking_uri in mlgitops.yaml; "
        "in GitHub Actions the local store would be thrown away with the runner"
    )
    assert capsys.readouterr().out.splitlines()[1:] == [
        "cells     yes       unknown*     validate train compare report  data/tumors.csv",
        "tumors    yes       unknown*     validate train compare report  data/tumors.csv",
        f"* cells: {missing}",
        f"* tumors: {missing}",
        "1 changed file(s); 2 pipeline(s) affected; GPU training needed for: cells, tumors",
    ]


@pytest.mark.slow
def test_a_trained_pipeline_hits_the_cache_until_its_data_changes(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("planned")
    root = example_repo(tmp_path / "repo", name)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    run_id = json.loads((root / ".mlgitops" / name / "train.json").read_text())["run_id"]
    capsys.readouterr()
    assert (
        cli(
            root,
            "plan",
            "--files",
            "data/tumors.csv",
            "--tracking-uri",
            mlflow_server.uri,
            "--json",
        )
        == 0
    )
    [entry] = json.loads(capsys.readouterr().out)["pipelines"]
    assert (entry["cache"], entry["run_id"], entry["needs_gpu"]) == ("hit", run_id, False)
    data = root / "data" / "tumors.csv"
    data.write_text(data.read_text().replace("\n", "\n", 1)[:-1] + "\n")  # same bytes: still a hit
    data.write_text(data.read_text() + data.read_text().splitlines()[1] + "\n")
    assert (
        cli(
            root,
            "plan",
            "--files",
            "data/tumors.csv",
            "--tracking-uri",
            mlflow_server.uri,
            "--json",
        )
        == 0
    )
    [entry] = json.loads(capsys.readouterr().out)["pipelines"]
    assert (entry["cache"], entry["run_id"], entry["needs_gpu"]) == ("miss", None, True)


def test_a_malformed_uri_makes_the_cache_unknown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``http://[::1`` crashed plan (exit 3: ``ValueError: Invalid IPv6 URL``)."""
    uri = "http://[::1"
    assert cli(repo, "plan", "--files", "data/tumors.csv", "--tracking-uri", uri) == 0
    said = f"--tracking-uri: MLflow tracking URI {uri} is malformed (Invalid IPv6 URL)"
    assert capsys.readouterr().out.splitlines()[1:] == [
        "cells     yes       unknown*     validate train compare report  data/tumors.csv",
        "tumors    yes       unknown*     validate train compare report  data/tumors.csv",
        f"* cells: {said}",
        f"* tumors: {said}",
        "1 changed file(s); 2 pipeline(s) affected; GPU training needed for: cells, tumors",
    ]


@pytest.mark.parametrize("linked", ["the file", "its folder"])
def test_a_file_an_input_links_to_is_an_input(
    repo: Path, capsys: pytest.CaptureFixture[str], linked: str
) -> None:
    """``data/tumors.csv`` a link to a file elsewhere in the repository (or ``data`` a link
    to a folder): a pull request that changes only the file it leads to changed the data
    validate, train and deploy read, and plan said "inputs unchanged"."""
    store = repo / "store"
    store.mkdir()
    if linked == "the file":
        (repo / "data" / "tumors.csv").rename(store / "tumors.csv")
        (repo / "data" / "tumors.csv").symlink_to("../store/tumors.csv")
    else:
        for name in ("tumors.csv", "cells.csv"):
            if (repo / "data" / name).exists():
                (repo / "data" / name).rename(store / name)
        (repo / "data").rmdir()
        (repo / "data").symlink_to("store")
    commit(repo, "The data in a store")
    subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=repo, check=True)
    data = store / "tumors.csv"
    data.write_text(data.read_text() + data.read_text().splitlines(keepends=True)[-1])
    commit(repo, "One row more")
    assert cli(repo, "plan", "--base", "main", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changed"] == ["store/tumors.csv"]
    assert "tumors" in doc["affected"], doc
    [tumors] = [p for p in doc["pipelines"] if p["name"] == "tumors"]
    assert tumors["reasons"] == ["store/tumors.csv"]


def test_a_change_to_git_attributes_affects_every_pipeline(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``.gitattributes`` line (``eol``, ``working-tree-encoding``, a filter) changes the
    bytes every checkout of an input holds, the data's among them, without changing it."""
    for path in (".gitattributes", "data/.gitattributes"):
        assert cli(repo, "plan", "--files", path, "--json") == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["affected"] == ["cells", "tumors"], path
        assert [p["reasons"] for p in doc["pipelines"]] == [[path], [path]]
