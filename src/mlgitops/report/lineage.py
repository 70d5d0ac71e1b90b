"""The report's lineage: the MLflow run, the model and its digest, the content key, the
data hash, the commit, the baseline and what the training cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgitops.report.markdown import code, escape, link

Doc = Mapping[str, Any]


def lineage_section(
    verdict_doc: Doc | None,
    train_doc: Doc | None,
    commit: str | None,
    commit_url: str | None,
    price: tuple[float, str] | None,
) -> list[str]:
    """Where the candidate comes from: ``price``, one GPU-hour's and its currency."""
    verdict, train = verdict_doc or {}, train_doc or {}
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
    if commit:
        rows.append(("commit", link(code(commit[:12]), commit_url)))
    if verdict:
        rows.append(("baseline", _baseline(verdict["baseline"])))
    if train:
        rows.append(("training", _compute(train, price)))
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
