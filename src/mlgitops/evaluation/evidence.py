"""Whether the rows a condition would be judged on can show anything: a gate that cannot be
judged says why, rather than passing or failing on noise.

- An absolute condition (``min``, ``max``) on a candidate's holdout of fewer than
  ``compare.min_rows`` rows: 4 rows can show any ``roc_auc``.
- A relative condition where the comparison is not evaluable (too few rows left once
  the deployed model's training rows are out, columns it needs missing, classes changed)
  or not applicable (nothing deployed yet).
- A metric taken over the classes (:data:`~mlgitops.evaluation.metrics.CLASS_METRICS`)
  where the rows hold fewer than ``compare.min_rows`` of a class: one positive row among
  a hundred can show any ``roc_auc`` or ``recall`` too, and a bootstrap that draws it or
  not tells nothing of the model.
- Precision where a model predicts the positive class (binary) or a class of the macro
  average (multiclass) on fewer than ``compare.min_rows`` rows: one right guess is a
  precision of 1 (of that class, a third of a three-class average).
"""

from __future__ import annotations

from typing import Any

from mlgitops.evaluation.outcome import NOT_APPLICABLE, NOT_EVALUABLE
from mlgitops.evaluation.pairing import Comparison
from mlgitops.evaluation.scoring import MetricResult
from mlgitops.figures import counted

RELATIVE = ("max_drop", "max_relative_drop", "require_significant")


def unjudgeable(
    r: MetricResult, condition: str, comparison: Comparison, min_rows: int
) -> tuple[str, str] | None:
    """The status (not evaluable or not applicable) and the reason where ``condition`` on
    ``r`` cannot be judged on the rows there are; None where it can."""
    relative = condition in RELATIVE
    if not relative and comparison.holdout_rows < min_rows:
        return NOT_EVALUABLE, (
            f"{condition} cannot be evaluated: the candidate's holdout has only "
            f"{counted(comparison.holdout_rows, 'row')}, fewer than compare.min_rows ({min_rows})"
        )
    why = "; ".join(comparison.reasons)
    if relative and comparison.status == NOT_APPLICABLE:
        return NOT_APPLICABLE, f"not applicable: {why}"
    if relative and not comparison.evaluable:
        return NOT_EVALUABLE, f"{condition} cannot be evaluated: {why}"
    fewest = r.paired_fewest if relative else r.fewest
    if fewest is not None and fewest[1] < min_rows:
        return NOT_EVALUABLE, _few_of_a_class(r.name, condition, fewest, relative, min_rows)
    predicted = r.paired_predicted if relative else r.predicted
    if predicted is not None and predicted[2] < min_rows:
        value, who, count, over = predicted
        return NOT_EVALUABLE, (
            f"{condition} cannot be evaluated: {r.name} is taken over the rows a model "
            f"predicts {over}, and the {who} predicts only {counted(count, 'row')} as class "
            f"{value!r}, fewer than compare.min_rows ({min_rows})"
        )
    return None


def _few_of_a_class(
    name: str, condition: str, fewest: tuple[Any, int], relative: bool, min_rows: int
) -> str:
    value, count = fewest
    where = "compared rows hold" if relative else "candidate's holdout holds"
    return (
        f"{condition} cannot be evaluated: {name} is taken over the classes, and the {where} "
        f"only {counted(count, 'row')} of class {value!r}, fewer than compare.min_rows ({min_rows})"
    )
