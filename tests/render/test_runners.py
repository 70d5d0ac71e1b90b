"""``manifests/runners/``: runner pools as Argo CD Applications of the ARC scale-set chart.

Checked against the contracts: every value set exists in the chart 0.14.2
(its ``values.yaml`` or a ``.Values`` reference of its templates, or a subtree
the templates copy whole), the AutoscalingRunnerSet those values produce
(built here as the chart's template does) validates against the ARC CRD, its
runner pod and the kubernetes-mode job pod against Kubernetes' schemas, the
Applications against the Argo CD CRD, and the folders build with
``kubectl kustomize``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.render import render_repo
from mlgitops.render.runners import CHART_VERSION, hook_template, scale_set_values
from mlgitops.spec import load_repo
from tests.fixtures.k8s import (
    _OBJECT_META,
    _validator,
    kustomize_build,
    object_problems,
    strict_schema,
    validate_objects,
)

CONFIG = """\
argocd:
  repo_url: https://github.com/acme/models.git
runners:
  github_config_url: https://github.com/acme/models
  github_app_secret: acme-arc-app
  price_per_gpu_hour: 2.5
  pools:
    - name: gpu-a100
      gpus: 2
      cpu: "8"
      memory: 64Gi
      node_selector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
      tolerations:
        - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
      max_runners: 4
      runner_group: ml
    - name: gpu-l4
      container_mode: kubernetes
      namespace: arc-l4
      gpu_resource: nvidia.com/gpu
      job_image: ghcr.io/acme/train:2026.11
      storage_class: fast-ssd
      work_volume_size: 50Gi
      min_runners: 1
      node_selector: {cloud.google.com/gke-accelerator: nvidia-l4}
      tolerations:
        - {key: nvidia.com/gpu, operator: Equal, value: present, effect: NoExecute, toleration_seconds: 60}
"""

PIPELINE = """\
name: churn
data:
  path: data/churn.csv
  columns:
    tenure: {dtype: float64}
    churned: {dtype: int64}
  target: churned
model:
  estimator: xgboost.XGBClassifier
task: classification
train:
  runs_on: gpu-l4
  gpu: true
"""

CHART = "arc/charts/gha-runner-scale-set"
ARS_CRD = (
    "arc/charts/gha-runner-scale-set-controller/crds/actions.github.com_autoscalingrunnersets.yaml"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runners")
    (root / "pipelines").mkdir()
    (root / "mlgitops.yaml").write_text(CONFIG)
    (root / "pipelines" / "churn.yaml").write_text(PIPELINE)
    for rel, data in render_repo(load_repo(root), {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _load(root: Path, rel: str) -> Any:
    return yaml.safe_load((root / rel).read_text("utf-8"))


def _values(root: Path, pool: str) -> dict[str, Any]:
    app = _load(root, f"manifests/runners/{pool}.yaml")
    sources = app["spec"].get("sources") or [app["spec"]["source"]]
    chart = next(s for s in sources if s.get("chart") == "gha-runner-scale-set")
    assert chart["targetRevision"] == CHART_VERSION == "0.14.2"
    values: dict[str, Any] = chart["helm"]["valuesObject"]
    return values


def test_the_files_and_the_kustomization(repo: Path) -> None:
    files = sorted(p.relative_to(repo).as_posix() for p in (repo / "manifests/runners").rglob("*"))
    assert files == [
        "manifests/runners/controller.yaml",
        "manifests/runners/gpu-a100.yaml",
        "manifests/runners/gpu-l4",
        "manifests/runners/gpu-l4.yaml",
        "manifests/runners/gpu-l4/hook-template.yaml",
        "manifests/runners/gpu-l4/kustomization.yaml",
        "manifests/runners/kustomization.yaml",
    ]
    apps = kustomize_build(repo / "manifests/runners")
    assert [a["metadata"]["name"] for a in apps] == [
        "arc-controller",
        "runners-gpu-a100",
        "runners-gpu-l4",
    ]
    hooks = kustomize_build(repo / "manifests/runners/gpu-l4")
    assert [(o["kind"], o["metadata"]["name"]) for o in hooks] == [
        ("ConfigMap", "gpu-l4-hook-template")
    ]


def test_applications_and_configmap_validate(repo: Path, contracts: Path) -> None:
    objects = [
        *kustomize_build(repo / "manifests/runners"),
        *kustomize_build(repo / "manifests/runners/gpu-l4"),
    ]
    validate_objects(objects, contracts)


def test_sync_waves_put_the_controller_first(repo: Path) -> None:
    waves = {
        a["metadata"]["name"]: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for a in kustomize_build(repo / "manifests/runners")
    }
    assert waves["arc-controller"] < waves["runners-gpu-a100"] == waves["runners-gpu-l4"]
    for pool in ("gpu-a100", "gpu-l4"):
        meta = _values(repo, pool)["resourceMeta"]
        # Inside a pool: the scale set after the roles its clean-up needs, deleted before them.
        assert meta["autoscalingRunnerSet"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"
        for made in ("listenerRole", "listenerRoleBinding", "autoscalingListener"):
            annotations = meta[made]["annotations"]
            assert annotations["argocd.argoproj.io/compare-options"] == "IgnoreExtraneous"
            assert "Prune=false" in annotations["argocd.argoproj.io/sync-options"]


def test_what_argo_cd_must_ignore(repo: Path) -> None:
    spec = _load(repo, "manifests/runners/gpu-a100.yaml")["spec"]
    assert "RespectIgnoreDifferences=true" in spec["syncPolicy"]["syncOptions"]
    kinds = {(d["group"], d["kind"]) for d in spec["ignoreDifferences"]}
    assert ("actions.github.com", "AutoscalingRunnerSet") in kinds
    assert ("rbac.authorization.k8s.io", "Role") in kinds
    controller = _load(repo, "manifests/runners/controller.yaml")["spec"]
    assert "ServerSideApply=true" in controller["syncPolicy"]["syncOptions"]


def test_values_are_ephemeral_scale_from_zero_with_gpu_limits(repo: Path) -> None:
    dind = _values(repo, "gpu-a100")
    assert dind["minRunners"] == 0 and dind["maxRunners"] == 4
    assert dind["githubConfigSecret"] == "acme-arc-app"
    assert dind["runnerGroup"] == "ml"
    assert dind["containerMode"] == {"type": "dind"}
    (runner,) = dind["template"]["spec"]["containers"]
    assert runner["resources"]["limits"] == {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": 2}
    assert dind["template"]["spec"]["nodeSelector"] == {
        "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"
    }
    kube = _values(repo, "gpu-l4")
    assert kube["minRunners"] == 1
    assert kube["containerMode"]["type"] == "kubernetes"
    (runner,) = kube["template"]["spec"]["containers"]
    assert "resources" not in runner  # the job pod holds the GPU, not the runner
    assert runner["env"] == [
        {
            "name": "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE",
            "value": "/home/runner/pod-templates/gpu-job.yaml",
        }
    ]
    hook = yaml.safe_load(
        _load(repo, "manifests/runners/gpu-l4/hook-template.yaml")["data"]["gpu-job.yaml"]
    )
    assert hook["spec"]["containers"] == [
        {"name": "$job", "resources": {"limits": {"nvidia.com/gpu": 1}}}
    ]
    assert hook["spec"]["tolerations"][0]["tolerationSeconds"] == 60


# --- the chart: every value is one it reads ------------------------------------------------


@functools.cache
def _chart_text(contracts: Path) -> str:
    folder = contracts / CHART / "templates"
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.iterdir()))


def _chart_refs(contracts: Path) -> set[str]:
    """Dotted value paths that the chart's templates read."""
    text = _chart_text(contracts)
    refs = {m.rstrip(".") for m in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text)}
    refs |= {f"containerMode.{m}" for m in re.findall(r"\$containerMode\.(\w+)", text)}
    refs |= {f"resourceMeta.{m}" for m in re.findall(r'index \$resourceMeta "(\w+)"', text)}
    return refs


#: Subtrees the chart copies whole into objects, each with the template text that does so.
FREE_FORM = {
    "template.spec": "range $key, $val := .Values.template.spec",
    "containerMode.kubernetesModeWorkVolumeClaim": (
        ".Values.containerMode.kubernetesModeWorkVolumeClaim | toYaml"
    ),
}
RESOURCE_META_SPEC = 'define "gha-runner-scale-set.resourceMetaSpec"'


def _leaves(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def _unknown_values(values: dict[str, Any], contracts: Path) -> list[str]:
    text = _chart_text(contracts)
    assert all(proof in text for proof in FREE_FORM.values())
    assert RESOURCE_META_SPEC in text and "with .annotations" in text
    defaults = yaml.safe_load((contracts / CHART / "values.yaml").read_text("utf-8"))
    refs = _chart_refs(contracts) | set(_leaves(defaults))
    unknown = []
    for leaf in _leaves(values):
        parts = leaf.split(".")
        prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        meta = parts[0] == "resourceMeta" and len(parts) >= 3 and parts[2] == "annotations"
        if leaf in refs or prefixes & set(FREE_FORM):
            continue
        if meta and f"resourceMeta.{parts[1]}" in refs:
            continue
        unknown.append(leaf)
    return unknown


def test_every_value_is_one_the_chart_reads(repo: Path, contracts: Path) -> None:
    for pool in ("gpu-a100", "gpu-l4"):
        assert _unknown_values(_values(repo, pool), contracts) == []


def test_the_chart_check_catches_a_misspelt_value(repo: Path, contracts: Path) -> None:
    values = copy.deepcopy(_values(repo, "gpu-a100"))
    values["minRunner"] = 0
    values["containerMode"]["kubernetesModeWorkVolumeClam"] = {}
    assert _unknown_values(values, contracts) == [
        "containerMode.kubernetesModeWorkVolumeClam",
        "minRunner",
    ]


def test_values_pass_the_chart_s_own_checks(repo: Path) -> None:
    """What the chart ``fail``s on, and the cluster lookup Argo CD cannot do."""
    for pool in ("gpu-a100", "gpu-l4"):
        values = _values(repo, pool)
        assert 0 < len(values["runnerScaleSetName"]) <= 45
        assert 0 <= values["minRunners"] <= values["maxRunners"]
        assert values["githubConfigUrl"].startswith("https://")
        # Without these the chart looks the controller up with `lookup`, empty under Argo CD.
        assert values["controllerServiceAccount"] == {
            "namespace": "arc-systems",
            "name": "arc-gha-rs-controller",
        }


# --- the AutoscalingRunnerSet the chart would make, against the ARC CRD ------------------


def _runner_container(values: dict[str, Any]) -> dict[str, Any]:
    """The chart's runner container for the values' container mode (its helpers, in Python)."""
    mode = values["containerMode"]["type"]
    (runner,) = [c for c in values["template"]["spec"]["containers"] if c["name"] == "runner"]
    out = {k: v for k, v in runner.items() if k not in ("env", "volumeMounts")}
    env = list(runner.get("env", []))
    mounts = list(runner.get("volumeMounts", []))
    if mode == "dind":
        env += [
            {"name": "DOCKER_HOST", "value": "unix:///var/run/docker.sock"},
            {"name": "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS", "value": "120"},
        ]
        mounts += [
            {"name": "work", "mountPath": "/home/runner/_work"},
            {"name": "dind-sock", "mountPath": "/var/run"},
        ]
    else:
        env += [
            {"name": "ACTIONS_RUNNER_CONTAINER_HOOKS", "value": "/home/runner/k8s/index.js"},
            {
                "name": "ACTIONS_RUNNER_POD_NAME",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
            },
            {"name": "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "value": "true"},
        ]
        mounts.append({"name": "work", "mountPath": "/home/runner/_work"})
    return {**out, "env": env, "volumeMounts": mounts}


def _pod_spec(values: dict[str, Any]) -> dict[str, Any]:
    template = values["template"]["spec"]
    mode = values["containerMode"]["type"]
    skip = ("containers", "volumes", "initContainers", "serviceAccountName")
    spec = {k: v for k, v in template.items() if k not in skip}
    spec["restartPolicy"] = "Never"
    spec["serviceAccountName"] = f"{values['runnerScaleSetName']}-gha-rs-no-permission"
    spec["containers"] = [_runner_container(values)]
    volumes = list(template.get("volumes", []))
    if mode == "dind":
        spec["initContainers"] = [
            {
                "name": "init-dind-externals",
                "image": "ghcr.io/actions/actions-runner:latest",
                "command": ["cp", "-r", "/home/runner/externals/.", "/home/runner/tmpDir/"],
                "volumeMounts": [{"name": "dind-externals", "mountPath": "/home/runner/tmpDir"}],
            },
            {
                "name": "dind",
                "image": "docker:dind",
                "args": ["dockerd", "--host=unix:///var/run/docker.sock"],
                "securityContext": {"privileged": True},
                "restartPolicy": "Always",
            },
        ]
        volumes = [
            {"name": "dind-sock", "emptyDir": {}},
            {"name": "work", "emptyDir": {}},
            {"name": "dind-externals", "emptyDir": {}},
            *volumes,
        ]
    else:
        spec["serviceAccountName"] = f"{values['runnerScaleSetName']}-gha-rs-kube-mode"
        claim = values["containerMode"]["kubernetesModeWorkVolumeClaim"]
        volumes = [
            {"name": "work", "ephemeral": {"volumeClaimTemplate": {"spec": claim}}},
            *volumes,
        ]
    spec["volumes"] = volumes
    return spec


def autoscaling_runner_set(values: dict[str, Any], namespace: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "githubConfigUrl": values["githubConfigUrl"].rstrip("/"),
        "githubConfigSecret": values["githubConfigSecret"],
        "runnerScaleSetName": values["runnerScaleSetName"],
        "maxRunners": int(values["maxRunners"]),
        "minRunners": int(values["minRunners"]),
        "template": {"spec": _pod_spec(values)},
    }
    if values.get("runnerGroup"):
        spec["runnerGroup"] = values["runnerGroup"]
    meta = values["resourceMeta"]
    names = {
        "autoscalingListener": "autoscalingListener",
        "listenerServiceAccount": "listenerServiceAccountMetadata",
        "listenerRole": "listenerRoleMetadata",
        "listenerRoleBinding": "listenerRoleBindingMetadata",
        "listenerConfigSecret": "listenerConfigSecretMetadata",
        "ephemeralRunnerSet": "ephemeralRunnerSetMetadata",
        "ephemeralRunner": "ephemeralRunnerMetadata",
        "ephemeralRunnerConfigSecret": "ephemeralRunnerConfigSecretMetadata",
    }
    for key, field in names.items():
        if key in meta:
            spec[field] = {"annotations": meta[key]["annotations"]}
    return {
        "apiVersion": "actions.github.com/v1alpha1",
        "kind": "AutoscalingRunnerSet",
        "metadata": {
            "name": values["runnerScaleSetName"],
            "namespace": namespace,
            "annotations": meta["autoscalingRunnerSet"]["annotations"],
        },
        "spec": spec,
    }


def _ars_problems(obj: dict[str, Any], contracts: Path) -> list[str]:
    crd = yaml.safe_load((contracts / ARS_CRD).read_text("utf-8"))
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = strict_schema(served["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = _OBJECT_META
    found = _validator(json.dumps(schema)).iter_errors(obj)
    return sorted(f"{'/'.join(map(str, e.path))}: {e.message}" for e in found)


@pytest.mark.parametrize(("pool", "namespace"), [("gpu-a100", "arc-runners"), ("gpu-l4", "arc-l4")])
def test_the_autoscaling_runner_set_validates_against_the_arc_crd(
    repo: Path, contracts: Path, pool: str, namespace: str
) -> None:
    app = _load(repo, f"manifests/runners/{pool}.yaml")
    assert app["spec"]["destination"]["namespace"] == namespace
    ars = autoscaling_runner_set(_values(repo, pool), namespace)
    assert _ars_problems(ars, contracts) == []
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runner"}}
    assert object_problems({**pod, "spec": ars["spec"]["template"]["spec"]}, contracts) == []


def test_the_crd_check_catches_a_bad_field(repo: Path, contracts: Path) -> None:
    ars = autoscaling_runner_set(_values(repo, "gpu-a100"), "arc-runners")
    ars["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    ars["spec"]["maxRunners"] = "four"
    problems = _ars_problems(ars, contracts)
    assert any(p.startswith("spec/maxRunners:") for p in problems)
    assert any("resource" in p for p in problems)


def test_the_job_pod_template_validates(repo: Path, contracts: Path) -> None:
    """The hook merges its template into the job pod; ``$job`` becomes the job container."""
    config = load_repo(repo).config
    pool = config.runners.pool("gpu-l4")
    assert pool is not None
    template = hook_template(pool)
    spec = copy.deepcopy(template["spec"])
    spec["containers"][0].update(name="job", image="ghcr.io/acme/train:2026.11")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"}, "spec": spec}
    assert object_problems(pod, contracts) == []
    assert scale_set_values(config.runners, pool)["template"]["spec"]["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": "nvidia-l4"
    }


def test_no_pools_no_runner_manifests(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "churn.yaml").write_text(
        PIPELINE.replace("runs_on: gpu-l4", "runs_on: [self-hosted, gpu]")
    )
    files = render_repo(load_repo(tmp_path), {})
    assert not [f for f in files if f.startswith("manifests/runners/")]


def test_the_train_job_runs_on_the_pool_in_its_job_container(repo: Path) -> None:
    workflow = _load(repo, ".github/workflows/mlgitops-churn-pr.yml")
    train = workflow["jobs"]["train"]
    assert train["runs-on"] == ["gpu-l4"]
    assert train["container"] == {"image": "ghcr.io/acme/train:2026.11"}


def test_the_pool_workflows_pass_the_three_checkers(repo: Path) -> None:
    """actionlint (with the generated label config), zizmor and GitHub's workflow schema."""
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    paths = sorted(str(p) for p in (repo / ".github" / "workflows").glob("*.yml"))

    def tool(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [str(bin_dir / argv[0]), *argv[1:]]
        return subprocess.run(command, capture_output=True, text=True, check=False, cwd=repo)

    config = ("-config-file", ".github/actionlint.yaml")  # the labels of the pools
    linted = tool("actionlint", "-no-color", *config, *paths)
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")
    zizmor = tool("zizmor", "--offline", "--format", "json", "--persona", "auditor", *paths)
    assert zizmor.returncode == 0, zizmor.stderr
    assert json.loads(zizmor.stdout) == []
    schema = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *paths)
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_integers_written_as_floats_render_as_the_integers(tmp_path: Path) -> None:
    """``gpus: 2.0``, ``max_runners: 4.0``, ``toleration_seconds: 60.0``: the chart's values
    and the pod template get the integers (a float GPU limit or replica bound is refused)."""
    floated = CONFIG
    for written in ("gpus: 2", "max_runners: 4", "min_runners: 1", "toleration_seconds: 60"):
        assert written in floated
        floated = floated.replace(written, written + ".0")
    rendered = []
    for name, config in (("ints", CONFIG), ("floats", floated)):
        root = tmp_path / name
        (root / "pipelines").mkdir(parents=True)
        (root / "mlgitops.yaml").write_text(config)
        (root / "pipelines" / "churn.yaml").write_text(PIPELINE)
        rendered.append(render_repo(load_repo(root), {}))
    assert rendered[1] == rendered[0]
