"""``mlgitops train`` against a real MLflow server: logging, hand-off, cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

from mlgitops import results
from mlgitops.training import content, gpu
from tests.fixtures.gpu import GPUS
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, commit, example_repo, runs_of, tags_of, unique

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str, str]:
    """A repository whose pipeline has been trained once; (root, name, stdout)."""
    name = unique("tumors")
    root = example_repo(tmp_path / "repo", name)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    return root, name, capsys.readouterr().out


def _result(root: Path, name: str) -> results.TrainResult:
    return results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())


def test_train_logs_a_finished_run_and_writes_the_hand_off(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer
) -> None:
    root, name, out = trained
    result = _result(root, name)
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in sorted(result.metrics.items()))
    assert out == (
        f"train {name}: trained run {result.run_id} in {result.duration_s:.1f}s "
        f"(content key {result.content_key[:12]})\n"
        f"  metrics: {metrics}\n"
        f"  model:   {result.model_uri}\n"
        f"  results: .mlgitops/{name}/\n"
    )
    assert sorted(result.metrics) == ["accuracy", "f1", "log_loss", "roc_auc"]
    assert result.metrics["roc_auc"] > 0.95
    assert (result.cached, result.task, result.target, result.classes) == (
        False,
        "classification",
        "malignant",
        [0, 1],
    )
    assert result.tracking_uri == mlflow_server.uri
    [run] = runs_of(mlflow_server.uri, name)
    assert run["info"]["status"] == "FINISHED"
    assert run["info"]["run_id"] == result.run_id
    logged = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    model = {k: v for k, v in logged.items() if not k.startswith("mlgitops.")}
    assert model == pytest.approx(result.metrics)
    # Besides the model's metrics, what the run used. A runner whose GPU NVML reads is held
    # for the fit, on the CPU too: what the GPU did meanwhile is sampled (an idle GPU shows).
    sampled = ["mlgitops.gpu_peak_memory_mb", "mlgitops.gpu_utilization"]
    assert sorted(set(logged) - set(model)) == sorted(
        [
            "mlgitops.budget_seconds",
            "mlgitops.fit_seconds",
            "mlgitops.gpu_count",
            "mlgitops.gpu_seconds",
            "mlgitops.runner_seconds",
            *(sampled if GPUS.source == gpu.NVML else []),
        ]
    )
    assert logged["mlgitops.gpu_count"] == GPUS.count
    assert (result.device, result.gpu_count) == ("cpu", GPUS.count)
    assert logged["mlgitops.fit_seconds"] == pytest.approx(result.fit_s)
    assert logged["mlgitops.runner_seconds"] == pytest.approx(result.duration_s)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["estimator"] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert (params["max_iter"], params["split.seed"], params["rows.holdout"]) == (
        "200",
        "42",
        str(_expected_holdout_rows(root)),
    )


def test_holdout_and_predictions_layout(trained: tuple[Path, str, str]) -> None:
    root, name, _ = trained
    folder = root / ".mlgitops" / name
    holdout = pd.read_parquet(folder / "holdout.parquet")
    predictions = pd.read_parquet(folder / "predictions.parquet")
    data = pd.read_csv(root / "data" / "tumors.csv")
    assert list(holdout.columns) == ["__row__", *data.columns]
    assert len(holdout) == _expected_holdout_rows(root)
    # __row__ is the 1-based record number in the data file
    original = data.iloc[holdout["__row__"] - 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(holdout.drop(columns="__row__"), original)
    assert list(predictions.columns) == ["__row__", "y_true", "y_pred", "proba_0", "proba_1"]
    assert predictions["__row__"].tolist() == holdout["__row__"].tolist()
    assert predictions["y_true"].tolist() == holdout["malignant"].tolist()
    assert predictions[["proba_0", "proba_1"]].sum(axis=1).round(9).eq(1).all()


# MLflow's own import warns about its type hints; that is MLflow's business, not ours.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_logged_model_loads_with_mlflow_and_predicts_the_same(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer
) -> None:
    import mlflow

    root, name, _ = trained
    result = _result(root, name)
    holdout = pd.read_parquet(root / ".mlgitops" / name / "holdout.parquet")
    predictions = pd.read_parquet(root / ".mlgitops" / name / "predictions.parquet")
    mlflow.set_tracking_uri(mlflow_server.uri)
    model = mlflow.pyfunc.load_model(result.model_uri)
    features = holdout.drop(columns=["__row__", "malignant"])
    assert model.predict(features).tolist() == predictions["y_pred"].tolist()
    signature = model.metadata.signature
    assert signature.inputs.input_names() == list(features.columns)
    assert model.metadata.get_input_schema() is not None
    version = mlflow.register_model(result.model_uri, name)
    assert version.run_id == result.run_id


# MLflow's own import warns about its type hints; that is MLflow's business, not ours.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_model_digest_covers_the_uploaded_model_folder(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    import mlflow

    from mlgitops.digest import folder_digest

    root, name, _ = trained
    result = _result(root, name)
    model_id = result.model_uri.removeprefix("models:/")
    logged = mlflow.MlflowClient(tracking_uri=mlflow_server.uri).get_logged_model(model_id)
    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=logged.artifact_location,
        dst_path=str(tmp_path / "model"),
        tracking_uri=mlflow_server.uri,
    )
    assert result.model_digest == folder_digest(Path(folder))
    assert result.model_digest.startswith("sha256:") and len(result.model_digest) == 71


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_training_rows_digest_covers_the_logged_rows_and_how_they_match(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    """What the run logged (training_rows.parquet and train.json's fingerprint columns and
    target) is what the digest covers; the hand-off folder holds the same rows."""
    import mlflow

    from mlgitops.digest import training_rows_digest

    root, name, _ = trained
    result = _result(root, name)
    logged = Path(
        mlflow.artifacts.download_artifacts(
            run_id=result.run_id,
            artifact_path="mlgitops",
            dst_path=str(tmp_path),
            tracking_uri=mlflow_server.uri,
        )
    )
    rows = (logged / "training_rows.parquet").read_bytes()
    assert rows == (root / ".mlgitops" / name / "training_rows.parquet").read_bytes()
    doc = json.loads((logged / "train.json").read_text())
    assert doc["training_rows_digest"] == result.training_rows_digest
    columns, target = doc["fingerprint_columns"], doc["target"]
    assert columns and target in columns
    digest = training_rows_digest(rows, columns, target)
    assert result.training_rows_digest == digest
    assert training_rows_digest(rows, columns[1:], target) != digest
    assert training_rows_digest(rows, columns, columns[0]) != digest
    assert training_rows_digest(rows + b"\0", columns, target) != digest


# MLflow's own import warns about its type hints; that is MLflow's business, not ours.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_logged_model_is_ready_linked_and_states_what_serving_installs(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer
) -> None:
    """The model is READY and the run's output; the environment MLflow builds to serve it
    (``mlflow models serve``, the image of the generated manifests) pins the versions
    it was trained with."""
    from importlib.metadata import version

    import mlflow
    import yaml

    root, name, _ = trained
    result = _result(root, name)
    model_id = result.model_uri.removeprefix("models:/")
    client = mlflow.MlflowClient(tracking_uri=mlflow_server.uri)
    logged = client.get_logged_model(model_id)
    assert (str(logged.status), logged.source_run_id) == ("READY", result.run_id)
    outputs = client.get_run(result.run_id).outputs
    assert [m.model_id for m in outputs.model_outputs] == [model_id]
    mlflow.set_tracking_uri(mlflow_server.uri)
    pinned = [f"mlflow=={version('mlflow')}", f"scikit-learn=={version('scikit-learn')}"]
    requirements = Path(mlflow.pyfunc.get_model_dependencies(result.model_uri))
    assert requirements.read_text().splitlines() == pinned
    folder = requirements.parent
    flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    python_env = yaml.safe_load((folder / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((folder / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": pinned}


def test_lineage_tags(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("lineage")
    root = example_repo(tmp_path / "repo", name)
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("GITHUB_REF", "refs/pull/17/merge")
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature/better-model")
    monkeypatch.setenv("RUNNER_NAME", "gpu-runner-3")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    result = _result(root, name)
    [run] = runs_of(mlflow_server.uri, name)
    tags = tags_of(run)
    assert tags["mlgitops.content_key"] == result.content_key
    assert tags["mlgitops.git.commit"] == "a" * 40
    assert tags["mlgitops.git.branch"] == "feature/better-model"
    assert tags["mlgitops.git.pr"] == "17"
    assert tags["mlgitops.runner"] == result.runner == "gpu-runner-3"
    assert tags["mlgitops.version"] == "0.1.0"
    for part in ("data", "schema", "spec", "code", "package"):
        assert tags[f"mlgitops.hash.{part}"] == getattr(result.hashes, part)
    assert tags["mlgitops.spec_file"] == f"pipelines/{name}.yaml"
    assert run["info"]["run_name"] == f"{name}-pr-17"


def test_a_rerun_hits_the_cache_and_recreates_the_hand_off(
    trained: tuple[Path, str, str],
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, name, _ = trained
    folder = root / ".mlgitops" / name
    first = _result(root, name)
    before = {p: (folder / p).read_bytes() for p in ("holdout.parquet", "predictions.parquet")}
    for path in folder.iterdir():
        path.unlink()
    github_output = root.parent / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    out = capsys.readouterr().out
    again = _result(root, name)
    assert out.splitlines()[0] == (
        f"train {name}: cache hit, reusing run {first.run_id} "
        f"(content key {first.content_key[:12]}); nothing trained"
    )
    assert (again.cached, again.run_id, again.model_uri, again.metrics) == (
        True,
        first.run_id,
        first.model_uri,
        first.metrics,
    )
    assert {p: (folder / p).read_bytes() for p in before} == before
    assert len(runs_of(mlflow_server.uri, name)) == 1
    assert github_output.read_text() == (
        f"run-id={first.run_id}\ncontent-key={first.content_key}\ncached=true\n"
        f"model-uri={first.model_uri}\ntrain-json={folder / 'train.json'}\n"
    )


def test_a_run_keyed_by_a_build_before_the_cache_binding_is_not_reused(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Key version 3 is that of builds whose pull-request workflows reused any run under the
    key and uploaded ``cached: true`` for it, a record the binding now counts as the pull
    request's own: the key moved on, so no such run is found."""
    name = unique("tumors")
    root = example_repo(tmp_path / "repo", name)
    current = content.KEY_VERSION
    monkeypatch.setattr(content, "KEY_VERSION", 3)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    old = _result(root, name)
    monkeypatch.setattr(content, "KEY_VERSION", current)
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    new = _result(root, name)
    assert capsys.readouterr().out.startswith(f"train {name}: trained run {new.run_id} ")
    assert (new.cached, new.hashes) == (False, old.hashes)  # the same inputs, another key
    assert new.content_key != old.content_key
    assert len(runs_of(mlflow_server.uri, name)) == 2


def test_a_cache_hit_loads_nothing_only_a_new_run_needs(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer
) -> None:
    """A cache hit restores a run: in a process of its own it imports neither the libraries
    a fit needs nor the modules only a new run uses (the GPU probe, lineage, run logging)."""
    root, name, _ = trained
    probe = (
        "import json, sys\n"
        "from mlgitops.cli import main\n"
        f"code = main(['-C', {str(root)!r}, 'train', {name!r}, "
        f"'--tracking-uri', {mlflow_server.uri!r}])\n"
        "sys.stderr.write(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    code, modules = json.loads(done.stderr.splitlines()[-1])
    assert code == 0
    assert "cache hit" in done.stdout
    assert "mlgitops.training.handoff" in modules
    only_new = {"mlgitops.training.gpu", "mlgitops.training.lineage", "mlgitops.training.runlog"}
    assert sorted(only_new & set(modules)) == []
    assert [m for m in modules if m.split(".")[0] in ("pandas", "numpy", "sklearn")] == []


def test_a_cached_run_from_before_the_training_rows_digest_gets_it(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    """A run logged before train recorded ``training_rows_digest`` is reused with the
    digest of the rows the cache restores (deploy requires one)."""
    from mlgitops.training.tracking import open_tracking

    root, name, _ = trained
    first = _result(root, name)
    doc = json.loads((root / ".mlgitops" / name / "train.json").read_text())
    old = {k: v for k, v in doc.items() if k not in ("training_rows_digest", "cached")}
    folder = tmp_path / "older"
    folder.mkdir()
    (folder / "train.json").write_text(json.dumps(old))
    tracking = open_tracking(mlflow_server.uri, root, env={})
    artifacts = requests.get(
        f"{mlflow_server.uri}/api/2.0/mlflow/runs/get",
        params={"run_id": first.run_id},
        timeout=30,
    ).json()["run"]["info"]["artifact_uri"]
    original = root.parent / "original-train"
    original.mkdir(exist_ok=True)
    (original / "train.json").write_text(json.dumps({**doc, "cached": False}))
    tracking.upload(artifacts, folder, "mlgitops")
    try:
        assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
        again = _result(root, name)
        assert (again.cached, again.run_id) == (True, first.run_id)
        assert again.training_rows_digest == first.training_rows_digest != ""
    finally:  # the run as train logged it, for the tests after this one
        tracking.upload(artifacts, original, "mlgitops")


def test_a_developer_s_working_tree_hits_the_run_a_clean_checkout_trained(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """What git ignores in a code folder never reaches CI: locally it must not make the
    run of the pull request's checkout look stale (train retraining, plan asking for a GPU)."""
    name = unique("tumors")
    root = example_repo(tmp_path / "repo", name)
    spec = root / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace("model:\n", "model:\n  code: [src/]\n"))
    (root / "src" / "features").mkdir(parents=True)
    (root / "src" / "features" / "ratios.py").write_text("RATIO = 1\n")
    (root / ".gitignore").write_text(".mlgitops/\n*.egg-info/\n*.swp\n")
    commit(root, "a code folder")
    clean = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(root), str(clean)], check=True)
    assert cli(clean, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    trained = _result(clean, name)
    (root / "src" / "features.egg-info").mkdir()
    (root / "src" / "features.egg-info" / "PKG-INFO").write_text("Name: features\n")
    (root / "src" / "features" / ".ratios.py.swp").write_bytes(b"b0VIM 9.0")
    capsys.readouterr()
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    assert capsys.readouterr().out.startswith(f"train {name}: cache hit, reusing run ")
    local = _result(root, name)
    assert (local.cached, local.run_id, local.content_key) == (
        True,
        trained.run_id,
        trained.content_key,
    )
    uri = mlflow_server.uri
    assert (
        cli(root, "plan", "--files", "src/features/ratios.py", "--tracking-uri", uri, "--json") == 0
    )
    [entry] = json.loads(capsys.readouterr().out)["pipelines"]
    assert (entry["cache"], entry["run_id"], entry["needs_gpu"]) == ("hit", trained.run_id, False)
    (root / "src" / "features" / "ratios.py").write_text("RATIO = 2\n")  # a change that counts
    assert (
        cli(root, "plan", "--files", "src/features/ratios.py", "--tracking-uri", uri, "--json") == 0
    )
    [entry] = json.loads(capsys.readouterr().out)["pipelines"]
    assert (entry["cache"], entry["needs_gpu"]) == ("miss", True)


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (
            lambda r: r.joinpath("data/tumors.csv").write_text(
                r.joinpath("data/tumors.csv").read_text()
                + r.joinpath("data/tumors.csv").read_text().splitlines()[1]
                + "\n"
            ),
            "data",
        ),
        (
            lambda r: r.joinpath("schemas/tumors.yaml").write_text(
                r.joinpath("schemas/tumors.yaml").read_text() + "# note\n"
            ),
            "schema",
        ),
    ],
)
def test_any_input_change_retrains(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer, change: object, what: str
) -> None:
    root, name, _ = trained
    first = _result(root, name)
    change(root)  # type: ignore[operator]
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    second = _result(root, name)
    assert not second.cached
    assert second.run_id != first.run_id
    assert second.content_key != first.content_key
    assert getattr(second.hashes, what) != getattr(first.hashes, what)


def test_a_gate_change_reuses_the_run_and_force_retrains(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer
) -> None:
    root, name, _ = trained
    first = _result(root, name)
    spec = root / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace("accuracy: {min: 0.85}", "accuracy: {min: 0.80}"))
    commit(root, "lower the accuracy floor")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    assert _result(root, name).run_id == first.run_id
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri, "--force") == 0
    forced = _result(root, name)
    assert (forced.cached, forced.content_key) == (False, first.content_key)
    assert forced.run_id != first.run_id
    assert len(runs_of(mlflow_server.uri, name)) == 2


def test_tracking_uri_comes_from_the_environment(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("env-uri")
    root = example_repo(tmp_path / "repo", name)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    assert cli(root, "train", name) == 0
    assert _result(root, name).tracking_uri == mlflow_server.uri
    assert not (root / ".mlgitops" / "mlflow.db").exists()
    answer = requests.get(
        f"{mlflow_server.uri}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": name},
        timeout=10,
    )
    assert answer.json()["experiment"]["name"] == name


def test_output_folder_from_the_option(
    trained: tuple[Path, str, str], mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    root, name, _ = trained
    target = tmp_path / "handoff"
    assert (
        cli(root, "train", name, "--tracking-uri", mlflow_server.uri, "--output", str(target)) == 0
    )
    assert sorted(p.name for p in target.iterdir()) == [
        "holdout.parquet",
        "predictions.parquet",
        "reference.json",
        "train.json",
        "training_rows.parquet",
    ]
    assert json.loads((target / "train.json").read_text())["cached"] is True


def _expected_holdout_rows(root: Path) -> int:
    """The split recomputed from the file as pandas reads it: every column is the key."""
    from mlgitops.training.holdout import holdout_mask

    data = pd.read_csv(root / "data" / "tumors.csv")
    return int(holdout_mask(data, tuple(data.columns), 42, 0.25).sum())


def test_a_relative_sqlite_store_is_the_repository_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sqlite:///mlflow.db``, the form MLflow's own messages recommend, crashed train and
    plan (exit 3): its path is the repository's (``-C``), as every path mlgitops reads, not
    the current folder's."""
    name = unique("relative")
    root = example_repo(tmp_path / "repo", name)
    (root / "mlgitops.yaml").write_text('mlflow: {tracking_uri: "sqlite:///mlflow.db"}\n')
    (root / ".gitignore").write_text(".mlgitops/\nmlflow.db\n")
    commit(root, "a store of its own")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli(root, "train", name, "--tracking-uri", "sqlite:///mlflow.db") == 0
    store = f"sqlite:///{root.resolve() / 'mlflow.db'}"
    first = _result(root, name)
    assert (first.tracking_uri, first.cached) == (store, False)
    assert (root / "mlflow.db").is_file()
    assert list(elsewhere.iterdir()) == []
    assert cli(root, "train", name) == 0  # mlgitops.yaml's, the same store: a cache hit
    assert (_result(root, name).run_id, _result(root, name).cached) == (first.run_id, True)
    capsys.readouterr()
    assert cli(root, "plan", "--files", "data/tumors.csv", "--json") == 0
    [entry] = json.loads(capsys.readouterr().out)["pipelines"]
    assert (entry["cache"], entry["run_id"]) == ("hit", first.run_id)
    assert list(elsewhere.iterdir()) == []
