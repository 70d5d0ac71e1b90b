"""The canary analysis' queries at the moments a real canary passes through: a real
Prometheus scraping pods that stand in for the model server (its own metrics code, fed
requests at a steady rate, see :mod:`tests.serve.fakepods`) every second, discovered
from a file that moves them between Services as Argo Rollouts' selector changes do; each
query of the rendered AnalysisTemplate measured and judged as Argo Rollouts does.

Each namespace is one story:

- ``crash``: two canary pods, one answering half its requests 500; then that pod's
  container goes down (its scrapes fail) while it is still the Service's endpoint;
- ``flip``: outside a rollout the canary Service selects the stable pods; then it
  selects the canary's pod alone, which answers half its requests 500;
- ``buckets``: a regression canary whose ``prediction_buckets`` changed predicts 1000
  where the stable predicts 1.5; ``same-buckets``: the same with the same buckets;
- ``noise``: clients send 5% bad requests, which stable and canary both refuse (400):
  the stable's evenly, the canary's in bursts of 20 every 10 s, so that a window holds
  none of them or 7%;
  ``refused``: the canary refuses 30% of requests, the stable the clients' 5%;
- ``float-classes``: the stable's model predicts its classes as floats (``1.0``), the
  canary's as integers (``1``), half of each;
- ``first-requests``: a slow canary pod, scraped before it answers anything, then
  answering a burst of requests and none after.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlgitops.record import replace
from mlgitops.render.analysis import analysis_template
from mlgitops.serving.metrics import DEFAULT_PREDICTION_BUCKETS
from mlgitops.spec import load_repo
from tests.fixtures import argo_analysis
from tests.serve import fakepods, lab
from tests.train.helpers import commit, example_repo

pytestmark = pytest.mark.slow

WINDOW = "8s"
STABLE, CANARY = "m-stable", "m-canary"


def _templates(folder: Path) -> dict[str, dict[str, Any]]:
    """task -> the AnalysisTemplate rendered for a pipeline with every analysis metric."""
    root = example_repo(folder / "repo", "m")
    spec = root / "pipelines" / "m.yaml"
    text = spec.read_text()
    spec.write_text(text[: text.index("deploy:")] + lab.DEPLOY)
    commit(root, "deploy with analysis")
    [pipeline] = load_repo(root).pipelines
    regression = replace(pipeline, task="regression")
    return {
        "classification": analysis_template(pipeline),
        "regression": analysis_template(regression),
    }


class Story:
    def __init__(self, url: str, templates: dict[str, dict[str, Any]], moving: Path) -> None:
        self.url, self.templates, self.moving = url, templates, moving

    def measure(
        self,
        namespace: str,
        metric: str,
        task: str = "classification",
        min_success_rate: str = "0.95",
    ) -> tuple[list[float], str]:
        """One measurement of ``metric`` now, as Argo Rollouts takes it."""
        args = {
            "namespace": namespace,
            "service": CANARY,
            "stable-service": STABLE,
            "prometheus": self.url,
            "min-success-rate": min_success_rate,
            "max-p99-ms": "1500",
            "window": WINDOW,
            "max-prediction-shift": "0.2",
        }
        [found] = [m for m in self.templates[task]["spec"]["metrics"] if m["name"] == metric]
        query = argo_analysis.resolve(found["provider"]["prometheus"]["query"], args)
        result = argo_analysis.query(self.url, query)
        conditions = {
            k: argo_analysis.resolve(found[k], args)
            for k in ("successCondition", "failureCondition")
        }
        return result, argo_analysis.phase(conditions, result)


PODS = {
    "crash": [
        fakepods.Pod("crash-stable"),
        fakepods.Pod("crash-canary-1"),
        fakepods.Pod("crash-canary-2", statuses=(200, 500)),
    ],
    "flip": [
        fakepods.Pod("flip-stable-1"),
        fakepods.Pod("flip-stable-2"),
        fakepods.Pod("flip-canary", statuses=(200, 500)),
    ],
    "buckets": [
        fakepods.Pod("buckets-stable", "regression", predictions=(1.5,)),
        fakepods.Pod(
            "buckets-canary", "regression", predictions=(1000.0,), buckets=tuple(range(-5, 6))
        ),
    ],
    "same-buckets": [
        fakepods.Pod("same-stable", "regression", predictions=(1.5,)),
        fakepods.Pod("same-canary", "regression", predictions=(1000.0,)),
    ],
    "noise": [
        fakepods.Pod("noise-stable", statuses=(200,) * 19 + (400,)),
        fakepods.Pod("noise-canary", statuses=(400,) * 20 + (200,) * 380),
    ],
    "float-classes": [
        fakepods.Pod("float-stable", predictions=(1.0, 0.0)),
        fakepods.Pod("float-canary", predictions=(1, 0)),
    ],
    "refused": [
        fakepods.Pod("refused-stable", statuses=(200,) * 19 + (400,)),
        fakepods.Pod("refused-canary", statuses=(200,) * 7 + (400,) * 3),
    ],
    "first-requests": [
        fakepods.Pod("first-stable"),
        fakepods.Pod("first-canary", latency_s=3.0, quiet=True),
    ],
}


def _targets(flipped: bool) -> list[lab.Target]:
    crash, flip = PODS["crash"], PODS["flip"]
    targets = [
        lab.Target(crash[0], "crash", STABLE),
        *(lab.Target(pod, "crash", CANARY) for pod in crash[1:]),
        *(lab.Target(pod, "flip", STABLE) for pod in flip[:2]),
        # outside a rollout Argo Rollouts points the canary Service at the stable pods
        *(lab.Target(pod, "flip", CANARY) for pod in (flip[2:] if flipped else flip[:2])),
    ]
    for namespace in (
        "buckets",
        "same-buckets",
        "noise",
        "refused",
        "float-classes",
        "first-requests",
    ):
        stable, canary = PODS[namespace]
        targets += [lab.Target(stable, namespace, STABLE), lab.Target(canary, namespace, CANARY)]
    return targets


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    assert tuple(range(-5, 6)) != DEFAULT_PREDICTION_BUCKETS
    binary = lab.prometheus_binary()
    folder = tmp_path_factory.mktemp("queries")
    templates = _templates(folder)
    pods = [pod for group in PODS.values() for pod in group]
    with fakepods.running(pods):
        url, prometheus = lab.start_prometheus(
            binary, folder, [], "1s", "/metrics", _targets(False)
        )
        try:
            time.sleep(10)  # a window of samples of every series
            yield Story(url, templates, folder / "moving.json")
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=30)
            shutil.rmtree(folder / "tsdb", ignore_errors=True)


def test_a_canary_pod_whose_container_is_down_keeps_its_errors_in_the_window(story: Story) -> None:
    result, phase = story.measure("crash", "success-rate")
    assert (phase, result) == ("Failed", [pytest.approx(0.75, abs=0.03)])
    PODS["crash"][2].up = False  # its scrapes fail; it is still the Service's endpoint
    time.sleep(3)
    result, phase = story.measure("crash", "success-rate")
    assert phase == "Failed", result
    assert result[0] < 0.9


def test_the_first_measurements_after_the_flip_judge_the_canary_s_pod_alone(story: Story) -> None:
    # outside a rollout the canary Service selects the stable's pods only, which the
    # stable Service selects too: no canary pods, nothing to judge
    assert story.measure("flip", "success-rate") == ([], "Inconclusive")
    lab.move_targets(story.moving, _targets(True))
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result, phase = story.measure("flip", "success-rate")
        seen.append((result, phase))
        assert phase != "Successful", seen
        if phase == "Failed":
            break
        time.sleep(0.25)
    # once Prometheus applies the move (it batches discovery changes up to 5 s) and has
    # scraped the canary's pod twice: judged, on that pod alone
    assert phase == "Failed", seen
    assert result[0] == pytest.approx(0.5, abs=0.05)


def test_a_canary_whose_prediction_buckets_changed_is_not_a_pass(story: Story) -> None:
    result, phase = story.measure("buckets", "prediction-shift", "regression")
    assert (result, phase) == ([], "Inconclusive")
    # with the same bounds the same predictions fail the shift
    assert story.measure("same-buckets", "prediction-shift", "regression") == ([1.0], "Failed")


def test_clients_bad_requests_both_refuse_do_not_fail_the_canary_by_chance(story: Story) -> None:
    """Most windows hold 7% of canary refusals where the stable's are 5%: with 1% of
    errors allowed, the difference alone would fail those measurements."""
    seen = []
    for _ in range(12):
        seen.append(story.measure("noise", "success-rate", min_success_rate="0.99"))
        time.sleep(0.5)
    assert {phase for _, phase in seen} == {"Successful"}, seen


def test_requests_only_the_canary_refuses_fail_it_beyond_chance(story: Story) -> None:
    (rate,), phase = story.measure("refused", "success-rate", min_success_rate="0.99")
    assert phase == "Failed"
    # 25 points beyond the stable's share, less three standard errors (about 9 points)
    assert 0.8 < rate < 0.95


def test_a_class_predicted_as_a_float_by_one_model_and_an_int_by_the_other_is_one_class(
    story: Story,
) -> None:
    (shift,), phase = story.measure("float-classes", "prediction-shift")
    assert (phase, shift) == ("Successful", pytest.approx(0, abs=0.05))


def test_a_canary_pod_s_first_requests_count_in_its_p99_latency(story: Story) -> None:
    """The latency histogram of the scoring route is exported from the start, as its
    request counts are: a series born with the first requests already in it would make
    ``rate()`` miss them, and the p99 of a canary whose traffic came in one burst would
    be NaN (inconclusive) while its success rate counts every request."""
    assert story.measure("first-requests", "latency-p99-ms")[1] == "Inconclusive"
    PODS["first-requests"][1].answer(20)  # each takes 3 s
    time.sleep(3)  # scraped a few times since
    assert story.measure("first-requests", "success-rate")[1] == "Successful"
    (p99,), phase = story.measure("first-requests", "latency-p99-ms")
    assert (phase, p99 > 2500) == ("Failed", True)
