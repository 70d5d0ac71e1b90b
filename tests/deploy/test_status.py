"""``mlgitops status`` against a loopback Kubernetes API serving CRD-valid Argo objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.gitops.health import serving_problems, summarize, summarize_kserve
from mlgitops.render.manifests import canary_steps
from mlgitops.spec.deploy import Canary, Environment
from tests.deploy.kube_api import KubeApi
from tests.deploy.world import World, cli_run, make_world
from tests.fixtures.k8s import kustomize_build

REVISION = "0123456789abcdef0123456789abcdef01234567"
SYNCED = {"status": "Synced", "revision": REVISION}


def cluster_objects(
    world: World, env: str, kind: str = "Rollout"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Application and the Rollout (or ``kind``) exactly as rendered for ``env``."""
    app = yaml.safe_load((world.work / f"manifests/argocd/{world.name}-{env}.yaml").read_text())
    built = kustomize_build(world.work / f"manifests/{world.name}/overlays/{env}")
    rollout = next(obj for obj in built if obj["kind"] == kind)
    return app, rollout


def install(
    api: KubeApi, world: World, env: str, app_status: dict[str, Any], rollout_status: dict[str, Any]
) -> None:
    app, rollout = cluster_objects(world, env)
    api.put({**app, "status": app_status})
    api.put({**rollout, "status": rollout_status})


HEALTHY_ROLLOUT = {
    "phase": "Healthy",
    "currentStepIndex": 3,
    "stableRS": "6d4f8b9c7",
    "currentPodHash": "6d4f8b9c7",
    "replicas": 2,
    "readyReplicas": 2,
    "availableReplicas": 2,
    "updatedReplicas": 2,
}
PAUSED_ROLLOUT = {
    "phase": "Paused",
    "message": "CanaryPauseStep",
    "currentStepIndex": 1,
    "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2025-06-01T10:00:00Z"}],
    "canary": {"currentStepAnalysisRunStatus": {"name": "canary-6d4f-2-1", "status": "Running"}},
}
ABORTED_ROLLOUT = {
    "phase": "Degraded",
    "abort": True,
    "message": "RolloutAborted: metric success-rate assessed Failed",
    "currentStepIndex": 0,
    "canary": {"currentStepAnalysisRunStatus": {"name": "canary-6d4f-2-1", "status": "Failed"}},
}


def status(world: World, kubeconfig: Path, *extra: str) -> int:
    return cli_run(
        world.work,
        "status",
        world.name,
        "--env",
        "staging",
        "--kubeconfig",
        str(kubeconfig),
        *extra,
    )


def test_a_healthy_environment_exits_0(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(
        kube_api,
        world,
        "staging",
        {"sync": SYNCED, "health": {"status": "Healthy"}},
        HEALTHY_ROLLOUT,
    )
    assert status(world, kube_api.kubeconfig(tmp_path)) == 0
    assert capsys.readouterr().out == (
        f"{world.name}/staging: healthy\n"
        f"  Argo CD Application argocd/{world.name}-staging: Synced, Healthy at 0123456789ab\n"
        f"  Rollout ml-staging/{world.name}: Healthy, canary step 2/2, weight 100%\n"
    )
    assert kube_api.requests == [
        f"GET /apis/argoproj.io/v1alpha1/namespaces/argocd/applications/{world.name}-staging",
        f"GET /apis/argoproj.io/v1alpha1/namespaces/ml-staging/rollouts/{world.name}",
    ]


def inference_service(world: World, env: str, share: int, status: dict[str, Any]) -> dict[str, Any]:
    """The InferenceService as rendered for ``env``, its overlay's share set to ``share``."""
    built = kustomize_build(world.work / f"manifests/{world.name}/overlays/{env}")
    service = next(obj for obj in built if obj["kind"] == "InferenceService")
    service["spec"]["predictor"]["canaryTrafficPercent"] = share
    return {**service, "status": status}


def served(world: World, latest: int, ready: dict[str, str]) -> dict[str, Any]:
    """An InferenceService's status: its latest revision takes ``latest`` percent."""
    traffic = [
        {"revisionName": f"{world.name}-predictor-00002", "percent": latest, "latestRevision": True}
    ]
    if latest < 100:
        traffic.append(
            {
                "revisionName": f"{world.name}-predictor-00001",
                "percent": 100 - latest,
                "latestRevision": False,
                "tag": "prev",
            }
        )
    return {"conditions": [ready], "components": {"predictor": {"traffic": traffic}}}


READY = {"type": "Ready", "status": "True"}


def test_a_kserve_environment_reports_its_canary_s_share(
    tmp_path: Path, kube_api: KubeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    """KServe holds a canary's share until a commit changes it: status says where it is
    and what moves it on. Staging's steps are [50, 100]."""
    world = make_world(tmp_path / "kserve", kserve=True)
    capsys.readouterr()
    app, _ = cluster_objects(world, "staging", kind="InferenceService")
    kube_api.put({**app, "status": {"sync": SYNCED, "health": {"status": "Healthy"}}})
    kube_api.put(inference_service(world, "staging", 50, served(world, 50, READY)))
    kubeconfig = kube_api.kubeconfig(tmp_path)
    assert status(world, kubeconfig) == 1
    assert capsys.readouterr().out == (
        f"{world.name}/staging: not healthy: the canary's model takes 50% of the traffic "
        f"(canary step 1/2): KServe holds it there until `mlgitops promote {world.name} --env "
        "staging` gives it the next share\n"
        f"  Argo CD Application argocd/{world.name}-staging: Synced, Healthy at 0123456789ab\n"
        f"  InferenceService ml-staging/{world.name}: Ready, canary step 1/2, weight 50%\n"
    )
    assert kube_api.requests[-1] == (
        f"GET /apis/serving.kserve.io/v1beta1/namespaces/ml-staging/inferenceservices/{world.name}"
    )

    kube_api.put(inference_service(world, "staging", 100, served(world, 100, READY)))
    assert status(world, kubeconfig, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["healthy"], doc["kind"], doc["weight"], doc["step"], doc["steps"]) == (
        True,
        "InferenceService",
        100,
        2,
        2,
    )
    assert doc["latest_revision"] == f"{world.name}-predictor-00002"  # `served` names it

    failed = {
        "type": "Ready",
        "status": "False",
        "reason": "RevisionFailed",
        "message": "OOMKilled",
    }
    kube_api.put(inference_service(world, "staging", 50, served(world, 50, failed)))
    assert status(world, kubeconfig) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{world.name}/staging: not healthy: InferenceService is NotReady (OOMKilled)"
    )


@pytest.mark.parametrize(
    ("latest", "ready"),
    [(50, True), (100, True), (20, False)],
    ids=["at its share", "the first revision: all of the traffic", "behind its share"],
)
def test_a_kserve_canary_is_ready_for_its_next_share_once_it_serves_the_present_one(
    latest: int, ready: bool
) -> None:
    traffic = [{"revisionName": "m-00002", "percent": latest, "latestRevision": True}]
    service = {
        "spec": {"predictor": {"canaryTrafficPercent": 50}},
        "status": {"conditions": [READY], "components": {"predictor": {"traffic": traffic}}},
    }
    app = {"status": {"sync": SYNCED, "health": {"status": "Healthy"}}}
    status = summarize_kserve("m", "staging", ("argocd/m-staging", "ml/m"), app, service, (50, 100))
    assert (serving_problems(status, 50) == []) is ready
    assert status.held is (latest < 100)


def test_a_paused_canary_reports_step_weight_and_analysis(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(
        kube_api,
        world,
        "staging",
        {"sync": SYNCED, "health": {"status": "Suspended"}},
        PAUSED_ROLLOUT,
    )
    assert status(world, kube_api.kubeconfig(tmp_path)) == 1
    assert capsys.readouterr().out == (
        f"{world.name}/staging: not healthy: Argo CD health is Suspended; "
        "Rollout is Paused at canary step 1/2\n"
        f"  Argo CD Application argocd/{world.name}-staging: Synced, Suspended at 0123456789ab\n"
        f"  Rollout ml-staging/{world.name}: Paused, canary step 1/2, weight 50%, "
        "analysis Running (canary-6d4f-2-1) — CanaryPauseStep\n"
    )


def test_an_aborted_canary_says_so(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_status = {
        "sync": {"status": "OutOfSync", "revision": REVISION},
        "health": {"status": "Degraded"},
    }
    install(kube_api, world, "staging", app_status, ABORTED_ROLLOUT)
    assert status(world, kube_api.kubeconfig(tmp_path), "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "pipeline": world.name,
        "environment": "staging",
        "application": f"argocd/{world.name}-staging",
        "rollout": f"ml-staging/{world.name}",
        "sync": "OutOfSync",
        "health": "Degraded",
        "revision": REVISION,
        "phase": "Degraded",
        "message": "RolloutAborted: metric success-rate assessed Failed",
        "step": 1,
        "steps": 2,
        "weight": 0,
        "analysis": "Failed (canary-6d4f-2-1)",
        "aborted": True,
        "analysis_run": None,
        "kind": "Rollout",
        "held": False,  # a KServe canary's share, which only a commit moves
        "latest_revision": None,  # KServe's revision the canary's share goes to
        "healthy": False,
        "problems": [
            "Argo CD sync is OutOfSync",
            "Argo CD health is Degraded",
            "the canary was aborted (RolloutAborted: metric success-rate assessed Failed)",
        ],
    }


def test_objects_that_do_not_exist_are_reported_not_raised(
    world: World,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_api.kubeconfig(tmp_path)))
    assert cli_run(world.work, "status", world.name, "--env", "production") == 1
    assert capsys.readouterr().out == (
        f"{world.name}/production: not healthy: Argo CD Application argocd/{world.name}-production "
        f"not found; Rollout ml/{world.name} not found\n"
        f"  Argo CD Application argocd/{world.name}-production: not found\n"
        f"  Rollout ml/{world.name}: not found\n"
    )


def test_a_refused_token_is_an_error_naming_the_server(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(world, kube_api.kubeconfig(tmp_path, token="wrong")) == 2
    assert capsys.readouterr().err == (
        f"mlgitops status: error: Kubernetes API {kube_api.url}: reading applications "
        f"argocd/{world.name}-staging answered 401 (Unauthorized)\n"
    )


@pytest.mark.parametrize(
    ("body", "media", "said"),
    [
        (b'{"apiVersion": "argoproj.io/v1alpha1", "kind": "Appl', "application/json", "no JSON"),
        (b"<html><body>Sign in</body></html>", "text/html", "no object (got str)"),
    ],
    ids=["cut-short", "a-proxy-s-page"],
)
def test_an_answer_that_is_no_object_is_an_error_naming_the_server(
    world: World,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    body: bytes,
    media: str,
    said: str,
) -> None:
    """JSON cut short stopped status with exit 3; a proxy's page read as "not found"."""
    app, _ = cluster_objects(world, "staging")
    kube_api.raw[kube_api.path_of(app)] = (body, media)
    assert status(world, kube_api.kubeconfig(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"mlgitops status: error: Kubernetes API {kube_api.url}: reading applications "
        f"argocd/{world.name}-staging answered {said}"
    ), err


@pytest.mark.parametrize(
    ("where", "value"),
    [("status", "Healthy"), ("status.sync", "Synced"), ("status.canary", "none"),
     ("status.canary.currentBackgroundAnalysisRunStatus", "x")],
)  # fmt: skip
def test_status_fields_of_another_type_are_read_as_missing(
    world: World,
    kube_api: KubeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    where: str,
    value: str,
) -> None:
    """An object no CRD-checking API server keeps, served as it is: no status to read there,
    not a crash (exit 3)."""
    app, rollout = cluster_objects(world, "staging")
    objects = {"app": {**app, "status": {"sync": SYNCED}}, "rollout": {**rollout, "status": {}}}
    which = "app" if where.startswith("status.sync") else "rollout"
    holder = objects[which]
    keys = where.split(".")
    for key in keys[:-1]:
        holder = holder.setdefault(key, {})
    holder[keys[-1]] = value
    for obj in objects.values():
        kube_api.raw[kube_api.path_of(obj)] = (json.dumps(obj).encode(), "application/json")
    assert status(world, kube_api.kubeconfig(tmp_path)) in (0, 1)
    out = capsys.readouterr().out
    assert out.startswith(f"{world.name}/staging: "), out


def test_an_unknown_environment_names_the_known_ones(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_run(world.work, "status", world.name, "--env", "qa") == 2
    assert capsys.readouterr().err == (
        f"mlgitops status: error: pipeline '{world.name}' has no environment 'qa' in "
        f"pipelines/{world.name}.yaml (known: staging, production)\n"
    )


def test_without_any_kubernetes_configuration_it_says_what_to_do(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_run(world.work, "status", world.name, "--env", "staging") == 2
    assert capsys.readouterr().err == (
        "mlgitops status: error: no Kubernetes configuration: pass --kubeconfig, set "
        "$KUBECONFIG, or run in a cluster\n"
    )


NO_KUBECONFIG = "a kubeconfig is a mapping with clusters, contexts and users"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("root:x:0:0:root:/root:/bin/bash\n", f"it holds text, and {NO_KUBECONFIG}"),
        ("id,name\n1,a\n", f"it holds text, and {NO_KUBECONFIG}"),
        ("- 1\n", f"it holds a list, and {NO_KUBECONFIG}"),
        ("clusters: 5\n", "clusters: expected a list of named entries, not 5"),
        ("users: {a: 1}\n", "users: expected a list of named entries, not {'a': 1}"),
        ("clusters: [\n", "2:1: not YAML: expected the node content, but found '<stream end>'"),
    ],
)
def test_a_file_that_is_no_kubeconfig_is_named(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    """The Kubernetes library walked any YAML as a kubeconfig: a CSV file said "'str' object
    does not support item assignment", a list "list indices must be integers"."""
    kubeconfig = tmp_path / "not-a-kubeconfig"
    kubeconfig.write_text(text)
    assert status(world, kubeconfig) == 2
    where = f"{kubeconfig}:" if said[0].isdigit() else f"{kubeconfig}: "
    assert capsys.readouterr().err == (
        f"mlgitops status: error: cannot use the Kubernetes configuration {where}{said}\n"
    )


def test_an_unreachable_api_server_is_an_error_naming_it(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = kube_api.kubeconfig(tmp_path)
    dead = "http://127.0.0.1:9"
    kubeconfig.write_text(kubeconfig.read_text().replace(kube_api.url, dead))
    assert status(world, kubeconfig) == 2
    assert capsys.readouterr().err == (
        f"mlgitops status: error: Kubernetes API {dead} is unreachable (MaxRetryError)\n"
    )


# --- The canary's AnalysisRun --------------------------------------------------------------


def analysis_run(
    world: World, env: str, name: str, status: dict[str, Any], namespace: str | None = None
) -> dict[str, Any]:
    """The AnalysisRun Argo Rollouts creates from the rendered template and ``env``'s args."""
    built = kustomize_build(world.work / f"manifests/{world.name}/overlays/{env}")
    template = next(obj for obj in built if obj["kind"] == "AnalysisTemplate")
    rollout = next(obj for obj in built if obj["kind"] == "Rollout")
    namespace = namespace or rollout["metadata"]["namespace"]
    args = [
        {"name": a["name"], "value": a.get("value", namespace)}
        for a in rollout["spec"]["strategy"]["canary"]["analysis"]["args"]
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"args": args, "metrics": template["spec"]["metrics"]},
        "status": status,
    }


def _measurement(phase: str, value: str) -> dict[str, Any]:
    return {
        "phase": phase,
        "value": value,
        "startedAt": "2025-06-01T10:05:00Z",
        "finishedAt": "2025-06-01T10:05:01Z",
    }


FAILED_RUN = {
    "phase": "Failed",
    "message": 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
    "startedAt": "2025-06-01T10:03:00Z",
    "metricResults": [
        {
            "name": "success-rate",
            "phase": "Failed",
            "count": 3,
            "successful": 1,
            "failed": 2,
            "measurements": [
                _measurement("Successful", "[0.998]"),
                _measurement("Failed", "[0.91]"),
                _measurement("Failed", "[0.82]"),
            ],
        },
        {
            "name": "latency-p99-ms",
            "phase": "Running",
            "count": 3,
            "successful": 3,
            "measurements": [_measurement("Successful", "[41.5]")],
        },
    ],
}
ABORTED_BY_ANALYSIS = {
    "phase": "Degraded",
    "abort": True,
    "message": 'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed',
    "currentStepIndex": 1,
    "canary": {"currentBackgroundAnalysisRunStatus": {"name": "RUN", "status": "Failed"}},
}


def _install_failed_canary(api: KubeApi, world: World, run_status: dict[str, Any]) -> str:
    run = f"{world.name}-6d4f8b9c7-2"
    rollout_status = json.loads(json.dumps(ABORTED_BY_ANALYSIS).replace("RUN", run))
    app_status = {"sync": SYNCED, "health": {"status": "Degraded"}}
    install(api, world, "production", app_status, rollout_status)
    api.put(analysis_run(world, "production", run, run_status))
    return run


def test_a_stopped_canary_names_the_metric_that_stopped_it(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _install_failed_canary(kube_api, world, FAILED_RUN)
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    args = ("status", world.name, "--env", "production", "--kubeconfig", kubeconfig)
    assert cli_run(world.work, *args) == 1
    assert capsys.readouterr().out == (
        f"{world.name}/production: not healthy: Argo CD health is Degraded; the canary was "
        f'aborted (RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" '
        "assessed Failed); the canary analysis Failed on success-rate\n"
        f"  Argo CD Application argocd/{world.name}-production: Synced, Degraded at 0123456789ab\n"
        f"  Rollout ml/{world.name}: Degraded (aborted), canary step 1/3, weight 0%, "
        f"analysis Failed ({run}) — RolloutAborted: Rollout aborted update to revision 2: "
        'Metric "success-rate" assessed Failed\n'
        f"  AnalysisRun ml/{run}: Failed, stopped by success-rate — "
        'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)\n'
        "    success-rate: Failed, last measured [0.82] (2 failed, 0 inconclusive of 3)\n"
        "    latency-p99-ms: Running, last measured [41.5] (0 failed, 0 inconclusive of 3)\n"
    )
    assert kube_api.requests[-1] == (
        f"GET /apis/argoproj.io/v1alpha1/namespaces/ml/analysisruns/{run}"
    )


def test_status_json_carries_the_analysis_run(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inconclusive = json.loads(json.dumps(FAILED_RUN))
    inconclusive["phase"] = "Inconclusive"
    inconclusive["message"] = ""
    inconclusive["metricResults"][0].update(phase="Inconclusive", failed=0, inconclusive=3)
    run = _install_failed_canary(kube_api, world, inconclusive)
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    args = ("status", world.name, "--env", "production", "--kubeconfig", kubeconfig, "--json")
    assert cli_run(world.work, *args) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["analysis_run"] == {
        "name": run,
        "phase": "Inconclusive",
        "message": "",
        "stopped_by": ["success-rate"],
        "metrics": [
            {
                "name": "success-rate",
                "phase": "Inconclusive",
                "value": "[0.82]",
                "message": "",
                "count": 3,
                "failed": 0,
                "inconclusive": 3,
            },
            {
                "name": "latency-p99-ms",
                "phase": "Running",
                "value": "[41.5]",
                "message": "",
                "count": 3,
                "failed": 0,
                "inconclusive": 0,
            },
        ],
    }
    assert doc["problems"][-1] == (
        "the canary analysis is Inconclusive on success-rate: promote or abort it by hand"
    )


def test_a_missing_analysis_run_is_left_out(
    world: World, kube_api: KubeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rollout_status = json.loads(json.dumps(ABORTED_BY_ANALYSIS).replace("RUN", "gone"))
    install(
        kube_api,
        world,
        "production",
        {"sync": SYNCED, "health": {"status": "Degraded"}},
        rollout_status,
    )
    kubeconfig = str(kube_api.kubeconfig(tmp_path))
    assert (
        cli_run(world.work, "status", world.name, "--env", "production", "--kubeconfig", kubeconfig)
        == 1
    )
    out = capsys.readouterr().out
    assert "AnalysisRun" not in out
    assert kube_api.requests[-1].endswith("/namespaces/ml/analysisruns/gone")


@pytest.mark.parametrize(
    ("index", "shown"),
    [
        (0, "canary step 1/3, weight 25%"),
        (1, "canary step 1/3, weight 25%"),
        (3, "canary step 2/3, weight 50%"),
        (4, "canary step 3/3, weight 100%"),
        (5, "canary step 3/3, weight 100%"),
    ],
)
def test_canary_steps_count_weights_not_pauses(index: int, shown: str) -> None:
    env = Environment("production", "ml", canary=Canary((25, 50, 100), "5m"))
    rollout = {
        "spec": {"strategy": {"canary": {"steps": canary_steps(env)}}},
        "status": {"phase": "Paused", "currentStepIndex": index},
    }
    status = summarize("p", "production", ("argocd/p-production", "ml/p"), None, rollout)
    assert status.lines()[2] == f"  Rollout ml/p: Paused, {shown}"
