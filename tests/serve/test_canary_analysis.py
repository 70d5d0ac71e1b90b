"""The generated canary analysis judged by a real Prometheus scraping the real model server.

A model trained by ``mlgitops train`` is registered (as ``deploy`` does) and served by
the command of the built production overlay, twice: the stable and the canary pods of
namespace ``ml``. A third server runs the overlay as it reads after deploying a slow
model version (a wrapper that sleeps before predicting), as the canary of namespace
``ml-slow``. Prometheus scrapes them with the labels a ServiceMonitor gives them, at the
ServiceMonitor's interval. Then traffic, phase by phase, and after each phase every
metric of the AnalysisTemplate measured as Argo Rollouts measures it (arguments of the
Rollout substituted, the query sent to Prometheus' HTTP API, the conditions evaluated):

- healthy: the same rows to stable and canary;
- errors: a quarter of the canary's requests hold a missing value, which the model
  cannot score (500); some requests are malformed (400), to the stable and the canary
  alike, as clients send them;
- rejects: half the canary's requests lack a column the stable's have, as every
  request does for a model that needs a column its clients do not send (400 from the
  canary only);
- shift: the canary is sent only rows of one class, the stable the usual mix;
- flip (namespace ``ml-flip``): as before a rollout, the canary Service selects the
  stable's pod, which serves traffic; then, as when the rollout starts, it selects the
  canary's pod alone, which answers an eighth of its requests 500. The window holds both.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mlgitops.digest import download_model, folder_digest
from mlgitops.gitops.overlay import Overlay, set_model_digest, set_model_uri
from mlgitops.gitops.registry import ensure_version, open_registry
from mlgitops.render.analysis import NOISE_Z
from tests.fixtures import argo_analysis
from tests.fixtures.k8s import kustomize_build
from tests.fixtures.mlflow_server import MlflowServer, stop
from tests.serve import lab
from tests.train.helpers import cli, commit, example_repo, unique

pytestmark = pytest.mark.slow


SLEEPY = """\
import time

import mlflow.pyfunc
from mlflow.models import set_model


class Sleepy(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.model = mlflow.pyfunc.load_model(context.artifacts["model"])

    def predict(self, context, model_input, params=None):
        time.sleep(3)
        return self.model.predict(model_input)


set_model(Sleepy())
"""

LOG_SLEEPY = """\
import faulthandler
import sys

# A stall prints where every thread is, and ends the process (the fixture shows it).
faulthandler.dump_traceback_later(90, exit=True)

import mlflow

uri, name, model_uri, code = sys.argv[1:]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
mlflow.set_experiment(name)
signature = mlflow.models.get_model_info(model_uri).signature
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=code,
        artifacts={"model": model_uri},
        signature=signature,
        pip_requirements=["mlflow"],
    )
print(mlflow.register_model(info.model_uri, name).version)
"""

SCENARIOS = ("healthy", "slow", "errors", "rejects", "shift", "flip")
#: Traffic of a phase lasts half the analysis window (8 s). Each phase is measured at an
#: instant whose window holds, for every target, a scrape from before the phase's first
#: request and one from after its last, and nothing of the phase before: each
#: measurement counts exactly one phase's requests, however late the scrapes come (a
#: phase whose scrapes came too late for that goes again).
TRAFFIC_S = 4.0
WINDOW_S = 8.0
#: Traffic of the flip phase before the flip, and after it
FLIP_S = 2.0


@dataclass
class Lab:
    name: str
    prometheus: str
    template: dict[str, Any]
    args: dict[str, str]
    measured: dict[str, dict[str, tuple[list[float], str]]] = field(default_factory=dict)
    #: scenario -> status -> how many requests the canary answered with it
    sent: dict[str, dict[int, int]] = field(default_factory=dict)
    #: the same, of the stable
    stable_sent: dict[str, dict[int, int]] = field(default_factory=dict)
    #: scenario -> predicted class -> (stable's count, canary's count), from the responses
    predicted: dict[str, dict[Any, list[int]]] = field(default_factory=dict)


def _rows(root: Path) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Feature rows of the example data: of benign and of malignant tumours."""
    import csv

    with (root / "data" / "tumors.csv").open() as handle:
        records = list(csv.DictReader(handle))
    rows = [{k: float(v) for k, v in r.items() if k != "malignant"} for r in records]
    labels = [r["malignant"] for r in records]
    benign = [row for row, label in zip(rows, labels, strict=True) if label == "0"]
    malignant = [row for row, label in zip(rows, labels, strict=True) if label == "1"]
    return benign, malignant


def _body(rows: list[dict[str, float]]) -> str:
    return json.dumps({"dataframe_records": rows})


def _register(uri: str, root: Path, name: str) -> tuple[str, str]:
    """Version 1 from the trained run (as deploy registers it), alias ``production``."""
    train = json.loads((root / ".mlgitops" / name / "train.json").read_text())
    registry = open_registry(uri, root)
    model_id = train["model_uri"].removeprefix("models:/")
    version = ensure_version(registry, name, train["run_id"], model_id)
    registry.set_alias(name, "production", version.version)
    return version.version, train["model_uri"]


def _log_sleepy(uri: str, name: str, trained_uri: str, code: Path) -> str:
    """Log and register the slow model in a process of its own (models from code); the
    version. A stall prints every thread's stack (MLflow's client retries a dead server
    with growing pauses: a registry URI left behind by an earlier test once did that)."""
    args = [sys.executable, "-c", LOG_SLEEPY, uri, name, trained_uri, str(code)]
    logged = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)
    assert logged.returncode == 0, logged.stderr
    return logged.stdout.split()[-1]


def _overlay_objects(
    root: Path, name: str, model_uri: str | None, tracking_uri: str = ""
) -> list[dict[str, Any]]:
    """The built production overlay, optionally after a deploy set its MODEL_URI and the
    MODEL_DIGEST of the files that URI has now (as deploy records them)."""
    overlay = root / "manifests" / name / "overlays" / "production"
    if model_uri is None:
        return kustomize_build(overlay)
    copy = root.parent / "deployed-manifests"
    shutil.copytree(root / "manifests", copy)
    path = copy / name / "overlays" / "production" / "kustomization.yaml"
    target = Overlay(name, "production")
    with tempfile.TemporaryDirectory() as tmp:
        digest = folder_digest(download_model(model_uri, Path(tmp) / "m", tracking_uri))
    text = set_model_digest(set_model_uri(path.read_text(), target, model_uri), target, digest)
    path.write_text(text)
    return kustomize_build(path.parent)


@pytest.fixture(scope="module")
def canary(mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    binary = lab.prometheus_binary()
    folder = tmp_path_factory.mktemp("canary")
    name = unique("canary")
    root = example_repo(folder / "repo", name)
    spec = root / "pipelines" / f"{name}.yaml"
    text = spec.read_text()
    # quick, and an estimator that cannot score a missing value (HistGradientBoosting can)
    head = (
        text[: text.index("deploy:")]
        .replace("HistGradientBoostingClassifier", "GradientBoostingClassifier")
        .replace("max_iter: 200", "n_estimators: 20")
    )
    spec.write_text(head + lab.DEPLOY)
    commit(root, "deploy with analysis")
    assert cli(root, "train", name, "--tracking-uri", mlflow_server.uri) == 0
    assert cli(root, "render") == 0
    _, trained_uri = _register(mlflow_server.uri, root, name)
    (folder / "sleepy.py").write_text(SLEEPY)
    slow_version = _log_sleepy(mlflow_server.uri, name, trained_uri, folder / "sleepy.py")

    objects = _overlay_objects(root, name, None)
    slow_uri = f"models:/{name}/{slow_version}"
    slow_objects = _overlay_objects(root, name, slow_uri, mlflow_server.uri)
    argv, env = lab.container_command(objects, folder / "scratch")
    slow_argv, slow_env = lab.container_command(slow_objects, folder / "scratch-slow")
    assert env["MODEL_URI"] == f"models:/{name}@production"
    assert (env["MODEL_DIGEST"], slow_env["MODEL_URI"]) == ("", slow_uri)
    assert slow_env["MODEL_DIGEST"].startswith("sha256:")  # the slow server loads checked files
    servers = [
        lab.start_server("stable", argv, env, mlflow_server.uri, folder),
        lab.start_server("canary", argv, env, mlflow_server.uri, folder),
        lab.start_server("slow", slow_argv, slow_env, mlflow_server.uri, folder),
    ]
    stable, good, slow = servers
    monitor = lab.one(objects, "ServiceMonitor")["spec"]["endpoints"][0]
    # the Services Argo Rollouts narrows to the stable and the canary pods, as rendered
    narrowed = lab.one(objects, "Rollout")["spec"]["strategy"]["canary"]
    stable_service, canary_service = narrowed["stableService"], narrowed["canaryService"]
    assert (stable_service, canary_service) == (f"{name}-stable", f"{name}-canary")
    targets = [
        lab.Target(stable, "ml", stable_service),
        lab.Target(good, "ml", canary_service),
        lab.Target(stable, "ml-slow", stable_service),
        lab.Target(slow, "ml-slow", canary_service),
    ]
    # ml-flip's canary Service selects the stable's pod until the flip phase
    before_rollout = [lab.Target(stable, "ml-flip", s) for s in (stable_service, canary_service)]
    during_rollout = [before_rollout[0], lab.Target(good, "ml-flip", canary_service)]
    procs = [s.proc for s in servers]
    try:
        for server in servers:
            lab.wait_ready(server)
        benign, malignant = _rows(root)
        _warm_up(servers, [benign[0], malignant[0]])
        url, prometheus = lab.start_prometheus(
            binary, folder, targets, monitor["interval"], monitor["path"], before_rollout
        )
        procs.append(prometheus)
        rollout = lab.one(objects, "Rollout")
        args = {
            a["name"]: a.get("value", "")
            for a in rollout["spec"]["strategy"]["canary"]["analysis"]["args"]
        }
        args["prometheus"] = url
        found = Lab(name, url, lab.one(objects, "AnalysisTemplate"), args)
        _wait_scraped(url, len(targets) + 2)

        def move(moved: list[lab.Target]) -> None:
            lab.move_targets(folder / "moving.json", moved)
            _wait_moved(url, moved[-1], time.time())

        flip = Flip(lambda: move(before_rollout), lambda: move(during_rollout), good)
        _run_phases(found, root, stable, good, slow, len(targets) + 2, flip)
        yield found
    finally:
        for proc in procs:
            stop(proc)


@dataclass(frozen=True)
class Flip:
    """ml-flip's canary Service: ``before`` selects the stable's pod, ``during`` the
    canary's; each returns once Prometheus scrapes the pod it selects."""

    before: Any
    during: Any
    canary: lab.Server


def _wait_moved(url: str, target: lab.Target, moment: float) -> None:
    """Until the Service's only target is ``target``'s pod, scraped after ``moment``."""
    where = f'namespace="{target.namespace}",service="{target.service}"'
    pod = f'{where},instance="127.0.0.1:{target.server.metrics_port}"'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alone = argo_analysis.query(url, f"count(mlgitops_model_info{{{where}}})") == [1]
        stamps = argo_analysis.query(url, f"timestamp(mlgitops_model_info{{{pod}}})")
        if alone and stamps and stamps[0] > moment:
            return
        time.sleep(0.05)
    raise AssertionError(f"Prometheus did not move {target.service} to {target.server.name}")


def _wait_scraped(url: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        up = argo_analysis.query(url, "up == 1")
        if len(up) == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not scrape all {count} targets")


def _scraped_after(url: str, moment: float, count: int) -> list[float]:
    """When each of the ``count`` targets was first scraped (successfully) after ``moment``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stamps = argo_analysis.query(url, "timestamp(mlgitops_model_info)")
        if len(stamps) == count and min(stamps) > moment:
            return stamps
        time.sleep(0.05)
    raise AssertionError(f"Prometheus did not scrape all {count} targets after {moment}")


def _post(session: requests.Session, server: lab.Server, body: str) -> tuple[int, list[Any]]:
    """Status and predictions of one scoring request."""
    answer = session.post(
        f"{server.url}/invocations",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    predictions = answer.json()["predictions"] if answer.status_code == 200 else []
    return answer.status_code, predictions


def _measure(found: Lab, scenario: str, namespace: str, at: float) -> None:
    """Every metric of the template, measured as one AnalysisRun measurement at ``at``."""
    args = {**found.args, "namespace": namespace}
    results = {}
    for metric in found.template["spec"]["metrics"]:
        promql = argo_analysis.resolve(metric["provider"]["prometheus"]["query"], args)
        result = argo_analysis.query(found.prometheus, promql, at)
        resolved = {
            key: argo_analysis.resolve(metric[key], args)
            for key in ("successCondition", "failureCondition")
        }
        results[metric["name"]] = (result, argo_analysis.phase(resolved, result))
    found.measured[scenario] = results


def _warm_up(servers: list[lab.Server], rows: list[dict[str, float]]) -> None:
    """A first request loads lazily imported code, and each predicted class's counter is
    born: before Prometheus starts, outside any window (``rate()`` does not count a
    series' first sample)."""
    with requests.Session() as session:
        for server in servers:
            for row in rows:
                assert _post(session, server, _body([row]))[0] == 200


def _run_phases(
    found: Lab,
    root: Path,
    stable: lab.Server,
    good: lab.Server,
    slow: lab.Server,
    targets: int,
    flip: Flip,
) -> None:
    benign, malignant = _rows(root)
    chance = random.Random(7)
    session = requests.Session()
    stop = threading.Event()
    quiet_since = 0.0  # every target's scrapes from then on follow the last phase's traffic

    def usual(count: int) -> dict[str, float]:  # half benign, half malignant
        return chance.choice(malignant if count % 2 else benign)

    def slow_traffic() -> None:  # the slow canary sees healthy traffic too
        with requests.Session() as own:
            count = 0
            while not stop.is_set():
                _post(own, slow, _body([usual(count)]))
                count += 1

    def attempt(scenario: str, canary_body: Any, stable_body: Any) -> tuple[float, float, float]:
        """One go of the phase's traffic: the last phase's end, and the first scrape of
        every target from before this traffic and the last from after it."""
        # The window must not reach back into the last phase's traffic...
        time.sleep(max(0.0, quiet_since + WINDOW_S - TRAFFIC_S - time.time()))
        # ...and must hold a scrape of every target from before this phase's traffic.
        before = min(_scraped_after(found.prometheus, time.time(), targets))
        sent: dict[int, int] = {}
        stable_sent: dict[int, int] = {}
        predicted: dict[Any, list[int]] = {}
        ends = time.monotonic() + TRAFFIC_S
        count = 0
        while time.monotonic() < ends:
            row = usual(count)
            code, stable_says = _post(session, stable, stable_body(count, row))
            stable_sent[code] = stable_sent.get(code, 0) + 1
            code, canary_says = _post(session, good, canary_body(count, row))
            sent[code] = sent.get(code, 0) + 1
            for side, says in ((0, stable_says), (1, canary_says)):
                for value in says:
                    predicted.setdefault(value, [0, 0])[side] += 1
            count += 1
        found.sent[scenario] = sent
        found.stable_sent[scenario] = stable_sent
        found.predicted[scenario] = predicted
        return quiet_since, before, max(_scraped_after(found.prometheus, time.time(), targets))

    def phase(scenario: str, canary_body: Any, stable_body: Any = None) -> float:
        """The phase's traffic; returns the instant to measure it at. A go whose scrapes
        came too late for one window to hold all of it and nothing before it (a loaded
        machine: scrapes or requests stalled) is not measured: the phase goes again, and
        its window starts after that go's last scrape."""
        nonlocal quiet_since
        goes = []
        for _ in range(3):
            since, before, after = attempt(scenario, canary_body, stable_body or healthy)
            at = after + 0.01  # the window (at - 8 s, at] ends just after the last scrape
            goes.append((since, before, after))
            quiet_since = after
            if since <= at - WINDOW_S < before:
                return at
        raise AssertionError(f"{scenario}: no go fitted one window: {goes}")

    def healthy(_: int, row: dict[str, float]) -> str:
        return _body([row])

    threads = [threading.Thread(target=slow_traffic) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        at = phase("healthy", healthy)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    _measure(found, "healthy", "ml", at)
    _measure(found, "slow", "ml-slow", at)

    # Pairs of requests (a benign and a malignant row) fail together, so that the
    # canary's answered rows keep the stable's mix.
    def clients(count: int, row: dict[str, float]) -> str:
        if count // 2 % 8 == 3:
            return '{"dataframe_records": [{"radius": '  # malformed JSON: 400
        return _body([row])

    def unscorable(row: dict[str, float]) -> str:  # a value the model cannot score: 500
        return _body([{**row, next(iter(row)): math.nan}])

    def faulty(count: int, row: dict[str, float]) -> str:
        return unscorable(row) if count // 2 % 4 == 1 else clients(count, row)

    def rejected(count: int, row: dict[str, float]) -> str:
        if count // 2 % 2 == 1:  # without a column the model needs: 400
            return _body([dict(list(row.items())[1:])])
        return _body([row])

    _measure(found, "errors", "ml", phase("errors", faulty, clients))
    _measure(found, "rejects", "ml", phase("rejects", rejected))
    shifted = phase("shift", lambda _, row: _body([chance.choice(malignant)]))
    _measure(found, "shift", "ml", shifted)

    def before_the_flip(done: threading.Event) -> None:
        """The stable's traffic, which the canary Service's target counts too, until the
        flip is done (Prometheus applies a discovery change within five seconds)."""
        with requests.Session() as own:
            count = 0
            while not done.is_set():
                assert _post(own, stable, _body([usual(count)]))[0] == 200
                count += 1

    def flipped() -> float:
        """The flip phase's instant to measure at: a go whose window does not hold the
        stable's traffic through the canary Service from before the flip goes again."""
        nonlocal quiet_since
        goes = []
        for _ in range(3):
            flip.before()
            time.sleep(max(0.0, quiet_since + WINDOW_S - time.time()))
            done = threading.Event()
            sender = threading.Thread(target=before_the_flip, args=(done,))
            sender.start()
            try:
                time.sleep(FLIP_S)
                flip.during()
            finally:
                done.set()
                sender.join()
            sent: dict[int, int] = {}
            ends, count = time.monotonic() + FLIP_S, 0
            while time.monotonic() < ends:
                row = usual(count)
                assert _post(session, stable, _body([row]))[0] == 200
                body = unscorable(row) if count // 2 % 8 == 1 else _body([row])
                code, _ = _post(session, flip.canary, body)
                sent[code] = sent.get(code, 0) + 1
                count += 1
            at = max(_scraped_after(found.prometheus, time.time(), targets)) + 0.01
            quiet_since = at
            stable_pod = f'instance="127.0.0.1:{stable.metrics_port}"'
            held = argo_analysis.query(
                found.prometheus,
                f'sum(increase(mlgitops_requests_total{{namespace="ml-flip",{stable_pod},'
                f'service="{found.args["service"]}"}}[{WINDOW_S:.0f}s]))',
                at,
            )
            found.sent["flip"] = sent
            goes.append(held)
            # the window holds the stable's requests through the canary Service
            if held and held[0] > 0:
                return at
        raise AssertionError(f"flip: no window held the traffic of both sides: {goes}")

    _measure(found, "flip", "ml-flip", flipped())


def _distance(counts: dict[Any, list[int]]) -> float:
    """Total variation distance between the stable's and the canary's predicted classes."""
    stable = sum(c[0] for c in counts.values())
    canary = sum(c[1] for c in counts.values())
    return sum(abs(c[0] / stable - c[1] / canary) for c in counts.values()) / 2


def _phases(found: Lab, scenario: str) -> dict[str, str]:
    return {metric: phase for metric, (_, phase) in found.measured[scenario].items()}


def test_the_template_measures_success_rate_latency_and_prediction_shift(canary: Lab) -> None:
    names = [m["name"] for m in canary.template["spec"]["metrics"]]
    assert names == ["success-rate", "latency-p99-ms", "prediction-shift"]
    assert canary.args["window"] == "8s"
    assert canary.args["max-prediction-shift"] == "0.2"


def test_healthy_traffic_meets_every_success_condition(canary: Lab) -> None:
    assert set(canary.sent["healthy"]) == set(canary.stable_sent["healthy"]) == {200}
    assert _phases(canary, "healthy") == {
        "success-rate": "Successful",
        "latency-p99-ms": "Successful",
        "prediction-shift": "Successful",
    }
    assert canary.measured["healthy"]["success-rate"][0] == [1.0]
    assert _distance(canary.predicted["healthy"]) == 0  # the same rows, the same model
    (shift,), _ = canary.measured["healthy"]["prediction-shift"]
    # The window holds the whole phase on both sides; what is left is rate() extrapolating
    # each class's series to the window's start by its own first value (a few in 10^5).
    assert shift == pytest.approx(0, abs=0.001)


def test_server_errors_fail_the_success_rate(canary: Lab) -> None:
    sent = canary.sent["errors"]
    assert sent.keys() == {200, 400, 500}
    assert canary.stable_sent["errors"] == {200: sum(sent.values()) - sent[400], 400: sent[400]}
    assert _phases(canary, "errors") == {
        "success-rate": "Failed",
        "latency-p99-ms": "Successful",
        "prediction-shift": "Successful",
    }
    (rate,), _ = canary.measured["errors"]["success-rate"]
    # the 500s are the server's; the 400s (malformed requests, which the stable refuses
    # alike) are the client's. rate() extrapolates each status series to the window's
    # edges on its own, so over an 8 s window the ratio of rates is the ratio of counts
    # give or take a few hundredths
    assert rate == pytest.approx(1 - sent[500] / sum(sent.values()), abs=0.03)
    assert rate < 0.99  # far below the success condition either way


def test_requests_the_stable_serves_and_the_canary_refuses_fail_the_success_rate(
    canary: Lab,
) -> None:
    sent = canary.sent["rejects"]
    assert sent.keys() == {200, 400}
    assert canary.stable_sent["rejects"] == {200: sum(sent.values())}
    assert _phases(canary, "rejects") == {
        "success-rate": "Failed",
        "latency-p99-ms": "Successful",
        "prediction-shift": "Successful",
    }
    (rate,), _ = canary.measured["rejects"]["success-rate"]
    # the canary's share of 400s beyond the stable's (none), less three standard errors
    # of the difference of the two shares: what chance alone could make of it
    count = sum(sent.values())
    pooled = sent[400] / (2 * count)
    margin = NOISE_Z * math.sqrt(pooled * (1 - pooled) * 2 / count)
    assert margin < sent[400] / count / 2  # the window holds evidence enough either way
    assert rate == pytest.approx(1 - (sent[400] / count - margin), abs=0.03)
    assert rate < 0.95


def test_the_canary_is_judged_on_its_own_pods_after_its_service_stops_selecting_the_stable_s(
    canary: Lab,
) -> None:
    sent = canary.sent["flip"]
    assert sent.keys() == {200, 500}
    assert _phases(canary, "flip") == {
        "success-rate": "Failed",
        "latency-p99-ms": "Successful",
        "prediction-shift": "Successful",
    }
    (rate,), _ = canary.measured["flip"]["success-rate"]
    # the stable's requests through the canary Service before the flip, in the window
    # too, would have made it nearer 1
    assert rate == pytest.approx(1 - sent[500] / sum(sent.values()), abs=0.03)


def test_a_slow_model_fails_the_p99_latency(canary: Lab) -> None:
    phases = _phases(canary, "slow")
    assert (phases["latency-p99-ms"], phases["success-rate"]) == ("Failed", "Successful")
    (p99,), _ = canary.measured["slow"]["latency-p99-ms"]
    assert p99 > 2500  # every request sleeps 3 s; the histogram's bucket is 2.5 s to 5 s


def test_shifted_predictions_fail_the_prediction_shift(canary: Lab) -> None:
    assert set(canary.sent["shift"]) == {200}
    assert _phases(canary, "shift") == {
        "success-rate": "Successful",
        "latency-p99-ms": "Successful",
        "prediction-shift": "Failed",
    }
    (shift,), _ = canary.measured["shift"]["prediction-shift"]
    expected = _distance(canary.predicted["shift"])
    assert expected > 0.3
    assert shift == pytest.approx(expected, abs=0.01)
