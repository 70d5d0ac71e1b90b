"""Prometheus side of a deployment: AnalysisTemplate, ServiceMonitor/PodMonitor, PrometheusRule.

The queries read what ``mlgitops serve`` exports at ``/metrics`` on its metrics
port (``mlgitops.serving.metrics``): ``mlgitops_requests_total{handler, code}``,
the histogram ``mlgitops_request_duration_seconds`` and the prediction metrics
(``mlgitops_predictions_total{class}`` for classifiers, the histogram
``mlgitops_prediction`` for regressors). Every way of scraping them
(``deploy.metrics.scrape``) labels the samples with ``namespace`` and
``service``, as a Prometheus Operator ServiceMonitor does; the canary is told
apart by ``service="<name>-canary"``, the Service that selects only canary pods.
"""

from __future__ import annotations

import re

from mlgitops.render.serving import (
    KSERVE_LABEL,
    METRICS_PATH,
    SERVICE_LABEL,
    canary_service,
    metadata,
    selector,
)
from mlgitops.spec import Pipeline
from mlgitops.spec.deploy import Analysis

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]


#: A rate() window shorter than a few scrape intervals has too few samples.
SCRAPES_PER_WINDOW = 4
_UNITS = {"s": 1, "m": 60, "h": 3600}
#: Metrics that are missing or NaN (no traffic yet) are neither success nor failure.
_GUARD = "len(result) > 0 && !isNaN(result[0])"

_CANARY = 'namespace="{{args.namespace}}",service="{{args.service}}"'
_STABLE = 'namespace="{{args.namespace}}",service="{{args.stable-service}}"'
_RANGE = "[{{args.window}}]"
_SCORING = 'handler="/invocations"'
_SUCCESS_RATE = (
    f'sum(rate(mlgitops_requests_total{{{_CANARY},{_SCORING},code!="5xx"}}{_RANGE}))\n'
    "/\n"
    f"sum(rate(mlgitops_requests_total{{{_CANARY},{_SCORING}}}{_RANGE}))\n"
)
_P99_MS = (
    "1000 * histogram_quantile(0.99, sum by (le) "
    f"(rate(mlgitops_request_duration_seconds_bucket{{{_CANARY},{_SCORING}}}{_RANGE})))\n"
)
ANALYSIS_ARGS = (
    "namespace",
    "service",
    "stable-service",
    "prometheus",
    "min-success-rate",
    "max-p99-ms",
    "window",
)
SHIFT_ARG = "max-prediction-shift"


def _shares(metric: str, by: str, where: str) -> str:
    """Each ``by`` value's share of ``metric``'s rate (NaN without traffic)."""
    return (
        f"(sum by ({by}) (rate({metric}{{{where}}}{_RANGE}))"
        f" / scalar(sum(rate({metric}{{{where}}}{_RANGE}))))"
    )


def _class_shift() -> str:
    """Total variation distance between the canary's and the stable's predicted-class shares."""
    canary = _shares("mlgitops_predictions_total", "class", _CANARY)
    stable = _shares("mlgitops_predictions_total", "class", _STABLE)
    return (
        "(\n"
        f"  (sum(abs({canary} - {stable})) or vector(0))\n"
        f"  + (sum({canary} unless {stable}) or vector(0))\n"
        f"  + (sum({stable} unless {canary}) or vector(0))\n"
        ") / 2\n"
        # Without predictions on either side the result is NaN: inconclusive, not a pass.
        f"+ 0 * scalar(sum(rate(mlgitops_predictions_total{{{_CANARY}}}{_RANGE})))\n"
        f"+ 0 * scalar(sum(rate(mlgitops_predictions_total{{{_STABLE}}}{_RANGE})))\n"
    )


def _value_shift() -> str:
    """Largest gap between the cumulative shares at the prediction histogram's bounds."""
    canary = (
        f"sum by (le) (rate(mlgitops_prediction_bucket{{{_CANARY}}}{_RANGE}))"
        f" / scalar(sum(rate(mlgitops_prediction_count{{{_CANARY}}}{_RANGE})))"
    )
    stable = (
        f"sum by (le) (rate(mlgitops_prediction_bucket{{{_STABLE}}}{_RANGE}))"
        f" / scalar(sum(rate(mlgitops_prediction_count{{{_STABLE}}}{_RANGE})))"
    )
    return f"max(abs(\n  {canary}\n  - {stable}\n))\n"


def seconds(duration: str) -> int:
    """``30s`` / ``10m`` / ``1h`` -> seconds (the spec schema guarantees the form)."""
    match = re.fullmatch(r"([0-9]+)([smh])", duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def window(analysis: Analysis, scrape_interval: str) -> str:
    """The rate() window: the analysis interval, but at least four scrape intervals."""
    return _at_least(seconds(analysis.interval), scrape_interval)


#: The alerts' rate() window where four scrape intervals are shorter.
ALERT_WINDOW_S = 300


def alert_window(pipeline: Pipeline) -> str:
    """The alerts' rate() window: five minutes, but at least four scrape intervals (rate()
    needs two samples in it)."""
    assert pipeline.deploy is not None
    return _at_least(ALERT_WINDOW_S, pipeline.deploy.metrics.interval)


def _at_least(total: int, scrape_interval: str) -> str:
    total = max(total, SCRAPES_PER_WINDOW * seconds(scrape_interval))
    return f"{total // 60}m" if total % 60 == 0 else f"{total}s"


def number(value: float) -> str:
    """A threshold as text without float noise (0.99, 250, 0.9995), in nine significant
    digits and no exponent: a bound as small as 1e-12 ms stays above zero, where nine
    decimal places made it 0, a latency no canary can have."""
    rounded = float(f"{float(value):.9g}")
    if rounded.is_integer():  # Argo Rollouts' expr-lang reads "1…0" as an int64, or fails
        return str(int(rounded)) if abs(rounded) < 2**63 else f"{int(rounded)}.0"
    text = repr(rounded)
    return f"{rounded:.{_decimals(text)}f}" if "e" in text else text


def _decimals(text: str) -> int:
    """How many decimals write the float ``text`` (``1.5e-12``: 13) without an exponent."""
    mantissa, exponent = text.split("e")
    digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return max(digits - int(exponent), 0)


def checks_shift(pipeline: Pipeline) -> bool:
    """Whether any environment compares the canary's predictions with the stable's."""
    environments = pipeline.deploy.environments if pipeline.deploy else ()
    return any(
        env.analysis is not None and env.analysis.max_prediction_shift is not None
        for env in environments
    )


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
    """Success rate and p99 latency of the canary Service (and prediction shift), thresholds as args."""
    args = [*ANALYSIS_ARGS, SHIFT_ARG] if checks_shift(pipeline) else list(ANALYSIS_ARGS)
    metrics = [
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
    ]
    if checks_shift(pipeline):
        query = _class_shift() if pipeline.task == "classification" else _value_shift()
        metrics.append(
            _metric(
                "prediction-shift",
                query,
                f"result[0] <= {{{{args.{SHIFT_ARG}}}}}",
                f"result[0] > {{{{args.{SHIFT_ARG}}}}}",
            )
        )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": metadata(pipeline),
        "spec": {"args": [{"name": arg} for arg in args], "metrics": metrics},
    }


def analysis_template_patch(pipeline: Pipeline, analysis: Analysis) -> list[Obj]:
    """JSON patch operations: this environment's interval and failure limit.

    An environment without ``max_prediction_shift`` drops the shift metric and
    its argument when another environment put them into the base.
    """
    shift_in_base = checks_shift(pipeline)
    keep_shift = analysis.max_prediction_shift is not None
    ops: list[Obj] = []
    for index in range(3 if keep_shift else 2):
        for field, value in (
            ("interval", analysis.interval),
            ("failureLimit", analysis.failure_limit),
        ):
            ops.append({"op": "replace", "path": f"/spec/metrics/{index}/{field}", "value": value})
    if shift_in_base and not keep_shift:
        ops.append({"op": "remove", "path": "/spec/metrics/2"})
        ops.append({"op": "remove", "path": f"/spec/args/{len(ANALYSIS_ARGS)}"})
    return ops


def rollout_analysis(pipeline: Pipeline, analysis: Analysis, steps: int) -> Obj:
    """``spec.strategy.canary.analysis``: background analysis from the first canary weight on."""
    assert pipeline.deploy is not None
    values = {
        "service": canary_service(pipeline),
        "stable-service": pipeline.name,
        "prometheus": analysis.prometheus,
        "min-success-rate": number(1 - analysis.max_error_rate),
        "max-p99-ms": number(analysis.max_p99_ms),
        "window": window(analysis, pipeline.deploy.metrics.interval),
    }
    if analysis.max_prediction_shift is not None:
        values[SHIFT_ARG] = number(analysis.max_prediction_shift)
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
    """Scrapes the model's metrics through its Services.

    Rollout: ``/metrics`` on the ``metrics`` port of the stable and the canary
    Service (both carry the name label); the operator labels the samples with
    ``namespace`` and ``service``. KServe: the Knative queue-proxy's request
    metrics (port ``http-usermetric``) of the Services KServe labels with the
    InferenceService's name.
    """
    assert pipeline.deploy is not None
    interval = pipeline.deploy.metrics.interval
    if _is_kserve(pipeline):
        match = {KSERVE_LABEL: pipeline.name}
        endpoint: Obj = {"port": "http-usermetric", "interval": interval}
    else:
        match = selector(pipeline)
        endpoint = {"port": "metrics", "path": METRICS_PATH, "interval": interval}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(pipeline),
        "spec": {"selector": {"matchLabels": match}, "endpoints": [endpoint]},
    }


def pod_monitor(pipeline: Pipeline) -> Obj:
    """Scrapes the pods' ``metrics`` port directly.

    Argo Rollouts labels stable and canary pods with the Service they serve
    behind (``stableMetadata`` / ``canaryMetadata``); the relabelling turns that
    label into ``service``, so the analysis queries are the same as with a
    ServiceMonitor.
    """
    assert pipeline.deploy is not None
    source = "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", SERVICE_LABEL)
    endpoint: Obj = {
        "port": "metrics",
        "path": METRICS_PATH,
        "interval": pipeline.deploy.metrics.interval,
        "relabelings": [{"action": "replace", "sourceLabels": [source], "targetLabel": "service"}],
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(pipeline),
        "spec": {
            "selector": {"matchLabels": selector(pipeline)},
            "podMetricsEndpoints": [endpoint],
        },
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


def _namespaces(pipeline: Pipeline) -> str:
    """A matcher of the namespaces the pipeline's environments deploy to: the alerts judge
    its own Services, not another pipeline's of the same name elsewhere. (A namespace holds
    lower-case letters, digits and ``-``: nothing a regular expression reads specially.)"""
    names = (
        sorted({env.namespace for env in pipeline.deploy.environments}) if pipeline.deploy else []
    )
    return f'namespace="{names[0]}"' if len(names) == 1 else f'namespace=~"{"|".join(names)}"'


def _server_exprs(pipeline: Pipeline) -> tuple[str, str]:
    """Error ratio and p99 (ms) of the stable Service, from the server's own metrics."""
    w = alert_window(pipeline)
    where = f'{_namespaces(pipeline)},service="{pipeline.name}",{_SCORING}'
    errors = (
        f'sum by (namespace) (rate(mlgitops_requests_total{{{where},code="5xx"}}[{w}]))\n'
        f"/\nsum by (namespace) (rate(mlgitops_requests_total{{{where}}}[{w}]))\n"
    )
    latency = (
        "1000 * histogram_quantile(0.99, sum by (namespace, le) "
        f"(rate(mlgitops_request_duration_seconds_bucket{{{where}}}[{w}])))\n"
    )
    return errors, latency


def _kserve_exprs(pipeline: Pipeline) -> tuple[str, str]:
    """The same from Knative's queue-proxy metrics of the predictor (latencies are in ms)."""
    w = alert_window(pipeline)
    where = f'{_namespaces(pipeline)},service_name="{pipeline.name}-predictor"'
    errors = (
        f'sum by (namespace) (rate(revision_request_count{{{where},response_code_class="5xx"}}[{w}]))\n'
        f"/\nsum by (namespace) (rate(revision_request_count{{{where}}}[{w}]))\n"
    )
    latency = (
        "histogram_quantile(0.99, sum by (namespace, le) "
        f"(rate(revision_request_latencies_bucket{{{where}}}[{w}])))\n"
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
