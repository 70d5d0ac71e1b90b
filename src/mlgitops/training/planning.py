"""What a change affects: pure functions from changed paths to a plan.

A pipeline is affected when a changed path is one of its inputs
(``Pipeline.inputs()``: the spec, data, schema, test data, ``model.code``),
lies under an input folder, is a file of the repository an input links to
(:func:`mlgitops.links.linked`, which reads the checkout), is
``mlgitops.yaml``, or is a ``.gitattributes`` file. An affected pipeline runs
validate, train, compare and report; training needs the GPU runner unless a
FINISHED run with the same content key exists (a cache hit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlgitops.links import linked
from mlgitops.spec.model import Pipeline

REPO_CONFIG = "mlgitops.yaml"
STAGES = ("validate", "train", "compare", "report")


@dataclass(frozen=True)
class PipelinePlan:
    name: str
    affected: bool
    reasons: tuple[str, ...] = ()
    #: "hit", "miss" or "unknown" for affected pipelines; None otherwise.
    cache: str | None = None
    content_key: str | None = None
    run_id: str | None = None
    note: str | None = None

    @property
    def stages(self) -> tuple[str, ...]:
        return STAGES if self.affected else ()

    @property
    def needs_gpu(self) -> bool:
        return self.affected and self.cache != "hit"


@dataclass(frozen=True)
class Plan:
    changed: tuple[str, ...]
    pipelines: tuple[PipelinePlan, ...] = field(default_factory=tuple)
    base: str | None = None
    head: str | None = None

    @property
    def affected(self) -> list[str]:
        return [p.name for p in self.pipelines if p.affected]

    @property
    def train(self) -> list[str]:
        """Pipelines whose training needs the GPU runner (cache miss or unknown)."""
        return [p.name for p in self.pipelines if p.needs_gpu]


def touches(inputs: Iterable[str], path: str) -> bool:
    """Whether ``path`` is one of ``inputs`` or lies under an input folder."""
    for item in inputs:
        folder = item.rstrip("/")
        if path == folder or path.startswith(folder + "/"):
            return True
    return False


def reasons(
    pipeline: Pipeline, changed: Sequence[str], links: Sequence[str] = ()
) -> tuple[str, ...]:
    """The changed paths that affect ``pipeline``, in the order given: its inputs and the
    files they link to (``links``: :func:`mlgitops.links.linked`), the files ``render`` writes for it (a
    hand edit of those must meet ``render --check``, which runs only for an affected
    pipeline, never get "inputs unchanged"), and ``.gitattributes`` files (their lines,
    ``eol``, ``working-tree-encoding``, a filter, change the bytes a checkout of an input
    holds without changing it)."""
    inputs = (*pipeline.inputs(), *links, REPO_CONFIG, *generated(pipeline))
    return tuple(
        path
        for path in changed
        if touches(inputs, path)
        or path.startswith(f"manifests/argocd/{pipeline.name}-")
        or path.rpartition("/")[2] == ".gitattributes"
    )


def generated(pipeline: Pipeline) -> tuple[str, ...]:
    """The files and folders ``render`` writes for ``pipeline``, and those it writes for every
    pipeline (its Argo CD applications, ``manifests/argocd/<name>-<env>.yaml``, aside)."""
    workflows = ".github/workflows/mlgitops"
    return (
        *(f"{workflows}-{pipeline.name}-{kind}.yml" for kind in ("pr", "deploy", "drift")),
        f"{workflows}-report.yml",
        ".github/actionlint.yaml",
        f"manifests/{pipeline.name}",
        "manifests/runners",
    )


def affected(
    pipelines: Sequence[Pipeline], changed: Sequence[str], root: Path | None = None
) -> list[PipelinePlan]:
    """One plan entry per pipeline, sorted by name; cache state still unknown. ``root``:
    the checkout whose links the inputs are read through (:func:`mlgitops.links.linked`)."""
    entries = []
    for pipeline in sorted(pipelines, key=lambda p: p.name):
        links = linked(root, pipeline.inputs()) if root is not None else ()
        why = reasons(pipeline, changed, links)
        entries.append(PipelinePlan(pipeline.name, bool(why), why))
    return entries


def as_json(plan: Plan) -> str:
    doc = {
        "schema_version": 1,
        "base": plan.base,
        "head": plan.head,
        "changed": list(plan.changed),
        "affected": plan.affected,
        "train": plan.train,
        "pipelines": [
            {
                **asdict(p),
                "reasons": list(p.reasons),
                "stages": list(p.stages),
                "needs_gpu": p.needs_gpu,
            }
            for p in plan.pipelines
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def as_table(plan: Plan) -> str:
    rows = [("pipeline", "affected", "train cache", "stages", "because")]
    for p in plan.pipelines:
        because = ", ".join(p.reasons[:3]) + (
            f" (+{len(p.reasons) - 3})" if len(p.reasons) > 3 else ""
        )
        cache = (p.cache or "-") + ("*" if p.note else "")
        rows.append(
            (
                p.name,
                "yes" if p.affected else "no",
                cache,
                " ".join(p.stages) or "-",
                because or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
        for r in rows
    ]
    summary = f"{len(plan.changed)} changed file(s); {len(plan.affected)} pipeline(s) affected; "
    summary += f"GPU training needed for: {', '.join(plan.train) or 'none'}"
    notes = [f"* {p.name}: {p.note}" for p in plan.pipelines if p.note]
    return "\n".join([*(line.rstrip() for line in lines), *notes, summary]) + "\n"


def github_outputs(plan: Plan) -> dict[str, str]:
    values = {
        "affected": json.dumps(plan.affected),
        "train": json.dumps(plan.train),
        "any-affected": "true" if plan.affected else "false",
        "needs-gpu": "true" if plan.train else "false",
    }
    for p in plan.pipelines:
        values[f"cache-{p.name}"] = p.cache or "none"
    return values
