"""Every spec setting a verdict depends on is one a pull request that changes it must name
in its verdict (:mod:`mlgitops.evaluation.gatediff`)."""

from __future__ import annotations

from mlgitops.evaluation.gatediff import changes
from mlgitops.record import replace
from mlgitops.spec import load_repo
from mlgitops.spec.model import Slices
from tests.conftest import PROJECT


def test_slices_judged_on_another_column_or_fewer_of_them_are_named() -> None:
    """Raising ``slices.min_rows`` leaves the small slices unjudged, and another column
    judges other slices: both loosen what ``max_gap`` holds the candidate to."""
    base = load_repo(PROJECT).pipeline("tumors")
    sliced = Slices(column="mean radius", max_gap={"roc_auc": 0.05}, min_rows=30)
    base = replace(base, compare=replace(base.compare, slices=sliced))
    wider = replace(sliced, column="mean texture", min_rows=500)
    head = replace(base, compare=replace(base.compare, slices=wider))
    assert changes(base, head) == [
        "compare.slices.column mean radius -> mean texture",
        "compare.slices.min_rows 30 -> 500",
    ]


def test_comparing_with_a_model_whose_training_rows_are_unknown_is_named() -> None:
    """Without the deployed model's training rows, the holdout may hold rows it was trained
    on: allowing that judges it on rows it knows."""
    base = load_repo(PROJECT).pipeline("tumors")
    head = replace(base, compare=replace(base.compare, require_training_rows=False))
    assert changes(base, head) == ["compare.require_training_rows false added"]
    assert changes(head, base) == ["compare.require_training_rows false removed"]


def test_a_holdout_of_the_pull_request_s_own_file_is_named() -> None:
    """``data.test_path`` makes a file the pull request chooses the rows both models are
    scored on; ``stratify`` changes which rows the split draws."""
    base = load_repo(PROJECT).pipeline("tumors")
    data = replace(
        base.data, test_path="data/mine.csv", split=replace(base.data.split, stratify=False)
    )
    head = replace(base, data=data)
    assert changes(base, head) == [
        f"data.split.seed {base.data.split.seed} removed",
        "data.split.stratify true removed",
        f"data.split.test_size {base.data.split.test_size:g} removed",
        "data.test_path data/mine.csv added",
    ]


def test_a_split_that_no_longer_draws_the_holdout_is_named_as_removed_not_changed() -> None:
    """A pull request that replaces ``split`` by ``test_path`` leaves the split's defaults in
    the spec it reads: the note said ``data.split.seed 7 -> 42``, a seed nothing draws by."""
    base = load_repo(PROJECT).pipeline("tumors")
    drawn = replace(base.data.split, seed=7, test_size=0.25)
    base = replace(base, data=replace(base.data, split=drawn))
    default = load_repo(PROJECT).pipeline("tumors").data.split
    head = replace(base, data=replace(base.data, test_path="data/mine.csv", split=default))
    assert changes(base, head) == [
        "data.split.seed 7 removed",
        "data.split.stratify true removed",
        "data.split.test_size 0.25 removed",
        "data.test_path data/mine.csv added",
    ]


def test_a_holdout_keyed_otherwise_or_another_target_is_named() -> None:
    """The split's key chooses the holdout as its seed does (any subset of the columns, tried
    until the holdout favours the candidate); the target is what both are scored against."""
    base = load_repo(PROJECT).pipeline("tumors")
    split = replace(base.data.split, key=("mean radius", "mean texture"))
    head = replace(base, data=replace(base.data, split=split, target="mean area"))
    assert changes(base, head) == [
        "data.split.key mean radius, mean texture added",
        f"data.target {base.data.target} -> mean area",
    ]
