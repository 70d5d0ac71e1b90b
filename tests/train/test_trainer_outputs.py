"""A custom trainer's outputs that break the contract: each is refused by name (exit 2), never
a crash, a wrong metric or mlgitops' own records overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlgitops.training.command_trainer import _name_problem
from tests.train.helpers import cli
from tests.train.test_trainers import _repo

pytestmark = pytest.mark.slow
TRAINER = Path(__file__).with_name("trainers") / "odd_outputs.py"
COMMAND = "custom trainer `python src/train.py {mode}`"

CASES = [
    ("classification", "proba_unknown", "predictions column proba_2 names no class of 'expensive' (its classes: 0, 1)"),
    ("classification", "no_proba", "a classifier's predictions need its probabilities, a column proba_<class> per class (classes of 'expensive': 0, 1; for two classes the positive one's alone is enough)"),
    ("classification", "negative_proba", "proba_0 of data row {row} is -0.25, not a probability (a number that is not negative)"),
    ("classification", "zero_proba", "proba_0, proba_1 of data row {row} are all 0: no probabilities, which no scaling makes sum to 1 (every score of them would be made up)"),
    ("classification", "text_labels", "class '{label}' (data row {row}) is not one of the model's classes (0, 1): '{label}' is str where the class is int ({label})"),
    ("classification", "duplicate_row", "got {rows} rows: 1 holdout row(s) missing; __row__ {row} more than once"),
    ("classification", "metrics_text", '$MLGITOPS_OUTPUT/metrics.json: \'x\' is "abc"; a metric is a finite number (leave out one that is undefined)'),
    ("classification", "metrics_nan", "$MLGITOPS_OUTPUT/metrics.json: 'x' is NaN; a metric is a finite number"),
    ("classification", "metrics_own", "$MLGITOPS_OUTPUT/metrics.json: 'mlgitops.fit_seconds' cannot be logged: mlgitops logs that name itself"),
    ("classification", "metrics_spec", "$MLGITOPS_OUTPUT/metrics.json: 'accuracy' cannot be logged: mlgitops logs that name itself"),
    ("classification", "metrics_bad_name", "$MLGITOPS_OUTPUT/metrics.json: 'a/b c!' cannot be logged: names hold only letters, digits, underscores, dashes, periods, colons, spaces and slashes"),
    ("classification", "params_own", "$MLGITOPS_OUTPUT/params.json: 'trainer' cannot be logged: mlgitops logs that name itself"),
    ("classification", "params_nested", "$MLGITOPS_OUTPUT/params.json: 'y' is [1, 2]; a param is a string, a number or a boolean"),
    ("regression", "text_predictions", "y_pred of data row {row} is 'abc', not a number"),
    ("regression", "mlmodel_list", "MLmodel is not a YAML mapping"),
    ("regression", "signature_not_text", "the model has no input signature"),
]  # fmt: skip


@pytest.mark.parametrize(("task", "mode", "message"), CASES, ids=[c[1] for c in CASES])
def test_a_trainer_output_that_breaks_the_contract_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str, mode: str, message: str
) -> None:
    root = _trainer_repo(tmp_path, task, mode)
    assert cli(root, "train", "rides") == 2
    err = capsys.readouterr().err
    row, rows, label = _first_holdout_row(root)
    expected = message.format(row=row, rows=rows, label=label)
    *_, last = err.strip().splitlines()
    assert last.startswith("mlgitops train: error: "), err
    assert expected in last, err
    assert "Traceback" not in err
    assert not (root / ".mlgitops" / "rides" / "train.json").exists()


def test_the_positive_class_alone_is_enough_for_two_classes(tmp_path: Path) -> None:
    root = _trainer_repo(tmp_path, "classification", "positive_only")
    assert cli(root, "train", "rides") == 0
    assert (root / ".mlgitops" / "rides" / "train.json").is_file()


def _trainer_repo(tmp_path: Path, task: str, mode: str) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    shutil.copy(TRAINER, root / "src" / "train.py")
    target = "fare" if task == "regression" else "expensive"
    return _repo(root, "rides", f"  command: python src/train.py {mode}\n", task, target)


def _first_holdout_row(root: Path) -> tuple[int, int, str]:
    """The holdout's first record number, its number of rows (the trainer's
    $MLGITOPS_HOLDOUT) and the label the trainer predicts for that row."""
    from mlgitops.spec import load_repo
    from mlgitops.training.data import load_split

    split = load_split(root, load_repo(root).pipeline("rides"), root)
    first = split.holdout.iloc[0]
    label = str(int(first["distance"] > split.train["distance"].median()))
    return int(first["__row__"]), len(split.holdout), label


def test_param_and_metric_names_are_judged_as_mlflow_judges_them() -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_metric_name

    names = [
        "loss", "val/loss", "a b", "a:b", "a-b.c_d", "é", "x" * 250, "x" * 251, "", "a/b c!",
        "a\\b", "a//b", "a/./b", "./a", "../a", "/a", "a/", ".", "..", "a\nb", "tab\t", "ü/ß",
    ]  # fmt: skip
    for name in names:
        try:
            _validate_metric_name(name)
            mlflows = len(name) <= 250  # MLflow's store refuses longer names
        except MlflowException:
            mlflows = False
        assert (_name_problem(name) is None) == mlflows, name
