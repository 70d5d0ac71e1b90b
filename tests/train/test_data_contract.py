"""What ``train`` reads: the one reader, the schema's feature contract, validated data.

Every test plays the real commands (``validate``, ``train``, ``compare``,
``report``) against a real MLflow server; no hand-off file is written by hand.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgitops import results
from mlgitops.spec import load_repo
from mlgitops.training import content
from tests.fixtures.mlflow_server import MlflowServer
from tests.train.helpers import cli, commit, runs_of, unique

pytestmark = pytest.mark.slow
TRAINERS = Path(__file__).with_name("trainers")


def _frame(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows).round(4), rng.normal(size=rows).round(4)
    y = (2 * x1 - x2 + rng.normal(0, 1.0, size=rows)).round(4)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def _repo(root: Path, name: str, frame: pd.DataFrame, schema: str, extra: str = "") -> Path:
    (root / "data").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "pipelines").mkdir()
    frame.to_csv(root / "data" / "d.csv", index=False)
    (root / "schemas" / "d.yaml").write_text(textwrap.dedent(schema))
    (root / "pipelines" / f"{name}.yaml").write_text(
        f"name: {name}\n"
        "data: {path: data/d.csv, schema: schemas/d.yaml, target: y, split: {test_size: 0.25, seed: 1}}\n"
        "model: {estimator: sklearn.linear_model.LinearRegression}\n"
        "task: regression\n"
        "metrics: [r2, rmse]\n" + extra
    )
    (root / ".gitignore").write_text(".mlgitops/\n")  # as `mlgitops init` or `adopt` write it
    commit(root, "pipeline", init=True)
    return root


_SCHEMA = """\
    schema_type: dataframe
    strict: false
    columns:
      x1: {dtype: float64}
      x2: {dtype: float64}
      y: {dtype: float64}
"""


def _use_command(root: Path, name: str, command: str) -> Path:
    """Train with a custom ``command`` instead of the built-in estimator; committed."""
    spec = root / "pipelines" / f"{name}.yaml"
    model = "model: {estimator: sklearn.linear_model.LinearRegression}"
    spec.write_text(spec.read_text().replace(model, f"model: {{command: {command}}}"))
    commit(root, "custom trainer")
    return spec


def _train_json(root: Path, name: str) -> results.TrainResult:
    return results.load_train_result((root / ".mlgitops" / name / "train.json").read_text())


def test_an_undeclared_column_is_never_a_feature(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("leak")
    frame = _frame()
    frame["leak"] = frame["y"]  # a copy of the target the schema does not declare
    root = _repo(tmp_path / "repo", name, frame, _SCHEMA)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    out = capsys.readouterr().out
    assert (
        f"train {name}: column(s) not declared in the schema, not used as features: leak\n" in out
    )
    result = _train_json(root, name)
    assert result.undeclared == ["leak"]
    assert result.features == [
        {"name": "x1", "dtype": "float64"},
        {"name": "x2", "dtype": "float64"},
    ]
    assert result.metrics["r2"] < 0.95  # with the copy of the target it would be 1.0
    holdout = pd.read_parquet(root / ".mlgitops" / name / "holdout.parquet")
    assert list(holdout.columns) == ["__row__", "x1", "x2", "y"]
    assert cli(root, "validate", name) == 0  # a non-strict schema lets the column through
    assert cli(root, "report", name) == 0
    comment = (root / ".mlgitops" / name / "report.md").read_text()
    assert "- Not used as features (not declared in the schema): `leak`\n" in comment


def test_a_schema_without_features_is_refused_by_name(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the target declared: nothing to learn from, and the split has nothing to tell
    rows apart by. Say so, not "add rows"."""
    name = unique("nofeatures")
    schema = "schema_type: dataframe\nstrict: false\ncolumns:\n  y: {dtype: float64}\n"
    root = _repo(tmp_path / "repo", name, _frame(), schema)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    err = capsys.readouterr().err
    assert (
        "schemas/d.yaml declares no feature column: only the target 'y' "
        "(undeclared columns are never features: x1, x2)"
    ) in err
    spec = root / "pipelines" / f"{name}.yaml"
    spec.write_text(
        spec.read_text().replace("schema: schemas/d.yaml", "columns: {y: {dtype: float64}}")
    )
    _frame()[["y"]].to_csv(root / "data" / "d.csv", index=False)  # inline schemas are strict
    commit(root, "inline columns")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert (
        f"pipelines/{name}.yaml (data.columns) declares no feature column: only the target 'y'"
    ) in capsys.readouterr().err
    assert runs_of(mlflow_server.uri, name) == []


def test_train_refuses_data_that_fails_validation(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("invalid")
    frame = _frame()
    frame.loc[6, "x1"] = 99.0  # data row 7, file line 8
    schema = _SCHEMA.replace("x1: {dtype: float64}", "x1: {dtype: float64, le: 10}")
    root = _repo(tmp_path / "repo", name, frame, schema)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 1
    err = capsys.readouterr().err
    assert "data/d.csv fails validation (1 check(s)); not training on it." in err
    assert "  data/d.csv:8: column 'x1': " in err and "e.g. 99.0" in err
    assert runs_of(mlflow_server.uri, name) == []  # nothing half-logged
    assert not (root / ".mlgitops" / name / "train.json").exists()

    spec = root / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text() + "train: {allow_invalid_data: true}\n")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    assert (
        "training on invalid data (allowed by the spec): data/d.csv:8: " in capsys.readouterr().out
    )
    assert len(_train_json(root, name).invalid_data) == 1


@pytest.mark.parametrize(
    ("file", "cells", "told"),
    [
        (
            "data/test.csv",
            {1: "unknown"},
            "data/test.csv:3: target column 'y' is not a number in 1 row(s), first at row 2 "
            "('unknown')",
        ),
        (
            "data/d.csv",
            {4: "n/a?", 8: "unknown", 9: ""},
            "data/d.csv:6: target column 'y' is not a number in 2 row(s), first at row 5 ('n/a?')",
        ),
        (
            "data/d.csv",
            {2: ""},
            "data/d.csv: target column 'y' is empty in 1 row(s), first at row 3",
        ),
    ],
)
def test_a_target_that_is_not_a_number_is_named_with_its_row(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    file: str,
    cells: dict[int, str],
    told: str,
) -> None:
    """With ``train.allow_invalid_data``, a word in a regression's target was called a gap
    (target column 'y' is empty)."""
    name = unique("target")
    root = _repo(tmp_path / "repo", name, _frame(), _SCHEMA, "train: {allow_invalid_data: true}\n")
    spec = root / "pipelines" / f"{name}.yaml"
    if file == "data/test.csv":
        _frame(100, seed=9).to_csv(root / file, index=False)
        spec.write_text(
            spec.read_text().replace("split: {test_size: 0.25, seed: 1}", f"test_path: {file}")
        )
    frame = pd.read_csv(root / file, dtype={"y": object})
    for row, value in cells.items():
        frame.loc[row, "y"] = value
    frame.to_csv(root / file, index=False)
    commit(root, "a word in the target")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err == f"mlgitops train: error: {told}\n"


def test_integers_written_as_whole_floats_validate_and_train_as_integers(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    """pandas writes an integer column that went through floats (a gap, a merge) as
    ``6.0``: validate reads the whole floats as the integers they are, and train takes the
    same values, where it refused them as "not of their dtype" after validate passed."""
    name = unique("wholes")
    frame = _frame()
    frame["n"] = np.arange(len(frame)) % 7
    frame["k"] = pd.array(np.arange(len(frame)) % 5, dtype="Int64")
    frame.loc[::9, "k"] = pd.NA
    frame[["n", "k"]] = frame[["n", "k"]].astype("float64")  # 6.0, and 3.0 beside gaps
    schema = _SCHEMA + "      n: {dtype: int64}\n      k: {dtype: Int64, nullable: true}\n"
    schema += "    coerce: true\n"
    root = _repo(tmp_path / "repo", name, frame, schema)
    spec = root / "pipelines" / f"{name}.yaml"  # a model that takes the gaps
    linear = "sklearn.linear_model.LinearRegression"
    spec.write_text(
        spec.read_text().replace(linear, "sklearn.ensemble.HistGradientBoostingRegressor")
    )
    commit(root, "boosting")
    assert ",6.0," in (root / "data" / "d.csv").read_text()
    assert cli(root, "validate", name) == 0
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    result = _train_json(root, name)
    assert {"name": "n", "dtype": "int64"} in result.features
    holdout = pd.read_parquet(root / ".mlgitops" / name / "holdout.parquet")
    assert holdout["n"].dtype == np.int64
    assert holdout["k"].dtype == np.float64  # gaps as NaN, as every other numeric feature
    rows = holdout["__row__"] - 1
    assert holdout["n"].tolist() == (rows % 7).tolist()
    assert holdout["k"].isna().tolist() == (rows % 9 == 0).tolist()


def test_text_stays_text_and_missing_stays_missing(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    import mlflow

    name = unique("zips")
    frame = _frame()
    frame["zip"] = np.where(np.arange(len(frame)) % 3 == 0, "02139", "10001")
    frame.loc[frame.index % 7 == 0, "zip"] = None
    schema = _SCHEMA.replace(
        "y: {dtype: float64}", "y: {dtype: float64}\n      zip: {dtype: str, nullable: true}"
    )
    root = _repo(tmp_path / "repo", name, frame, schema)
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    holdout = pd.read_parquet(root / ".mlgitops" / name / "holdout.parquet")
    assert set(holdout["zip"].dropna()) == {"02139", "10001"}
    assert holdout["zip"].isna().sum() == (holdout["__row__"] % 7 == 1).sum()
    assert "nan" not in set(holdout["zip"].dropna()) and "None" not in set(holdout["zip"].dropna())
    result = _train_json(root, name)
    assert {"name": "zip", "dtype": "str"} in result.features
    mlflow.set_tracking_uri(mlflow_server.uri)
    signature = mlflow.models.get_model_info(result.model_uri).signature.inputs.to_dict()
    assert [(c["name"], c["type"]) for c in signature] == [
        ("x1", "double"),
        ("x2", "double"),
        ("zip", "string"),
    ]


@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_a_custom_classifier_is_scored_the_same_at_train_and_compare(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    from sklearn.metrics import roc_auc_score

    name = unique("unsorted")
    frame = _frame()
    frame["y"] = (frame["y"] > 0).astype(int)
    schema = _SCHEMA.replace("y: {dtype: float64}", "y: {dtype: int64}")
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    shutil.copy(TRAINERS / "unsorted_classifier.py", root / "src" / "train.py")
    root = _repo(root, name, frame, schema)
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text().replace("task: regression", "task: classification")
    spec.write_text(text.replace("metrics: [r2, rmse]", "metrics: [roc_auc, accuracy]"))
    _use_command(root, name, "python src/train.py")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    result = _train_json(root, name)
    predictions = pd.read_parquet(root / ".mlgitops" / name / "predictions.parquet")
    truth = roc_auc_score(predictions["y_true"], predictions["proba_1"])
    assert result.classes == [0, 1]
    assert result.metrics["roc_auc"] == pytest.approx(truth, abs=1e-9)
    assert truth > 0.8
    assert cli(root, "compare", name, "--tracking-uri", mlflow_server.uri) == 0
    verdict = json.loads((root / ".mlgitops" / name / "verdict.json").read_text())
    scored = {m["name"]: m["candidate"] for m in verdict["metrics"]}
    for metric in ("roc_auc", "accuracy"):
        assert scored[metric] == pytest.approx(result.metrics[metric], abs=1e-9)
    logged = {m["key"]: m["value"] for m in runs_of(mlflow_server.uri, name)[0]["data"]["metrics"]}
    assert logged["roc_auc"] == pytest.approx(truth, abs=1e-9)


@pytest.mark.parametrize("trained", [False, True])
@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_a_class_no_training_row_holds_is_probability_0_from_a_custom_classifier(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    trained: bool,
) -> None:
    """The trainer is given no list of classes: it writes proba_<class> for those it learned.
    A class the test file alone holds, which train says the model never predicts, is 0, as
    for an estimator (it was refused, probability columns missing); a class the training
    rows hold still needs its column."""
    name = unique("unseen")
    frame = _frame()
    frame["y"] = (frame["y"] > 0).astype(int)
    if trained:
        frame.loc[:29, "y"] = 2  # the trainer learns class 2 and writes no column for it
    test = _frame(100, seed=9)
    test["y"] = (test["y"] > 0).astype(int)
    test.loc[:9, "y"] = 2
    schema = _SCHEMA.replace("y: {dtype: float64}", "y: {dtype: int64}")
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    shutil.copy(TRAINERS / "unsorted_classifier.py", root / "src" / "train.py")
    root = _repo(root, name, frame, schema)
    test.to_csv(root / "data" / "test.csv", index=False)
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text().replace("task: regression", "task: classification")
    text = text.replace("split: {test_size: 0.25, seed: 1}", "test_path: data/test.csv")
    spec.write_text(text.replace("metrics: [r2, rmse]", "metrics: [roc_auc, accuracy]"))
    _use_command(root, name, "python src/train.py")
    code = cli(root, "train", name, "--tracking-uri", mlflow_server.uri)
    if trained:
        assert code == 2
        assert capsys.readouterr().err == (
            "mlgitops train: error: the predictions of `python src/train.py`: probability "
            "columns missing: proba_2\n"
        )
        return
    assert code == 0
    assert (
        f"train {name}: class 2 of 'y' is in the holdout only (10 rows, data/test.csv): no "
        "training row holds it, so the model never predicts it (probability 0)\n"
    ) in capsys.readouterr().out
    result = _train_json(root, name)
    assert result.classes == [0, 1, 2]
    predictions = pd.read_parquet(root / ".mlgitops" / name / "predictions.parquet")
    assert (predictions["proba_2"] == 0).all()
    assert np.allclose(predictions["proba_0"] + predictions["proba_1"], 1)
    assert cli(root, "compare", name, "--tracking-uri", mlflow_server.uri) == 0
    verdict = json.loads((root / ".mlgitops" / name / "verdict.json").read_text())
    scored = {m["name"]: m["candidate"] for m in verdict["metrics"]}
    for metric in ("roc_auc", "accuracy"):
        assert scored[metric] == pytest.approx(result.metrics[metric], abs=1e-9)


def test_every_file_a_custom_trainer_depends_on_is_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("module")
    root = tmp_path / "repo"
    (root / "trainer").mkdir(parents=True)
    (root / "trainer" / "__init__.py").write_text("")
    (root / "trainer" / "fit.py").write_text("from trainer.util import helper\n")
    (root / "trainer" / "util.py").write_text("def helper():\n    return 1\n")
    (root / "conf").mkdir()
    (root / "conf" / "train.yaml").write_text("alpha: 1\n")
    root = _repo(root, name, _frame(), _SCHEMA)
    _use_command(root, name, "python -m trainer.fit --config conf/train.yaml")
    pipeline = load_repo(root).pipeline(name)
    assert {"trainer", "conf/train.yaml"} <= set(pipeline.inputs())

    def key() -> str:
        return content.content_key(content.hashes(root, load_repo(root).pipeline(name)))

    before = key()
    for changed, text in (
        ("trainer/util.py", "def helper():\n    return 2\n"),
        ("conf/train.yaml", "alpha: 2\n"),
    ):
        (root / changed).write_text(text)
        after = key()
        assert after != before, changed  # no stale cache hit
        before = after
        capsys.readouterr()
        assert cli(root, "plan", "--files", changed, "--json") == 0
        plan = json.loads(capsys.readouterr().out)
        assert plan["affected"] == [name], changed


def test_report_refuses_a_hand_off_from_another_candidate(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("stale")
    root = _repo(tmp_path / "repo", name, _frame(), _SCHEMA)
    uri = ("--tracking-uri", mlflow_server.uri)
    assert cli(root, "validate", name) == 0
    for stage in ("train", "compare"):
        assert cli(root, stage, name, *uri) == 0, stage
    assert cli(root, "report", name) == 0
    first = _train_json(root, name).run_id
    verdict = root / ".mlgitops" / name / "verdict.json"
    judged = verdict.read_bytes()

    pd.concat([_frame(), _frame(40, seed=9)]).to_csv(root / "data" / "d.csv", index=False)
    commit(root, "more rows")
    assert cli(root, "validate", name) == 0
    assert cli(root, "train", name, *uri) == 0
    second = _train_json(root, name).run_id
    assert not verdict.exists()  # train removed the verdict on the candidate it replaced
    capsys.readouterr()
    assert cli(root, "report", name) == 0
    comment = (root / ".mlgitops" / name / "report.md").read_text()
    assert "trained, but not compared: compare did not finish" in comment
    verdict.write_bytes(judged)  # an earlier run's verdict, as merged artifacts can bring it
    capsys.readouterr()
    assert cli(root, "report", name) == 2
    assert capsys.readouterr().err == (
        f"mlgitops report: error: .mlgitops/{name}/verdict.json judges run {first}, but "
        f"train.json is run {second}: the verdict is stale; run `mlgitops compare {name}` again\n"
    )
    assert cli(root, "compare", name, *uri) == 0
    assert cli(root, "report", name) == 0
    # a compare that fails leaves no verdict behind it: the report showed the last one's ✅
    assert cli(root, "compare", name, "--base", "no-such-ref", *uri) == 2
    assert not verdict.exists()
    assert cli(root, "report", name) == 0
    comment = (root / ".mlgitops" / name / "report.md").read_text()
    assert "trained, but not compared: compare failed" in comment
    assert cli(root, "compare", name, *uri) == 0

    _frame(50, seed=11).to_csv(root / "other.csv", index=False)
    assert cli(root, "validate", name, "--data", "other.csv") == 0
    capsys.readouterr()
    assert cli(root, "report", name) == 2
    err = capsys.readouterr().err
    assert f".mlgitops/{name}/validation.json is for data sha256:" in err
    assert f"run `mlgitops validate {name}` again\n" in err


_GHOST_TRAINER = """\
import json, os
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression

train = pd.read_parquet(os.environ["MLGITOPS_TRAIN"])
holdout = pd.read_parquet(os.environ["MLGITOPS_HOLDOUT"])
features = json.loads(os.environ["MLGITOPS_FEATURES"])
out = Path(os.environ["MLGITOPS_OUTPUT"])
model = LinearRegression().fit(train[features], train["y"])
example = {example}
mlflow.sklearn.save_model(
    model, out / "model", signature=infer_signature(example), pip_requirements=["scikit-learn"]
)
pd.DataFrame({"__row__": holdout["__row__"], "y_pred": model.predict(holdout[features])}).to_parquet(
    out / "predictions.parquet"
)
"""


@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_a_custom_model_that_takes_a_column_that_is_not_a_feature_is_refused(
    tmp_path: Path, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("ghost")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(
        _GHOST_TRAINER.replace("{example}", "holdout[features].assign(ghost=1.0)")
    )
    root = _repo(root, name, _frame(), _SCHEMA)
    _use_command(root, name, "python train.py")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err.endswith(
        "mlgitops train: error: custom trainer `python train.py`: the model takes column(s) "
        "ghost that are not features (features: x1, x2; see $MLGITOPS_FEATURES)\n"
    )
    [run] = runs_of(mlflow_server.uri, name)
    assert run["info"]["status"] == "FAILED"


@pytest.mark.parametrize(
    ("example", "told"),
    [
        ("holdout[['x1']]", "the model's signature lacks feature(s) x2"),
        (
            "holdout[['x1']].assign(ghost=1.0)",
            "the model takes column(s) ghost that are not features and its signature lacks "
            "feature(s) x2",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_a_custom_model_whose_signature_lacks_a_feature_is_refused(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
    example: str,
    told: str,
) -> None:
    """A model fitted on every feature and saved with a signature naming some passed train,
    compare and deploy (which re-scored it on every feature); compare then gave it, deployed,
    its signature's inputs, and no later pull request could be compared."""
    name = unique("subset")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(_GHOST_TRAINER.replace("{example}", example))
    root = _repo(root, name, _frame(), _SCHEMA)
    _use_command(root, name, "python train.py")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 2
    assert capsys.readouterr().err.endswith(
        f"mlgitops train: error: custom trainer `python train.py`: {told} (features: x1, x2; "
        "see $MLGITOPS_FEATURES); compare, deploy and serving give a model every feature\n"
    )
    assert not (root / ".mlgitops" / name / "train.json").exists()
    [run] = runs_of(mlflow_server.uri, name)
    assert run["info"]["status"] == "FAILED"


@pytest.mark.parametrize("width", [0, 1, 2, 5])
def test_fingerprints_are_pandas_row_hashes_of_the_canonical_columns(width: int) -> None:
    """Fingerprints kept with a deployed model must not change: they are, by definition,
    ``hash_pandas_object`` of the canonical columns in sorted order."""
    import numpy as np
    import pandas as pd

    from mlgitops import features

    rng = np.random.default_rng(width)
    pool = {
        "b_text": pd.Series(rng.choice(["x", "y", "", "nan"], 300), dtype=object),
        "a_float": pd.Series(np.where(rng.random(300) < 0.1, np.nan, rng.normal(size=300))),
        "e_int": pd.Series(rng.integers(-5, 5, 300)),
        "c_bool": pd.Series(rng.random(300) < 0.5),
        "d_str": pd.Series(rng.choice(["p", "q", None], 300), dtype="str"),
    }
    frame = pd.DataFrame(dict(list(pool.items())[:width]), index=range(300))
    columns = list(frame.columns)
    canonical = pd.DataFrame(
        {name: features._canonical(frame[name]) for name in sorted(columns)}, index=frame.index
    )
    expected = pd.util.hash_pandas_object(canonical, index=False, categorize=False).to_numpy()
    found = features.row_fingerprints(frame, list(reversed(columns)))
    assert found.dtype == np.uint64
    assert found.tolist() == expected.tolist()


def test_fingerprints_are_those_earlier_releases_wrote() -> None:
    """A deployed model's training_rows.parquet was written by the release that trained it:
    the same rows must give the same fingerprints now, or compare would score the deployed
    model on rows it was trained on."""
    import numpy as np
    import pandas as pd

    from mlgitops import features

    frame = pd.DataFrame(
        {
            "amount": [1.5, np.nan, 2.0, -0.25, 1e6, 3.0],
            "count": pd.array([1, 2, 3, 4, 5, 6], dtype="int64"),
            "flag": [True, False, True, True, False, False],
            "city": pd.Series(["Lyon", None, "Köln", "", "nan", "Lyon"], dtype=object),
            "plan": pd.Series(["p-1", "p-2", None, "p-1", "p-3", "p-2"], dtype="str"),
        }
    )
    assert features.row_fingerprints(frame, list(frame.columns)).tolist() == [
        18100062989515409693,
        11734892190071334185,
        3011971553034889391,
        2339294334148826073,
        1414127820867643031,
        1031998631402554677,
    ]
    assert features.row_fingerprints(frame, ["plan", "amount"]).tolist() == [
        592335050314667800,
        18115991814964969506,
        12162098542746110714,
        4228660221168338663,
        6674002858067096046,
        11566784208275643452,
    ]


def test_text_fingerprints_take_no_shortcut_that_changes_them() -> None:
    """The vectorised text path gives what the value-by-value definition gives."""
    import numpy as np
    import pandas as pd

    from mlgitops import features

    columns = {
        "text": pd.Series(["a", None, "b", np.nan, "", "nan"], dtype=object),
        "str": pd.Series(["a", None, "b", np.nan, "", "c"], dtype="str"),
        "na": pd.Series(["a", pd.NA, "b", None, "", "c"], dtype=object),
        "mixed": pd.Series(["a", 1, 2.5, None, np.nan, True], dtype=object),
        "number": pd.Series([1.0, np.nan, 2.0, 3.0, 4.0, 5.0]),
    }
    frame = pd.DataFrame(columns)
    for name in columns:
        by_value = frame[name].map(lambda v: features._MISSING if features._missing(v) else str(v))
        if name != "number":
            assert list(features._canonical(frame[name])) == list(by_value), name
    expected = features.row_fingerprints(frame, list(columns))
    assert len(set(expected.tolist())) == len(frame)
