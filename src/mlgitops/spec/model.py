"""The pipeline spec as frozen records: what every command works from.

Its ``deploy`` section's records are :mod:`.deploy`'s, ``mlgitops.yaml``'s
:mod:`.repo_config`'s. Defaults live here and in the JSON Schema (which documents
them); loading fills them in so that no later stage has to guess.
"""

from __future__ import annotations

from mlgitops.record import field, record
from mlgitops.spec.deploy import Deploy, Environment, image_files

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
#: GitHub environments of the pull request's jobs (the run-logging MLflow credentials) and
#: of drift's (secrets only the job naming the environment sees; reviewers may guard them):
#: no deploy target may be one of them, which hold no deploy credentials.
PR_ENVIRONMENT = "mlgitops-pr"
DRIFT_ENVIRONMENT = "mlgitops-drift"

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


#: numpy's kind of the values of each inline dtype (the spec schema's enum): ``i``
#: integers, ``f`` floats, ``O`` text (a ``category`` read from Parquet may hold numbers),
#: ``b`` booleans, ``M`` dates.
INLINE_KINDS = {
    "int64": "i",
    "int32": "i",
    "float64": "f",
    "float32": "f",
    "str": "O",
    "bool": "b",
    "category": "O",
    "datetime64[ns]": "M",
}


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
    #: a deployed model given inputs outside those it was trained on in more than a quarter
    #: of the compared rows is compared all the same (the world changed, and its requests)
    allow_unseen_inputs: bool = False


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
    try:
        words = command_words(command)
    except ValueError:
        words = command.split()  # the spec check refuses it; a path filter still takes its files
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


def command_words(command: str) -> list[str]:
    """``model.command`` as the words the trainer runs, split as a POSIX shell would.

    Raises ValueError saying why the text does not split (a quote never closed, a
    trailing backslash): the spec check shows it at ``model.command``.
    """
    import shlex  # only for a command trainer's spec

    try:
        return shlex.split(command)
    except ValueError as exc:
        if "quotation" in str(exc):
            why = (
                "a quote is never closed, so the command cannot be split into words: close it, "
                'or escape the quote as \\"'
            )
        else:
            why = (
                "ends in a backslash that escapes nothing, so the command cannot be split into "
                "words: drop it, or write \\\\ for a backslash"
            )
        raise ValueError(why) from None


def _names_a_file(word: str) -> bool:
    if not word or word.startswith(("-", "/", "~", "$")) or "://" in word or ".." in word:
        return False
    return "/" in word or word.lower().endswith(_CODE_SUFFIXES)


def is_url(path: str) -> bool:
    return path.startswith(("https://", "http://"))
