"""A KServe canary's next share, held to its own requests: ``promote --env --when-healthy``
asks a real Prometheus, scraping Knative queue-proxy metrics of the canary's revision
as the ServiceMonitor does, for the revision's error rate and p99 latency over the
environment's analysis window, and raises the share only where they hold to the
``analysis`` thresholds. (KServe measures nothing between two steps, and before this
nothing here did either: a canary answering every fifth request 500 got the next share.)"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from mlgitops.gitops.canary_metrics import MAX_ANSWER_BYTES, Measured, client_errors, measure
from mlgitops.render.alerts import request_exprs
from mlgitops.spec import load_repo
from mlgitops.spec.model import Pipeline
from tests.deploy.kube_api import KubeApi
from tests.deploy.test_deploy import deploy
from tests.deploy.test_promote_rollback import _share, healthy, record, synced
from tests.deploy.test_status import READY, cluster_objects, inference_service, served
from tests.deploy.world import World, cli_run, git, make_world, reviewed_run, write_pipeline
from tests.fixtures.mlflow_server import MlflowServer
from tests.serve import fakepods, lab

#: Knative's queue-proxy latency buckets (ms) that matter here.
BUCKETS = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


@dataclass
class QueueProxy:
    """A revision's queue-proxy metrics endpoint (port ``http-usermetric``): requests
    counted by status class and latency as Knative names them, fed at 40 a second, every
    ``error_every``-th one a 500 and every ``refuse_every``-th other one a 400 (0: none),
    while ``quiet`` is false. As Knative's, a status class's series appears once the
    revision answers one (its counters start at no series, not at 0)."""

    service: str
    revision: str
    namespace: str
    name: str = "queue-proxy"
    latency_ms: float = 20
    error_every: int = 0
    refuse_every: int = 0
    quiet: bool = True
    metrics_port: int = 0
    up: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    served: int = 0
    total_ms: float = 0.0

    def answer(self, count: int) -> None:
        for _ in range(count):
            self.served += 1
            failed = self.error_every and self.served % self.error_every == 0
            refused = self.refuse_every and self.served % self.refuse_every == 0
            kind = "5xx" if failed else "4xx" if refused else "2xx"
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.total_ms += self.latency_ms
            for i, bound in enumerate(BUCKETS):
                self.buckets[i] += self.latency_ms <= bound

    def text(self) -> str:
        labels = (
            f'namespace_name="{self.namespace}",service_name="{self.service}",'
            f'configuration_name="{self.service}",revision_name="{self.revision}"'
        )
        lines = ["# TYPE revision_request_count counter"]
        for kind, count in self.counts.items():
            code = kind.replace("xx", "00")
            lines.append(
                f'revision_request_count{{{labels},response_code="{code}",'
                f'response_code_class="{kind}"}} {count}'
            )
        lines.append("# TYPE revision_request_latencies histogram")
        for bound, count in zip(BUCKETS, self.buckets, strict=True):
            lines.append(f'revision_request_latencies_bucket{{{labels},le="{bound}"}} {count}')
        lines.append(f'revision_request_latencies_bucket{{{labels},le="+Inf"}} {self.served}')
        lines.append(f"revision_request_latencies_sum{{{labels}}} {self.total_ms}")
        lines.append(f"revision_request_latencies_count{{{labels}}} {self.served}")
        return "\n".join(lines) + "\n" if self.served else ""

    def exposition(self) -> bytes:
        return self.text().encode()


@contextmanager
def http_serving(answer: Callable[[], tuple[int, bytes]]) -> Iterator[int]:
    """A loopback HTTP server answering every GET with ``answer()``'s status and body; its
    port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answer()
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def scraped(proxy: QueueProxy, folder: Path, *others: QueueProxy) -> Iterator[str]:
    """``proxy`` (and ``others``: more revisions) fed and served, and a real Prometheus
    scraping each every second with the labels the ServiceMonitor gives it (the namespace,
    the revision's private Service); Prometheus' URL."""
    folder.mkdir()
    with fakepods.running([proxy, *others]):
        targets = [lab.Target(p, p.namespace, f"{p.revision}-private") for p in (proxy, *others)]
        url, prometheus = lab.start_prometheus(
            lab.prometheus_binary(), folder, targets, "1s", "/metrics"
        )
        try:
            yield url
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=30)
            shutil.rmtree(folder / "tsdb", ignore_errors=True)


def measured_spec(text: str) -> str:
    """The example spec with production's analysis over 8 s, scraped each second."""
    analysis = "max_error_rate: 0.01, max_p99_ms: 250}"
    assert text.count(analysis) == 1 and text.count("\ndeploy:\n") == 1
    text = text.replace(analysis, "max_error_rate: 0.01, max_p99_ms: 250, interval: 8s}")
    return text.replace("\ndeploy:\n", "\ndeploy:\n  metrics: {interval: 1s}\n")


def _measured_world(
    tmp_path: Path, uri: str, pause: str | None = None, promoted_at: str | None = None
) -> World:
    """A KServe pipeline whose production analysis measures over 8 s, scraped each second
    (its canary holding each step for ``pause``); model v1 deployed to staging and promoted
    to production (its first step, 10%), by a commit dated ``promoted_at`` where given."""
    world = make_world(tmp_path / "kserve", kserve=True)
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    text = measured_spec(spec.read_text())
    if pause is not None:
        steps = "canary: {steps: [10, 50, 100]}"
        assert text.count(steps) == 1
        text = text.replace(steps, f"canary: {{steps: [10, 50, 100], pause: {pause}}}")
    spec.write_text(text)
    assert cli_run(world.work, "render") == 0
    git(world.work, "commit", "-qam", "Measure the production canary each 8 s")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    with pytest.MonkeyPatch.context() as env:
        if promoted_at is not None:
            env.setenv("GIT_COMMITTER_DATE", promoted_at)
        promoted = ("promote", world.name, "--to", "production", "--tracking-uri", uri)
        assert cli_run(world.work, *promoted) == 0
    git(world.work, "pull", "-q", "origin", "main")
    return world


def _cluster_at(kube_api: KubeApi, world: World, share: int) -> None:
    """Production synced to the remote's tip, Ready, its latest revision at ``share``."""
    app, _ = cluster_objects(world, "production", kind="InferenceService")
    kube_api.put({**app, "status": healthy(synced(world))})
    kube_api.put(inference_service(world, "production", share, served(world, share, READY)))


def test_a_kserve_canary_gets_its_next_share_only_while_its_requests_hold(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_server.uri
    world = _measured_world(tmp_path, uri)
    revision = f"{world.name}-predictor-00002"  # the latest revision `served` names
    proxy = QueueProxy(f"{world.name}-predictor", revision, "ml")
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    _cluster_at(kube_api, world, 10)
    with scraped(proxy, tmp_path / "prometheus") as url:
        step = ("promote", world.name, "--tracking-uri", uri, "--env", "production")
        step += ("--when-healthy", "--kubeconfig", kubeconfig, "--prometheus", url)
        # no request to the canary yet: nothing says it holds
        head = world.remote_head()
        capsys.readouterr()
        assert cli_run(world.work, *step) == 1
        assert capsys.readouterr().err == (
            "mlgitops promote: error: production is not ready for its canary's next share "
            f"(Prometheus holds no requests to revision {revision} over the last 8s yet "
            "(queue-proxy metrics, as the ServiceMonitor scrapes them)); nothing promoted\n"
        )
        assert world.remote_head() == head

        # its requests hold: --wait waits for them to be measured, then 50%
        proxy.quiet = False
        assert cli_run(world.work, *step, "--wait", "60s") == 0
        share = (_share(world, "production"), record(world, "production")["traffic_percent"])
        assert share == (50, 50)

        # every fifth request a 500: refused at once, --wait or not
        git(world.work, "pull", "-q", "origin", "main")
        _cluster_at(kube_api, world, 50)
        proxy.error_every = 5
        errors, _ = request_exprs(world_pipeline(world), "8s", 'namespace="ml"', revision)
        _until_above(url, errors, 0.15)
        head = world.remote_head()
        capsys.readouterr()
        assert cli_run(world.work, *step, "--wait", "60s") == 1
        out, err = capsys.readouterr()
        assert "waiting up to" not in out
        said = re.fullmatch(
            "mlgitops promote: error: production is not ready for its canary's next share "
            rf"\(revision {revision}'s error rate over the last 8s is ([0-9.]+)%, above "
            r"analysis.max_error_rate 1%\); nothing promoted\n",
            err,
        )
        assert said is not None, err
        assert 15 <= float(said.group(1)) <= 25
        assert world.remote_head() == head

        # slow, without errors: every request in the (200, 500] ms bucket, so Prometheus
        # puts the p99 at 200 + 0.99 x 300 ms once the window holds only these
        proxy.error_every, proxy.latency_ms = 0, 400
        _, latency = request_exprs(world_pipeline(world), "8s", 'namespace="ml"', revision)
        # (496.9 passed while a fast request was still in the window, and promote then read
        # 496.9 ms: only the slow requests give 497)
        _until_above(url, latency, 496.99, errors_below=(errors, 0.01))
        capsys.readouterr()
        assert cli_run(world.work, *step) == 1
        assert capsys.readouterr().err == (
            "mlgitops promote: error: production is not ready for its canary's next share "
            f"(revision {revision}'s p99 latency over the last 8s is 497 ms, above "
            "analysis.max_p99_ms 250 ms); nothing promoted\n"
        )
        assert world.remote_head() == head

    # Prometheus gone: nothing measured, nothing promoted
    assert cli_run(world.work, *step) == 1
    assert capsys.readouterr().err == (
        "mlgitops promote: error: production is not ready for its canary's next share "
        f"(Prometheus at {url} did not answer (ConnectionError)); nothing promoted\n"
    )
    assert world.remote_head() == head


def test_a_kserve_canary_holds_each_share_for_its_pause(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Argo Rollouts holds each step for the environment's ``canary.pause`` before the next;
    a KServe canary got its next share from ``promote --env --when-healthy`` as soon as its
    requests held, whatever the pause said. It then held each share for the pause counted
    from the commit that gave it, which Argo CD may sync long after (it polls, or waits
    for a sync window): here an hour. It now counts from the sync that first served the
    share, as Argo CD's history says: --wait waits it out."""
    uri = mlflow_server.uri
    an_hour_ago = str(int(time.time()) - 3600)
    world = _measured_world(tmp_path, uri, pause="60s", promoted_at=f"{an_hour_ago} +0000")
    record_path = f"manifests/{world.name}/overlays/production/model.json"
    gave = git(world.work, "log", "-1", "--format=%H", "--", record_path)
    assert git(world.work, "log", "-1", "--format=%ct", gave) == an_hour_ago
    revision = f"{world.name}-predictor-00002"  # the latest revision `served` names
    proxy = QueueProxy(f"{world.name}-predictor", revision, "ml", quiet=False)
    step = ("promote", world.name, "--tracking-uri", uri, "--env", "production")
    step += ("--when-healthy", "--kubeconfig", str(kube_api.kubeconfig(tmp_path)))
    app, _ = cluster_objects(world, "production", kind="InferenceService")
    with scraped(proxy, tmp_path / "prometheus") as url:
        step += ("--prometheus", url)
        errors, _ = request_exprs(world_pipeline(world), "8s", 'namespace="ml"', revision)
        # synced to the share's commit, and its history says so only of the commit before it
        _cluster_at(kube_api, world, 10)
        earlier = git(world.work, "rev-parse", f"{gave}~")
        before = {"id": 1, "revision": earlier, "deployedAt": "2025-01-01T00:00:00Z"}
        kube_api.put({**app, "status": healthy(synced(world), [before])})
        _until_above(url, f"1 - ({errors})", 0.99)  # its requests hold
        head = world.remote_head()
        capsys.readouterr()
        assert cli_run(world.work, *step) == 1
        assert capsys.readouterr().err == (
            "mlgitops promote: error: production is not ready for its canary's next share "
            f"(Argo CD's history of Application {app['metadata']['namespace']}/"
            f"{app['metadata']['name']} ends in no sync of "
            f"commit {gave[:12]}, which gave its 10%, or of a later one, so how long it has "
            "been served is not known (canary.pause 60s; the history keeps the Application's "
            "last revisionHistoryLimit syncs)); nothing promoted\n"
        )

        _cluster_at(kube_api, world, 10)  # Argo CD synced it now, an hour after the commit
        synced_at = time.time()
        capsys.readouterr()
        assert cli_run(world.work, *step) == 1
        said = re.fullmatch(
            "mlgitops promote: error: production is not ready for its canary's next share "
            r"\(its 10% has held for ([0-9]+)s of canary.pause 60s, counted from Argo CD's "
            rf"sync of {world.remote_head()[:12]}, the first that served it\); nothing "
            r"promoted\n",
            capsys.readouterr().err,
        )
        assert said is not None
        assert int(said.group(1)) < 60
        assert world.remote_head() == head

        assert cli_run(world.work, *step, "--wait", "2m") == 0
        out = capsys.readouterr().out
        assert "waiting up to 120s for production: its 10% has held for " in out
        share = (_share(world, "production"), record(world, "production")["traffic_percent"])
        assert share == (50, 50)
        git(world.work, "fetch", "-q", "origin")
        landed = int(git(world.work, "log", "-1", "--format=%ct", "origin/main"))
        assert landed - int(synced_at) >= 59  # the sync's time stamp is whole seconds


def test_a_kserve_canary_that_refuses_what_its_clients_send_gets_no_next_share(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new model that refuses the requests its clients send (it asks for a column they do
    not send) answers them 400: the queue-proxy counts 4xx, not 5xx. Held to the other
    revision's share of 4xx answers, the canary gets no next share; refusing clients' own
    bad requests as often as the other revision does, it gets it."""
    uri = mlflow_server.uri
    world = _measured_world(tmp_path, uri)
    predictor = f"{world.name}-predictor"
    revision = f"{predictor}-00002"  # the latest revision `served` names
    canary = QueueProxy(predictor, revision, "ml", quiet=False, refuse_every=2)
    stable = QueueProxy(predictor, f"{predictor}-00001", "ml", quiet=False)
    _cluster_at(kube_api, world, 10)
    step = ("promote", world.name, "--tracking-uri", uri, "--env", "production")
    step += ("--when-healthy", "--kubeconfig", str(kube_api.kubeconfig(tmp_path)))
    refused = client_errors(world_pipeline(world), "8s", 'namespace="ml"', revision)
    with scraped(canary, tmp_path / "prometheus", stable) as url:
        step += ("--prometheus", url)
        # the stable revision has answered no 4xx yet: it has no 4xx series at all
        _until_above(url, refused, 0.3)
        assert "4xx" not in stable.counts
        head = world.remote_head()
        capsys.readouterr()
        assert cli_run(world.work, *step, "--wait", "60s") == 1
        said = re.fullmatch(
            "mlgitops promote: error: production is not ready for its canary's next share "
            rf"\(revision {revision}'s error rate over the last 8s is ([0-9.]+)% \(of it, 4xx "
            r"answers beyond the other revisions' share of them: ([0-9.]+)%\), above "
            r"analysis.max_error_rate 1%\); nothing promoted\n",
            capsys.readouterr().err,
        )
        assert said is not None
        assert said.group(1) == said.group(2)  # no 5xx
        assert 30 <= float(said.group(1)) <= 50  # half refused, less the chance margin
        assert world.remote_head() == head

        # both refuse every tenth request: their clients' own bad requests, not the model's
        canary.refuse_every = stable.refuse_every = 10
        _until_above(url, f"1 - ({refused})", 0.999)
        assert cli_run(world.work, *step, "--wait", "60s") == 0
        share = (_share(world, "production"), record(world, "production")["traffic_percent"])
        assert share == (50, 50)


def test_promote_to_from_a_kserve_environment_holds_its_model_to_its_requests(
    tmp_path: Path,
    mlflow_server: MlflowServer,
    kube_api: KubeApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Staging (with analysis here) serves model v1 in full: before it goes to production,
    its requests are measured as a canary's are."""
    uri = mlflow_server.uri
    world = make_world(tmp_path / "kserve", kserve=True)
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    staging = "      canary: {steps: [50, 100]}\n"
    analysis = '      analysis: {prometheus: "http://prometheus.monitoring:9090", interval: 8s}\n'
    assert spec.read_text().count(staging) == 1
    spec.write_text(measured_spec(spec.read_text().replace(staging, staging + analysis)))
    assert cli_run(world.work, "render") == 0
    git(world.work, "commit", "-qam", "Measure staging too")
    git(world.work, "push", "-q", "origin", "main")
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    assert (
        cli_run(world.work, "promote", world.name, "--env", "staging", "--tracking-uri", uri) == 0
    )
    app, _ = cluster_objects(world, "staging", kind="InferenceService")
    kube_api.put({**app, "status": healthy(synced(world))})
    kube_api.put(inference_service(world, "staging", 100, served(world, 100, READY)))
    revision = f"{world.name}-predictor-00002"
    proxy = QueueProxy(f"{world.name}-predictor", revision, "ml-staging", quiet=False)
    proxy.error_every = 4
    to = ("promote", world.name, "--to", "production", "--tracking-uri", uri, "--when-healthy")
    to += ("--kubeconfig", str(kube_api.kubeconfig(tmp_path)))
    head = world.remote_head()
    with scraped(proxy, tmp_path / "prometheus") as url:
        errors, _ = request_exprs(world_pipeline(world), "8s", 'namespace="ml-staging"', revision)
        _until_above(url, errors, 0.2)
        capsys.readouterr()
        assert cli_run(world.work, *to, "--prometheus", url) == 1
        err = capsys.readouterr().err
        said = re.fullmatch(
            r"mlgitops promote: error: staging is not healthy \(revision "
            rf"{revision}'s error rate over the last 8s is ([0-9.]+)%, above "
            r"analysis.max_error_rate 1%\); nothing promoted\n",
            err,
        )
        assert said is not None, err
        assert 20 <= float(said.group(1)) <= 30
        assert world.remote_head() == head

        proxy.error_every = 0
        _until_above(url, f"1 - ({errors})", 0.99)
        assert cli_run(world.work, *to, "--prometheus", url) == 0
        assert (record(world, "production")["version"], _share(world, "production")) == ("1", 10)


def world_pipeline(world: World) -> Pipeline:
    return load_repo(world.work).pipeline(world.name)


def _until_above(
    url: str, expr: str, bound: float, errors_below: tuple[str, float] | None = None
) -> None:
    """Wait (up to 60 s) until Prometheus' value of ``expr`` is above ``bound`` (and, with
    ``errors_below``, that query's below its bound): the window holds the new phase only."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _value(url, expr) > bound and (
            errors_below is None or _value(url, errors_below[0]) < errors_below[1]
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"{expr} stayed at or below {bound}")


def _value(url: str, expr: str) -> float:
    answer = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


@contextmanager
def answering(status: int, body: bytes) -> Iterator[str]:
    """An HTTP server that answers every request ``status`` with ``body``; its URL."""
    with http_serving(lambda: (status, body)) as port:
        yield f"http://127.0.0.1:{port}"


def _vector(*values: str) -> bytes:
    series = [{"metric": {}, "value": [1.0, value]} for value in values]
    return json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": series}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (503, b"down", "Prometheus at {url} did not answer (HTTP 503)"),
        (200, b"<html>", "Prometheus at {url} did not answer (not a vector of numbers)"),
        (200, b"[]", "Prometheus at {url} did not answer (not a vector of numbers)"),
        (200, b"[" * 100_000, "Prometheus at {url} did not answer (not a vector of numbers)"),
        (
            200,
            _vector("0.5", "0.1"),
            "Prometheus at {url} did not answer (2 series where one was expected)",
        ),
        (
            200,
            b" " * (MAX_ANSWER_BYTES + 1),
            f"Prometheus at {{url}} did not answer (an answer of more than {MAX_ANSWER_BYTES} bytes)",
        ),
        (
            200,
            _vector("NaN"),
            "Prometheus holds no requests to revision m-predictor-00002 over the last 8s yet (queue-proxy metrics, as the ServiceMonitor scrapes them)",
        ),
        (
            200,
            _vector(),
            "Prometheus holds no requests to revision m-predictor-00002 over the last 8s yet (queue-proxy metrics, as the ServiceMonitor scrapes them)",
        ),
    ],
    ids=[
        "an error",
        "no JSON",
        "no vector",
        "nested too deep",
        "two series",
        "too long",
        "no requests",
        "no series",
    ],
)
def test_what_prometheus_answers_that_is_no_measurement_is_not_ready(
    status: int, body: bytes, said: str, tmp_path: Path
) -> None:
    pipeline = kserve_pipeline(tmp_path)
    assert pipeline.deploy is not None
    [production] = [e for e in pipeline.deploy.environments if e.name == "production"]
    with answering(status, body) as url:
        assert measure(url, pipeline, production, "m-predictor-00002") == Measured(
            (said.format(url=url),), failed=False
        )


def test_a_revision_name_no_knative_revision_has_is_not_queried(tmp_path: Path) -> None:
    pipeline = kserve_pipeline(tmp_path)
    assert pipeline.deploy is not None
    [production] = [e for e in pipeline.deploy.environments if e.name == "production"]
    with answering(200, _vector("0")) as url:
        assert measure(url, pipeline, production, 'm"} or vector(0) #') == Measured(
            ("the InferenceService names its latest revision 'm\"} or vector(0) #'",)
        )


def kserve_pipeline(tmp_path: Path) -> Pipeline:
    """The KServe pipeline ``m`` of :func:`measured_spec`, in a repository of its own."""
    assert cli_run(tmp_path, "init") == 0
    write_pipeline(tmp_path, "m", kserve=True)
    spec = tmp_path / "pipelines" / "m.yaml"
    spec.write_text(measured_spec(spec.read_text()))
    return load_repo(tmp_path).pipeline("m")


def test_prometheus_is_asked_only_where_there_are_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staging has no analysis: nothing to hold its canary to. Refused before anything is
    read, as a URL that is none, or --prometheus without --when-healthy."""
    world = make_world(tmp_path, kserve=True)
    head = world.remote_head()
    measured = ("--when-healthy", "--prometheus")
    capsys.readouterr()
    for env, extra, said in (
        (
            "staging",
            (*measured, "http://127.0.0.1:9090"),
            "--prometheus measures a canary against its environment's analysis thresholds, "
            "and staging has no analysis (deploy.environments[].analysis)",
        ),
        (
            "production",
            (*measured, "prometheus:9090"),
            "--prometheus: expected an http:// or https:// URL: 'prometheus:9090'",
        ),
        (
            "production",
            ("--prometheus", "http://127.0.0.1:9090"),
            "--prometheus is for --when-healthy: where the canary is measured",
        ),
    ):
        assert cli_run(world.work, "promote", world.name, "--env", env, *extra) == 2
        assert capsys.readouterr().err == f"mlgitops promote: error: {said}\n"
    to = ("promote", world.name, "--to", "production", *measured, "http://127.0.0.1:9090")
    rollouts = make_world(tmp_path / "rollouts")
    assert cli_run(rollouts.work, *to[:1], rollouts.name, *to[2:]) == 2
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: --prometheus is for KServe (deploy.target: kserve): "
        f"{rollouts.name}'s Argo Rollouts analysis measures its canary in the cluster\n"
    )
    assert cli_run(world.work, *to) == 2  # staging, the environment before production
    assert capsys.readouterr().err == (
        "mlgitops promote: error: --prometheus measures a canary against its environment's "
        "analysis thresholds, and staging has no analysis (deploy.environments[].analysis)\n"
    )
    assert world.remote_head() == head
