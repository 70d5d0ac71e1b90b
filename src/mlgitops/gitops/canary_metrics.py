"""What a KServe canary's own requests say before its next share: the error ratio and p99
latency of the latest revision, as Prometheus measures them over the environment's
analysis window from Knative's queue-proxy metrics (the ServiceMonitor's scrape, the same
series the alerts read), held to the environment's ``analysis`` thresholds. Its error
ratio counts its 5xx answers, and its 4xx answers beyond the other revisions' share of
them (as an Argo Rollouts canary's analysis counts them): a model that refuses the
requests its clients send (a column they do not send) fails, their own bad requests,
which every revision refuses alike, do not.

Argo Rollouts measures its canary in the cluster; KServe measures nothing, so
``promote --env --when-healthy`` asks Prometheus itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mlgitops.render.alerts import request_exprs, revision_requests
from mlgitops.render.analysis import beyond_the_stable_s, window
from mlgitops.render.monitoring import number
from mlgitops.spec.deploy import Environment
from mlgitops.spec.model import Pipeline

#: A Knative revision's name: a DNS label (what the queries may quote as it is).
_REVISION = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
#: Seconds Prometheus has to answer one query.
TIMEOUT_S = 10.0
#: The most bytes of an answer read: two queries of one series each need a few hundred.
MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class Measured:
    """Why the canary is not ready for its next share (none: it is), and whether it
    failed a threshold (waiting for more requests does not help) rather than lacked them."""

    problems: tuple[str, ...] = ()
    failed: bool = False


def measure(url: str, pipeline: Pipeline, environment: Environment, revision: str) -> Measured:
    """The canary ``revision``'s error ratio and p99 latency in ``environment`` over its
    analysis window, from the Prometheus at ``url``, against ``environment.analysis``."""
    analysis = environment.analysis
    assert analysis is not None and pipeline.deploy is not None  # the caller checks
    if _REVISION.fullmatch(revision) is None:
        return Measured((f"the InferenceService names its latest revision {revision!r}",))
    w = window(analysis, pipeline.deploy.metrics.interval)
    namespace = f'namespace="{environment.namespace}"'
    errors, p99 = request_exprs(pipeline, w, namespace, revision)
    try:
        error_ratio, latency = _query(url, errors), _query(url, p99)
        # None where the other revisions answered nothing in the window (the model serves
        # all of the traffic): no share to hold its 4xx answers to
        beyond = _query(url, client_errors(pipeline, w, namespace, revision)) or 0.0
    except _Unanswered as exc:
        return Measured((f"Prometheus at {url} did not answer ({exc})",))
    if error_ratio is None or latency is None:
        return Measured(
            (
                f"Prometheus holds no requests to revision {revision} over the last {w} yet "
                "(queue-proxy metrics, as the ServiceMonitor scrapes them)",
            )
        )
    problems = []
    if error_ratio + beyond > analysis.max_error_rate:
        part = (
            f" (of it, 4xx answers beyond the other revisions' share of them: {_percent(beyond)}%)"
            if beyond > 0
            else ""
        )
        problems.append(
            f"revision {revision}'s error rate over the last {w} is "
            f"{_percent(error_ratio + beyond)}%{part}, above analysis.max_error_rate "
            f"{number(analysis.max_error_rate * 100)}%"
        )
    if latency > analysis.max_p99_ms:
        problems.append(
            f"revision {revision}'s p99 latency over the last {w} is "
            f"{number(round(latency, 1))} ms, above analysis.max_p99_ms "
            f"{number(analysis.max_p99_ms)} ms"
        )
    return Measured(tuple(problems), failed=bool(problems))


def client_errors(pipeline: Pipeline, w: str, namespace: str, revision: str) -> str:
    """The query of ``revision``'s share of 4xx answers over the window ``w`` beyond the
    share of the predictor's other revisions in the namespace ``namespace`` matches, less
    what chance explains; no value where the other revisions answered nothing."""
    counts = [
        revision_requests(pipeline, w, namespace, revision, others=others, code=code)
        for code in (None, "4xx")
        for others in (False, True)
    ]
    return beyond_the_stable_s(*counts)


def _percent(ratio: float) -> str:
    return number(round(ratio * 100, 2))


class _Unanswered(Exception):
    """Prometheus did not answer the query with one number."""


def _query(url: str, expr: str) -> float | None:
    """The one value of the instant query ``expr``; None where it has none, or no number
    (no requests in the window: a rate of 0 over 0)."""
    import requests
    from urllib3.exceptions import HTTPError

    from mlgitops import jsondoc
    from mlgitops.errors import BadInput

    try:
        with requests.get(
            f"{url.rstrip('/')}/api/v1/query",
            params={"query": expr},
            timeout=TIMEOUT_S,
            stream=True,
        ) as response:
            body = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
    except (requests.RequestException, HTTPError, OSError) as exc:
        raise _Unanswered(type(exc).__name__) from exc
    if response.status_code != 200:
        raise _Unanswered(f"HTTP {response.status_code}")
    if len(body) > MAX_ANSWER_BYTES:
        raise _Unanswered(f"an answer of more than {MAX_ANSWER_BYTES} bytes")
    try:
        result = jsondoc.loads(body, "the answer")["data"]["result"]
        values = [float(series["value"][1]) for series in result]
    except (BadInput, ValueError, KeyError, TypeError, IndexError) as exc:
        raise _Unanswered("not a vector of numbers") from exc
    if len(values) > 1:
        raise _Unanswered(f"{len(values)} series where one was expected")
    if not values or math.isnan(values[0]):
        return None
    return values[0]
