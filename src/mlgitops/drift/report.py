"""The drift report as data (``drift.json``) and as Markdown (``drift.md``, PR/issue body).

Pure functions of a :class:`DriftReport`. Column and category names come from
the data, so they are shown in code spans with table pipes escaped: they
cannot mention people, inject HTML or break the table.
"""

from __future__ import annotations

from typing import Any

from mlgitops.drift import stats
from mlgitops.drift.detect import DriftReport, FeatureResult, format_pvalue
from mlgitops.figures import counted

REPORT_VERSION = 1
#: GitHub rejects issue and pull request bodies above 65,536 characters.
BODY_LIMIT = 65_536


def marker(pipeline: str) -> str:
    """The hidden line that identifies this pipeline's drift PR, issue or comment."""
    return f"<!-- mlgitops:drift:{pipeline} -->"


def to_json(report: DriftReport) -> dict[str, Any]:
    """``drift.json``: the report as a versioned JSON document."""
    t = report.thresholds
    return {
        "schema_version": REPORT_VERSION,
        "pipeline": report.pipeline,
        "drifted": report.drifted,
        "summary": summary(report),
        "reference": {"source": report.reference_source, "rows": report.reference_rows},
        "current": {"source": report.current_source, "rows": report.current_rows},
        "thresholds": {
            "psi": t.psi,
            "ks_pvalue": t.pvalue,
            "features": {
                k: {"psi": v.psi, "ignore": v.ignore} for k, v in sorted(t.features.items())
            },
        },
        "features": [_feature_json(f) for f in report.features],
        "missing_columns": [f.name for f in report.features if f.status == "missing"],
        "new_columns": list(report.new_columns),
        "notes": list(report.notes),
    }


def _feature_json(f: FeatureResult) -> dict[str, Any]:
    m = f.measures
    return {
        "name": f.name,
        "kind": f.kind,
        "status": f.status,
        "drifted": f.failed,
        "reasons": list(f.reasons),
        "psi": None if m is None else round(m.psi, 6),
        "psi_threshold": f.psi_threshold,
        "psi_noise": None if f.psi_noise is None else round(f.psi_noise, 6),
        "test": None if m is None else m.test,
        "statistic": None if m is None or m.statistic is None else round(m.statistic, 6),
        "pvalue": None if m is None else m.pvalue,
        "rows": None if m is None else m.rows,
        "null_rate": {
            "reference": f.reference_null_rate,
            "current": None if m is None else round(m.null_rate, 6),
        },
        "mean": {"reference": f.reference_mean, "current": None if m is None else m.mean},
        "new_categories": {} if m is None else dict(m.new_categories),
    }


def summary(report: DriftReport) -> str:
    """One line: how many features drifted, or that none did."""
    checked = [f for f in report.features if f.status != "ignored"]
    failed = report.failed_features
    if not failed:
        return f"no drift in {len(checked)} feature{_s(len(checked))}"
    names = ", ".join(f.name for f in report.ordered() if f.failed)
    return f"drift in {len(failed)} of {len(checked)} feature{_s(len(checked))}: {names}"


def to_markdown(report: DriftReport) -> str:
    """The drift report in GitHub Markdown, hidden marker first; never over BODY_LIMIT."""
    parts = [marker(report.pipeline), _heading(report), _sources(report), _table(report)]
    parts += _extra_sections(report)
    parts.append(_legend(report))
    text = "\n\n".join(p for p in parts if p) + "\n"
    if len(text) > BODY_LIMIT:
        cut = "\n\n… (report truncated; the full report is drift.json)\n"
        text = text[: BODY_LIMIT - len(cut)] + cut
    return text


def _heading(report: DriftReport) -> str:
    verdict = "drift detected" if report.drifted else "no drift"
    return f"## Data drift: {_span(report.pipeline)} — {verdict}\n\n{_text(_capital(summary(report)))}."


def _sources(report: DriftReport) -> str:
    t = report.thresholds
    return (
        f"Current data: {_text(report.current_source)} ({counted(report.current_rows, 'row')}). "
        f"Reference: {_text(report.reference_source)} ({counted(report.reference_rows, 'row')}). "
        f"A feature drifts when PSI > {t.psi:g} (or its own threshold) "
        f"or the test p-value < {t.pvalue:g}."
    )


_HEADER = (
    "| feature | kind | status | PSI | test | statistic | p-value | missing (ref → cur) |\n"
    "|---|---|---|---:|---|---:|---:|---|"
)


def _table(report: DriftReport) -> str:
    return "\n".join([_HEADER, *(_row(f) for f in report.ordered())])


def _row(f: FeatureResult) -> str:
    m = f.measures
    status = f"**{f.status}**" if f.failed else f.status
    if m is None:
        cells = ["-"] * 4 + [f"{_pct(f.reference_null_rate)} → -"]
    else:
        test = {"ks": "KS", "chi2": "χ²"}.get(m.test or "", "-")
        statistic = "-" if m.statistic is None else f"{m.statistic:.4f}"
        nulls = f"{_pct(f.reference_null_rate)} → {_pct(m.null_rate)}"
        cells = [f"{m.psi:.4f}", test, statistic, format_pvalue(m.pvalue), nulls]
    return "| " + " | ".join([f"{_span(f.name)}", f.kind, status, *cells]) + " |"


def _extra_sections(report: DriftReport) -> list[str]:
    sections = []
    missing = [f.name for f in report.features if f.status == "missing"]
    if missing:
        items = "\n".join(f"- {_span(n)}" for n in missing)
        sections.append(f"### Missing columns\n\nIn the training data, absent now:\n\n{items}")
    if report.new_columns:
        items = "\n".join(f"- {_span(n)}" for n in report.new_columns)
        sections.append(f"### New columns\n\nNot in the training data (not checked):\n\n{items}")
    new_cats = [f for f in report.features if f.measures and f.measures.new_categories]
    if new_cats:
        sections.append("### New categories\n\n" + "\n".join(_new_categories(f) for f in new_cats))
    if report.notes:
        sections.append("### Notes\n\n" + "\n".join(f"- {_text(n)}" for n in report.notes))
    return sections


def _new_categories(f: FeatureResult) -> str:
    assert f.measures is not None
    shown = ", ".join(
        f"{_span(k)} ({v:,} row{_s(v)})" for k, v in f.measures.new_categories.items()
    )
    return f"- {_span(f.name)}: {shown}"


def _legend(report: DriftReport) -> str:
    return (
        "<details><summary>How to read this report</summary>\n\n"
        f"PSI (population stability index) compares the share of rows per decile (numeric) or "
        f"per category (categorical), missing values as a bin of their own: below "
        f"{stats.PSI_MODERATE:g} is stable, {stats.PSI_MODERATE:g} to the threshold moderate, "
        f"above it a significant shift, unless as few rows as these give it by chance where "
        f"nothing changed (within noise: at the tests' level). KS is the two-sample Kolmogorov-Smirnov test against the "
        f"training data's stored CDF; χ² is the chi-squared test of homogeneity of the category "
        f"counts. With many rows, tests flag small shifts: read the PSI first.\n\n</details>"
    )


def _code(text: str) -> str:
    """A value shown inside backticks: on one line (no line break of any kind, no bidi or
    invisible character: :func:`~mlgitops.report.markdown.one_line`), no backtick or pipe."""
    from mlgitops.report.markdown import one_line

    return one_line(str(text)).replace("`", "'").replace("|", "\\|")


def _span(text: str) -> str:
    """:func:`_code` as a code span, the spaces the value starts or ends with kept."""
    from mlgitops.report.markdown import code, spaced

    return code(spaced(str(text), _code(text)))


def _text(text: str) -> str:
    return _code(text).replace("<", "&lt;").replace("@", "@\u200b")


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
