"""The report as Markdown: a pure function of the hand-off documents.

Order: the hidden marker, the verdict, notes (fork, skipped training),
metrics with a chart, gates, data validation, the schema/data diff, what
merging would commit, lineage. Every string taken from a document is escaped
(:mod:`mlgitops.report.markdown`), so a fork's artifact cannot inject markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlgitops.report.chart import charts
from mlgitops.report.gates import compared_rows, comparison, counted, gate_status
from mlgitops.report.markdown import code, escape, fence, link, table
from mlgitops.report.promotion import NEXT, Promotion, diff_lines
from mlgitops.validation.diff import column_notes

Doc = Mapping[str, Any]


def marker(pipeline: str) -> str:
    """The hidden first line that identifies a pipeline's comment."""
    return f"<!-- mlgitops:report:{pipeline} -->"


@dataclass(frozen=True)
class ReportInput:
    """Everything the report shows; ``notes`` are Markdown written by mlgitops itself."""

    pipeline: str
    verdict: Doc | None
    validation: Doc | None
    datadiff: Doc | None
    train: Doc | None
    promotion: Promotion
    commit: str | None = None
    commit_url: str | None = None
    notes: tuple[str, ...] = ()
    #: Set by the watchdog: no runner picked up the train job in this many minutes.
    stuck_minutes: int | None = None
    #: ``budget.json``: training stopped (or never started) at the GPU budget.
    budget: Doc | None = None
    #: The price of one GPU-hour and its currency, from ``mlgitops.yaml``.
    price: tuple[float, str] | None = None
    #: ``failed.json``: the stage (train, compare) that stopped with an error.
    failed: Doc | None = None
    #: The PR workflow's check job failed (``render --check`` or ``validate`` stopped), so
    #: nothing trained after it.
    check_failed: bool = False


#: The status where the check job failed before anything trained.
CHECK_FAILED = "the check job failed (render --check or validate): see its log"


def outcome(report: ReportInput) -> tuple[str, str]:
    """(commit status state, short description) for the report."""
    verdict, validation = report.verdict, report.validation
    if report.stuck_minutes is not None:
        return "failure", f"no GPU runner picked up the job in {report.stuck_minutes} minutes"
    if report.budget is not None:
        return "failure", "stopped at the GPU budget"
    if validation is not None and not validation.get("passed", True):
        return "failure", "data validation failed"
    if report.check_failed and verdict is None and report.train is None:
        return "failure", CHECK_FAILED
    if verdict is None and report.failed is not None:
        if report.failed.get("stage") == "train" or report.train is None:
            return "failure", "training failed"
        return "failure", "trained, but not compared: compare failed"
    if verdict is None and report.train is not None:
        return "failure", "trained, but not compared: compare did not finish"
    if verdict is None:
        return "pending", "not trained: needs a run on this repository's runners"
    return ("success" if verdict["passed"] else "failure"), counted(verdict["counts"])


def render(report: ReportInput) -> str:
    """The whole report (comment, job summary and report.md share it)."""
    lines = [marker(report.pipeline), *_headline(report), *_notes(report.notes)]
    sections = (_metrics, _gates, _comparison, _slices, _validation, _training_data, _diff)
    for section in (*sections, _promotion, _lineage):
        lines += section(report)
    lines += ["", f"<sub>Updated by <code>mlgitops report</code>{_for_commit(report)}.</sub>"]
    return "\n".join(lines) + "\n"


def _headline(report: ReportInput) -> list[str]:
    state, description = outcome(report)
    icon = {"success": "✅", "failure": "❌", "pending": "⏸️"}[state]
    lines = ["", f"## {icon} mlgitops {code(report.pipeline)}: {description}"]
    if report.verdict is not None:
        lines += ["", f"> {escape(report.verdict['summary'])}"]
    return lines


def _notes(notes: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for note in notes:
        lines += ["", "> [!NOTE]", f"> {note}"]
    return lines


def _number(value: Any, signed: bool = False) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _metrics(report: ReportInput) -> list[str]:
    verdict = report.verdict
    if verdict is None:
        return []
    confidence = f"{float(verdict['confidence']):.0%}"
    holdout = verdict["holdout"]
    paired = int(holdout["excluded"]) > 0
    head = ["metric", "candidate", "baseline", "delta", f"{confidence} CI of delta", "significant"]
    if paired:
        head[1:2] = ["candidate (all rows)", "candidate (compared rows)"]
    rows = []
    for m in verdict["metrics"]:
        ci = m.get("ci")
        interval = f"[{_number(ci[0], True)}, {_number(ci[1], True)}]" if ci else "-"
        significant = {True: "yes", False: "no"}.get(m.get("significant"), "-")
        arrow = "↑" if m["higher_is_better"] else "↓"
        both = [_number(m["paired_candidate"])] if paired else []
        rows.append(
            [
                f"{code(m['name'])} {arrow}",
                _number(m["candidate"]),
                *both,
                _number(m["baseline"]),
                _number(m["delta"], True),
                interval,
                significant,
            ]
        )
    about = (
        f"Holdout of {int(holdout['rows'])} rows{compared_rows(verdict)}; paired bootstrap, "
        f"{int(verdict['resamples'])} resamples, seed {int(verdict['seed'])}. "
        "↑ higher is better, ↓ lower is better."
    )
    return [
        "",
        "### Metrics",
        "",
        about,
        "",
        *table(head, rows, "lrrrrll" if paired else "lrrrll"),
        "",
        *charts(verdict["metrics"]),
    ]


def _threshold(gate: Doc) -> str | None:
    """A gate's threshold as the spec wrote it (``0.05``); None where the verdict has none
    (null: ``require_significant`` has none, and the schema allows null for every gate)."""
    threshold = gate.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return None
    try:
        return f"{float(threshold):g}"
    except OverflowError:  # an integer beyond float range
        return None


def _gate_name(gate: Doc) -> str:
    threshold = _threshold(gate)
    limit = f" {threshold}" if threshold is not None else ""
    return f"{code(gate['metric'])} {escape(gate['condition'])}{limit}"


def _gates(report: ReportInput) -> list[str]:
    verdict = report.verdict
    if verdict is None:
        return []
    if not verdict["gates"]:
        return ["", "### Gates", "", "No gates are declared: every candidate passes."]
    rows = []
    for gate in verdict["gates"]:
        rows.append(
            [
                gate_status(gate),
                _gate_name(gate),
                _number(gate.get("value")),
                escape(gate["reason"]),
            ]
        )
    return ["", "### Gates", "", *table(["result", "gate", "value", "why"], rows, "llrl")]


def _comparison(report: ReportInput) -> list[str]:
    return [] if report.verdict is None else comparison(report.verdict)


def _slices(report: ReportInput) -> list[str]:
    """Per-slice metrics (candidate, and the deployed model's in parentheses), gaps, gates."""
    slices = report.verdict.get("slices") if report.verdict else None
    if not slices:
        return []
    names = list(slices["gaps"])
    base_gaps = slices.get("baseline_gaps") or {}
    column = code(slices["column"])
    rows = []
    for s in slices["slices"]:
        label = code(s["value"]) + ("" if s["gated"] else " (not gated)")
        baseline = s.get("baseline") or {}
        cells = [_pair(s["candidate"].get(n), baseline.get(n), baseline) for n in names]
        rows.append([label, f"{int(s['rows']):,}", *cells])
    rows.append(
        ["gap", "", *(_pair(slices["gaps"][n], base_gaps.get(n), base_gaps) for n in names)]
    )
    rows.append(["gate", "", *(_gap_gate(report.verdict, n) for n in names)])
    about = (
        f"The candidate per value of {column}"
        + (" (the deployed model in parentheses)" if base_gaps else "")
        + f"; slices with fewer than {int(slices['min_rows'])} rows are shown but not gated."
    )
    head = [column, "rows", *(code(n) for n in names)]
    return [
        "",
        f"### Slices by {column}",
        "",
        about,
        "",
        *table(head, rows, "lr" + "r" * len(names)),
    ]


def _pair(value: Any, base: Any, baseline: Doc) -> str:
    return _number(value) + (f" ({_number(base)})" if baseline else "")


def _gap_gate(verdict: Doc | None, metric: str) -> str:
    for gate in (verdict or {}).get("gates", []):
        if gate["metric"] == metric and gate["condition"] == "max_gap":
            icon = gate_status(gate).split(" ")[0]
            return f"{icon} max_gap {_threshold(gate) or '-'}"
    return "-"


def _validation(report: ReportInput) -> list[str]:
    doc = report.validation
    if doc is None:
        return []
    lines = ["", "### Data validation", ""]
    lines += _validated(doc)
    holdout = doc.get("holdout")
    if isinstance(holdout, dict):  # data.test_path: the holdout the verdict rests on
        lines += ["", *_validated(holdout, " (the holdout)")]
    return lines


def _validated(doc: Doc, role: str = "") -> list[str]:
    """One validated file: passed, failed (with its failures) or not readable."""
    rows_read = doc.get("rows")
    where = code(doc.get("data", "?")) + role
    where += f": {int(rows_read):,} rows" if isinstance(rows_read, int) else ""
    if doc.get("error"):
        return [f"❌ {where} could not be validated: {escape(doc['error'])}"]
    failures = doc.get("failures") or []
    if not failures:
        return [f"✅ {where}, every check passed."]
    rows = [_failure_row(f) for f in failures]
    title = ["column", "check", "failing rows", "examples (row: value)"]
    return [f"❌ {where}, {len(failures)} failed checks:", "", *table(title, rows, "llrl")]


def _training_data(report: ReportInput) -> list[str]:
    """What the candidate was trained on that a reviewer should know about."""
    train = report.train or {}
    notes = []
    undeclared = [str(c) for c in train.get("undeclared") or []]
    if undeclared:
        names = ", ".join(code(c) for c in undeclared)
        notes.append(f"- Not used as features (not declared in the schema): {names}")
    invalid = train.get("invalid_data") or []
    if invalid:
        notes.append(
            f"- ⚠️ Trained on data that fails validation ({len(invalid)} failed checks), "
            "as `train.allow_invalid_data` allows."
        )
    return ["", "### Training data", "", *notes] if notes else []


def _failure_row(failure: Doc) -> list[str]:
    column = code(failure["column"]) if failure.get("column") is not None else "(table)"
    check = code(failure["check"])
    if failure.get("message"):
        check += f": {escape(failure['message'])}"
    count = failure.get("failing_rows")
    examples = ", ".join(
        f"row {int(e['row'])}: {_value(e.get('value'))}" for e in failure.get("examples") or []
    )
    return [column, check, "-" if count is None else f"{int(count):,}", examples or "-"]


def _diff(report: ReportInput) -> list[str]:
    diff: Doc | None = report.datadiff
    if diff is None and report.validation is not None:
        parts = {k: report.validation.get(k) for k in ("schema_diff", "profile_diff")}
        diff = {**parts, "notes": []} if any(v is not None for v in parts.values()) else None
    if diff is None:
        return []
    against = f" against {code(diff['base'])}" if diff.get("base") else ""
    lines = ["", f"### Schema and data diff{against}"]
    lines += (
        ["", *(f"- {escape(note)}" for note in diff.get("notes") or [])]
        if diff.get("notes")
        else []
    )
    schema, profile = diff.get("schema_diff"), diff.get("profile_diff")
    if schema is not None:
        lines += ["", "**Schema**", "", *(_schema_changes(schema) or ["No schema changes."])]
    columns = _column_changes(diff.get("data_columns"), schema)
    if columns:
        lines += ["", "**Data columns**", "", *columns]
    if profile is not None:
        lines += ["", "**Data profile**", "", *_profile_changes(profile)]
    return lines


def _change(base: Any, head: Any) -> str:
    return f"{_value(base)} → {_value(head)}"


def _value(value: Any) -> str:
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if not isinstance(value, str)
        else value
    )
    return code(text if len(text) <= 60 else text[:59] + "…")


def _schema_changes(diff: Doc) -> list[str]:
    lines = [f"- column added: {code(c)}" for c in diff["columns_added"]]
    lines += [f"- column removed: {code(c)}" for c in diff["columns_removed"]]
    for change in diff["changes"]:
        where = code(change["column"]) if change.get("column") is not None else "the whole schema"
        lines.append(
            f"- {where} {escape(change['field'])}: {_change(change['base'], change['head'])}"
        )
    return lines


def _column_changes(columns: Doc | None, schema: Doc | None) -> list[str]:
    return [
        f"- {what}: {code(name)}" + (f" ({why})" if why else "")
        for what, name, why in column_notes(columns, schema)
    ]


def _profile_changes(diff: Doc) -> list[str]:
    rows = diff["rows"]
    lines = [f"- rows: {int(rows['base']):,} → {int(rows['head']):,} ({int(rows['delta']):+,})"]
    lines += [f"- column added: {code(c)}" for c in diff["columns_added"]]
    lines += [f"- column removed: {code(c)}" for c in diff["columns_removed"]]
    if not diff["columns"]:
        return lines
    rows_out = []
    for col in diff["columns"]:
        cells = [
            _change(col[f]["base"], col[f]["head"]) if f in col else ""
            for f in ("null_rate", "min", "max", "mean")
        ]
        cats = ""
        if "values_added" in col:
            cats = f"added {_value(col['values_added'])}, removed {_value(col.get('values_removed', []))}"
        rows_out.append([code(col["column"]), *cells, cats])
    head = ["column", "null rate", "min", "max", "mean", "categories"]
    return [*lines, "", *table(head, rows_out)]


def _promotion(report: ReportInput) -> list[str]:
    change = report.promotion
    lines = ["", "### What merging would commit", ""]
    if change.note is not None:
        return [*lines, f"Merging would commit {change.note}"]
    where = code(change.environment or "")
    lines += [f"The deploy job registers the candidate and points {where} at it:", ""]
    lines += fence("\n".join(diff_lines(change)), "diff")
    return [
        *lines,
        "",
        f"`{NEXT}` is the next version of the registered model {code(report.pipeline)}, "
        "assigned at merge; `model.json` beside the overlay records its run, "
        "metrics, data hash, commit and pull request, and the model server loads the "
        "model's files only if they have the digest `MODEL_DIGEST` names.",
    ]


def _lineage(report: ReportInput) -> list[str]:
    verdict, train = report.verdict or {}, report.train or {}
    candidate = verdict.get("candidate") or {}
    run_id = candidate.get("run_id") or train.get("run_id")
    rows: list[tuple[str, str]] = []
    if run_id:
        rows.append(("MLflow run", link(code(run_id), _run_url(train, run_id))))
    for label, value in (
        ("model", candidate.get("model_uri") or train.get("model_uri")),
        ("model digest", train.get("model_digest")),
        ("content key", candidate.get("content_key") or train.get("content_key")),
        (
            "data hash",
            (verdict.get("holdout") or {}).get("data_hash")
            or (train.get("hashes") or {}).get("data"),
        ),
    ):
        if value:
            rows.append((label, code(value)))
    if report.commit:
        rows.append(("commit", link(code(report.commit[:12]), report.commit_url)))
    if verdict:
        rows.append(("baseline", _baseline(verdict["baseline"])))
    if train:
        rows.append(("training", _compute(train, report.price)))
    return ["", "### Lineage", "", *(f"- {label}: {text}" for label, text in rows)] if rows else []


def _run_url(train: Doc, run_id: str) -> str | None:
    from mlgitops.masking import split_credentials

    uri = split_credentials(str(train.get("tracking_uri") or "").rstrip("/"))[0]
    experiment = train.get("experiment_id")
    if (
        not uri.startswith(("http://", "https://"))
        or not experiment
        or train.get("run_id") != run_id
    ):
        return None
    return f"{uri}/#/experiments/{experiment}/runs/{run_id}"


def _baseline(baseline: Doc) -> str:
    if not baseline.get("available"):
        return f"none: {escape(baseline.get('reason', 'no deployed model'))}"
    shown = f"{code(baseline['model_uri'])} (run {code(baseline['run_id'])}) from {code(baseline['source'])}"
    why = baseline.get("reason")
    return f"{shown} ({escape(why)})" if why else shown


def _compute(train: Doc, price: tuple[float, str] | None = None) -> str:
    if train.get("cached"):
        return "reused the cached run with the same content key: 0 GPU minutes"
    minutes = float(train.get("duration_s") or 0.0) / 60
    runner = f"runner {code(train['runner'])}" if train.get("runner") else "runner unknown"
    count = train.get("gpu_count")
    if not train.get("gpu") or count == 0:
        return f"{runner}, no GPU: {minutes:.1f} runner minutes"
    count = int(count) if isinstance(count, int) else 1
    gpu_seconds = train.get("gpu_seconds")
    gpu_minutes = float(gpu_seconds) / 60 if isinstance(gpu_seconds, int | float) else minutes
    parts = [f"{count}x GPU {code(train['gpu'])}"]
    if train.get("gpu_driver"):
        parts.append(f"driver {code(train['gpu_driver'])}")
    text = f"{runner}, {', '.join(parts)}: {gpu_minutes:.1f} GPU minutes ({minutes:.1f} runner minutes)"
    extra = []
    if isinstance(train.get("gpu_peak_memory_mb"), int | float):
        extra.append(f"peak GPU memory {float(train['gpu_peak_memory_mb']):,.0f} MiB")
    if isinstance(train.get("gpu_utilization"), int | float):
        extra.append(f"mean utilisation {float(train['gpu_utilization']):.0f}%")
    if train.get("device") == "cpu":
        extra.append("the fit ran on the CPU")
    if price is not None:
        extra.append(
            f"cost {price[0] * gpu_minutes / 60:.2f} {price[1]} at {price[0]:g} {price[1]}/GPU-hour"
        )
    return text + (f"; {', '.join(extra)}" if extra else "")


def _for_commit(report: ReportInput) -> str:
    return f" for commit <code>{report.commit[:12]}</code>" if report.commit else ""
