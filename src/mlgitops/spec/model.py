"""The pipeline spec as frozen records: what every command works from.

Defaults live here and in the JSON Schema (which documents them); loading
fills them in so that no later stage has to guess.
"""

from __future__ import annotations

from mlgitops.record import field, record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
DEFAULT_METRICS = {
    "classification": ("roc_auc", "accuracy", "f1"),
    "regression": ("rmse", "mae", "r2"),
}
TASK_METRICS = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}
#: The port the model's Services serve on (their ``http`` port, to the server's ``port``).
SERVICE_PORT = 80
#: GitHub environments of the pull request's jobs (the run-logging MLflow credentials) and
#: of drift's (secrets only the job naming the environment sees; reviewers may guard them):
#: no deploy target may be one of them, which hold no deploy credentials.
PR_ENVIRONMENT = "mlgitops-pr"
DRIFT_ENVIRONMENT = "mlgitops-drift"
#: The Argo CD Application of the runners' controller (``manifests/runners/controller.yaml``).
CONTROLLER_APPLICATION = "arc-controller"


def application_name(pipeline: str, environment: str) -> str:
    """The Argo CD Application that syncs one environment of a pipeline."""
    return f"{pipeline}-{environment}"


def pool_application_name(pool: str) -> str:
    """The Argo CD Application of one runner pool (``manifests/runners/<pool>.yaml``)."""
    return f"runners-{pool}"


def canary_service_name(pipeline: str) -> str:
    """The Service that selects only a Rollout's canary pods (the stable one is the name)."""
    return f"{pipeline}-canary"


#: Metrics where a smaller value is better; every other metric is higher-is-better.
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})


@record
class Split:
    """``data.split``: how rows are assigned to the holdout."""

    test_size: float = 0.2
    seed: int = 42
    stratify: bool = True
    #: Columns identifying a row; empty: every declared column.
    key: tuple[str, ...] = ()


@record
class Column:
    """An inline schema column (``data.columns``)."""

    name: str
    dtype: str
    nullable: bool = False
    unique: bool = False
    min: float | None = None
    max: float | None = None
    isin: tuple[Any, ...] | None = None
    regex: str | None = None
    required: bool = True


@record
class Rows:
    """``data.rows``: bounds on the number of data rows (inclusive)."""

    min: int | None = None
    max: int | None = None


@record
class Data:
    """``data``: the dataset, its schema and its split."""

    path: str
    target: str
    format: str | None = None
    schema: str | None = None
    columns: tuple[Column, ...] = ()
    split: Split = Split()
    test_path: str | None = None
    chunk_rows: int = 250_000
    rows: Rows | None = None

    @property
    def is_url(self) -> bool:
        return is_url(self.path)

    def format_of(self, location: str) -> str | None:
        """``data.format`` for ``path``, and for ``test_path`` where its extension names no
        format (``.csv``, a compressed ``.csv.gz``, ``.parquet``, ``.pq``); None for any other
        file (``--data``, drift's current data), and where the extension decides."""
        if location == self.path:
            return self.format
        if location != self.test_path:
            return None
        name = location.lower().split("?", 1)[0].rsplit("/", 1)[-1]
        suffixes = name.split(".")[1:]
        named = bool({"parquet", "pq"} & set(suffixes[-1:])) or "csv" in suffixes[-2:]
        return None if named else self.format

    @property
    def file_format(self) -> str:
        """``csv`` or ``parquet``: the explicit format, else the file extension."""
        if self.format:
            return self.format
        return "parquet" if self.path.lower().split("?")[0].endswith((".parquet", ".pq")) else "csv"


@record
class Model:
    """``model``: the estimator and its parameters, or a custom training command."""

    estimator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    command: str | None = None
    code: tuple[str, ...] = ()


@record
class Gate:
    """One of ``gates``: a condition on one metric that the verdict judges."""

    metric: str
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_relative_drop: float | None = None
    require_significant: bool = False
    #: ``point`` (the delta's estimate) or ``ci_bound`` (its interval's bound nearest 0)
    judge: str = "point"
    #: a relative condition that cannot be evaluated does not fail the verdict
    allow_not_evaluable: bool = False


@record
class Slices:
    """``compare.slices``: per-slice gaps between the candidate and the deployed model."""

    column: str
    max_gap: dict[str, float] = field(default_factory=dict)
    min_rows: int = 30


@record
class Compare:
    """``compare``: the paired comparison with the deployed model."""

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    slices: Slices | None = None
    #: fewest holdout rows the deployed model must be comparable on (not trained on)
    min_rows: int = 30
    #: every gate that cannot be evaluated passes instead of failing the verdict
    allow_not_evaluable: bool = False
    #: a deployed model whose run records no training rows cannot be compared
    require_training_rows: bool = True


@record
class Train:
    """``train``: where and how the pull request's training runs."""

    runs_on: tuple[str, ...] = ("self-hosted", "linux", "gpu")
    timeout_minutes: int = 120
    allow_invalid_data: bool = False
    #: Train on the runner's GPU (estimators with a device setting; ``MLGITOPS_DEVICE``).
    gpu: bool = False
    #: GPU minutes a pull request may spend on this pipeline's training.
    gpu_budget_minutes: float | None = None
    #: Minutes the train job may wait for a runner before the report says so.
    runner_wait_minutes: int = 20
    #: attest the model digest (None: as ``mlgitops.yaml: attest`` says)
    attest: bool | None = None


@record
class Canary:
    """``deploy.environments[].canary``: the Argo Rollouts canary steps."""

    steps: tuple[int, ...]
    pause: str | None = None


@record
class Analysis:
    """``deploy.environments[].analysis``: the canary's Prometheus analysis."""

    prometheus: str
    max_error_rate: float = 0.01
    max_p99_ms: float = 250
    interval: str = "1m"
    failure_limit: int = 1
    max_prediction_shift: float | None = None


#: The cluster Argo CD runs in, by its address (Argo CD names it ``in-cluster``).
IN_CLUSTER = "https://kubernetes.default.svc"


@record
class Environment:
    """One of ``deploy.environments``: a namespace the model is deployed to."""

    name: str
    namespace: str
    cluster: str = IN_CLUSTER
    replicas: int = 2
    canary: Canary | None = None
    analysis: Analysis | None = None


@record
class RegistryCredentials:
    """``deploy.server.build.credentials``: names of the secrets that log in to the registry."""

    username: str
    password: str


#: The registry whose pushes the workflow's own token can make (``packages: write``).
GITHUB_REGISTRY = "ghcr.io"


@record
class ImageBuild:
    """``deploy.server.build``: the serving image the deploy workflow builds and pushes."""

    #: ``registry/path`` without tag or digest
    repository: str
    #: the base image, pinned by digest
    base: str
    #: a hash-locked requirements file in the repository
    requirements: str
    credentials: RegistryCredentials | None = None
    #: attest the image's provenance (None: as ``mlgitops.yaml: attest`` says)
    attest: bool | None = None

    @property
    def registry(self) -> str:
        """The registry host (and port) the image is pushed to."""
        return self.repository.split("/", 1)[0]


#: The digest an overlay names before its first deploy: no registry holds it, so no pod
#: starts on a guess (deploy writes the digest of the image the workflow built).
UNDEPLOYED_DIGEST = "sha256:" + "0" * 64


def recorded_image(image: object, repository: str | None) -> str | None:
    """The serving image a record of a deploy (``model.json``) names, where it is one of
    ``repository`` (the built repository the spec names now) pinned by a digest: a record of
    another repository's image (the spec's repository renamed since) names none."""
    if not isinstance(image, str) or repository is None:
        return None
    name, _, digest = image.rpartition("@")
    hexadecimal = digest.removeprefix("sha256:")
    pinned = len(hexadecimal) == 64 and not hexadecimal.strip("0123456789abcdef")
    if name != repository or not pinned or hexadecimal == digest or digest == UNDEPLOYED_DIGEST:
        return None
    return image


def image_files(pipeline: str) -> tuple[str, str]:
    """The generated Dockerfile of a pipeline's serving image, and its ignore file."""
    dockerfile = f"manifests/{pipeline}/image/Dockerfile"
    return dockerfile, f"{dockerfile}.dockerignore"


@record
class Server:
    """``deploy.server``: the model server's image, ports and resources."""

    #: A placeholder that cannot be pulled: the serving image is the user's to build.
    image: str = "example.invalid/set-deploy.server.image-to-your-serving-image"
    port: int = 8080
    metrics_port: int = 9464
    cpu: str = "500m"
    memory: str = "1Gi"
    prediction_buckets: tuple[float, ...] = ()
    build: ImageBuild | None = None

    @property
    def container_image(self) -> str:
        """What the base manifests name: the spec's image, or the built image's repository
        (each overlay then pins the digest that deploy wrote)."""
        return self.build.repository if self.build is not None else self.image


@record
class Metrics:
    """``deploy.metrics``: how Prometheus scrapes the model server."""

    scrape: str = "annotations"
    interval: str = "30s"
    alerts: bool = False


#: The seconds a model has to load, and to give its outputs, when deploy re-scores it
#: (``deploy.model_timeout``); and at most on the command line (a week: what select(2) can
#: wait for on every platform, many times over).
MODEL_TIMEOUT_S, MODEL_TIMEOUT_MOST_S = 600.0, 7 * 24 * 3600.0
#: At most in a spec: the deploy workflow's model jobs run for twice it (loading, then the
#: outputs) and :data:`MODEL_JOB_SLACK_MINUTES`, within the 6 hours GitHub lets a job run
#: on its own runners.
MODEL_TIMEOUT_SPEC_MOST_S = 9000.0
MODEL_JOB_SLACK_MINUTES = 10


def model_job_minutes(model_timeout: float) -> int:
    """``timeout-minutes`` of a job that runs one model under ``model_timeout`` seconds: its
    two waits, and the rest of the job (check-out, install, the holdout, the upload)."""
    return MODEL_JOB_SLACK_MINUTES + int(-(-2 * model_timeout // 60))  # whole minutes, up


@record
class Deploy:
    """``deploy``: the environments and how the model is served in them."""

    environments: tuple[Environment, ...]
    target: str = "rollout"
    server: Server = Server()
    metrics: Metrics = Metrics()
    model_timeout: float = MODEL_TIMEOUT_S

    def environment(self, name: str) -> Environment | None:
        return next((e for e in self.environments if e.name == name), None)


@record
class FeatureDrift:
    """``drift.features.<name>``: one feature's own drift settings."""

    psi: float | None = None
    ignore: bool = False


@record
class Drift:
    """``drift``: the scheduled drift check."""

    schedule: str | None = None
    current: str | None = None
    psi: float = 0.25
    ks_pvalue: float = 0.01
    features: dict[str, FeatureDrift] = field(default_factory=dict)
    action: str = "pull_request"


@record
class Pipeline:
    """One ``pipelines/<name>.yaml``. ``source`` is its repo-relative path."""

    name: str
    source: str
    data: Data
    model: Model
    task: str
    metrics: tuple[str, ...]
    gates: tuple[Gate, ...] = ()
    compare: Compare = Compare()
    train: Train = Train()
    deploy: Deploy | None = None
    drift: Drift | None = None
    description: str = ""
    #: sha256 of the spec file's bytes (part of the training content key).
    spec_hash: str = ""

    @property
    def first_environment(self) -> Environment | None:
        return self.deploy.environments[0] if self.deploy else None

    def trainer_inputs(self) -> tuple[str, ...]:
        """Repo paths the trainer's code may live in: ``model.code`` and what the command names.

        The one list behind the content key, ``plan`` and the workflows' path filters.
        """
        return tuple(dict.fromkeys([*self.model.code, *command_inputs(self.model.command)]))

    def inputs(self) -> tuple[str, ...]:
        """Repo-relative paths whose change affects this pipeline (path filters)."""
        paths = [self.source, *self.trainer_inputs()]
        for p in (self.data.path, self.data.schema, self.data.test_path):
            if p and not is_url(p):
                paths.append(p)
        build = self.deploy.server.build if self.deploy else None
        if build is not None:  # what the serving image is built from
            paths += [build.requirements, *image_files(self.name)]
        return tuple(dict.fromkeys(paths))


#: Suffixes that make a command argument a file the trainer reads.
_CODE_SUFFIXES = (
    ".py", ".r", ".jl", ".sh", ".ipynb", ".yaml", ".yml", ".json", ".toml", ".cfg", ".ini",
    ".txt", ".sql", ".pkl", ".joblib",
)  # fmt: skip


def command_inputs(command: str | None) -> tuple[str, ...]:
    """Repo paths a custom trainer command names, decided from the text alone.

    Scripts and files passed as arguments (``src/train.py``, ``--config=conf/a.yaml``),
    and for ``python -m pkg.mod`` the places the top package can be (``pkg``,
    ``pkg.py``, ``src/pkg``, ``src/pkg.py``). Paths that do not exist are kept:
    they cost nothing in a path filter, and the content key skips them.
    """
    if not command:
        return ()
    import shlex  # only for a command trainer's spec

    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    found: list[str] = []
    for before, word in zip(["", *words], words, strict=False):
        if before == "-m":
            top = word.split(".")[0]
            found += [top, f"{top}.py", f"src/{top}", f"src/{top}.py"]
            continue
        value = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
        if _names_a_file(value):
            found.append(value.removeprefix("./"))
    return tuple(dict.fromkeys(found))


def _names_a_file(word: str) -> bool:
    if not word or word.startswith(("-", "/", "~", "$")) or "://" in word or ".." in word:
        return False
    return "/" in word or word.lower().endswith(_CODE_SUFFIXES)


@record
class ArgoCD:
    """``mlgitops.yaml: argocd``: where Argo CD's Applications live and what they sync."""

    namespace: str = "argocd"
    project: str = "default"
    repo_url: str | None = None
    revision: str = "HEAD"


@record
class Toleration:
    """A Kubernetes toleration of a runner pool's pods."""

    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


@record
class Pool:
    """One runner pool (``mlgitops.yaml: runners.pools[]``): an ARC runner scale set.

    ``None`` fields fall back to the ``runners`` section's values.
    """

    name: str
    github_config_url: str | None = None
    github_app_secret: str | None = None
    runner_group: str | None = None
    namespace: str | None = None
    gpus: int = 1
    gpu_resource: str = "nvidia.com/gpu"
    cpu: str | None = None
    memory: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    min_runners: int = 0
    max_runners: int = 2
    container_mode: str = "dind"
    image: str = "ghcr.io/actions/actions-runner:latest"
    job_image: str | None = None
    work_volume_size: str = "20Gi"
    storage_class: str | None = None
    price_per_gpu_hour: float | None = None


@record
class Runners:
    """``mlgitops.yaml: runners``: the self-hosted GPU runner pools Argo CD syncs."""

    pools: tuple[Pool, ...] = ()
    github_config_url: str | None = None
    github_app_secret: str = "arc-github-app"
    namespace: str = "arc-runners"
    controller_namespace: str = "arc-systems"
    price_per_gpu_hour: float | None = None
    currency: str = "USD"

    def pool(self, name: str) -> Pool | None:
        return next((p for p in self.pools if p.name == name), None)

    def price(self, pool: Pool | None) -> float | None:
        """The price of one GPU-hour on ``pool`` (its own, else the repository's)."""
        if pool is not None and pool.price_per_gpu_hour is not None:
            return pool.price_per_gpu_hour
        return self.price_per_gpu_hour


@record
class RepoConfig:
    """``mlgitops.yaml``: repository-wide settings, all optional."""

    action: str = "mlgitops/mlgitops@v1"
    default_branch: str = "main"
    python: str = "3.11"
    runs_on: str = "ubuntu-24.04"
    tracking_uri: str | None = None
    argocd: ArgoCD = ArgoCD()
    runners: Runners = Runners()

    def pool_for(self, runs_on: tuple[str, ...]) -> Pool | None:
        """The declared pool a pipeline's ``train.runs_on`` names, if it names one."""
        return self.runners.pool(runs_on[0]) if len(runs_on) == 1 else None

    #: train attests the model digest; deploy requires the attestation
    attest: bool = False


def is_url(path: str) -> bool:
    return path.startswith(("https://", "http://"))
