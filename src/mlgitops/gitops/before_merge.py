"""The commit before a merge, whose records say what was deployed when the reviewed pull
request merged: deploy holds the reviewed model to that one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mlgitops import console, proc
from mlgitops.errors import BadInput
from mlgitops.gitops.anchor import Anchor
from mlgitops.gitops.publish import Snapshot
from mlgitops.spec.model import Pipeline


def before_merge(
    root: Path, pipeline: Pipeline, head: str, anchor: Anchor, environ: Mapping[str, str]
) -> str:
    """The commit before the merge of a pull request ``head`` (the branch before the push
    that merged it, :func:`_pushed_over`, else its first parent), which says what was
    deployed when the pull request was merged; BadInput where the pull request
    (as GitHub lists its files), or the merge itself, changes a record of what is deployed
    (an environment's ``model.json``), which only deploy, promote and rollback write: a pull
    request could otherwise pick the baseline it is held to. (A local anchor has no pull
    request: its baseline is HEAD's record.)"""
    from mlgitops.evaluation.baseline import (
        pipeline_names,
        record_environment,
        record_of,
        record_path,
        recorded_environments,
    )

    parents = proc.git("rev-list", "--parents", "-n", "1", head, cwd=root).split()[1:]
    if (pushed := _pushed_over(root, head, environ)) is not None and parents[:1] != [pushed]:
        added = proc.git("rev-list", "--count", f"{pushed}..{head}", cwd=root)
        console.line(
            f"  the push added {added} commits: what was deployed is read at {pushed[:12]}, "
            "the branch before them"
        )
        parents = [pushed]
    before = Snapshot(root, parents[0]) if parents else None
    after = Snapshot(root, head)
    # GitHub lists the pull request's files from the repository's top, the records here are
    # from the root
    listed = None if anchor.changed is None else set(proc.from_root(root, anchor.changed))
    names = pipeline_names(root, before.commit if before else head, pipeline)
    # every environment's record, under the pipeline's name and the one it had before the
    # merge, named by the spec or not: the baseline may be any of them
    environments = pipeline.deploy.environments if pipeline.deploy else ()
    records = [record_of(pipeline, e.name) for e in environments]
    for name in names:
        held = recorded_environments(root, head, name)
        if before is not None:
            held |= recorded_environments(root, before.commit, name)
        records += [record_path(name, env) for env in sorted(held)]
    records += sorted(rel for rel in listed or () if record_environment(names, rel))
    for rel in dict.fromkeys(records):
        environment = record_environment(names, rel)
        by = f"pull request #{anchor.pr}"
        if listed is None:
            raise BadInput(
                f"{by} changes more files than GitHub lists: deploy cannot tell whether it "
                f"changes {rel}, the record of what is deployed; nothing deployed"
            )
        if rel in listed or (before and before.blob_id(rel) != after.blob_id(rel)):
            by = by if rel in listed else f"the merged commit {head[:12]}"
            raise BadInput(
                f"{by} changes {rel}, the record of what is deployed to {environment}, "
                "which only deploy, promote and rollback write: revert that change in a pull "
                "request of its own; nothing deployed"
            )
    return parents[0] if parents else head


def _pushed_over(root: Path, head: str, environ: Mapping[str, str]) -> str | None:
    """The branch's head before the push of ``head``, as GitHub's push event says it
    (``before``, where its ``after`` is ``head``), if it is an ancestor of ``head``; else
    None. A rebase merge adds the pull request's commits one by one: the first parent of the
    last one already holds the earlier ones (their spec, their pipeline name), so it would
    let the pull request choose the baseline it is held to."""
    from mlgitops.github.payloads import event_from_env

    if environ.get("GITHUB_EVENT_NAME") != "push":
        return None
    event = event_from_env(environ)
    before = event.get("before")
    if event.get("after") != head or not isinstance(before, str) or not _SHA.fullmatch(before):
        return None
    if not before.strip("0"):  # the push created the branch
        return None
    found = proc.run(["git", "merge-base", "--is-ancestor", before, head], cwd=root, check=False)
    return before if found.returncode == 0 else None


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
