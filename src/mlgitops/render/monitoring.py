"""Prometheus side of a deployment: the canary AnalysisTemplate, ServiceMonitor, PrometheusRule.

The queries read the request metrics the model server exports at ``/metrics``
(``http_requests_total`` with a ``status`` label and the histogram
``http_request_duration_seconds``), labelled with ``namespace`` and ``service``
as a Prometheus Operator ServiceMonitor labels them. The canary is told apart
by ``service="<name>-canary"``: that Service selects only canary pods.
"""

from __future__ import annotations

import re
from typing import Any

from mlgitops.render.serving import KSERVE_LABEL, canary_service, metadata, selector
from mlgitops.spec import Pipeline
from mlgitops.spec.model import Analysis

Obj = dict[str, Any]

#: Below two scrape intervals a rate() has no samples; the window never goes below this.
MIN_WINDOW_SECONDS = 120
_UNITS = {"s": 1, "m": 60, "h": 3600}
#: Metrics that are missing or NaN (no traffic yet) are neither success nor failure.
_GUARD = "len(result) > 0 && !isNaN(result[0])"

_SELECT = 'namespace="{{args.namespace}}",service="{{args.service}}"'
_RANGE = "[{{args.window}}]"
_SUCCESS_RATE = (
    f'sum(rate(http_requests_total{{{_SELECT},status!~"5.."}}{_RANGE}))\n'
    "/\n"
    f"sum(rate(http_requests_total{{{_SELECT}}}{_RANGE}))\n"
)
_P99_MS = (
    "1000 * histogram_quantile(0.99, sum by (le) "
    f"(rate(http_request_duration_seconds_bucket{{{_SELECT}}}{_RANGE})))\n"
)
ANALYSIS_ARGS = ("namespace", "service", "prometheus", "min-success-rate", "max-p99-ms", "window")


def seconds(duration: str) -> int:
    """``30s`` / ``10m`` / ``1h`` -> seconds (the spec schema guarantees the form)."""
    match = re.fullmatch(r"([0-9]+)([smh])", duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def window(analysis: Analysis) -> str:
    """The rate() window: the analysis interval, but at least two minutes."""
    total = max(seconds(analysis.interval), MIN_WINDOW_SECONDS)
    return f"{total // 60}m" if total % 60 == 0 else f"{total}s"


def number(value: float) -> str:
    """A threshold as text without float noise: 0.99, 250, 0.9995."""
    rounded = round(float(value), 9)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def _metric(name: str, query: str, passes: str, fails: str) -> Obj:
    return {
        "name": name,
        "interval": "1m",
        "failureLimit": 1,
        "inconclusiveLimit": 2,
        "successCondition": f"{_GUARD} && {passes}",
        "failureCondition": f"{_GUARD} && {fails}",
        "provider": {"prometheus": {"address": "{{args.prometheus}}", "query": query}},
    }


def analysis_template(pipeline: Pipeline) -> Obj:
    """Success rate and p99 latency of the canary Service, thresholds passed as args."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": metadata(pipeline),
        "spec": {
            "args": [{"name": arg} for arg in ANALYSIS_ARGS],
            "metrics": [
                _metric(
                    "success-rate",
                    _SUCCESS_RATE,
                    "result[0] >= {{args.min-success-rate}}",
                    "result[0] < {{args.min-success-rate}}",
                ),
                _metric(
                    "latency-p99-ms",
                    _P99_MS,
                    "result[0] <= {{args.max-p99-ms}}",
                    "result[0] > {{args.max-p99-ms}}",
                ),
            ],
        },
    }


def analysis_template_patch(analysis: Analysis) -> list[Obj]:
    """JSON patch operations setting this environment's interval and failure limit."""
    ops: list[Obj] = []
    for index in range(2):
        for field, value in (
            ("interval", analysis.interval),
            ("failureLimit", analysis.failure_limit),
        ):
            ops.append({"op": "replace", "path": f"/spec/metrics/{index}/{field}", "value": value})
    return ops


def rollout_analysis(pipeline: Pipeline, analysis: Analysis, steps: int) -> Obj:
    """``spec.strategy.canary.analysis``: background analysis from the first canary weight on."""
    values = {
        "service": canary_service(pipeline),
        "prometheus": analysis.prometheus,
        "min-success-rate": number(1 - analysis.max_error_rate),
        "max-p99-ms": number(analysis.max_p99_ms),
        "window": window(analysis),
    }
    args: list[Obj] = [
        {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    ]
    args += [{"name": name, "value": value} for name, value in values.items()]
    block: Obj = {"templates": [{"templateName": pipeline.name}]}
    if steps > 1:
        block["startingStep"] = 1
    block["args"] = args
    return block


def service_monitor(pipeline: Pipeline) -> Obj:
    """Scrapes the model's metrics.

    Rollout: ``/metrics`` of the stable and the canary Service (both carry the name
    label). KServe: the Knative queue-proxy's request metrics (port ``http-usermetric``)
    of the Services KServe labels with the InferenceService's name.
    """
    if _is_kserve(pipeline):
        match = {KSERVE_LABEL: pipeline.name}
        endpoint: Obj = {"port": "http-usermetric", "interval": "30s"}
    else:
        match = selector(pipeline)
        endpoint = {"port": "http", "path": "/metrics", "interval": "30s"}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(pipeline),
        "spec": {"selector": {"matchLabels": match}, "endpoints": [endpoint]},
    }


def _is_kserve(pipeline: Pipeline) -> bool:
    return pipeline.deploy is not None and pipeline.deploy.target == "kserve"


def alert_thresholds(pipeline: Pipeline) -> Analysis:
    """The last environment's analysis thresholds (usually production), else the defaults."""
    environments = pipeline.deploy.environments if pipeline.deploy else ()
    found = [env.analysis for env in environments if env.analysis is not None]
    return found[-1] if found else Analysis(prometheus="")


def prometheus_rule(pipeline: Pipeline) -> Obj:
    """Alerts on the stable Service's error rate and p99 latency."""
    limits = alert_thresholds(pipeline)
    errors, latency = _kserve_exprs(pipeline) if _is_kserve(pipeline) else _server_exprs(pipeline)
    errors += f"> {number(limits.max_error_rate)}\n"
    latency += f"> {number(limits.max_p99_ms)}\n"
    title = "".join(part.capitalize() for part in pipeline.name.split("-"))
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(pipeline),
        "spec": {
            "groups": [
                {
                    "name": f"mlgitops-{pipeline.name}",
                    "rules": [
                        _alert(f"{title}ModelErrorRateHigh", errors, "error rate", limits),
                        _alert(f"{title}ModelLatencyHigh", latency, "p99 latency", limits),
                    ],
                }
            ]
        },
    }


def _server_exprs(pipeline: Pipeline) -> tuple[str, str]:
    """Error ratio and p99 (ms) of the stable Service, from the server's own metrics."""
    where = f'service="{pipeline.name}"'
    errors = (
        f'sum by (namespace) (rate(http_requests_total{{{where},status=~"5.."}}[5m]))\n'
        f"/\nsum by (namespace) (rate(http_requests_total{{{where}}}[5m]))\n"
    )
    latency = (
        "1000 * histogram_quantile(0.99, sum by (namespace, le) "
        f"(rate(http_request_duration_seconds_bucket{{{where}}}[5m])))\n"
    )
    return errors, latency


def _kserve_exprs(pipeline: Pipeline) -> tuple[str, str]:
    """The same from Knative's queue-proxy metrics of the predictor (latencies are in ms)."""
    where = f'service_name="{pipeline.name}-predictor"'
    errors = (
        f'sum by (namespace) (rate(revision_request_count{{{where},response_code_class="5xx"}}[5m]))\n'
        f"/\nsum by (namespace) (rate(revision_request_count{{{where}}}[5m]))\n"
    )
    latency = (
        "histogram_quantile(0.99, sum by (namespace, le) "
        f"(rate(revision_request_latencies_bucket{{{where}}}[5m])))\n"
    )
    return errors, latency


def _alert(name: str, expr: str, what: str, limits: Analysis) -> Obj:
    bound = (
        f"{number(limits.max_error_rate * 100)}%"
        if what == "error rate"
        else f"{number(limits.max_p99_ms)} ms"
    )
    return {
        "alert": name,
        "expr": expr,
        "for": "10m",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": f"Model server {what} above {bound} in {{{{ $labels.namespace }}}}",
        },
    }
