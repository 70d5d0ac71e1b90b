"""What a pull request can do when the default split key moved the rows it compares.

The default key of the split is every declared column (features and target), so adding or
removing one gives every row a new key and a new side: most of the candidate's holdout is
then rows the deployed model was trained on, which the comparison leaves out, and on small
data too few rows stay for the relative gates. Keyed by the deployed model's columns, the
split gives the rows both share the sides they had.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from mlgitops.evaluation.pairing import Comparison, TrainingRows
from mlgitops.spec.model import Pipeline

#: Names a YAML flow sequence holds plain as this text; any other is double-quoted.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Plain words YAML 1.1 reads as booleans or null.
_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})


def with_key_note(
    pipeline: Pipeline,
    comparison: Comparison,
    deployed: TrainingRows | None,
    candidate: Sequence[str],
    base: Callable[[], Pipeline | None],
) -> Comparison:
    """``comparison``, noting the key that keeps the deployed model's split where the
    default key (``candidate``: the candidate's features and target) moved rows the
    deployed model was trained on into the candidate's holdout because the columns
    changed; as it is otherwise. ``base`` gives the pipeline as the base branch declares
    it, asked only then: where it keyed its split otherwise (or split off no holdout), the
    deployed model's columns are not its split's key, and nothing is noted."""
    data = pipeline.data
    if data.split.key or data.test_path is not None or not comparison.excluded_rows:
        return comparison
    if deployed is None:
        return comparison
    added = [c for c in candidate if c not in deployed.columns]
    removed = [c for c in deployed.columns if c not in candidate]
    if not added and not removed:
        return comparison
    was = base()
    if was is None or was.data.split.key or was.data.test_path is not None:
        return comparison
    key = ", ".join(_flow_scalar(c) for c in deployed.columns)
    note = (
        f"{comparison.excluded_rows} of the {comparison.holdout_rows} holdout rows were left "
        "out because the split moved them: its key is every declared column "
        f"(data.split.key is not set), and {_changed(added, removed)} since the deployed "
        f"model was trained; with data.split.key: [{key}], the deployed model's columns, "
        "the rows it shares with this data keep the sides its training gave them"
    )
    return replace(comparison, notes=(*comparison.notes, note))


def _changed(added: Sequence[str], removed: Sequence[str]) -> str:
    parts = [
        f"{', '.join(names)} {'was' if len(names) == 1 else 'were'} {what}"
        for names, what in ((added, "added"), (removed, "removed"))
        if names
    ]
    return " and ".join(parts)


def _flow_scalar(name: str) -> str:
    """``name`` as an item of a YAML flow sequence: plain where YAML 1.1 and 1.2 both read
    it back as this text, double-quoted otherwise."""
    if _PLAIN.fullmatch(name) and name.lower() not in _WORDS:
        return name
    return json.dumps(name)
