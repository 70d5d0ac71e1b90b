"""Prometheus side of a deployment: the ServiceMonitor or PodMonitor that scrapes the model's
metrics, and what the canary analysis (:mod:`mlgitops.render.analysis`) and the alerts
(:mod:`mlgitops.render.alerts`) that query them share.

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
    SCRAPED_ROLES,
    SERVICE_LABEL,
    SERVICE_ROLE,
    metadata,
    selector,
)
from mlgitops.spec import Pipeline

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]


#: A rate() window shorter than a few scrape intervals has too few samples.
SCRAPES_PER_WINDOW = 4
_UNITS = {"s": 1, "m": 60, "h": 3600}
#: The scoring requests, which the analysis and the alerts judge.
SCORING = 'handler="/invocations"'


def seconds(duration: str) -> int:
    """``30s`` / ``10m`` / ``1h`` -> seconds (the spec schema guarantees the form)."""
    match = re.fullmatch(r"([0-9]+)([smh])", duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def rate_window(total: int, scrape_interval: str) -> str:
    """A rate() window of ``total`` seconds, but at least four scrape intervals."""
    return duration(max(total, SCRAPES_PER_WINDOW * seconds(scrape_interval)))


def duration(total: int) -> str:
    """``total`` seconds as ``2m`` or ``90s``."""
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
    if is_kserve(pipeline):
        match = {KSERVE_LABEL: pipeline.name}
        endpoint: Obj = {"port": "http-usermetric", "interval": interval}
    else:
        match = selector(pipeline)
        endpoint = {"port": "metrics", "path": METRICS_PATH, "interval": interval}
    chosen: Obj = {"matchLabels": match}
    if not is_kserve(pipeline):  # each pod once: through the stable or the canary Service
        roles = {"key": SERVICE_ROLE, "operator": "In", "values": list(SCRAPED_ROLES)}
        chosen["matchExpressions"] = [roles]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(pipeline),
        "spec": {"selector": chosen, "endpoints": [endpoint]},
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


def is_kserve(pipeline: Pipeline) -> bool:
    """Whether KServe serves the model (its queue-proxy's metrics, not the server's own)."""
    return pipeline.deploy is not None and pipeline.deploy.target == "kserve"
