"""``mlgitops plan``: which pipelines a change affects, and whether training hits the cache."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from mlgitops import console, proc
from mlgitops.basebranch import HELP, commit, default_base, unambiguous
from mlgitops.errors import EXIT_OK, MlgitopsError, ServiceError
from mlgitops.outputs import set_github_outputs
from mlgitops.spec import Repo, load_repo
from mlgitops.spec.model import Pipeline
from mlgitops.training import planning
from mlgitops.training.planning import PipelinePlan, Plan
from mlgitops.training.tracking import Tracking

#: How an error names the base plan chose itself (docs/base.md).
_DEFAULT = "the default base"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="REF",
        help=f"base of the change {HELP}",
    )
    parser.add_argument(
        "--head", metavar="REF", default="HEAD", help="head of the change (default: HEAD)"
    )
    parser.add_argument(
        "--files", nargs="+", metavar="PATH", help="the changed files, instead of a git range"
    )
    parser.add_argument(
        "--tracking-uri", metavar="URI", help="MLflow tracking URI to look the cache up in"
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(
    *,
    repo: Path,
    base: str | None,
    head: str,
    files: list[str] | None,
    tracking_uri: str | None,
    json: bool,
) -> int:
    """Print the plan (table or JSON) and set ``$GITHUB_OUTPUT`` keys."""
    root = repo.resolve()
    loaded = load_repo(root)
    if files is not None:
        changed, base, head_ref = tuple(_normalise(f) for f in files), None, None
    else:
        named = "--base" if base else _DEFAULT
        default = loaded.config.default_branch
        base = unambiguous(root, base) if base else default_base(root, default)
        try:
            changed = _changed(root, base, head)
        except ServiceError:  # name the end that is missing, rather than git's usage text
            commit(root, base, named)
            commit(root, head, "--head")
            raise
        head_ref = head
        if named == _DEFAULT:
            changed = _and_into_default(root, loaded.config.default_branch, changed, head)
    entries = planning.affected(loaded.pipelines, changed, root)
    entries = _with_cache(loaded, entries, tracking_uri)
    plan = Plan(changed=changed, pipelines=tuple(entries), base=base, head=head_ref)
    console.write(planning.as_json(plan) if json else planning.as_table(plan))
    set_github_outputs(planning.github_outputs(plan))
    return EXIT_OK


def _changed(root: Path, base: str, head: str) -> tuple[str, ...]:
    """The files ``head`` changes since its merge base with ``base``, from ``root`` (those
    outside it left out); without rename detection, a file moved away is named where it was
    too."""
    names = ("diff", "-z", "--no-renames", "--name-only", "--relative", f"{base}...{head}")
    return tuple(proc.git_names(*names, cwd=root))


def _and_into_default(
    root: Path, default: str, changed: tuple[str, ...], head: str
) -> tuple[str, ...]:
    """``changed`` (against a pull request's base), and what ``head`` changes against the
    default branch where the pull request is into another branch: a status is the commit's,
    not the pull request's, and "inputs unchanged" must hold of what merging the commit
    into the default branch changes (a pull request into another branch could otherwise
    pass a commit whose pull request into the default branch changes the pipeline)."""
    from mlgitops.basebranch import REMOTE, into_another

    into = into_another(default)
    if into is None:
        return changed
    remote = commit(
        root, f"{REMOTE}/{default}", f"the default branch (the pull request is into {into})"
    )
    also = [name for name in _changed(root, remote, head) if name not in changed]
    if also:
        console.line(
            f"plan: the pull request is into {into}; against {default}, {head} also changes "
            f"{len(also)} files"
        )
    return (*changed, *also)


def _normalise(path: str) -> str:
    """A path given on the command line, spelt as git and the specs spell it."""
    from mlgitops.spec.build import repo_path

    return repo_path(Path(path).as_posix())


def _with_cache(
    loaded: Repo, entries: list[PipelinePlan], option: str | None
) -> list[PipelinePlan]:
    """Look each affected pipeline's content key up; 'unknown' when that cannot be done."""
    from mlgitops.training.tracking import open_tracking, resolve_tracking_uri

    wanted = [e for e in entries if e.affected]
    if not wanted:
        return entries
    try:
        uri = resolve_tracking_uri(loaded.root, option, loaded.config)
    except MlgitopsError as exc:  # no tracking URI in Actions: plan still says what changed
        return [replace(e, cache="unknown", note=str(exc)) if e.affected else e for e in entries]
    tracking = open_tracking(uri, loaded.root)
    by_name = {p.name: p for p in loaded.pipelines}
    return [_lookup(loaded, by_name[e.name], e, tracking) if e.affected else e for e in entries]


def _lookup(
    loaded: Repo, pipeline: Pipeline, entry: PipelinePlan, tracking: Tracking
) -> PipelinePlan:
    from mlgitops.training import content

    if pipeline.data.is_url or (pipeline.data.test_path or "").startswith(("http://", "https://")):
        return replace(entry, cache="unknown", note="data is a URL; not downloaded to plan")
    try:
        key = content.content_key(content.hashes(loaded.root, pipeline))
    except MlgitopsError as exc:
        return replace(entry, cache="unknown", note=str(exc))
    try:
        experiment = tracking.experiment(pipeline.name, create=False)
        run = tracking.find_run(experiment, key) if experiment else None
    except MlgitopsError as exc:
        return replace(entry, cache="unknown", content_key=key, note=str(exc))
    if run is None:
        return replace(entry, cache="miss", content_key=key)
    return replace(entry, cache="hit", content_key=key, run_id=run.run_id)
