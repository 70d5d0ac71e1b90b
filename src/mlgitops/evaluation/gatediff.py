"""The gates a pull request judges itself by, against the base branch's.

The spec's gates are the pull request's to change, and the verdict holds the candidate
to them; so a pull request that lowers a floor, drops a gate or allows what cannot be
evaluated must say so where its verdict is read, not only in its file diff. So must one
that draws the comparison otherwise: the bootstrap's confidence, resamples and seed
(which decide a significant or interval judged gate), the slices judged, whether a
deployed model whose training rows are unknown may be compared, and the holdout both
models are scored on (the split's seed, size, stratification and key, or a file of its
own) and what they are scored against (the target).
"""

from __future__ import annotations

from mlgitops.spec.model import Pipeline

_CONDITIONS = ("min", "max", "max_drop", "max_relative_drop")


def settings(pipeline: Pipeline) -> dict[str, str]:
    """Every spec setting that decides whether a verdict passes, as ``name: value`` text."""
    out: dict[str, str] = {}
    for gate in pipeline.gates:
        for condition in _CONDITIONS:
            value = getattr(gate, condition)
            if value is not None:
                out[f"{gate.metric} {condition}"] = f"{value:g}"
        if gate.require_significant:
            out[f"{gate.metric} require_significant"] = "true"
        if gate.judge != "point":
            out[f"{gate.metric} judge"] = gate.judge
        if gate.allow_not_evaluable:
            out[f"{gate.metric} allow_not_evaluable"] = "true"
    compare = pipeline.compare
    if compare.slices is not None:
        for metric, gap in compare.slices.max_gap.items():
            out[f"{metric} max_gap"] = f"{gap:g}"
        out["compare.slices.column"] = compare.slices.column
        out["compare.slices.min_rows"] = str(compare.slices.min_rows)
    out["compare.min_rows"] = str(compare.min_rows)
    out["compare.confidence"] = f"{compare.confidence:g}"
    out["compare.resamples"] = str(compare.resamples)
    out["compare.seed"] = str(compare.seed)
    if compare.allow_not_evaluable:
        out["compare.allow_not_evaluable"] = "true"
    if not compare.require_training_rows:
        out["compare.require_training_rows"] = "false"
    if compare.allow_unseen_inputs:
        out["compare.allow_unseen_inputs"] = "true"
    split = pipeline.data.split
    if pipeline.data.test_path is None:  # else the file is the holdout: nothing is drawn
        out["data.split.test_size"] = f"{split.test_size:g}"
        out["data.split.seed"] = str(split.seed)
        out["data.split.stratify"] = "true" if split.stratify else "false"
    if split.key:  # (with a test file too: the rows of the data it holds are left out)
        out["data.split.key"] = ", ".join(split.key)
    out["data.target"] = pipeline.data.target
    if pipeline.data.test_path is not None:
        out["data.test_path"] = pipeline.data.test_path
    return out


def changes(base: Pipeline, head: Pipeline) -> list[str]:
    """How ``head``'s gates differ from ``base``'s, one phrase a setting, sorted."""
    before, after = settings(base), settings(head)
    out = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if new is None:
            out.append(f"{key} {old} removed")
        elif old is None:
            out.append(f"{key} {new} added")
        else:
            out.append(f"{key} {old} -> {new}")
    return out


def note(ref: str, pipeline: Pipeline, base: Pipeline | None) -> str | None:
    """The note that ``pipeline``'s gates are not those of ``base``, the pipeline as its
    spec at ``ref`` declares it; None where they are, or where ``ref`` holds no spec of it
    that mlgitops reads (``base`` None: :func:`~mlgitops.evaluation.baseline.pipeline_at`)."""
    if base is None:  # none, or one this version no longer reads: no gates to hold it to
        return None
    found = changes(base, pipeline)
    if not found:
        return None
    return (
        f"the gates are not those of {ref}:{base.source}, and this verdict holds the candidate "
        f"to the pull request's: {'; '.join(found)}"
    )
