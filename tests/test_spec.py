"""Spec loading: valid specs load; each invalid case gives exactly its expected messages.

Cases are files: ``specs/invalid/<case>.yaml`` is copied to ``pipelines/<case>.yaml``
of a fresh repository (a folder ``specs/invalid/<case>/`` is copied as the whole
repository), and ``<case>.errors`` holds the exact expected stderr lines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgitops.errors import SpecError
from mlgitops.spec import load_repo
from mlgitops.spec.loader import parse_pipeline
from tests.conftest import PROJECT

SPECS = Path(__file__).parent / "specs"
INVALID = sorted(p.with_suffix("").name for p in (SPECS / "invalid").glob("*.errors"))
VALID = sorted((SPECS / "valid").glob("*.yaml"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _invalid_repo(case: str, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    source = SPECS / "invalid" / case
    if source.is_dir():
        shutil.copytree(source, root)
    else:
        (root / "pipelines").mkdir(parents=True)
        shutil.copy(source.with_suffix(".yaml"), root / "pipelines" / f"{case}.yaml")
    for spec in (root / "pipelines").glob("*.yaml"):
        _files_it_names(root, spec)
    return root


def _files_it_names(root: Path, spec: Path) -> None:
    """The files a case's spec names exist, so that it shows only its own problem."""
    try:
        doc = yaml.safe_load(spec.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError, LookupError):
        return  # the case is that it does not read (PyYAML: IndexError, KeyError on ``!!int``)
    doc = doc if isinstance(doc, dict) else {}
    data = doc.get("data") if isinstance(doc.get("data"), dict) else {}
    model = doc.get("model") if isinstance(doc.get("model"), dict) else {}
    named = [data.get(key) for key in ("path", "schema", "test_path")]
    named += model.get("code") if isinstance(model.get("code"), list) else []
    command = model.get("command")
    named += [w for w in command.split() if w.endswith(".py")] if isinstance(command, str) else []
    for rel in named:
        if (
            isinstance(rel, str)
            and "://" not in rel
            and not rel.startswith("/")
            and "\0" not in rel
            and all(len(part.encode()) <= 255 for part in rel.split("/"))
        ):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).touch()
    deploy = doc.get("deploy") if isinstance(doc.get("deploy"), dict) else {}
    server = deploy.get("server") if isinstance(deploy.get("server"), dict) else {}
    build = server.get("build") if isinstance(server.get("build"), dict) else {}
    lock = build.get("requirements")
    if isinstance(lock, str) and not lock.startswith(("/", "..")) and not (root / lock).exists():
        (root / lock).parent.mkdir(parents=True, exist_ok=True)  # a sound hash-locked file
        (root / lock).write_text("mlgitops==0.1.0 --hash=sha256:" + "0" * 64 + "\n")


def test_there_are_at_least_thirty_invalid_cases() -> None:
    assert len(INVALID) >= 30


@pytest.mark.parametrize("case", INVALID)
def test_invalid_spec_reports_every_problem_and_writes_nothing(case: str, tmp_path: Path) -> None:
    root = _invalid_repo(case, tmp_path)
    before = _snapshot(root)
    expected = (SPECS / "invalid" / f"{case}.errors").read_text("utf-8").splitlines()
    for command in (["render"], ["render", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "mlgitops", *command],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[:-1] == expected
        assert lines[-1] == f"mlgitops: {len(expected)} problem(s) in the specs; nothing written"
    assert _snapshot(root) == before


@pytest.mark.parametrize("spec", VALID, ids=lambda p: p.stem)
def test_valid_spec_loads(spec: Path) -> None:
    pipeline = parse_pipeline(f"pipelines/{spec.name}", spec.read_text("utf-8"))
    assert pipeline.source == f"pipelines/{spec.name}"
    assert len(pipeline.spec_hash) == 64


def test_defaults_are_filled_in() -> None:
    pipeline = parse_pipeline(
        "pipelines/minimal.yaml", (SPECS / "valid" / "minimal.yaml").read_text()
    )
    assert pipeline.metrics == ("rmse", "mae", "r2")
    assert pipeline.train.runs_on == ("self-hosted", "linux", "gpu")
    assert pipeline.train.timeout_minutes == 120
    assert pipeline.data.split.test_size == 0.2
    assert pipeline.data.split.seed == 42
    assert pipeline.deploy is None
    assert [c.name for c in pipeline.data.columns] == ["x", "y"]


def test_full_spec_records() -> None:
    pipeline = parse_pipeline("pipelines/full.yaml", (SPECS / "valid" / "full.yaml").read_text())
    assert pipeline.deploy is not None
    prod = pipeline.deploy.environment("production")
    assert prod is not None and prod.canary is not None and prod.analysis is not None
    assert prod.canary.steps == (10, 50, 100)
    assert prod.canary.pause == "10m"
    assert prod.analysis.max_p99_ms == 250
    assert pipeline.deploy.model_timeout == 1200.0
    assert [g.metric for g in pipeline.gates] == ["accuracy", "roc_auc"]
    assert pipeline.model.params == {"max_iter": 200, "learning_rate": 0.1}
    assert pipeline.inputs() == ("pipelines/full.yaml", "data/churn.csv", "schemas/churn.yaml")


#: full.yaml's integer settings written as YAML floats (``42.0``), which JSON Schema counts
#: as the integers they equal.
_FLOATED = {
    "seed: 42": "seed: 42.0",
    "timeout_minutes: 120": "timeout_minutes: 120.0",
    "port: 8080": "port: 8080.0",
    "steps: [10, 50, 100]": "steps: [10.0, 50, 100.0]",
}


def test_integers_written_as_floats_load_as_the_integers() -> None:
    """A seed, a port or a time limit written ``42.0`` is the integer 42 to every stage
    (``train_test_split`` refuses a float seed, Kubernetes a float port)."""
    from mlgitops.record import replace

    text = (SPECS / "valid" / "full.yaml").read_text()
    floated = text
    for written, as_float in _FLOATED.items():
        assert written in floated
        floated = floated.replace(written, as_float)
    pipeline = parse_pipeline("pipelines/full.yaml", floated)
    assert replace(pipeline, spec_hash="") == replace(
        parse_pipeline("pipelines/full.yaml", text), spec_hash=""
    )
    assert pipeline.deploy is not None and pipeline.deploy.server is not None
    prod = pipeline.deploy.environment("production")
    assert prod is not None and prod.canary is not None
    whole = [
        pipeline.data.split.seed,
        pipeline.train.timeout_minutes,
        pipeline.deploy.server.port,
        *prod.canary.steps,
    ]
    assert [type(value) for value in whole] == [int] * len(whole), whole


def test_a_model_s_time_limit_is_the_deploy_command_s_by_default_and_bound() -> None:
    """``deploy.model_timeout``: the schema's default is the one deploy keeps, and its bound
    one the deploy workflow's model jobs can wait for."""
    from mlgitops.spec import deploy
    from mlgitops.spec.schema_problems import schema

    field = schema("pipeline")["properties"]["deploy"]["properties"]["model_timeout"]
    bounds = (field["default"], field["exclusiveMinimum"], field["maximum"])
    assert bounds == (deploy.MODEL_TIMEOUT_S, 0, deploy.MODEL_TIMEOUT_SPEC_MOST_S)
    # the model jobs of the deploy workflow fit in GitHub's 6 hours, and the command takes it
    assert deploy.model_job_minutes(deploy.MODEL_TIMEOUT_SPEC_MOST_S) <= 6 * 60
    assert deploy.MODEL_TIMEOUT_SPEC_MOST_S <= deploy.MODEL_TIMEOUT_MOST_S
    spec = (SPECS / "valid" / "full.yaml").read_text().replace("  model_timeout: 1200\n", "")
    pipeline = parse_pipeline("pipelines/full.yaml", spec)
    assert pipeline.deploy is not None and pipeline.deploy.model_timeout == deploy.MODEL_TIMEOUT_S


def test_repository_paths_are_spelt_as_git_names_them() -> None:
    """plan compares them with git's changed files, the workflows filter on them: one
    spelling (a folder keeps its trailing slash; a URL stays as written)."""
    text = (SPECS / "valid" / "full.yaml").read_text()
    text = text.replace("path: data/churn.csv", "path: ./data/churn.csv")
    text = text.replace("schema: schemas/churn.yaml", "schema: schemas/./v1/../churn.yaml")
    text = text.replace("model:\n", "model:\n  code: [./src//features/, lib/x.py]\n", 1)
    pipeline = parse_pipeline("pipelines/full.yaml", text)
    assert (pipeline.data.path, pipeline.data.schema) == ("data/churn.csv", "schemas/churn.yaml")
    assert pipeline.model.code == ("src/features/", "lib/x.py")
    assert pipeline.inputs() == (
        "pipelines/full.yaml",
        "src/features/",
        "lib/x.py",
        "data/churn.csv",
        "schemas/churn.yaml",
    )


def test_a_built_image_spec_records() -> None:
    text = (SPECS / "valid" / "built_image.yaml").read_text()
    pipeline = parse_pipeline("pipelines/built_image.yaml", text)
    assert pipeline.deploy is not None
    server = pipeline.deploy.server
    build = server.build
    assert build is not None
    assert build.repository == "registry.example.com:5000/ml/churn-serve"
    assert build.registry == "registry.example.com:5000"
    assert build.base.startswith("python:3.11-slim-bookworm@sha256:4c5a1b1e")
    assert build.requirements == "serving/requirements.txt"
    assert build.credentials is not None
    assert (build.credentials.username, build.credentials.password) == (
        "REGISTRY_USERNAME",
        "REGISTRY_PASSWORD",
    )
    assert build.attest is True
    # The base manifests name the repository; each overlay pins the deployed digest.
    assert server.container_image == "registry.example.com:5000/ml/churn-serve"
    # A new lock or a new Dockerfile is a change the pipeline's workflows react to.
    assert pipeline.inputs() == (
        "pipelines/built_image.yaml",
        "data/churn.csv",
        "schemas/churn.yaml",
        "serving/requirements.txt",
        "manifests/churn/image/Dockerfile",
        "manifests/churn/image/Dockerfile.dockerignore",
    )
    full = parse_pipeline("pipelines/full.yaml", (SPECS / "valid" / "full.yaml").read_text())
    assert full.deploy is not None and full.deploy.server.build is None
    assert full.deploy.server.container_image == "ghcr.io/mlflow/mlflow:v3.17.2"


def test_gate_judgement_and_comparison_settings() -> None:
    text = (SPECS / "valid" / "noninferiority.yaml").read_text()
    pipeline = parse_pipeline("pipelines/noninferiority.yaml", text)
    log_loss, roc_auc = pipeline.gates
    assert (roc_auc.judge, roc_auc.allow_not_evaluable) == ("ci_bound", False)
    assert (log_loss.judge, log_loss.allow_not_evaluable) == ("point", True)
    compare = pipeline.compare
    assert (compare.min_rows, compare.allow_not_evaluable, compare.require_training_rows) == (
        200,
        False,
        False,
    )
    defaults = parse_pipeline("pipelines/full.yaml", (SPECS / "valid" / "full.yaml").read_text())
    assert (defaults.compare.min_rows, defaults.compare.require_training_rows) == (30, True)


def test_custom_trainer_spec_records() -> None:
    text = (SPECS / "valid" / "custom_trainer.yaml").read_text()
    pipeline = parse_pipeline("pipelines/custom_trainer.yaml", text)
    assert pipeline.model.command == "python src/train.py --epochs 3"
    assert pipeline.train.runs_on == ("gpu-a100",)
    assert pipeline.data.is_url and pipeline.data.file_format == "parquet"
    assert pipeline.drift is not None and pipeline.drift.features["driver_id"].ignore
    # URLs are not path-filter inputs; code paths are.
    assert pipeline.inputs() == (
        "pipelines/custom_trainer.yaml",
        "src/train.py",
        "src/features/",
        "schemas/rides.yaml",
        "data/rides-holdout.parquet",
    )


def test_a_gate_never_adds_a_metric() -> None:
    text = (
        (SPECS / "valid" / "full.yaml")
        .read_text()
        .replace("metrics: [roc_auc, accuracy, f1]", "metrics: [f1]")
    )
    with pytest.raises(SpecError) as caught:
        parse_pipeline("pipelines/full.yaml", text)
    assert [str(p) for p in caught.value.problems] == [
        f"pipelines/full.yaml:{line}:3: gates.{metric}: gate on '{metric}', which is not in "
        "metrics (f1): add it to metrics (a gate never changes what train computes)"
        for line, metric in ((13, "roc_auc"), (14, "accuracy"))
    ]


def test_problems_from_several_files_come_sorted(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    for case in ("task_unknown", "empty_file", "seed_negative"):
        shutil.copy(SPECS / "invalid" / f"{case}.yaml", tmp_path / "pipelines" / f"{case}.yaml")
    with pytest.raises(SpecError) as caught:
        load_repo(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "pipelines/empty_file.yaml:1:1: the file is empty: expected a mapping",
        "pipelines/seed_negative.yaml:6:33: data.split.seed: must be >= 0 (got -1)",
        "pipelines/task_unknown.yaml:10:7: task: must be one of classification, regression (got 'ranking')",
    ]


def test_example_pipeline_of_this_repository_loads() -> None:
    repo = load_repo(Path(__file__).resolve().parent.parent)
    assert [p.name for p in repo.pipelines] == ["tumors"]
    assert repo.config.action == "./"


@pytest.mark.parametrize(
    ("duration", "too_long"),
    [("2562047h", False), ("2562048h", True), ("153722867m", False), ("153722868m", True),
     ("9223372036s", False), ("9223372037s", True), ("0s", False)],
)  # fmt: skip
def test_durations_go_reads_are_accepted_to_the_last_hour(duration: str, too_long: bool) -> None:
    """Go's durations hold 2^63 - 1 nanoseconds: Argo Rollouts reads up to 2562047h."""
    from mlgitops.spec.deploy_checks import _too_long

    assert (_too_long(duration) is not None) is too_long


@pytest.mark.parametrize(
    ("pause", "too_long"), [("596523h", False), ("596524h", True), ("2147483647s", False),
                            ("2147483648s", True), ("\u00b2s", False), ("9" * 5000 + "s", True)],
)  # fmt: skip
def test_a_pause_is_held_to_argo_rollouts_32_bit_seconds(pause: str, too_long: bool) -> None:
    """Argo Rollouts reads a canary's pause as an int32 of seconds; odd digits (``²``, which
    ``str.isdigit`` takes) and thousands of them are no crash."""
    from mlgitops.spec.deploy_checks import _PAUSE_LONGEST_S, _too_long

    assert (_too_long(pause, _PAUSE_LONGEST_S, "Argo Rollouts") is not None) is too_long


@pytest.mark.parametrize(
    ("schedule", "refused"),
    [
        ("0,58 0,23 * * 1", False),  # 23:58 on Monday, then 00:00 on Tuesday: no run
        ("0,58 0,23 1 * *", False),
        ("0,58 0,23 * * *", True),  # 23:58, then 00:00 the next day
        ("0 0 31 2 */1", True),  # */1 is every weekday: 31 February only
        ("0 0 31 2 mon", False),  # any Monday of February too
        ("*/" + "9" * 5000 + " * * * *", True),  # no crash on a huge step
        ("5/10 * * * *", False),
        ("jan-mar/2 * * * *", True),  # names in the minute field
    ],
)
def test_schedules_near_the_edges(schedule: str, refused: bool) -> None:
    from mlgitops.spec.cron import cron_problem

    assert (cron_problem(schedule) is not None) is refused


@pytest.mark.parametrize(
    ("text", "line"),
    [("%YAML 1.3\r\n---\r\nname: x\r\n", 1), ("%YAML 1.3\r---\rname: x\r", 1),
     ("\ufeff%YAML 1.3\n---\nname: x\n", 1), ("# a comment\r\n%YAML 1.0\r\n---\r\nname: x\r\n", 2)],
    ids=["crlf", "cr", "bom", "second-line"],
)  # fmt: skip
def test_a_yaml_version_mlgitops_does_not_read_is_refused_at_its_line_whatever_the_line_ends(
    text: str, line: int
) -> None:
    """ruamel's parser asserts on such a directive: an AssertionError, exit 3 before where
    the directive's line ended in CR LF or CR, or followed a byte-order mark."""
    from mlgitops.spec.loader import parse_yaml

    doc, problems = parse_yaml("pipelines/x.yaml", text)
    assert doc is None
    assert [(p.line, p.col, p.message.split(":")[0]) for p in problems] == [(line, 1, "YAML")]
    assert "mlgitops reads YAML 1.1 and 1.2" in problems[0].message


def test_the_runner_wait_bound_leaves_the_watchdog_its_slack_in_a_hosted_job() -> None:
    """The watchdog waits ``runner_wait_minutes`` on a GitHub-hosted runner, in a job whose
    timeout adds ``WATCHDOG_SLACK``: the schema's bound keeps that within GitHub's six hours."""
    import json

    from mlgitops.render.workflows.pull_request import WATCHDOG_SLACK
    from mlgitops.spec.checks import HOSTED_JOB_MINUTES

    schema = json.loads(
        (Path(__file__).parents[1] / "src/mlgitops/schemas/pipeline.schema.json").read_text()
    )
    wait = schema["properties"]["train"]["properties"]["runner_wait_minutes"]
    assert wait["maximum"] + WATCHDOG_SLACK == HOSTED_JOB_MINUTES
    assert f"At most {wait['maximum']}" in wait["description"]


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("in-cluster", "https://kubernetes.default.svc", True),
        ("https://kubernetes.default.svc", "https://KUBERNETES.default.svc:443/", True),
        ("HTTPS://k.example:6443", "https://k.example:6443/", True),
        ("http://k.example", "http://k.example:80", True),
        ("https://k.example", "https://k.example:6443", False),
        ("https://k.example", "http://k.example", False),
        ("https://k.example/a", "https://k.example/b", False),
        ("https://[::1]:443", "https://[::1]", True),
        ("https://k.example?x=1", "https://k.example", False),
        ("https://k.example#f", "https://k.example", False),
        ("https://user@k.example", "https://k.example", False),
        ("https://k.example:", "https://k.example", False),
        ("prod", "Prod", False),
        ("prod", "https://kubernetes.default.svc", False),
    ],
)
def test_a_cluster_is_compared_as_argo_cd_reaches_it(one: str, other: str, same: bool) -> None:
    from mlgitops.spec.collisions import same_cluster

    assert (same_cluster(one) == same_cluster(other)) is same


def test_what_a_document_writes_out_is_never_too_many_values_only_what_aliases_add() -> None:
    """A schema of 40,000 columns (120,000 values, none of them aliased) is read; aliases
    that add more than the limit to what is written are refused at the first alias."""
    from mlgitops.spec.loader import parse_yaml
    from mlgitops.spec.unusable import MAX_VALUES

    wide = "columns:\n" + "".join(f"  c{i}: {{dtype: float64}}\n" for i in range(40_000))
    doc, found = parse_yaml("schemas/wide.yaml", wide)
    assert found == [] and len(doc["columns"]) == 40_000
    # a list of 10 texts, repeated 10 times, ... : 10**5 texts once the aliases are expanded
    layers = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
    layers += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 6)]
    doc, found = parse_yaml("pipelines/x.yaml", "\n".join(layers) + "\n")
    assert doc is None
    assert [str(p) for p in found] == [
        f"pipelines/x.yaml:2:10: YAML: its aliases expand to more than {MAX_VALUES:,} values"
    ]
    # merge keys copy a mapping's 400 keys into each of 400 mappings: what they add counts
    merged = "m: &m {" + ", ".join(f"k{i}: {i}" for i in range(400)) + "}\n"
    merged += "".join(f"x{j}: {{<<: *m, z: {j}}}\n" for j in range(400))
    doc, found = parse_yaml("pipelines/x.yaml", merged)
    assert doc is None
    assert [str(p) for p in found] == [
        f"pipelines/x.yaml:2:10: YAML: its aliases expand to more than {MAX_VALUES:,} values"
    ]


def test_maps_that_merge_one_map_are_read_without_comparing_maps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ruamel.yaml notes each map that merges another (``<<: *m``) on the merged map, and
    told a new one from those noted before by comparing them item by item: N maps merging
    a map of K keys took N * N * K steps before the limit on what aliases add was checked
    (400 maps of 400 keys: 13 s; ten times the maps, a hundred times the steps). They are told
    apart by identity: no map is compared with another, and what the merges read is
    unchanged (a later key of the merged map still reaches every map that merges it)."""
    from ruamel.yaml.comments import CommentedMap

    from mlgitops.spec.loader import parse_yaml

    compared = 0
    equal = CommentedMap.__eq__

    def counted(self: CommentedMap, other: object) -> bool:
        nonlocal compared
        compared += 1
        return bool(equal(self, other))

    monkeypatch.setattr(CommentedMap, "__eq__", counted)
    text = "m: &m {" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}\n"
    text += "".join(f"x{j}: {{<<: *m, z: {j}, k1: own}}\n" for j in range(300))
    text += "y: {<<: [*m, *m]}\n"  # one map merging the same map twice
    doc, found = parse_yaml("pipelines/x.yaml", text)
    assert found == [] and compared == 0
    assert [doc["x299"][k] for k in ("k0", "k1", "k49", "z")] == [0, "own", 49, 299]
    assert len(doc["x7"]) == 51 and len(doc["y"]) == 50
    doc["m"]["k99"] = "late"
    assert doc["x0"]["k99"] == doc["x299"]["k99"] == doc["y"]["k99"] == "late"


@pytest.mark.parametrize(
    "edit",
    [
        ("task: classification", "task:\tclassification\ndescription: Wow!"),
        ("task: classification", "task: !!str classification"),
    ],
    ids=["exclamation-mark", "standard-tag"],
)
def test_an_exclamation_mark_or_a_standard_tag_is_no_tag_of_its_own(edit: tuple[str, str]) -> None:
    """Only a tag of its own (``!foo``) is refused: text holding ``!`` (read by the fast
    reader, which a tab after a key sends nowhere else) and YAML's own tags load."""
    text = (PROJECT / "pipelines" / "tumors.yaml").read_text()
    assert edit[0] in text
    text = text.replace(edit[0], edit[1]).replace("description: ", "# description: ", 1)
    assert parse_pipeline("pipelines/tumors.yaml", text).task == "classification"
