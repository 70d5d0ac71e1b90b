"""``mlgitops doctor`` against a real MLflow server and the loopback GitHub API."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from mlgitops.cli import main
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer

RUNNERS = (
    "note  runners of tumors: train runs on [self-hosted, linux, gpu]: Settings → Actions → "
    "Runners must list an online runner with all of these labels (listing runners needs an "
    "admin token, so doctor does not)\n"
)
EXTRAS = (
    "ok    extra data: installed (validate, drift)\n"
    "ok    extra train: installed (train, compare)\n"
    "ok    extra k8s: installed (status)\n"
)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    assert main(["-C", str(git_repo), "init"]) == 0
    return git_repo


def test_everything_in_order(
    repo: Path,
    mlflow_server: MlflowServer,
    github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("GITHUB_TOKEN", github_server.token)
    monkeypatch.setenv("GITHUB_API_URL", github_server.api_url)
    capsys.readouterr()
    assert main(["-C", str(repo), "doctor"]) == 0
    assert capsys.readouterr().out == (
        f"ok    tracking server: {mlflow_server.uri} answers with these credentials\n"
        "ok    model registry: models can be registered (a probe was created and deleted)\n"
        + EXTRAS
        + f"ok    GitHub token: accepted by {github_server.api_url} (a fine-grained or Actions "
        "token: its permissions are set per workflow job)\n" + RUNNERS + "doctor: nothing to fix\n"
    )
    found = requests.get(
        f"{mlflow_server.uri}/api/2.0/mlflow/registered-models/search",
        params={"filter": "name LIKE 'mlgitops-doctor-%'"},
        timeout=30,
    ).json()
    assert found.get("registered_models", []) == []


def test_tls_settings_that_cannot_hold_are_a_finding_to_fix(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "maybe")
    assert main(["-C", str(repo), "doctor", "--tracking-uri", "https://127.0.0.1:9"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "fix   tracking server: MLFLOW_TRACKING_INSECURE_TLS='maybe': expected true or false "
        "(or 1 or 0) (check the URI and MLFLOW_TRACKING_* credentials)"
    )


def test_an_unreachable_server_and_ci_without_a_uri_need_fixing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["-C", str(repo), "doctor", "--tracking-uri", "http://127.0.0.1:9"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "fix   tracking server: MLflow tracking server http://127.0.0.1:9 is unreachable "
        "(connection refused or host not found) (check the URI and MLFLOW_TRACKING_* credentials)"
    )
    assert out.endswith(
        "note  GitHub token: none set ($GITHUB_TOKEN or $GH_TOKEN): not checked\n"
        + RUNNERS
        + "doctor: 1 thing(s) to fix\n"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["-C", str(repo), "doctor"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "fix   tracking server: no MLflow tracking URI: set the repository secret or variable "
        "MLFLOW_TRACKING_URI (Settings → Secrets and variables → Actions), or "
        "mlflow.tracking_uri in mlgitops.yaml; in GitHub Actions the local store would be "
        "thrown away with the runner"
    )


def test_locally_the_fallback_store_is_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["-C", str(repo), "doctor"]) == 0
    store = f"sqlite:///{repo.resolve() / '.mlgitops' / 'mlflow.db'}"
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == (
        f"note  tracking server: none set: the local store {store} is used (fine on a laptop; "
        "the workflows need the repository secret or variable MLFLOW_TRACKING_URI)"
    )
    assert captured.err == (
        "mlgitops: no MLflow tracking URI set ($MLFLOW_TRACKING_URI, mlgitops.yaml "
        f"mlflow.tracking_uri or --tracking-uri): using the local store {store}\n"
    )


def test_mlflow_s_client_alone_is_a_note_not_a_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Action installs ``train-remote`` (no SQL store) for a remote tracking server."""
    import importlib.util

    from mlgitops.commands import doctor

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "sqlalchemy" else found(name)
    )
    train = [f for f in doctor._extras() if f.subject == "extra train"]
    assert [(f.level, f.text) for f in train] == [
        (
            "note",
            "MLflow's client alone is installed (train-remote): train, compare work with a "
            "remote tracking server; a local store (sqlite:, a folder) needs sqlalchemy: "
            'pip install "mlgitops[train]"',
        )
    ]
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: None if name in ("sqlalchemy", "mlflow") else found(name),
    )
    [train] = [f for f in doctor._extras() if f.subject == "extra train"]
    assert (train.level, train.text.split(" not installed")[0]) == ("fix", "mlflow, sqlalchemy")


def test_a_malformed_uri_needs_fixing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``http://[::1`` crashed doctor (exit 3: ``ValueError: Invalid IPv6 URL``)."""
    capsys.readouterr()
    assert main(["-C", str(repo), "doctor", "--tracking-uri", "http://[::1"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "fix   tracking server: --tracking-uri: MLflow tracking URI http://[::1 is malformed "
        "(Invalid IPv6 URL)"
    )
    assert out.endswith("doctor: 1 thing(s) to fix\n")


def test_a_relative_store_is_the_repository_s(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store's relative path is the repository's (``-C``), not the current folder's."""
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["-C", str(repo), "doctor", "--tracking-uri", "sqlite:///mlflow.db"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"ok    tracking server: sqlite:///{repo.resolve()}/mlflow.db opens with MLflow's own "
        "client"
    )


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        (
            "bogus://x",
            "--tracking-uri: MLflow tracking URI bogus://x: the scheme 'bogus' is none MLflow's "
            "tracking store reads",
        ),
        (
            "file:mlruns",
            "MLflow tracking store file://{root}/mlruns cannot be opened (The filesystem "
            "tracking backend (e.g., './mlruns') is in maintenance",
        ),
    ],
)
def test_a_store_train_cannot_open_needs_fixing(
    repo: Path, capsys: pytest.CaptureFixture[str], uri: str, said: str
) -> None:
    """doctor said nothing was to fix for a store train then refused: it opens it as train
    does (a folder store is one MLflow refuses now), and names a scheme MLflow has no
    store for where it was given, as train does."""
    capsys.readouterr()
    assert main(["-C", str(repo), "doctor", "--tracking-uri", uri]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        f"fix   tracking server: {said.format(root=repo.resolve())}"
    ), out
    assert out.endswith("doctor: 1 thing(s) to fix\n")
