"""Kustomize base, overlays and Argo CD Applications for each pipeline that deploys.

``render`` is pure: specs (and the MODEL_URI each overlay holds now) in, file
texts out. ``read_deployed`` is the one reader of existing overlays, so that a
re-render never undoes a deploy.

Layout per pipeline (``docs/manifests.md`` describes every file)::

    manifests/<name>/base/kustomization.yaml, kustomizeconfig.yaml, <objects>.yaml
    manifests/<name>/overlays/<env>/kustomization.yaml
    manifests/argocd/<name>-<env>.yaml
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlgitops.render import argocd, monitoring, serving, yamltext
from mlgitops.spec import Pipeline, Repo
from mlgitops.spec.model import Environment

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
KUSTOMIZE_CONFIG = "kustomizeconfig.yaml"
MODEL_URI_KEY = "MODEL_URI"

Obj = dict[str, Any]


def render(repo: Repo, deployed: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Repo-relative path -> file text for every generated manifest."""
    files: dict[str, str] = {}
    for pipeline in repo.pipelines:
        if pipeline.deploy is None:
            continue
        head = _header(pipeline)
        for name, objects in base_files(pipeline).items():
            files[f"manifests/{pipeline.name}/base/{name}"] = head + yamltext.dump(objects)
        for env in pipeline.deploy.environments:
            uri = deployed.get((pipeline.name, env.name)) or placeholder_uri(pipeline, env)
            text = head + yamltext.dump(overlay(pipeline, env, uri))
            files[overlay_path(pipeline.name, env.name)] = text
            app = argocd.application(repo, pipeline, env)
            files[f"manifests/argocd/{pipeline.name}-{env.name}.yaml"] = head + yamltext.dump(app)
    return files


def _header(pipeline: Pipeline) -> str:
    from mlgitops.render import header  # the package imports this module

    return header(pipeline.source)


def overlay_path(pipeline: str, environment: str) -> str:
    return f"manifests/{pipeline}/overlays/{environment}/kustomization.yaml"


def placeholder_uri(pipeline: Pipeline, env: Environment) -> str:
    """What an overlay holds before its first deploy: the registry alias of the environment."""
    return f"models:/{pipeline.name}@{env.name}"


def base_files(pipeline: Pipeline) -> dict[str, Obj]:
    """File name -> object of ``manifests/<name>/base/``, kustomization first."""
    assert pipeline.deploy is not None
    objects: dict[str, Obj] = {}
    if pipeline.deploy.target == "kserve":
        objects["inference-service.yaml"] = serving.inference_service(pipeline)
    else:
        objects["rollout.yaml"] = serving.rollout(pipeline)
        objects["service-stable.yaml"] = serving.service(pipeline, pipeline.name, "stable")
        objects["service-canary.yaml"] = serving.service(
            pipeline, serving.canary_service(pipeline), "canary"
        )
        objects["analysis-template.yaml"] = monitoring.analysis_template(pipeline)
    scrape = pipeline.deploy.metrics.scrape
    if scrape == "service-monitor":
        objects["service-monitor.yaml"] = monitoring.service_monitor(pipeline)
    elif scrape == "pod-monitor" and pipeline.deploy.target != "kserve":
        objects["pod-monitor.yaml"] = monitoring.pod_monitor(pipeline)
    if pipeline.deploy.metrics.alerts:
        objects["prometheus-rule.yaml"] = monitoring.prometheus_rule(pipeline)
    kustomization = {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "resources": list(objects),
        "configurations": [KUSTOMIZE_CONFIG],
    }
    config = name_references(pipeline.deploy.target)
    return {"kustomization.yaml": kustomization, KUSTOMIZE_CONFIG: config, **objects}


def _specs(kind: str, group: str, paths: Iterable[str]) -> list[Obj]:
    return [{"kind": kind, "group": group, "path": path} for path in paths]


def name_references(target: str) -> Obj:
    """Kustomize ``configurations``: where a Rollout / InferenceService names other objects.

    Kustomize knows these fields only for built-in workloads; without them the
    hash-suffixed ConfigMap of the overlay would not be substituted.
    """
    if target == "kserve":
        kind, group, pod = "InferenceService", "serving.kserve.io", "spec/predictor"
    else:
        kind, group, pod = "Rollout", "argoproj.io", "spec/template/spec"
    config_maps = (
        f"{pod}/containers/env/valueFrom/configMapKeyRef/name",
        f"{pod}/containers/envFrom/configMapRef/name",
        f"{pod}/volumes/configMap/name",
    )
    secrets = (
        f"{pod}/containers/env/valueFrom/secretKeyRef/name",
        f"{pod}/containers/envFrom/secretRef/name",
        f"{pod}/volumes/secret/secretName",
    )
    refs: list[Obj] = [
        {"kind": "ConfigMap", "version": "v1", "fieldSpecs": _specs(kind, group, config_maps)},
        {"kind": "Secret", "version": "v1", "fieldSpecs": _specs(kind, group, secrets)},
    ]
    if target != "kserve":
        canary = "spec/strategy/canary"
        services = (f"{canary}/canaryService", f"{canary}/stableService")
        templates = (
            f"{canary}/analysis/templates/templateName",
            f"{canary}/steps/analysis/templates/templateName",
        )
        refs.append(
            {"kind": "Service", "version": "v1", "fieldSpecs": _specs(kind, group, services)}
        )
        refs.append(
            {
                "kind": "AnalysisTemplate",
                "group": "argoproj.io",
                "version": "v1alpha1",
                "fieldSpecs": _specs(kind, group, templates),
            }
        )
    return {"nameReference": refs}


def canary_steps(env: Environment) -> list[Obj]:
    """Argo Rollouts steps: each weight, with the environment's pause between two weights.

    Without ``pause`` a step waits for a promotion (``kubectl argo rollouts promote``);
    without ``canary`` the new model takes all traffic in one step.
    """
    if env.canary is None:
        return [{"setWeight": 100}]
    pause: Obj = {"duration": env.canary.pause} if env.canary.pause else {}
    steps: list[Obj] = []
    for index, weight in enumerate(env.canary.steps):
        if index:
            steps.append({"pause": dict(pause)})
        steps.append({"setWeight": weight})
    return steps


def _patch_text(document: Obj | list[Obj]) -> str:
    return yamltext.dump(document) if isinstance(document, dict) else yamltext.dump_list(document)


def _patches(pipeline: Pipeline, env: Environment) -> list[Obj]:
    assert pipeline.deploy is not None
    if pipeline.deploy.target == "kserve":
        predictor: Obj = {"minReplicas": env.replicas}
        if env.canary is not None:
            predictor["canaryTrafficPercent"] = env.canary.steps[0]
        patch = _partial(pipeline, "serving.kserve.io/v1beta1", "InferenceService")
        patch["spec"] = {"predictor": predictor}
        return [{"target": _target(pipeline, patch), "patch": patch}]
    steps = canary_steps(env)
    canary: Obj = {"steps": steps}
    if env.analysis is not None:
        canary["analysis"] = monitoring.rollout_analysis(pipeline, env.analysis, len(steps))
    rollout = _partial(pipeline, "argoproj.io/v1alpha1", "Rollout")
    rollout["spec"] = {"replicas": env.replicas, "strategy": {"canary": canary}}
    patches: list[Obj] = [{"target": _target(pipeline, rollout), "patch": rollout}]
    if env.analysis is not None:
        target = {"group": "argoproj.io", "version": "v1alpha1", "kind": "AnalysisTemplate"}
        target["name"] = pipeline.name
        ops = monitoring.analysis_template_patch(pipeline, env.analysis)
        patches.append({"target": target, "patch": ops})
    return patches


def _partial(pipeline: Pipeline, api_version: str, kind: str) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": pipeline.name}}


def _target(pipeline: Pipeline, patch: Obj) -> Obj:
    """A patch target naming group, version, kind and name of the partial object ``patch``."""
    group, version = patch["apiVersion"].split("/")
    return {"group": group, "version": version, "kind": patch["kind"], "name": pipeline.name}


def overlay(pipeline: Pipeline, env: Environment, model_uri: str) -> Obj:
    """``overlays/<env>/kustomization.yaml``; its last line is the ``MODEL_URI=`` literal."""
    patches = [
        {"target": p["target"], "patch": _patch_text(p["patch"])} for p in _patches(pipeline, env)
    ]
    return {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "namespace": env.namespace,
        "resources": ["../../base"],
        "labels": [{"pairs": {serving.ENVIRONMENT_LABEL: env.name}, "includeSelectors": False}],
        "patches": patches,
        "configMapGenerator": [
            {
                "name": serving.model_configmap(pipeline),
                "literals": [f"{MODEL_URI_KEY}={model_uri}"],
            }
        ],
    }


def read_deployed(root: Path, pipelines: Iterable[Pipeline]) -> dict[tuple[str, str], str]:
    """(pipeline, environment) -> the MODEL_URI literal each existing overlay holds.

    An overlay that cannot be read falls back to the ``model_uri`` of the
    ``model.json`` beside it; with neither, the environment has no deployed model.
    """
    found: dict[tuple[str, str], str] = {}
    for pipeline in pipelines:
        for env in pipeline.deploy.environments if pipeline.deploy else ():
            path = root / overlay_path(pipeline.name, env.name)
            uri = overlay_model_uri(path, serving.model_configmap(pipeline))
            uri = uri or _provenance_uri(path.parent / "model.json")
            if uri:
                found[(pipeline.name, env.name)] = uri
    return found


def overlay_model_uri(path: Path, generator: str) -> str | None:
    """The URI of the one ``MODEL_URI=`` literal of ``generator`` in a kustomization file."""
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    entries = document.get("configMapGenerator") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("name") == generator:
            literals = entry.get("literals")
            uris = [
                str(item).split("=", 1)[1]
                for item in (literals if isinstance(literals, list) else ())
                if str(item).startswith(f"{MODEL_URI_KEY}=")
            ]
            return uris[0] if len(uris) == 1 and _plausible(uris[0]) else None
    return None


def _provenance_uri(path: Path) -> str | None:
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    uri = record.get("model_uri") if isinstance(record, dict) else None
    return uri if isinstance(uri, str) and _plausible(uri) else None


def _plausible(uri: str) -> bool:
    return bool(uri) and not any(c.isspace() for c in uri)
