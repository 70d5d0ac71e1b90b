"""Bad specs, unreachable servers and failing trainers: clear errors, nothing half-registered."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, example_repo, runs_of, unique

pytestmark = pytest.mark.slow

#: The example pipeline's model, as `mlgitops init` writes it.
MODEL = (
    "estimator: sklearn.ensemble.HistGradientBoostingClassifier\n"
    "  params: {max_iter: 200, learning_rate: 0.1, random_state: 0}"
)


def _only_the_failure(folder: Path, stage: str, err: str) -> None:
    """The hand-off folder holds failed.json alone, with the error the command printed."""
    assert sorted(p.name for p in folder.iterdir()) == ["failed.json"]
    failed = json.loads((folder / "failed.json").read_text())
    assert failed["stage"] == stage and failed["exit_code"] == 2
    assert f"mlgitops {stage}: error: {failed['message']}\n" == err


def _edit(root: Path, name: str, old: str, new: str) -> None:
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))


def _command_trainer(root: Path, name: str) -> None:
    """The example's estimator replaced by ``python train.py`` (``model.command``)."""
    _edit(
        root,
        name,
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "  params: {max_iter: 200, learning_rate: 0.1, random_state: 0}\n",
        "  command: python train.py\n",
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "params: {max_iter: 200,",
            "params: {max_iterr: 200,",
            "{source}:12:12: model.params.max_iterr: HistGradientBoostingClassifier has no "
            "parameter 'max_iterr' (did you mean 'max_iter'?)",
        ),
        (
            "learning_rate: 0.1",
            "learning_rate: fast",
            "{source}:12:42: model.params.learning_rate: The 'learning_rate' parameter of "
            "HistGradientBoostingClassifier must be a float in the range (0.0, inf). Got 'fast' instead.",
        ),
        (
            "estimator: sklearn.ensemble.HistGradientBoostingClassifier",
            "estimator: sklearn.ensemble.HistGradientBoostingRegressor",
            "{source}:11:14: model.estimator: sklearn.ensemble.HistGradientBoostingRegressor is a "
            "regressor, but the task is classification",
        ),
        (
            "estimator: sklearn.ensemble.HistGradientBoostingClassifier",
            "estimator: sklearn.ensemble.NoSuchForest",
            "{source}:11:14: model.estimator: sklearn.ensemble.NoSuchForest cannot be imported",
        ),
        (
            MODEL,
            "estimator: sklearn.cluster.KMeans\n  params: {n_clusters: 2}",
            "{source}:11:14: model.estimator: sklearn.cluster.KMeans is a clusterer, but the "
            "task is classification",
        ),
        (
            MODEL,
            "estimator: sklearn.svm.SVC\n  params: {C: 2.0}",
            "{source}:11:14: model.estimator: sklearn.svm.SVC gives no class probabilities "
            "(predict_proba), which roc_auc and log_loss are scored on: choose a classifier "
            "that gives them, set the parameter that turns them on, or list only metrics "
            "scored on labels (accuracy, f1, precision, recall)",
        ),
        (
            MODEL,
            "estimator: sklearn.pipeline.Pipeline\n  params: {}",
            "{source}:12:11: model.params: sklearn.pipeline.Pipeline cannot be made from them: "
            "Pipeline.__init__() missing 1 required positional argument: 'steps'",
        ),
    ],
)
def test_a_bad_estimator_or_param_is_a_spec_error_and_creates_no_run(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    expected: str,
) -> None:
    name = unique("badspec")
    root = example_repo(tmp_path / "repo", name)
    _edit(root, name, old, new)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    assert err == (
        expected.format(source=f"pipelines/{name}.yaml")
        + "\nmlgitops: 1 problem(s) in the specs; nothing written\n"
    )
    assert runs_of(mlflow_server.uri, name) == []
    # render --check does not see what the trainer checks: the report must say it
    folder = root / ".mlgitops" / name
    assert sorted(p.name for p in folder.iterdir()) == ["failed.json"]
    failed = json.loads((folder / "failed.json").read_text())
    assert (failed["stage"], failed["exit_code"]) == ("train", 2)
    assert failed["message"] == expected.format(source=f"pipelines/{name}.yaml")


COLUMNS = (
    "radius, texture, perimeter, area, smoothness, compactness, concavity, concave_points, "
    "symmetry, fractal_dimension, malignant"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "params: {max_iter: 200,",
            "params: {max_iter: lots, max_iterr: 200,",
            [
                "{source}:12:22: model.params.max_iter: The 'max_iter' parameter of "
                "HistGradientBoostingClassifier must be an int in the range [1, inf). Got "
                "'lots' instead.",
                "{source}:12:28: model.params.max_iterr: HistGradientBoostingClassifier has no "
                "parameter 'max_iterr' (did you mean 'max_iter'?)",
            ],
        ),
        (
            "target: malignant",
            "target: nosuch",
            [
                f"{{source}}:8:11: data.target 'nosuch' is not a column of data/tumors.csv (its "
                f"columns: {COLUMNS})"
            ],
        ),
        (
            "target: malignant",
            "target: radius",
            [
                "{source}:13:7: task: classification, but data.target 'radius' holds numbers "
                "that are not whole in data/tumors.csv (17.99, 20.57, 19.69 and 558 more), "
                "which are no classes: set `task: regression`, or choose a target of classes"
            ],
        ),
        (
            "drift:\n",
            "compare:\n  slices: {column: nosuch}\ndrift:\n",
            [
                f"{{source}}:40:20: compare.slices.column 'nosuch' is not a column of "
                f"data/tumors.csv (its columns: {COLUMNS})"
            ],
        ),
        (
            "split: {test_size: 0.25, seed: 42, stratify: true}",
            "split: {test_size: 0.25, seed: 42, key: [radius, nosuch]}",
            [
                "{source}:9:52: data.split.key 'nosuch' is not a column the schema declares "
                f"(schemas/tumors.yaml: {COLUMNS})"
            ],
        ),
        (
            "random_state: 0}\n",
            "random_state: 0}\n  code: [nope.py]\n",
            ["{source}:13:10: model.code[0]: 'nope.py' does not exist in the repository"],
        ),
    ],
)
def test_every_problem_train_finds_in_the_spec_is_named_at_its_place(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    expected: list[str],
) -> None:
    """A bad value beside an unknown parameter was named only on the next run; a target or
    slice column the data lacks was named at the data file, or at no line."""
    name = unique("spec")
    root = example_repo(tmp_path / "repo", name)
    _edit(root, name, old, new)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    lines = [line.format(source=f"pipelines/{name}.yaml") for line in expected]
    assert capsys.readouterr().err == "\n".join(
        [*lines, f"mlgitops: {len(lines)} problem(s) in the specs; nothing written\n"]
    )
    assert runs_of(mlflow_server.uri, name) == []


def test_a_split_key_column_the_schema_declares_and_the_file_lacks_is_validation_s_to_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key names a column the schema declares: the spec is sound, and the file that
    lacks the column fails validation, which names it."""
    name = unique("key")
    root = example_repo(tmp_path / "repo", name)
    _edit(root, name, "seed: 42, stratify: true}", "seed: 42, key: [texture]}")
    data = root / "data" / "tumors.csv"
    rows = [line.split(",") for line in data.read_text().splitlines()]
    data.write_text("".join(",".join(r[:1] + r[2:]) + "\n" for r in rows))
    assert cli(root, "validate", name) == 1
    out, err = capsys.readouterr()
    assert "data.split.key" not in out + err and "texture" in out, out + err


def test_an_unreachable_server_names_the_uri(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = example_repo(tmp_path / "repo", "tumors")
    with _loopback_port() as port:
        uri = f"http://127.0.0.1:{port}"
    assert cli(root, "train", "tumors", "--tracking-uri", uri) == 2
    err = capsys.readouterr().err
    assert err == (
        f"mlgitops train: error: MLflow tracking server {uri} is unreachable "
        "(connection refused or host not found)\n"
    )
    _only_the_failure(root / ".mlgitops" / "tumors", "train", err)


#: Why MLflow reads no runs from ``ftp://x/y``, as every place it can be given says it.
FTP_REFUSED = (
    "the scheme 'ftp' is none MLflow's tracking store reads: expected a local path, or a URI "
    "with the scheme file, databricks, http, https, postgresql, mysql, sqlite or mssql (a "
    "database's scheme may add its driver, as postgresql+psycopg2 does), or one an installed "
    "MLflow plugin adds (arn, azureml, …)"
)


def _malformed(why: str) -> tuple[str, str]:
    """What the commands and the spec check say of a malformed URI, after the URI."""
    return f" is malformed ({why})", f"it is malformed ({why})"


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("http://[::1", _malformed("Invalid IPv6 URL")),
        ("http://127.0.0.1:50o0", _malformed("Port could not be cast to integer value as '50o0'")),
        ("https://", _malformed("it names no host")),
        ("http://mlflow .example.com", _malformed("it holds white space")),
        ("ftp://x/y", (f": {FTP_REFUSED}", "")),
    ],
)
@pytest.mark.parametrize("given", ["option", "environment", "mlgitops.yaml"])
def test_a_tracking_uri_no_store_is_read_from_is_named_where_it_is_given(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    uri: str,
    said: tuple[str, str],
    given: str,
) -> None:
    """``http://[::1`` crashed train (exit 3: ``ValueError: Invalid IPv6 URL``); a port or
    host that is not one was said to be an unreachable server; ``ftp://x/y`` passed render
    and failed train with MLflow's words and no place ("got unsupported URI 'ftp://x/y' for
    model registry data storage"). In mlgitops.yaml a malformed one is a spec problem that
    render reports (the pull request that writes it fails its check); a scheme is the
    commands' to judge, with the MLflow plugins installed where they run."""
    root = example_repo(tmp_path / "repo", "tumors")
    args = ["train", "tumors"]
    command, spec = said
    if given == "mlgitops.yaml" and not spec:  # render passes it: train refuses it there
        (root / "mlgitops.yaml").write_text(f"mlflow:\n  tracking_uri: '{uri}'\n")
        assert cli(root, "render") == 0  # (the workflows name the default tracking URI)
        capsys.readouterr()
        place = "mlgitops.yaml:2:17: mlflow.tracking_uri"
    elif given == "mlgitops.yaml":
        (root / "mlgitops.yaml").write_text(f"mlflow:\n  tracking_uri: '{uri}'\n")
        refused = (
            f"mlgitops.yaml:2:17: mlflow.tracking_uri: invalid value '{uri}': {spec}\n"
            "mlgitops: 1 problem(s) in the specs; nothing written\n"
        )
        assert cli(root, "render", "--check") == 2
        assert capsys.readouterr().err == refused
        assert cli(root, *args) == 2
        assert capsys.readouterr().err == refused
        return
    elif given == "option":
        args += ["--tracking-uri", uri]
        place = "--tracking-uri"
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        place = "$MLFLOW_TRACKING_URI"
    assert cli(root, *args) == 2
    err = capsys.readouterr().err
    assert err == f"mlgitops train: error: {place}: MLflow tracking URI {uri}{command}\n"
    _only_the_failure(root / ".mlgitops" / "tumors", "train", err)


IN_MEMORY = (
    "an in-memory database, which each of MLflow's connections opens empty and which is gone "
    "when the command ends: give a database file, as sqlite:///mlflow.db"
)


@pytest.mark.parametrize(
    "uri", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://", "sqlite:///:memory:?timeout=5"]
)
@pytest.mark.parametrize("command", ["train", "doctor"])
def test_an_in_memory_sqlite_store_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], uri: str, command: str
) -> None:
    """``sqlite://`` printed SQLAlchemy's traceback ("no such table: experiments": MLflow made
    the tables on one connection and read them on another), then exit 2; doctor said the
    store opened. A run logged there could not outlive the command in any case."""
    root = example_repo(tmp_path / "repo", "tumors")
    said = f"--tracking-uri: MLflow tracking URI {uri} names no store MLflow can open ({IN_MEMORY})"
    if command == "train":
        assert cli(root, "train", "tumors", "--tracking-uri", uri) == 2
        out, err = capsys.readouterr()
        assert err == f"mlgitops train: error: {said}\n"
    else:  # doctor: 1, something to fix
        assert cli(root, "doctor", "--tracking-uri", uri) == 1
        out, err = capsys.readouterr()
        assert f"fix   tracking server: {said}" in out.splitlines()
    assert "Traceback" not in out + err


@pytest.mark.parametrize("given", ["sqlite:///mlruns", "sqlite:///{root}/mlruns?timeout=5"])
def test_a_sqlite_store_that_is_a_folder_is_named_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """``sqlite:///mlruns`` where mlruns is a folder (MLflow's file store) had MLflow retry
    opening it for a minute and a half, printing SQLAlchemy's retries, then exit 2."""
    root = example_repo(tmp_path / "repo", "tumors")
    (root / "mlruns").mkdir()
    uri = given.format(root=root)
    assert cli(root, "train", "tumors", "--tracking-uri", uri) == 2
    err = capsys.readouterr().err
    assert err == (
        f"mlgitops train: error: --tracking-uri: MLflow tracking URI {uri} names no store "
        f"MLflow can open ({root / 'mlruns'} is a folder, not a database file)\n"
    )
    _only_the_failure(root / ".mlgitops" / "tumors", "train", err)


def test_a_server_that_is_not_mlflow_names_the_uri(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], not_mlflow: str
) -> None:
    root = example_repo(tmp_path / "repo", "tumors")
    assert cli(root, "train", "tumors", "--tracking-uri", not_mlflow) == 2
    assert capsys.readouterr().err == (
        f"mlgitops train: error: {not_mlflow} does not look like an MLflow tracking server "
        "(/experiments/get-by-name answered HTTP 404 without an MLflow error)\n"
    )


def test_a_failing_trainer_leaves_a_failed_run_that_is_never_reused(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("failing")
    root = example_repo(tmp_path / "repo", name)
    (root / "train.py").write_text("import sys\nprint('diverged')\nsys.exit(3)\n")
    _command_trainer(root, name)
    for _ in range(2):
        assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
        captured = capsys.readouterr()
        assert captured.err == (
            "mlgitops train: error: custom trainer `python train.py` failed (exit 3)\n"
        )
    statuses = [r["info"]["status"] for r in runs_of(mlflow_server.uri, name)]
    assert statuses == ["FAILED", "FAILED"]
    _only_the_failure(root / ".mlgitops" / name, "train", captured.err)


def test_a_failed_fit_waits_for_the_split_files_and_leaves_no_temporary_folder(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The temporary folder was removed before the thread that writes the split's files into
    it was waited for: it wrote them into a folder being removed, which stayed behind in
    /tmp (or the removal failed, "Directory not empty", in place of the trainer's error).
    The writer is held back here until the fit has failed, as a slow tracking server does."""
    from mlgitops.training import runlog

    name = unique("failearly")
    root = example_repo(tmp_path / "repo", name)
    (root / "train.py").write_text("import sys\nsys.exit(3)\n")
    _command_trainer(root, name)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    failed = threading.Event()
    real = runlog.log_split_files

    def held_back(*args: object, **kwargs: object) -> object:
        failed.wait(timeout=30)
        workdir = args[5]
        assert isinstance(workdir, Path)
        for _ in range(30):  # until the folder is removed, or 3 s in which it stays
            if not workdir.exists():
                break
            time.sleep(0.1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runlog, "log_split_files", held_back)
    monkeypatch.setattr(
        "mlgitops.training.command_trainer.BadInput",
        _signalling(failed),
    )
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        "mlgitops train: error: custom trainer `python train.py` failed (exit 3)\n"
    )
    assert failed.is_set()
    assert sorted(p.name for p in temp.iterdir() if p.name.startswith("mlgitops-train-")) == []


def _signalling(event: threading.Event) -> type[Exception]:
    """BadInput that sets ``event`` once it is raised: the fit has failed."""
    from mlgitops.errors import BadInput

    class Signalling(BadInput):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            event.set()

    return Signalling


def test_data_checked_out_as_a_git_lfs_pointer_is_refused_and_creates_no_run(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("pointer")
    root = example_repo(tmp_path / "repo", name)
    (root / "data" / "tumors.csv").write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 2048\n"
    )
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "mlgitops train: error: data/tumors.csv is a Git LFS pointer (object sha256:4d7a2146…, "
        "2,048 bytes), not the data: fetch the object first (git lfs pull;"
    )
    assert runs_of(mlflow_server.uri, name) == []
    _only_the_failure(root / ".mlgitops" / name, "train", err)


def test_an_unknown_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = example_repo(tmp_path / "repo", "tumors")
    assert cli(root, "train", "churn") == 2
    assert capsys.readouterr().err == (
        "mlgitops train: error: no pipeline named 'churn' in pipelines/ (known: tumors)\n"
    )


class _NotMlflow(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>no such page</html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_mlflow() -> Iterator[str]:
    """A loopback web server that is not MLflow (a wrong port in the tracking URI)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _loopback_port:
    """A free loopback port (closed again, so nothing listens on it)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


#: A trainer (``model.command``) whose holdout probabilities are not numbers, as a failed
#: calibration step leaves them; or whose regression predictions run past any number.
NOT_NUMBERS = """\
import json, os, pathlib, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd, mlflow.sklearn
from sklearn.tree import DecisionTreeClassifier
out = pathlib.Path(os.environ["MLGITOPS_OUTPUT"]); target = os.environ["MLGITOPS_TARGET"]
features = json.loads(os.environ["MLGITOPS_FEATURES"])
train, holdout = (pd.read_parquet(os.environ[k]) for k in ("MLGITOPS_TRAIN", "MLGITOPS_HOLDOUT"))
model = DecisionTreeClassifier(max_depth=3).fit(train[features], train[target])
signature = mlflow.models.infer_signature(train[features])
mlflow.sklearn.save_model(model, str(out / "model"), signature=signature, serialization_format="cloudpickle",
                         pip_requirements=["scikit-learn", "cloudpickle"])
written = pd.DataFrame({"__row__": holdout["__row__"], "y_pred": model.predict(holdout[features])})
written["proba_0"], written["proba_1"] = {value}, 0.5
written.to_parquet(out / "predictions.parquet", index=False)
"""


@pytest.mark.parametrize("value", ["np.nan", "np.inf"])
def test_probabilities_that_are_not_numbers_are_refused_by_row_not_scored(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """A NaN ranks nowhere: scored, it made up a roc_auc that passed its gate."""
    name = unique("notnumbers")
    root = example_repo(tmp_path / "repo", name)
    (root / "train.py").write_text(NOT_NUMBERS.replace("{value}", value))
    _command_trainer(root, name)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    first = "nan" if value == "np.nan" else "inf"
    assert err.startswith("mlgitops train: error: the predictions of `python train.py`: "), err
    assert err.endswith(
        f"proba_0 of data row {err.split('data row ')[1].split(' ')[0]} is "
        f"{first}, not a probability (a finite number)\n"
    )
    assert not (root / ".mlgitops" / name / "train.json").exists()


def test_a_data_column_named_as_the_row_number_is_refused_by_name(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("rowcolumn")
    root = example_repo(tmp_path / "repo", name)
    data = root / "data" / "tumors.csv"
    lines = data.read_text().splitlines()
    data.write_text(
        "\n".join([f"__row__,{lines[0]}", *(f"{i},{line}" for i, line in enumerate(lines[1:]))])
        + "\n"
    )
    schema = root / "schemas" / "tumors.yaml"
    schema.write_text(
        schema.read_text().replace("columns:\n", "columns:\n  __row__: {dtype: int64}\n", 1)
    )
    line = schema.read_text().splitlines().index("  __row__: {dtype: int64}") + 1
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops train: error: schemas/tumors.yaml:{line}:3: column '__row__' is the name "
        "mlgitops gives each row's number in the hand-off files; rename the column\n"
    )


def test_a_feature_without_a_value_in_any_training_row_is_named(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request empties a numeric column: validate passes it (the schema lets it be
    empty), and the fit failed with scikit-learn's words alone ("window shape cannot be
    larger than input array shape"), naming no column."""
    import pandas as pd

    name = unique("emptied")
    root = example_repo(tmp_path / "repo", name)
    data = pd.read_csv(root / "data" / "tumors.csv")
    data["texture"] = None
    data.to_csv(root / "data" / "tumors.csv", index=False)
    schema = (root / "schemas" / "tumors.yaml").read_text()
    at = schema.index("  texture:\n")
    (root / "schemas" / "tumors.yaml").write_text(
        schema[:at] + "  texture:\n    nullable: true\n" + schema[at + len("  texture:\n") :]
    )
    assert cli(root, "validate", name) == 0
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "mlgitops train: error: data/tumors.csv: fit HistGradientBoostingClassifier on "
    )
    assert err.endswith(
        "(feature 'texture' has no value in any training row: give it values, or leave it "
        "out of the schema)\n"
    ), err
    # the report says training failed, and why: not "not trained", a pending check
    failed = json.loads((root / ".mlgitops" / name / "failed.json").read_text())
    assert (failed["stage"], failed["exit_code"]) == ("train", 2)
    assert failed["message"] == err.removeprefix("mlgitops train: error: ").rstrip("\n")
    assert cli(root, "report", name) == 0
    comment = (root / ".mlgitops" / name / "report.md").read_text()
    assert f"## ❌ mlgitops `{name}`: training failed" in comment
    assert "> `mlgitops train` stopped (exit 2): data/tumors.csv: fit " in comment
    assert "(feature 'texture' has no value in any training row" in comment


def test_a_failure_after_training_is_recorded_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the step outputs can fail after the model is trained: the report must say
    training failed, not that it is still pending."""
    root = example_repo(tmp_path / "repo", "tumors")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "gone" / "output"))
    assert cli(root, "train", "tumors") == 2
    err = capsys.readouterr().err
    assert err.endswith(
        f"mlgitops train: error: {tmp_path}/gone/output: No such file or directory\n"
    )
    failed = json.loads((root / ".mlgitops" / "tumors" / "failed.json").read_text())
    assert (failed["stage"], failed["exit_code"]) == ("train", 2)
    assert failed["message"] == f"{tmp_path}/gone/output: No such file or directory"
    monkeypatch.delenv("GITHUB_OUTPUT")
    assert cli(root, "report", "tumors") == 0
    assert "❌ mlgitops `tumors`: training failed" in capsys.readouterr().out


def test_a_prediction_the_fitted_model_refuses_is_bad_input(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parameter the fit takes and the prediction refuses (more neighbours than training
    rows) crashed train (exit 3)."""
    name = unique("neighbours")
    root = example_repo(tmp_path / "repo", name)
    _edit(
        root,
        name,
        MODEL,
        "estimator: sklearn.neighbors.KNeighborsClassifier\n  params: {n_neighbors: 1000}",
    )
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    assert err == (
        "mlgitops train: error: data/tumors.csv: predict with KNeighborsClassifier on 142 "
        "holdout rows failed: Expected n_neighbors <= n_samples_fit, but n_neighbors = 1000, "
        "n_samples_fit = 427, n_samples = 142\n"
    )
    failed = json.loads((root / ".mlgitops" / name / "failed.json").read_text())
    assert (failed["stage"], failed["exit_code"]) == ("train", 2)


def test_classes_in_the_holdout_only_are_named_five_at_a_time(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A test file of many classes no training row holds: a line for each buried the run's
    output (a hundred lines for a target of measurements)."""
    import pandas as pd

    name = unique("classes")
    root = example_repo(tmp_path / "repo", name)
    test = pd.read_csv(root / "data" / "tumors.csv").iloc[:30].copy()
    test["radius"] += 0.001  # rows of their own: none is left out of training
    test["malignant"] = [1000 + i // 2 for i in range(len(test))]  # 15 classes of two rows
    test.to_csv(root / "data" / "test.csv", index=False)
    schema = root / "schemas" / "tumors.yaml"
    schema.write_text(schema.read_text().replace("    isin:\n    - 0\n    - 1\n", ""))
    _edit(
        root,
        name,
        "  split: {test_size: 0.25, seed: 42, stratify: true}\n",
        "  test_path: data/test.csv\n",
    )
    _edit(root, name, "metrics: [roc_auc, accuracy, f1, log_loss]", "metrics: [accuracy]")
    gates = "  roc_auc: {min: 0.90, max_drop: 0.01}\n  accuracy: {min: 0.85}"
    _edit(root, name, gates, "  accuracy: {min: 0}")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    lines = capsys.readouterr().out.splitlines()
    named = [line for line in lines if "is in the holdout only" in line]
    assert named == [
        f"train {name}: class {1000 + i} of 'malignant' is in the holdout only (2 rows, "
        "data/test.csv): no training row holds it, so the model never predicts it "
        "(probability 0)"
        for i in range(5)
    ], lines
    assert f"train {name}: and 10 more classes of 'malignant' in the holdout only (20 rows)" in (
        lines
    )


@pytest.mark.parametrize(
    ("estimator", "params", "expected"),
    [
        (
            "sklearn.neighbors.KNeighborsClassifier",
            "{metric_params: {foo: 3}}",
            "fit KNeighborsClassifier on 427 rows failed: TypeError: __init__() got an "
            "unexpected keyword argument 'foo'",
        ),
        (
            "sklearn.ensemble.VotingClassifier",
            "{estimators: [[lr, sklearn.linear_model.LogisticRegression]], voting: soft}",
            "fit VotingClassifier on 427 rows failed: AttributeError: The following error was "
            "raised: 'str' object has no attribute '__sklearn_tags__'. It seems that there are "
            "no classes that implement `__sklearn_tags__` in the MRO and/or all classes in the "
            "MRO call `super().__sklearn_tags__()`. Make sure to inherit from `BaseEstimator` "
            "which implements `__sklearn_tags__` (or alternatively define `__sklearn_tags__` "
            "but we don't recommend this approach). Note that `BaseEstimator` needs to be on "
            "the right side of other Mixins in the inheritance order.",
        ),
        (
            "sklearn.neighbors.KNeighborsClassifier",
            "{algorithm: brute, metric: cosine, metric_params: {foo: 3}}",
            "predict with KNeighborsClassifier on 142 holdout rows failed: TypeError: "
            "cosine_distances() got an unexpected keyword argument 'foo'",
        ),
    ],
)
def test_whatever_the_estimator_raises_is_a_spec_error_at_the_model(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    estimator: str,
    params: str,
    expected: str,
) -> None:
    """Parameters the estimator takes and then fails on in its own way (a TypeError from a
    metric's parameters, an AttributeError from a string where an estimator belongs) crashed
    train (exit 3): only a ValueError was the spec's or the data's."""
    name = unique("raises")
    root = example_repo(tmp_path / "repo", name)
    _edit(
        root,
        name,
        MODEL,
        f"estimator: {estimator}\n  params: {params}",
    )
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    problem = f"pipelines/{name}.yaml:10:1: model: {expected}"
    assert err == f"{problem}\nmlgitops: 1 problem(s) in the specs; nothing written\n"
    folder = root / ".mlgitops" / name
    assert sorted(p.name for p in folder.iterdir()) == ["failed.json"]
    failed = json.loads((folder / "failed.json").read_text())
    assert (failed["stage"], failed["exit_code"]) == ("train", 2)
    assert failed["message"] == problem
    assert [r["info"]["status"] for r in runs_of(mlflow_server.uri, name)] == ["FAILED"]


def test_a_test_file_that_fails_validation_names_the_command_that_reports_it(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """train refuses a ``data.test_path`` that fails validation and names ``validate
    --data`` with that file; the plain ``validate`` reports it too, with the data."""
    import pandas as pd

    name = unique("testfile")
    root = example_repo(tmp_path / "repo", name)
    test = pd.read_csv(root / "data" / "tumors.csv").iloc[:40].copy()
    test["radius"] += 0.001
    test.loc[3, "malignant"] = 7  # the schema allows 0 and 1
    test.to_csv(root / "data" / "test set.csv", index=False)
    _edit(
        root,
        name,
        "  split: {test_size: 0.25, seed: 42, stratify: true}\n",
        "  test_path: data/test set.csv\n",
    )
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 1
    err = capsys.readouterr().err
    told = f"Run `mlgitops validate {name} --data 'data/test set.csv'` for the full report"
    assert told in err, err
    assert cli(root, "validate", name, "--data", "data/test set.csv") == 1
    assert "data/test set.csv:5" in capsys.readouterr().out
    assert cli(root, "validate", name) == 1
    assert "data/test set.csv:5" in capsys.readouterr().out


def test_data_format_is_the_format_of_the_test_file_too(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``data.format: parquet`` with files that have no extension: the test file was read
    as CSV ("not UTF-8 text") where the data file was read as Parquet."""
    import pandas as pd

    name = unique("binformat")
    root = example_repo(tmp_path / "repo", name)
    frame = pd.read_csv(root / "data" / "tumors.csv")
    frame.iloc[100:].to_parquet(root / "data" / "tumors.bin", index=False)
    frame.iloc[:100].to_parquet(root / "data" / "test.bin", index=False)
    _edit(root, name, "  path: data/tumors.csv\n", "  path: data/tumors.bin\n  format: parquet\n")
    _edit(
        root,
        name,
        "  split: {test_size: 0.25, seed: 42, stratify: true}\n",
        "  test_path: data/test.bin\n",
    )
    capsys.readouterr()
    assert cli(root, "validate", name) == 0
    assert "data/test.bin (the holdout), 100 rows: passed" in capsys.readouterr().out
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0, capsys.readouterr()
    # a test file whose extension names its format is read in that format
    frame.iloc[:100].to_csv(root / "data" / "test.csv", index=False)
    _edit(root, name, "  test_path: data/test.bin\n", "  test_path: data/test.csv\n")
    assert cli(root, "validate", name) == 0
    assert "data/test.csv (the holdout), 100 rows: passed" in capsys.readouterr().out


def test_a_word_in_a_test_file_s_number_feature_without_a_dtype_is_named_at_its_row(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A column the schema gives no dtype is numbers in the data file and text in the test
    file: the model failed to predict, and train blamed data.path, with no column or row."""
    import pandas as pd

    name = unique("nodtype")
    root = example_repo(tmp_path / "repo", name)
    schema = root / "schemas" / "tumors.yaml"
    head, rest = schema.read_text().split("  texture:\n", 1)
    schema.write_text(
        head + "  texture:\n    dtype: null\n  perimeter:\n" + rest.split("  perimeter:\n", 1)[1]
    )
    frame = pd.read_csv(root / "data" / "tumors.csv")
    frame.iloc[100:].to_parquet(root / "data" / "tumors.parquet", index=False)
    test = frame.iloc[:100].copy()
    test["texture"] = test["texture"].astype(str)  # numbers stored as text
    test.loc[7, "texture"] = "n/a"
    test.to_parquet(root / "data" / "test.parquet", index=False)
    _edit(root, name, "  path: data/tumors.csv\n", "  path: data/tumors.parquet\n")
    _edit(
        root,
        name,
        "  split: {test_size: 0.25, seed: 42, stratify: true}\n",
        "  test_path: data/test.parquet\n",
    )
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        "mlgitops train: error: data/test.parquet: column 'texture' holds 'n/a' in row 8 "
        "(1 row(s) that are not numbers), where it is a number feature, as "
        "data/tumors.parquet holds it: give the column a dtype in the schema, or fix the value\n"
    )
    test.loc[7, "texture"] = "21.5"
    test.to_parquet(root / "data" / "test.parquet", index=False)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0


def test_a_test_file_that_is_not_there_is_named_as_the_spec_names_it(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The data hash read it first, and named it by its absolute path."""
    name = unique("notestfile")
    root = example_repo(tmp_path / "repo", name)
    _edit(
        root,
        name,
        "  split: {test_size: 0.25, seed: 42, stratify: true}\n",
        "  test_path: data/test.csv\n",
    )
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == "mlgitops train: error: data/test.csv: no such file\n"
    (root / "data" / "test.csv").mkdir()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        "mlgitops train: error: data/test.csv: is a folder, expected a file\n"
    )


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # numpy's
@pytest.mark.parametrize(("value", "shown"), [("inf", "inf"), ("-1e300", "-1e+300")])
def test_a_number_the_estimator_cannot_take_is_named_with_its_feature_and_row(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    value: str,
    shown: str,
) -> None:
    """A schema without a range lets ``inf`` (or a number past 32-bit floats, which a random
    forest's trees fit in) through validate; the fit or the prediction failed with
    scikit-learn's words alone ("Input X contains infinity or a value too large for
    dtype('float32')"), naming no column or row."""
    name = unique("infinite")
    root = example_repo(tmp_path / "repo", name)
    lines = (root / "data" / "tumors.csv").read_text().splitlines(keepends=True)
    fields = lines[5].split(",")
    fields[1] = value  # texture, in data row 5 (line 6)
    lines[5] = ",".join(fields)
    (root / "data" / "tumors.csv").write_text("".join(lines))
    schema = (root / "schemas" / "tumors.yaml").read_text()
    start = schema.index("    in_range:", schema.index("  texture:\n"))
    end = schema.index("  perimeter:\n")
    (root / "schemas" / "tumors.yaml").write_text(schema[:start] + schema[end:])
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text()
    model = text[text.index("model:\n") : text.index("task:")]
    forest = "sklearn.ensemble.RandomForestClassifier\n  params: {n_estimators: 10}\n"
    spec.write_text(text.replace(model, f"model:\n  estimator: {forest}"))
    assert cli(root, "validate", name) == 0
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    # the row falls in the training rows or the holdout: the fit or the prediction fails
    assert err.startswith("mlgitops train: error: data/tumors.csv: ")
    assert " RandomForestClassifier on " in err and "Input X contains infinity" in err
    assert err.endswith(
        f"(feature 'texture' holds {shown} in data row 5: the estimator takes finite numbers "
        "that 32-bit floats hold)\n"
    ), err


def _not_a_file(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
@pytest.mark.parametrize("command", ["train", "plan"])
def test_data_that_is_a_pipe_or_a_device_is_not_a_file(
    tmp_path: Path, mlflow_server: MlflowServer, kind: str, command: str
) -> None:
    """Hashing the data for the content key opened it as it was: a FIFO waited for a writer
    and ``/dev/zero`` never ended, so ``train`` and ``plan`` hung where validate said "is
    not a file". Run as a process, so that a hang fails here rather than stopping the suite."""
    name = unique("notafile")
    root = example_repo(tmp_path / "repo", name)
    _not_a_file(root / "data" / "tumors.csv", kind)
    args = {
        "train": ["train", name, "--tracking-uri", mlflow_server.uri],
        "plan": ["plan", "--files", "data/tumors.csv", "--tracking-uri", mlflow_server.uri],
    }[command]
    result = subprocess.run(
        [sys.executable, "-m", "mlgitops", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if command == "train":
        assert (result.returncode, result.stderr) == (
            2,
            "mlgitops train: error: data/tumors.csv: is not a file\n",
        )
    else:
        assert result.returncode == 0, result.stderr
        assert f"* {name}: data/tumors.csv: is not a file" in result.stdout.splitlines()


def _with_bytes(root: Path, name: str, odd: bytes) -> None:
    """The data as Parquet with a column ``tag`` stored as bytes (Parquet's binary), declared
    ``object``; row 6 holds ``odd``."""
    import pandas as pd
    import yaml

    frame = pd.read_csv(root / "data" / "tumors.csv")
    frame["tag"] = [odd if i == 5 else f"t{i % 3}".encode() for i in range(len(frame))]
    frame.to_parquet(root / "data" / "tumors.parquet", index=False)
    _edit(root, name, "data/tumors.csv", "data/tumors.parquet")
    schema = yaml.safe_load((root / "schemas" / "tumors.yaml").read_text())
    schema["columns"]["tag"] = {"dtype": "object", "nullable": False}
    (root / "schemas" / "tumors.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))


def test_bytes_that_are_not_text_are_named_by_column_and_row(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Parquet column of bytes passed validation as ``object``, and train (and drift)
    crashed decoding it for a profile (UnicodeDecodeError, exit 3)."""
    name = unique("bytes")
    root = example_repo(tmp_path / "repo", name)
    _with_bytes(root, name, b"\xffA")
    assert cli(root, "validate", name) == 0
    capsys.readouterr()
    said = (
        "data/tumors.parquet: column 'tag' holds bytes that are not UTF-8 text in row 6 "
        "(b'\\xffA'): a served model gets text, so store the column as text, or leave it out "
        "of the schema\n"
    )
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == f"mlgitops train: error: {said}"
    current = ["--current", "data/tumors.parquet", "--tracking-uri", mlflow_server.uri]
    assert cli(root, "drift", name, *current) == 2  # drift reads current data as train does
    assert capsys.readouterr().err == f"mlgitops drift: error: {said}"


def test_bytes_that_are_text_train_as_the_text_a_served_model_gets(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes were features as bytes: ``b"t1"`` in training, ``"t1"`` in every request."""
    import pandas as pd

    name = unique("textbytes")
    root = example_repo(tmp_path / "repo", name)
    _with_bytes(root, name, b"t\xc3\xa9")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    tags = pd.read_parquet(root / ".mlgitops" / name / "holdout.parquet")["tag"]
    assert {type(t) for t in tags} == {str}
    assert set(tags) <= {"t0", "t1", "t2", "té"}


@pytest.mark.parametrize(
    ("values", "stored"),
    [
        ([{"a": 1}], "struct<a: int64>"),
        ([[1, 2]], "list<element: int64>"),
    ],
)
def test_a_column_of_nested_values_is_named_not_blamed_on_the_estimator(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    values: list[object],
    stored: str,
) -> None:
    """A Parquet column of structs passed validation as ``object``; with
    ``train.allow_invalid_data`` a list column trained too. The fit then failed, and the spec's
    ``model:`` was blamed ("Encoders require their input argument must be uniformly strings
    or numbers")."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    name = unique("nested")
    root = example_repo(tmp_path / "repo", name)
    frame = pd.read_csv(root / "data" / "tumors.csv")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("meta", pa.array(values * len(frame)))
    pq.write_table(table, root / "data" / "tumors.parquet")
    _edit(root, name, "data/tumors.csv", "data/tumors.parquet")
    _edit(root, name, "train:\n", "train:\n  allow_invalid_data: true\n")
    schema = yaml.safe_load((root / "schemas" / "tumors.yaml").read_text())
    schema["columns"]["meta"] = {"dtype": "object"}
    (root / "schemas" / "tumors.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops train: error: data/tumors.parquet: column 'meta' holds nested values "
        f"({stored}), which no model takes as one input: store each part as a column of its "
        "own, or leave it out of the schema\n"
    )
