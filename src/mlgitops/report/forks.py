"""The report workflow's own decisions for a fork's pull request, made in this repository's
context with GitHub's answers, never with the fork's artifact: whether its inputs were
touched, and how its run's check job concluded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgitops import console, proc
from mlgitops.errors import EXIT_FAILED, EXIT_OK
from mlgitops.outputs import shown
from mlgitops.report import context
from mlgitops.report.context import Target
from mlgitops.report.deliver import post_state, retract
from mlgitops.report.render import CHECK_FAILED, UNCHANGED
from mlgitops.spec.model import Pipeline


def fork_pull(
    pipeline: Pipeline,
    where: Target,
    event: Mapping[str, Any],
    claimed: int | None,
    has_results: bool,
    folder: Path,
    root: Path,
    check_run: bool,
    default_branch: str,
) -> int | tuple[int | None, str] | None:
    """The report workflow's own decision for a fork's pull request, before its results.

    The fork's run decided in the fork's code whether the pipeline is affected,
    and uploaded what it chose: neither is trusted. Here the files GitHub says
    the pull request changes meet this repository's own spec. Untouched, in a pull
    request into ``default_branch``: the status is "inputs unchanged", whatever the
    artifact holds (a pull request into another branch says nothing of what merging the
    commit into the default branch changes, and the status is the commit's). Touched, or not
    decidable, and no results: the status fails (the required check must never
    wait forever, nor pass without a verdict). Otherwise the verified pull
    request, for the report; None without a token (nothing is posted then).
    """
    from mlgitops.github import PULL_FILES_LIMIT, client_from_env, token_from_env
    from mlgitops.github.payloads import paths_of
    from mlgitops.links import linked
    from mlgitops.training.planning import reasons

    token = token_from_env(os.environ)
    if token is None or where.repo is None or where.sha is None:
        return None
    client = client_from_env(token, os.environ)
    name = pipeline.name
    pull, why = context.found_pull(
        client, where, claimed, context.run_pulls(event), context.run_head_label(event)
    )
    number = context.number_of(pull)
    verified = number, why
    into = context.base_ref(pull)
    if number is not None and into != default_branch:
        # a status is the commit's: "inputs unchanged" holds of a merge into the default branch
        why = f"pull request #{number} is into {into}, not {default_branch}"
    elif number is not None:
        entries = client.list_pull_files(where.repo, number)
        changed = proc.from_root(root, paths_of(entries))
        touched = reasons(pipeline, changed, linked(root, pipeline.inputs()))
        if len(entries) >= PULL_FILES_LIMIT:
            why = f"pull request #{number} changes more files than GitHub lists"
        elif not touched:
            console.line(
                f"report {name}: pull request #{number} changes none of the pipeline's inputs "
                f"({len(entries)} files, per GitHub): {UNCHANGED}"
            )
            shared = post_state(client, name, where, "success", UNCHANGED, check_run, UNCHANGED)
            retract(client, name, where, number, shared)
            return EXIT_OK
        else:
            listed = ", ".join(touched[:3]) + (
                f" (+{len(touched) - 3})" if len(touched) > 3 else ""
            )
            why = f"pull request #{number} changes the pipeline's inputs ({listed})"
    if has_results:
        return verified
    description = "no results from the pull request's workflow run"
    if context.run_check_job(client, where.repo, event) == "failure":  # GitHub says why
        description = CHECK_FAILED
    post_state(client, name, where, "failure", description, check_run, description)
    console.error_line(
        f"mlgitops report: {why} but its workflow run left no results in "
        f"{shown(folder, root)}: status mlgitops/{name} set to failure, {description!r}"
    )
    return EXIT_FAILED


def check_job(where: Target, event: Mapping[str, Any]) -> str | None:
    """How a fork's run's check job concluded, asked of GitHub: its artifact cannot say (a
    run whose check failed uploads validation that may have passed, and nothing trained)."""
    from mlgitops.github import client_from_env, token_from_env

    token = token_from_env(os.environ)
    if token is None or where.repo is None:
        return None
    return context.run_check_job(client_from_env(token, os.environ), where.repo, event)
