"""The pipeline spec's ``deploy`` section as frozen records: the environments, the model
server and its image, and the names deploy gives what it creates.

Defaults live here and in the JSON Schema (which documents them).
"""

from __future__ import annotations

from mlgitops.record import record

#: The port the model's Services serve on (their ``http`` port, to the server's ``port``).
SERVICE_PORT = 80


def application_name(pipeline: str, environment: str) -> str:
    """The Argo CD Application that syncs one environment of a pipeline."""
    return f"{pipeline}-{environment}"


def canary_service_name(pipeline: str) -> str:
    """The Service Argo Rollouts narrows to a Rollout's canary pods."""
    return f"{pipeline}-canary"


def stable_service_name(pipeline: str) -> str:
    """The Service Argo Rollouts narrows to a Rollout's stable pods. Clients call the one
    named as the pipeline, which selects both: the canary takes requests by its share of the
    pods."""
    return f"{pipeline}-stable"


_SECONDS = {"s": 1, "m": 60, "h": 3600}
#: The most seconds a duration stands as: longer than any reader holds (Go's 292 years
#: are 10 digits of seconds), so that a number of thousands of digits is never converted
#: from text (Python refuses past 4,300 digits).
_LONGEST_S: int = 10**20


def duration_seconds(duration: object) -> int | None:
    """The seconds of a duration as the spec and the CLI write them (``30s``, ``10m``,
    ``1h``), at most :data:`_LONGEST_S`; None where it is not one."""
    if not isinstance(duration, str) or len(duration) < 2 or duration[-1] not in _SECONDS:
        return None
    number = duration[:-1].lstrip("0") or "0"
    if not (number.isascii() and number.isdigit()):
        return None
    if len(number) > 20:
        return _LONGEST_S
    return min(int(number) * _SECONDS[duration[-1]], _LONGEST_S)


def predictor_service_name(pipeline: str) -> str:
    """The Knative Service KServe makes of an InferenceService's predictor (Knative names
    its revisions after it, and its queue-proxy metrics carry it as ``service_name``)."""
    return f"{pipeline}-predictor"


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


def traffic_steps(target: str, environment: Environment) -> tuple[int, ...]:
    """The shares of traffic, in percent, a KServe canary of ``environment`` gives the new
    model in turn: its canary steps, the last 100 (KServe keeps a share until a commit
    changes it, where Argo Rollouts moves through the steps itself); () where ``target``
    is not ``kserve`` or the environment has no canary (the new model takes all traffic)."""
    if target != "kserve" or environment.canary is None:
        return ()
    return tuple(environment.canary.steps)


def traffic_share(recorded: object, steps: tuple[int, ...]) -> int | None:
    """The ``canaryTrafficPercent`` an overlay with the KServe canary ``steps`` sets, where its
    record (``model.json``) holds ``recorded`` as ``traffic_percent``: that share, once deploy,
    promote or rollback wrote one; the first step before (no record, or one from before
    records held the share); None without a canary."""
    if not steps:
        return None
    share = recorded_share(recorded)
    return steps[0] if share is None else share


def recorded_share(value: object) -> int | None:
    """``value`` where it is a share of traffic a record can hold (a whole percent from 1
    to 100); None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100:
        return value
    return None


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


#: Scrapes of the canary's pods before its analysis measures: a rate needs two samples, so
#: until then every measurement is inconclusive and only uses up the analysis' allowance of
#: inconclusive ones (the AnalysisTemplate's ``initialDelay``).
SCRAPES_BEFORE_MEASURING = 2
#: Inconclusive measurements an analysis metric allows (the AnalysisTemplate's
#: ``inconclusiveLimit``): one more ends the run inconclusive, and the Rollout pauses for a
#: person. A run the promotion stops within its limits counts as a success.
INCONCLUSIVE_LIMIT = 2
#: Measurements in a row whose query fails (Prometheus down or unreachable) an analysis
#: metric allows (the AnalysisTemplate's ``consecutiveErrorLimit``, Argo Rollouts' default
#: said out loud): one more ends the run in error, which aborts the canary.
CONSECUTIVE_ERROR_LIMIT = 4
#: Seconds Argo Rollouts waits before measuring again after a query failed, whatever the
#: metric's interval (its ``DefaultErrorRetryInterval``; not a setting).
ERROR_RETRY_S = 10


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
