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
