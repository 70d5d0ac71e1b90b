"""What the deployed model is given and which rows it is compared on, as pure functions."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlgitops.evaluation.apart import Outputs
from mlgitops.evaluation.assess import (
    NO_SIGNATURE,
    BaselineScores,
    DeployedModel,
    Recorded,
    against_deployed,
    features_of,
)
from mlgitops.evaluation.inputs import (
    FeatureDiff,
    InputColumn,
    NotEvaluable,
    TypeChange,
    baseline_inputs,
    column_types,
    feature_diff,
    signature_of,
)
from mlgitops.evaluation.metrics import Holdout
from mlgitops.evaluation.pairing import (
    NO_TRAINING_ROWS,
    UNCHECKED_ROWS,
    TrainingRows,
    over_columns_of,
    paired_rows,
    unseen_rows,
)
from mlgitops.evaluation.recognition import recognised
from mlgitops.features import row_fingerprints
from mlgitops.spec.model import Compare, Data, Model, Pipeline

SIGNATURE = (
    InputColumn("age", "long"),
    InputColumn("income", "double"),
    InputColumn("zip", "string"),
)


def _frame(rows: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "zip": [f"0{2100 + i % 40}" for i in range(rows)],
            "income": rng.normal(50, 10, rows).round(3),
            "age": np.arange(rows, dtype=np.int64) % 70 + 18,
            "y": np.arange(rows) % 2,
        }
    )


def test_the_feature_diff_names_added_removed_retyped_and_reordered_columns() -> None:
    candidate = (
        InputColumn("zip", "long"),
        InputColumn("age", "double"),
        InputColumn("tenure", "double"),
    )
    diff = feature_diff(SIGNATURE, candidate)
    assert diff.added == (InputColumn("tenure", "double"),)
    assert diff.removed == (InputColumn("income", "double"),)
    assert diff.type_changed == (
        TypeChange("age", "long", "double", compatible=False),
        TypeChange("zip", "string", "long", compatible=False),
    )
    assert diff.reordered is True and diff.changed
    same = feature_diff(SIGNATURE, SIGNATURE)
    assert not same.changed


def test_the_deployed_model_gets_its_own_columns_in_its_order_and_types() -> None:
    frame = _frame().assign(extra=1.5)
    given = baseline_inputs(frame, SIGNATURE)
    assert list(given.columns) == ["age", "income", "zip"]
    assert given["zip"].iloc[0] == "02100"
    widened = baseline_inputs(frame, (InputColumn("age", "double"),))
    assert widened["age"].dtype == np.float64


def test_a_missing_or_retyped_column_is_not_evaluable_and_named() -> None:
    with pytest.raises(NotEvaluable) as missing:
        baseline_inputs(_frame().drop(columns=["income"]), SIGNATURE)
    assert str(missing.value) == (
        "the deployed model needs column 'income', which the candidate's holdout lacks"
    )
    texts = _frame().assign(income=lambda f: f["income"].astype(str))
    with pytest.raises(NotEvaluable) as retyped:
        baseline_inputs(texts, SIGNATURE)
    assert str(retyped.value) == (
        "column 'income' changed type from double (what the deployed model takes) to string, "
        "which cannot be given to it"
    )


def test_the_signature_is_read_from_an_mlflow_model_signature() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's import-time notices are not under test
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema, TensorSpec

    signature = ModelSignature(Schema([ColSpec(c.type, c.name) for c in SIGNATURE]))

    class Info:
        pass

    info = Info()
    info.signature = signature  # type: ignore[attr-defined]
    assert signature_of(info) == SIGNATURE
    info.signature = None  # type: ignore[attr-defined]
    assert signature_of(info) is None
    tensors = ModelSignature(Schema([TensorSpec(np.dtype("float64"), (-1, 3))]))
    info.signature = tensors  # type: ignore[attr-defined]
    assert signature_of(info) is None


def _training(frame: pd.DataFrame, rows: slice) -> TrainingRows:
    columns = ("age", "income", "zip", "y")
    return TrainingRows(row_fingerprints(frame.iloc[rows], columns), columns)


def test_rows_the_deployed_model_trained_on_are_left_out() -> None:
    frame = _frame()
    training = _training(frame, slice(0, 60))
    # the holdout as another read of the data gives it: other column order, ints as floats
    holdout = frame.iloc[40:][["y", "zip", "age", "income"]].astype({"age": "float64"})
    kept, excluded, relabelled = unseen_rows(
        holdout.reset_index(drop=True), training, row_fingerprints
    )
    assert (excluded, relabelled) == (20, 0)
    assert kept.tolist() == list(range(20, 60))


@pytest.mark.parametrize("stored", ["float32", "float64"])
def test_rows_recorded_with_float32_fractions_as_written_are_still_left_out(stored: str) -> None:
    """A deployed model whose run recorded its rows' fingerprints over float32 fractions as
    float64 holds them (``50.12300109863281``), before they were read as the decimals they
    are (``50.123``): its training rows are still left out, and still recognised."""
    frame = _frame().astype({"income": "float32"}).astype({"income": stored})
    columns = ("age", "income", "zip", "y")
    features = columns[:3]
    before = TrainingRows(
        row_fingerprints(frame.iloc[0:60], columns, decimals=False),
        columns,
        row_fingerprints(frame.iloc[0:60], features, decimals=False),
        features,
    )
    # (a fraction of few binary digits, 47.125, is the same both ways)
    assert (row_fingerprints(frame.iloc[0:60], columns) != before.fingerprints).sum() > 50
    holdout = frame.iloc[40:].reset_index(drop=True)
    kept, excluded, relabelled = unseen_rows(holdout, before, row_fingerprints)
    assert (excluded, relabelled, kept.tolist()) == (20, 0, list(range(20, 60)))
    # the holdout holds 20 of them (the candidate's rows, recorded now, hold none)
    candidate = _with_inputs(frame, slice(60, 100))
    found = recognised(holdout, before, candidate, row_fingerprints)
    assert found is not None and (found.whole, found.total) == (20, 60)


def _with_inputs(frame: pd.DataFrame, rows: slice) -> TrainingRows:
    features = ("age", "income", "zip")
    full = _training(frame, rows)
    return replace(
        full, inputs=row_fingerprints(frame.iloc[rows], features), input_columns=features
    )


def test_inputs_the_deployed_model_trained_on_with_another_target_are_left_out() -> None:
    """A corrected label gives a row another fingerprint: its inputs still tell it apart,
    unless the candidate was trained on the same inputs too."""
    before = _frame()
    deployed = _with_inputs(before, slice(0, 60))
    after = before.copy()
    after.loc[::5, "y"] = 1 - after.loc[::5, "y"]  # rows 0, 5, …, 95 relabelled
    holdout = after.iloc[40:].reset_index(drop=True)  # 40..59 trained on, 4 of them relabelled
    candidate = _with_inputs(after, slice(0, 40))
    kept, excluded, relabelled = unseen_rows(holdout, deployed, row_fingerprints, candidate)
    assert (excluded, relabelled) == (16, 4)
    assert kept.tolist() == list(range(20, 60))
    # without the candidate's training rows, or the deployed model's inputs: as they are only
    assert unseen_rows(holdout, deployed, row_fingerprints)[1:] == (16, 0)
    assert unseen_rows(holdout, _training(before, slice(0, 60)), row_fingerprints, candidate)[
        1:
    ] == (16, 0)
    # inputs the candidate was trained on as well (repeated with another target) stay paired
    both = replace(
        candidate,
        inputs=np.concatenate([candidate.inputs, deployed.inputs]),
    )
    assert unseen_rows(holdout, deployed, row_fingerprints, both)[1:] == (16, 0)
    _, comparison = paired_rows(
        holdout,
        deployed,
        required=True,
        min_rows=30,
        features=None,
        fingerprint=row_fingerprints,
        candidate=candidate,
    )
    assert (comparison.compared_rows, comparison.excluded_rows) == (40, 20)
    assert comparison.excluded_reason == (
        "the deployed model was trained on them (matched by fingerprints over 4 columns; "
        "4 of them by their 3 feature columns alone: it was trained on these inputs with "
        "another target, which the candidate was not)"
    )


@pytest.mark.parametrize(("held", "noted"), [(30, False), (29, True)])
def test_where_most_of_the_deployed_model_s_training_rows_changed_the_verdict_says_so(
    held: int, noted: bool
) -> None:
    """The deployed model trained on rows 0..59; the candidate's data holds rows 0..99 with
    every value of all but ``held`` of those rows changed: where fewer than half are there
    as they were, a changed row cannot be told from a new one, and the comparison says so
    (it may favour either model: it stands)."""
    before = _frame()
    deployed = _with_inputs(before, slice(0, 60))
    after = before.copy()
    after.loc[held:59, "income"] += 0.5  # its inputs too: neither fingerprint matches
    holdout = after.iloc[60:].reset_index(drop=True)
    candidate = _with_inputs(after, slice(0, 60))
    found = recognised(holdout, deployed, candidate, row_fingerprints)
    assert found is not None and (found.whole, found.retargeted_rows, found.total) == (held, 0, 60)
    settings = {"min_rows": 30, "features": None, "fingerprint": row_fingerprints}
    for required in (True, False):
        _, comparison = paired_rows(
            holdout, deployed, required=required, candidate=candidate, **settings
        )
        assert comparison.evaluable, comparison
        said = [n for n in comparison.notes if "as they were" in n]
        assert bool(said) is noted, comparison.notes
    # fingerprinted over other columns, the candidate's rows cannot tell
    other = replace(candidate, columns=("age", "income", "y"))
    assert recognised(holdout, deployed, other, row_fingerprints) is None


@pytest.mark.parametrize(("relabelled", "refused"), [(30, False), (31, True)])
def test_a_target_changed_in_most_of_the_deployed_model_s_training_rows_is_refused(
    relabelled: int, refused: bool
) -> None:
    """Rows 0..59 trained the deployed model; the candidate's data holds them all, the first
    ``relabelled`` with the other label: past half, the target changed, and the deployed
    model would be scored on what it was never trained to predict (``against_deployed``
    refuses the comparison for it: tests/compare/test_stages_values.py)."""
    before = _frame()
    deployed = _with_inputs(before, slice(0, 60))
    after = before.copy()
    after.loc[: relabelled - 1, "y"] = 1 - after.loc[: relabelled - 1, "y"]
    holdout = after.iloc[60:].reset_index(drop=True)
    candidate = _with_inputs(after, slice(0, 60))
    found = recognised(holdout, deployed, candidate, row_fingerprints)
    assert found is not None and (found.whole, found.retargeted_rows) == (
        60 - relabelled,
        relabelled,
    )
    settings = {"min_rows": 30, "features": None, "fingerprint": row_fingerprints}
    _, comparison = paired_rows(holdout, deployed, required=True, candidate=candidate, **settings)
    # refused once the deployed model's outputs are known to be in the holdout's classes
    assert (comparison.retargeted is not None) is refused, comparison
    if refused:
        assert str(comparison.retargeted).startswith("the target changed in 31 of the 60 rows ")


@pytest.mark.parametrize("columns", ["the same", "in another order", "one added"])
def test_a_target_changed_is_refused_whatever_columns_the_candidate_s_rows_were_recorded_over(
    columns: str,
) -> None:
    """Every label swapped. The candidate's training rows are recorded over its own columns:
    in another order they match the deployed model's as they are; with a column added they
    cannot, and are read again and fingerprinted over the deployed model's columns. The
    holdout alone holds none of the rows the deployed model trained on."""
    before = _frame()
    deployed = _with_inputs(before, slice(0, 60))
    after = before.copy()
    after["y"] = 1 - after["y"]
    features: tuple[str, ...] = ("age", "income", "zip")
    if columns == "in another order":
        features = ("zip", "income", "age")
    elif columns == "one added":
        after["extra"] = after["age"] * 2
        features = ("zip", "extra", "income", "age")
    own = TrainingRows(
        row_fingerprints(after.iloc[:60], (*features, "y")),
        (*features, "y"),
        row_fingerprints(after.iloc[:60], features),
        features,
    )
    holdout = after.iloc[60:].reset_index(drop=True)
    read: list[int] = []

    def training_frame() -> pd.DataFrame:
        read.append(1)
        return after.iloc[:60]

    candidate = over_columns_of(own, deployed, holdout, training_frame, row_fingerprints)
    assert len(read) == (columns == "one added")
    settings = {"min_rows": 30, "features": None, "fingerprint": row_fingerprints}
    _, comparison = paired_rows(holdout, deployed, required=True, candidate=candidate, **settings)
    assert str(comparison.retargeted).startswith("the target changed in 60 of the 60 rows ")
    # a column of the deployed model's the data lacks: nothing read (refused for it)
    without = over_columns_of(
        own, deployed, holdout.drop(columns="zip"), training_frame, row_fingerprints
    )
    assert without is own and len(read) == (columns == "one added")


def test_the_comparison_states_rows_compared_and_excluded_and_enforces_the_minimum() -> None:
    frame = _frame()
    rows, comparison = paired_rows(
        frame,
        _training(frame, slice(0, 60)),
        required=True,
        min_rows=30,
        features=None,
        fingerprint=row_fingerprints,
    )
    assert len(rows) == 40 and comparison.evaluable
    assert (comparison.compared_rows, comparison.excluded_rows) == (40, 60)
    assert comparison.excluded_reason == (
        "the deployed model was trained on them (matched by fingerprints over 4 columns)"
    )
    _, few = paired_rows(
        frame,
        _training(frame, slice(0, 80)),
        required=True,
        min_rows=30,
        features=None,
        fingerprint=row_fingerprints,
    )
    assert (few.status, few.reasons) == (
        "not_evaluable",
        (
            "only 20 holdout rows are left to compare the models on, fewer than "
            "compare.min_rows (30)",
        ),
    )


def test_a_baseline_without_recorded_training_rows_is_not_evaluable_unless_allowed() -> None:
    frame = _frame()
    _, refused = paired_rows(
        frame, None, required=True, min_rows=30, features=None, fingerprint=row_fingerprints
    )
    assert (refused.status, refused.reasons, refused.compared_rows) == (
        "not_evaluable",
        (NO_TRAINING_ROWS,),
        0,
    )
    rows, allowed = paired_rows(
        frame, None, required=False, min_rows=30, features=None, fingerprint=row_fingerprints
    )
    assert allowed.evaluable and len(rows) == 100 and allowed.notes == (UNCHECKED_ROWS,)


def test_training_rows_over_a_column_the_holdout_lacks_cannot_be_recognised() -> None:
    frame = _frame()
    _, comparison = paired_rows(
        frame.drop(columns=["zip"]),
        _training(frame, slice(0, 60)),
        required=True,
        min_rows=30,
        features=None,
        fingerprint=row_fingerprints,
    )
    assert comparison.reasons == (
        "rows the deployed model was trained on cannot be recognised: the candidate's holdout "
        "lacks column 'zip', one of the columns its training rows were fingerprinted over",
    )


def _retyped(name: str, baseline: str, candidate: str) -> FeatureDiff:
    change = TypeChange(name, baseline, candidate, compatible=True)
    return FeatureDiff(SIGNATURE, (), (), (change,), reordered=False)


def test_floats_read_narrower_than_the_deployed_model_s_training_rows_cannot_be_recognised() -> (
    None
):
    """A pull request that declares a feature ``float32`` holds other values than the 64-bit
    ones the deployed model's training rows were fingerprinted over: none would match, and
    it would be scored on rows it was trained on. Not evaluable, saying why."""
    frame = _frame()
    narrowed = frame.astype({"income": "float32"})
    _, comparison = paired_rows(
        narrowed,
        _training(frame, slice(0, 60)),
        required=True,
        min_rows=30,
        features=_retyped("income", "double", "float"),
        fingerprint=row_fingerprints,
    )
    assert (comparison.status, comparison.compared_rows) == ("not_evaluable", 0)
    assert comparison.reasons == (
        "rows the deployed model was trained on cannot be recognised: the candidate reads "
        "'income' as 32-bit floats, where its training rows were fingerprinted over their "
        "64-bit values (declare float64 to compare)",
    )


def test_floats_read_wider_than_the_deployed_model_s_training_rows_match_them() -> None:
    """The deployed model trained on ``float32`` values; the pull request declares
    ``float64``: its rows are matched at the precision the deployed model read them in."""
    frame = _frame()
    narrow = frame.astype({"income": "float32"})
    kept, comparison = paired_rows(
        frame.iloc[40:].reset_index(drop=True),
        _training(narrow, slice(0, 60)),
        required=True,
        min_rows=30,
        features=_retyped("income", "float", "double"),
        fingerprint=row_fingerprints,
    )
    assert comparison.status == "evaluable"
    assert (comparison.excluded_rows, comparison.compared_rows) == (20, 40)
    assert kept.tolist() == list(range(20, 60))


def test_column_types_are_the_ones_train_writes_into_signatures() -> None:
    assert column_types(_frame(), ["age", "income", "zip"]) == SIGNATURE


def _fitted(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[["age", "income"]], frame["y"])


def _scores(frame: pd.DataFrame, deployed: DeployedModel) -> BaselineScores:
    pipeline = Pipeline(
        "churn",
        "pipelines/churn.yaml",
        Data("data/churn.csv", "y"),
        Model("sklearn.linear_model.LogisticRegression"),
        "classification",
        ("accuracy",),
        compare=Compare(require_training_rows=False),
    )
    holdout = Holdout("classification", frame["y"].to_numpy(), (0, 1))
    features = features_of(frame, ["income", "age", "zip"])
    return against_deployed(pipeline, frame, holdout, features, deployed)


def test_a_class_the_holdout_lacks_is_not_evaluable_whether_the_model_is_loaded_or_recorded() -> (
    None
):
    """A deployed model trained on three classes, a holdout that holds two: compare loads
    the model and scores it; deploy scores the outputs a process running it recorded. Both
    make the comparison not evaluable, with the same reason: the classes changed (deploy
    stopped with exit 2, bad input, on a merge compare had passed)."""
    frame = _frame()
    three = frame.assign(y=np.arange(len(frame)) % 3)
    model = LogisticRegression().fit(three[["age", "income"]], three["y"])
    signature = (InputColumn("age", "long"), InputColumn("income", "double"))
    loaded = _scores(frame, DeployedModel(model, signature, None))
    given = frame[["age", "income"]]
    outputs = Outputs(model.predict(given), model.predict_proba(given), [0, 1, 2])
    recorded = _scores(frame, DeployedModel(Recorded(outputs, None, None), signature, None))
    assert 2 in outputs.values
    for scores in (loaded, recorded):
        assert not scores.comparison.evaluable and scores.predictions is None
        assert scores.comparison.reasons == (
            "the deployed model could not score the holdout: the baseline model predicts "
            "class 2, which the holdout's target does not have (its classes: 0, 1): the "
            "classes changed since it was trained",
        )


def test_the_deployed_model_is_scored_on_its_own_columns_whatever_the_candidate_has() -> None:
    frame = _frame()
    model = _fitted(frame)
    signature = (InputColumn("age", "long"), InputColumn("income", "double"))
    scores = _scores(frame[["y", "zip", "income", "age"]], DeployedModel(model, signature, None))
    assert scores.comparison.evaluable and scores.predictions is not None
    expected = model.predict(frame[["age", "income"]])
    assert scores.predictions.labels.tolist() == expected.tolist()
    diff = scores.comparison.features
    assert diff is not None and diff.added == (InputColumn("zip", "string"),) and diff.reordered
    # without a signature, a scikit-learn model still names the columns it was fitted on
    unsigned = _scores(frame, DeployedModel(model, None, None))
    assert unsigned.comparison.evaluable


def test_a_model_without_known_inputs_or_that_fails_on_them_is_not_evaluable() -> None:
    frame = _frame()

    class Opaque:
        def predict(self, x: pd.DataFrame) -> Any:
            raise ValueError("expected 3 features, got 2\nmore detail")

    unknown = _scores(frame, DeployedModel(Opaque(), None, None))
    assert unknown.comparison.reasons == (NO_SIGNATURE,)
    signature = (InputColumn("age", "long"), InputColumn("income", "double"))
    failing = _scores(frame, DeployedModel(Opaque(), signature, None))
    assert failing.predictions is None
    assert failing.comparison.reasons == (
        "the deployed model could not score the holdout: expected 3 features, got 2",
    )
    # no row was compared (the verdict's holdout.compared says so, as for a missing column)
    assert (failing.comparison.compared_rows, unknown.comparison.compared_rows) == (0, 0)


def test_whole_numbers_read_as_floats_are_given_to_a_model_that_takes_integers() -> None:
    """A pull request that declares an integer feature ``float64`` (its values still whole)
    left the comparison not evaluable: the deployed model was refused the very values it
    takes. They are given to it as integers, and the diff calls the change compatible."""
    frame = _frame()
    model = _fitted(frame)
    signature = (InputColumn("age", "long"), InputColumn("income", "double"))
    floats = frame.assign(age=frame["age"].astype("float64"))
    scores = _scores(floats, DeployedModel(model, signature, None))
    assert scores.comparison.evaluable and scores.predictions is not None
    assert scores.predictions.labels.tolist() == model.predict(frame[["age", "income"]]).tolist()
    diff = scores.comparison.features
    assert diff is not None
    assert diff.type_changed == (TypeChange("age", "long", "double", compatible=True),)
    given = baseline_inputs(floats, signature)
    assert given["age"].dtype == np.int64 and given["age"].tolist() == frame["age"].tolist()


@pytest.mark.parametrize(
    ("change", "why"),
    [(0.5, "a fraction"), (np.nan, "a gap"), (np.inf, "an infinite value"), (2.0**63, "too large")],
)
def test_floats_that_are_not_all_whole_numbers_are_not_given_to_a_model_that_takes_integers(
    change: float, why: str
) -> None:
    frame = _frame()
    floats = frame.assign(age=frame["age"].astype("float64"))
    floats.loc[3, "age"] = floats.loc[3, "age"] + change if np.isfinite(change) else change
    signature = (InputColumn("age", "long"), InputColumn("income", "double"))
    scores = _scores(floats, DeployedModel(_fitted(frame), signature, None))
    assert not scores.comparison.evaluable, why
    assert scores.comparison.reasons == (
        "column 'age' changed type from long (what the deployed model takes) to double, "
        "which cannot be given to it: not every value is a whole number it holds",
    )
    assert scores.comparison.features is not None
    assert scores.comparison.features.type_changed[0].compatible is False


def test_training_rows_read_from_a_url_are_not_fetched_again_to_match_columns(
    tmp_path: Path,
) -> None:
    """compare does not fetch URL data again (nothing tells it is the data trained on): the
    candidate's rows stay as recorded, unmatched over another model's columns."""
    from mlgitops.commands.compare import _training_rows

    before = _frame()
    deployed = _with_inputs(before, slice(0, 60))
    own = _with_inputs(before.assign(extra=1), slice(0, 60))
    own = replace(own, columns=(*own.columns, "extra"))
    pipeline = Pipeline(
        "churn",
        "pipelines/churn.yaml",
        Data("https://127.0.0.1:9/churn.csv", "y"),  # nothing listens: a fetch would fail
        Model("sklearn.linear_model.LogisticRegression"),
        "classification",
        ("accuracy",),
    )
    frame = before.iloc[60:].reset_index(drop=True)
    found = over_columns_of(
        own, deployed, frame, lambda: _training_rows(tmp_path, pipeline), row_fingerprints
    )
    assert found is own


def test_one_row_left_to_compare_is_counted_in_the_singular() -> None:
    frame = _frame()
    _, few = paired_rows(
        frame,
        _training(frame, slice(0, 99)),
        required=True,
        min_rows=30,
        features=None,
        fingerprint=row_fingerprints,
    )
    assert few.reasons == (
        "only 1 holdout row is left to compare the models on, fewer than compare.min_rows (30)",
    )


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("radius", "radius"),
        ("concave_points", "concave_points"),
        ("y", '"y"'),
        ("No", '"No"'),
        ("null", '"null"'),
        ("1st", '"1st"'),
        ("a, b", '"a, b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("größe", '"gr\\u00f6\\u00dfe"'),
    ],
)
def test_a_key_column_is_named_as_yaml_reads_it_back(name: str, written: str) -> None:
    """The split-key note names columns as an item of a YAML flow sequence the spec can
    take as written: every name reads back, by YAML 1.1 and 1.2, as itself."""
    import yaml

    from mlgitops.evaluation.splitkey import _flow_scalar

    assert _flow_scalar(name) == written
    assert yaml.safe_load(f"key: [{written}, other]")["key"] == [name, "other"]


def test_the_key_is_named_only_where_the_base_split_its_rows_by_the_default_key() -> None:
    """The deployed model's columns are its split's key only where the base branch's spec
    keyed it by default: a base keyed otherwise, split by a test file, or with no spec
    mlgitops reads names no key. Removed columns are said as added ones are."""
    from mlgitops.evaluation.pairing import EVALUABLE, Comparison
    from mlgitops.evaluation.splitkey import with_key_note
    from mlgitops.spec.loader import parse_pipeline
    from tests.compare.test_stages import SPEC

    pipeline = parse_pipeline("pipelines/shapes.yaml", SPEC)
    keyed = parse_pipeline(
        "pipelines/shapes.yaml", SPEC.replace("seed: 42}", "seed: 42, key: [f0]}")
    )
    tested = parse_pipeline(
        "pipelines/shapes.yaml",
        SPEC.replace("split: {test_size: 0.3, seed: 42}", "test_path: data/test.csv"),
    )
    comparison = Comparison(EVALUABLE, 100, compared_rows=40, excluded_rows=60)
    deployed = TrainingRows(np.zeros(0, dtype=np.uint64), ("f0", "f1", "y"))
    candidate = ("f0", "x1", "x2", "y")

    [note] = with_key_note(pipeline, comparison, deployed, candidate, lambda: pipeline).notes
    assert "and x1, x2 were added and f1 was removed since the deployed model" in note
    assert 'with data.split.key: [f0, f1, "y"], the deployed model\'s columns' in note
    for base in (keyed, tested, None):
        unchanged = with_key_note(pipeline, comparison, deployed, candidate, lambda b=base: b)
        assert unchanged == comparison
    same = ("f1", "f0", "y")  # the same columns in another order: the same keys
    assert with_key_note(pipeline, comparison, deployed, same, lambda: pipeline) == comparison
