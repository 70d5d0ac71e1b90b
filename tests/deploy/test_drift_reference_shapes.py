"""The drift reference deploy computes is the one ``train`` logged, for data of every shape.

Deploy holds the run's logged ``mlgitops/reference.json`` byte for byte to the profile the
merged commit's data and split give (:mod:`tests.deploy.test_drift_reference`): a profile
that came out otherwise in deploy's process (another dtype read from Parquet, categories
counted in another order, a date profiled) would block every deploy of such a pipeline.
The real stages play it: Parquet data with text, category, nullable, boolean and date
columns; split by the rows' own key or by a key column; a train that reuses its cached run;
then drift, which reads the reference deploy checked.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.deploy.test_deploy import deploy
from tests.deploy.world import World, cli_run, git, publish_review, reviewed_run
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer

pytestmark = pytest.mark.slow

SCHEMA = """\
schema_type: dataframe
api: pandas
columns:
  id: {dtype: int64}
  num: {dtype: float64, nullable: true}
  count: {dtype: Int64, nullable: true}
  plan: {dtype: str, nullable: true}
  region: {dtype: category, nullable: true}
  seen: {dtype: 'datetime64[ns]'}
  flag: {dtype: bool}
  churned: {dtype: int64}
"""


def _frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    num = rng.normal(size=rows)
    num[::17] = np.nan
    count = pd.array(rng.integers(0, 9, size=rows), dtype="Int64")
    count[::13] = pd.NA
    plan = pd.Series(rng.choice(["basic", "pro", "team", "été"], size=rows), dtype=object)
    plan[::11] = None
    region = pd.Series(rng.choice(["eu", "us", "apac"], size=rows)).astype("category")
    region[::19] = np.nan
    churned = (np.nan_to_num(num) + rng.normal(scale=0.3, size=rows) > 0).astype("int64")
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "num": num,
            "count": count,
            "plan": plan,
            "region": region,
            "seen": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "flag": rng.random(rows) > 0.5,
            "churned": churned,
        }
    )


def _parquet_pipeline(world: World, *, key: bool) -> None:
    """The world's pipeline on :func:`_frame` as Parquet (split by ``id`` where ``key``)."""
    work = world.work
    (work / "data" / "tumors.csv").unlink()
    _frame().to_parquet(work / "data" / "churn.parquet", index=False)
    (work / "schemas" / "tumors.yaml").write_text(SCHEMA)
    spec = work / "pipelines" / f"{world.name}.yaml"
    split = "{test_size: 0.25, seed: 42, stratify: true" + (", key: [id]}" if key else "}")
    text = (
        spec.read_text()
        .replace("data/tumors.csv", "data/churn.parquet")
        .replace("target: malignant", "target: churned")
        .replace("split: {test_size: 0.25, seed: 42, stratify: true}", f"split: {split}")
        .replace("roc_auc: {min: 0.90, max_drop: 0.01}", "roc_auc: {min: 0.5}")
        .replace("accuracy: {min: 0.85}", "accuracy: {min: 0.5}")
    )
    spec.write_text(text)
    assert cli_run(work, "render") == 0
    git(work, "add", "-A")
    git(work, "commit", "-qm", "Parquet data")
    git(work, "push", "-q", "origin", "main")


@pytest.mark.parametrize("cached", [False, True], ids=["trained", "cache-hit"])
@pytest.mark.parametrize("key", [False, True], ids=["row-key", "id-key"])
def test_parquet_data_of_every_column_kind_deploys_and_drift_reads_its_reference(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str], key: bool, cached: bool,
) -> None:  # fmt: skip
    uri = mlflow_server.uri
    _parquet_pipeline(world, key=key)
    run_id = reviewed_run(uri, world.work, world.name)
    folder = world.work / ".mlgitops" / world.name
    reference = json.loads((folder / "reference.json").read_text())
    profiled = {f["name"]: f["kind"] for f in reference["features"]}
    assert profiled == {
        "id": "numeric", "num": "numeric", "count": "numeric", "plan": "categorical",
        "region": "categorical", "flag": "categorical",
    }  # fmt: skip
    assert [s["name"] for s in reference["skipped"]] == ["seen"]  # a date: not profiled
    if cached:  # another pull request's train reuses the run: its hand-off from MLflow
        shutil.rmtree(world.work / ".mlgitops")
        assert reviewed_run(uri, world.work, world.name) == run_id
        assert json.loads((folder / "train.json").read_text())["cached"] is True
    publish_review(on_github.state, world.work, world.name, pr=12)
    capsys.readouterr()

    assert deploy(world, uri) == 0, capsys.readouterr().err

    git(world.work, "pull", "-q", "origin", "main")
    shutil.rmtree(world.work / ".mlgitops")  # the drift job's checkout has no hand-off folder
    args = ("drift", world.name, "--current", "data/churn.parquet", "--tracking-uri", uri)
    capsys.readouterr()
    assert cli_run(world.work, *args, "--action", "none") == 0
    out = capsys.readouterr().out
    assert f"Reference: artifact mlgitops/reference.json of MLflow run {run_id} (" in out
