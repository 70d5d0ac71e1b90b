"""Generated manifests: built with the real ``kubectl kustomize``, validated against the contracts.

Four repositories: this repository's own example pipeline, and three specs written
into temporary repositories (a regression pipeline with one environment and no
canary, a KServe pipeline, a Rollout pipeline with a ServiceMonitor and custom analysis).
"""

from __future__ import annotations

import difflib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from mlgitops.render import argocd, header, manifests
from mlgitops.spec import load_repo
from mlgitops.spec.deploy import Environment
from tests.conftest import program
from tests.fixtures.k8s import kustomize_build, validate_objects

PROJECT = Path(__file__).resolve().parents[2]

HOUSES = """\
name: houses
data:
  path: data/houses.csv
  columns:
    rooms: {dtype: float64}
    price: {dtype: float64}
  target: price
model:
  estimator: sklearn.linear_model.Ridge
task: regression
deploy:
  server:
    image: ghcr.io/example/ridge-server:2024.1
    port: 5000
    metrics_port: 5001
    cpu: "1"
    memory: 512Mi
    prediction_buckets: [0, 100000, 250000.5, 1000000]
  metrics: {scrape: pod-monitor, interval: 15s}
  environments:
    - name: live
      namespace: houses
      cluster: edge-cluster
"""

FRAUD = """\
name: fraud-score
data:
  path: data/fraud.csv
  columns:
    amount: {dtype: float64}
    fraud: {dtype: int64}
  target: fraud
model:
  estimator: sklearn.linear_model.LogisticRegression
task: classification
deploy:
  target: kserve
  environments:
    - name: staging
      namespace: fraud-staging
    - name: production
      namespace: fraud
      cluster: https://prod.example.com:6443
      replicas: 4
      canary: {steps: [20, 60, 100], pause: 15m}
"""

CHURN = """\
name: churn
data:
  path: data/churn.csv
  columns:
    tenure: {dtype: float64}
    churned: {dtype: int64}
  target: churned
model:
  estimator: sklearn.ensemble.RandomForestClassifier
task: classification
deploy:
  metrics: {scrape: service-monitor, alerts: true}
  environments:
    - name: canary-only
      namespace: churn-test
      canary: {steps: [25, 100]}
      analysis: {prometheus: "http://prometheus.test:9090"}
    - name: production
      namespace: churn
      replicas: 5
      canary: {steps: [5, 25, 50, 100], pause: 1h}
      analysis:
        prometheus: https://prometheus.example.com
        max_error_rate: 0.07
        max_p99_ms: 120.5
        interval: 30s
        failure_limit: 3
        max_prediction_shift: 0.15
"""

CONFIG = """\
argocd:
  namespace: gitops
  project: models
  repo_url: https://git.example.com/ml/models.git
  revision: main
"""

#: pipeline -> (spec text, repo config or None)
SPECS = {"houses": (HOUSES, None), "fraud-score": (FRAUD, CONFIG), "churn": (CHURN, CONFIG)}
PIPELINES = ["tumors", *SPECS]


def _make_repo(root: Path, pipeline: str) -> Path:
    root.mkdir(parents=True)
    if pipeline == "tumors":
        shutil.copytree(PROJECT / "pipelines", root / "pipelines")
        shutil.copy(PROJECT / "mlgitops.yaml", root / "mlgitops.yaml")
        return root
    spec, config = SPECS[pipeline]
    (root / "pipelines").mkdir()
    (root / "pipelines" / f"{pipeline}.yaml").write_text(spec)
    if config:
        (root / "mlgitops.yaml").write_text(config)
    return root


def _render(root: Path) -> dict[str, str]:
    """Render the manifests of ``root`` (carrying over deployed URIs) and write them there."""
    repo = load_repo(root)
    files = manifests.render(repo, manifests.read_deployed(root, repo.pipelines))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    return files


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    """pipeline -> (repository root, rendered files), rendered once for the module."""
    out = {}
    for pipeline in PIPELINES:
        root = _make_repo(tmp_path_factory.mktemp("repos") / pipeline, pipeline)
        out[pipeline] = (root, _render(root))
    return out


@pytest.fixture(scope="module")
def built(
    rendered: dict[str, tuple[Path, dict[str, str]]],
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(pipeline, environment) -> the objects ``kubectl kustomize`` builds from its overlay."""
    out = {}
    for pipeline, (root, _) in rendered.items():
        for overlay in sorted((root / "manifests" / pipeline / "overlays").iterdir()):
            out[(pipeline, overlay.name)] = kustomize_build(overlay)
    return out


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {[o['kind'] for o in objects]}"
    return found[0]


def _kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


# --- Every overlay builds, every object validates -------------------------------------


def test_every_overlay_builds_and_every_object_validates(
    built: dict[tuple[str, str], list[dict[str, Any]]], contracts: Path
) -> None:
    assert sorted(built) == [
        ("churn", "canary-only"),
        ("churn", "production"),
        ("fraud-score", "production"),
        ("fraud-score", "staging"),
        ("houses", "live"),
        ("tumors", "production"),
        ("tumors", "staging"),
    ]
    for objects in built.values():
        validate_objects(objects, contracts)


def test_argo_cd_applications_validate_against_the_crd(
    rendered: dict[str, tuple[Path, dict[str, str]]], contracts: Path
) -> None:
    apps = [
        yaml.safe_load(text)
        for _, files in rendered.values()
        for rel, text in files.items()
        if rel.startswith("manifests/argocd/")
    ]
    assert len(apps) == 7
    validate_objects(apps, contracts)


def test_the_objects_each_target_generates(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    rollout = ["AnalysisTemplate", "ConfigMap", "Rollout", "Service", "Service", "Service"]
    assert _kinds(built[("tumors", "production")]) == rollout
    assert _kinds(built[("houses", "live")]) == sorted([*rollout, "PodMonitor"])
    assert _kinds(built[("churn", "production")]) == sorted(
        [*rollout, "PrometheusRule", "ServiceMonitor"]
    )
    assert _kinds(built[("fraud-score", "production")]) == ["ConfigMap", "InferenceService"]


def test_the_validator_rejects_unknown_keys_everywhere(
    built: dict[tuple[str, str], list[dict[str, Any]]], contracts: Path
) -> None:
    objects = json.loads(json.dumps(built[("churn", "production")]))
    _one(objects, "Rollout")["spec"]["strategy"]["canary"]["stepz"] = []
    _one(objects, "AnalysisTemplate")["spec"]["metrics"][0]["provider"]["prometheus"]["qeury"] = ""
    _one(objects, "ConfigMap")["dataa"] = {}
    _one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["intervall"] = "1m"
    _one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    pod_monitor = json.loads(json.dumps(built[("houses", "live")]))
    _one(pod_monitor, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["relabelings"][0][
        "tragetLabel"
    ] = "x"
    objects += [_one(pod_monitor, "PodMonitor")]
    config_map = _one(objects, "ConfigMap")["metadata"]["name"]
    with pytest.raises(AssertionError) as caught:
        validate_objects(objects, contracts)
    lines = sorted(str(caught.value).splitlines()[1:])
    rule = "PrometheusRule/churn: spec/groups/0/rules/0/for: 'ten minutes' does not match '^"
    assert [line for line in lines if line.startswith(rule)] == lines[3:4]
    assert lines[:3] + lines[4:] == [
        "AnalysisTemplate/churn: spec/metrics/0/provider/prometheus: Additional properties "
        "are not allowed ('qeury' was unexpected)",
        f"ConfigMap/{config_map}: <root>: Additional properties are not allowed "
        "('dataa' was unexpected)",
        "PodMonitor/houses: spec/podMetricsEndpoints/0/relabelings/0: Additional properties "
        "are not allowed ('tragetLabel' was unexpected)",
        "Rollout/churn: spec/strategy/canary: Additional properties are not allowed "
        "('stepz' was unexpected)",
        "ServiceMonitor/churn: spec/endpoints/0: Additional properties are not allowed "
        "('intervall' was unexpected)",
    ]


# --- The generated ConfigMap reference --------------------------------------------------


def _model_ref(workload: dict[str, Any]) -> str:
    if workload["kind"] == "Rollout":
        pod = workload["spec"]["template"]["spec"]
    else:
        pod = workload["spec"]["predictor"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    return str(env["MODEL_URI"]["valueFrom"]["configMapKeyRef"]["name"])


@pytest.mark.parametrize(
    ("pipeline", "environment", "kind"),
    [
        ("tumors", "production", "Rollout"),
        ("tumors", "staging", "Rollout"),
        ("houses", "live", "Rollout"),
        ("churn", "production", "Rollout"),
        ("fraud-score", "production", "InferenceService"),
    ],
)
def test_the_workload_references_the_hash_suffixed_configmap(
    built: dict[tuple[str, str], list[dict[str, Any]]], pipeline: str, environment: str, kind: str
) -> None:
    objects = built[(pipeline, environment)]
    config_map = _one(objects, "ConfigMap")["metadata"]["name"]
    assert config_map.startswith(f"{pipeline}-model-")
    assert len(config_map) == len(f"{pipeline}-model-") + 10
    assert _model_ref(_one(objects, kind)) == config_map


def test_without_the_name_reference_configuration_kustomize_leaves_the_rollout_stale(
    rendered: dict[str, tuple[Path, dict[str, str]]], tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(rendered["tumors"][0] / "manifests", root / "manifests")
    base = root / "manifests/tumors/base/kustomization.yaml"
    base.write_text(base.read_text().replace("configurations:\n  - kustomizeconfig.yaml\n", ""))
    objects = kustomize_build(root / "manifests/tumors/overlays/production")
    assert _one(objects, "ConfigMap")["metadata"]["name"] != "tumors-model"
    assert _model_ref(_one(objects, "Rollout")) == "tumors-model"


def test_changing_the_model_uri_changes_the_configmap_name(tmp_path: Path) -> None:
    root = _make_repo(tmp_path / "repo", "tumors")
    _render(root)
    overlay = root / "manifests/tumors/overlays/production"
    before = _model_ref(_one(kustomize_build(overlay), "Rollout"))
    kustomization = overlay / "kustomization.yaml"
    text = kustomization.read_text()
    kustomization.write_text(text.replace("models:/tumors@production", "models:/tumors/3"))
    after_objects = kustomize_build(overlay)
    data = {"MODEL_URI": "models:/tumors/3", "MODEL_DIGEST": ""}
    assert _one(after_objects, "ConfigMap")["data"] == data
    assert _model_ref(_one(after_objects, "Rollout")) not in (before, "tumors-model")
    digest = "sha256:" + "ab" * 32
    kustomization.write_text(
        kustomization.read_text().replace("MODEL_DIGEST=", f"MODEL_DIGEST={digest}")
    )
    digested = kustomize_build(overlay)
    assert _one(digested, "ConfigMap")["data"] == {**data, "MODEL_DIGEST": digest}
    assert _model_ref(_one(digested, "Rollout")) != _model_ref(_one(after_objects, "Rollout"))


# --- Canary steps, replicas and analysis ------------------------------------------------


def _canary(objects: list[dict[str, Any]]) -> dict[str, Any]:
    rollout = _one(objects, "Rollout")
    return dict(rollout["spec"]["strategy"]["canary"])


def test_canary_steps_and_replicas_match_the_spec(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    production = built[("tumors", "production")]
    assert _one(production, "Rollout")["spec"]["replicas"] == 3
    assert _canary(production)["steps"] == [
        {"setWeight": 10},
        {"pause": {"duration": "10m"}},
        {"setWeight": 50},
        {"pause": {"duration": "10m"}},
        {"setWeight": 100},
    ]
    staging = built[("tumors", "staging")]
    assert _one(staging, "Rollout")["spec"]["replicas"] == 2
    assert _canary(staging)["steps"] == [
        {"setWeight": 50},
        {"pause": {"duration": "2m"}},
        {"setWeight": 100},
    ]
    assert _canary(built[("houses", "live")])["steps"] == [{"setWeight": 100}]
    assert _canary(built[("churn", "canary-only")])["steps"] == [
        {"setWeight": 25},
        {"pause": {}},
        {"setWeight": 100},
    ]
    assert _one(built[("churn", "production")], "Rollout")["spec"]["replicas"] == 5


def test_canary_and_stable_services_are_the_generated_ones(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    objects = built[("tumors", "production")]
    services = {s["metadata"]["name"]: s for s in objects if s["kind"] == "Service"}
    assert sorted(services) == ["tumors", "tumors-canary", "tumors-stable"]
    canary = _canary(objects)
    assert (canary["canaryService"], canary["stableService"]) == (
        "tumors-canary",
        "tumors-stable",
    )
    for service in services.values():
        assert service["metadata"]["namespace"] == "ml"
        assert service["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("pipeline", ["tumors", "houses", "churn"])
def test_clients_call_a_service_that_reaches_canary_and_stable_pods_alike(
    built: dict[tuple[str, str], list[dict[str, Any]]], pipeline: str
) -> None:
    """Argo Rollouts narrows the selector of the Rollout's stableService to the stable pods
    and of its canaryService to the canary pods. Clients called the stableService: no
    request reached the canary, and its analysis had nothing to measure. The Service
    clients call is neither: it selects every pod of the Rollout, so the canary takes
    requests by its share of the pods, and its metrics are scraped once, through the
    stable and canary Services."""
    environment = {"tumors": "production", "houses": "live", "churn": "production"}[pipeline]
    objects = built[(pipeline, environment)]
    services = {s["metadata"]["name"]: s for s in objects if s["kind"] == "Service"}
    canary = _canary(objects)
    narrowed = {canary["canaryService"], canary["stableService"]}
    assert pipeline in services and pipeline not in narrowed, (sorted(services), narrowed)
    assert narrowed <= set(services)
    pods = _one(objects, "Rollout")["spec"]["template"]["metadata"]["labels"]
    called = services[pipeline]
    assert called["spec"]["selector"].items() <= pods.items()
    assert "prometheus.io/scrape" not in called["metadata"].get("annotations", {})
    for monitor in [o for o in objects if o["kind"] == "ServiceMonitor"]:
        role = called["metadata"]["labels"]["mlgitops.dev/service-role"]
        [expression] = monitor["spec"]["selector"]["matchExpressions"]
        assert role not in expression["values"], expression
    for rule in [o for o in objects if o["kind"] == "PrometheusRule"]:
        text = json.dumps(rule)
        assert f'service=\\"{canary["stableService"]}\\"' in text, text


def test_analysis_only_where_the_environment_asks_for_it(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    assert "analysis" not in _canary(built[("tumors", "staging")])
    assert "analysis" not in _canary(built[("houses", "live")])
    assert _canary(built[("tumors", "production")])["analysis"] == {
        "templates": [{"templateName": "tumors"}],
        "startingStep": 1,
        "args": [
            {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "service", "value": "tumors-canary"},
            {"name": "stable-service", "value": "tumors-stable"},
            {"name": "prometheus", "value": "http://prometheus.monitoring:9090"},
            {"name": "min-success-rate", "value": "0.99"},
            {"name": "max-p99-ms", "value": "250"},
            {"name": "window", "value": "2m"},
        ],
    }
    args = {
        a["name"]: a.get("value")
        for a in _canary(built[("churn", "production")])["analysis"]["args"]
    }
    assert args["prometheus"] == "https://prometheus.example.com"
    assert args["min-success-rate"] == "0.93"
    assert args["max-p99-ms"] == "120.5"
    assert args["window"] == "2m"
    assert args["max-prediction-shift"] == "0.15"


def test_analysis_template_queries_prometheus_with_guards(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    template = _one(built[("churn", "production")], "AnalysisTemplate")
    declared = {a["name"] for a in template["spec"]["args"]}
    rollout_args = {a["name"] for a in _canary(built[("churn", "production")])["analysis"]["args"]}
    assert declared == rollout_args
    metrics = template["spec"]["metrics"]
    assert [m["name"] for m in metrics] == ["success-rate", "latency-p99-ms", "prediction-shift"]
    guard = "len(result) > 0 && !isNaN(result[0]) && "
    assert metrics[0]["successCondition"] == guard + "result[0] >= {{args.min-success-rate}}"
    assert metrics[0]["failureCondition"] == guard + "result[0] < {{args.min-success-rate}}"
    assert metrics[1]["successCondition"] == guard + "result[0] <= {{args.max-p99-ms}}"
    assert metrics[1]["failureCondition"] == guard + "result[0] > {{args.max-p99-ms}}"
    assert metrics[2]["successCondition"] == guard + "result[0] <= {{args.max-prediction-shift}}"
    assert metrics[2]["failureCondition"] == guard + "result[0] > {{args.max-prediction-shift}}"
    for metric in metrics:
        assert (metric["interval"], metric["failureLimit"]) == ("30s", 3)
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == "{{args.prometheus}}"
        query = prometheus["query"]
        assert 'service="{{args.service}}"' in query
        assert query.count("(") == query.count(")") and query.count("{") == query.count("}")
    assert "mlgitops_requests_total" in metrics[0]["provider"]["prometheus"]["query"]
    shift = metrics[2]["provider"]["prometheus"]["query"]
    assert 'service="{{args.stable-service}}"' in shift and "mlgitops_predictions_total" in shift
    assert "histogram_quantile(0.99," in metrics[1]["provider"]["prometheus"]["query"]
    defaults = _one(built[("tumors", "production")], "AnalysisTemplate")["spec"]["metrics"]
    assert [(m["interval"], m["failureLimit"]) for m in defaults] == [("1m", 1), ("1m", 1)]


_SECONDS = {"s": 1, "m": 60, "h": 3600}


def _s(duration: str) -> int:
    return int(duration[:-1]) * _SECONDS[duration[-1]]


@pytest.mark.parametrize(
    ("scrape", "analysis", "steps", "pauses"),
    [
        ("30s", "", "[50, 100]", ["299s", "5m"]),
        ("1m", ", interval: 30s, failure_limit: 2", "[10, 50, 100]", ["134s", "135s"]),
        ("10s", ", interval: 20s, failure_limit: 0", "[25, 50, 75, 100]", ["26s", "27s"]),
        # queries Prometheus never answers are retried 10 s apart, whatever the interval
        ("5s", ", interval: 5s, failure_limit: 0", "[50, 100]", ["54s", "55s"]),
    ],
)
def test_every_pause_render_takes_lets_the_analysis_stop_the_canary_before_it_takes_all_traffic(
    tmp_path: Path, scrape: str, analysis: str, steps: str, pauses: list[str]
) -> None:
    """Argo Rollouts stops a background analysis at the promotion, and a run stopped
    with fewer failed and inconclusive measurements than its limits is a success. Read
    from the built objects: the analysis starts at the first pause and measures from its
    ``initialDelay`` on, which must leave Prometheus two scrapes of the canary's pods (no
    rate has a value before: the measurements would only use up the inconclusive ones).
    A canary that no measurement passes (each failed, or inconclusive: no traffic, no
    scrape) is stopped by the ``failureLimit + inconclusiveLimit + 1``-th measurement at
    the latest, which must come an ``interval`` before the pauses end. Every spec render
    accepts meets both; a pause a second shorter than the shortest accepted is refused at
    ``canary.pause``. A Prometheus that answers no query (down, unreachable) errs each
    measurement instead: Argo Rollouts tries again 10 s later, whatever the interval, and
    the ``consecutiveErrorLimit + 1``-th error in a row stops the canary; it too must come
    an ``interval`` before the pauses end."""
    accepted = []
    for pause in pauses:
        root = _make_repo(tmp_path / pause, "churn")
        spec = root / "pipelines" / "churn.yaml"
        text = spec.read_text()
        text = text.replace("alerts: true}", f"alerts: true, interval: {scrape}}}")
        old = "{steps: [5, 25, 50, 100], pause: 1h}"
        text = text.replace(old, f"{{steps: {steps}, pause: {pause}}}")
        start = text.index("      analysis:\n        prometheus: https")  # the last lines
        prometheus = "prometheus: https://prometheus.example.com"
        spec.write_text(text[:start] + f"      analysis: {{{prometheus}{analysis}}}\n")
        (root / "data").mkdir()
        (root / "data" / "churn.csv").write_text("tenure,churned\n1.5,0\n")
        result = subprocess.run(
            [sys.executable, "-m", "mlgitops", "render"], cwd=root, capture_output=True, text=True
        )
        if result.returncode == 2:
            refused = "deploy.environments[1].canary.pause: the canary takes all traffic"
            assert "mlgitops: 1 problem(s)" in result.stderr and refused in result.stderr
            continue
        assert result.returncode == 0, result.stderr
        accepted.append(pause)
        objects = kustomize_build(root / "manifests" / "churn" / "overlays" / "production")
        scraped = _one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["interval"]
        paused = sum(_s(s["pause"]["duration"]) for s in _canary(objects)["steps"] if "pause" in s)
        for metric in _one(objects, "AnalysisTemplate")["spec"]["metrics"]:
            delay, every = _s(metric.get("initialDelay", "0s")), _s(metric["interval"])
            assert delay >= 2 * _s(scraped), metric
            stopped_by = metric["failureLimit"] + metric["inconclusiveLimit"] + 1
            assert paused >= delay + every * stopped_by, (pause, metric)
            errors_stop_by = delay + 10 * metric["consecutiveErrorLimit"]
            assert paused >= errors_stop_by + every, (pause, metric)
    assert accepted == pauses[1::2]


def test_an_environment_without_a_shift_limit_drops_the_shift_check(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    template = _one(built[("churn", "canary-only")], "AnalysisTemplate")["spec"]
    args = _canary(built[("churn", "canary-only")])["analysis"]["args"]
    assert [a["name"] for a in args] == [a["name"] for a in template["args"]]
    assert [m["name"] for m in template["metrics"]] == ["success-rate", "latency-p99-ms"]
    assert "max-prediction-shift" not in [a["name"] for a in template["args"]]
    assert "{{args.max-prediction-shift}}" not in json.dumps(template)


def test_kserve_inference_service(built: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    production = _one(built[("fraud-score", "production")], "InferenceService")
    assert production["metadata"]["annotations"] == {"serving.kserve.io/deploymentMode": "Knative"}
    predictor = production["spec"]["predictor"]
    assert (predictor["canaryTrafficPercent"], predictor["minReplicas"]) == (20, 4)
    assert predictor["containers"][0]["name"] == "kserve-container"
    staging = _one(built[("fraud-score", "staging")], "InferenceService")["spec"]["predictor"]
    assert "canaryTrafficPercent" not in staging
    assert staging["minReplicas"] == 2


@pytest.mark.parametrize("recorded", [60, 100, None])
def test_a_kserve_canary_s_share_is_the_one_its_record_holds(
    tmp_path: Path, contracts: Path, recorded: int | None
) -> None:
    """KServe keeps the share ``canaryTrafficPercent`` gives the new model until it is
    changed: the overlay sets the share deploy, promote and rollback record in model.json
    (the first step where none is recorded), and a share edited by hand is stale."""
    root = _make_repo(tmp_path / "repo", "fraud-score")
    _render(root)
    folder = root / "manifests/fraud-score/overlays/production"
    record: dict[str, Any] = {"model_uri": "models:/fraud-score/3", "model_digest": DIGEST}
    if recorded is not None:
        record["traffic_percent"] = recorded
    (folder / "model.json").write_text(json.dumps(record))
    rel = "manifests/fraud-score/overlays/production/kustomization.yaml"
    rendered = _render(root)[rel]
    objects = kustomize_build(folder)
    validate_objects(objects, contracts)
    predictor = _one(objects, "InferenceService")["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == (recorded or 20)  # steps: [20, 60, 100]
    held = f"canaryTrafficPercent: {recorded or 20}\n"
    assert rendered.count(held) == 1
    (root / rel).write_text(rendered.replace(held, "canaryTrafficPercent: 40\n"))
    assert _render(root)[rel] == rendered


def test_service_monitor_and_rule_only_when_asked(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    objects = built[("churn", "production")]
    monitor = _one(objects, "ServiceMonitor")
    assert monitor["spec"]["selector"] == {
        "matchLabels": {"app.kubernetes.io/name": "churn"},
        "matchExpressions": [
            {"key": "mlgitops.dev/service-role", "operator": "In", "values": ["stable", "canary"]}
        ],
    }
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]
    rules = _one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == ["ChurnModelErrorRateHigh", "ChurnModelLatencyHigh"]
    assert rules[0]["expr"].endswith("> 0.07\n")
    assert rules[1]["expr"].endswith("> 120.5\n")
    for name in ("tumors", "houses", "fraud-score"):
        for (pipeline, _), built_objects in built.items():
            if pipeline == name:
                assert "ServiceMonitor" not in _kinds(built_objects)
                assert "PrometheusRule" not in _kinds(built_objects)


@pytest.mark.parametrize(
    ("interval", "window"), [("30s", "5m"), ("75s", "5m"), ("90s", "6m"), ("10m", "40m")]
)
def test_the_alerts_rate_window_holds_four_scrape_intervals(
    tmp_path: Path, interval: str, window: str
) -> None:
    """rate() needs two samples in its window: the alerts' five minutes grow, as the
    analysis' window does, to four scrape intervals (with a 10m scrape, [5m] never fired)."""
    root = _make_repo(tmp_path / "repo", "churn")
    spec = root / "pipelines" / "churn.yaml"
    old = "metrics: {scrape: service-monitor, alerts: true}"
    spec.write_text(spec.read_text().replace(old, old[:-1] + f", interval: {interval}}}"))
    rule = yaml.safe_load(_render(root)["manifests/churn/base/prometheus-rule.yaml"])
    for alert in rule["spec"]["groups"][0]["rules"]:
        windows = set(re.findall(r"\[([0-9]+[smh])\]", alert["expr"]))
        assert windows == {window}, alert["expr"]


@pytest.mark.parametrize("kserve", [False, True])
def test_the_alerts_read_the_metrics_the_model_server_exports(tmp_path: Path, kserve: bool) -> None:
    """mlgitops serve's own metrics (seconds), or KServe's Knative queue-proxy metrics of
    the predictor (milliseconds): the error ratio and the p99 in ms, per namespace."""
    root = _make_repo(tmp_path / "repo", "churn")
    spec = root / "pipelines" / "churn.yaml"
    if kserve:  # without the prediction shift, which a KServe canary cannot measure
        text = spec.read_text().replace("deploy:\n", "deploy:\n  target: kserve\n", 1)
        shift = "        max_prediction_shift: 0.15\n"
        assert text.count(shift) == 1
        spec.write_text(text.replace(shift, ""))
    rule = yaml.safe_load(_render(root)["manifests/churn/base/prometheus-rule.yaml"])
    errors, latency = (alert["expr"] for alert in rule["spec"]["groups"][0]["rules"])
    where = 'namespace=~"churn|churn-test",'
    if kserve:
        where += 'service_name="churn-predictor"'
        # the queue-proxy writes no 5xx series until it answers a 5xx: 0 of what it answered
        answered = f"sum by (namespace) (rate(revision_request_count{{{where}}}[5m]))"
        assert errors.startswith(
            f'(\nsum by (namespace) (rate(revision_request_count{{{where},response_code_class="5xx"}}'
            f"[5m]))\nor\n0 * {answered}\n)\n/\n{answered}\n"
        ), errors
        assert latency.startswith(
            "histogram_quantile(0.99, sum by (namespace, le) "
            f"(rate(revision_request_latencies_bucket{{{where}}}[5m])))\n"
        ), latency
    else:
        assert 'service="churn-stable"' in errors and 'code="5xx"' in errors
        assert latency.startswith("1000 * histogram_quantile(0.99, sum by (namespace, le) ")
        assert "(rate(mlgitops_request_duration_seconds_bucket{" in latency


def test_each_way_of_scraping_labels_samples_with_namespace_and_service(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    services = [o for o in built[("tumors", "production")] if o["kind"] == "Service"]
    for service in services:
        if service["metadata"]["name"] == "tumors":  # clients': its pods are scraped elsewhere
            assert "annotations" not in service["metadata"]
            continue
        assert service["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9464",
            "prometheus.io/path": "/metrics",
        }
        assert service["spec"]["ports"][1] == {
            "name": "metrics",
            "port": 9464,
            "targetPort": "metrics",
            "protocol": "TCP",
        }
    houses = built[("houses", "live")]
    monitor = _one(houses, "PodMonitor")["spec"]
    assert monitor["selector"] == {"matchLabels": {"app.kubernetes.io/name": "houses"}}
    assert monitor["podMetricsEndpoints"] == [
        {
            "port": "metrics",
            "path": "/metrics",
            "interval": "15s",
            "relabelings": [
                {
                    "action": "replace",
                    "sourceLabels": ["__meta_kubernetes_pod_label_mlgitops_dev_service"],
                    "targetLabel": "service",
                }
            ],
        }
    ]
    canary = _canary(houses)
    assert canary["canaryMetadata"] == {"labels": {"mlgitops.dev/service": "houses-canary"}}
    assert canary["stableMetadata"] == {"labels": {"mlgitops.dev/service": "houses-stable"}}
    for service in (o for o in houses if o["kind"] == "Service"):
        assert "annotations" not in service["metadata"]


# --- The container -----------------------------------------------------------------------


def test_the_container_s_arguments_are_what_serve_reads_negative_bounds_too(
    rendered: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    """The Rollout's arguments, parsed by ``mlgitops serve``'s own parser: a first bound
    below 0 (``-10,0,10``) is the option's value, not an option of its own."""
    from mlgitops.cli import _parser
    from mlgitops.record import replace
    from mlgitops.render.serving import server_command

    pipeline = next(p for p in load_repo(rendered["houses"][0]).pipelines if p.name == "houses")
    assert pipeline.deploy is not None
    server = replace(pipeline.deploy.server, prediction_buckets=(-10.0, 0.0, 10.5))
    pipeline = replace(pipeline, deploy=replace(pipeline.deploy, server=server))
    command, args = server_command(pipeline)
    assert command == ["mlgitops"]
    parsed = _parser(args).parse_args(args)
    assert parsed.prediction_buckets == (-10.0, 0.0, 10.5)
    assert (parsed.port, parsed.metrics_port, parsed.task) == (5000, 5001, "regression")


def test_the_model_server_container_is_hardened(
    built: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    pod = _one(built[("houses", "live")], "Rollout")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/example/ridge-server:2024.1"
    assert container["command"] == ["mlgitops"]
    assert container["args"] == [
        *("serve", "--model-uri", "$(MODEL_URI)", "--host", "0.0.0.0"),
        *("--port", "5000", "--metrics-port", "5001", "--task", "regression"),
        "--prediction-buckets=0,100000,250000.5,1000000",
    ]
    assert container["ports"] == [
        {"name": "http", "containerPort": 5000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 5001, "protocol": "TCP"},
    ]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == 5000
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["volumeMounts"] == [{"name": "scratch", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "scratch", "emptyDir": {}}]


# --- Argo CD Applications ----------------------------------------------------------------


def _app(rendered: dict[str, tuple[Path, dict[str, str]]], pipeline: str, env: str) -> Any:
    return yaml.safe_load(rendered[pipeline][1][f"manifests/argocd/{pipeline}-{env}.yaml"])


def test_applications_sync_each_overlay_automatically(
    rendered: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    app = _app(rendered, "fraud-score", "production")
    assert app["metadata"]["name"] == "fraud-score-production"
    assert app["metadata"]["namespace"] == "gitops"
    assert app["spec"]["project"] == "models"
    assert app["spec"]["source"] == {
        "repoURL": "https://git.example.com/ml/models.git",
        "targetRevision": "main",
        "path": "manifests/fraud-score/overlays/production",
    }
    assert app["spec"]["destination"] == {
        "server": "https://prod.example.com:6443",
        "namespace": "fraud",
    }
    assert app["spec"]["syncPolicy"] == {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true"],
    }
    staging = _app(rendered, "fraud-score", "staging")["spec"]["destination"]
    assert staging == {"server": "https://kubernetes.default.svc", "namespace": "fraud-staging"}


def test_a_cluster_name_and_the_repo_url_placeholder(
    rendered: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    app = _app(rendered, "houses", "live")
    assert app["spec"]["destination"] == {"name": "edge-cluster", "namespace": "houses"}
    assert app["spec"]["source"]["repoURL"] == argocd.PLACEHOLDER_REPO_URL
    assert app["spec"]["source"]["targetRevision"] == "HEAD"
    assert (rendered["houses"][0] / app["spec"]["source"]["path"] / "kustomization.yaml").is_file()


@pytest.mark.parametrize(
    ("cluster", "destination"),
    [
        ("https://prod.example.com:6443", {"server": "https://prod.example.com:6443"}),
        ("http://10.0.0.7:8080", {"server": "http://10.0.0.7:8080"}),
        ("edge cluster", {"name": "edge cluster"}),
    ],
)
def test_an_http_or_https_url_is_a_server_anything_else_a_name(
    cluster: str, destination: dict[str, str]
) -> None:
    env = Environment(name="live", namespace="houses", cluster=cluster)
    assert argocd.destination(env) == {**destination, "namespace": "houses"}


# --- The overlay format, and what deploy does to it ---------------------------------------


def test_the_overlay_format(rendered: dict[str, tuple[Path, dict[str, str]]]) -> None:
    text = rendered["houses"][1]["manifests/houses/overlays/live/kustomization.yaml"]
    assert text == header("pipelines/houses.yaml") + (
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "namespace: houses\n"
        "resources:\n"
        "  - ../../base\n"
        "labels:\n"
        "  - pairs:\n"
        "      mlgitops.dev/environment: live\n"
        "    includeSelectors: false\n"
        "patches:\n"
        "  - target:\n"
        "      group: argoproj.io\n"
        "      version: v1alpha1\n"
        "      kind: Rollout\n"
        "      name: houses\n"
        "    patch: |\n"
        "      apiVersion: argoproj.io/v1alpha1\n"
        "      kind: Rollout\n"
        "      metadata:\n"
        "        name: houses\n"
        "      spec:\n"
        "        replicas: 2\n"
        "        strategy:\n"
        "          canary:\n"
        "            steps:\n"
        "              - setWeight: 100\n"
        "configMapGenerator:\n"
        "  - name: houses-model\n"
        "    literals:\n"
        "      - MODEL_URI=models:/houses@live\n"
        "      - MODEL_DIGEST=\n"
    )


def test_kustomize_v5_idioms(rendered: dict[str, tuple[Path, dict[str, str]]]) -> None:
    deprecated = {"commonLabels", "patchesStrategicMerge", "patchesJson6902", "bases", "vars"}
    kustomizations = [
        yaml.safe_load(text)
        for _, files in rendered.values()
        for rel, text in files.items()
        if rel.endswith("/kustomization.yaml")
    ]
    assert len(kustomizations) == 11
    for kustomization in kustomizations:
        assert not deprecated & set(kustomization)
        assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
        for image in kustomization.get("images", []):
            assert isinstance(image.get("newTag", ""), str)
        if "namespace" in kustomization:
            assert kustomization["labels"][0]["includeSelectors"] is False
            assert all(set(p) == {"target", "patch"} for p in kustomization["patches"])


def _deploy_edit(text: str, uri: str, digest: str = "") -> str:
    """What ``deploy`` does: a ruamel.yaml round trip that sets the two literals."""
    round_trip = YAML(typ="rt")
    round_trip.indent(mapping=2, sequence=4, offset=2)
    round_trip.width = 4096
    document = round_trip.load(text)
    document["configMapGenerator"][0]["literals"][0] = f"MODEL_URI={uri}"
    document["configMapGenerator"][0]["literals"][1] = f"MODEL_DIGEST={digest}"
    out = io.StringIO()
    round_trip.dump(document, out)
    return out.getvalue()


def test_a_round_trip_edit_changes_exactly_the_literal_line(
    rendered: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    for _, files in rendered.values():
        for rel, text in files.items():
            if "/overlays/" not in rel:
                continue
            edited = _deploy_edit(text, "models:/any/42")
            diff = [
                line
                for line in difflib.unified_diff(text.splitlines(), edited.splitlines(), n=0)
                if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
            ]
            assert len(diff) == 2, rel
            assert diff[0].startswith("-      - MODEL_URI=models:/")
            assert diff[1] == "+      - MODEL_URI=models:/any/42"


DIGEST = "sha256:" + "7e" * 32


def test_a_deployed_model_uri_survives_a_re_render(tmp_path: Path) -> None:
    root = _make_repo(tmp_path / "repo", "tumors")
    first = _render(root)
    path = root / "manifests/tumors/overlays/production/kustomization.yaml"
    deployed_text = _deploy_edit(path.read_text(), "models:/tumors/7", DIGEST)
    path.write_text(deployed_text)  # what deploy writes: the lines and their record
    record = {"model_uri": "models:/tumors/7", "model_digest": DIGEST}
    (path.parent / "model.json").write_text(json.dumps(record))
    repo = load_repo(root)
    assert manifests.read_deployed(root, repo.pipelines) == {
        ("tumors", "production"): manifests.OverlayModel("models:/tumors/7", DIGEST),
    }
    second = _render(root)
    assert path.read_text() == deployed_text
    assert {k: v for k, v in second.items() if k != str(path.relative_to(root))} == {
        k: v for k, v in first.items() if k != str(path.relative_to(root))
    }
    objects = kustomize_build(path.parent)
    data = {"MODEL_URI": "models:/tumors/7", "MODEL_DIGEST": DIGEST}
    assert _one(objects, "ConfigMap")["data"] == data


def test_an_unreadable_overlay_falls_back_to_model_json(tmp_path: Path) -> None:
    root = _make_repo(tmp_path / "repo", "tumors")
    _render(root)
    folder = root / "manifests/tumors/overlays/production"
    (folder / "kustomization.yaml").write_text("configMapGenerator: [\n")
    record = {"model_uri": "models:/tumors/4", "model_digest": DIGEST}
    (folder / "model.json").write_text(json.dumps(record))
    staging = root / "manifests/tumors/overlays/staging/kustomization.yaml"
    staging.write_text(staging.read_text().replace("      - MODEL_URI=", "      - OTHER="))
    repo = load_repo(root)
    assert manifests.read_deployed(root, repo.pipelines) == {
        ("tumors", "production"): manifests.OverlayModel("models:/tumors/4", DIGEST)
    }
    _render(root)
    assert (
        (folder / "kustomization.yaml")
        .read_text()
        .endswith(f"      - MODEL_URI=models:/tumors/4\n      - MODEL_DIGEST={DIGEST}\n")
    )
    assert staging.read_text().endswith(
        "      - MODEL_URI=models:/tumors@staging\n      - MODEL_DIGEST=\n"
    )


def test_an_overlay_from_before_the_digest_gets_the_one_model_json_records(
    tmp_path: Path,
) -> None:
    """An overlay deployed before the model server checked digests has no MODEL_DIGEST
    literal: a re-render adds it, with the digest deploy recorded for that model only."""
    root = _make_repo(tmp_path / "repo", "tumors")
    _render(root)
    for env, recorded in (("production", "models:/tumors/4"), ("staging", "models:/tumors/2")):
        folder = root / f"manifests/tumors/overlays/{env}"
        text = (folder / "kustomization.yaml").read_text()
        literals = f"      - MODEL_URI=models:/tumors@{env}\n      - MODEL_DIGEST=\n"
        old = text.replace(literals, "")
        assert old != text
        (folder / "kustomization.yaml").write_text(old + "      - MODEL_URI=models:/tumors/4\n")
        record = {"model_uri": recorded, "model_digest": DIGEST}
        (folder / "model.json").write_text(json.dumps(record))
    repo = load_repo(root)
    assert manifests.read_deployed(root, repo.pipelines) == {
        ("tumors", "production"): manifests.OverlayModel("models:/tumors/4", DIGEST),
        # model.json records another model than the overlay names: the record's
        ("tumors", "staging"): manifests.OverlayModel("models:/tumors/2", DIGEST),
    }
    _render(root)
    for env, recorded in (("production", "4"), ("staging", "2")):
        overlay = root / f"manifests/tumors/overlays/{env}/kustomization.yaml"
        assert overlay.read_text().endswith(
            f"      - MODEL_URI=models:/tumors/{recorded}\n      - MODEL_DIGEST={DIGEST}\n"
        )


@pytest.mark.parametrize("recorded", [None, "models:/tumors/3"])
@pytest.mark.parametrize(
    ("edited", "literal"),
    [
        ("MODEL_URI=models:/m-0123456789abcdef", "MODEL_URI"),
        ("MODEL_URI=models:/tumors/9", "MODEL_URI"),
        ("MODEL_DIGEST=sha256:" + "1f" * 32, "MODEL_DIGEST"),
    ],
)
def test_model_lines_edited_by_hand_are_stale_to_render_check(
    tmp_path: Path, recorded: str | None, edited: str, literal: str
) -> None:
    """A pull request that edits an overlay's model lines ships, once merged, what Argo CD
    syncs: a model nobody reviewed, without a deploy. ``render --check`` carried the
    overlay's own lines into the re-render, and passed. The lines are the record's
    (model.json), which only deploy, promote and rollback write."""
    root = _make_repo(tmp_path / "repo", "tumors")
    _render(root)
    folder = root / "manifests/tumors/overlays/production"
    path = folder / "kustomization.yaml"
    if recorded is not None:
        path.write_text(_deploy_edit(path.read_text(), recorded, DIGEST))
        (folder / "model.json").write_text(
            json.dumps({"model_uri": recorded, "model_digest": DIGEST})
        )
    rendered = path.read_text()
    lines = rendered.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.strip().startswith(f"- {literal}=")]
    lines[at] = lines[at].split("- ")[0] + "- " + edited
    path.write_text("\n".join(lines) + "\n")
    assert _render(root)[str(path.relative_to(root))] == rendered
    assert path.read_text() == rendered


# --- Determinism, headers, the repository's own manifests -----------------------------------


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_rendering_is_deterministic(pipeline: str, tmp_path: Path) -> None:
    one = _make_repo(tmp_path / "one", pipeline)
    two = _make_repo(tmp_path / "two", pipeline)
    first = manifests.render(load_repo(one), {})
    assert manifests.render(load_repo(two), {}) == first
    assert manifests.render(load_repo(one), {}) == first
    for rel, text in first.items():
        assert text.encode("utf-8") == manifests.render(load_repo(two), {})[rel].encode("utf-8")


def test_every_file_starts_with_the_header(
    rendered: dict[str, tuple[Path, dict[str, str]]],
) -> None:
    for pipeline, (_, files) in rendered.items():
        assert files
        for rel, text in files.items():
            assert text.startswith(header(f"pipelines/{pipeline}.yaml")), rel
            assert text.endswith("\n") and "\t" not in text, rel


def test_pipelines_without_deploy_get_no_manifests(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pipelines").mkdir(parents=True)
    spec = HOUSES.split("deploy:")[0]
    (root / "pipelines" / "houses.yaml").write_text(spec)
    assert manifests.render(load_repo(root), {}) == {}


def test_this_repository_s_manifests_are_current() -> None:
    repo = load_repo(PROJECT)
    files = manifests.render(repo, manifests.read_deployed(PROJECT, repo.pipelines))
    stale = [
        rel
        for rel, text in files.items()
        if not (PROJECT / rel).is_file() or (PROJECT / rel).read_text("utf-8") != text
    ]
    assert stale == [], "run `mlgitops render` and commit the result"


#: Integer settings of HOUSES and CHURN written as YAML floats (``5000.0``), which JSON
#: Schema counts as the integers they equal.
_FLOATED = {
    "houses": {"port: 5000": "port: 5000.0", "metrics_port: 5001": "metrics_port: 5001.0"},
    "churn": {
        "replicas: 5": "replicas: 5.0",
        "steps: [5, 25, 50, 100]": "steps: [5.0, 25, 50.0, 100]",
        "failure_limit: 3": "failure_limit: 3.0",
    },
}


@pytest.mark.parametrize("pipeline", sorted(_FLOATED))
def test_integers_written_as_floats_render_as_the_integers(pipeline: str, tmp_path: Path) -> None:
    """A port, a replica count or a canary weight written ``5000.0`` renders as ``5000``:
    Kubernetes refuses ``containerPort: 5000.0`` (an int32), and ``serve --port 5000.0``."""
    spec, config = SPECS[pipeline]
    floated = spec
    for written, as_float in _FLOATED[pipeline].items():
        assert written in floated
        floated = floated.replace(written, as_float)
    files = []
    for name, text in (("ints", spec), ("floats", floated)):
        root = tmp_path / name
        (root / "pipelines").mkdir(parents=True)
        (root / "pipelines" / f"{pipeline}.yaml").write_text(text)
        if config:
            (root / "mlgitops.yaml").write_text(config)
        files.append(manifests.render(load_repo(root), {}))
    assert files[1] == files[0]


def test_names_go_s_yaml_reads_as_booleans_build_and_validate(
    tmp_path: Path, contracts: Path
) -> None:
    """kustomize reads YAML as Go's YAML 1.1 does, where ``y`` and ``n`` are booleans (PyYAML
    reads them as text): a namespace, pipeline or environment so named is written quoted,
    and every overlay builds and validates."""
    spec = HOUSES.replace("name: houses", "name: y", 1).replace("name: live", "name: n")
    spec = spec.replace("namespace: houses", "namespace: y")
    root = _make_repo(tmp_path / "repo", "houses")
    (root / "pipelines" / "houses.yaml").unlink()
    (root / "pipelines" / "y.yaml").write_text(spec)
    files = _render(root)
    assert "manifests/y/overlays/n/kustomization.yaml" in files
    objects = kustomize_build(root / "manifests" / "y" / "overlays" / "n")
    validate_objects(objects, contracts)
    assert {o["metadata"].get("namespace") for o in objects} == {"y"}


@pytest.mark.parametrize("name", ["kustomization.yaml", "model.json"])
def test_an_overlay_file_that_is_a_pipe_is_read_as_none_without_waiting(
    tmp_path: Path, name: str
) -> None:
    """What render reads of an overlay to carry the deployed model over is read as the spec
    files are: a named pipe there blocked render for good."""
    import os
    import subprocess
    import sys

    root = _make_repo(tmp_path / "repo", "houses")
    (root / "data").mkdir()
    (root / "data" / "houses.csv").write_text("x\n")
    overlay = root / "manifests" / "houses" / "overlays" / "live"
    overlay.mkdir(parents=True)
    os.mkfifo(overlay / name)
    done = subprocess.run(
        [sys.executable, "-m", "mlgitops", "-C", str(root), "render"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (overlay / "kustomization.yaml").is_file()
    assert "models:/houses@live" in (overlay / "kustomization.yaml").read_text()


@pytest.mark.parametrize(
    ("value", "written"),
    [(1e-12, "0.000000000001"), (1 - 0.07, "0.93"), (250, "250"), (120.5, "120.5"),
     (0.9995, "0.9995"), (2.5e-7, "0.00000025"), (9.2e18, "9200000000000000000"),
     (9.3e18, "9300000000000000000.0"), (1e20, "100000000000000000000.0")],
)  # fmt: skip
def test_a_threshold_is_written_without_float_noise_and_never_rounded_to_zero(
    value: float, written: str
) -> None:
    """A positive bound stays positive (``max_p99_ms: 1e-12`` made ``0``, which no canary's
    latency meets), and is written as Argo's and Prometheus' expressions read numbers: a
    whole number past 2^63 - 1 with a decimal point, where Argo Rollouts' expressions
    (expr-lang) read one without it as a 64-bit integer and fail on it."""
    from mlgitops.render.monitoring import number

    assert number(value) == written
    assert float(written) == pytest.approx(value, rel=1e-8)


def test_the_alerts_judge_the_pipeline_s_own_namespaces_only(tmp_path: Path) -> None:
    """A pipeline's alerts fire on its own stable Service's errors, not on those of a Service
    of the same name in a namespace none of its environments deploy to (another pipeline's,
    which may be named so there): real Prometheus rule evaluation (``promtool test rules``)."""
    promtool = program("promtool", "prometheus")
    root = _make_repo(tmp_path / "repo", "churn")
    rule = yaml.safe_load(_render(root)["manifests/churn/base/prometheus-rule.yaml"])

    def requests(namespace: str, code: str, per_minute: int) -> dict[str, str]:
        labels = (
            f'namespace="{namespace}",service="churn-stable",handler="/invocations",code="{code}"'
        )
        return {"series": f"mlgitops_requests_total{{{labels}}}", "values": f"0+{per_minute}x30"}

    healthy_here = [requests("churn", "2xx", 600), requests("churn", "5xx", 0)]
    failing_elsewhere = [requests("team-b", "2xx", 60), requests("team-b", "5xx", 540)]
    failing_here = [requests("churn-test", "2xx", 60), requests("churn-test", "5xx", 540)]
    fired = {
        "exp_labels": {"severity": "warning", "namespace": "churn-test"},
        "exp_annotations": {"summary": "Model server error rate above 7% in churn-test"},
    }
    for series, expected in (
        (healthy_here + failing_elsewhere, []),
        (healthy_here + failing_elsewhere + failing_here, [fired]),
    ):
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
        check = {"eval_time": "25m", "alertname": "ChurnModelErrorRateHigh", "exp_alerts": expected}
        test = {"interval": "1m", "input_series": series, "alert_rule_test": [check]}
        (tmp_path / "test.yaml").write_text(
            yaml.safe_dump({"rule_files": ["rules.yaml"], "tests": [test]})
        )
        done = subprocess.run(
            [promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, (expected, done.stdout + done.stderr)


@pytest.mark.parametrize(
    ("cpu", "threads"),
    [
        ("500m", "1"),
        ("1500m", "2"),
        ("2", "2"),
        ("1.25", "2"),
        ("99999999999999999999", "99999999999999999999"),
    ],
)
def test_the_model_server_s_threads_are_its_cpu_limit_rounded_up(
    tmp_path: Path, cpu: str, threads: str
) -> None:
    """OpenMP gets one thread per whole CPU of the limit, counted exactly (not through a
    float, which made 10**20 CPUs 99999999999999983616 threads)."""
    root = _make_repo(tmp_path / "repo", "churn")
    spec = root / "pipelines" / "churn.yaml"
    spec.write_text(spec.read_text().replace("deploy:\n", f"deploy:\n  server: {{cpu: '{cpu}'}}\n"))
    rollout = yaml.safe_load(_render(root)["manifests/churn/base/rollout.yaml"])
    env = rollout["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "OMP_NUM_THREADS", "value": threads} in env
