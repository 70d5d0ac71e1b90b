"""``mlgitops deploy`` end to end: real git remote, real MLflow server, real kustomize."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mlgitops.gitops.message import parse_trailers
from tests.deploy.world import ROUNDS, World, cli_run, git, handoff, make_world, reviewed_run
from tests.fixtures.k8s import kustomize_build, validate_objects
from tests.fixtures.mlflow_server import MlflowServer


def registry(uri: str, endpoint: str, **params: str) -> requests.Response:
    return requests.get(f"{uri}/api/2.0/mlflow/{endpoint}", params=params, timeout=30)


def alias(uri: str, name: str, env: str) -> str | None:
    answer = registry(uri, "registered-models/alias", name=name, alias=env)
    return answer.json()["model_version"]["version"] if answer.ok else None


def versions(uri: str, name: str) -> list[str]:
    answer = registry(uri, "model-versions/search", filter=f"name = '{name}'")
    return sorted(v["version"] for v in answer.json().get("model_versions", []))


def deploy(world: World, uri: str, *extra: str, root: Path | None = None) -> int:
    args = ("deploy", world.name, "--env", "staging", "--tracking-uri", uri, *extra)
    return cli_run(root or world.work, *args)


def merge_a_change(world: World) -> None:
    """A second pull request, merged: new params, so a new content key."""
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "Tune the learning rate")
    git(world.work, "push", "-q", "origin", "main")


def check_overlays(world: World, contracts: Path) -> None:
    """Every overlay builds with kubectl kustomize and validates; render --check agrees."""
    for env in ("staging", "production"):
        validate_objects(
            kustomize_build(world.work / f"manifests/{world.name}/overlays/{env}"), contracts
        )
    assert cli_run(world.work, "render", "--check") == 0


def test_deploy_commits_the_reviewed_model_and_pushes(
    world: World, mlflow_server: MlflowServer, contracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, uri = world.name, mlflow_server.uri
    run_id = reviewed_run(uri, world.work, name)
    train = handoff(world.work, name, "train.json")
    verdict = handoff(world.work, name, "verdict.json")
    before = world.remote_head()
    capsys.readouterr()

    code = deploy(world, uri)

    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    head = world.remote_head()
    subject = f"deploy({name}): model v1 to staging (canary 50%→100%)"
    model_id = train["model_uri"].removeprefix("models:/")
    assert out == (
        f"deploy {name}: reviewed in local hand-off folder .mlgitops/{name} "
        "(no GitHub: the anchor is local)\n"
        f"  model {model_id}: digest {train['model_digest']} as reviewed; "
        f"re-scored on the merged holdout: {verdict['summary']}\n"
        f"deploy {name}: committed {head[:12]} {subject}\n"
        "  pushed to origin/main\n"
        f"  MLflow alias {name}@staging -> version 1\n"
    )
    assert git(world.work, "rev-parse", "HEAD") == head
    assert git(world.remote, "rev-parse", "main~1") == before
    message = git(world.remote, "log", "-1", "--format=%B", "main")
    assert message.splitlines()[0] == subject
    assert parse_trailers(message) == {
        "Pipeline": name,
        "Environment": "staging",
        "Model-Version": "1",
        "Run-Id": run_id,
        "Content-Key": json.loads(
            world.remote_file(f"manifests/{name}/overlays/staging/model.json")
        )["content_key"],
    }
    overlay = f"manifests/{name}/overlays/staging"
    assert git(world.work, "diff", "--name-only", "HEAD~1", "HEAD").split() == [
        f"{overlay}/kustomization.yaml",
        f"{overlay}/model.json",
    ]
    diff = git(world.work, "diff", "-U0", "HEAD~1", "HEAD", "--", f"{overlay}/kustomization.yaml")
    assert [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ] == [
        f"-      - MODEL_URI=models:/{name}@staging",
        "-      - MODEL_DIGEST=",
        f"+      - MODEL_URI=models:/{name}/1",
        f"+      - MODEL_DIGEST={train['model_digest']}",  # what the model server checks
    ]
    record = json.loads(world.remote_file(f"{overlay}/model.json"))
    del record["deployed_at"], record["data_hash"], record["spec_hash"]
    reference = (world.work / ".mlgitops" / name / "reference.json").read_bytes()
    reference_digest = "sha256:" + hashlib.sha256(reference).hexdigest()
    assert record == {
        "pipeline": name,
        "environment": "staging",
        "model_name": name,
        "version": "1",
        "model_uri": f"models:/{name}/1",
        "run_id": run_id,
        "content_key": train["content_key"],
        "model_digest": train["model_digest"],
        "training_rows_digest": train["training_rows_digest"],  # what compare checks
        "reference_digest": reference_digest,  # what drift checks
        "image": "",  # the spec names its image (deploy.server.image): nothing built to pin
        "metrics": {m["name"]: m["candidate"] for m in verdict["metrics"]},
        "commit": before,
        "pr": None,
        "previous": None,
        "history": [],
        "rolled_back_from": None,
        "promoted_from": None,
        "task": "classification",  # what later reviews hold a candidate's task to
        "traffic_percent": None,  # Argo Rollouts moves the canary's share itself
        "schema_version": 1,
    }
    assert alias(uri, name, "staging") == "1"
    built = kustomize_build(world.work / overlay)
    config = next(o for o in built if o["kind"] == "ConfigMap")
    assert config["data"] == {
        "MODEL_URI": f"models:/{name}/1",
        "MODEL_DIGEST": train["model_digest"],
    }
    check_overlays(world, contracts)


def test_deploying_again_commits_nothing_and_registers_nothing(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    head = world.remote_head()
    capsys.readouterr()
    assert deploy(world, uri) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        f"deploy {world.name}: model v1 is already deployed to staging; nothing committed",
        f"  MLflow alias {world.name}@staging -> version 1",
    ]
    assert world.remote_head() == head
    assert versions(uri, world.name) == ["1"]


def test_a_second_merge_deploys_over_the_first_and_keeps_it_as_previous(
    world: World, mlflow_server: MlflowServer, contracts: Path
) -> None:
    uri = mlflow_server.uri
    first = reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    merge_a_change(world)
    second = reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    record = json.loads(world.remote_file(f"manifests/{world.name}/overlays/staging/model.json"))
    assert (record["version"], record["run_id"]) == ("2", second)
    assert record["previous"]["version"] == "1"
    assert record["previous"]["run_id"] == first
    assert [h["version"] for h in record["history"]] == ["1"]
    assert alias(uri, world.name, "staging") == "2"
    check_overlays(world, contracts)


def test_a_classifier_without_probabilities_deploys_over_one_with_them(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A merged change to ``LinearSVC`` (no ``predict_proba``), its spec listing metrics of
    labels only: reviewed, re-scored against the deployed gradient boosting, deployed."""
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    text = spec.read_text()
    for old, new in (
        ("sklearn.ensemble.HistGradientBoostingClassifier", "sklearn.svm.LinearSVC"),
        (f"{{{ROUNDS}, learning_rate: 0.1, random_state: 0}}", "{C: 0.5, max_iter: 5000}"),
        ("metrics: [roc_auc, accuracy, f1, log_loss]", "metrics: [accuracy, f1]"),
        ("  roc_auc: {min: 0.90, max_drop: 0.01}\n", "  f1: {max_drop: 0.1}\n"),
    ):
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text)
    git(world.work, "commit", "-qam", "A linear model")
    git(world.work, "push", "-q", "origin", "main")
    second = reviewed_run(uri, world.work, world.name)
    train = handoff(world.work, world.name, "train.json")
    assert train["classes"] == [0, 1] and sorted(train["metrics"]) == ["accuracy", "f1"]
    capsys.readouterr()
    assert deploy(world, uri) == 0
    out = capsys.readouterr().out
    assert f"deploy({world.name}): model v2 to staging" in out
    assert "re-scored on the merged holdout: passed: 2 of 2 gates hold against models:/" in out
    record = json.loads(world.remote_file(f"manifests/{world.name}/overlays/staging/model.json"))
    assert (record["version"], record["run_id"]) == ("2", second)
    assert record["model_digest"] == train["model_digest"]
    assert sorted(record["metrics"]) == ["accuracy", "f1"]


def test_classes_renamed_where_the_spec_allows_not_evaluable_deploy_as_compare_judged(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A merged change names the positive class 2 where it was 1, and lets gates that cannot
    be evaluated pass. compare cannot score the deployed model (it predicts class 1) and
    passes, as allowed; deploy re-scores the merge from the deployed model's recorded
    outputs and judges the same (it stopped with exit 2, bad input, on the class)."""
    uri = mlflow_server.uri
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri) == 0
    data = world.work / "data" / "tumors.csv"
    rows = data.read_text().splitlines()
    data.write_text(
        "\n".join([rows[0], *(r[:-1] + "2" if r.endswith(",1") else r for r in rows[1:])]) + "\n"
    )
    schema = world.work / "schemas" / "tumors.yaml"
    schema.write_text(schema.read_text().replace("    - 0\n    - 1\n", "    - 0\n    - 2\n"))
    spec = world.work / "pipelines" / f"{world.name}.yaml"
    spec.write_text(spec.read_text() + "compare: {allow_not_evaluable: true}\n")
    git(world.work, "commit", "-qam", "Name the malignant class 2")
    git(world.work, "push", "-q", "origin", "main")
    capsys.readouterr()
    second = reviewed_run(uri, world.work, world.name)
    verdict = handoff(world.work, world.name, "verdict.json")
    cannot = (
        "the deployed model could not score the holdout: the baseline model predicts class 1, "
        "which the holdout's target does not have (its classes: 0, 2): the classes changed "
        "since it was trained"
    )
    assert verdict["passed"] is True and verdict["comparison"]["reasons"] == [cannot]
    capsys.readouterr()
    assert deploy(world, uri) == 0
    out = capsys.readouterr().out
    assert "re-scored on the merged holdout: passed: " in out and "not evaluable (allowed)" in out
    record = json.loads(world.remote_file(f"manifests/{world.name}/overlays/staging/model.json"))
    assert (record["version"], record["run_id"]) == ("2", second)


def test_no_push_commits_on_the_local_checkout_only(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed_run(mlflow_server.uri, world.work, world.name)
    head = world.remote_head()
    assert deploy(world, mlflow_server.uri, "--no-push") == 0
    local = git(world.work, "rev-parse", "HEAD")
    lines = capsys.readouterr().out.splitlines()
    assert "  not pushed (--no-push)" in lines
    assert world.remote_head() == head != local
    assert git(world.work, "rev-parse", "HEAD~1") == head
    # the tracking server's registry is shared: its alias follows what was pushed, so it
    # does not run ahead of Git (the next deploy would refuse the remote's records)
    assert lines[-1] == (
        f"  MLflow alias {world.name}@staging not moved: nothing was pushed (--no-push) and "
        "the tracking server's registry is shared; push the commit, then run the command "
        "again to move it"
    )
    assert alias(mlflow_server.uri, world.name, "staging") is None
    git(world.work, "push", "-q", "origin", "HEAD:main")
    assert deploy(world, mlflow_server.uri) == 0  # pushed: run again, the alias moves
    assert capsys.readouterr().out.endswith(f"  MLflow alias {world.name}@staging -> version 1\n")
    assert alias(mlflow_server.uri, world.name, "staging") == "1"


def test_without_a_review_the_local_anchor_is_missing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(world, "http://127.0.0.1:9") == 2  # nothing is contacted
    folder = world.work / ".mlgitops" / world.name
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: {folder / 'train.json'}: not readable (No such file or "
        f"directory); run `mlgitops train {world.name}` first, or deploy from the workflow, "
        "where the anchor is the pull request's run\n"
    )


def test_an_unknown_environment_is_bad_input(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_run(world.work, "deploy", world.name, "--env", "qa") == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: pipeline '{world.name}' has no environment 'qa' in "
        f"pipelines/{world.name}.yaml (known: staging, production)\n"
    )


@pytest.mark.parametrize("seconds", ["0", "-5", "nan", "inf", "ten", "1e10"])
def test_a_model_time_limit_that_is_not_a_number_of_seconds_is_a_usage_error(
    world: World, seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_run(world.work, "deploy", world.name, "--env", "staging", "--model-timeout", seconds)
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: argument --model-timeout: expected a number of seconds above 0, at most "
        f"604800: {seconds!r}\n"
    )


def test_parallel_deploy_processes_against_one_remote_all_land(
    tmp_path: Path, mlflow_server: MlflowServer
) -> None:
    world = make_world(tmp_path, count=4)
    uri = mlflow_server.uri
    for name in world.names:
        reviewed_run(uri, world.work, name)
    start = world.remote_head()
    clones = {name: world.clone(f"ci-{name}") for name in world.names}
    project = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project)])}
    jobs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlgitops",
                "deploy",
                name,
                "--env",
                "staging",
                "--tracking-uri",
                uri,
                "--attempts",
                "10",
                "--output",  # the reviews happened in the first clone
                str(world.work / ".mlgitops" / name),
            ],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, root in clones.items()
    }
    results = {name: (job.wait(timeout=300), job.communicate()) for name, job in jobs.items()}
    assert {name: code for name, (code, _) in results.items()} == dict.fromkeys(world.names, 0), (
        results
    )
    commits = git(world.remote, "rev-list", "--reverse", f"{start}..main").split()
    landed = [
        parse_trailers(git(world.remote, "log", "-1", "--format=%B", c))["Pipeline"]
        for c in commits
    ]
    assert sorted(landed) == sorted(world.names)
    for name in world.names:
        text = world.remote_file(f"manifests/{name}/overlays/staging/kustomization.yaml")
        record = json.loads(world.remote_file(f"manifests/{name}/overlays/staging/model.json"))
        assert text.endswith(
            f"MODEL_URI=models:/{name}/1\n      - MODEL_DIGEST={record['model_digest']}"
        )
    last = commits[-1]
    assert git(world.remote, "rev-parse", "main") == last


@pytest.mark.slow
@pytest.mark.filterwarnings(
    "ignore::DeprecationWarning"
)  # MLflow's sqlite store uses deprecated SQLAlchemy
@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's import warns about its type hints
def test_a_local_sqlite_store_registers_through_mlflows_client(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    reviewed_run(uri, world.work, world.name)
    assert deploy(world, uri, "--no-push") == 0
    assert capsys.readouterr().out.endswith(f"  MLflow alias {world.name}@staging -> version 1\n")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # other tests set a global registry
    version = client.get_model_version_by_alias(world.name, "staging")
    assert str(version.version) == "1"
    assert deploy(world, uri, "--no-push") == 0
    assert (
        f"deploy {world.name}: model v1 is already deployed to staging; nothing committed"
        in capsys.readouterr().out.splitlines()
    )
    # An alias left behind (the commit landed, the registry failed): the same deploy again
    # moves it, although the record and the alias disagree until then
    client.delete_registered_model_alias(world.name, "staging")
    assert deploy(world, uri, "--no-push") == 0
    assert capsys.readouterr().out.endswith(f"  MLflow alias {world.name}@staging -> version 1\n")
    assert str(client.get_model_version_by_alias(world.name, "staging").version) == "1"


def test_an_overlay_that_is_not_committed_registers_nothing(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed_run(mlflow_server.uri, world.work, world.name)
    git(world.work, "rm", "-rq", f"manifests/{world.name}/overlays/staging")
    git(world.work, "commit", "-qm", "Drop the staging overlay")
    head = git(world.work, "rev-parse", "HEAD")
    assert deploy(world, mlflow_server.uri) == 2
    assert capsys.readouterr().err == (
        f"mlgitops deploy: error: manifests/{world.name}/overlays/staging/kustomization.yaml is "
        f"not in commit {head[:12]}: run `mlgitops render` and commit the manifests first\n"
    )
    assert versions(mlflow_server.uri, world.name) == []


def test_an_overlay_that_is_not_utf_8_is_bad_input_and_registers_nothing(
    world: World, mlflow_server: MlflowServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reviewed_run(mlflow_server.uri, world.work, world.name)
    overlay = world.work / f"manifests/{world.name}/overlays/staging/kustomization.yaml"
    overlay.write_bytes(b"# r\xe9vis\xe9\n" + overlay.read_bytes())
    git(world.work, "commit", "-qam", "A comment in Latin-1")
    head = git(world.work, "rev-parse", "HEAD")
    assert deploy(world, mlflow_server.uri) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"mlgitops deploy: error: {head}:manifests/{world.name}/overlays/staging/"
        "kustomization.yaml: not UTF-8 text ("
    )
    assert versions(mlflow_server.uri, world.name) == []
