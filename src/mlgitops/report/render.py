"""The report as Markdown: a pure function of the hand-off documents.

Order: the hidden marker, the verdict, notes (fork, skipped training),
metrics with a chart, gates, data validation, the schema/data diff, what
merging would commit, lineage. Every string taken from a document is escaped
(:mod:`mlgitops.report.markdown`), so a fork's artifact cannot inject markup.
The verdict's sections are :mod:`.metrics`' and :mod:`.gates`', the data's
:mod:`.data`'s, the lineage :mod:`.lineage`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlgitops import figures
from mlgitops.report.data import diff_section, training_data_section, validation_section
from mlgitops.report.gates import comparison, counted, gates_section
from mlgitops.report.lineage import lineage_section
from mlgitops.report.markdown import clipped, code, escape, fence, one_line
from mlgitops.report.metrics import metrics_section, slices_section
from mlgitops.report.promotion import NEXT, Promotion, diff_lines

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

#: The status of a pull request that touches none of the pipeline's inputs.
UNCHANGED = "inputs unchanged"


def unchanged(pipeline: str, commit: str | None) -> str:
    """The comment of a pull request whose head no longer touches the pipeline's inputs: the
    report it held judged an earlier commit."""
    note = (
        "> The pull request no longer changes any of the pipeline's inputs, so nothing was "
        "validated, trained or compared for this commit. The report this comment held was "
        "for an earlier commit and no longer applies."
    )
    headline = f"## ✅ mlgitops {code(pipeline)}: {UNCHANGED}"
    return (
        "\n".join([marker(pipeline), "", headline, "", "> [!NOTE]", note, "", _updated(commit)])
        + "\n"
    )


#: The lines that open and close the note a report carries while a newer commit is checked.
PENDING_OPEN, PENDING_CLOSE = "<!-- mlgitops:pending -->", "<!-- /mlgitops:pending -->"


def pending(pipeline: str, commit: str, earlier: str) -> str:
    """The pipeline's comment while ``commit``, which touches the pipeline's inputs, is
    validated, trained and compared: the ``earlier`` report, under a note that it is not
    this commit's (an earlier note of the kind is replaced)."""
    head = marker(pipeline)
    rest = earlier.lstrip().removeprefix(head)
    if rest.lstrip("\n").startswith(PENDING_OPEN) and PENDING_CLOSE in rest:
        rest = rest.split(PENDING_CLOSE, 1)[1]
    note = (
        f"> ⏳ Commit <code>{commit[:12]}</code> is being validated, trained and compared. "
        "The report below is for an earlier commit: this commit's replaces it when its run "
        "ends, and the required status waits for it."
    )
    lines = [head, "", PENDING_OPEN, "", "> [!IMPORTANT]", note, "", PENDING_CLOSE]
    return "\n".join(lines) + "\n\n" + rest.lstrip("\n")


def outcome(report: ReportInput) -> tuple[str, str]:
    """(commit status state, short description) for the report."""
    verdict, validation = report.verdict, report.validation
    if report.stuck_minutes is not None:
        return "failure", f"no GPU runner picked up the job in {report.stuck_minutes} minutes"
    if report.budget is not None:
        return "failure", "stopped at the GPU budget"
    if validation is not None and not validation.get("passed", True):
        return "failure", validation_failed(validation)
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


def validation_failed(validation: Doc) -> str:
    """The status of a pull request whose data failed validation, naming the first failure
    and its place (the data file's line), or why the data or schema could not be read."""
    error = validation.get("error")
    if isinstance(error, str) and error.strip():
        return f"data validation failed: {one_line(error)}"
    failures = [f for f in validation.get("failures") or () if isinstance(f, dict)]
    if not failures:
        return "data validation failed"
    first, data = failures[0], validation.get("data")
    examples = [e for e in first.get("examples") or () if isinstance(e, dict)]
    line = examples[0].get("line") if examples else None
    where = f"{data}:{line}: " if isinstance(line, int) and isinstance(data, str) else ""
    column = first.get("column")
    said = f"{column}: {first.get('message')}" if isinstance(column, str) else first.get("message")
    checks = figures.counted(len(failures), "check")
    return f"data validation failed ({checks}): {one_line(f'{where}{said}')}"


def render(report: ReportInput) -> str:
    """The whole report (comment, job summary and report.md share it)."""
    lines = [marker(report.pipeline), *_headline(report), *_notes(report.notes)]
    verdict = report.verdict
    sections = (
        metrics_section(verdict),
        gates_section(verdict),
        [] if verdict is None else comparison(verdict),
        slices_section(verdict),
        validation_section(report.validation),
        training_data_section(report.train),
        diff_section(report.datadiff, report.validation),
        _promotion(report),
        lineage_section(verdict, report.train, report.commit, report.commit_url, report.price),
    )
    for section in sections:
        lines += section
    lines += ["", _updated(report.commit)]
    return "\n".join(lines) + "\n"


#: The most characters of the headline's description (an error message may be longer than
#: a whole comment): a comment cut to GitHub's limit always keeps its headline.
HEADLINE_CHARS = 1000


def _headline(report: ReportInput) -> list[str]:
    state, description = outcome(report)
    icon = {"success": "✅", "failure": "❌", "pending": "⏸️"}[state]
    said = escape(clipped(description, HEADLINE_CHARS))
    lines = ["", f"## {icon} mlgitops {code(report.pipeline)}: {said}"]
    if report.verdict is not None:
        lines += ["", f"> {escape(report.verdict['summary'])}"]
    return lines


def _notes(notes: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for note in notes:
        lines += ["", "> [!NOTE]", f"> {note}"]
    return lines


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


def _updated(commit: str | None) -> str:
    """The report's last line: what wrote it, and for which commit."""
    stamp = f" for commit <code>{commit[:12]}</code>" if commit else ""
    return f"<sub>Updated by <code>mlgitops report</code>{stamp}.</sub>"


#: The specs' problems the report of specs that do not load lists (the log has them all).
SHOWN_PROBLEMS = 20


#: What the report of specs with problems says (headline, why): where they do not load, and
#: where they load but name what is not there.
UNLOADABLE = (
    "the specs do not load",
    "Nothing was validated, trained or compared: the repository's specs do not load. "
    "Each problem is also shown on its line of the pull request's changes; "
    "`mlgitops render --check` shows them where the branch is checked out.",
)
MISNAMED = (
    "problems in the specs",
    "Nothing was trained or compared: the check job's `render --check` found that the "
    "specs name what is not there. Each problem is also shown on its line of the pull "
    "request's changes.",
)


def unloadable(
    pipeline: str,
    problems: Sequence[Any],
    commit: str | None,
    said: tuple[str, str] = UNLOADABLE,
) -> tuple[str, str, str]:
    """The report, the status's state and its description where the repository's specs do
    not load (a pull request's mistake in a spec), or (``said``: :data:`MISNAMED`) name
    files or classes that are not there. ``problems``: the spec error's, each with its place
    (masked already)."""
    headline, why = said
    first = problems[0]
    description = f"{headline}: {first.path}:{first.line}:{first.col}"
    if len(problems) > 1:
        description += f" and {len(problems) - 1} more"
    lines = [
        f"- {code(f'{p.path}:{p.line}:{p.col}')}: {escape(p.message)}"
        for p in problems[:SHOWN_PROBLEMS]
    ]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f"- … and {len(problems) - SHOWN_PROBLEMS} more (the job's log lists them)")
    return _unreported(pipeline, headline, why, lines, commit), "failure", description


def unnamed(pipeline: str, known: Sequence[str], commit: str | None) -> tuple[str, str, str]:
    """The report, state and description where the specs name no such pipeline (its spec
    renamed or removed) while a workflow rendered for it still runs."""
    named = ", ".join(known) or "none"
    description = f"no pipeline named {pipeline} in pipelines/ (known: {named})"
    why = (
        f"This workflow was rendered for the pipeline {code(pipeline)}, which the specs no "
        f"longer name (they name: {', '.join(code(k) for k in known) or 'none'}). Where it "
        "was renamed or removed on purpose, run `mlgitops render` and commit what it writes "
        "(the workflows for the pipelines the specs name), and require their statuses in "
        "branch protection in place of this one."
    )
    headline = f"no pipeline named {code(pipeline)}"
    return _unreported(pipeline, headline, why, [], commit), "failure", description


def _unreported(
    pipeline: str, headline: str, why: str, items: list[str], commit: str | None
) -> str:
    """A failing report with nothing to report on: the headline, why, a list."""
    lines = [marker(pipeline), "", f"## ❌ mlgitops {code(pipeline)}: {headline}", "", why]
    if items:
        lines += ["", *items]
    lines += ["", _updated(commit)]
    return "\n".join(lines) + "\n"
