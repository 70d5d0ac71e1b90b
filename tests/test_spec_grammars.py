"""Values that other programs read, held to those programs' grammars: the Action's reference
(GitHub, Git), the Python version (mlgitops' own), image references (the distribution
grammar), Argo CD's repository URL and revision. What they take renders; what they refuse is
refused at its place."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from mlgitops.errors import SpecError
from mlgitops.render import render_repo
from mlgitops.spec import load_repo

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "a" * 64
SPEC = """\
name: churn
data: {path: data/churn.csv, schema: schemas/churn.yaml, target: churned}
model: {estimator: sklearn.ensemble.HistGradientBoostingClassifier}
task: classification
deploy:
  server: SERVER
  environments:
    - {name: staging, namespace: ml-staging}
"""


def _repo(root: Path, config: str = "", server: str = "{image: ghcr.io/o/serve:1}") -> Path:
    """A repository holding ``config`` as its mlgitops.yaml and one pipeline whose
    ``deploy.server`` is ``server``, with every file the pipeline names."""
    for rel, text in (
        ("mlgitops.yaml", config),
        ("pipelines/churn.yaml", SPEC.replace("SERVER", server)),
        ("data/churn.csv", ""),
        ("schemas/churn.yaml", ""),
        ("serving/requirements.txt", f"mlgitops[serve]==0.1.0 --hash={DIGEST}\n"),
        ("action.yml", "name: mlgitops\n"),
        (".github/actions/mlgitops/action.yml", "name: mlgitops\n"),
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    if not config:
        (root / "mlgitops.yaml").unlink()  # an empty one is refused
    return root


def _problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_repo(root, check_references=True)
    return [str(p) for p in caught.value.problems]


def _renders(root: Path) -> None:
    assert render_repo(load_repo(root, check_references=True), {})


def _yaml(text: str) -> str:
    return json.dumps(text)  # a double-quoted YAML scalar


@pytest.mark.parametrize(
    "action",
    ["o/r//x@v1", "o/r/./x@v1", "o/r/../x@v1", "o/r/x/@v1", "./..", "./../x",
     "./.github/../nowhere/..", "./.github//actions/mlgitops", "./.github/./actions/mlgitops",
     "mlgitops/mlgitops@..", "mlgitops/mlgitops@-x", "mlgitops/mlgitops@/",
     "mlgitops/mlgitops@v1.", "mlgitops/mlgitops@x..y", "mlgitops/mlgitops@v1.lock",
     "mlgitops/mlgitops@a.lock/b", "mlgitops/mlgitops@@", "-o/r@v1", ".o/r@v1", "o-/r@v1",
     "o--p/r@v1", "o/./x@v1", "o/../x@v1"],
)  # fmt: skip
def test_an_action_github_cannot_run_is_refused(tmp_path: Path, action: str) -> None:
    problems = _problems(_repo(tmp_path, f"action: {_yaml(action)}\n"))
    assert [p.split(": ")[:2] for p in problems] == [["mlgitops.yaml:1:9", "action"]]


@pytest.mark.parametrize(
    "action",
    [f"acme/mlgitops@{SHA}", "mlgitops/mlgitops@v1", "o/r/path/to/x@v1.2.3",
     "my-org/my.repo_x@release/v1", "o/.r@v1", "O1/r..s@main", "./", "./.github/actions/mlgitops"],
)  # fmt: skip
def test_an_action_github_runs_renders(tmp_path: Path, action: str) -> None:
    _renders(_repo(tmp_path, f"action: {_yaml(action)}\n"))


def _requires_python() -> int:
    """The least minor version of Python 3 that pyproject.toml's requires-python names."""
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    found = re.fullmatch(r">=\s*3\.(\d+)", pyproject["project"]["requires-python"])
    assert found
    return int(found[1])


def test_the_python_versions_accepted_start_at_mlgitops_own_requirement(tmp_path: Path) -> None:
    least = _requires_python()
    _renders(_repo(tmp_path / "least", f'python: "3.{least}"\n'))
    problems = _problems(_repo(tmp_path / "below", f'python: "3.{least - 1}"\n'))
    assert problems == [
        f"mlgitops.yaml:1:9: python: invalid value '3.{least - 1}': expected a Python version "
        f'mlgitops runs on (it requires Python >= 3.{least}), such as "3.11"'
    ]


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.1", "3.010", "3.011", "3.0", "3.", "4.11"])
def test_a_python_mlgitops_cannot_run_on_is_refused(tmp_path: Path, version: str) -> None:
    problems = _problems(_repo(tmp_path, f'python: "{version}"\n'))
    assert [p.split(": ")[:2] for p in problems] == [["mlgitops.yaml:1:9", "python"]]


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13", "3.20", "3.100"])
def test_a_python_mlgitops_runs_on_renders(tmp_path: Path, version: str) -> None:
    _renders(_repo(tmp_path, f'python: "{version}"\n'))


#: References the distribution grammar refuses (kubelet: InvalidImageName).
BAD_IMAGES = ["a//b:1", "-a/b:1", ".", "_/x", "a/b/:1", "..:1", "a___b", "a/b.", "a:-1", "a:.x",
              "ghcr.io/o/r:" + "x" * 129, "UPPER/Case:1", "a:b:c", "-x", "", "a b",
              "ghcr.io/actions/actions-runner:latest#x", "a@sha256:" + "A" * 64, "a@sha256:12",
              "a@md5:" + "a" * 32, "-registry.local/x", "registry-.local/x", "x/" + "a" * 254]  # fmt: skip
#: References it takes, with a registry port, a digest, an IPv6 registry, Docker Hub's names.
GOOD_IMAGES = ["registry.local:5000/team/img:1", f"registry.local:5000/team/img:1@{DIGEST}",
               f"registry.local:5000/team/img@{DIGEST}", "ghcr.io/o/x:1.2", "python",
               "localhost/x", "[::1]:5000/x:1", "UPPER/case:1", "a__b/c--d.e_f", "a:" + "x" * 128,
               "library/python:3.11-slim", "registry.local:5000"]  # fmt: skip


@pytest.mark.parametrize("image", BAD_IMAGES)
def test_a_serving_image_no_runtime_pulls_is_refused(tmp_path: Path, image: str) -> None:
    problems = _problems(_repo(tmp_path, server=f"{{image: {_yaml(image)}}}"))
    assert [p.split(": ")[:2] for p in problems] == [
        ["pipelines/churn.yaml:6:19", "deploy.server.image"]
    ]


@pytest.mark.parametrize("image", GOOD_IMAGES)
def test_a_serving_image_reference_renders(tmp_path: Path, image: str) -> None:
    _renders(_repo(tmp_path, server=f"{{image: {_yaml(image)}}}"))


def _pools(image: str) -> str:
    return (
        "runners:\n  github_config_url: https://github.com/acme/models\n  pools:\n"
        f"    - {{name: gpu, image: {_yaml(image)}}}\n"
        f"    - {{name: k8s, container_mode: kubernetes, job_image: {_yaml(image)}}}\n"
    )


@pytest.mark.parametrize("image", BAD_IMAGES)
def test_a_runner_image_no_runtime_pulls_is_refused(tmp_path: Path, image: str) -> None:
    problems = _problems(_repo(tmp_path, _pools(image)))
    assert [p.split(": ")[:2] for p in problems] == [
        ["mlgitops.yaml:4:26", "runners.pools[0].image"],
        ["mlgitops.yaml:5:58", "runners.pools[1].job_image"],
    ]


@pytest.mark.parametrize("image", GOOD_IMAGES)
def test_a_runner_image_reference_renders(tmp_path: Path, image: str) -> None:
    _renders(_repo(tmp_path, _pools(image)))


def _build(repository: str, base: str) -> str:
    return (
        f"{{build: {{repository: {_yaml(repository)}, base: {_yaml(base)}, "
        "requirements: serving/requirements.txt, "
        "credentials: {username: REGISTRY_USERNAME, password: REGISTRY_PASSWORD}}}"
    )


@pytest.mark.parametrize(
    "repository",
    ["team/img", "ghcr.io/o//x", "Ghcr.io/o/x", "ghcr.io/O/x", "ghcr.io/o/x:1",
     f"ghcr.io/o/x@{DIGEST}", "ghcr.io", "-ghcr.io/o/x"],
)  # fmt: skip
def test_a_build_repository_to_push_to_is_a_registry_s_name(
    tmp_path: Path, repository: str
) -> None:
    problems = _problems(_repo(tmp_path, server=_build(repository, f"python:3.11@{DIGEST}")))
    assert [p.split(": ")[1] for p in problems] == ["deploy.server.build.repository"]


@pytest.mark.parametrize(
    "base", ["python:3.11", f"a//b@{DIGEST}", f"-python:3.11@{DIGEST}", f"python:.x@{DIGEST}"]
)
def test_a_build_base_is_an_image_pinned_by_digest(tmp_path: Path, base: str) -> None:
    problems = _problems(_repo(tmp_path, server=_build("ghcr.io/o/x", base)))
    assert [p.split(": ")[1] for p in problems] == ["deploy.server.build.base"]


@pytest.mark.parametrize(
    ("repository", "base"),
    [("registry.local:5000/team/img", f"python:3.11-slim-bookworm@{DIGEST}"),
     ("localhost/x", f"registry.local:5000/py/base:3.11@{DIGEST}"),
     ("registry:5000/a__b/c", f"python@{DIGEST}")],
)  # fmt: skip
def test_a_build_s_repository_and_base_render(tmp_path: Path, repository: str, base: str) -> None:
    _renders(_repo(tmp_path, server=_build(repository, base)))


@pytest.mark.parametrize(
    "url",
    ["https://github.com/o/r with space.git", " https://github.com/o/r.git", "a: b", "-x", "*",
     "github.com/o/r.git", "https://", "https://github.com:99999/o/r.git", "ftp://host/r.git",
     "https://github.com/o/r.git\t", "git@github.com", "git@github.com:o/r@x.git"],
)  # fmt: skip
def test_a_repo_url_argo_cd_cannot_fetch_is_refused(tmp_path: Path, url: str) -> None:
    problems = _problems(_repo(tmp_path, f"argocd: {{repo_url: {_yaml(url)}}}\n"))
    assert [p.split(": ")[1] for p in problems] == ["argocd.repo_url"]


@pytest.mark.parametrize(
    "url",
    ["https://github.com/o/r.git", "http://gitea.local:3000/o/r.git",
     "ssh://git@github.com/o/r.git", "ssh://git@gitea.local:2222/o/r.git",
     "git@github.com:o/r.git", "deploy@git.example.com:team/models"],
)  # fmt: skip
def test_a_repo_url_argo_cd_fetches_renders(tmp_path: Path, url: str) -> None:
    _renders(_repo(tmp_path, f"argocd: {{repo_url: {_yaml(url)}}}\n"))


@pytest.mark.parametrize(
    "revision",
    ["a b", "main\t", "x..y", "-x", "v1.lock", "HEAD~1", "main^", "a:b", "@", "refs/heads/",
     "feature/.x", "1.2 -"],
)  # fmt: skip
def test_a_revision_argo_cd_cannot_resolve_is_refused(tmp_path: Path, revision: str) -> None:
    problems = _problems(_repo(tmp_path, f"argocd: {{revision: {_yaml(revision)}}}\n"))
    assert [p.split(": ")[1] for p in problems] == ["argocd.revision"]


@pytest.mark.parametrize(
    "revision",
    ["HEAD", "main", "v1.2.3", SHA, "release/v1", "refs/pull/1/head", "", "1.2.*", "*",
     ">=1.2.0 <2.0.0", "^1.2 || ~2.0", "1.2 - 1.4.5", ">= 1.2, < 2", "v1.x"],
)  # fmt: skip
def test_a_revision_argo_cd_resolves_renders(tmp_path: Path, revision: str) -> None:
    _renders(_repo(tmp_path, f"argocd: {{revision: {_yaml(revision)}}}\n"))


#: Tracking URIs MLflow's tracking store reads no runs from: schemes it has no store for, a
#: server without its scheme, a database's name misspelt or with two drivers, Unity Catalog
#: (a model registry: MLflow refuses it as the tracking store).
BAD_TRACKING_URIS = ["ftp://x/y", "FTP://x/y", "s3://bucket/mlruns", "localhost:5000",
                     "mlflow.example.com:443/api", "sqlitex:///mlflow.db",
                     "postgresql+psycopg2+x://h/db", "databricks-uc", "databricks-uc://profile",
                     "uc:http://localhost:8080", "file+x:///tmp/mlruns"]  # fmt: skip
#: Tracking URIs it reads: local paths (no scheme), file:, databricks, servers, databases
#: with and without their drivers, schemes in any case.
GOOD_TRACKING_URIS = ["mlruns", "./mlruns", "/srv/mlruns", "file:///srv/mlruns", "file:mlruns",
                      "sqlite:///mlflow.db", "sqlite:////srv/mlflow.db", "SQLite:///mlflow.db",
                      "postgresql://u@db:5432/mlflow", "postgresql+psycopg2://u@db/mlflow",
                      "mysql+pymysql://u@db/mlflow", "mssql+pyodbc://db/mlflow",
                      "http://127.0.0.1:5000", "https://mlflow.example.com", "HTTPS://m.example",
                      "databricks", "databricks://profile"]  # fmt: skip

#: Tracking URIs of MLflow's tracking-store plugins (SageMaker's, Azure ML's): MLflow reads
#: them where the plugin is installed, which the job that renders need not have.
PLUGIN_TRACKING_URIS = [
    "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/mlgitops",
    "azureml://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g/providers/"
    "Microsoft.MachineLearningServices/workspaces/w",
]


@pytest.mark.parametrize("uri", BAD_TRACKING_URIS)
def test_a_scheme_is_the_commands_to_refuse_not_render_s(tmp_path: Path, uri: str) -> None:
    """A plugin installed where the commands run may add any scheme to MLflow's stores, and
    the job that renders need not have it: render passes the URI, and the commands refuse
    it at its place (tests/train/test_errors.py) where no store of theirs reads it."""
    from mlgitops.spec.remotes import tracking_uri_problem

    _renders(_repo(tmp_path, f"mlflow:\n  tracking_uri: {_yaml(uri)}\n"))
    assert tracking_uri_problem(uri) is not None


@pytest.mark.parametrize(
    ("uri", "why"),
    [("http://[::1", "Invalid IPv6 URL"), ("http://h:port", "Port could not be cast to integer value as 'port'"),
     ("https://", "it names no host"), ("http://a b:5000", "it holds white space")],
)  # fmt: skip
def test_a_tracking_uri_no_client_can_reach_is_refused_where_it_is_written(
    tmp_path: Path, uri: str, why: str
) -> None:
    """As the commands refuse it (``--tracking-uri``, ``$MLFLOW_TRACKING_URI``), but found
    by ``render --check`` on the pull request that writes it, not by the first job to log."""
    problems = _problems(_repo(tmp_path, f"mlflow:\n  tracking_uri: {_yaml(uri)}\n"))
    assert problems == [
        f"mlgitops.yaml:2:17: mlflow.tracking_uri: invalid value {uri!r}: it is malformed ({why})"
    ]


@pytest.mark.parametrize("uri", GOOD_TRACKING_URIS + PLUGIN_TRACKING_URIS)
def test_a_tracking_uri_mlflow_reads_renders(tmp_path: Path, uri: str) -> None:
    _renders(_repo(tmp_path, f"mlflow:\n  tracking_uri: {_yaml(uri)}\n"))


def test_the_tracking_uris_refused_are_those_mlflow_s_tracking_store_refuses() -> None:
    """The rule reads the scheme as MLflow does and takes the schemes its tracking store
    registers, less Unity Catalog's, whose store refuses to be one; MLflow's registry is
    private, so the test reads it (and fails where an MLflow upgrade changes it)."""
    from mlflow.tracking._tracking_service import utils

    from mlgitops.spec.remotes import (
        TRACKING_SCHEMES,
        installed_plugin_schemes,
        tracking_uri_problem,
    )

    registry = utils._tracking_store_registry
    refused = {utils._get_databricks_uc_rest_store}
    plugins = installed_plugin_schemes()  # MLflow's own stores, not those packages add
    assert {"", *TRACKING_SCHEMES} == {
        scheme
        for scheme, build in registry._registry.items()
        if build not in refused and scheme not in plugins
    }
    for uri in BAD_TRACKING_URIS + GOOD_TRACKING_URIS:
        try:
            reads = registry.get_store_builder(uri) not in refused
        except Exception:  # MLflow's own refusal: an unregistered scheme, a bad database
            reads = False
        assert (tracking_uri_problem(uri) is None) == reads, uri


def test_a_scheme_an_installed_plugin_adds_to_mlflow_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package can add a tracking store to MLflow's (an ``mlflow.tracking_store`` entry
    point, which MLflow registers as it starts): its scheme was refused where MLflow reads
    it, wherever it was given."""
    import importlib

    from mlgitops.spec.remotes import tracking_uri_problem

    uri = "fakeplug:///srv/runs.db"
    assert tracking_uri_problem(uri) is not None
    info = tmp_path / "site" / "fakeplug-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mlflow.tracking_store]\nfakeplug = fakeplug:Store\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    assert tracking_uri_problem(uri) is None
    root = _repo(tmp_path / "repo", f"mlflow:\n  tracking_uri: {_yaml(uri)}\n")
    _renders(root)
    from mlgitops.training.tracking import resolve_tracking_uri

    assert resolve_tracking_uri(root, None, load_repo(root).config, env={}) == uri
