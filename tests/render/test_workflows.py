"""Generated workflows: the field's own checkers accept them, and they say what they must.

Three repositories are rendered: this project's example (the Action is ``./``),
a regression pipeline with other runner labels, a drift schedule and no deploy
(default ``mlgitops.yaml``: the Action by tag), and two pipelines calling the
Action by commit SHA. actionlint, zizmor and check-jsonschema each run once
over all of their files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.cli import main
from mlgitops.errors import SpecError
from mlgitops.render import workflows
from mlgitops.render.workflows import actions, common
from mlgitops.spec import load_repo

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GOLDEN = PROJECT / "tests" / "golden" / "workflows"
SHA = "0123456789abcdef0123456789abcdef01234567"
USES = re.compile(r"^\s*(?:- )?uses:")
THIRD_PARTY = re.compile(
    r"^\s*(?:- )?uses: ((?:actions|docker)/[a-z-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$"
)

REGRESSION_SPEC = """\
name: house-prices
data:
  path: data/houses [2024].parquet
  target: price
  columns:
    rooms: {dtype: int64, min: 1}
    price: {dtype: float64}
model:
  estimator: sklearn.linear_model.Ridge
  params: {alpha: 1.0}
  code: [src/features/, src/train.py]
task: regression
metrics: [rmse, r2]
gates:
  rmse: {max: 50000, max_relative_drop: 0.05}
train:
  runs_on: [self-hosted, linux, x64, a100-80g]
  timeout_minutes: 240
drift:
  schedule: "30 2 * * *"
  current: data/recent.parquet
  action: issue
"""

BASE = "python:3.11-slim-bookworm@sha256:" + "ab" * 32
CHURN_SPEC = f"""\
name: churn
data: {{path: data/churn.csv, target: churned, schema: schemas/churn.yaml}}
model: {{estimator: sklearn.linear_model.LogisticRegression}}
task: classification
train: {{runs_on: gpu-pool}}
deploy:
  server:
    build:
      repository: ghcr.io/acme/churn-serve
      base: {BASE}
      requirements: serving/requirements.txt
  environments:
    - {{name: dev, namespace: ml-dev}}
    - {{name: staging, namespace: ml-staging}}
    - {{name: prod, namespace: ml, canary: {{steps: [20, 100]}}}}
drift: {{schedule: "0 * * * 1-5"}}
"""

#: A serving image pushed to a registry other than ghcr.io, with named secrets.
FRAUD_SPEC = f"""\
name: fraud
data: {{path: data/fraud.csv, target: fraud, columns: {{fraud: {{dtype: int64}}}}}}
model: {{estimator: sklearn.linear_model.LogisticRegression}}
task: classification
deploy:
  target: kserve
  server:
    build:
      repository: registry.example.com:5000/risk/fraud-serve
      base: {BASE}
      requirements: deploy/requirements.lock
      credentials: {{username: REGISTRY_USER, password: REGISTRY_TOKEN}}
      attest: false  # mlgitops.yaml says true
  model_timeout: 1200
  environments:
    - {{name: live, namespace: fraud, canary: {{steps: [20, 100]}}}}
"""

MINIMAL_SPEC = """\
name: a
data: {path: a.csv, target: y, columns: {y: {dtype: int64}}}
model: {estimator: sklearn.dummy.DummyClassifier}
task: classification
"""


@dataclass(frozen=True)
class Rendered:
    root: Path
    files: dict[str, str]

    def workflow(self, name: str) -> dict[str, Any]:
        return _load(self.files[f".github/workflows/{name}"])


def _load(text: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(text)
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def _make_repo(root: Path, config: str | None, specs: dict[str, str]) -> Path:
    (root / "pipelines").mkdir(parents=True)
    if config is not None:
        (root / "mlgitops.yaml").write_text(config)
    for name, text in specs.items():
        (root / "pipelines" / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _render(root: Path) -> Rendered:
    files = workflows.render(load_repo(root))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return Rendered(root, files)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    example = tmp_path_factory.mktemp("example")
    shutil.copy(PROJECT / "mlgitops.yaml", example / "mlgitops.yaml")
    _make_repo(example, None, {"tumors.yaml": (PROJECT / "pipelines" / "tumors.yaml").read_text()})
    regression = _make_repo(
        tmp_path_factory.mktemp("regression"), None, {"house-prices.yaml": REGRESSION_SPEC}
    )
    pinned = _make_repo(
        tmp_path_factory.mktemp("pinned"),
        f"action: acme/mlgitops@{SHA}\ndefault_branch: trunk\nruns_on: ubuntu-22.04\n"
        "attest: true\n",
        {"churn.yaml": CHURN_SPEC, "zz-a.yaml": MINIMAL_SPEC},
    )
    registry = _make_repo(
        tmp_path_factory.mktemp("registry"), "attest: true\n", {"fraud.yaml": FRAUD_SPEC}
    )
    return {
        "example": _render(example),
        "regression": _render(regression),
        "pinned": _render(pinned),
        "registry": _render(registry),
    }


def _workflow_paths(repos: dict[str, Rendered]) -> list[str]:
    return [
        str(r.root / rel)
        for r in repos.values()
        for rel in r.files
        if rel.startswith(".github/workflows/")
    ]


def _tool(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, check=False, cwd=cwd
    )


# --- the three checkers -------------------------------------------------------------------


def test_actionlint_accepts_every_workflow(repos: dict[str, Rendered]) -> None:
    paths = [*_workflow_paths(repos), str(PROJECT / ".github" / "workflows" / "ci.yml")]
    result = _tool("actionlint", "-no-color", *paths)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_needs_the_generated_runner_labels(repos: dict[str, Rendered]) -> None:
    """Without .github/actionlint.yaml the custom labels are errors: the file is what helps."""
    root = repos["regression"].root
    config = root / ".github" / "actionlint.yaml"
    saved = config.read_text()
    config.unlink()
    try:
        result = _tool(
            "actionlint", "-no-color", ".github/workflows/mlgitops-house-prices-pr.yml", cwd=root
        )
    finally:
        config.write_text(saved)
    assert result.returncode == 1
    assert 'label "a100-80g" is unknown' in result.stdout


def test_zizmor_finds_nothing(repos: dict[str, Rendered]) -> None:
    """The auditor persona: every audit, pedantic ones and secrets outside environments too."""
    paths = [
        *_workflow_paths(repos),
        str(PROJECT / "action.yml"),
        str(PROJECT / ".github" / "workflows" / "ci.yml"),
    ]
    result = _tool("zizmor", "--offline", "--format", "json", "--persona", "auditor", *paths)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_github_workflow_schema_accepts_every_workflow(repos: dict[str, Rendered]) -> None:
    paths = [*_workflow_paths(repos), str(PROJECT / ".github" / "workflows" / "ci.yml")]
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_action_schema_accepts_the_action() -> None:
    result = _tool(
        "check-jsonschema", "--builtin-schema", "vendor.github-actions", str(PROJECT / "action.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- what each repository gets ------------------------------------------------------------


def test_files_follow_the_specs(repos: dict[str, Rendered]) -> None:
    assert list(repos["example"].files) == [
        ".github/actionlint.yaml",
        ".github/workflows/mlgitops-report.yml",
        ".github/workflows/mlgitops-tumors-deploy.yml",
        ".github/workflows/mlgitops-tumors-drift.yml",
        ".github/workflows/mlgitops-tumors-pr.yml",
    ]
    assert list(repos["regression"].files) == [
        ".github/actionlint.yaml",
        ".github/workflows/mlgitops-house-prices-drift.yml",
        ".github/workflows/mlgitops-house-prices-pr.yml",
        ".github/workflows/mlgitops-report.yml",
    ]
    assert list(repos["pinned"].files) == [
        ".github/actionlint.yaml",
        ".github/workflows/mlgitops-a-pr.yml",
        ".github/workflows/mlgitops-churn-deploy.yml",
        ".github/workflows/mlgitops-churn-drift.yml",
        ".github/workflows/mlgitops-churn-pr.yml",
        ".github/workflows/mlgitops-report.yml",
    ]
    assert list(repos["registry"].files) == [
        ".github/actionlint.yaml",
        ".github/workflows/mlgitops-fraud-deploy.yml",
        ".github/workflows/mlgitops-fraud-pr.yml",
        ".github/workflows/mlgitops-report.yml",
    ]


def test_no_pipelines_no_workflows(tmp_path: Path) -> None:
    assert workflows.render(load_repo(_make_repo(tmp_path, None, {}))) == {}


@pytest.mark.parametrize("case", ["regression", "pinned", "registry"])
def test_output_matches_the_golden_files(repos: dict[str, Rendered], case: str) -> None:
    """Rendered text is reviewed as text: MLGITOPS_UPDATE_GOLDEN=1 rewrites the golden files."""
    folder = GOLDEN / case
    if os.environ.get("MLGITOPS_UPDATE_GOLDEN") == "1":
        shutil.rmtree(folder, ignore_errors=True)
        for rel, text in repos[case].files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    golden = {
        p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()
    }
    assert golden == repos[case].files


def test_rendering_is_deterministic(repos: dict[str, Rendered]) -> None:
    for rendered in repos.values():
        loaded = load_repo(rendered.root)
        again = workflows.render(loaded)
        assert again == rendered.files
        shuffled = type(loaded)(loaded.root, loaded.config, tuple(reversed(loaded.pipelines)))
        assert workflows.render(shuffled) == rendered.files
        assert list(again) == sorted(again)


def test_every_file_starts_with_the_header(repos: dict[str, Rendered]) -> None:
    files = repos["regression"].files
    assert files[".github/workflows/mlgitops-house-prices-pr.yml"].startswith(
        "# Generated by mlgitops from pipelines/house-prices.yaml. Do not edit by hand:\n"
        "# change the spec and run `mlgitops render`.\n"
    )
    assert files[".github/workflows/mlgitops-report.yml"].startswith(
        "# Generated by mlgitops from pipelines/. Do not edit by hand:\n"
    )
    assert all(t.startswith("# Generated by mlgitops from pipelines/") for t in files.values())


# --- structure ----------------------------------------------------------------------------


def _all_workflows(repos: dict[str, Rendered]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (rel, _load(text))
        for r in repos.values()
        for rel, text in r.files.items()
        if rel.startswith(".github/workflows/")
    ]


def test_least_privilege_and_timeouts_everywhere(repos: dict[str, Rendered]) -> None:
    for rel, workflow in _all_workflows(repos):
        assert workflow["permissions"] == {}, rel
        for job_id, job in workflow["jobs"].items():
            assert isinstance(job["timeout-minutes"], int), (rel, job_id)
            assert job["permissions"], (rel, job_id)
            assert job["name"], (rel, job_id)


def test_only_pushing_jobs_may_write_contents_and_keep_credentials(
    repos: dict[str, Rendered],
) -> None:
    seen = []
    for rel, workflow in _all_workflows(repos):
        for job_id, job in workflow["jobs"].items():
            checkouts = [
                s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")
            ]
            assert len(checkouts) == 1, (rel, job_id)
            persist = checkouts[0]["with"]["persist-credentials"]
            writes = job["permissions"].get("contents") == "write"
            assert persist == (writes and "deploy" in rel), (rel, job_id)
            seen.append((rel.split("/")[-1], job_id, writes))
    assert ("mlgitops-churn-deploy.yml", "deploy", True) in seen
    assert ("mlgitops-churn-drift.yml", "drift", True) in seen  # drift commits through the API
    assert ("mlgitops-house-prices-drift.yml", "drift", False) in seen


def test_pr_workflow_jobs(repos: dict[str, Rendered]) -> None:
    workflow = repos["regression"].workflow("mlgitops-house-prices-pr.yml")
    jobs = workflow["jobs"]
    assert list(jobs) == ["plan", "check", "train", "watchdog", "report"]
    assert jobs["plan"]["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    assert "if" not in jobs["plan"]  # the job that always runs and always reports
    assert jobs["check"]["if"] == "${{ needs.plan.outputs.affected == 'true' }}"
    assert jobs["check"]["runs-on"] == "ubuntu-24.04"
    assert jobs["check"]["permissions"] == {"contents": "read"}
    train = jobs["train"]
    assert train["runs-on"] == ["self-hosted", "linux", "x64", "a100-80g"]
    assert train["timeout-minutes"] == 240
    assert train["needs"] == "check"
    assert (
        train["if"] == "${{ github.event.pull_request.head.repo.full_name == github.repository }}"
    )
    # reading which of the commit's workflow runs trained a cached run (training/binding)
    assert train["permissions"] == {"actions": "read", "contents": "read", "pull-requests": "read"}
    assert [
        s["with"]["command"] for s in train["steps"] if "with" in s and "command" in s["with"]
    ] == ["train"]
    [fused] = [s for s in train["steps"] if s.get("with", {}).get("command") == "train"]
    assert fused["with"]["compare"] == "true"  # train then compare, in one process
    assert train["outputs"] == {
        "verdict": "${{ steps.train.outputs.verdict }}",
        "run-id": "${{ steps.train.outputs.run-id }}",
        "artifact-id": "${{ steps.upload.outputs.artifact-id }}",
    }
    watchdog = jobs["watchdog"]
    assert watchdog["needs"] == "check"  # never behind the train job it watches
    assert watchdog["if"] == train["if"]
    assert watchdog["runs-on"] == "ubuntu-24.04"
    assert watchdog["timeout-minutes"] == 20 + 10
    assert watchdog["permissions"] == {
        "actions": "read",
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    (wait,) = [s for s in watchdog["steps"] if s.get("with", {}).get("command") == "report"]
    assert wait["with"]["wait-for-runner"] == "20"
    report = jobs["report"]
    assert report["needs"] == ["plan", "check", "train"]
    assert report["if"] == "${{ !cancelled() && needs.plan.outputs.affected == 'true' }}"
    assert report["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    upload = report["steps"][-1]
    assert upload["with"]["name"] == "mlgitops-report-house-prices"
    assert upload["if"] == "${{ !cancelled() }}"
    assert workflow["concurrency"] == {
        "group": "mlgitops-house-prices-pr-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }


def test_pr_workflow_notes_a_fork_skip(repos: dict[str, Rendered]) -> None:
    check = repos["example"].workflow("mlgitops-tumors-pr.yml")["jobs"]["check"]
    note = next(
        s for s in check["steps"] if s.get("name") == "Note that training is skipped for a fork"
    )
    assert note["if"] == "${{ github.event.pull_request.head.repo.full_name != github.repository }}"
    assert note["env"] == {"PIPELINE": "tumors"}
    assert "::notice title=mlgitops $PIPELINE::$note" in note["run"]


def test_the_pr_workflow_runs_on_every_pull_request(repos: dict[str, Rendered]) -> None:
    """A path filter on the trigger would leave the required status missing forever."""
    workflow = repos["regression"].workflow("mlgitops-house-prices-pr.yml")
    assert workflow["on"] == {"pull_request": None}
    plan = workflow["jobs"]["plan"]
    assert [s.get("with", {}).get("command") for s in plan["steps"]] == [
        None,
        "plan",
        None,
        "report",
        "report",
    ]
    unchanged = plan["steps"][-1]
    assert unchanged["if"] == (
        "${{ steps.decide.outputs.affected != 'true' && "
        "github.event.pull_request.head.repo.full_name == github.repository }}"
    )
    assert unchanged["with"]["unchanged"] == "true"
    # Affected: the earlier report is marked as not this commit's; a failure to mark it
    # must not skip the jobs that need plan (the required status would never arrive).
    earlier = plan["steps"][-2]
    assert earlier["if"] == (
        "${{ steps.decide.outputs.affected == 'true' && "
        "github.event.pull_request.head.repo.full_name == github.repository }}"
    )
    assert earlier["with"]["pending"] == "true" and earlier["continue-on-error"] is True


def test_the_model_jobs_wait_as_long_as_the_spec_lets_each_model_take(
    repos: dict[str, Rendered],
) -> None:
    """A model job loads its model, then gets its outputs, each within
    ``deploy.model_timeout`` (600 s, or fraud's 1200 s): the job may run for both waits and
    10 minutes, so the model is ended by mlgitops, with its reason, not the job by GitHub."""
    for case, name, minutes in (("pinned", "churn", 30), ("registry", "fraud", 50)):
        jobs = repos[case].workflow(f"mlgitops-{name}-deploy.yml")["jobs"]
        timeouts = {job: jobs[job]["timeout-minutes"] for job in ("candidate", "deployed")}
        assert timeouts == {"candidate": minutes, "deployed": minutes}, case
        assert jobs["deploy"]["timeout-minutes"] == 20  # it loads no model


def test_deploy_workflow(repos: dict[str, Rendered]) -> None:
    workflow = repos["pinned"].workflow("mlgitops-churn-deploy.yml")
    assert workflow["on"]["push"] == {
        "branches": ["trunk"],
        "paths": [
            "**/.gitattributes",  # its lines change the bytes a checkout of an input holds
            "data/churn.csv",
            "manifests/churn/image/Dockerfile",
            "manifests/churn/image/Dockerfile.dockerignore",
            "mlgitops.yaml",
            "pipelines/churn.yaml",
            "schemas/churn.yaml",
            "serving/requirements.txt",
        ],
    }
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["action"]["options"] == ["promote", "rollback"]
    assert inputs["environment"]["options"] == ["dev", "staging", "prod"]
    assert "concurrency" not in workflow  # per environment, per job: see below
    deploy, dispatch = workflow["jobs"]["deploy"], workflow["jobs"]["dispatch"]
    assert deploy["concurrency"] == {
        "group": "mlgitops-churn-dev-deploy",
        "cancel-in-progress": False,
    }
    assert dispatch["concurrency"] == {
        "group": "mlgitops-churn-${{ inputs.environment }}-${{ inputs.action }}",
        "cancel-in-progress": False,
    }
    assert deploy["env"]["MLFLOW_TRACKING_PASSWORD"] == (
        "${{ secrets.MLFLOW_DEPLOY_TRACKING_PASSWORD }}"
    )
    assert (deploy["name"], deploy["environment"]) == ("deploy to dev", "dev")
    assert deploy["if"] == "${{ github.event_name == 'push' }}"
    assert deploy["steps"][-1]["with"] == {
        "command": "deploy",
        "pipeline": "churn",
        "environment": "dev",
        "predictions": "${{ runner.temp }}/mlgitops/predictions",
        "image": "ghcr.io/acme/churn-serve@${{ needs.image.outputs.digest }}",
        "cache": "false",
        "python-version": "3.11",
    }
    assert dispatch["if"] == "${{ github.event_name == 'workflow_dispatch' }}"
    promote, rollback = dispatch["steps"][1:]
    assert (promote["if"], promote["with"]["to"]) == (
        "${{ inputs.action == 'promote' }}",
        "${{ inputs.environment }}",
    )
    assert (rollback["if"], rollback["with"]["environment"]) == (
        "${{ inputs.action == 'rollback' }}",
        "${{ inputs.environment }}",
    )
    assert deploy["permissions"] == {
        "contents": "write",
        "actions": "read",
        "pull-requests": "read",
        "attestations": "read",
    }
    assert dispatch["permissions"] == {"contents": "write"}


def test_a_kserve_canary_gets_its_next_share_by_dispatch(repos: dict[str, Rendered]) -> None:
    """KServe keeps a canary's share until a commit changes it: the dispatch makes that
    commit (``promote --env``), with the deploy credentials, like promote and rollback."""
    workflow = repos["registry"].workflow("mlgitops-fraud-deploy.yml")
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["action"]["options"] == ["promote", "rollback", "canary"]
    dispatch = workflow["jobs"]["dispatch"]
    canary = dispatch["steps"][-1]
    assert canary["if"] == "${{ inputs.action == 'canary' }}"
    assert canary["with"] == {
        "command": "promote",
        "pipeline": "fraud",
        "environment": "${{ inputs.environment }}",
        "cache": "false",
        "python-version": "3.11",
    }
    assert dispatch["environment"] == "${{ inputs.environment }}"
    assert dispatch["permissions"] == {"contents": "write"}
    # Argo Rollouts moves its canary itself
    for name, file in (
        ("pinned", "mlgitops-churn-deploy.yml"),
        ("example", "mlgitops-tumors-deploy.yml"),
    ):
        options = repos[name].workflow(file)["on"]["workflow_dispatch"]["inputs"]["action"]
        assert options["options"] == ["promote", "rollback"]


def test_the_image_job_builds_and_pushes_by_digest(repos: dict[str, Rendered]) -> None:
    workflow = repos["pinned"].workflow("mlgitops-churn-deploy.yml")
    assert list(workflow["jobs"]) == ["image", "candidate", "deployed", "deploy", "dispatch"]
    image, deploy = workflow["jobs"]["image"], workflow["jobs"]["deploy"]
    assert image["if"] == "${{ github.event_name == 'push' }}"
    assert deploy["needs"] == ["image", "candidate", "deployed"]
    assert "environment" not in image  # the workflow's own token: no environment secret
    assert image["concurrency"] == {"group": "mlgitops-churn-image", "cancel-in-progress": False}
    assert image["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert image["outputs"] == {"digest": "${{ steps.build.outputs.digest }}"}
    checkout, buildx, login, build, attest = image["steps"]
    assert checkout["with"] == {
        "persist-credentials": False,
        "sparse-checkout": "/manifests/churn/image/\n/serving/requirements.txt\n",
        "sparse-checkout-cone-mode": False,
    }
    assert buildx["uses"] == actions.PINNED["setup-buildx-action"].uses.split(" #")[0]
    assert login["with"] == {
        "registry": "ghcr.io",
        "username": "${{ github.actor }}",
        "password": "${{ github.token }}",
    }
    assert build["id"] == "build"
    assert build["env"] == {"SOURCE_DATE_EPOCH": "0"}
    assert build["with"] == {
        "context": ".",
        "file": "manifests/churn/image/Dockerfile",
        "outputs": "type=image,name=ghcr.io/acme/churn-serve:${{ github.sha }},push=true,"
        "rewrite-timestamp=true",
        "provenance": False,
        "sbom": False,
    }
    assert attest["uses"].startswith("actions/attest-build-provenance@")
    assert attest["with"] == {
        "subject-name": "ghcr.io/acme/churn-serve",
        "subject-digest": "${{ steps.build.outputs.digest }}",
        "push-to-registry": True,
    }
    assert list(repos["example"].workflow("mlgitops-tumors-deploy.yml")["jobs"]) == [
        "candidate",
        "deployed",
        "deploy",
        "dispatch",
    ]


def test_registry_secrets_are_held_in_the_first_environment(repos: dict[str, Rendered]) -> None:
    workflow = repos["registry"].workflow("mlgitops-fraud-deploy.yml")
    image, deploy = workflow["jobs"]["image"], workflow["jobs"]["deploy"]
    assert image["environment"] == deploy["environment"] == "live"
    assert image["permissions"] == {"contents": "read"}  # no token pushes: the secrets do
    login = next(s for s in image["steps"] if s["uses"].startswith("docker/login-action@"))
    assert login["with"] == {
        "registry": "registry.example.com:5000",
        "username": "${{ secrets.REGISTRY_USER }}",
        "password": "${{ secrets.REGISTRY_TOKEN }}",
    }
    assert [s["name"] for s in image["steps"]] == [
        "Check out the image's build files",
        "Set up Docker Buildx",
        "Log in to registry.example.com:5000",
        "Build and push the image",
    ]  # attest: false in the spec wins over mlgitops.yaml
    assert deploy["steps"][-1]["with"]["image"] == (
        "registry.example.com:5000/risk/fraud-serve@${{ needs.image.outputs.digest }}"
    )
    assert deploy["permissions"]["attestations"] == "read"  # the model's, from mlgitops.yaml


def test_zizmor_as_an_auditor_finds_nothing_in_the_deploy_workflows(
    repos: dict[str, Rendered],
) -> None:
    """The auditor persona reports everything zizmor knows, its least confident too; what
    the generated workflows do on purpose says why inline (``# zizmor: ignore[...]``)."""
    paths = [path for path in _workflow_paths(repos) if path.endswith("-deploy.yml")]
    assert len(paths) == 3
    result = _tool("zizmor", "--offline", "--format", "json", "--persona", "auditor", *paths)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_attest_grants_signing_to_the_train_job_only(repos: dict[str, Rendered]) -> None:
    pr = repos["pinned"].workflow("mlgitops-churn-pr.yml")
    signing = {"id-token": "write", "attestations": "write"}
    jobs = pr["jobs"]
    assert jobs["train"]["permissions"] == {
        "actions": "read",
        "contents": "read",
        "pull-requests": "read",
        **signing,
    }
    assert all(not signing.keys() & set(j["permissions"]) for k, j in jobs.items() if k != "train")
    attest = next(s for s in jobs["train"]["steps"] if s.get("name") == "Attest the model digest")
    assert attest["uses"].startswith("actions/attest-build-provenance@")
    assert len(attest["uses"].split("@")[1]) == 40
    assert attest["with"]["subject-digest"] == "${{ steps.train.outputs.model-digest }}"
    deploy = repos["pinned"].workflow("mlgitops-churn-deploy.yml")["jobs"]["deploy"]
    assert deploy["permissions"]["attestations"] == "read"
    plain = repos["regression"].workflow("mlgitops-house-prices-pr.yml")["jobs"]["train"]
    assert plain["permissions"] == {"actions": "read", "contents": "read", "pull-requests": "read"}


def test_drift_workflow_permissions_follow_the_action(repos: dict[str, Rendered]) -> None:
    issue = repos["regression"].workflow("mlgitops-house-prices-drift.yml")
    assert issue["on"] == {"schedule": [{"cron": "30 2 * * *"}], "workflow_dispatch": {}}
    assert issue["jobs"]["drift"]["permissions"] == {"contents": "read", "issues": "write"}
    pull = repos["pinned"].workflow("mlgitops-churn-drift.yml")
    assert pull["jobs"]["drift"]["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
    }
    assert pull["jobs"]["drift"]["runs-on"] == "ubuntu-22.04"


def test_report_workflow_listens_to_every_pr_workflow(repos: dict[str, Rendered]) -> None:
    pinned = repos["pinned"]
    names = [pinned.workflow(f"mlgitops-{n}-pr.yml")["name"] for n in ("a", "churn")]
    report = pinned.workflow("mlgitops-report.yml")
    assert report["on"] == {"workflow_run": {"workflows": names, "types": ["completed"]}}
    assert list(report["jobs"]) == ["report-a", "report-churn"]
    job = report["jobs"]["report-churn"]
    assert job["permissions"] == {
        "actions": "read",
        "contents": "read",
        "pull-requests": "write",
        "statuses": "write",
    }
    assert job["if"] == (
        "${{ github.event.workflow_run.event == 'pull_request'"
        " && github.event.workflow_run.conclusion != 'cancelled'"
        " && github.event.workflow_run.head_repository.full_name != github.repository"
        " && github.event.workflow_run.name == 'mlgitops churn: pull request' }}"
    )
    assert names[1] == "mlgitops churn: pull request"
    checkout, download, post = job["steps"]
    assert "ref" not in checkout["with"]  # the default branch, never the PR's code
    assert download["with"] == {
        "run-id": "${{ github.event.workflow_run.id }}",
        "github-token": "${{ github.token }}",
        "name": "mlgitops-report-churn",
        "path": "${{ runner.temp }}/mlgitops-artifact",
    }
    assert post["with"] == {
        "command": "report",
        "pipeline": "churn",
        "from-artifact": "${{ runner.temp }}/mlgitops-artifact/churn",
        "cache": "false",
        "python-version": "3.11",
    }


def test_uploads_survive_a_re_run(repos: dict[str, Rendered]) -> None:
    jobs = repos["example"].workflow("mlgitops-tumors-pr.yml")["jobs"].values()
    uploads = [
        s["with"] for j in jobs for s in j["steps"] if "upload-artifact@" in s.get("uses", "")
    ]
    assert [u["name"] for u in uploads] == [
        "mlgitops-tumors-validate",
        "mlgitops-tumors-train",
        "mlgitops-report-tumors",
    ]
    assert all(u["overwrite"] is True and u["retention-days"] == 7 for u in uploads)


def test_pr_report_job_hands_its_folder_to_the_report_workflow(
    repos: dict[str, Rendered],
) -> None:
    steps = repos["pinned"].workflow("mlgitops-churn-pr.yml")["jobs"]["report"]["steps"]
    take, post, upload = steps[3:]
    assert take["env"]["RESULTS"] == "${{ runner.temp }}/mlgitops/churn"
    assert post["with"]["output-dir"] == "${{ runner.temp }}/mlgitops"
    assert "if" not in post  # a fork's run writes the report and its claim, posts nothing
    assert upload["with"]["name"] == "mlgitops-report-churn"
    assert upload["with"]["path"] == "${{ runner.temp }}/mlgitops/"


#: The hand-off files each job of the PR workflow that uploads writes (src/mlgitops/outputs.py).
WRITES = {
    "check": ["validation.json", "validation.md", "datadiff.json", "datadiff.md"],
    "train": ["train.json", "reference.json", "verdict.json", "budget.json", "failed.json"],
}


def test_each_pr_job_uploads_only_the_files_it_writes(repos: dict[str, Rendered]) -> None:
    """Each uploaded its whole hand-off folder: the check job (whose cache jobs running a
    pull request's code can write) could carry train's verdict.json, the train job (the pull
    request's trainer) check's validation.json. Several files: their folder is the artifact's
    top (upload-artifact's common ancestor), as download-artifact puts one id's files."""
    for rel, workflow in _all_workflows(repos):
        if not rel.endswith("-pr.yml"):
            continue
        name = rel.removeprefix(".github/workflows/mlgitops-").removesuffix("-pr.yml")
        for job, files in WRITES.items():
            steps = workflow["jobs"][job]["steps"]
            (upload,) = [s for s in steps if _uses(s, "upload-artifact")]
            assert upload["id"] == "upload", rel
            assert upload["with"]["path"].splitlines() == [
                f"${{{{ runner.temp }}}}/mlgitops/{name}/{file}" for file in files
            ], (rel, job)
            assert workflow["jobs"][job]["outputs"]["artifact-id"] == (
                "${{ steps.upload.outputs.artifact-id }}"
            ), (rel, job)


def test_the_pr_report_job_takes_each_file_from_the_job_that_writes_it(
    repos: dict[str, Rendered], tmp_path: Path
) -> None:
    """It downloaded every ``mlgitops-<name>-*`` artifact into one folder
    (``merge-multiple``): a file of one job's artifact could replace another job's. Now each
    artifact by the id its job reported (a job could re-create another's under its name,
    never under its id), into a folder of its own, and each file from its author's only."""
    report = repos["example"].workflow("mlgitops-tumors-pr.yml")["jobs"]["report"]
    steps = report["steps"]
    downloads = [s for s in steps if _uses(s, "download-artifact")]
    assert downloads == steps[1:3]
    folders = {job: f"${{{{ runner.temp }}}}/mlgitops-results/{job}" for job in WRITES}
    assert [(d["if"], d["with"]) for d in downloads] == [
        (
            f"${{{{ needs.{job}.outputs.artifact-id != '' }}}}",  # empty: every artifact
            {"artifact-ids": f"${{{{ needs.{job}.outputs.artifact-id }}}}", "path": folder},
        )
        for job, folder in folders.items()
    ]
    take = steps[3]
    assert take["env"] == {
        "CHECK": folders["check"],
        "TRAIN": folders["train"],
        "RESULTS": "${{ runner.temp }}/mlgitops/tumors",
    }
    # Each artifact carries every file, its own and forged ones of the other job's.
    every = [file for files in WRITES.values() for file in files]
    env = {"PATH": os.environ["PATH"], "RESULTS": str(tmp_path / "results")}
    for job in WRITES:
        folder = tmp_path / job
        folder.mkdir()
        for file in every:
            (folder / file).write_text(job)
        env[job.upper()] = str(folder)
    (tmp_path / "check" / "datadiff.md").unlink()  # validate wrote no diff: none is taken
    (tmp_path / "check" / "datadiff.md").symlink_to(tmp_path / "train" / "datadiff.md")
    (tmp_path / "train" / "budget.json").unlink()
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", take["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    taken = {p.name: p.read_text() for p in (tmp_path / "results").iterdir()}
    assert taken == {
        **{file: "check" for file in WRITES["check"] if file != "datadiff.md"},
        **{file: "train" for file in WRITES["train"] if file != "budget.json"},
    }
    # Neither job uploaded: no folder, as before (report says so).
    empty = {**env, "CHECK": str(tmp_path / "none"), "TRAIN": str(tmp_path / "none")}
    empty["RESULTS"] = str(tmp_path / "none-results")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", take["run"]],
        env=empty,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and not (tmp_path / "none-results").exists()


def test_no_expression_inside_run_scripts(repos: dict[str, Rendered]) -> None:
    action = yaml.safe_load((PROJECT / "action.yml").read_text())
    scripts = [s["run"] for s in action["runs"]["steps"] if "run" in s]
    for _, workflow in _all_workflows(repos):
        scripts += [s["run"] for j in workflow["jobs"].values() for s in j["steps"] if "run" in s]
    assert len(scripts) >= 6
    assert [s for s in scripts if "${{" in s] == []


def test_third_party_actions_are_pinned_to_commits(repos: dict[str, Rendered]) -> None:
    texts = [t for r in repos.values() for t in r.files.values()]
    texts += [
        (PROJECT / "action.yml").read_text(),
        (PROJECT / ".github/workflows/ci.yml").read_text(),
    ]
    others = []
    for text in texts:
        for line in text.splitlines():
            if not USES.match(line) or "uses: ./" in line or "mlgitops@" in line:
                continue
            match = THIRD_PARTY.match(line)
            assert match, line
            pinned = actions.PINNED[match.group(1).split("/")[1]]
            assert (match.group(2), match.group(3)) == (pinned.sha, pinned.version), line
            others.append(match.group(1))
    assert sorted(set(others)) == [
        "actions/attest-build-provenance",
        "actions/cache",
        "actions/checkout",
        "actions/download-artifact",
        "actions/setup-python",
        "actions/upload-artifact",
        "docker/build-push-action",
        "docker/login-action",
        "docker/setup-buildx-action",
    ]


def test_how_the_action_is_referenced(repos: dict[str, Rendered]) -> None:
    def uses(case: str, name: str) -> set[str]:
        text = repos[case].files[f".github/workflows/{name}"]
        return {
            line.strip() for line in text.splitlines() if "mlgitops@" in line or "uses: ./" in line
        }

    assert uses("pinned", "mlgitops-a-pr.yml") == {f"uses: acme/mlgitops@{SHA}"}
    assert uses("regression", "mlgitops-house-prices-pr.yml") == {
        "uses: mlgitops/mlgitops@v1 # zizmor: ignore[unpinned-uses] tag chosen in mlgitops.yaml; "
        "set action: to owner/repo@<commit SHA> to pin it (docs/action.md#pinning)"
    }
    assert uses("example", "mlgitops-tumors-pr.yml") == {
        "uses: ./ # zizmor: ignore[self-repository] the checked-out commit's own Action, "
        "on purpose (mlgitops.yaml: action: ./)"
    }


def test_actionlint_config_lists_the_custom_labels(repos: dict[str, Rendered]) -> None:
    labels = {
        case: yaml.safe_load(r.files[".github/actionlint.yaml"])["self-hosted-runner"]["labels"]
        for case, r in repos.items()
    }
    assert labels == {
        "example": ["gpu"],
        "regression": ["a100-80g"],
        "pinned": ["gpu", "gpu-pool"],
        "registry": ["gpu"],
    }


def test_user_strings_cannot_open_expressions() -> None:
    """Spec text reaches the workflows through one quoting, which keeps a ``${{`` text: the
    specs refuse it where they know the place (paths, runner labels), and whatever text
    else reaches a workflow cannot open an expression either."""
    quoted = yaml.safe_load(common.quote("x ${{ secrets.X }}"))
    assert quoted == "x ${{ '${{' }} secrets.X }}"


def test_a_runner_label_that_holds_an_expression_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    """A label is matched as written: quoted as text, ``${{ secrets.X }}`` would be a label
    no runner has, and the job would wait for one forever."""
    spec = MINIMAL_SPEC + "train: {runs_on: [self-hosted, '${{ secrets.X }}']}\n"
    with pytest.raises(SpecError) as caught:
        load_repo(_make_repo(tmp_path, None, {"a.yaml": spec}))
    assert [str(p) for p in caught.value.problems] == [
        "pipelines/a.yaml:5:32: train.runs_on[1]: a runner label is used as written, never "
        "evaluated as an expression: '${{' cannot be part of it"
    ]


# --- inputs stored in Git LFS -----------------------------------------------------------------


def _checkout_lfs(workflow: dict[str, Any]) -> dict[str, bool]:
    """Job -> whether its checkout fetches LFS objects (``lfs: true``)."""
    found = {}
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                found[name] = step.get("with", {}).get("lfs", False)
    return found


LFS_BASE_STEP = "Fetch the base branch's data from Git LFS"


def _step_names(workflow: dict[str, Any], job: str) -> list[str]:
    return [str(step.get("name")) for step in workflow["jobs"][job]["steps"]]


def test_inputs_stored_in_git_lfs_are_checked_out_with_their_objects(tmp_path: Path) -> None:
    """actions/checkout fetches LFS pointers only: the jobs that read data fetch the objects."""
    root = _make_repo(
        tmp_path / "lfs",
        f"action: acme/mlgitops@{SHA}\n",
        {"churn.yaml": CHURN_SPEC, "zz-a.yaml": MINIMAL_SPEC},
    )
    (root / ".gitattributes").write_text("data/*.csv filter=lfs diff=lfs merge=lfs -text\n")
    rendered = _render(root)
    assert _checkout_lfs(rendered.workflow("mlgitops-churn-pr.yml")) == {
        "plan": False,
        "check": True,  # validate
        "train": True,  # train and compare
        "watchdog": False,
        "report": False,
    }
    deploy = _checkout_lfs(rendered.workflow("mlgitops-churn-deploy.yml"))
    assert deploy == {  # the model jobs run the models on the holdout, deploy scores them
        "image": False,
        "candidate": True,
        "deployed": True,
        "deploy": True,
        "dispatch": False,
    }
    assert _checkout_lfs(rendered.workflow("mlgitops-churn-drift.yml")) == {"drift": True}
    other = _checkout_lfs(rendered.workflow("mlgitops-a-pr.yml"))  # a.csv: not in LFS
    assert set(other.values()) == {False}
    # validate diffs the data against the base branch's: the check job fetches its object
    check = _step_names(rendered.workflow("mlgitops-churn-pr.yml"), "check")
    fetch = check.index(LFS_BASE_STEP)
    # render checks after validate, whose install (the data extra) it uses: one install
    assert fetch < check.index("Validate the data") < check.index("Generated files are current")
    step = rendered.workflow("mlgitops-churn-pr.yml")["jobs"]["check"]["steps"][fetch]
    assert step["env"]["DATA"] == "data/churn.csv"
    assert step["env"]["BASE"] == "origin/${{ github.base_ref }}"
    assert LFS_BASE_STEP not in _step_names(rendered.workflow("mlgitops-a-pr.yml"), "check")
    paths = [str(root / rel) for rel in rendered.files if rel.startswith(".github/workflows/")]
    lint = _tool("actionlint", "-no-color", *paths)
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")
    audit = _tool("zizmor", "--offline", "--format", "json", "--persona", "auditor", *paths)
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout) == []
    (root / ".gitattributes").write_text("data/*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    unlisted = workflows.render(load_repo(root))
    assert unlisted != rendered.files
    assert all("lfs:" not in text and LFS_BASE_STEP not in text for text in unlisted.values())


@pytest.mark.parametrize(
    ("attributes", "where"),
    [
        ("*.bin filter=lfs diff=lfs merge=lfs -text\n", ".gitattributes"),
        ("src/features/** filter=lfs diff=lfs merge=lfs -text\n", ".gitattributes"),
        ("*.bin filter=lfs diff=lfs merge=lfs -text\n", "src/features/.gitattributes"),
    ],
)
def test_trainer_code_in_git_lfs_is_checked_out_with_its_objects(
    attributes: str, where: str, tmp_path: Path
) -> None:
    """A file of a ``model.code`` folder stored in LFS (weights, a vocabulary) is read by the
    trainer: the train job fetches it as it fetches data in LFS, wherever the pattern is."""
    root = _make_repo(tmp_path / "lfs", None, {"house-prices.yaml": REGRESSION_SPEC})
    (root / "src" / "features").mkdir(parents=True)
    (root / "src" / "features" / "encode.py").write_text("VOCABULARY = 'vocabulary.bin'\n")
    (root / "src" / "features" / "vocabulary.bin").write_bytes(b"\x00\x01")
    (root / where).write_text(attributes)
    rendered = _render(root)
    pr = _checkout_lfs(rendered.workflow("mlgitops-house-prices-pr.yml"))
    assert pr["train"] is True
    (root / "src" / "features" / "vocabulary.bin").unlink()  # nothing of the folder in LFS
    if where != ".gitattributes":
        (root / where).unlink()
    (root / "src" / "features" / "vocabulary.txt").write_text("a\n")
    (root / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    again = workflows.render(load_repo(root))
    assert all("lfs:" not in text for text in again.values())


def test_a_file_git_ignores_in_a_code_folder_does_not_change_the_workflows(
    tmp_path: Path,
) -> None:
    """render's output is committed and checked by CI on a clean checkout: a file that
    never reaches it (ignored by .gitignore, such as weights downloaded locally) must not
    decide what render writes."""
    root = _make_repo(tmp_path / "lfs", None, {"house-prices.yaml": REGRESSION_SPEC})
    (root / "src" / "features").mkdir(parents=True)
    (root / "src" / "features" / "encode.py").write_text("")
    (root / "src" / "features" / "local.bin").write_bytes(b"\x00")
    (root / ".gitignore").write_text("*.bin\n")
    (root / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    assert all("lfs:" not in text for text in workflows.render(load_repo(root)).values())
    (root / ".gitignore").write_text("")  # the same file, now to be committed
    pr = _checkout_lfs(_render(root).workflow("mlgitops-house-prices-pr.yml"))
    assert pr["train"] is True


def test_drift_s_current_data_in_git_lfs_is_checked_out_with_its_objects(tmp_path: Path) -> None:
    root = _make_repo(tmp_path / "lfs", None, {"house-prices.yaml": REGRESSION_SPEC})
    (root / ".gitattributes").write_text(
        "data/recent.parquet filter=lfs diff=lfs merge=lfs -text\n"
    )
    rendered = _render(root)
    assert _checkout_lfs(rendered.workflow("mlgitops-house-prices-drift.yml")) == {"drift": True}


# --- the deploy workflow runs the models apart from its credentials -------------------------

PREDICTIONS = "${{ runner.temp }}/mlgitops/predictions"
MODELS = {"candidate": "the reviewed model's outputs", "deployed": "the deployed model's outputs"}


def _deploy_workflows(repos: dict[str, Rendered]) -> list[tuple[str, dict[str, Any]]]:
    found = [(rel, w) for rel, w in _all_workflows(repos) if rel.endswith("-deploy.yml")]
    assert len(found) == 3
    return found


def _action_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of ``job`` that call the mlgitops Action (any way ``action:`` names it)."""
    return [
        step
        for step in job["steps"]
        if step.get("uses", "").startswith("./") or "mlgitops@" in step.get("uses", "")
    ]


def _uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"actions/{action}@")


@pytest.mark.parametrize("which", list(MODELS))
def test_each_model_runs_in_a_job_without_write_permission_or_deploy_secret(
    repos: dict[str, Rendered], which: str
) -> None:
    """Loading a model runs its code: only jobs that can write nothing and hold no deploy
    credential load one, and they hand the deploy job their outputs as an artifact."""
    for rel, workflow in _deploy_workflows(repos):
        pipeline = rel.split("mlgitops-")[1].removesuffix("-deploy.yml")
        job, deploy = workflow["jobs"][which], workflow["jobs"]["deploy"]
        assert job["name"] == MODELS[which], rel
        assert job["if"] == deploy["if"] == "${{ github.event_name == 'push' }}", rel
        assert job["runs-on"] == deploy["runs-on"], rel
        # and longer than the deploy job, which loads no model: by the model's two waits
        # (test_the_model_jobs_wait_as_long_as_the_spec_lets_each_model_take)
        assert job["timeout-minutes"] > deploy["timeout-minutes"], rel
        assert "needs" not in job, rel
        # the pull-request credentials, wherever they are kept; never a deploy environment
        assert job["environment"] == {"name": "mlgitops-pr", "deployment": False}, rel
        assert job["permissions"] == {
            "contents": "read",
            "actions": "read",
            "pull-requests": "read",
        }, rel
        assert job["env"] == dict(common.MLFLOW_ENV), rel
        assert "MLFLOW_DEPLOY" not in json.dumps(job) and "PUSH_TOKEN" not in json.dumps(job)
        checkout, run, upload = job["steps"]
        assert _uses(checkout, "checkout"), rel
        assert checkout["with"]["persist-credentials"] is False, rel
        assert checkout["with"]["fetch-depth"] == 0, rel
        assert "token" not in checkout["with"], rel
        assert _action_steps(job) == [run], rel
        assert run["with"] == {
            "command": "deploy",
            "pipeline": pipeline,
            "environment": deploy["environment"],
            "predict": which,
            "predictions": PREDICTIONS,
            "cache": "false",
            "python-version": "3.11",
        }, rel
        assert _uses(upload, "upload-artifact"), rel
        assert upload["id"] == "upload" and "if" not in upload, rel
        assert upload["with"] == {
            "name": f"mlgitops-{pipeline}-{which}",
            "path": f"{PREDICTIONS}/{which}/",
            "if-no-files-found": "error",
            "retention-days": 1,
            "overwrite": True,
        }, rel
        assert job["outputs"] == {"artifact-id": "${{ steps.upload.outputs.artifact-id }}"}, rel


def test_the_deploy_job_reads_each_model_jobs_artifact_by_the_id_it_reported(
    repos: dict[str, Rendered],
) -> None:
    """A model's job could re-create the other's artifact under its name, never under its
    id; with one id, download-artifact puts the files directly in ``path``."""
    for rel, workflow in _deploy_workflows(repos):
        deploy = workflow["jobs"]["deploy"]
        image = ["image"] if "image" in workflow["jobs"] else []
        assert deploy["needs"] == [*image, "candidate", "deployed"], rel
        steps = deploy["steps"]
        assert _uses(steps[0], "checkout") and [s for s in steps if _uses(s, "cache")] == []
        check = steps[1]
        assert check["env"] == {
            "CANDIDATE": "${{ needs.candidate.outputs.artifact-id }}",
            "DEPLOYED": "${{ needs.deployed.outputs.artifact-id }}",
        }, rel
        downloads = [s for s in steps if _uses(s, "download-artifact")]
        assert downloads == steps[2:4], rel
        assert [d["with"] for d in downloads] == [
            {
                "artifact-ids": f"${{{{ needs.{which}.outputs.artifact-id }}}}",
                "path": f"{PREDICTIONS}/{which}",
            }
            for which in MODELS
        ], rel  # no run-id or token: this run's artifacts only
        uploaded = [workflow["jobs"][w]["steps"][-1]["with"]["path"] for w in MODELS]
        assert uploaded == [d["with"]["path"] + "/" for d in downloads], rel
        [run] = _action_steps(deploy)
        assert run is steps[-1] and "predict" not in run["with"], rel
        assert run["with"]["predictions"] == PREDICTIONS, rel
        assert run["with"]["cache"] == "false", rel
        assert deploy["permissions"]["contents"] == "write", rel  # unchanged: it pushes


def test_the_deploy_job_refuses_an_empty_artifact_id(
    repos: dict[str, Rendered], tmp_path: Path
) -> None:
    """download-artifact with an empty ``artifact-ids`` would download every artifact of
    the run: the step before it stops the job instead."""
    workflow = repos["example"].workflow("mlgitops-tumors-deploy.yml")
    check = workflow["jobs"]["deploy"]["steps"][1]

    def run(**ids: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", check["run"]],
            env={"PATH": os.environ["PATH"], **ids},
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )

    assert run(CANDIDATE="17", DEPLOYED="18").returncode == 0
    for ids in ({"CANDIDATE": "", "DEPLOYED": "18"}, {"CANDIDATE": "17", "DEPLOYED": "1,2"}):
        done = run(**ids)
        assert (done.returncode, done.stdout) == (
            1,
            "::error title=mlgitops::a model job reported no artifact id; nothing is deployed\n",
        )


def _holds_credentials(job: dict[str, Any]) -> bool:
    """A write permission, or a deploy secret (the MLflow user that may register)."""
    writes = "write" in (job.get("permissions") or {}).values()
    return writes or "MLFLOW_DEPLOY" in json.dumps(job.get("env") or {})


def test_jobs_that_hold_credentials_restore_no_cache(repos: dict[str, Rendered]) -> None:
    """Code that a job on the default branch runs (a model, in the deploy workflow's model
    jobs) can write the branch's Actions cache, which every branch reads: a job that holds
    credentials never restores one, nor does a job that runs a model (the other model's
    job could reach it), nor the PR workflow's train job, whose upload is what deploy takes
    for the review. Jobs that only read keep it."""
    seen = set()
    for rel, workflow in _all_workflows(repos):
        for job_id, job in workflow["jobs"].items():
            for step in _action_steps(job):
                cache = step["with"].get("cache", "true")
                review = rel.endswith("-pr.yml") and job_id == "train"
                apart = _holds_credentials(job) or "predict" in step["with"] or review
                assert cache == ("false" if apart else "true"), (rel, job_id)
                seen.add((rel.split("/")[-1].split("-")[-1], job_id, cache))
    assert {
        ("deploy.yml", "deploy", "false"),
        ("deploy.yml", "dispatch", "false"),
        ("deploy.yml", "candidate", "false"),
        ("deploy.yml", "deployed", "false"),
        ("pr.yml", "plan", "false"),
        ("pr.yml", "check", "true"),
        ("pr.yml", "train", "false"),
        ("pr.yml", "watchdog", "false"),
        ("pr.yml", "report", "false"),
        ("drift.yml", "drift", "false"),
        ("report.yml", "report-churn", "false"),
    } <= seen


@pytest.mark.parametrize(
    ("branch", "pattern"), [("release+1", "release\\+1"), ("!main", "\\!main"), ("a]b", "a]b")]
)
def test_a_default_branch_is_a_filter_pattern_that_matches_it_alone(
    branch: str, pattern: str, tmp_path: Path
) -> None:
    """GitHub reads ``on.push.branches`` as glob patterns: ``+`` and ``!`` (Git allows them in
    a branch's name) are escaped, so the deploy workflow runs on that branch."""
    root = _make_repo(tmp_path, f"default_branch: '{branch}'\n", {"churn.yaml": CHURN_SPEC})
    rendered = _render(root)
    deploy = yaml.safe_load(rendered.files[".github/workflows/mlgitops-churn-deploy.yml"])
    assert deploy[True]["push"]["branches"] == [pattern]
    result = _tool(
        "actionlint", "-no-color", str(root / ".github/workflows/mlgitops-churn-deploy.yml")
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_schedule_the_spec_accepts_actionlint_accepts(tmp_path: Path) -> None:
    """Random cron schedules: those the spec accepts pass actionlint's frequency check
    (which looks at two runs from one moment, so a schedule accepted here runs at least 5
    minutes apart at every moment); those refused for it run closer than that."""
    import random

    from mlgitops.spec.cron import cron_problem

    rng = random.Random(7)

    def field(low: int, high: int) -> str:
        kind = rng.choice(["*", "n", "list", "range", "step", "rangestep"])
        a, b = sorted(rng.sample(range(low, high + 1), 2))
        return {
            "*": "*",
            "n": str(a),
            "list": f"{a},{b}",
            "range": f"{a}-{b}",
            "step": f"*/{rng.randint(1, 12)}",
            "rangestep": f"{a}-{b}/{rng.randint(1, 7)}",
        }[kind]

    accepted, refused = [], []
    for _ in range(300):
        schedule = " ".join(
            field(lo, hi) for lo, hi in ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
        )
        problem = cron_problem(schedule)
        (accepted if problem is None else refused).append(schedule)
        assert problem is None or "apart" in problem or "never runs" in problem, problem
    assert len(accepted) > 50 and len(refused) > 50
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    crons = "".join(f"    - cron: '{s}'\n" for s in accepted)
    (folder / "w.yml").write_text(
        f"on:\n  schedule:\n{crons}jobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo\n"
    )
    result = _tool("actionlint", "-no-color", str(folder / "w.yml"))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_a_pipeline_named_like_a_yaml_word_reaches_every_job_as_its_name(tmp_path: Path) -> None:
    """A name YAML reads as no text (``null``, ``true``, ``on``, ``n``) is the Action's
    ``pipeline`` input and the scripts' ``PIPELINE`` as written, and GitHub's workflow
    schema accepts the workflows (an input may not be null)."""
    names = ["null", "true", "on", "n"]
    specs = {f"{n}.yaml": MINIMAL_SPEC.replace("name: a\n", f"name: '{n}'\n") for n in names}
    root = _make_repo(tmp_path, None, specs)
    rendered = _render(root)
    seen = 0
    for rel, text in rendered.files.items():
        if not rel.endswith(".yml") or rel.endswith("mlgitops-report.yml"):
            continue
        name = rel.removeprefix(".github/workflows/mlgitops-").rsplit("-", 1)[0]
        assert name in names, rel
        for job in _load(text)["jobs"].values():
            for step in job.get("steps", []):
                given = {**step.get("with", {}), **step.get("env", {})}
                for key in ("pipeline", "PIPELINE"):
                    if key in given:
                        assert given[key] == name, (rel, step)
                        seen += 1
    assert seen >= 2 * len(names)
    paths = [str(root / rel) for rel in rendered.files if rel.endswith(".yml")]
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_workflow_runs_for_a_file_an_input_links_to(tmp_path: Path) -> None:
    """``data/tumors.csv`` a link to ``store/tumors.csv``: a merge that changes only that
    file changes the data, and must deploy, as ``plan`` takes it to affect the pipeline."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    assert main(["-C", str(root), "init"]) == 0
    (root / "store").mkdir()
    (root / "data" / "tumors.csv").rename(root / "store" / "tumors.csv")
    (root / "data" / "tumors.csv").symlink_to("../store/tumors.csv")
    assert main(["-C", str(root), "render"]) == 0
    workflow = yaml.safe_load((root / ".github/workflows/mlgitops-tumors-deploy.yml").read_text())
    paths = workflow[True]["push"]["paths"]  # YAML 1.1 reads the key `on` as true
    assert {"data/tumors.csv", "store/tumors.csv", "**/.gitattributes"} <= set(paths), paths
