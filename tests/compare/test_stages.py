"""Pull requests that change the data's shape, played through the real stages.

A repository whose ``main`` deployed a model that ``mlgitops train`` made (a
registered version in a real MLflow server, recorded in the base branch's
``model.json``); each test clones it, changes the data, the schema or the spec
on a branch, and runs ``validate``, ``train``, ``compare`` and ``report`` as a
user would. Nothing here writes a hand-off file.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from mlgitops import results
from mlgitops.cli import main
from tests.conftest import PROJECT
from tests.fixtures.gpu import nvidia_smi, on_gpu
from tests.fixtures.mlflow_server import MlflowServer

pytestmark = pytest.mark.slow

NAME = "shapes"
FEATURES = [f"f{i}" for i in range(6)]
SPEC = """\
name: shapes
data:
  path: data/shapes.csv
  schema: schemas/shapes.yaml
  target: y
  split: {test_size: 0.3, seed: 42}
model:
  estimator: sklearn.ensemble.RandomForestClassifier
  params: {n_estimators: 40, random_state: 0}
task: classification
metrics: [roc_auc, accuracy]
gates:
  roc_auc: {max_drop: 0.05}
  accuracy: {min: 0.5}
compare:
  resamples: 200
deploy:
  environments:
    - name: staging
      namespace: ml-staging
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def generated(rows: int = 1500) -> pd.DataFrame:
    """Noisy, so a model scored on its own training rows looks far better than it is."""
    x, y = make_classification(
        n_samples=rows, n_features=6, n_informative=4, n_redundant=0, flip_y=0.1,
        class_sep=0.8, random_state=0,
    )  # fmt: skip
    frame = pd.DataFrame(np.round(x, 6), columns=FEATURES)
    frame["y"] = y
    return frame


def schema(columns: dict[str, str]) -> str:
    lines = ["schema_type: dataframe", "columns:"]
    for name, dtype in columns.items():
        lines += [f"  {name}:", f"    dtype: {dtype}"]
    return "\n".join(lines) + "\n"


def write_data(root: Path, frame: pd.DataFrame, dtypes: dict[str, str] | None = None) -> None:
    frame.to_csv(root / "data" / "shapes.csv", index=False)
    declared = dtypes or {c: ("int64" if c == "y" else "float64") for c in frame.columns}
    (root / "schemas" / "shapes.yaml").write_text(schema(declared))


def cli(root: Path, *args: str) -> int:
    return main(["-C", str(root), *args])


@dataclass(frozen=True)
class Deployed:
    remote: Path
    server: MlflowServer
    run_id: str
    model_uri: str


def deployed_main(top: Path, server: MlflowServer) -> Deployed:
    """``main`` trained by ``mlgitops train`` and deployed, tracked on ``server``."""
    with pytest.MonkeyPatch.context() as env:
        # mlflow.set_tracking_uri in an earlier test leaves $MLFLOW_TRACKING_URI set, and this
        # fixture starts before the per-test environment guard: mlgitops.yaml must decide.
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        env.delenv("MLFLOW_REGISTRY_URI", raising=False)
        remote, run_id, uri = _main_branch(top, server)
    return Deployed(remote, server, run_id, uri)


@pytest.fixture(scope="module")
def deployed(stages_main: Deployed) -> Iterator[Deployed]:
    """The deployed ``main`` of the test process (``stages_main``), for a module whose
    stages point MLflow's process-wide URIs at its server: they are put back after it."""
    saved = _mlflow_uris()
    try:
        yield stages_main
    finally:
        _restore_mlflow_uris(saved)


def _mlflow_uris() -> tuple[str | None, str | None]:
    """MLflow's process-wide tracking and registry URIs as set (None: not set)."""
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    return tracking._tracking_uri, registry._registry_uri


def _restore_mlflow_uris(saved: tuple[str | None, str | None]) -> None:
    import mlflow

    mlflow.set_tracking_uri(saved[0])  # type: ignore[arg-type]
    mlflow.set_registry_uri(saved[1])  # type: ignore[arg-type]


def _main_branch(top: Path, server: MlflowServer) -> tuple[Path, str, str]:
    remote, root = top / "remote.git", top / "main"
    git(top, "init", "-q", "--bare", "-b", "main", str(remote))
    git(top, "clone", "-q", str(remote), str(root))
    git(root, "checkout", "-q", "-b", "main")
    for folder in ("pipelines", "data", "schemas"):
        (root / folder).mkdir()
    (root / "pipelines" / "shapes.yaml").write_text(SPEC)
    (root / "mlgitops.yaml").write_text(f"mlflow:\n  tracking_uri: {server.uri}\n")
    (root / ".gitignore").write_text(".mlgitops/\n")
    write_data(root, generated())
    assert cli(root, "validate", NAME) == 0
    assert cli(root, "train", NAME) == 0
    train = json.loads((root / ".mlgitops" / NAME / "train.json").read_text())
    uri = deploy(
        root, server, train["run_id"], train["model_uri"], train["content_key"], train["metrics"]
    )
    git(root, "push", "-q", "origin", "main")
    return remote, str(train["run_id"]), uri


def deploy(
    root: Path,
    server: MlflowServer,
    run_id: str,
    model: str,
    key: str = "",
    metrics: dict[str, float] | None = None,
) -> str:
    """Register ``model`` and record it as deployed to staging on ``main`` (committed)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own notices are not under test
        client = mlflow.MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)
        with contextlib.suppress(MlflowException):  # registered by an earlier deployment
            client.create_registered_model(NAME)
        logged = model.removeprefix("models:/") if model.startswith("models:/m-") else None
        version = client.create_model_version(NAME, model, run_id=run_id, model_id=logged).version
    record = results.ProvenanceRecord(
        pipeline=NAME,
        environment="staging",
        model_name=NAME,
        version=str(version),
        model_uri=f"models:/{NAME}/{version}",
        run_id=run_id,
        content_key=key,
        metrics=metrics or {},
        data_hash="",
        spec_hash="",
        commit="0" * 40,
    )
    path = root / "manifests" / NAME / "overlays" / "staging" / "model.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(results.dumps(record))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"Deploy {NAME} {version}")
    return record.model_uri


class PullRequest:
    """A clone of the deployed repository on a branch ``pr``."""

    def __init__(self, tmp_path: Path, base: Deployed, capsys: pytest.CaptureFixture[str]):
        self.root, self.capsys = tmp_path / "repo", capsys
        git(tmp_path, "clone", "-q", str(base.remote), str(self.root))
        git(self.root, "checkout", "-q", "-b", "pr")

    @property
    def data(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "data" / "shapes.csv")

    def spec(self, old: str, new: str) -> None:
        path = self.root / "pipelines" / "shapes.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    def run(self, *base: str) -> tuple[int, str]:
        """validate, train, compare and report; compare's exit code and its output.

        ``base``: compare's ``--base REF`` (default: origin/main, what the remote deployed).
        """
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", "Change the data")
        assert cli(self.root, "validate", NAME) == 0
        assert cli(self.root, "train", NAME) == 0
        self.capsys.readouterr()
        code = cli(self.root, "compare", NAME, *(["--base", *base] if base else []))
        out = self.capsys.readouterr().out
        assert cli(self.root, "report", NAME) == 0
        self.capsys.readouterr()
        return code, out

    def verdict(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.output("verdict.json"))
        return loaded

    def output(self, name: str) -> str:
        return (self.root / ".mlgitops" / NAME / name).read_text("utf-8")


@pytest.fixture
def pr(tmp_path: Path, deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> PullRequest:
    return PullRequest(tmp_path, deployed, capsys)


#: Wraps the deployed scikit-learn model as a pyfunc model that predicts labels only.
LOG_LABELS_ONLY = """
import sys, warnings
warnings.simplefilter("ignore")
import mlflow, mlflow.sklearn
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from tests.compare.world import labels_only
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("shapes-pyfunc")
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(
        name="labels",
        python_model=labels_only(mlflow.sklearn.load_model(sys.argv[2])),
        signature=ModelSignature(Schema([ColSpec("double", f"f{i}") for i in range(6)])),
        pip_requirements=["scikit-learn"],
    )
print(info.model_uri)
"""


def assert_same_judgement(first: dict[str, Any], second: dict[str, Any]) -> None:
    """Two verdicts on the same data written two ways: equal but for the candidate's run and
    the data's hash, on a holdout the deployed model is compared on in full."""
    for verdict in (first, second):
        del verdict["candidate"], verdict["holdout"]["data_hash"]
    assert second == first
    assert second["holdout"]["compared"] == second["holdout"]["rows"] > 400


def _max_drop(verdict: dict[str, Any]) -> dict[str, Any]:
    [gate] = [g for g in verdict["gates"] if g["condition"] == "max_drop"]
    return gate


def test_an_added_column_compares_normally_and_names_the_split_key_that_keeps_the_rows(
    pr: PullRequest,
) -> None:
    """The default split key is every declared column, so a column added moves rows
    between the sides, and the rows the deployed model trained on leave the comparison
    (on small data, too few stay for the relative gates). The verdict says which key keeps
    the deployed model's split; with it, the whole holdout is compared."""
    frame = pr.data
    frame.insert(3, "extra", np.round(np.random.default_rng(1).normal(size=len(frame)), 6))
    write_data(pr.root, frame)
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    assert verdict["features"]["added"] == [{"name": "extra", "type": "double"}]
    assert verdict["features"]["removed"] == [] and verdict["features"]["type_changed"] == []
    assert verdict["comparison"]["status"] == "evaluable"
    assert _max_drop(verdict)["status"] == "pass"
    assert "features against the deployed model's signature: added extra (double)" in out
    assert "| added | `extra` | - | `double` |" in pr.output("report.md")
    holdout = verdict["holdout"]
    assert holdout["excluded"] > holdout["rows"] // 2, holdout
    key = ", ".join([*FEATURES, '"y"'])  # quoted: YAML 1.1 reads a plain y as true
    note = (
        f"{holdout['excluded']} of the {holdout['rows']} holdout rows were left out because "
        "the split moved them: its key is every declared column (data.split.key is not set), "
        "and extra was added since the deployed model was trained; with data.split.key: "
        f"[{key}], the deployed model's columns, the rows it shares with this data keep "
        "the sides its training gave them"
    )
    assert verdict["comparison"]["notes"] == [note]
    assert f"note: {note}" in out
    assert "were left out because the split moved them" in pr.output("report.md")

    pr.spec(
        "split: {test_size: 0.3, seed: 42}", f"split: {{test_size: 0.3, seed: 42, key: [{key}]}}"
    )
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    assert verdict["holdout"]["excluded"] == 0
    assert verdict["holdout"]["compared"] == verdict["holdout"]["rows"]
    # the key is the pull request's choice, named as every way of drawing the holdout is
    # (a key tried until the holdout favours the candidate would be too); nothing more
    assert verdict["comparison"]["notes"] == [
        "the gates are not those of origin/main:pipelines/shapes.yaml, and this verdict "
        f"holds the candidate to the pull request's: data.split.key {', '.join([*FEATURES, 'y'])} "
        "added"
    ]


def test_a_pull_request_that_adds_a_column_and_changes_its_gates_reads_the_base_spec_once(
    pr: PullRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both notes that need the base branch's spec (the split key, the gates changed) are
    given from one read of it."""
    from mlgitops.evaluation import baseline

    read: list[str] = []
    pipeline_at = baseline.pipeline_at
    monkeypatch.setattr(
        baseline, "pipeline_at", lambda *args: read.append(args[1]) or pipeline_at(*args)
    )
    frame = pr.data
    frame.insert(3, "extra", np.round(np.random.default_rng(1).normal(size=len(frame)), 6))
    write_data(pr.root, frame)
    pr.spec("  accuracy: {min: 0.5}\n", "  accuracy: {min: 0.4}\n")
    pr.run()
    notes = pr.verdict()["comparison"]["notes"]
    assert [note.split(" because ")[0].split(", and ")[0] for note in notes] == [
        f"{pr.verdict()['holdout']['excluded']} of the {pr.verdict()['holdout']['rows']} "
        "holdout rows were left out",
        "the gates are not those of origin/main:pipelines/shapes.yaml",
    ], notes
    assert read == ["origin/main"]


def _write_nullable(
    pr: PullRequest, frame: pd.DataFrame, added: dict[str, str], nullable: str
) -> Path:
    """The data with ``added`` columns; their schema, coercing, with dtype ``nullable``'s
    columns nullable. Returns the schema's path."""
    write_data(pr.root, frame, {c: "float64" for c in FEATURES} | added | {"y": "int64"})
    path = pr.root / "schemas" / "shapes.yaml"
    declared = f"    dtype: {nullable}\n"
    text = path.read_text().replace(declared, declared + "    nullable: true\n")
    path.write_text(text + "coerce: true\n")
    return path


def test_a_nullable_integer_column_with_gaps_validates_trains_and_compares(
    pr: PullRequest,
) -> None:
    """A count with gaps, declared as pandas' nullable ``Int64``; declared ``int64``, pandas
    reads it as floats and pandera refuses every gap, so validate fails and train refuses."""
    frame = pr.data
    visits = pd.array(np.random.default_rng(2).integers(0, 20, len(frame)), dtype="Int64")
    visits[::7] = pd.NA
    frame.insert(2, "visits", visits)
    path = _write_nullable(pr, frame, {"visits": "Int64"}, "Int64")
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    assert verdict["features"]["added"] == [{"name": "visits", "type": "double"}]
    assert verdict["comparison"]["status"] == "evaluable"
    train = json.loads(pr.output("train.json"))
    assert {"name": "visits", "dtype": "Int64"} in train["features"]
    path.write_text(path.read_text().replace("dtype: Int64", "dtype: int64"))
    assert cli(pr.root, "validate", NAME) == 1
    report = json.loads(pr.output("validation.json"))
    gaps = [f for f in report["failures"] if f["column"] == "visits"]
    assert {f["check"] for f in gaps} == {"coerce_dtype('int64')", "dtype('int64')"}
    assert all(f["failing_rows"] == (len(frame) + 6) // 7 for f in gaps), gaps
    assert cli(pr.root, "train", NAME) == 1


def _served(root: Path, model_uri: str) -> Any:
    """The logged model as MLflow serves it (pyfunc, the signature enforced)."""
    import mlflow

    tracking = (root / "mlgitops.yaml").read_text().split("tracking_uri:", 1)[1].strip()
    mlflow.set_tracking_uri(tracking)  # the module's fixture restores it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own notices are not under test
        return mlflow.pyfunc.load_model(model_uri)


@pytest.mark.parametrize("beside", [None, "a text column"])
def test_boolean_columns_with_and_without_gaps_train_as_booleans(
    pr: PullRequest, beside: str | None
) -> None:
    """numpy's ``bool`` and pandas' nullable ``boolean`` (with gaps): booleans in the
    model's signature, not text, and the served model takes ``true``, ``false`` and
    ``null``; beside a text column too (encoded inside the model, the booleans passing by)."""
    frame = pr.data
    rng = np.random.default_rng(3)
    flag = pd.array(rng.random(len(frame)) < 0.5, dtype="boolean")
    flag[::9] = pd.NA
    frame.insert(2, "flag", flag)
    frame.insert(3, "done", rng.random(len(frame)) < 0.3)
    declared = {"flag": "boolean", "done": "bool"}
    if beside:
        frame.insert(4, "site", rng.choice(["north", "south", "east"], len(frame)))
        declared["site"] = "str"
    _write_nullable(pr, frame, declared, "boolean")
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    added = {f["name"]: f["type"] for f in verdict["features"]["added"]}
    assert added == {"flag": "boolean", "done": "boolean"} | ({"site": "string"} if beside else {})
    assert verdict["comparison"]["status"] == "evaluable"
    train = json.loads(pr.output("train.json"))
    assert {"name": "flag", "dtype": "boolean"} in train["features"]
    model = _served(pr.root, train["model_uri"])
    rows = pd.DataFrame(
        {"f0": [0.1] * 3, "f1": [0.2] * 3, "flag": [True, False, None], "done": [True, False, True]}
        | ({"site": ["north", "east", "west"]} if beside else {})
        | {f: [0.0] * 3 for f in FEATURES[2:]}
    )
    assert len(model.predict(rows[[*rows.columns]])) == 3


def test_records_that_stop_before_their_empty_fields_judge_as_written_in_full(
    pr: PullRequest,
) -> None:
    """Some exporters end a record at its last value; pandas reads the rest as null."""
    frame = pr.data
    frame["note"] = np.where(np.arange(len(frame)) % 4 == 0, "checked", None)  # not a feature
    write_data(pr.root, frame, {c: ("int64" if c == "y" else "float64") for c in pr.data.columns})
    code, out = pr.run()
    assert code == 0, out
    full = pr.verdict()
    path = pr.root / "data" / "shapes.csv"
    text = path.read_text()
    short = text.replace(",\n", "\n")
    assert short.count("\n") == text.count("\n") and short != text
    path.write_text(short)
    code, out = pr.run()
    assert code == 0, out
    ended = pr.verdict()
    assert_same_judgement(full, ended)


def test_data_stored_gzip_compressed_judges_as_the_csv_inside(pr: PullRequest) -> None:
    """``data/shapes.csv.gz``, as pandas reads it: the verdict of the CSV inside."""
    import gzip

    plain = pr.root / "data" / "shapes.csv"
    text = plain.read_bytes()
    (pr.root / "data" / "shapes.csv.gz").write_bytes(gzip.compress(text, mtime=0))
    plain.unlink()
    pr.spec("path: data/shapes.csv", "path: data/shapes.csv.gz")
    code, out = pr.run()
    assert code == 0, out
    compressed = pr.verdict()
    assert json.loads(pr.output("validation.json"))["data"] == "data/shapes.csv.gz"
    plain.write_bytes(text)
    (pr.root / "data" / "shapes.csv.gz").unlink()
    pr.spec("path: data/shapes.csv.gz", "path: data/shapes.csv")
    code, out = pr.run()
    assert code == 0, out
    uncompressed = pr.verdict()
    assert_same_judgement(compressed, uncompressed)


def test_numbers_written_with_digit_grouping_judge_as_the_numbers_they_are(
    pr: PullRequest,
) -> None:
    """Some exports group digits (``12_345.5``). Python's ``float()``, and so pandera's
    ``float64``, reads them, where pandas and pyarrow read the column as text: the verdict
    and the training rows are those of the same numbers written plainly."""
    frame = pr.data
    frame["f6"] = (frame["f0"] * 10_000).round(3)  # a column the deployed model does not take
    key = "key: [f0, f1, f2, f3, f4, f5, y]"  # the rows keep their sides
    pr.spec("split: {test_size: 0.3, seed: 42}", f"split: {{test_size: 0.3, seed: 42, {key}}}")
    write_data(pr.root, frame)
    judged, _ = pr.run()
    plain = pr.verdict()
    grouped = frame.astype({"f6": object})
    grouped["f6"] = [f"{v:_}" for v in frame["f6"]]
    assert grouped["f6"].str.contains("_").sum() > len(frame) // 4
    write_data(pr.root, grouped)
    code, out = pr.run()
    assert code == judged, out
    written = pr.verdict()
    assert json.loads(pr.output("validation.json"))["passed"] is True
    assert {"name": "f6", "dtype": "float64"} in json.loads(pr.output("train.json"))["features"]
    assert_same_judgement(plain, written)


def test_a_bad_value_allowed_into_training_is_a_gap_in_a_number_feature(pr: PullRequest) -> None:
    """``train.allow_invalid_data: true``: a value that is not a number trains as a gap, as
    ``pandas.to_numeric(errors="coerce")`` would make it. The feature stays a number for the
    candidate, its signature and the comparison, rather than becoming text categories."""
    frame = pr.data.astype({"f0": object})
    frame.loc[[3, 700], "f0"] = "unknown"
    write_data(pr.root, frame)
    spec = pr.root / "pipelines" / "shapes.yaml"
    spec.write_text(spec.read_text() + "train:\n  allow_invalid_data: true\n")
    git(pr.root, "add", "-A")
    git(pr.root, "commit", "-q", "-m", "Change the data")
    assert cli(pr.root, "validate", NAME) == 1
    assert cli(pr.root, "train", NAME) == 0
    pr.capsys.readouterr()
    code = cli(pr.root, "compare", NAME)
    out = pr.capsys.readouterr().out
    assert code == 0, out
    train = json.loads(pr.output("train.json"))
    assert {"name": "f0", "dtype": "float64"} in train["features"]
    assert train["invalid_data"]
    verdict = pr.verdict()
    assert verdict["features"]["type_changed"] == []
    assert verdict["comparison"]["status"] == "evaluable"
    assert _max_drop(verdict)["status"] == "pass"


def test_reordered_columns_compare_normally_on_the_same_rows(pr: PullRequest) -> None:
    frame = pr.data
    write_data(pr.root, frame[["y", *reversed(FEATURES)]])
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    assert verdict["features"]["reordered"] is True
    holdout = verdict["holdout"]
    assert (holdout["excluded"], holdout["compared"]) == (0, holdout["rows"])
    assert _max_drop(verdict)["status"] == "pass"


def test_a_removed_column_makes_the_relative_gates_not_evaluable(pr: PullRequest) -> None:
    write_data(pr.root, pr.data.drop(columns=["f5"]))
    code, out = pr.run()
    assert code == 1
    verdict = pr.verdict()
    reason = "the deployed model needs column 'f5', which the candidate's holdout lacks"
    assert verdict["comparison"] == {"status": "not_evaluable", "reasons": [reason], "notes": []}
    assert verdict["features"]["removed"] == [{"name": "f5", "type": "double"}]
    gate = _max_drop(verdict)
    assert (gate["status"], gate["reason"]) == (
        "not_evaluable",
        f"max_drop cannot be evaluated: {reason}",
    )
    assert verdict["passed"] is False
    assert verdict["summary"].startswith("failed: 1 gate not evaluable (roc_auc max_drop)")
    assert f"relative gates not evaluable: {reason}" in out
    report = pr.output("report.md")
    assert "## ❌ mlgitops `shapes`: 1 of 2 gates not evaluable\n" in report
    assert "| removed | `f5` | `double` | - |" in report


def test_a_column_whose_type_changed_makes_the_relative_gates_not_evaluable(
    pr: PullRequest,
) -> None:
    frame = pr.data
    frame["f0"] = np.where(frame["f0"] > 0, "high", "low")
    dtypes = {c: "float64" for c in FEATURES} | {"f0": "str", "y": "int64"}
    write_data(pr.root, frame, dtypes)
    code, _ = pr.run()
    assert code == 1
    verdict = pr.verdict()
    assert verdict["features"]["type_changed"] == [
        {"name": "f0", "baseline": "double", "candidate": "string", "compatible": False}
    ]
    assert verdict["comparison"]["reasons"] == [
        "column 'f0' changed type from double (what the deployed model takes) to string, "
        "which cannot be given to it"
    ]
    assert _max_drop(verdict)["status"] == "not_evaluable" and verdict["passed"] is False


def test_a_feature_declared_float32_does_not_score_the_deployed_model_on_its_training_rows(
    pr: PullRequest,
) -> None:
    """The data unchanged, the schema declares ``f0`` as ``float32``: its values are no longer
    the 64-bit ones the deployed model's training rows were fingerprinted over, so none
    matched, and the deployed model was scored on rows it was trained on (an unfair drop,
    the comparison called evaluable). Not evaluable now, saying why."""
    write_data(pr.root, pr.data, {c: "float64" for c in FEATURES} | {"f0": "float32", "y": "int64"})
    code, _ = pr.run()
    assert code == 1
    verdict = pr.verdict()
    assert verdict["features"]["type_changed"] == [
        {"name": "f0", "baseline": "double", "candidate": "float", "compatible": True}
    ]
    assert verdict["comparison"]["reasons"] == [
        "rows the deployed model was trained on cannot be recognised: the candidate reads 'f0' "
        "as 32-bit floats, where its training rows were fingerprinted over their 64-bit values "
        "(declare float64 to compare)"
    ]
    assert _max_drop(verdict)["status"] == "not_evaluable" and verdict["passed"] is False


def test_the_report_shows_the_spec_error_validate_found_after_a_train_that_ran_anyway(
    pr: PullRequest,
) -> None:
    """validate refuses a slice on a column the data lacks (exit 2, before any data hash);
    a train run anyway hits the cache and compare refuses too. The report renders what
    validate said, where it refused, calling validation.json stale: "run validate again"."""
    pr.spec("compare:\n", "compare:\n  slices:\n    column: nope\n")
    git(pr.root, "commit", "-qam", "Slice on a column that is not there")
    assert cli(pr.root, "validate", NAME) == 2
    assert cli(pr.root, "train", NAME, "--compare") == 2
    pr.capsys.readouterr()
    assert cli(pr.root, "report", NAME) == 0
    report = pr.output("report.md")
    assert "## ❌ mlgitops `shapes`: data validation failed" in report
    assert "compare.slices.column 'nope' is not a column of data/shapes.csv" in report


def test_a_new_split_seed_keeps_the_deployed_model_off_its_training_rows(pr: PullRequest) -> None:
    pr.spec("seed: 42", "seed: 7")
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    holdout = verdict["holdout"]
    assert holdout["excluded"] > 0.5 * holdout["rows"]
    assert holdout["compared"] == holdout["rows"] - holdout["excluded"] >= 30
    assert holdout["excluded_reason"] == (
        "the deployed model was trained on them (matched by fingerprints over 7 columns)"
    )
    assert (
        f"compared on {holdout['compared']} of {holdout['rows']} holdout rows; "
        f"{holdout['excluded']} excluded: the deployed model was trained on them"
    ) in out
    assert _max_drop(verdict)["status"] == "pass"
    assert f"the deployed model is compared on {holdout['compared']} of them" in pr.output(
        "report.md"
    )


def test_appended_rows_move_no_existing_row_into_the_holdout(pr: PullRequest) -> None:
    more = pd.concat([pr.data, generated(1800).iloc[1500:]])  # 300 new rows of the same kind
    write_data(pr.root, more)
    code, out = pr.run()
    assert code == 0, out
    verdict = pr.verdict()
    holdout = verdict["holdout"]
    assert holdout["rows"] > 450 and (holdout["excluded"], holdout["compared"]) == (
        0,
        holdout["rows"],
    )
    assert _max_drop(verdict)["status"] == "pass"


def test_a_deployed_model_without_probabilities_fails_a_roc_auc_drop_gate(
    pr: PullRequest, deployed: Deployed
) -> None:
    """A much worse candidate must not pass because the baseline's roc_auc is unknown."""
    # Logged from a process of its own, so MLflow's in-process state stays as it was.
    logged = subprocess.run(
        [sys.executable, "-c", LOG_LABELS_ONLY, deployed.server.uri, deployed.model_uri],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    model_uri = logged.stdout.strip().splitlines()[-1]
    git(pr.root, "checkout", "-q", "main")
    deploy(pr.root, deployed.server, deployed.run_id, model_uri)
    git(pr.root, "checkout", "-q", "pr")
    git(pr.root, "rebase", "-q", "main")
    pr.spec(
        "sklearn.ensemble.RandomForestClassifier\n  params: {n_estimators: 40, random_state: 0}",
        "sklearn.tree.DecisionTreeClassifier\n  params: {max_depth: 1}",
    )
    code, out = pr.run("main")  # deployed on this clone's main only
    assert code == 1, out
    verdict = pr.verdict()
    roc = next(m for m in verdict["metrics"] if m["name"] == "roc_auc")
    assert roc["baseline"] is None and roc["candidate"] < 0.8
    gate = _max_drop(verdict)
    assert (gate["status"], gate["reason"]) == (
        "not_evaluable",
        "roc_auc cannot be computed for the deployed model (it gives no class probabilities), "
        "so max_drop cannot be evaluated",
    )
    assert verdict["counts"] == {
        "pass": 1,
        "fail": 0,
        "not_evaluable": 1,
        "allowed": 0,
        "not_applicable": 0,
    }
    assert "## ❌ mlgitops `shapes`: 1 of 2 gates not evaluable\n" in pr.output("report.md")


def test_a_candidate_without_probabilities_is_judged_on_the_metrics_of_labels(
    pr: PullRequest,
) -> None:
    """A classifier without ``predict_proba`` whose spec lists only metrics of labels trains,
    and is compared with the deployed forest (which gives probabilities) on them."""
    pr.spec(
        "sklearn.ensemble.RandomForestClassifier\n  params: {n_estimators: 40, random_state: 0}",
        "sklearn.svm.LinearSVC\n  params: {C: 0.5}",
    )
    pr.spec("metrics: [roc_auc, accuracy]", "metrics: [accuracy, f1]")
    pr.spec("  roc_auc: {max_drop: 0.05}\n", "  f1: {max_drop: 0.5}\n")
    code, out = pr.run()
    assert code == 0, out
    predictions = pd.read_parquet(pr.root / ".mlgitops" / NAME / "predictions.parquet")
    assert not [c for c in predictions.columns if c.startswith("proba_")]
    assert json.loads(pr.output("train.json"))["classes"] == [0, 1]
    verdict = pr.verdict()
    scored = {m["name"]: (m["baseline"], m["candidate"]) for m in verdict["metrics"]}
    assert sorted(scored) == ["accuracy", "f1"]
    assert all(0.5 < value < 1 for pair in scored.values() for value in pair), scored
    assert scored["accuracy"][0] != scored["accuracy"][1]  # two models, each scored
    assert verdict["counts"]["pass"] == 2 and verdict["holdout"]["excluded"] == 0
    assert f"## ✅ mlgitops `{NAME}`" in pr.output("report.md")


@pytest.mark.parametrize("change", ["added column", "removed column"])
def test_train_with_compare_judges_exactly_as_compare_does(pr: PullRequest, change: str) -> None:
    """The PR workflow's train step, ``train --compare``: one process, the same verdict."""
    frame = pr.data
    if change == "added column":
        frame.insert(2, "extra", np.round(np.random.default_rng(2).normal(size=len(frame)), 6))
    else:
        frame = frame.drop(columns=["f5"])
    write_data(pr.root, frame)
    code, out = pr.run("origin/main")
    separate = pr.output("verdict.json")
    (pr.root / ".mlgitops" / NAME / "verdict.json").unlink()
    fused = cli(pr.root, "train", NAME, "--compare", "--base", "origin/main")
    both = pr.capsys.readouterr().out
    assert (fused, code) == ((0, 0) if change == "added column" else (1, 1))
    assert pr.output("verdict.json") == separate
    assert both.startswith(f"train {NAME}: cache hit, reusing run ")
    assert out in both  # compare's own report, line for line


def test_train_with_compare_that_cannot_train_compares_nothing(pr: PullRequest) -> None:
    frame = pr.data
    frame.loc[3, "f1"] = None  # f1 is not nullable
    write_data(pr.root, frame)
    git(pr.root, "commit", "-qam", "A missing value")
    code = cli(pr.root, "train", NAME, "--compare")
    out, err = pr.capsys.readouterr()
    assert code == 1, out + err
    assert "data/shapes.csv:5: column 'f1': null values in a non-nullable column" in err
    assert "compare" not in out
    assert not (pr.root / ".mlgitops" / NAME / "verdict.json").exists()


def test_base_goes_with_compare(pr: PullRequest) -> None:
    code = cli(pr.root, "train", NAME, "--base", "origin/main")
    _, err = pr.capsys.readouterr()
    assert code == 2
    assert "--base goes with --compare" in err
    assert not (pr.root / ".mlgitops" / NAME).exists()


@on_gpu
def test_a_candidate_trained_on_the_gpu_is_judged_on_the_same_holdout(pr: PullRequest) -> None:
    """The pull request moves to XGBoost on the runner's GPU: the stages run as on the CPU,
    and the comment says what the fit had and used."""
    pr.spec(
        "  estimator: sklearn.ensemble.RandomForestClassifier\n"
        "  params: {n_estimators: 40, random_state: 0}\n",
        "  estimator: xgboost.XGBClassifier\n  params: {n_estimators: 200, max_depth: 4}\n",
    )
    pr.spec("compare:\n", "train:\n  gpu: true\ncompare:\n")
    code, out = pr.run()
    assert code == 0, out
    train = json.loads(pr.output("train.json"))
    assert train["device"] == "cuda"
    verdict = pr.verdict()
    assert verdict["comparison"]["status"] == "evaluable"
    assert verdict["holdout"]["compared"] == verdict["holdout"]["rows"] > 400
    assert _max_drop(verdict)["status"] in ("pass", "fail")
    name, driver, count = nvidia_smi()
    report = pr.output("report.md")
    assert f"{count}x GPU `{name}`, driver `{driver}`" in report
    assert "peak GPU memory " in report and "the fit ran on the CPU" not in report


def test_absolute_gates_on_a_holdout_of_a_few_rows_are_not_evaluable(pr: PullRequest) -> None:
    """A pull request that cuts the data to a few rows leaves a holdout on which any score is
    possible (4 rows can show roc_auc 1.0): its floors are not evaluable there, as the
    relative gates are, and the verdict fails."""
    write_data(pr.root, pr.data.head(16))
    code, out = pr.run()
    assert code == 1, out
    verdict = pr.verdict()
    floor = [g for g in verdict["gates"] if g["condition"] == "min"]
    assert floor and all(g["status"] == "not_evaluable" for g in floor), floor
    rows = verdict["holdout"]["rows"]
    assert rows < 30
    assert floor[0]["reason"] == (
        f"min cannot be evaluated: the candidate's holdout has only {rows} rows, fewer than "
        "compare.min_rows (30)"
    )
    assert verdict["passed"] is False


def test_data_stored_as_32_bit_floats_judges_as_the_decimals_they_hold(pr: PullRequest) -> None:
    """The data as Parquet of float32, read as float64 (the schema coerces): 1.234567 is
    1.2345670461654663 there, so no row was recognised as one the deployed model trained on,
    and it was scored on its training rows as if unseen (the candidate failed its max_drop
    against an in-sample score). Rows are recognised by the decimals a float32 holds."""
    plain = pr.root / "data" / "shapes.csv"
    frame = pr.data
    narrow = frame.astype({c: "float32" for c in FEATURES})
    narrow.to_parquet(pr.root / "data" / "shapes.parquet", index=False)
    plain.unlink()
    schema = pr.root / "schemas" / "shapes.yaml"
    schema.write_text(schema.read_text() + "coerce: true\n")
    pr.spec("path: data/shapes.csv", "path: data/shapes.parquet")
    code, out = pr.run()
    assert code == 0, out
    stored = pr.verdict()
    assert not any("as they were" in note for note in stored["comparison"]["notes"]), stored
    frame.to_csv(plain, index=False)
    (pr.root / "data" / "shapes.parquet").unlink()
    pr.spec("path: data/shapes.parquet", "path: data/shapes.csv")
    code, out = pr.run()
    assert code == 0, out
    written = pr.verdict()
    assert stored["holdout"]["compared"] == written["holdout"]["compared"]
    assert stored["holdout"]["excluded"] == written["holdout"]["excluded"]
