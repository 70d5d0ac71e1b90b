"""The reference stored on the deployed model's MLflow run, read from a real tracking server."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import requests

from mlgitops.cli import main
from mlgitops.drift.profile import build_reference, dumps_reference
from mlgitops.results import ProvenanceRecord, dumps
from mlgitops.training.tracking_rest import RestTracking
from tests.drift.repo import make_repo, shifted_rows
from tests.fixtures.mlflow_server import MlflowServer

pytestmark = pytest.mark.slow


def _run_with(server: MlflowServer, reference: dict[str, object] | None) -> str:
    tracking = RestTracking(server.uri, requests.Session())
    experiment = tracking.experiment("demo", create=True)
    assert experiment is not None
    run = tracking.create_run(experiment, "train", {})
    if reference is not None:
        local = Path(server.root) / run.run_id / "reference.json"
        local.parent.mkdir()
        local.write_text(dumps_reference(reference))
        tracking.upload(run.artifact_uri, local)
    tracking.end_run(run.run_id, "FINISHED")
    return run.run_id


def _deploy(repo: Path, run_id: str) -> None:
    record = ProvenanceRecord(
        pipeline="demo",
        environment="staging",
        model_name="demo",
        version="1",
        model_uri="models:/demo/1",
        run_id=run_id,
        content_key="k",
        metrics={},
        data_hash="d",
        spec_hash="s",
        commit="c",
    )
    path = repo / "manifests" / "demo" / "overlays" / "staging" / "model.json"
    path.parent.mkdir(parents=True)
    path.write_text(dumps(record))


def test_reference_comes_from_the_deployed_run(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    stored = build_reference(pd.read_csv(repo / "data" / "recent.csv"), "label")
    run_id = _run_with(mlflow_server, stored)
    _deploy(repo, run_id)
    code = main(["-C", str(repo), "drift", "demo", "--tracking-uri", mlflow_server.uri])
    out, err = capsys.readouterr()
    assert code == 0
    assert f"Reference: artifact reference.json of MLflow run {run_id} (100 rows)." in out
    assert err == ""


def test_deployed_run_without_reference_falls_back_to_the_data(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    run_id = _run_with(mlflow_server, None)
    _deploy(repo, run_id)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    assert main(["-C", str(repo), "drift", "demo"]) == 1
    assert capsys.readouterr().err == (
        f"mlgitops drift: MLflow run {run_id} (from manifests/demo/overlays/staging/model.json) "
        "has no reference.json; computed one from data/train.csv\n"
    )


@pytest.mark.parametrize("store", ["sqlite-elsewhere", "bogus"])
def test_a_store_that_does_not_hold_the_deployed_run_is_an_error_not_a_computed_reference(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str], store: str
) -> None:
    """A mistyped tracking URI read as "the run has no reference": drift profiled the data it
    was given instead, and passed (exit 0), where MLflow refused the run."""
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    run_id = _run_with(
        mlflow_server, build_reference(pd.read_csv(repo / "data" / "recent.csv"), "label")
    )
    _deploy(repo, run_id)
    uri = f"sqlite:///{tmp_path}/elsewhere/mlflow.db" if store != "bogus" else "bogus://x"
    code = main(["-C", str(repo), "drift", "demo", "--tracking-uri", uri])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    if store == "bogus":  # a scheme MLflow has no store for: refused where it was given
        assert err.startswith(
            "mlgitops drift: error: --tracking-uri: MLflow tracking URI bogus://x: the scheme "
            "'bogus' is none MLflow's tracking store reads"
        )
    else:
        said = f"run {run_id} (from manifests/demo/overlays/staging/model.json) cannot be read"
        assert said in err
    assert "computed one" not in out + err


def test_a_tracking_server_that_does_not_hold_the_deployed_run_is_an_error(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record naming a run the server does not hold (another server, a run deleted): its
    artifact was read as missing, and drift profiled the data it was given instead."""
    repo = make_repo(tmp_path / "repo", recent=shifted_rows())
    _run_with(mlflow_server, None)  # the server holds runs, none of them this one
    unknown = "0123456789abcdef0123456789abcdef"
    _deploy(repo, unknown)
    code = main(["-C", str(repo), "drift", "demo", "--tracking-uri", mlflow_server.uri])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err.startswith(
        f"mlgitops drift: error: MLflow tracking server {mlflow_server.uri}: run {unknown} "
        "(from manifests/demo/overlays/staging/model.json) cannot be read (RESOURCE_DOES_NOT_EXIST"
    )
    assert "computed one" not in out + err


def test_an_unreachable_server_is_named_without_the_credentials_in_its_uri() -> None:
    """The tracking URI may carry a user and password (as MLflow's client accepts them):
    drift's own message names the server as train's and deploy's do, credentials masked,
    whoever prints it."""
    import socket

    from mlgitops.drift.sources import Deployed, reference_from_run
    from mlgitops.errors import ServiceError

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServiceError) as raised:
        uri = f"http://drift-user:s3cret-pass@127.0.0.1:{port}/"
        reference_from_run(uri, Deployed("0" * 32, "model.json"))
    message = str(raised.value)
    assert "s3cret-pass" not in message and "drift-user" not in message
    assert f"MLflow tracking server http://***@127.0.0.1:{port} is unreachable" in message
