"""What the deployed model is given: exactly the inputs of its own signature.

The deployed model's MLflow signature names its input columns and their types,
in order. ``compare`` hands it those columns of the candidate's holdout, by
name and in that order, cast to the signature's types; columns the candidate
added are not given to it, and reordered columns do not matter. A signature
column the holdout lacks, or whose type changed incompatibly, makes the
comparison not evaluable (see :func:`baseline_inputs`).

The feature diff (:func:`feature_diff`) is the candidate's features against the
deployed model's signature: added, removed, type changed, reordered.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

#: MLflow column types that hold numbers, and which numbers each may be given.
_NUMERIC = {
    "integer": {"integer"},
    "long": {"integer", "long"},
    "float": {"integer", "long", "float", "double"},
    "double": {"integer", "long", "float", "double"},
}
#: MLflow's integer column types: the numpy type each is given as, and the values it holds.
_INTEGERS = {"integer": ("int32", 2**31), "long": ("int64", 2**63)}


@dataclass(frozen=True)
class InputColumn:
    """One input column: its name and MLflow column type (``double``, ``string``, …)."""

    name: str
    type: str


@dataclass(frozen=True)
class TypeChange:
    name: str
    baseline: str
    candidate: str
    #: whether the deployed model can still be given the column (a numeric widening)
    compatible: bool


@dataclass(frozen=True)
class FeatureDiff:
    """The candidate's features against the deployed model's signature."""

    baseline: tuple[InputColumn, ...]
    added: tuple[InputColumn, ...]
    removed: tuple[InputColumn, ...]
    type_changed: tuple[TypeChange, ...]
    #: the columns both have are in another order
    reordered: bool

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.type_changed or self.reordered)


class NotEvaluable(Exception):
    """The deployed model cannot be scored on this holdout; the message says why."""


def compatible(baseline: str, candidate: str) -> bool:
    """Whether a column of type ``candidate`` can be given where ``baseline`` is expected."""
    if baseline == candidate:
        return True
    return candidate in _NUMERIC.get(baseline, set())


def whole_numbers(values: Any, baseline: str) -> bool:
    """Whether ``values`` are floats that the integer type ``baseline`` holds every one of:
    finite whole numbers in its range (an integer feature a pull request declares ``float64``,
    or that a reader took as floats). The deployed model is given them as integers, the
    values it would have had."""
    import numpy as np

    if baseline not in _INTEGERS or getattr(values.dtype, "kind", "") != "f":
        return False
    bound = _INTEGERS[baseline][1]
    numbers = values.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return bool(
            np.isfinite(numbers).all()
            and (numbers == np.floor(numbers)).all()
            and (numbers >= -bound).all()
            and (numbers < bound).all()
        )


def column_types(frame: Any, names: Sequence[str]) -> tuple[InputColumn, ...]:
    """The MLflow column types of ``names`` in ``frame`` (as ``train`` writes signatures)."""
    from mlgitops.training.mlmodel import input_schema

    return tuple(InputColumn(c["name"], c["type"]) for c in input_schema(frame[list(names)]))


def feature_diff(
    signature: Sequence[InputColumn],
    candidate: Sequence[InputColumn],
    whole: Collection[str] = (),
) -> FeatureDiff:
    """Added, removed and retyped columns of the candidate against the signature; the
    columns ``whole`` hold floats that are all whole numbers (:func:`whole_numbers`), which
    a model that takes integers is given as such."""
    theirs = {c.name: c for c in signature}
    ours = {c.name: c for c in candidate}
    changed = tuple(
        TypeChange(
            c.name,
            c.type,
            ours[c.name].type,
            compatible(c.type, ours[c.name].type) or c.name in whole,
        )
        for c in signature
        if c.name in ours and ours[c.name].type != c.type
    )
    common_theirs = [c.name for c in signature if c.name in ours]
    common_ours = [c.name for c in candidate if c.name in theirs]
    return FeatureDiff(
        baseline=tuple(signature),
        added=tuple(c for c in candidate if c.name not in theirs),
        removed=tuple(c for c in signature if c.name not in ours),
        type_changed=changed,
        reordered=common_theirs != common_ours,
    )


def baseline_inputs(frame: Any, signature: Sequence[InputColumn]) -> Any:
    """The signature's columns of ``frame``, in its order, cast to its types.

    Raises :class:`NotEvaluable` naming the first column the holdout lacks or
    whose type cannot be given to the deployed model.
    """
    missing = [c.name for c in signature if c.name not in frame.columns]
    if missing:
        names = ", ".join(repr(n) for n in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise NotEvaluable(
            f"the deployed model needs {noun} {names}, which the candidate's holdout lacks"
        )
    given = column_types(frame, [c.name for c in signature])
    for want, have in zip(signature, given, strict=True):
        if compatible(want.type, have.type) or whole_numbers(frame[want.name], want.type):
            continue
        refused = (
            f"column {want.name!r} changed type from {want.type} (what the deployed model "
            f"takes) to {have.type}, which cannot be given to it"
        )
        if want.type in _INTEGERS and have.type in ("float", "double"):
            refused += ": not every value is a whole number it holds"
        raise NotEvaluable(refused)
    return _cast(frame[[c.name for c in signature]], signature)


def _cast(frame: Any, signature: Sequence[InputColumn]) -> Any:
    casts = {
        c.name: ("float32" if c.type == "float" else "float64")
        for c in signature
        if c.type in ("float", "double") and str(frame[c.name].dtype) not in ("float32", "float64")
    }
    casts.update({c.name: _INTEGERS[c.type][0] for c in signature if c.type in _INTEGERS})
    return frame.astype(casts) if casts else frame.copy()


def signature_of(info: Any) -> tuple[InputColumn, ...] | None:
    """The named input columns of an MLflow ``ModelInfo``'s signature (None: it has none)."""
    signature = getattr(info, "signature", None)
    inputs = getattr(signature, "inputs", None)
    if inputs is None or not getattr(inputs, "has_input_names", lambda: False)():
        return None
    columns = []
    for spec in inputs.inputs:
        kind = getattr(spec, "type", None)
        name = getattr(kind, "name", None) or str(kind)
        columns.append(InputColumn(str(spec.name), str(name)))
    return tuple(columns)
