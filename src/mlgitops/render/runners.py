"""``manifests/runners/``: the GPU runner pools of ``mlgitops.yaml`` as Argo CD Applications.

Each pool is one actions-runner-controller runner scale set, installed from
the ``gha-runner-scale-set`` chart at :data:`CHART_VERSION` with values
rendered here (``helm.valuesObject``); the controller is one more
Application. Layout::

    manifests/runners/kustomization.yaml      the Applications (an app of apps syncs this folder)
    manifests/runners/controller.yaml         the controller (sync wave 0)
    manifests/runners/<pool>.yaml             one scale set per pool (sync wave 1)
    manifests/runners/<pool>/                 kubernetes mode: the job pod's hook template (ConfigMap)

What running ARC under Argo CD needs, and why (docs/runners.md has the long form):

- the chart looks the controller's service account up in the cluster, which
  ``helm template`` (Argo CD) cannot do: the values name it;
- the controller syncs before the scale sets and is deleted after them (waves),
  and within a pool the scale set comes after the roles its clean-up needs, so
  deleting an Application never leaves ``cleanup-protection`` finalizers that
  nobody can remove;
- objects the controller creates for a scale set (listener, its Role and
  RoleBinding, runner sets) inherit its metadata: they are marked so that Argo
  CD neither reports nor prunes them, and the fields the controller writes on
  the objects Argo CD does own are ignored.
"""

from __future__ import annotations

from mlgitops.render import argocd, yamltext
from mlgitops.spec import Repo
from mlgitops.spec.repo_config import CONTROLLER_APPLICATION, Pool, Runners, pool_application_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]

CHART_REPO = "ghcr.io/actions/actions-runner-controller-charts"
CHART = "gha-runner-scale-set"
CONTROLLER_CHART = "gha-runner-scale-set-controller"
CHART_VERSION = "0.14.2"
CONTROLLER_RELEASE = "arc"
CONTROLLER_SERVICE_ACCOUNT = f"{CONTROLLER_RELEASE}-gha-rs-controller"
FOLDER = "manifests/runners"
RUNNER_COMMAND = ["/home/runner/run.sh"]
HOOK_TEMPLATE_DIR = "/home/runner/pod-templates"
HOOK_TEMPLATE_FILE = "gpu-job.yaml"
HOOK_TEMPLATE_ENV = "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE"
WAVE = "argocd.argoproj.io/sync-wave"
CONTROLLER_WAVE, POOL_WAVE = "0", "1"
#: Objects the controller creates from a scale set: Argo CD must neither report nor prune them.
UNOWNED = {
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
}
CONTROLLER_MADE = (
    "autoscalingListener",
    "listenerServiceAccount",
    "listenerRole",
    "listenerRoleBinding",
    "listenerConfigSecret",
    "ephemeralRunnerSet",
    "ephemeralRunner",
    "ephemeralRunnerConfigSecret",
)


def render(repo: Repo) -> dict[str, str]:
    """Repo-relative path -> file text under ``manifests/runners/`` (nothing without pools)."""
    runners = repo.config.runners
    if not runners.pools:
        return {}
    from mlgitops.render import header

    head = header("mlgitops.yaml")
    files = {f"{FOLDER}/controller.yaml": head + yamltext.dump(controller_application(repo))}
    for pool in runners.pools:
        files[f"{FOLDER}/{pool.name}.yaml"] = head + yamltext.dump(pool_application(repo, pool))
        if pool.container_mode == "kubernetes":
            folder = f"{FOLDER}/{pool.name}"
            files[f"{folder}/hook-template.yaml"] = head + yamltext.dump(
                hook_config_map(runners, pool)
            )
            files[f"{folder}/kustomization.yaml"] = head + yamltext.dump(
                _kustomization(["hook-template.yaml"])
            )
    resources = ["controller.yaml", *(f"{p.name}.yaml" for p in runners.pools)]
    files[f"{FOLDER}/kustomization.yaml"] = head + yamltext.dump(_kustomization(resources))
    return dict(sorted(files.items()))


def _kustomization(resources: list[str]) -> Obj:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }


def namespace(runners: Runners, pool: Pool) -> str:
    return pool.namespace or runners.namespace


def hook_config_map_name(pool: Pool) -> str:
    return f"{pool.name}-hook-template"


def _metadata(repo: Repo, name: str, wave: str, component: str) -> Obj:
    return {
        "name": name,
        "namespace": repo.config.argocd.namespace,
        "labels": {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "mlgitops",
        },
        "annotations": {WAVE: wave},
        # Deleting the Application deletes what it synced, in reverse wave order.
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
    }


def _chart_source(chart: str, release: str, values: Obj) -> Obj:
    return {
        "repoURL": CHART_REPO,
        "chart": chart,
        "targetRevision": CHART_VERSION,
        "helm": {"releaseName": release, "valuesObject": values},
    }


def controller_application(repo: Repo) -> Obj:
    """The actions-runner-controller itself, synced before every pool."""
    runners = repo.config.runners
    values: Obj = {"serviceAccount": {"create": True, "name": CONTROLLER_SERVICE_ACCOUNT}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": _metadata(repo, CONTROLLER_APPLICATION, CONTROLLER_WAVE, "runner-controller"),
        "spec": {
            "project": repo.config.argocd.project,
            "source": _chart_source(CONTROLLER_CHART, CONTROLLER_RELEASE, values),
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": runners.controller_namespace,
            },
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                # The CRDs are too large for client-side apply's last-applied annotation.
                "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
            },
        },
    }


def pool_application(repo: Repo, pool: Pool) -> Obj:
    """One runner scale set: the chart with this pool's values (and its hook template)."""
    runners = repo.config.runners
    chart = _chart_source(CHART, pool.name, scale_set_values(runners, pool))
    sources: Obj = {"source": chart}
    if pool.container_mode == "kubernetes":
        config = argocd.PLACEHOLDER_REPO_URL
        hooks = {
            "repoURL": repo.config.argocd.repo_url or config,
            "targetRevision": repo.config.argocd.revision,
            "path": f"{FOLDER}/{pool.name}",
        }
        sources = {"sources": [chart, hooks]}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": _metadata(
            repo, pool_application_name(pool.name), POOL_WAVE, "runner-scale-set"
        ),
        "spec": {
            "project": repo.config.argocd.project,
            **sources,
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": namespace(runners, pool),
            },
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": [
                    "CreateNamespace=true",
                    "RespectIgnoreDifferences=true",
                    "PruneLast=true",
                ],
            },
            "ignoreDifferences": ignore_differences(),
        },
    }


def ignore_differences() -> list[Obj]:
    """Fields the controller writes on objects the chart made (not drift to undo)."""
    return [
        {
            "group": "actions.github.com",
            "kind": "AutoscalingRunnerSet",
            "jqPathExpressions": [
                '.metadata.annotations["actions.github.com/runner-scale-set-id"]',
                '.metadata.annotations["actions.github.com/runner-spec-hash"]',
                ".metadata.finalizers",
            ],
        },
        {
            "group": "rbac.authorization.k8s.io",
            "kind": "Role",
            "jqPathExpressions": [".metadata.finalizers"],
        },
        {
            "group": "rbac.authorization.k8s.io",
            "kind": "RoleBinding",
            "jqPathExpressions": [".metadata.finalizers"],
        },
        {"group": "", "kind": "ServiceAccount", "jqPathExpressions": [".metadata.finalizers"]},
    ]


def scale_set_values(runners: Runners, pool: Pool) -> Obj:
    """The chart's values for one pool: ephemeral runners (always), scaling from ``min_runners``."""
    values: Obj = {
        "githubConfigUrl": pool.github_config_url or runners.github_config_url or "",
        "githubConfigSecret": pool.github_app_secret or runners.github_app_secret,
        "runnerScaleSetName": pool.name,
        "minRunners": pool.min_runners,
        "maxRunners": pool.max_runners,
        "controllerServiceAccount": {
            "namespace": runners.controller_namespace,
            "name": CONTROLLER_SERVICE_ACCOUNT,
        },
        "containerMode": _container_mode(pool),
        "template": {"spec": runner_pod_spec(pool)},
        "resourceMeta": _resource_meta(),
    }
    if pool.runner_group:
        values["runnerGroup"] = pool.runner_group
    return values


def _container_mode(pool: Pool) -> Obj:
    if pool.container_mode != "kubernetes":
        return {"type": "dind"}
    claim: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": pool.work_volume_size}},
    }
    if pool.storage_class:
        claim["storageClassName"] = pool.storage_class
    return {"type": "kubernetes", "kubernetesModeWorkVolumeClaim": claim}


def _resource_meta() -> Obj:
    meta: Obj = {"autoscalingRunnerSet": {"annotations": {WAVE: "1"}}}
    for key in CONTROLLER_MADE:
        meta[key] = {"annotations": dict(UNOWNED)}
    return meta


def resources(pool: Pool) -> Obj:
    """Requests and limits of the container that trains: the GPUs, and CPU/memory if set."""
    limits: Obj = {}
    requests: Obj = {}
    for key, value in (("cpu", pool.cpu), ("memory", pool.memory)):
        if value:
            limits[key] = requests[key] = value
    if pool.gpus:
        limits[pool.gpu_resource] = pool.gpus
    found: Obj = {}
    if requests:
        found["requests"] = requests
    if limits:
        found["limits"] = limits
    return found


def _placement(pool: Pool) -> Obj:
    placement: Obj = {}
    if pool.node_selector:
        placement["nodeSelector"] = dict(sorted(pool.node_selector.items()))
    if pool.tolerations:
        placement["tolerations"] = [_toleration(t) for t in pool.tolerations]
    return placement


def _toleration(t: Any) -> Obj:
    names = {"toleration_seconds": "tolerationSeconds"}
    fields = ("key", "operator", "value", "effect", "toleration_seconds")
    return {names.get(f, f): getattr(t, f) for f in fields if getattr(t, f) is not None}


def runner_pod_spec(pool: Pool) -> Obj:
    """``template.spec`` of the runner pod.

    dind: jobs run in the runner container, so it holds the GPUs. kubernetes:
    each job runs in a pod of its own that the container hook creates from the
    hook template (which holds the GPUs); the runner pod only needs to land on
    a GPU node, as the job pod shares its ReadWriteOnce work volume.
    """
    runner: Obj = {"name": "runner", "image": pool.image, "command": list(RUNNER_COMMAND)}
    spec: Obj = {**_placement(pool)}
    if pool.container_mode == "kubernetes":
        path = f"{HOOK_TEMPLATE_DIR}/{HOOK_TEMPLATE_FILE}"
        runner["env"] = [{"name": HOOK_TEMPLATE_ENV, "value": path}]
        runner["volumeMounts"] = [
            {"name": "hook-template", "mountPath": HOOK_TEMPLATE_DIR, "readOnly": True}
        ]
        spec["volumes"] = [
            {"name": "hook-template", "configMap": {"name": hook_config_map_name(pool)}}
        ]
    else:
        limits = resources(pool)
        if limits:
            runner["resources"] = limits
    spec["containers"] = [runner]
    return spec


def hook_template(pool: Pool) -> Obj:
    """The container hook's pod template: the job container (``$job``) gets the GPUs."""
    job: Obj = {"name": "$job"}
    limits = resources(pool)
    if limits:
        job["resources"] = limits
    return {"spec": {**_placement(pool), "containers": [job]}}


def hook_config_map(runners: Runners, pool: Pool) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": hook_config_map_name(pool),
            "namespace": namespace(runners, pool),
            "labels": {"app.kubernetes.io/managed-by": "mlgitops"},
            # Before the scale set, whose runner pods mount it.
            "annotations": {WAVE: "0"},
        },
        "data": {HOOK_TEMPLATE_FILE: yamltext.dump(hook_template(pool))},
    }
