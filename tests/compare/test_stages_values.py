"""Pull requests that change values in every row, played through the real stages as in
:mod:`tests.compare.test_stages` (its deployed ``main``, one server for this module).

Rows the deployed model was trained on are recognised by fingerprints of their exact
values. Written again at another precision, with a feature recomputed or a category
renamed, no row keeps its fingerprint: each lands on either side of the split anew, and
the deployed model was scored on rows it was trained on, as if unseen, with nothing said.
That favours the deployed model; a feature recomputed favours the candidate, and neither
can be told from new rows: the verdict stands, and says both. A target changed in
every row (classes swapped, other units) favours the candidate: the deployed model is
scored on what it was never trained to predict, and the comparison is refused.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.compare.test_stages import (
    FEATURES,
    PullRequest,
    _max_drop,
    deployed,
    generated,
    pr,
    write_data,
)

pytestmark = pytest.mark.slow
__all__ = ["deployed", "pr"]  # the fixtures this module's tests use


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """The same data, written with 3 decimals where it had 6: the same rows to a user."""
    return frame.assign(**{c: frame[c].round(3) for c in FEATURES})


def _note(pr: PullRequest) -> str | None:
    notes = [n for n in pr.verdict()["comparison"]["notes"] if "as they were" in n]
    return notes[0] if notes else None


@pytest.mark.parametrize("required", [True, False])
def test_values_changed_in_every_row_are_compared_saying_the_deployed_model_may_know_them(
    pr: PullRequest, required: bool
) -> None:
    if not required:
        pr.spec("  resamples: 200\n", "  resamples: 200\n  require_training_rows: false\n")
    before = len(pr.data)
    write_data(pr.root, _rounded(pr.data))
    pr.run()
    verdict = pr.verdict()
    assert verdict["comparison"]["status"] == "evaluable", verdict["comparison"]
    note = _note(pr)
    assert note is not None and note.startswith("only 0 of the "), verdict["comparison"]
    trained = int(note.split("only 0 of the ")[1].split()[0])
    assert 0.6 * before < trained < 0.8 * before, note  # its side of main's split
    assert note.endswith(
        " rows the deployed model was trained on are in the candidate's data as they were "
        "(whole, or by their features): the others were removed or changed, and changed rows "
        "may favour either model: written at another precision, some may be rows it was "
        "trained on, scored as unseen here (which favours it); a feature recomputed, or two "
        "columns' values swapped, gives it inputs it never learned from (which favours the "
        "candidate)"
    ), note
    assert note in pr.output("report.md").replace("\\", ""), pr.output("report.md")


@pytest.mark.parametrize(
    "change", ["rows appended", "a tenth of the rows rounded", "most rows removed"]
)
def test_values_kept_in_most_rows_compare_as_before(pr: PullRequest, change: str) -> None:
    frame = pr.data
    if change == "rows appended":
        frame = pd.concat([frame, _rounded(frame.head(200)).assign(f0=lambda f: f.f0 + 9)])
    elif change == "a tenth of the rows rounded":
        tenth = frame.index % 10 == 0
        frame.loc[tenth] = _rounded(frame.loc[tenth])
    else:  # a rolling window: what is left is as it was, and more than min_rows to compare
        frame = frame.tail(700)
    write_data(pr.root, frame)
    pr.run()
    comparison = pr.verdict()["comparison"]
    assert comparison["status"] == "evaluable", comparison
    assert (_note(pr) is None) is (change != "most rows removed"), comparison


def test_data_replaced_by_new_rows_is_compared_saying_so(pr: PullRequest) -> None:
    """Rows the deployed model never saw, of the same kind: by their fingerprints they are
    what rows rewritten in full are; compared, with the note."""
    write_data(pr.root, generated(1800))  # another draw: no row of main's data
    pr.run()
    assert pr.verdict()["comparison"]["status"] == "evaluable"
    note = _note(pr)
    assert note is not None and note.startswith("only 0 of the "), note


@pytest.mark.parametrize("columns", ["as they were", "in another order", "one added"])
def test_a_target_changed_in_every_row_makes_the_relative_gates_not_evaluable(
    pr: PullRequest, columns: str
) -> None:
    """Classes swapped: the deployed model, scored on the new labels, was wrong on nearly
    every row, and any candidate passed its drop gate. The candidate's training rows are
    fingerprinted over its own columns: where those are not the deployed model's, the
    holdout's rows tell the change alone."""
    frame = pr.data
    frame["y"] = 1 - frame["y"]
    if columns == "in another order":
        frame = frame[["y", *reversed(FEATURES)]]
    elif columns == "one added":
        frame["extra"] = frame["f0"].round(2)
    write_data(pr.root, frame)
    code, out = pr.run()
    assert code == 1, out
    verdict = pr.verdict()
    [reason] = verdict["comparison"]["reasons"]
    assert reason.startswith("the target changed in "), reason
    assert reason.endswith(
        " rows the deployed model was trained on that the candidate's data holds (matched by "
        "their features alone): scored on targets it was never trained for (other units, "
        "classes renamed or swapped), it cannot be compared with the candidate"
    ), reason
    assert _max_drop(verdict)["status"] == "not_evaluable" and verdict["passed"] is False
