"""The PrometheusRule: alerts on the stable Service's error rate and p99 latency, in every
namespace the pipeline deploys to, from the metrics :mod:`mlgitops.render.monitoring`
scrapes, at the last environment's analysis thresholds."""

from __future__ import annotations

from mlgitops.render.monitoring import SCORING, is_kserve, number, rate_window
from mlgitops.render.serving import metadata, stable_service
from mlgitops.spec import Pipeline
from mlgitops.spec.deploy import Analysis, predictor_service_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]


#: The alerts' rate() window where four scrape intervals are shorter.
ALERT_WINDOW_S = 300


def alert_window(pipeline: Pipeline) -> str:
    """The alerts' rate() window: five minutes, but at least four scrape intervals (rate()
    needs two samples in it)."""
    assert pipeline.deploy is not None
    return rate_window(ALERT_WINDOW_S, pipeline.deploy.metrics.interval)


def alert_thresholds(pipeline: Pipeline) -> Analysis:
    """The last environment's analysis thresholds (usually production), else the defaults."""
    environments = pipeline.deploy.environments if pipeline.deploy else ()
    found = [env.analysis for env in environments if env.analysis is not None]
    return found[-1] if found else Analysis(prometheus="")


def prometheus_rule(pipeline: Pipeline) -> Obj:
    """Alerts on the stable Service's error rate and p99 latency."""
    limits = alert_thresholds(pipeline)
    errors, latency = request_exprs(pipeline, alert_window(pipeline), _namespaces(pipeline))
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


def request_exprs(
    pipeline: Pipeline, w: str, namespaces: str, revision: str | None = None
) -> tuple[str, str]:
    """Error ratio and p99 (ms) over the ``rate()`` window ``w`` of the stable Service, in
    the namespaces the matcher ``namespaces`` names: from the server's own metrics, or for
    KServe from Knative's queue-proxy metrics of the predictor (latencies already in ms),
    of every revision or of ``revision`` alone (a canary's: a Knative revision's name,
    lower-case letters, digits and ``-``, nothing PromQL reads specially)."""
    if is_kserve(pipeline):
        where = f'{namespaces},service_name="{predictor_service_name(pipeline.name)}"'
        where += f',revision_name="{revision}"' if revision is not None else ""
        requests, failed = "revision_request_count", 'response_code_class="5xx"'
        buckets, scale = "revision_request_latencies_bucket", ""
    else:
        where = f'{namespaces},service="{stable_service(pipeline)}",{SCORING}'
        requests, failed = "mlgitops_requests_total", 'code="5xx"'
        buckets, scale = "mlgitops_request_duration_seconds_bucket", "1000 * "
    answered = f"sum by (namespace) (rate({requests}{{{where}}}[{w}]))"
    failures = f"sum by (namespace) (rate({requests}{{{where},{failed}}}[{w}]))"
    if is_kserve(pipeline):
        # The queue-proxy writes the 5xx series once it answers one: until then, 0 of
        # what each namespace answered (a ratio of no series would say nothing was)
        failures = f"(\n{failures}\nor\n0 * {answered}\n)"
    errors = f"{failures}\n/\n{answered}\n"
    latency = (
        f"{scale}histogram_quantile(0.99, sum by (namespace, le) "
        f"(rate({buckets}{{{where}}}[{w}])))\n"
    )
    return errors, latency


def revision_requests(
    pipeline: Pipeline,
    w: str,
    namespaces: str,
    revision: str,
    *,
    others: bool = False,
    code: str | None = None,
) -> str:
    """How many requests Knative's queue-proxy counted over the window ``w`` for the KServe
    predictor's revision ``revision`` (``others``: its other revisions together), in the
    namespaces ``namespaces`` matches; of the status class ``code`` (``"4xx"``) alone where
    given, and 0 where no answer of that class was counted yet (the queue-proxy writes a
    class's series only once it answers one)."""
    where = f'{namespaces},service_name="{predictor_service_name(pipeline.name)}"'
    where += f',revision_name{"!=" if others else "="}"{revision}"'
    where += f',response_code_class="{code}"' if code is not None else ""
    counted = f"sum(increase(revision_request_count{{{where}}}[{w}]))"
    return counted if code is None else f"({counted} or vector(0))"


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
