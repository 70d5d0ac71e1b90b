"""What the model server exports for Prometheus: requests, latency, predictions.

- ``mlgitops_requests_total{handler, code}``: requests by route and status class
  (``2xx``, ``4xx``, ``5xx``); ``handler`` is one of the scoring app's routes or
  ``other``, so the label set stays small whatever clients send.
- ``mlgitops_request_duration_seconds{handler}``: a latency histogram.
- classifiers: ``mlgitops_predictions_total{class}``, predictions per predicted class
  (at most ``MAX_CLASSES`` values, then ``class="other"``).
- regressors: ``mlgitops_prediction``, a histogram of the predicted values that are
  finite numbers.
- ``mlgitops_model_info{model_uri, task}``: 1, names the model this process serves.

Recording costs one lock and a few array operations per request, whatever the
batch size: predictions are binned with numpy, not observed one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

#: Latency buckets (seconds): fine around the p99 thresholds canaries use (50 ms to 1 s).
LATENCY_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5),
    *(0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
#: Default upper bounds of the regression prediction histogram: decades on both sides of 0.
DEFAULT_PREDICTION_BUCKETS = (
    *(-(10.0**k) for k in range(6, -4, -1)),
    0.0,
    *(10.0**k for k in range(-3, 7)),
)
MAX_CLASSES = 50
HANDLERS = frozenset({"/invocations", "/ping", "/health", "/version"})


class ServerMetrics:
    """The metrics of one server process, in their own registry."""

    def __init__(self, model_uri: str, task: str, prediction_buckets: Sequence[float] = ()) -> None:
        self.registry = CollectorRegistry()
        self.task = task
        self.requests = Counter(
            "mlgitops_requests",
            "Requests by route and status class.",
            ("handler", "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlgitops_request_duration_seconds",
            "Time from receiving a request to sending its response.",
            ("handler",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # The scoring route's series are present from the start: rate() sees the first requests.
        for code in ("2xx", "4xx", "5xx"):
            self.requests.labels("/invocations", code)
        self.latency.labels("/invocations")
        info = Gauge(
            "mlgitops_model_info",
            "The model this server serves (always 1).",
            ("model_uri", "task"),
            registry=self.registry,
        )
        info.labels(model_uri, task).set(1)
        self.predictions: _ClassCounts | _ValueHistogram
        if task == "classification":
            self.predictions = _ClassCounts()
        else:
            self.predictions = _ValueHistogram(prediction_buckets or DEFAULT_PREDICTION_BUCKETS)
        self.registry.register(self.predictions)

    def request(self, path: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        handler = path if path in HANDLERS else "other"
        self.requests.labels(handler, f"{status // 100}xx").inc()
        self.latency.labels(handler).observe(seconds)

    def predicted(self, output: Any) -> None:
        """Record one batch of predictions (whatever ``predict`` returned)."""
        values = _predicted(output)
        if values.size == 0:  # a batch of no rows: nothing predicted
            return
        self.predictions.add(values)


def _predicted(output: Any) -> Any:
    """Each row's prediction in what a model's ``predict`` returned, as a 1-d array: the
    first column of a DataFrame, of a dict of columns, of records or of rows (a column
    vector's, a ragged list's); a single value is one row's."""
    import numpy as np
    import pandas as pd

    if isinstance(output, dict):
        output = next(iter(output.values()), [])
    elif isinstance(output, list | tuple) and output and all(isinstance(r, dict) for r in output):
        output = pd.DataFrame(list(output))
    if isinstance(output, pd.DataFrame):
        return output.iloc[:, 0].to_numpy() if output.shape[1] else np.array([])
    try:
        values = np.asarray(output)
    except ValueError:  # rows of unequal lengths: each row's first value
        values = np.array([_first(row) for row in output] + [None], dtype=object)[:-1]
    if values.size == 0:
        return values.ravel()
    if values.ndim > 1:  # a column vector or rows: the first column is the prediction
        values = values.reshape(values.shape[0], -1)[:, 0]
    return values.ravel()


def _first(row: Any) -> Any:
    """A row's first value (a row of none: None)."""
    import numpy as np

    flat = np.asarray(row, dtype=object).ravel()
    return flat[0] if flat.size else None


class _ClassCounts(Collector):
    """``mlgitops_predictions_total{class}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, values: Any) -> None:
        import numpy as np

        try:
            found, counts = np.unique(values, return_counts=True)
        except TypeError:  # mixed types (object arrays) do not sort: compare them as text
            found, counts = np.unique(values.astype(str), return_counts=True)
        with self._lock:
            for item, count in zip(found.tolist(), counts.tolist(), strict=True):
                value = str(item)
                key = value if value in self._counts or len(self._counts) < MAX_CLASSES else "other"
                self._counts[key] = self._counts.get(key, 0) + int(count)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "mlgitops_predictions", "Predictions by predicted class.", labels=("class",)
        )
        with self._lock:
            for value, count in sorted(self._counts.items()):
                family.add_metric((value,), count)
        yield family


class _ValueHistogram(Collector):
    """``mlgitops_prediction``: a histogram of predicted values, binned a batch at a time."""

    def __init__(self, bounds: Sequence[float]) -> None:
        import numpy as np

        self._bounds = np.asarray(sorted(bounds), dtype=float)
        self._lock = threading.Lock()
        self._buckets = np.zeros(len(self._bounds) + 1, dtype=np.int64)
        self._sum = 0.0

    def add(self, values: Any) -> None:
        import numpy as np
        import pandas as pd

        # Only finite numbers are binned: one NaN would make the sum NaN from then on.
        if values.dtype.kind in "biuf":  # numbers already: no conversion of each value
            numbers = values.astype(float)
        else:
            numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
            numbers = numbers.to_numpy(float)
        numbers = numbers[np.isfinite(numbers)]
        # side="left": a value equal to a bound belongs to that bound's bucket (le).
        index = np.searchsorted(self._bounds, numbers, side="left")
        counts = np.bincount(index, minlength=len(self._buckets))
        with self._lock:
            self._buckets += counts
            self._sum += float(numbers.sum())

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            cumulative = self._buckets.cumsum().tolist()
            total = self._sum
        edges = [_bound(b) for b in self._bounds.tolist()] + ["+Inf"]
        family = HistogramMetricFamily("mlgitops_prediction", "Predicted values.")
        family.add_metric([], list(zip(edges, cumulative, strict=True)), sum_value=total)
        yield family


def _bound(value: float) -> str:
    """A bucket bound as Prometheus' client writes one (``0.001``, ``1000.0``)."""
    return repr(float(value))
