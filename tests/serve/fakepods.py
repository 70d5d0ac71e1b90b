"""Model-server pods without a model: each one the server's own metrics
(:class:`mlgitops.serving.metrics.ServerMetrics`) behind a ``/metrics`` endpoint, fed
requests at a steady rate with the status classes, latency and predictions a test sets
(or none while ``quiet``), and taken down (every scrape answered 503, as a crashed
container's) or up at will.
For the canary analysis' queries, where what matters is which series Prometheus holds
when, and the model itself is beside the point."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mlgitops.serving.metrics import ServerMetrics

#: Requests each pod answers a second, and how often they are recorded.
RATE = 40
TICK_S = 0.05


@dataclass
class Pod:
    name: str
    task: str = "classification"
    #: status of each of ``len(statuses)`` requests in turn
    statuses: Sequence[int] = (200,)
    #: prediction of each answered request in turn
    predictions: Sequence[object] = (0, 1)
    buckets: Sequence[float] = ()
    #: how long each request takes
    latency_s: float = 0.02
    up: bool = True
    #: no requests while quiet (its endpoint still answers scrapes)
    quiet: bool = False
    metrics: ServerMetrics = field(init=False)
    metrics_port: int = field(init=False, default=0)
    served: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.metrics = ServerMetrics(f"models:/m/{self.name}", self.task, self.buckets)

    def answer(self, count: int) -> None:
        for _ in range(count):
            status = self.statuses[self.served % len(self.statuses)]
            self.metrics.request("/invocations", status, self.latency_s)
            if status == 200:
                self.metrics.predicted([self.predictions[self.served % len(self.predictions)]])
            self.served += 1

    def exposition(self) -> bytes:
        return generate_latest(self.metrics.registry)


class Scraped(Protocol):
    """What :func:`running` serves and feeds: a pod, or another fake metrics endpoint."""

    up: bool
    quiet: bool
    metrics_port: int

    def answer(self, count: int) -> None: ...

    def exposition(self) -> bytes: ...


@contextmanager
def running(pods: Sequence[Scraped]) -> Iterator[None]:
    """Every pod's endpoint served, and requests answered at :data:`RATE` while up."""
    lock, stop, servers = threading.Lock(), threading.Event(), []
    for pod in pods:

        class Handler(BaseHTTPRequestHandler):
            owner = pod

            def do_GET(self) -> None:
                with lock:
                    body = self.owner.exposition()
                if not self.owner.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        pod.metrics_port = server.server_address[1]
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def traffic() -> None:
        owed = 0.0
        while not stop.wait(TICK_S):
            owed += RATE * TICK_S
            whole = int(owed)
            owed -= whole
            with lock:
                for pod in pods:
                    if pod.up and not pod.quiet:
                        pod.answer(whole)

    feeder = threading.Thread(target=traffic, daemon=True)
    feeder.start()
    try:
        yield
    finally:
        stop.set()
        feeder.join()
        for server in servers:
            server.shutdown()
            server.server_close()
