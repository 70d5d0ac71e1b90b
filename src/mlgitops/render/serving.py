"""The model server: its container, the Argo Rollout and Services, or a KServe InferenceService.

Every object here is a plain dict in Kubernetes' key order; ``manifests`` dumps
them. The container serves ``$(MODEL_URI)`` with ``mlgitops serve`` (MLflow's
scoring app plus Prometheus metrics on the ``metrics`` port), once the files it
downloaded have the digest ``MODEL_DIGEST``; both come from the ConfigMap
``<name>-model`` that each overlay generates.
"""

from __future__ import annotations

import math

from mlgitops.spec import Pipeline
from mlgitops.spec.deploy import SERVICE_PORT, Deploy, canary_service_name, stable_service_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

    Obj = dict[str, Any]

METRICS_PATH = "/metrics"
#: Pod label Argo Rollouts sets on stable and canary pods (``stableMetadata`` /
#: ``canaryMetadata``) for a PodMonitor: the Service each pod serves behind.
SERVICE_LABEL = "mlgitops.dev/service"
#: Label of each Service with its role: ``clients``, ``stable`` or ``canary``.
SERVICE_ROLE = "mlgitops.dev/service-role"
#: The Services whose pods are scraped: each pod once, through the one it is narrowed to.
SCRAPED_ROLES = ("stable", "canary")
#: Writable scratch (model download, caches) under a read-only root filesystem.
SCRATCH = "/tmp"
#: A non-root uid/gid; the stock MLflow image runs as root unless told otherwise.
RUN_AS = 10001
#: Optional Secret with MLFLOW_TRACKING_URI and credentials, created by the platform team.
TRACKING_SECRET = "mlflow-tracking"
#: Label the overlays add to every object of an environment (and to its Application).
ENVIRONMENT_LABEL = "mlgitops.dev/environment"
KSERVE_CONTAINER = "kserve-container"
KSERVE_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
KSERVE_MODE = "Knative"
#: The label KServe puts on the Services and pods of an InferenceService.
KSERVE_LABEL = "serving.kserve.io/inferenceservice"


def model_configmap(pipeline: Pipeline) -> str:
    """Name of the generated ConfigMap that holds ``MODEL_URI`` (before kustomize's hash)."""
    return f"{pipeline.name}-model"


def canary_service(pipeline: Pipeline) -> str:
    return canary_service_name(pipeline.name)


def stable_service(pipeline: Pipeline) -> str:
    return stable_service_name(pipeline.name)


def labels(pipeline: Pipeline) -> dict[str, str]:
    """Labels on every generated object; the first one is also the pod selector."""
    return {
        "app.kubernetes.io/name": pipeline.name,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/managed-by": "mlgitops",
    }


def selector(pipeline: Pipeline) -> dict[str, str]:
    return {"app.kubernetes.io/name": pipeline.name}


def metadata(pipeline: Pipeline, name: str | None = None) -> Obj:
    return {"name": name or pipeline.name, "labels": labels(pipeline)}


def _deploy(pipeline: Pipeline) -> Deploy:
    if pipeline.deploy is None:
        raise ValueError(f"pipeline {pipeline.name!r} has no deploy section")
    return pipeline.deploy


def _probe(path: str, port: int, period: int, failures: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _container_security(*, with_user: bool) -> Obj:
    context: Obj = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    if with_user:
        context |= {"runAsUser": RUN_AS, "runAsGroup": RUN_AS}
    context |= {"capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    return context


def server_command(pipeline: Pipeline) -> tuple[list[str], list[str]]:
    """Command and arguments of the model server container (``mlgitops serve``)."""
    server = _deploy(pipeline).server
    args = ["serve", "--model-uri", "$(MODEL_URI)", "--host", "0.0.0.0"]
    args += ["--port", str(server.port), "--metrics-port", str(server.metrics_port)]
    args += ["--task", pipeline.task]
    if pipeline.task == "regression" and server.prediction_buckets:
        # one item: "--opt -10,0" would read "-10,0" as an option (a negative first bound)
        bounds = ",".join(_bound(b) for b in server.prediction_buckets)
        args.append(f"--prediction-buckets={bounds}")
    return ["mlgitops"], args


def cpu_count(quantity: str) -> int:
    """Whole CPUs of a CPU quantity (``500m`` -> 1, ``1.5`` -> 2).

    OpenMP (scikit-learn's gradient boosting, LightGBM, XGBoost) otherwise starts a
    thread per core of the node, whatever the pod's CPU limit, and tiny per-request
    batches then wait on threads that the quota throttles.
    """
    from decimal import Decimal  # exact: a float turned 10**20 into 99999999999999983616

    cpus = Decimal(quantity[:-1]) / 1000 if quantity.endswith("m") else Decimal(quantity)
    return max(1, math.ceil(cpus))


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def container(pipeline: Pipeline, *, name: str, port_name: str | None) -> Obj:
    """The ``mlgitops serve`` container, hardened and with resources and probes.

    KServe (``port_name`` None) allows one container port: the metrics port is
    then not declared (KServe's own queue-proxy metrics are scraped instead).
    """
    server = _deploy(pipeline).server
    ports: list[Obj] = [{"containerPort": server.port, "protocol": "TCP"}]
    if port_name:
        ports = [
            {"name": port_name, **ports[0]},
            {"name": "metrics", "containerPort": server.metrics_port, "protocol": "TCP"},
        ]
    model_ref = {"name": model_configmap(pipeline), "key": "MODEL_URI"}
    # optional: an overlay rendered before there was a digest has none (serve warns)
    digest_ref = {"name": model_configmap(pipeline), "key": "MODEL_DIGEST", "optional": True}
    command, args = server_command(pipeline)
    return {
        "name": name,
        "image": server.container_image,
        "command": command,
        "args": args,
        "workingDir": SCRATCH,
        "env": [
            {"name": "MODEL_URI", "valueFrom": {"configMapKeyRef": model_ref}},
            {"name": "MODEL_DIGEST", "valueFrom": {"configMapKeyRef": digest_ref}},
            {"name": "HOME", "value": SCRATCH},
            {"name": "TMPDIR", "value": SCRATCH},
            {"name": "OMP_NUM_THREADS", "value": str(cpu_count(server.cpu))},
        ],
        "envFrom": [{"secretRef": {"name": TRACKING_SECRET, "optional": True}}],
        "ports": ports,
        "resources": {
            "requests": {"cpu": server.cpu, "memory": server.memory},
            "limits": {"cpu": server.cpu, "memory": server.memory},
        },
        "startupProbe": _probe("/ping", server.port, 10, 60),
        "readinessProbe": _probe("/ping", server.port, 10, 3),
        "livenessProbe": _probe("/health", server.port, 20, 3),
        "securityContext": _container_security(with_user=port_name is None),
        "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH}],
    }


def _scratch_volume() -> Obj:
    return {"name": "scratch", "emptyDir": {}}


def rollout(pipeline: Pipeline) -> Obj:
    """The Argo Rollout; the overlay patches replicas, canary steps and analysis."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": metadata(pipeline),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(pipeline)},
            "template": {
                "metadata": {"labels": labels(pipeline)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container(pipeline, name="server", port_name="http")],
                    "volumes": [_scratch_volume()],
                },
            },
            "strategy": {"canary": _canary_strategy(pipeline)},
        },
    }


def _canary_strategy(pipeline: Pipeline) -> Obj:
    strategy: Obj = {
        "canaryService": canary_service(pipeline),
        "stableService": stable_service(pipeline),
    }
    if _deploy(pipeline).metrics.scrape == "pod-monitor":
        strategy["canaryMetadata"] = {"labels": {SERVICE_LABEL: canary_service(pipeline)}}
        strategy["stableMetadata"] = {"labels": {SERVICE_LABEL: stable_service(pipeline)}}
    strategy["steps"] = [{"setWeight": 100}]
    return strategy


def service(pipeline: Pipeline, name: str, role: str) -> Obj:
    """A ClusterIP Service: port 80 and the metrics port.

    ``role``: ``clients`` (named as the pipeline: every pod of the Rollout, so the canary
    takes requests by its share of the pods), ``stable`` or ``canary`` (Argo Rollouts
    narrows their selectors to the stable or the canary pods). With
    ``metrics.scrape: annotations`` the stable and canary ones carry the
    ``prometheus.io/*`` annotations that Prometheus' usual ``kubernetes-service-endpoints``
    job reads (and labels the samples with ``namespace`` and ``service``): each pod is
    scraped once a Service it is narrowed to.
    """
    deploy = _deploy(pipeline)
    meta = metadata(pipeline, name)
    meta["labels"] = {**meta["labels"], SERVICE_ROLE: role}
    if deploy.metrics.scrape == "annotations" and role in SCRAPED_ROLES:
        meta["annotations"] = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(deploy.server.metrics_port),
            "prometheus.io/path": METRICS_PATH,
        }
    metrics_port = deploy.server.metrics_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": selector(pipeline),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"},
                {
                    "name": "metrics",
                    "port": metrics_port,
                    "targetPort": "metrics",
                    "protocol": "TCP",
                },
            ],
        },
    }


def inference_service(pipeline: Pipeline) -> Obj:
    """A KServe InferenceService in Knative mode (needed for ``canaryTrafficPercent``)."""
    meta = metadata(pipeline)
    meta["annotations"] = {KSERVE_MODE_ANNOTATION: KSERVE_MODE}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta,
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "automountServiceAccountToken": False,
                "containers": [container(pipeline, name=KSERVE_CONTAINER, port_name=None)],
                "volumes": [_scratch_volume()],
            }
        },
    }
