"""``mlgitops compare NAME``: the candidate against the deployed model, on the same holdout.

Reads the candidate's hand-off files, finds the deployed model in the base
branch's provenance record, re-scores it on the candidate's holdout, bootstraps
every delta, evaluates the gates and writes ``verdict.json``. Exit 0 when every
gate holds, 1 when one fails (the verdict is written either way), 2 on bad input.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import collector, console, fsio
from mlgitops.basebranch import HELP, deployed_base, unambiguous
from mlgitops.errors import EXIT_FAILED, EXIT_OK, BadInput, ServiceError, SpecError
from mlgitops.figures import figure
from mlgitops.outputs import (
    ROW,
    Outputs,
    failed_stage,
    record_failure,
    set_github_outputs,
    shown,
)
from mlgitops.spec import load_repo

if TYPE_CHECKING:
    from mlgitops.evaluation.assess import DeployedModel
    from mlgitops.evaluation.handoff import CandidateRun
    from mlgitops.evaluation.inputs import FeatureDiff
    from mlgitops.evaluation.outcome import GateResult
    from mlgitops.evaluation.slices import SliceReport
    from mlgitops.evaluation.verdict import Verdict
    from mlgitops.results import ProvenanceRecord
    from mlgitops.spec.model import Pipeline
    from mlgitops.spec.repo_config import RepoConfig


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the pipeline to compare")
    parser.add_argument(
        "--base",
        metavar="REF",
        default=None,
        help=f"Git ref whose manifests say what is deployed {HELP}; a pull request into "
        "another branch is judged against origin/<default_branch>",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="hand-off folder (default: .mlgitops/NAME, or $MLGITOPS_OUTPUT/NAME)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, mlgitops.yaml "
        "mlflow.tracking_uri, else the local store .mlgitops/mlflow.db)",
    )


def run(
    *,
    repo: Path,
    name: str,
    base: str | None,
    output: Path | None,
    tracking_uri: str | None,
    trained_here: bool = False,
) -> int:
    """``trained_here``: the caller has just trained (or reused a run under) this checkout's
    content key, so the hand-off's inputs need no second look."""
    from mlgitops.training.tracking import resolve_tracking_uri

    root = repo.resolve()
    loaded = load_repo(root)
    pipeline = loaded.pipeline(name)
    outputs = Outputs.for_pipeline(root, name, output)
    # this stage's last verdict or failure: this run says anew (train's failure stays)
    outputs.verdict_json.unlink(missing_ok=True)
    if failed_stage(outputs) == "compare":
        outputs.failed_json.unlink(missing_ok=True)
    try:
        with collector.paused():  # numpy and pandas, and the candidate's hand-off files
            from mlgitops.evaluation import handoff, verdict

            candidate = handoff.load_candidate(outputs, pipeline)
        if not trained_here:
            _trained_here(root, pipeline, candidate, outputs)
        default = loaded.config.default_branch
        ref = unambiguous(root, base) if base else deployed_base(root, default)
        from mlgitops.evaluation.baseline import pipeline_at, unchanged_records

        unchanged_records(root, ref, pipeline)  # before a verdict that deploy would not honour
        base_spec = functools.cache(lambda: pipeline_at(root, ref, pipeline))  # read once, if asked
        outcome = judge(
            root,
            pipeline,
            candidate,
            ref,
            lambda: resolve_tracking_uri(root, tracking_uri, loaded.config),
            training_frame=lambda: _training_rows(root, pipeline),
            base_pipeline=base_spec,
        )
        outcome = _with_gate_changes(ref, pipeline, outcome, base_spec)
    except Exception as exc:
        record_failure(outputs, name, "compare", exc)
        raise
    fsio.write_atomic(outputs.verdict_json, verdict.dumps(outcome).encode("utf-8"))
    _record_on_run(root, tracking_uri, loaded.config, candidate.train.run_id, outcome)
    for text in lines(outcome, shown(outputs.verdict_json, root)):
        console.line(text)
    if console.in_actions():
        for gate in outcome.failed_gates:
            console.line(console.annotation("error", gate.reason, title=f"gate {_condition(gate)}"))
    set_github_outputs({"verdict": "pass" if outcome.passed else "fail"})
    return EXIT_OK if outcome.passed else EXIT_FAILED


def _trained_here(
    root: Path, pipeline: Pipeline, candidate: CandidateRun, outputs: Outputs
) -> None:
    """BadInput unless the candidate was trained on this checkout's training inputs: a
    verdict on a model trained before the spec, schema, data or code changed would be read
    as the verdict on this commit."""
    from mlgitops.training.content import changed_since

    changed = changed_since(root, pipeline, candidate.train.hashes)
    if changed:
        raise BadInput(
            f"{shown(outputs.train_json, root)}: run {candidate.train.run_id} was trained "
            f"before {_words(changed)} changed: run `mlgitops train {pipeline.name}` again"
        )


def _with_gate_changes(
    ref: str, pipeline: Pipeline, outcome: Verdict, base: Callable[[], Pipeline | None]
) -> Verdict:
    """The verdict, noting where the pull request judges the candidate by other gates than
    the base's (``base``: the pipeline as ``ref`` declares it), against a deployed model:
    without one, nothing it replaces is at stake."""
    from dataclasses import replace

    from mlgitops.evaluation.gatediff import note

    found = note(ref, pipeline, base()) if outcome.baseline.available else None
    if found is None:
        return outcome
    comparison = outcome.comparison
    return replace(outcome, comparison=replace(comparison, notes=(*comparison.notes, found)))


def _training_rows(root: Path, pipeline: Pipeline) -> Any:
    """The candidate's training rows, read and split again as ``train`` did (the data is
    the data it was trained on: :func:`_trained_here`); None for data read from a URL,
    which is not fetched again (nothing tells whether it is what it was)."""
    import tempfile

    from mlgitops.spec.model import is_url
    from mlgitops.training.data import load_split

    if any(is_url(path) for path in (pipeline.data.path, pipeline.data.test_path) if path):
        return None

    with tempfile.TemporaryDirectory() as workdir:
        return load_split(root, pipeline, Path(workdir)).train


def _words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def judge(
    root: Path,
    pipeline: Pipeline,
    candidate: CandidateRun,
    ref: str,
    uri: Callable[[], str],
    deployed_from: Callable[[ProvenanceRecord, str], DeployedModel] | None = None,
    training_frame: Callable[[], Any] | None = None,
    base_pipeline: Callable[[], Pipeline | None] | None = None,
) -> Verdict:
    """The verdict on ``candidate`` against what ``ref`` says is deployed.

    The one scoring path: ``compare`` judges the candidate's hand-off, and
    ``deploy`` the model it is about to register, re-scored on the merged holdout.
    ``uri`` gives the tracking URI, asked only when there is a deployed model to load;
    ``deployed_from`` gives the deployed model from its record and where that was read
    (default: loaded from MLflow in this process; ``deploy`` gives its recorded outputs);
    ``training_frame`` the candidate's training rows, read where its recorded ones are
    fingerprinted over other columns than the deployed model's
    (:func:`mlgitops.evaluation.pairing.over_columns_of`); ``base_pipeline`` the pipeline
    as ``ref`` declares it (default: read from ``ref``), asked only for the split-key note.
    """
    from mlgitops.evaluation import assess, baseline, pairing, scoring, verdict
    from mlgitops.evaluation.deployed import load_model
    from mlgitops.evaluation.splitkey import with_key_note
    from mlgitops.features import row_fingerprints

    found, record = baseline.find_baseline(root, ref, pipeline)
    deployed = None
    if record is not None and found.source is not None:
        with console.group(f"Loading the deployed model {record.model_uri}"):
            if deployed_from is not None:
                deployed = deployed_from(record, found.source)
            else:
                deployed = load_model(record, uri(), found.source)
    trained_on = candidate.training
    known = None if deployed is None else deployed.training
    if known is not None and trained_on is not None and training_frame is not None:
        frame = candidate.frame
        trained_on = pairing.over_columns_of(
            trained_on, known, frame, training_frame, row_fingerprints
        )
    compare = pipeline.compare
    settings = scoring.BootstrapSettings(compare.resamples, compare.confidence, compare.seed)
    with console.group(f"Scoring and bootstrapping {len(pipeline.metrics)} metrics"):
        evaluation = assess.evaluate(
            pipeline,
            candidate.frame,
            candidate.holdout,
            candidate.predictions,
            features=candidate.feature_names,
            deployed=deployed,
            settings=settings,
            slice_values=_slice_values(root, pipeline, candidate),
            trained_on=trained_on,
        )
    comparison = evaluation.comparison
    if comparison is not None and deployed is not None:
        comparison = with_key_note(
            pipeline,
            comparison,
            deployed.training,
            (*candidate.feature_names, pipeline.data.target),  # the default split key
            base_pipeline or (lambda: baseline.pipeline_at(root, ref, pipeline)),
        )
    return verdict.decide(
        pipeline,
        baseline=found,
        candidate=verdict.Candidate(
            candidate.train.run_id, candidate.train.model_uri, candidate.train.content_key
        ),
        holdout_rows=candidate.holdout.rows,
        data_hash=candidate.train.hashes.data,
        settings=settings,
        metrics=evaluation.metrics,
        slices=evaluation.slices,
        comparison=comparison,
    )


def _record_on_run(
    root: Path, option: str | None, config: RepoConfig, run_id: str, outcome: Verdict
) -> None:
    """Tag the candidate run with its verdict, for people browsing MLflow (deploy never reads it)."""
    from mlgitops.gitops.reviewed import verdict_tags
    from mlgitops.training.tracking import open_tracking, resolve_tracking_uri

    tracking = open_tracking(resolve_tracking_uri(root, option, config), root)
    try:
        tracking.log_batch(run_id, {}, {}, verdict_tags(outcome.passed, outcome.summary))
    except ServiceError as exc:
        # The verdict stands (it is in verdict.json, which deploy anchors on).
        console.error_line(
            f"mlgitops compare: warning: the verdict was not recorded on MLflow run {run_id}, "
            f"so MLflow will not show it: {exc}"
        )


def _slice_values(root: Path, pipeline: Pipeline, candidate: CandidateRun) -> list[Any] | None:
    """The slice column's values in holdout order (None: no slices configured)."""
    from mlgitops.evaluation.metrics import metric

    spec = pipeline.compare.slices
    if spec is None:
        return None
    if spec.column not in candidate.frame.columns or spec.column == ROW:
        from mlgitops.spec import spec_problem

        message = f"compare.slices.column {spec.column!r} is not a column of the holdout"
        path: list[str | int] = ["compare", "slices", "column"]
        raise SpecError([spec_problem(root, pipeline, path, message)])
    for name in dict.fromkeys([*pipeline.metrics, *spec.max_gap]):
        metric(name)
    column = candidate.frame[spec.column]
    values: list[Any] = column.astype(object).where(column.notna(), None).tolist()
    return values


def lines(v: Verdict, written_to: str) -> list[str]:
    """The terminal report of a verdict (also what the tests compare word for word)."""
    out = [
        f"compare {v.pipeline}: candidate run {v.candidate.run_id}, {v.holdout_rows} holdout rows"
    ]
    b = v.baseline
    if b.available:
        why = f" ({b.reason})" if b.reason else ""
        out.append(f"baseline: {b.model_uri} (run {b.run_id}) from {b.source}{why}")
        out += _comparison_lines(v)
    else:
        where = f" ({b.source} does not exist)" if b.source else ""
        out.append(f"baseline: none; {b.reason}{where}")
    s = v.settings
    out.append(
        f"paired bootstrap: {s.resamples} resamples, {s.confidence:.0%} confidence, seed {s.seed}"
    )
    out += ["", *_metric_table(v)]
    if v.gates:
        out += ["", "gates:", *(_gate_line(g) for g in v.gates)]
    if v.slices is not None:
        out += ["", *_slice_table(v.slices)]
    out += ["", f"verdict: {v.summary}", f"wrote {written_to}"]
    return out


def _comparison_lines(v: Verdict) -> list[str]:
    c = v.comparison
    out = []
    if c.features is not None and c.features.changed:
        out.append(f"features against the deployed model's signature: {_diff_text(c.features)}")
    if c.excluded_rows and c.evaluable:
        out.append(
            f"compared on {c.compared_rows} of {c.holdout_rows} holdout rows; "
            f"{c.excluded_rows} excluded: {c.excluded_reason}"
        )
    elif c.excluded_rows:  # the rest were not compared either: the reasons below say why
        out.append(
            f"{c.excluded_rows} of {c.holdout_rows} holdout rows excluded: {c.excluded_reason}; "
            f"the other {c.holdout_rows - c.excluded_rows} were not compared either"
        )
    out += [f"note: {note}" for note in c.notes]
    out += [f"relative gates not evaluable: {reason}" for reason in c.reasons]
    return out


def _diff_text(diff: FeatureDiff) -> str:
    parts = [f"added {c.name} ({c.type})" for c in diff.added]
    parts += [f"removed {c.name} ({c.type})" for c in diff.removed]
    parts += [
        f"{t.name} changed type {t.baseline} -> {t.candidate}"
        + ("" if t.compatible else " (incompatible)")
        for t in diff.type_changed
    ]
    if diff.reordered:
        parts.append("columns reordered")
    return "; ".join(parts)


def _metric_table(v: Verdict) -> list[str]:
    width = max([6, *(len(m.name) for m in v.metrics)])
    ci_head = f"{v.settings.confidence:.0%} CI of delta"
    paired = v.comparison.excluded_rows > 0
    extra = "   compared" if paired else ""
    rows = [
        f"{'metric':<{width}}  candidate{extra}   baseline      delta  {ci_head:<20}  significant"
    ]
    for m in v.metrics:
        ci = "-" if m.ci is None else f"[{figure(m.ci[0], True)}, {figure(m.ci[1], True)}]"
        sig = "-" if m.significant is None else ("yes" if m.significant else "no")
        both = f"  {figure(m.paired_candidate):>9}" if paired else ""
        rows.append(
            f"{m.name:<{width}}  {figure(m.candidate):>9}{both}  {figure(m.baseline):>9}  "
            f"{figure(m.delta, signed=True):>9}  {ci:<20}  {sig}"
        )
    return [r.rstrip() for r in rows]


def _condition(g: GateResult) -> str:
    if g.threshold is None:
        return f"{g.metric} {g.condition}"
    return f"{g.metric} {g.condition} {g.threshold:g}"


def _gate_line(g: GateResult) -> str:
    status = {"pass": "pass", "fail": "FAIL", "not_applicable": "n/a"}.get(g.status)
    if status is None:  # not evaluable: fails the verdict unless the spec allows it
        status = "skip" if g.allowed else "FAIL"
    return f"  {status:<4}  {_condition(g)}: {g.reason}"


def _slice_table(report: SliceReport) -> list[str]:
    names: Sequence[str] = list(report.gaps)
    width = max([len(report.column), *(len(s.value) for s in report.slices)])
    head = f"  {report.column:<{width}}  {'rows':>6}" + "".join(f"  {n:>9}" for n in names)
    rows = [f"slices by {report.column} (gated: at least {report.min_rows} rows):", head]
    for s in report.slices:
        cells = "".join(f"  {figure(s.candidate[n]):>9}" for n in names)
        note = "" if s.gated else "  (not gated)"
        rows.append(f"  {s.value:<{width}}  {s.rows:>6}{cells}{note}")
    gaps = "".join(f"  {figure(report.gaps[n]):>9}" for n in names)
    rows.append(f"  {'gap':<{width}}  {'':>6}{gaps}")
    return [r.rstrip() for r in rows]
