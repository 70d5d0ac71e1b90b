"""Schema-valid plain spec documents as the spec's records, defaults filled in.

Pure: :mod:`.loader` reads the text and checks it; every value here is one the
schema and the checks accepted.
"""

from __future__ import annotations

from mlgitops.spec.deploy import (
    MODEL_TIMEOUT_S,
    Analysis,
    Canary,
    Deploy,
    Environment,
    ImageBuild,
    Metrics,
    RegistryCredentials,
    Server,
)
from mlgitops.spec.model import (
    DEFAULT_METRICS,
    Column,
    Compare,
    Data,
    Drift,
    FeatureDrift,
    Gate,
    Model,
    Pipeline,
    Rows,
    Slices,
    Split,
    Train,
    is_url,
)
from mlgitops.spec.repo_config import ArgoCD, Pool, RepoConfig, Runners, Toleration

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


def build_pipeline(raw: dict[str, Any], source: str) -> Pipeline:
    """Records from a schema-valid plain document, defaults filled in."""
    task = raw["task"]
    metrics = tuple(raw.get("metrics") or DEFAULT_METRICS[task])
    # every gated metric is in ``metrics`` (checks.py): a gate never adds one
    gates = tuple(Gate(metric=k, **v) for k, v in sorted(raw.get("gates", {}).items()))
    return Pipeline(
        name=raw["name"],
        source=source,
        description=raw.get("description", ""),
        data=_data(raw["data"]),
        model=_model(raw["model"]),
        task=task,
        metrics=metrics,
        gates=gates,
        compare=_compare(raw.get("compare", {})),
        train=_train(raw.get("train", {})),
        deploy=_deploy(raw["deploy"]) if "deploy" in raw else None,
        drift=_drift(raw["drift"]) if "drift" in raw else None,
    )


def repo_path(value: str) -> str:
    """A repository path as git names it (``./data/x.csv`` and ``data//x.csv`` are
    ``data/x.csv``), a folder's trailing ``/`` kept; a URL as written. What ``plan``
    compares with git's changed files, the workflows' path filters and the content key
    all see one spelling."""
    import posixpath

    if is_url(value):
        return value
    return posixpath.normpath(value) + ("/" if value.endswith("/") else "")


def _data(raw: dict[str, Any]) -> Data:
    columns = tuple(
        Column(name=name, **{**col, "isin": tuple(col["isin"]) if "isin" in col else None})
        for name, col in raw.get("columns", {}).items()
    )
    fields = {k: v for k, v in raw.items() if k not in ("columns", "split", "rows")}
    fields |= {k: repo_path(fields[k]) for k in ("path", "schema", "test_path") if k in fields}
    rows = Rows(**raw["rows"]) if "rows" in raw else None
    return Data(**fields, columns=columns, split=_split(raw.get("split", {})), rows=rows)


def _model(raw: dict[str, Any]) -> Model:
    return Model(
        estimator=raw.get("estimator"),
        params=raw.get("params", {}),
        command=raw.get("command"),
        code=tuple(repo_path(path) for path in raw.get("code", ())),
    )


def _compare(raw: dict[str, Any]) -> Compare:
    slices = raw.get("slices")
    fields = {k: v for k, v in raw.items() if k != "slices"}
    return Compare(**fields, slices=Slices(**slices) if slices else None)


def _train(raw: dict[str, Any]) -> Train:
    runs_on = raw.get("runs_on", Train.runs_on)
    labels = (runs_on,) if isinstance(runs_on, str) else tuple(runs_on)
    fields = {k: v for k, v in raw.items() if k != "runs_on"}
    return Train(runs_on=labels, **fields)


def _split(raw: dict[str, Any]) -> Split:
    return Split(**{**raw, "key": tuple(raw.get("key", ()))})


def _deploy(raw: dict[str, Any]) -> Deploy:
    envs = tuple(_environment(e) for e in raw["environments"])
    return Deploy(
        environments=envs,
        target=raw.get("target", "rollout"),
        server=_server(raw.get("server", {})),
        metrics=_metrics(raw),
        model_timeout=float(raw.get("model_timeout", MODEL_TIMEOUT_S)),
    )


def _metrics(deploy: dict[str, Any]) -> Metrics:
    if deploy.get("service_monitor") and "metrics" not in deploy:
        return Metrics(scrape="service-monitor", alerts=True)
    return Metrics(**deploy.get("metrics", {}))


def _server(raw: dict[str, Any]) -> Server:
    buckets = tuple(float(b) for b in raw.get("prediction_buckets", ()))
    fields = {k: v for k, v in raw.items() if k not in ("prediction_buckets", "build")}
    build = _image_build(raw["build"]) if "build" in raw else None
    return Server(**fields, prediction_buckets=buckets, build=build)


def _image_build(raw: dict[str, Any]) -> ImageBuild:
    credentials = raw.get("credentials")
    fields = {k: v for k, v in raw.items() if k not in ("credentials", "requirements")}
    return ImageBuild(
        **fields,
        requirements=repo_path(raw["requirements"]),
        credentials=RegistryCredentials(**credentials) if credentials else None,
    )


def _environment(raw: dict[str, Any]) -> Environment:
    canary = raw.get("canary")
    analysis = raw.get("analysis")
    fields = {k: v for k, v in raw.items() if k not in ("canary", "analysis")}
    return Environment(
        **fields,
        canary=Canary(tuple(canary["steps"]), canary.get("pause")) if canary else None,
        analysis=Analysis(**analysis) if analysis else None,
    )


def _drift(raw: dict[str, Any]) -> Drift:
    features = {k: FeatureDrift(**v) for k, v in raw.get("features", {}).items()}
    fields = {k: v for k, v in raw.items() if k != "features"}
    if "current" in fields:
        fields["current"] = repo_path(fields["current"])
    return Drift(**fields, features=features)


def build_repo_config(raw: dict[str, Any]) -> RepoConfig:
    """Records from a schema-valid plain ``mlgitops.yaml``, defaults filled in."""
    argocd = raw.get("argocd", {})
    return RepoConfig(
        action=raw.get("action", RepoConfig.action),
        default_branch=raw.get("default_branch", RepoConfig.default_branch),
        python=raw.get("python", RepoConfig.python),
        runs_on=raw.get("runs_on", RepoConfig.runs_on),
        tracking_uri=raw.get("mlflow", {}).get("tracking_uri"),
        argocd=ArgoCD(**argocd),
        runners=_runners(raw.get("runners", {})),
        attest=bool(raw.get("attest", False)),
    )


def _runners(raw: dict[str, Any]) -> Runners:
    fields = {k: v for k, v in raw.items() if k != "pools"}
    return Runners(**fields, pools=tuple(_pool(p) for p in raw.get("pools", ())))


def _pool(raw: dict[str, Any]) -> Pool:
    fields = {k: v for k, v in raw.items() if k != "tolerations"}
    tolerations = tuple(Toleration(**t) for t in raw.get("tolerations", ()))
    return Pool(**fields, tolerations=tolerations)
