"""What the model server exports: the metric families, their labels and values."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from mlgitops.cli import main
from mlgitops.digest import folder_digest
from mlgitops.serving.metrics import MAX_CLASSES, ServerMetrics


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import generate_latest

    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_requests_are_counted_by_route_and_status_class() -> None:
    metrics = ServerMetrics("models:/m/1", "classification")
    for path, status in (("/invocations", 200), ("/invocations", 503), ("/ping", 200), ("/x", 404)):
        metrics.request(path, status, 0.02)
    samples = _samples(metrics.registry)
    counts = {
        dict(labels)["handler"] + " " + dict(labels)["code"]: value
        for (name, labels), value in samples.items()
        if name == "mlgitops_requests_total"
    }
    assert counts == {
        "/invocations 2xx": 1,
        "/invocations 4xx": 0,  # present before the first one, so rate() sees it
        "/invocations 5xx": 1,
        "/ping 2xx": 1,
        "other 4xx": 1,
    }
    bucket = ("le", "0.025")
    key = ("mlgitops_request_duration_seconds_bucket", (("handler", "/invocations"), bucket))
    assert samples[key] == 2
    info = ("mlgitops_model_info", (("model_uri", "models:/m/1"), ("task", "classification")))
    assert samples[info] == 1


def test_the_scoring_route_s_series_are_exported_before_its_first_request() -> None:
    samples = _samples(ServerMetrics("models:/m/1", "classification").registry)
    scoring = (("handler", "/invocations"),)
    codes = {
        dict(labels)["code"]: value
        for (name, labels), value in samples.items()
        if name == "mlgitops_requests_total"
    }
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in samples.items()
        if name == "mlgitops_request_duration_seconds_bucket"
        and tuple(item for item in labels if item[0] != "le") == scoring
    }
    assert codes == {"2xx": 0, "4xx": 0, "5xx": 0}
    assert len(buckets) == 24 and set(buckets.values()) == {0}
    assert samples[("mlgitops_request_duration_seconds_count", scoring)] == 0


def test_classifiers_count_predictions_per_class_with_a_bounded_label_set() -> None:
    metrics = ServerMetrics("models:/m/1", "classification")
    metrics.predicted(np.array([1, 0, 1, 1]))
    metrics.predicted(pd.DataFrame({"label": ["yes", "no"]}))
    metrics.predicted(np.arange(100, 100 + MAX_CLASSES))
    samples = _samples(metrics.registry)
    classes = {
        dict(labels)["class"]: value
        for (name, labels), value in samples.items()
        if name == "mlgitops_predictions_total"
    }
    assert (classes["0"], classes["1"], classes["yes"], classes["no"]) == (1, 3, 1, 1)
    assert len(classes) == MAX_CLASSES + 1
    assert classes["other"] == 4  # the classes beyond the first MAX_CLASSES


def test_regressors_get_a_histogram_of_predictions() -> None:
    metrics = ServerMetrics("models:/m/1", "regression", (0.0, 10.0, 100.0))
    metrics.predicted(np.array([-5.0, 0.0, 10.0, 10.5, 250.0]))
    metrics.predicted(pd.DataFrame({"y": [3.0]}))
    samples = _samples(metrics.registry)
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in samples.items()
        if name == "mlgitops_prediction_bucket"
    }
    # a value equal to a bound is in that bound's bucket (le: less than or equal)
    assert buckets == {"0.0": 2, "10.0": 4, "100.0": 5, "+Inf": 6}
    assert samples[("mlgitops_prediction_count", ())] == 6
    assert samples[("mlgitops_prediction_sum", ())] == pytest.approx(268.5)
    assert not any(name == "mlgitops_predictions_total" for name, _ in samples)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_an_empty_batch_of_predictions_records_nothing(task: str) -> None:
    """A model that answers a batch of no rows with no predictions, in any shape: the
    batch is answered (a failure here would turn the server's answer into an error)."""
    metrics = ServerMetrics("models:/m/1", task, (0.0, 1.0))
    before = _samples(metrics.registry)
    for output in (
        np.array([]),
        np.empty((0, 2)),
        pd.DataFrame({"label": [], "score": []}),
        pd.DataFrame(),
        [],
    ):
        metrics.predicted(output)
    assert _samples(metrics.registry) == before


def test_serve_refuses_one_port_for_both(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["serve", "--model-uri", "models:/m/1", "--port", "9000", "--metrics-port", "9000"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        "mlgitops serve: error: --port and --metrics-port are both 9000; they must differ\n"
    )


def test_serve_names_a_model_it_cannot_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-model"
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore", UserWarning)
        assert main(["serve", "--model-uri", str(missing), "--metrics-port", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "mlgitops serve: warning: no model digest (--model-digest or $MODEL_DIGEST): the "
        f"files of {missing} are loaded unchecked"
    )
    assert err[1].startswith(f"mlgitops serve: error: cannot load the model {missing}: ")
    assert len(err) == 2


@pytest.mark.parametrize("uri", ["models:/m/1", "models:/m@staging", "runs:/0123/model"])
@pytest.mark.parametrize("digest", ["", "sha256:" + "0" * 64])
def test_serve_needs_a_tracking_server_for_a_model_in_mlflow(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    uri: str,
    digest: str,
) -> None:
    """Without one, MLflow looks in a store of its own making (``./mlflow.db``), which it
    leaves behind, and answers that the model does not exist."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    args = ["serve", "--model-uri", uri, "--metrics-port", "0"]
    args += ["--model-digest", digest] if digest else []
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore", UserWarning)
        assert main(args) == 2
    assert capsys.readouterr().err.endswith(
        f"mlgitops serve: error: --model-uri {uri} names a model in MLflow, and "
        "MLFLOW_TRACKING_URI names no tracking server to read it from: set it (the "
        "generated manifests' pods get it from the mlflow-tracking Secret)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_registry_uri_alone_is_no_tracking_server_for_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The registry names the version; its files are read through the tracking store,
    which MLflow, given none, makes of its own in the working directory."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{tmp_path / 'registry.db'}")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore", UserWarning)
        assert main(["serve", "--model-uri", "models:/m/1", "--metrics-port", "0"]) == 2
    assert "MLFLOW_TRACKING_URI names no tracking server" in capsys.readouterr().err
    assert list(work.iterdir()) == []


def test_serve_names_the_variable_of_a_tracking_uri_mlflow_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "ftp://x/y")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore", UserWarning)
        assert main(["serve", "--model-uri", "models:/m/1", "--metrics-port", "0"]) == 2
    assert capsys.readouterr().err.startswith(
        "mlgitops serve: error: $MLFLOW_TRACKING_URI: MLflow tracking URI ftp://x/y: the "
        "scheme 'ftp' is none MLflow's tracking store reads"
    )
    assert list(tmp_path.iterdir()) == []


def test_serve_loads_no_files_whose_digest_is_not_the_deployments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal comes before anything is loaded: the folder here is not even a model."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"not a pickle")
    found = folder_digest(folder)
    named = "sha256:" + "ab" * 32
    monkeypatch.setenv("MODEL_DIGEST", named)
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore", UserWarning)
        assert main(["serve", "--model-uri", str(folder), "--metrics-port", "0"]) == 2
    assert capsys.readouterr().err == (
        f"mlgitops serve: error: the model {folder} has digest {found}, but the "
        f"deployment names {named}: its files changed after it was deployed, so it is not "
        "served; restore its files, or roll back to a model whose files are intact\n"
    )
    # --model-digest wins over the environment's; one that is not a digest is refused
    args = ["serve", "--model-uri", str(folder), "--model-digest", "sha256:ab"]
    assert main([*args, "--metrics-port", "0"]) == 2
    assert capsys.readouterr().err == (
        "mlgitops serve: error: --model-digest: 'sha256:ab' is not a model digest "
        "(sha256:<64 hex digits>)\n"
    )
    monkeypatch.setenv("MODEL_DIGEST", "latest")
    assert main(["serve", "--model-uri", str(folder), "--metrics-port", "0"]) == 2
    assert "error: MODEL_DIGEST: 'latest' is not a model digest" in capsys.readouterr().err


def test_serve_rejects_unordered_prediction_buckets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--model-uri", "m", "--prediction-buckets", "1,0.5"])
    assert exited.value.code == 2
    assert "bounds must be finite and increasing: '1,0.5'" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--port", "--metrics-port"])
@pytest.mark.parametrize("value", ["70000", "-1", "http"])
def test_serve_refuses_a_port_that_is_not_one(
    option: str, value: str, model_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["serve", "--model-uri", str(model_folder), "--port", "18080", "--metrics-port", "0"]
    with pytest.raises(SystemExit) as exited:
        main([*args, option, value])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == (
        f"mlgitops serve: error: argument {option}: {value!r} is not a port: "
        "give 1-65535, or 0 for any free one"
    )


@pytest.mark.parametrize("option", ["--port", "--metrics-port"])
def test_serve_refuses_a_port_in_use_before_it_says_it_serves(
    option: str, model_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["serve", "--model-uri", str(model_folder), "--port", "0", "--metrics-port", "0"]
        with warnings.catch_warnings():  # importing mlflow warns about its own type hints
            warnings.simplefilter("ignore", UserWarning)
            assert main([*args, option, str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    where = "" if option == "--port" else " for /metrics"
    assert err.splitlines()[1:] == [
        f"mlgitops serve: error: {option}: cannot listen on 127.0.0.1:{port}{where}: "
        "Address already in use"
    ]


def test_serve_names_the_ports_it_listens_on(model_folder: Path, tmp_path: Path) -> None:
    """Port 0: any free port; the announced addresses are the ones it listens on."""
    executable = str(Path(sys.executable).with_name("mlgitops"))
    args = ["serve", "--model-uri", str(model_folder), "--port", "0", "--metrics-port", "0"]
    environ = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_ENABLE_TELEMETRY": "false"}
    with (tmp_path / "stderr").open("wb") as err:
        proc = subprocess.Popen(
            [executable, *args], stdout=subprocess.PIPE, stderr=err, env=environ
        )
    try:
        assert proc.stdout is not None
        said = proc.stdout.readline().decode()
        found = re.fullmatch(
            rf"serving {re.escape(str(model_folder))} on http://127\.0\.0\.1:(\d+)/invocations, "
            r"metrics on http://127\.0\.0\.1:(\d+)/metrics\n",
            said,
        )
        assert found is not None, said + (tmp_path / "stderr").read_text()
        port, metrics_port = int(found.group(1)), int(found.group(2))
        assert 0 not in (port, metrics_port)
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", data=b"{}", timeout=30)
        assert answer.status_code == 415
        # counted once the answer went out, which the client may read first
        counted = 'mlgitops_requests_total{code="4xx",handler="/invocations"} 1.0'
        deadline = time.monotonic() + 30
        while True:
            metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30).text
            if counted in metrics or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert counted in metrics, metrics
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]


def test_the_spec_refuses_a_p99_limit_the_latency_histogram_cannot_exceed() -> None:
    """``histogram_quantile`` never reports more than the top finite bucket: a
    ``max_p99_ms`` at or above it could not fail, and the spec's schema says where."""
    import json

    from mlgitops.serving.metrics import LATENCY_BUCKETS
    from tests.conftest import PROJECT

    schema = json.loads((PROJECT / "src/mlgitops/schemas/pipeline.schema.json").read_text())
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "max_p99_ms" in node and isinstance(node["max_p99_ms"], dict):
                found.append(node["max_p99_ms"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found and all(f["exclusiveMaximum"] == LATENCY_BUCKETS[-1] * 1000 for f in found)


@pytest.mark.parametrize("variable", ["MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"])
@pytest.mark.parametrize(
    ("uri", "why"),
    [("http://[::1", "Invalid IPv6 URL"), ("http://", "it names no host")],
)
def test_serve_names_the_variable_of_a_malformed_tracking_uri(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    uri: str,
    why: str,
) -> None:
    """``http://[::1`` escaped MLflow as ``ValueError`` (exit 3: a bug); ``http://`` was
    retried as a server for minutes. Both are the variable's, as train says."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # (well-formed)
    monkeypatch.setenv(variable, uri)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():  # importing mlflow warns about its own type hints
        warnings.simplefilter("ignore", UserWarning)
        assert main(["serve", "--model-uri", "models:/m/1", "--metrics-port", "0"]) == 2
    assert capsys.readouterr().err.endswith(
        f"mlgitops serve: error: ${variable}: MLflow URI {uri} is malformed ({why})\n"
    )
    assert list(tmp_path.iterdir()) == []


def _recorded(metrics: ServerMetrics) -> dict[str, float]:
    """Each class counted, or each histogram bucket with the count and sum."""
    found: dict[str, float] = {}
    for (name, labels), value in _samples(metrics.registry).items():
        shown = dict(labels)
        if name == "mlgitops_predictions_total":
            found[shown["class"]] = value
        elif name == "mlgitops_prediction_bucket":
            found[f"le {shown['le']}"] = value
        elif name in ("mlgitops_prediction_count", "mlgitops_prediction_sum"):
            found[name.removeprefix("mlgitops_prediction_")] = value
    return found


@pytest.mark.parametrize(
    ("output", "classes"),
    [
        ({"label": [1, 0], "score": [0.2, 0.3]}, {"1": 1, "0": 1}),
        ([{"label": 1, "score": 0.9}, {"label": 0, "score": 0.2}], {"1": 1, "0": 1}),
        ([[1, 2], [3]], {"1": 1, "3": 1}),
        ([np.array([1, 2]), np.array([1])], {"1": 2}),
        ({"label": "yes"}, {"yes": 1}),
    ],
    ids=["columns", "records", "ragged rows", "ragged arrays", "one value"],
)
def test_a_classifier_s_predictions_in_any_shape_count_their_first_column(
    output: Any, classes: dict[str, float]
) -> None:
    """Whatever a model's ``predict`` returns that MLflow answers with, the first value of
    each row is its prediction (recording them failed, and MLflow answered 400)."""
    metrics = ServerMetrics("models:/m/1", "classification")
    metrics.predicted(output)
    assert _recorded(metrics) == classes


@pytest.mark.parametrize(
    ("output", "recorded"),
    [
        ({"y": [0.5, 2.0], "interval": [1.0, 1.0]}, (0, 1, 2, 2, 2.5)),
        ([{"y": 0.5}, {"y": 2.0}], (0, 1, 2, 2, 2.5)),
        (["high", 0.5, None], (0, 1, 1, 1, 0.5)),
        ([float("nan"), float("inf"), -float("inf"), 0.5], (0, 1, 1, 1, 0.5)),
        (np.array(["a", "b"]), (0, 0, 0, 0, 0.0)),
    ],
    ids=["columns", "records", "words and gaps", "not finite", "text"],
)
def test_a_regressor_s_histogram_holds_only_its_finite_numeric_predictions(
    output: Any, recorded: tuple[float, ...]
) -> None:
    """A prediction that is no number, or not a finite one, is not binned: one NaN made the
    histogram's sum NaN for as long as the server ran, and text failed the answer (400)."""
    metrics = ServerMetrics("models:/m/1", "regression", (0.0, 1.0))
    metrics.predicted(output)
    found = _recorded(metrics)
    assert tuple(found[k] for k in ("le 0.0", "le 1.0", "le +Inf", "count", "sum")) == recorded
