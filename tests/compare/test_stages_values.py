"""Pull requests that change values in every row, played through the real stages as in
:mod:`tests.compare.test_stages` (its deployed ``main``, one server for this module).

Rows the deployed model was trained on are recognised by fingerprints of their exact
values. Written again at another precision, with a feature recomputed or a category
renamed, no row keeps its fingerprint: each lands on either side of the split anew, and
the deployed model was scored on rows it was trained on, as if unseen, with nothing said.
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


def test_values_changed_in_every_row_make_the_relative_gates_not_evaluable(
    pr: PullRequest,
) -> None:
    before = len(pr.data)
    write_data(pr.root, _rounded(pr.data))
    code, out = pr.run()
    assert code == 1, out
    verdict = pr.verdict()
    [reason] = verdict["comparison"]["reasons"]
    assert reason.startswith(
        "rows the deployed model was trained on cannot be recognised: only 0 of the "
    ), reason
    trained = int(reason.split("only 0 of the ")[1].split()[0])
    assert 0.6 * before < trained < 0.8 * before, reason  # its side of main's split
    assert reason.endswith(
        " rows it was trained on are in the candidate's data as they were (whole, or by their "
        "features); the others were removed or changed, and a row changed (written at another "
        "precision, a feature recomputed, categories renamed) may be one it is scored on as "
        "unseen (compare.require_training_rows: false compares all the same, saying so)"
    ), reason
    assert verdict["comparison"]["status"] == "not_evaluable"
    assert _max_drop(verdict)["status"] == "not_evaluable" and verdict["passed"] is False
    assert f"relative gates not evaluable: {reason}" in out
    assert "cannot be recognised" in pr.output("report.md")


def test_with_training_rows_not_required_values_changed_in_every_row_are_compared_noted(
    pr: PullRequest,
) -> None:
    pr.spec("  resamples: 200\n", "  resamples: 200\n  require_training_rows: false\n")
    write_data(pr.root, _rounded(pr.data))
    pr.run()
    verdict = pr.verdict()
    assert verdict["comparison"]["status"] == "evaluable"
    [note] = [n for n in verdict["comparison"]["notes"] if "as they were" in n]
    assert note.startswith("only 0 of the "), note
    assert note.endswith(
        " rows the deployed model was trained on are in the candidate's data as they were "
        "(whole, or by their features): a row changed may be one it is scored on as unseen "
        "here"
    ), note


@pytest.mark.parametrize("change", ["rows appended", "a tenth of the rows rounded"])
def test_values_kept_in_most_rows_compare_as_before(pr: PullRequest, change: str) -> None:
    frame = pr.data
    if change == "rows appended":
        frame = pd.concat([frame, _rounded(frame.head(200)).assign(f0=lambda f: f.f0 + 9)])
    else:
        tenth = frame.index % 10 == 0
        frame.loc[tenth] = _rounded(frame.loc[tenth])
    write_data(pr.root, frame)
    pr.run()
    comparison = pr.verdict()["comparison"]
    assert comparison["status"] == "evaluable", comparison
    assert not [n for n in comparison["notes"] if "as they were" in n], comparison


def test_data_replaced_by_new_rows_is_not_told_from_changed_rows(pr: PullRequest) -> None:
    """Rows the deployed model never saw, of the same kind: by their fingerprints they are
    what rows rewritten in full are, so the relative gates are not evaluable here too, and
    the reason says how to compare all the same."""
    write_data(pr.root, generated(1800))  # another draw: no row of main's data
    code, _ = pr.run()
    assert code == 1
    [reason] = pr.verdict()["comparison"]["reasons"]
    assert "cannot be recognised: only 0 of the " in reason, reason
    assert reason.endswith(
        "(compare.require_training_rows: false compares all the same, saying so)"
    )
