"""A review is of one commit's inputs: a merge that brings in other inputs, or a model
deployed after the review judged against another, ships nothing unreviewed.

GitHub does not run a pull request's checks again when its base branch moves. Played with
real train, compare and deploy against a real MLflow server, a bare remote and the
loopback GitHub server.
"""

from __future__ import annotations

import py_compile
import shutil
from pathlib import Path

import pytest

from tests.deploy.test_anchor import model_json
from tests.deploy.test_deploy import deploy, versions
from tests.deploy.test_trust_records import merged_pull
from tests.deploy.world import (
    CANARY_BLOCK,
    World,
    cli_run,
    deployed_review,
    git,
    pr_workflow,
    results_zip,
    reviewed_run,
)
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.mlflow_server import MlflowServer


def _branch(world: World, name: str, rel: str, text: str) -> str:
    """A branch off work's HEAD adding ``rel``; work stays on main. Its head."""
    git(world.work, "checkout", "-q", "-b", name)
    (world.work / rel).write_text(text)
    git(world.work, "add", rel)
    git(world.work, "commit", "-qm", f"Add {rel}")
    head = git(world.work, "rev-parse", "HEAD")
    git(world.work, "checkout", "-q", "main")
    return head


def _rendered_commit(world: World, message: str) -> str:
    """Work's changes rendered and committed on its branch; the commit."""
    assert cli_run(world.work, "render") == 0
    git(world.work, "add", "-A")
    git(world.work, "commit", "-qm", message)
    return git(world.work, "rev-parse", "HEAD")


def _reviewed(world: World, uri: str, name: str) -> bytes:
    """Work's branch trained and compared for real, as its pull request's run does: what
    the run uploaded. Work is back on main."""
    reviewed_run(uri, world.work, name)
    archive = results_zip(world.work, name)
    git(world.work, "checkout", "-q", "main")
    return archive


def _merge(world: World, branch: str) -> str:
    git(world.work, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    git(world.work, "push", "-q", "origin", "main")
    return git(world.work, "rev-parse", "HEAD")


def test_a_review_of_inputs_the_merge_changed_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pull request #12 touches only a note and was reviewed on the spec as it was; another
    pull request then changed the spec's learning rate and merged first. #12's model was
    trained without that change: deploying it would serve a model the merged spec never
    made, recorded under the merged commit's inputs."""
    uri, name = mlflow_server.uri, world.name
    head = _branch(world, "notes", "NOTES.md", "notes\n")
    git(world.work, "checkout", "-q", "notes")
    archive = _reviewed(world, uri, name)
    spec = world.work / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "Tune the learning rate")
    merge = _merge(world, "notes")
    merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    out, err = capsys.readouterr()
    assert err.startswith("mlgitops deploy: error: the reviewed run "), out + err
    assert "the spec's training settings changed between its review and the merge" in err, err
    assert f"a pull request that touches pipelines/{name}.yaml trains on what is merged" in err
    assert err.endswith("; nothing deployed\n"), err
    assert versions(uri, name) == []
    assert world.remote_head() == before


TRAINERS = Path(__file__).parents[1] / "train" / "trainers"


def _knobs(root: Path, regularisation: float, *, sourceless: bool) -> None:
    """``trainer/knobs`` with ``C = regularisation``: a ``.py``, or only its byte-code."""
    folder = root / "trainer"
    for old in ("knobs.py", "knobs.pyc"):
        (folder / old).unlink(missing_ok=True)
    source = folder / "knobs.py"
    source.write_text(f"C = {regularisation!r}\n")
    if sourceless:
        py_compile.compile(str(source), cfile=str(folder / "knobs.pyc"), doraise=True)
        source.unlink()
    git(root, "add", "-A", "trainer")


@pytest.mark.parametrize("sourceless", [False, True], ids=["knobs.py", "knobs.pyc"])
def test_a_review_of_trainer_code_the_merge_changed_deploys_nothing(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
    sourceless: bool,
) -> None:
    """The trainer imports a module of its folder, committed as source or as byte-code
    alone; pull request #12 was reviewed with ``C = 1.0`` there, and another pull request
    set it to 0.0001 and merged first. Either way the code the model was trained on is
    not the merged commit's."""
    uri, name, root = mlflow_server.uri, world.name, world.work
    (root / "trainer").mkdir()
    shutil.copy(TRAINERS / "knobs_classifier.py", root / "trainer" / "train.py")
    _knobs(root, 1.0, sourceless=sourceless)
    spec = root / "pipelines" / f"{name}.yaml"
    model = spec.read_text().split("model:\n", 1)[1].split("task:", 1)[0]
    trainer = "  command: python trainer/train.py\n  code: [trainer]\n"
    spec.write_text(spec.read_text().replace(model, trainer))
    _rendered_commit(world, "A trainer of our own")
    git(root, "push", "-q", "origin", "main")
    head = _branch(world, "notes", "NOTES.md", "notes\n")
    git(root, "checkout", "-q", "notes")
    archive = _reviewed(world, uri, name)
    _knobs(root, 0.0001, sourceless=sourceless)
    git(root, "commit", "-qm", "Regularise harder")
    merge = _merge(world, "notes")
    merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)
    capsys.readouterr()

    assert deploy(world, uri) == 1
    _, err = capsys.readouterr()
    assert "the trainer's code changed between its review and the merge" in err, err
    assert versions(uri, name) == []


def test_a_review_of_the_merged_inputs_deploys_though_other_files_changed(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
) -> None:
    """The base branch moved after the review, but not in the pipeline's inputs: the reviewed
    model is the merged commit's, and deploys."""
    uri, name = mlflow_server.uri, world.name
    head = _branch(world, "notes", "NOTES.md", "notes\n")
    git(world.work, "checkout", "-q", "notes")
    archive = _reviewed(world, uri, name)
    (world.work / "CHANGELOG.md").write_text("changes\n")
    git(world.work, "add", "CHANGELOG.md")
    git(world.work, "commit", "-qm", "A changelog")
    merge = _merge(world, "notes")
    merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)

    assert deploy(world, uri) == 0
    assert versions(uri, name) == ["1"]
    assert model_json(world)["commit"] == merge


def test_a_model_deployed_after_the_merge_was_judged_is_not_replaced_unjudged(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pull request #12 tunes the spec; #13 builds on it, adding a note, and trains its own
    model of the same inputs. Both merge before #12's deploy lands: #13's deploy judges its
    model against the branch before its merge, where nothing was deployed yet, while #12's
    lands v1. Replacing v1 with a model never compared with it would ship an unjudged
    model; v1 stays."""
    uri, name = mlflow_server.uri, world.name
    spec = world.work / "pipelines" / f"{name}.yaml"
    git(world.work, "checkout", "-q", "-b", "tune")
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "Tune the learning rate")
    tuned = git(world.work, "rev-parse", "HEAD")
    reviewed_run(uri, world.work, name)
    first = results_zip(world.work, name)
    noted = _branch(world, "notes", "NOTES.md", "notes\n")  # off tune
    git(world.work, "checkout", "-q", "notes")
    assert cli_run(world.work, "train", name, "--tracking-uri", uri, "--force") == 0
    assert cli_run(world.work, "compare", name, "--tracking-uri", uri) == 0
    second = results_zip(world.work, name)
    git(world.work, "checkout", "-q", "main")
    merged_first = _merge(world, "tune")
    merged_second = _merge(world, "notes")
    state = on_github.state
    files = [f"pipelines/{name}.yaml"]
    for pr, head, archive, merge, listed in (
        (12, tuned, first, merged_first, files),
        (13, noted, second, merged_second, [*files, "NOTES.md"]),
    ):
        state.add_pull(pr, head, files=listed)
        run = state.add_workflow_run(head, name="x", path=pr_workflow(world))
        state.add_artifact(run["id"], f"mlgitops-{name}-train", archive)
        state.merge_pull(pr, merge)
    earlier = world.clone("first")
    git(earlier, "checkout", "-q", merged_first)
    assert deploy(world, uri, root=earlier) == 0  # #12's model, v1
    before = world.remote_head()
    capsys.readouterr()

    assert deploy(world, uri) == 1
    out, err = capsys.readouterr()
    assert "first deployment: no deployed model yet" in out, out
    assert err.startswith(
        f"mlgitops deploy: error: model v1 of {merged_first[:12]} was deployed to staging "
        f"after this model was judged against no model (what {merged_first[:12]}, the "
        "branch before this merge, deployed): it was never compared with v1; "
    ), err
    assert err.endswith("; nothing deployed\n"), err
    assert world.remote_head() == before
    assert model_json(world)["commit"] == merged_first


def test_another_mlgitops_at_deploy_time_deploys_an_unchanged_review(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``action: mlgitops/mlgitops@v1`` is a tag that moves, and a runner may have mlgitops
    installed: deploy may run another mlgitops than the review's job. Its inputs did not
    change: the model is the merged commit's, and deploys."""
    uri, name = mlflow_server.uri, world.name
    head = _branch(world, "notes", "NOTES.md", "notes\n")
    git(world.work, "checkout", "-q", "notes")
    archive = _reviewed(world, uri, name)
    merge = _merge(world, "notes")
    merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)
    import mlgitops.training.content as content

    monkeypatch.setattr(content, "__version__", content.__version__ + ".post1")
    capsys.readouterr()
    code = deploy(world, uri)
    out, err = capsys.readouterr()
    assert code == 0, out + err


def test_a_review_that_reorders_environments_deploys(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """v1 in staging and production, v2 in staging. A pull request puts a canary first and
    production before staging: reviewed (and re-scored by deploy) against staging's v2, as
    find_baseline's own order (the base's spec) says. Nothing is deployed between the merge
    and the deploy: the model judged against is the one deployed where it was found."""
    uri, name = mlflow_server.uri, world.name
    deployed_review(world, uri, on_github.state, 10)  # v1 in staging
    assert cli_run(world.work, "promote", name, "--to", "production", "--tracking-uri", uri) == 0
    git(world.work, "pull", "-q", "origin", "main")
    spec = world.work / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    git(world.work, "commit", "-qam", "Tune")
    git(world.work, "push", "-q", "origin", "main")
    deployed_review(world, uri, on_github.state, 11)  # v2 in staging

    git(world.work, "checkout", "-q", "-b", "feature")
    text = spec.read_text()
    staging = text.split("    - name: staging\n")[1].split("    - name: production\n")[0]
    text = text.replace(f"    - name: staging\n{staging}", "")
    text = text.replace("drift:\n", f"    - name: staging\n{staging}drift:\n", 1)
    text = text.replace("  environments:\n", f"  environments:\n{CANARY_BLOCK}")
    spec.write_text(text.replace("learning_rate: 0.05", "learning_rate: 0.07"))
    head = _rendered_commit(world, "A canary first, production before staging")
    archive = _reviewed(world, uri, name)
    merge = _merge(world, "feature")
    merged_pull(on_github, world, head, [f"pipelines/{name}.yaml"], archive, merge=merge)
    capsys.readouterr()
    code = cli_run(world.work, "deploy", name, "--env", "canary", "--tracking-uri", uri)
    out, err = capsys.readouterr()
    assert code == 0, out + err


def test_a_renamed_pipeline_deploys(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pull request renames the pipeline (its spec file kept): reviewed and re-scored
    against its old name's staging v1, which is still deployed where it was found."""
    uri, name = mlflow_server.uri, world.name
    deployed_review(world, uri, on_github.state, 10)  # v1 in staging
    new = f"{name}x"
    git(world.work, "checkout", "-q", "-b", "rename")
    spec = world.work / "pipelines" / f"{name}.yaml"
    spec.write_text(spec.read_text().replace(f"name: {name}\n", f"name: {new}\n", 1))
    head = _rendered_commit(world, "Rename the pipeline")
    archive = _reviewed(world, uri, new)
    merge = _merge(world, "rename")
    state = on_github.state
    state.add_pull(12, head, files=[f"pipelines/{name}.yaml"])
    run = state.add_workflow_run(head, name="x", path=f".github/workflows/mlgitops-{new}-pr.yml")
    state.add_artifact(run["id"], f"mlgitops-{new}-train", archive)
    state.merge_pull(12, merge)
    capsys.readouterr()
    code = cli_run(world.work, "deploy", new, "--env", "staging", "--tracking-uri", uri)
    out, err = capsys.readouterr()
    assert code == 0, out + err


def test_a_refreshed_holdout_behind_a_url_is_re_scored_not_refused(
    world: World,
    mlflow_server: MlflowServer,
    on_github: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """data.test_path behind a URL (an evaluation set refreshed upstream), data.path in git.
    Between review and deploy the served holdout changes; the training rows do not. Deploy
    re-scores on the merged holdout, and the training rows are held to the merged data's:
    the data is theirs to judge, not the content key's."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.fixtures.tls import make_tls

    uri, name = mlflow_server.uri, world.name
    data = world.work / "data" / "tumors.csv"
    lines = data.read_bytes().splitlines(keepends=True)
    data.write_bytes(b"".join(lines[:401]))
    body = {"now": lines[0] + b"".join(lines[401:])}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = body["now"]
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    tls = make_tls(tmp_path / "tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.certificate, tls.key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    url = f"https://127.0.0.1:{httpd.server_address[1]}/holdout.csv"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.trust))
    try:
        spec = world.work / "pipelines" / f"{name}.yaml"
        spec.write_text(
            spec.read_text().replace(
                "  split: {test_size: 0.25, seed: 42, stratify: true}\n", f"  test_path: {url}\n"
            )
        )
        git(world.work, "commit", "-qam", "A holdout behind a URL")
        git(world.work, "push", "-q", "origin", "main")
        head = _branch(world, "notes", "NOTES.md", "notes\n")
        git(world.work, "checkout", "-q", "notes")
        archive = _reviewed(world, uri, name)
        merge = _merge(world, "notes")
        merged_pull(on_github, world, head, ["NOTES.md"], archive, merge=merge)
        body["now"] = lines[0] + b"".join(lines[401:-20])  # refreshed upstream
        capsys.readouterr()
        code = deploy(world, uri)
        out, err = capsys.readouterr()
        assert code == 0, out + err
    finally:
        httpd.shutdown()
        httpd.server_close()
