"""Drift judges recent data against the training profile deploy checked.

The deployed run's ``mlgitops/reference.json`` is written by the pull request's train
job, and the PR MLflow credentials can overwrite it at any time: a reference that lists
no features (or only some) judges nothing, and drift would report no drift for ever.
Deploy computes the reference the merged commit's data and split give, as ``train``
writes it, holds the logged one to it and records its digest in ``model.json``; drift
reads the deployed run's reference only where it is still that one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import requests

from mlgitops.drift.profile import dumps_reference
from mlgitops.training.tracking import open_tracking
from tests.deploy.test_deploy import deploy, merge_a_change, versions
from tests.deploy.world import (
    World,
    cli_run,
    deployed_review,
    git,
    publish_review,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer

pytestmark = pytest.mark.slow


def _swap_reference(world: World, uri: str, run_id: str, text: bytes) -> None:
    """Overwrite a run's mlgitops/reference.json in MLflow, as the PR credentials can."""
    forged = world.tmp / "forged-reference"
    shutil.rmtree(forged, ignore_errors=True)
    forged.mkdir()
    (forged / "reference.json").write_bytes(text)
    run = requests.get(
        f"{uri}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30
    ).json()["run"]
    open_tracking(uri, world.work, env={}).upload(run["info"]["artifact_uri"], forged, "mlgitops")


def _without_features(logged: bytes) -> bytes:
    """The reference with no feature in it: every check of it passes, and it judges nothing."""
    doc = json.loads(logged)
    doc["features"] = []
    return dumps_reference(doc).encode()


def _with_one_feature(logged: bytes) -> bytes:
    """The reference with its first feature only: the others are never judged."""
    doc = json.loads(logged)
    doc["features"] = doc["features"][:1]
    return dumps_reference(doc).encode()


def _deployed_then_forged(
    world: World, uri: str, github: GitHubServer, forge: Callable[[bytes], bytes]
) -> tuple[bytes, bytes, str]:
    """Work's HEAD deployed to staging; then its run's reference replaced by ``forge`` of
    it (as the PR credentials can), and staging's record made to name the forgery's digest
    in a commit pushed to main (as a merged pull request that changes only a record):
    the logged reference, the forged one, and the record's path."""
    deployed_review(world, uri, github.state, pr=12)
    folder = world.work / ".mlgitops" / world.name
    logged = (folder / "reference.json").read_bytes()
    run_id = json.loads((folder / "train.json").read_text())["run_id"]
    forged = forge(logged)
    _swap_reference(world, uri, run_id, forged)
    rel = f"manifests/{world.name}/overlays/staging/model.json"
    record = json.loads((world.work / rel).read_text())
    record["reference_digest"] = _sha256(forged)
    (world.work / rel).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    git(world.work, "commit", "-qam", "Tidy the staging record")
    git(world.work, "push", "-q", "origin", "main")
    return logged, forged, rel


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _refused(
    world: World, uri: str, github: GitHubServer, capsys: pytest.CaptureFixture[str],
    forge: Callable[[bytes], bytes], before_deploy: Callable[[], object] = lambda: None,
) -> tuple[bytes, str, str]:  # fmt: skip
    """Work's HEAD reviewed, its run's reference replaced by ``forge`` of it, then (after
    ``before_deploy``) deploy refusing it with nothing deployed: the reference train
    logged, the run, and deploy's error after the words that say which reference (where
    it says why)."""
    run_id = reviewed_run(uri, world.work, world.name)
    logged = (world.work / ".mlgitops" / world.name / "reference.json").read_bytes()
    _swap_reference(world, uri, run_id, forge(logged))
    run = publish_review(github.state, world.work, world.name, pr=12)
    before = world.remote_head()
    before_deploy()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    err = capsys.readouterr().err
    head = git(world.work, "rev-parse", "HEAD")
    which = (
        f"mlgitops deploy: error: the drift reference run {run_id} logged "
        f"(mlgitops/reference.json in MLflow at {uri}; pull request #12, workflow run "
        f"{run['id']} on {head[:12]}) is not the one the merged commit's data and split "
        "give: drift would judge recent data against another profile than the model's "
        "training data. "
    )
    assert err.startswith(which), err
    assert (world.remote_head(), versions(uri, world.name)) == (before, [])
    return logged, run_id, err.removeprefix(which)


def _changed_after_the_deploy(err: str, where: tuple[str, str, str, bytes], remedy: str) -> None:
    """``err`` is ``command``'s refusal of run ``run_id``'s reference, which ``record`` holds
    to the digest of ``logged``: the reference changed after the deploy."""
    command, run_id, record, logged = where
    assert err.startswith(
        f"mlgitops {command}: error: artifact mlgitops/reference.json of MLflow run {run_id} "
        f"(from {record}) has digest sha256:"
    )
    assert err.endswith(
        f", but {record} records {_sha256(logged)}, the reference deploy checked: it changed "
        f"after the model was deployed, {remedy}\n"
    )


def test_a_reference_the_merged_data_does_not_give_deploys_nothing(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    uri = mlflow_server.uri
    logged, run_id, why = _refused(world, uri, on_github, capsys, _without_features)
    assert why == (
        "The training job logged another profile, or it changed after the review; nothing "
        "deployed\n"
    )

    _swap_reference(world, uri, run_id, logged)  # restored: what train logged
    assert deploy(world, uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    model_json = world.work / "manifests" / world.name / "overlays" / "staging" / "model.json"
    assert json.loads(model_json.read_text())["reference_digest"] == _sha256(logged)


def test_drift_refuses_a_reference_changed_after_the_deploy(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, pr=12)
    folder = world.work / ".mlgitops" / world.name
    logged = (folder / "reference.json").read_bytes()
    run_id = json.loads((folder / "train.json").read_text())["run_id"]
    shutil.rmtree(world.work / ".mlgitops")  # the drift job's checkout has no hand-off folder
    args = ("drift", world.name, "--current", "data/tumors.csv", "--tracking-uri", uri)
    args += ("--action", "none")
    capsys.readouterr()

    assert cli_run(world.work, *args) == 0
    out = capsys.readouterr().out
    assert f"Reference: artifact mlgitops/reference.json of MLflow run {run_id} (" in out

    drift_json = world.work / ".mlgitops" / world.name / "drift.json"
    assert json.loads(drift_json.read_text())["drifted"] is False
    drift_json.unlink()
    _swap_reference(world, uri, run_id, _without_features(logged))
    assert cli_run(world.work, *args) == 2
    _changed_after_the_deploy(
        capsys.readouterr().err,
        ("drift", run_id, f"manifests/{world.name}/overlays/staging/model.json", logged),
        "so no drift can be judged against it; restore the run's mlgitops/reference.json, or "
        "pass the reference with --reference FILE",
    )
    assert not drift_json.exists()


def test_compare_refuses_a_reference_changed_after_the_deploy(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """compare judges what the deployed model was given against its run's reference: one the
    pull request's MLflow credentials rewrote (here, with no features, so that nothing would
    count as outside them) stops it, in compare's words (drift's spoke of drift and of its
    --reference option)."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, pr=12)
    folder = world.work / ".mlgitops" / world.name
    logged = (folder / "reference.json").read_bytes()
    run_id = json.loads((folder / "train.json").read_text())["run_id"]
    git(world.work, "pull", "-q", "origin", "main")
    merge_a_change(world)
    assert cli_run(world.work, "train", world.name, "--tracking-uri", uri) == 0
    _swap_reference(world, uri, run_id, _without_features(logged))
    capsys.readouterr()
    assert cli_run(world.work, "compare", world.name, "--tracking-uri", uri) == 2
    where = f"origin/main:manifests/{world.name}/overlays/staging/model.json"
    _changed_after_the_deploy(
        capsys.readouterr().err,
        ("compare", run_id, where, logged),
        "so nothing can be judged against it; restore the run's mlgitops/reference.json",
    )


def test_a_merged_record_that_names_another_reference_digest_is_refused(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The PR credentials overwrite the deployed run's reference with one that judges
    nothing, and a pull request that changes only staging's record (no deploy runs for it),
    merged against its failed check, names that reference's digest: drift would take it as
    the one deploy checked. The registry, which the PR credentials cannot write, holds the
    digest deploy checked, and every record is held to it before it is taken."""
    uri = mlflow_server.uri
    logged, forged, rel = _deployed_then_forged(world, uri, on_github, _without_features)
    before = world.remote_head()
    capsys.readouterr()

    promote = ("promote", world.name, "--to", "production", "--tracking-uri", uri)
    assert cli_run(world.work, *promote) == 2
    production = rel.replace("/staging/", "/production/")  # the record promote would write
    assert capsys.readouterr().err == (
        f"mlgitops promote: error: {production} records reference_digest {_sha256(forged)} for "
        f"version 1, where deploy registered that version with {_sha256(logged)}: the record "
        "was changed by other than deploy, promote and rollback; restore it from Git's "
        "history; nothing committed\n"
    )
    assert world.remote_head() == before


def test_drift_refuses_a_record_whose_reference_digest_the_registry_does_not_hold(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The same forgery, read by drift before any deploy, promote or rollback: a reference
    that profiles one feature of the model's, whose digest the merged record names. Drift
    holds the record to the registry, as those do, before it takes the reference."""
    uri = mlflow_server.uri
    logged, forged, rel = _deployed_then_forged(world, uri, on_github, _with_one_feature)
    shutil.rmtree(world.work / ".mlgitops")
    capsys.readouterr()

    args = ("drift", world.name, "--current", "data/tumors.csv", "--tracking-uri", uri)
    assert cli_run(world.work, *args, "--action", "none") == 2
    assert capsys.readouterr().err == (
        f"mlgitops drift: error: {rel} records reference_digest {_sha256(forged)} for "
        f"version 1, where deploy registered that version with {_sha256(logged)}: the record "
        "was changed by other than deploy, promote and rollback; restore it from Git's "
        "history\n"
    )


def test_a_reference_refused_under_another_mlgitops_says_which_ran_the_review(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The review's train job ran another mlgitops than deploy: where its profile is not
    the one this deploy computes, the refusal says so, and what to run again."""
    from mlgitops.training import content

    def another_version() -> None:  # deploy's; the review ran this one
        monkeypatch.setattr(content, "__version__", "99.0.0")

    # the reference another version's profile would give: here, one feature fewer
    uri = mlflow_server.uri
    _, _, why = _refused(world, uri, on_github, capsys, _with_one_feature, another_version)
    assert why == (
        "The review's train job ran another mlgitops version than this deploy's (99.0.0), "
        "whose profile of the same data may differ: run the pull request's training again "
        "with this version, or deploy with the version that reviewed it; nothing deployed\n"
    )


_NO_DRIFT = (0, "no drift in 10 features")
_RADIUS = (1, "drift in 1 of 10 features: radius")
#: Current data made from the training data, and what drift finds in it: (exit, summary).
_CHANGES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], tuple[int, str]]] = {
    "unchanged": (lambda f: f, _NO_DRIFT),
    "without its target": (lambda f: f.drop(columns=["malignant"]), _NO_DRIFT),
    "numbers written as text": (lambda f: f.astype({"radius": str}), _NO_DRIFT),
    "a column dropped": (lambda f: f.drop(columns=["radius"]), _RADIUS),
    "a column renamed": (lambda f: f.rename(columns={"radius": "Radius"}), _RADIUS),
    "a column of gaps only": (lambda f: f.assign(radius=np.nan), _RADIUS),
    "a column of words": (lambda f: f.assign(radius="big"), _RADIUS),
    "a column rounded to integers": (
        lambda f: f.assign(radius=f["radius"].round().astype("int64")),
        _RADIUS,
    ),
}


def _verdict(world: World, uri: str, current: str) -> tuple[int, str, list[object]]:
    """Drift of ``current`` against the deployed run's reference: the exit code, the
    summary and each feature's status and PSI (or the error, where there is no report)."""
    report = world.work / ".mlgitops" / world.name / "drift.json"
    report.unlink(missing_ok=True)
    args = ("drift", world.name, "--current", current, "--tracking-uri", uri)
    code = cli_run(world.work, *args, "--action", "none")
    if not report.exists():
        return code, "", []
    doc = json.loads(report.read_text())
    return code, doc["summary"], [(f["name"], f["status"], f["psi"]) for f in doc["features"]]


def test_drift_of_current_data_of_every_shape_against_the_deployed_reference(
    world: World, mlflow_server: MlflowServer, on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Train, compare, deploy for real; then drift judges current data whose columns went
    missing, renamed, empty, to words or another type against the reference deploy checked:
    each such feature drifts (none reads as "no drift"), and the same data as CSV or Parquet
    gives the same verdict. Data without rows is bad input."""
    uri = mlflow_server.uri
    deployed_review(world, uri, on_github.state, pr=12)
    shutil.rmtree(world.work / ".mlgitops")  # the drift job's checkout has no hand-off folder
    training = pd.read_csv(world.work / "data" / "tumors.csv")
    for change, (edit, (code, summary)) in _CHANGES.items():
        verdicts = []
        for fmt in ("csv", "parquet"):
            path = world.work / "data" / f"current.{fmt}"
            frame = edit(training)
            frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
            verdicts.append(_verdict(world, uri, f"data/current.{fmt}"))
        assert verdicts[0] == verdicts[1], change
        assert verdicts[0][:2] == (code, summary), change
    training.head(0).to_csv(world.work / "data" / "current.csv", index=False)
    training.head(0).to_parquet(world.work / "data" / "current.parquet", index=False)
    capsys.readouterr()
    assert _verdict(world, uri, "data/current.csv") == (2, "", [])
    assert _verdict(world, uri, "data/current.parquet") == (2, "", [])
    assert capsys.readouterr().err.splitlines() == [
        "mlgitops drift: error: data/current.csv: the file has a header but no data rows",
        "mlgitops drift: error: data/current.parquet: the file has no rows",
    ]
