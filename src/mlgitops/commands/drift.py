"""``mlgitops drift NAME``: recent data against the training reference; a retraining PR on drift.

Exit 0: no drift, nothing opened. Exit 1: drift found (after the pull request
or issue was opened or updated, or the report printed when no GitHub token is
set). Exit 2: bad input or a service failed. See docs/drift.md.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import console, fsio
from mlgitops.commands import utf8_name, utf8_path
from mlgitops.errors import EXIT_FAILED, EXIT_OK, BadInput, SpecError
from mlgitops.outputs import Outputs, set_github_outputs
from mlgitops.spec import Repo, load_repo
from mlgitops.spec.model import Pipeline

if TYPE_CHECKING:
    from mlgitops.drift.sources import Reference

ACTIONS = ("pull_request", "issue", "none")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline")
    parser.add_argument(
        "--current",
        type=utf8_name,
        metavar="PATH_OR_URL",
        help="recent data, CSV or Parquet (default: drift.current)",
    )
    parser.add_argument(
        "--reference",
        type=utf8_path,
        metavar="FILE",
        help="reference profile (default: stored by train)",
    )
    parser.add_argument("--output", type=Path, metavar="DIR", help="hand-off folder")
    parser.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI")
    parser.add_argument(
        "--action",
        choices=ACTIONS,
        help="on drift: open a pull request, an issue, or nothing (default: drift.action)",
    )
    parser.add_argument("--base", metavar="BRANCH", help="base branch of the pull request")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print drift.json")


def run(
    *,
    repo: Path,
    name: str,
    current: str | None = None,
    reference: Path | None = None,
    output: Path | None = None,
    tracking_uri: str | None = None,
    action: str | None = None,
    base: str | None = None,
    as_json: bool = False,
) -> int:
    """Measure drift, write drift.json/drift.md, and act on GitHub when it is found."""
    from mlgitops.drift import report as rep
    from mlgitops.drift.detect import Thresholds, detect
    from mlgitops.drift.sources import read_frame

    spec = load_repo(repo)
    pipeline = spec.pipeline(name)
    location = _current_location(pipeline, current)
    outputs = Outputs.for_pipeline(repo, name, output)
    ref, note = _reference(spec, pipeline, reference, outputs, tracking_uri)
    if note:
        console.error_line(f"mlgitops drift: {note}")
    _named_features(repo, pipeline, ref.profile)
    table = read_frame(repo, pipeline, location)
    profile = _judged(ref, table.contract.temporal)
    with console.group(f"drift: {name} ({len(table.frame):,} rows)"):
        result = detect(
            profile,
            table.frame,
            Thresholds.from_spec(pipeline.drift),
            pipeline=name,
            reference_source=ref.source,
            current_source=location,
            undeclared=table.contract.undeclared,
            unparsed=table.unparsed,
            first_unparsed=table.first_unparsed,
            dtypes={f.name: f.dtype for f in table.contract.features},
        )
    doc, markdown = rep.to_json(result), rep.to_markdown(result)
    drift_json = json.dumps(doc, indent=2, sort_keys=False, allow_nan=False) + "\n"
    fsio.write_tree(
        outputs.folder, {"drift.json": drift_json.encode(), "drift.md": markdown.encode()}
    )
    with console.untrusted_output():
        console.write(drift_json if as_json else markdown)
    outcome = _act(
        spec, pipeline, action, base, result.drifted, markdown, drift_json, doc["summary"]
    )
    set_github_outputs(
        {"drifted": str(result.drifted).lower(), "report-path": str(outputs.path("drift.md"))}
    )
    console.line(outcome)
    return EXIT_FAILED if result.drifted else EXIT_OK


def _judged(ref: Reference, temporal: tuple[str, ...]) -> dict[str, Any]:
    """The reference without the columns the schema declares as dates or times; BadInput
    where that leaves no feature to judge (an earlier train profiled dates as text)."""
    from mlgitops.drift.profile import without_temporal
    from mlgitops.drift.reference_check import refuse_unusable

    profile = without_temporal(ref.profile, temporal)
    refuse_unusable(profile, ref.source)
    return profile


def _named_features(repo: Path, pipeline: Pipeline, profile: Mapping[str, Any]) -> None:
    """A SpecError at each ``drift.features`` entry that names no feature of the reference
    (a misspelt name would leave the feature it meant at the defaults, without a word), or
    at ``drift.features`` where it ignores every feature (drift would judge none)."""
    from mlgitops.spec import spec_problem

    known = [str(f.get("name")) for f in profile.get("features", ())]
    named = pipeline.drift.features if pipeline.drift else {}
    shown = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
    problems = [
        spec_problem(
            repo,
            pipeline,
            ["drift", "features", name],
            f"drift.features.{name}: no feature of the training data is named {name!r} "
            f"(its features: {shown or 'none'})",
            at_key=True,
        )
        for name in named
        if name not in known
    ]
    judged = [name for name in known if not (name in named and named[name].ignore)]
    if known and not judged and not problems:
        problems.append(
            spec_problem(
                repo,
                pipeline,
                ["drift", "features"],
                f"drift.features: every feature of the training data is ignored ({shown}): "
                "drift would judge none, and find no drift in any data; judge one at least, "
                "or remove drift: to have no drift job",
                at_key=True,
            )
        )
    if problems:
        raise SpecError(problems)


def _current_location(pipeline: Pipeline, option: str | None) -> str:
    location = option or (pipeline.drift.current if pipeline.drift else None)
    if not location:
        raise BadInput(
            f"no current data for {pipeline.name}: pass --current PATH_OR_URL "
            f"or set drift.current in {pipeline.source}"
        )
    return location


def _reference(
    spec: Repo, pipeline: Pipeline, option: Path | None, outputs: Outputs, tracking_uri: str | None
) -> tuple[Reference, str | None]:
    """The first reference found (--reference, hand-off folder, deployed run, else the data).

    The note, when there is one, says why the reference had to be computed.
    """
    from mlgitops.drift import sources

    if option is not None:
        return sources.reference_from_file(spec.root / option, str(option)), None
    if outputs.reference.is_file():
        return sources.reference_from_file(outputs.reference, str(outputs.reference)), None
    deployed = sources.deployed_run(spec.root, pipeline)
    why = "no stored reference found"
    if deployed is not None:
        from mlgitops.training.tracking import resolve_tracking_uri

        uri = resolve_tracking_uri(spec.root, tracking_uri, spec.config)
        found = sources.reference_from_run(uri, deployed)
        if found is not None:
            return found, None
        why = f"MLflow run {deployed.run_id} (from {deployed.record}) has no {sources.ARTIFACT}"
    computed = sources.reference_from_data(spec.root, pipeline)
    return computed, f"{why}; computed one from {pipeline.data.path}"


def _act(
    spec: Repo,
    pipeline: Pipeline,
    option: str | None,
    base: str | None,
    drifted: bool,
    markdown: str,
    drift_json: str,
    summary: str,
) -> str:
    """Open or update the pull request or issue; the sentence saying what happened."""
    if not drifted:
        return "mlgitops drift: no drift; nothing opened"
    chosen = option or (pipeline.drift.action if pipeline.drift else "pull_request")
    if chosen == "none":
        return "mlgitops drift: drift found; --action none: nothing opened"
    if not (os.environ.get("GITHUB_TOKEN") and os.environ.get("GITHUB_REPOSITORY")):
        return (
            "mlgitops drift: drift found; GITHUB_TOKEN or GITHUB_REPOSITORY not set: nothing opened"
        )
    from mlgitops.drift import action
    from mlgitops.drift.hub import hub_from_env

    hub = hub_from_env(os.environ)
    if chosen == "issue":
        outcome = action.open_issue(
            hub, pipeline=pipeline.name, report_md=markdown, summary=summary
        )
    else:
        outcome = action.open_pull_request(
            hub,
            pipeline=pipeline.name,
            base=base or spec.config.default_branch,
            report_md=markdown,
            marker_json=drift_json,
            summary=summary,
        )
    set_github_outputs({"url": outcome.url})
    return f"mlgitops drift: drift found; {outcome.sentence()}"
