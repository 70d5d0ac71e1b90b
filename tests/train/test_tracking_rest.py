"""mlgitops' MLflow REST client against MLflow's own client, on a real server."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

from mlgitops.training.tracking import open_tracking
from tests.fixtures.mlflow_server import MlflowServer

pytestmark = pytest.mark.slow


def test_metrics_that_are_not_finite_are_logged_as_mlflows_client_logs_them(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    """A regression whose targets reach 1e200 has an infinite rmse: JSON has no such number,
    and the request was refused before it left ("the server is unreachable")."""
    import mlflow
    from mlflow.entities import Metric

    uri = mlflow_server.uri
    metrics = {"rmse": math.inf, "low": -math.inf, "gap": math.nan, "r2": 0.25}
    tracking = open_tracking(uri, tmp_path, env={})
    experiment = tracking.experiment("not-finite", create=True)
    assert experiment is not None
    ours = tracking.create_run(experiment, "ours", {})
    tracking.log_batch(ours.run_id, {}, metrics, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own notices are not under test
        client = mlflow.MlflowClient(tracking_uri=uri)
        theirs = client.create_run(experiment).info.run_id
        client.log_batch(theirs, [Metric(k, v, 0, 0) for k, v in metrics.items()])
        logged = [client.get_run(r).data.metrics for r in (ours.run_id, theirs)]
    assert [sorted(m) for m in logged] == [sorted(metrics)] * 2
    for name in metrics:
        mine, mlflows = logged[0][name], logged[1][name]
        assert mine == mlflows or (math.isnan(mine) and math.isnan(mlflows)), name


def test_artifacts_downloaded_together_are_each_file_as_mlflow_stores_it(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    """Several files at once, each read in large pieces: every byte as MLflow's client reads
    it back (a file of several pieces, one of none, one under a folder)."""
    import mlflow

    files = {
        "handoff/large.bin": bytes(range(256)) * 12_000 + b"end",
        "handoff/empty.bin": b"",
        "handoff/deeper/small.json": b'{"a": 1}\n',
    }
    for rel, data in files.items():
        (tmp_path / "up" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "up" / rel).write_bytes(data)
    tracking = open_tracking(mlflow_server.uri, tmp_path, env={})
    experiment = tracking.experiment("downloads", create=True)
    assert experiment is not None
    run = tracking.create_run(experiment, "run", {})
    tracking.upload(run.artifact_uri, tmp_path / "up")
    got = tracking.downloads(run.artifact_uri, list(files))
    assert got == list(files.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mlflow.artifacts.download_artifacts(
            run_id=run.run_id, artifact_path="handoff/large.bin", tracking_uri=mlflow_server.uri
        )
    assert Path(theirs).read_bytes() == got[0]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (200, r"artifact handoff/holdout\.parquet broke off mid-file \(ChunkedEncodingError\)"),
        (500, r"artifact handoff/holdout\.parquet answered 500, and its answer broke off"),
        (503, r"artifact handoff/holdout\.parquet answered 503, and its answer broke off"),
    ],
)
def test_an_artifact_whose_answer_breaks_off_is_a_service_error(
    status: int, message: str, tmp_path: Path
) -> None:
    """A server that closes the connection mid-answer (the file, or the error it gives, also
    after the last retry): an error naming the artifact (exit 2), not a traceback (exit 3),
    and no truncated file taken for the artifact."""
    import http.server
    import threading

    from mlgitops.errors import ServiceError

    class Cut(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(1 << 22))
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(b"x" * (1 << 16))
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cut)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        tracking = open_tracking(f"http://127.0.0.1:{httpd.server_port}", tmp_path, env={})
        with pytest.raises(ServiceError, match=message):
            tracking.downloads("mlflow-artifacts:/1/abc/artifacts", ["handoff/holdout.parquet"])
    finally:
        httpd.shutdown()
        httpd.server_close()
