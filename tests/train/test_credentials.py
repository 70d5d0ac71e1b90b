"""Credentials in the tracking URI or the job's secrets never reach what others read: the
hand-off files (uploaded as the run's artifacts), failed.json and the pull request's comment.
GitHub masks secrets in the job's log only."""

from __future__ import annotations

import base64
import contextlib
import http.server
import importlib.util
import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from mlgitops.training.tracking import open_tracking
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, example_repo, runs_of, unique

pytestmark = pytest.mark.slow

SECRET = "s3cr3t-pw"


def _with_credentials(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    return f"{scheme}://ci:{SECRET}@{rest}"


def _everything_written(root: Path, name: str) -> str:
    folder = root / ".mlgitops" / name
    return "\n".join(
        p.read_text() for p in sorted(folder.iterdir()) if p.suffix in (".json", ".md")
    )


def test_a_password_in_the_tracking_uri_is_used_and_kept_out_of_the_report(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("creds")
    root = example_repo(tmp_path / "repo", name)
    assert cli(root, "train", name, "--tracking-uri", _with_credentials(mlflow_server.uri)) == 0
    assert cli(root, "report", name) == 0
    out = capsys.readouterr()
    assert [r["info"]["status"] for r in runs_of(mlflow_server.uri, name)] == ["FINISHED"]
    train = json.loads((root / ".mlgitops" / name / "train.json").read_text())
    assert train["tracking_uri"] == mlflow_server.uri.replace("://", "://***@")
    report = (root / ".mlgitops" / name / "report.md").read_text()
    link = f"({mlflow_server.uri}/#/experiments/{train['experiment_id']}/runs/{train['run_id']})"
    assert link in report  # the run's link is kept, without the user information
    for text in (_everything_written(root, name), out.out, out.err):
        assert SECRET not in text


def test_an_unreachable_server_is_named_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_repo(tmp_path / "repo", "tumors")
    uri = "http://ci:s3cr3t-pw@127.0.0.1:9"  # the discard port: nothing listens
    assert cli(root, "train", "tumors", "--tracking-uri", uri) == 2
    err = capsys.readouterr().err
    assert err == (
        "mlgitops train: error: MLflow tracking server http://***@127.0.0.1:9 is unreachable "
        "(connection refused or host not found)\n"
    )
    failed = json.loads((root / ".mlgitops" / "tumors" / "failed.json").read_text())
    assert SECRET not in failed["message"] and "http://***@127.0.0.1:9" in failed["message"]
    assert cli(root, "report", "tumors") == 0
    assert SECRET not in _everything_written(root, "tumors") + capsys.readouterr().out


class _Recording(http.server.BaseHTTPRequestHandler):
    """Not MLflow: answers 404 and keeps each request's Authorization header."""

    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording() -> Iterator[str]:
    _Recording.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_uri_s_credentials_are_sent_as_basic_auth(
    tmp_path: Path, recording: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """As requests sends a URL's user information, percent-escapes decoded."""
    root = example_repo(tmp_path / "repo", "tumors")
    uri = f"http://ci%40corp:{SECRET}%2F1@{recording}"
    assert cli(root, "train", "tumors", "--tracking-uri", uri) == 2
    assert capsys.readouterr().err.startswith(
        f"mlgitops train: error: http://***@{recording} does not look like an MLflow"
    )
    sent = base64.b64encode(f"ci@corp:{SECRET}/1".encode()).decode()
    assert _Recording.seen and set(_Recording.seen) == {f"Basic {sent}"}
    assert SECRET not in (root / ".mlgitops" / "tumors" / "failed.json").read_text()


def test_the_registry_client_of_deploy_and_doctor_does_the_same(
    tmp_path: Path, recording: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_repo(tmp_path / "repo", "tumors")
    uri = f"http://ci:{SECRET}@{recording}"
    assert cli(root, "doctor", "--tracking-uri", uri) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        f"fix   tracking server: http://***@{recording} does not look like an MLflow"
    )
    assert SECRET not in out
    sent = base64.b64encode(f"ci:{SECRET}".encode()).decode()
    assert _Recording.seen and set(_Recording.seen) == {f"Basic {sent}"}


def test_drift_s_reference_read_does_the_same(recording: str) -> None:
    """drift reads the deployed run's reference through the same session and server name."""
    from mlgitops.drift.sources import Deployed, reference_from_run
    from mlgitops.errors import ServiceError

    uri = f"http://ci%40corp:{SECRET}%2F1@{recording}/"
    with pytest.raises(ServiceError) as raised:  # its 404s carry no MLflow error
        reference_from_run(uri, Deployed("0" * 32, "model.json"))
    assert str(raised.value).startswith(f"http://***@{recording} does not look like an MLflow")
    sent = base64.b64encode(f"ci@corp:{SECRET}/1".encode()).decode()
    assert _Recording.seen and set(_Recording.seen) == {f"Basic {sent}"}


def test_a_user_and_password_go_before_a_token_as_mlflow_s_client_sends_them(
    tmp_path: Path, recording: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated workflows pass all three from secrets: where both kinds are set, the
    REST stages send what MLflow's own client (deploy's download, the baseline) sends."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ci")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRET)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t0ken-value")
    uri = f"http://{recording}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own notices are not under test
        with contextlib.suppress(Exception):  # the recording server answers 404
            mlflow.MlflowClient(tracking_uri=uri).get_experiment_by_name("x")
    mlflows = set(_Recording.seen)
    _Recording.seen.clear()
    with contextlib.suppress(Exception):
        open_tracking(uri, tmp_path).experiment("x", create=False)
    assert mlflows and set(_Recording.seen) == mlflows
    assert mlflows == {"Basic " + base64.b64encode(f"ci:{SECRET}".encode()).decode()}


def test_a_database_store_is_named_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MLflow's own client opens a database URI; its driver may not be installed."""
    root = example_repo(tmp_path / "repo", "tumors")
    for uri, said in (
        ("mysql+nosuchdialect://ci:s3cr3t-pw@127.0.0.1:9/db", "cannot be opened ("),
        ("postgresql://ci:s3cr3t-pw@127.0.0.1:9/db", "needs the Python module psycopg2, which"),
    ):
        if "psycopg2" in said and importlib.util.find_spec("psycopg2") is not None:
            continue  # installed: the store is unreachable instead, as the first case shows
        assert cli(root, "train", "tumors", "--tracking-uri", uri) == 2
        err = capsys.readouterr().err
        shown = uri.replace("ci:s3cr3t-pw@", "***@")
        assert err.startswith(f"mlgitops train: error: MLflow tracking store {shown} {said}")
        assert SECRET not in err
        assert SECRET not in (root / ".mlgitops" / "tumors" / "failed.json").read_text()
