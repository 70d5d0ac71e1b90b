"""The whole loop, played end to end with the generated workflows.

A fresh repository with the example pipeline and a bare remote; pull requests
whose generated PR workflow runs job by job (every ``run:`` step and every step
of this repository's Action, with the environment and event payload a GitHub
runner gives); a loopback GitHub that checks every request against GitHub's
contract; a real MLflow server; the merge; the generated deploy workflow
committing the canary to the remote; ``kubectl kustomize`` building it; a
second pull request compared against the model now deployed; and a fork's
pull request reported by the ``workflow_run`` report workflow.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import program
from tests.fixtures.gha_runner import PROJECT, Runner, WorkflowRun, python_bin_env
from tests.fixtures.github_server import GitHubServer
from tests.fixtures.k8s import kustomize_build, validate_objects
from tests.fixtures.mlflow_server import MlflowServer, start_mlflow_server, stop

REPO = "octo/ml"
FORK = "someone/ml"
PIPELINE = "tumors"
PR_WORKFLOW = ".github/workflows/mlgitops-tumors-pr.yml"
DEPLOY_WORKFLOW = ".github/workflows/mlgitops-tumors-deploy.yml"
REPORT_WORKFLOW = ".github/workflows/mlgitops-report.yml"
MARKER = f"<!-- mlgitops:report:{PIPELINE} -->"

#: What the Action leaves out of jobs that neither train nor validate.
LIGHT_JOB_ABSENT = {"pandas", "pandera", "sklearn", "mlflow", "numpy", "pyarrow", "scipy"}

pytestmark = pytest.mark.slow


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def mlflow_e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A server of its own, so no other test's runs can answer this loop's cache lookups."""
    server, proc = start_mlflow_server(tmp_path_factory.mktemp("mlflow-e2e"))
    yield server
    stop(proc)


class Loop:
    """The user's repository, its remote, and a runner that plays its workflows."""

    def __init__(
        self, root: Path, mlflow: MlflowServer, github: GitHubServer, *, lfs: bool = False
    ) -> None:
        self.root, self.github = root, github
        self.remote = root / "remote.git"
        self.dev = root / "dev"
        self.artifacts = root / "artifacts"
        self.mlflow = mlflow
        self.runs = 0
        #: The data is stored in Git LFS (the bare remote holds the objects too).
        self.lfs = lfs
        git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        git(root, "clone", "-q", str(self.remote), str(self.dev))
        git(self.dev, "checkout", "-q", "-b", "main")
        self.mlgitops("init")
        if lfs:
            git(self.dev, "lfs", "install", "--local")
            (self.dev / ".gitattributes").write_text(
                "data/*.csv filter=lfs diff=lfs merge=lfs -text\n"
            )
        self.mlgitops("render")
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-q", "-m", "Adopt mlgitops")
        git(self.dev, "push", "-q", "origin", "main")

    def mlgitops(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mlgitops", *args],
            cwd=self.dev,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def branch(self, name: str, old: str, new: str) -> str:
        git(self.dev, "fetch", "-q", "origin")
        git(self.dev, "checkout", "-q", "-B", name, "origin/main")
        spec = self.dev / "pipelines" / f"{PIPELINE}.yaml"
        text = spec.read_text()
        assert old in text
        spec.write_text(text.replace(old, new, 1))
        git(self.dev, "commit", "-q", "-am", f"Tune {PIPELINE}: {new}")
        git(self.dev, "push", "-q", "-f", "origin", name)
        return git(self.dev, "rev-parse", "HEAD")

    def checkout(self, ref: str) -> Path:
        """A fresh clone at ``ref``, as actions/checkout with fetch-depth 0 leaves it; with
        the LFS objects of ``ref`` alone where the data is in LFS, as ``lfs: true`` does
        (``git lfs fetch origin REF``, then the checkout)."""
        self.runs += 1
        workspace = self.root / f"workspace-{self.runs}"
        git(self.root, "clone", "-q", "--no-checkout", str(self.remote), str(workspace))
        if self.lfs:
            git(workspace, "lfs", "install", "--local")
            git(workspace, "lfs", "fetch", "origin", ref)
        git(workspace, "checkout", "-q", ref)
        return workspace

    def runner(self, workspace: Path, *, secrets: bool = True, light: bool = False) -> Runner:
        env = {
            **python_bin_env(),
            "HOME": os.environ["HOME"],
            "MLGITOPS_INSTALL": "false",
            "LANG": "C.UTF-8",
        }
        env.update({k: v for k, v in os.environ.items() if k.startswith("GIT_")})
        # The Action's `mlgitops` imports this checkout, whatever the environment installed.
        paths = [str(PROJECT / "src")]
        if light:  # a job the Action installs without extras: no ML library may be needed
            paths.insert(0, str(self.no_ml_libraries()))
        elif secrets:  # the tracking server is remote: the Action installs MLflow's client alone
            paths.insert(0, str(self.mlflow_client_alone()))
        env["PYTHONPATH"] = os.pathsep.join(paths)
        given = {"GITHUB_TOKEN": self.github.token}
        if secrets:
            given["MLFLOW_TRACKING_URI"] = self.mlflow.uri
        return Runner(
            workspace=workspace,
            artifacts=self.artifacts,
            repository=REPO,
            base_env=env,
            secrets=given,
            api_url=self.github.api_url,
            local_action_refs=("mlgitops/mlgitops",),
            next_run_id=1000 + 100 * self.runs,
            on_job=self._job_started,
            mint=self.github.mint,  # each job's token holds the job's permissions alone
        )

    def _job_started(self, run_id: int, name: str) -> None:
        """GitHub lists a run's jobs; the local runner starts them one after the other."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.github.state.add_job(
            run_id, name, status="in_progress", created_at=now, runner="local-runner"
        )

    def no_ml_libraries(self) -> Path:
        """A ``sitecustomize`` that makes the ML libraries unimportable, as in a light install."""
        return _installed_without(self.root / "light-install", sorted(LIGHT_JOB_ABSENT))

    def mlflow_client_alone(self) -> Path:
        """A ``sitecustomize`` that leaves what the ``train-remote`` lock installs: the
        modules and the distribution records of what only the ``train`` lock holds (MLflow's
        server, SQL stores and plotting, and the ``mlflow`` distribution itself, whose
        package ``mlflow-skinny`` installs) are gone."""
        left_out = client_alone_left_out()
        modules = sorted(
            module
            for module, dists in importlib.metadata.packages_distributions().items()
            if {_normal(d) for d in dists} <= left_out
        )
        assert {"flask", "sqlalchemy", "alembic", "matplotlib"} <= set(modules)
        return _installed_without(self.root / "client-install", modules, sorted(left_out))

    def pull_request(
        self,
        number: int,
        branch: str,
        sha: str,
        head_repo: str = REPO,
        *,
        tamper: Callable[[dict[str, Any]], None] | None = None,
        base: str = "main",
    ) -> WorkflowRun:
        """The PR workflow on ``sha``, of a pull request into ``base``; ``tamper`` changes the
        workflow as read (what code a job runs could do), leaving the checkout's file as
        committed."""
        base_sha = git(self.dev, "rev-parse", f"origin/{base}")
        files = git(self.dev, "diff", "--name-only", f"{base_sha}...{sha}").splitlines()
        self.github.state.add_pull(
            number, sha, head_repo=head_repo, head_ref=branch, base=base, files=files
        )
        payload = {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"sha": sha, "ref": branch, "repo": {"full_name": head_repo}},
                "base": {"sha": base_sha, "ref": base, "repo": {"full_name": REPO}},
            },
            "repository": {"full_name": REPO, "default_branch": "main"},
        }
        workspace = self.checkout(sha)
        runner = self.runner(workspace, secrets=head_repo == REPO)
        workflow = workspace / PR_WORKFLOW
        if tamper is not None:
            document = yaml.safe_load(workflow.read_text())
            tamper(document)
            workflow = self.root / f"tampered-{self.runs}.yml"  # render --check sees the commit's
            workflow.write_text(yaml.safe_dump(document, sort_keys=False))
        run = runner.run_workflow(
            workflow,
            "pull_request",
            payload,
            sha=sha,
            ref=f"refs/pull/{number}/merge",
        )
        self.publish(run, sha, branch, head_repo)
        return run

    def publish(self, run: WorkflowRun, sha: str, branch: str, head_repo: str) -> None:
        """What GitHub keeps of a finished run: the run itself, its jobs' conclusions and its
        artifacts (zipped)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for job in self.github.state.jobs.values():
            if job["run_id"] == run.run_id:
                [result] = [j for j in run.jobs.values() if j.name == job["name"]]
                job.update(status="completed", conclusion=result.result, completed_at=now)
        self.github.state.add_workflow_run(
            sha,
            name=run.name,
            path=PR_WORKFLOW,
            head_repo=head_repo,
            conclusion=run.conclusion,
            head_branch=branch,
            run_id=run.run_id,
        )
        for folder in sorted((self.artifacts / str(run.run_id)).glob("*")):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                    archive.writestr(file.relative_to(folder).as_posix(), file.read_bytes())
            self.github.state.add_artifact(run.run_id, folder.name, buffer.getvalue())

    def merge(self, branch: str, number: int) -> str:
        git(self.dev, "checkout", "-q", "main")
        git(self.dev, "pull", "-q", "--ff-only", "origin", "main")
        git(self.dev, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}")
        git(self.dev, "push", "-q", "origin", "main")
        merged = git(self.dev, "rev-parse", "HEAD")
        self.github.state.merge_pull(number, merged)
        return merged

    def push_event(self, sha: str) -> WorkflowRun:
        workspace = self.checkout(sha)
        git(workspace, "checkout", "-q", "-B", "main", sha)
        git(workspace, "branch", "-q", "--set-upstream-to=origin/main", "main")
        payload = {
            "ref": "refs/heads/main",
            "after": sha,
            "repository": {"full_name": REPO, "default_branch": "main"},
        }
        # Not a light job: deploy re-scores the model it ships.
        return self.runner(workspace).run_workflow(
            workspace / DEPLOY_WORKFLOW, "push", payload, sha=sha, ref="refs/heads/main"
        )

    def report_workflow(
        self, pr_run: WorkflowRun, number: int, sha: str, branch: str = "fork-change"
    ) -> WorkflowRun:
        main = git(self.dev, "rev-parse", "origin/main")
        workspace = self.checkout(main)
        payload = {
            "action": "completed",
            "workflow_run": {
                "id": pr_run.run_id,
                "name": pr_run.name,
                "event": "pull_request",
                "conclusion": pr_run.conclusion,
                "head_sha": sha,
                "head_branch": branch,
                "head_repository": {"full_name": FORK, "owner": {"login": FORK.split("/")[0]}},
                "pull_requests": [],  # GitHub leaves this empty for forks
            },
            "repository": {"full_name": REPO, "default_branch": "main"},
        }
        return self.runner(workspace, light=True).run_workflow(
            workspace / REPORT_WORKFLOW, "workflow_run", payload, sha=main, ref="refs/heads/main"
        )


def _installed_without(folder: Path, modules: list[str], dists: Sequence[str] = ()) -> Path:
    """``folder`` with a ``sitecustomize`` that makes the job's Python as if ``modules``
    (top-level names) and the distributions ``dists`` were not installed: every finder
    answers "no such module" (``importlib.util.find_spec`` gives None, an import raises
    ModuleNotFoundError), and ``importlib.metadata`` knows no such distribution."""
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import importlib.metadata as metadata\n"
        "import re\n"
        "import sys\n"
        f"GONE = {list(modules)!r}\n"
        f"DISTS = {list(dists)!r}\n"
        "class _Without:\n"
        "    def __init__(self, finder):\n"
        "        self.finder = finder\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        find = getattr(self.finder, 'find_spec', None)\n"
        "        if name.split('.')[0] in GONE or find is None:\n"
        "            return None\n"
        "        return find(name, path, target)\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(self.finder, name)\n"
        "sys.meta_path[:] = [_Without(finder) for finder in sys.meta_path]\n"
        "def _normal(name):\n"
        "    return re.sub(r'[-_.]+', '-', name).lower()\n"
        "_distribution, _distributions = metadata.distribution, metadata.distributions\n"
        "def distribution(name):\n"
        "    if _normal(name) in DISTS:\n"
        "        raise metadata.PackageNotFoundError(name)\n"
        "    return _distribution(name)\n"
        "def distributions(**kwargs):\n"
        "    for found in _distributions(**kwargs):\n"
        "        if _normal(found.metadata['Name'] or '') not in DISTS:\n"
        "            yield found\n"
        "metadata.distribution, metadata.distributions = distribution, distributions\n"
        "def version(name):\n"
        "    return distribution(name).version\n"
        "metadata.version = version\n"
    )
    return folder


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def client_alone_left_out() -> set[str]:
    """The distributions the ``train`` lock pins and ``train-remote`` does not."""

    def names(lock: str) -> set[str]:
        text = (PROJECT / "requirements" / f"{lock}.txt").read_text()
        return {_normal(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9][\w.-]*)==", text, re.M)}

    return names("train") - names("train-remote")


def _results(run: WorkflowRun) -> dict[str, str]:
    return {job_id: job.result for job_id, job in run.jobs.items()}


def _explain(run: WorkflowRun) -> str:
    return "\n\n".join(f"== job {j.job_id}: {j.result}\n{j.log[-6000:]}" for j in run.jobs.values())


def _status(github: GitHubServer, sha: str) -> dict[str, Any]:
    mine = [
        s
        for s in github.state.statuses
        if s.get("_sha", s.get("sha")) == sha and s["context"] == f"mlgitops/{PIPELINE}"
    ]
    assert mine, f"no status for {sha}: {github.state.statuses}"
    return mine[-1]


def test_pull_request_to_canary_and_back(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer, contracts: Path
) -> None:
    loop = Loop(tmp_path, mlflow_e2e, github_server)

    # 1. A pull request that tunes the model: validated, trained, compared, reported.
    sha1 = loop.branch("tune-learning-rate", "learning_rate: 0.1", "learning_rate: 0.05")
    run1 = loop.pull_request(1, "tune-learning-rate", sha1)
    assert _results(run1) == {
        "plan": "success",
        "check": "success",
        "train": "success",
        "watchdog": "success",
        "report": "success",
    }, _explain(run1)
    # The train job had its runner by the time the watchdog looked: it said nothing.
    assert "a runner (local-runner) picked up the train job after 0." in _explain(run1)
    comments = github_server.state.comments_on(1)
    assert len(comments) == 1 and comments[0]["body"].startswith(MARKER)
    assert "no deployed model yet" in comments[0]["body"]
    assert _status(github_server, sha1)["state"] == "success"

    # A rerun of the same commit updates the one comment; the training is a cache hit.
    rerun = loop.pull_request(1, "tune-learning-rate", sha1)
    assert _results(rerun)["train"] == "success", _explain(rerun)
    assert rerun.jobs["train"].outputs["run-id"] == run1.jobs["train"].outputs["run-id"]
    # reused because GitHub records that run 1, on this commit, trained it
    assert f"was trained by workflow run {run1.run_id} on this commit ({sha1[:12]})" in (
        rerun.jobs["train"].log
    )
    assert len(github_server.state.comments_on(1)) == 1

    # 2. Merge: the deploy workflow registers the reviewed model and commits the canary.
    merged = loop.merge("tune-learning-rate", 1)
    deploy = loop.push_event(merged)
    assert _results(deploy)["deploy"] == "success", _explain(deploy)
    assert f"reviewed in pull request #1, workflow run {rerun.run_id} on {sha1[:12]}" in (
        deploy.jobs["deploy"].log
    )
    # the models ran in jobs of their own; the deploy job scored their outputs
    assert _results(deploy)["candidate"] == _results(deploy)["deployed"] == "success"
    assert "the candidate model's outputs on the merged holdout" in deploy.jobs["candidate"].log
    assert "Running model" not in deploy.jobs["deploy"].log
    git(loop.dev, "pull", "-q", "--ff-only", "origin", "main")
    subject = git(loop.dev, "log", "-1", "--format=%s")
    assert subject.startswith(f"deploy({PIPELINE}): model v1 to staging"), subject
    overlay = loop.dev / "manifests" / PIPELINE / "overlays" / "staging"
    record = json.loads((overlay / "model.json").read_text())
    assert record["version"] == "1" and record["model_uri"] == f"models:/{PIPELINE}/1"
    assert (record["pr"], record["run_id"]) == (1, run1.jobs["train"].outputs["run-id"])
    assert record["model_digest"].startswith("sha256:")
    objects = kustomize_build(overlay)
    config_maps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert [c["data"]["MODEL_URI"] for c in config_maps] == [f"models:/{PIPELINE}/1"]
    # what the model server checks the files against before it loads them
    assert [c["data"]["MODEL_DIGEST"] for c in config_maps] == [record["model_digest"]]
    validate_objects(objects, contracts)
    assert loop.mlgitops("render", "--check").startswith("render --check: ")

    # 3. A second pull request is compared with the model now deployed.
    sha2 = loop.branch("more-iterations", "max_iter: 200", "max_iter: 300")
    run2 = loop.pull_request(2, "more-iterations", sha2)
    assert _results(run2) == {
        "plan": "success",
        "check": "success",
        "train": "success",
        "watchdog": "success",
        "report": "success",
    }, _explain(run2)
    body2 = github_server.state.comments_on(2)[0]["body"]
    assert f"models:/{PIPELINE}/1" in body2
    assert "no deployed model yet" not in body2

    # 4. A fork's pull request: no training, no secrets; the report workflow posts.
    sha3 = loop.branch("fork-change", "learning_rate: 0.05", "learning_rate: 0.2")
    run3 = loop.pull_request(3, "fork-change", sha3, head_repo=FORK)
    assert _results(run3) == {
        "plan": "success",
        "check": "success",
        "train": "skipped",
        "watchdog": "skipped",
        "report": "success",
    }, _explain(run3)
    assert github_server.state.comments_on(3) == []
    report = loop.report_workflow(run3, 3, sha3)
    assert _results(report) == {"report-tumors": "success"}, _explain(report)
    fork_comments = github_server.state.comments_on(3)
    assert len(fork_comments) == 1 and fork_comments[0]["body"].startswith(MARKER)
    assert "fork" in fork_comments[0]["body"].lower()


def _docs_branch(loop: Loop) -> str:
    git(loop.dev, "checkout", "-q", "-B", "docs", "origin/main")
    (loop.dev / "README.md").write_text("How we work\n")
    git(loop.dev, "add", "README.md")
    git(loop.dev, "commit", "-qm", "Docs")
    git(loop.dev, "push", "-q", "origin", "docs")
    return git(loop.dev, "rev-parse", "HEAD")


#: The PR workflow's jobs on a pull request that touches none of the pipeline's inputs.
UNAFFECTED = {
    "plan": "success",
    "check": "skipped",
    "train": "skipped",
    "watchdog": "skipped",
    "report": "skipped",
}


def test_a_pull_request_that_does_not_touch_the_pipeline_gets_its_status(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """No path filter: the required status arrives, as success, and nothing trains."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = _docs_branch(loop)
    run = loop.pull_request(4, "docs", sha)
    assert _results(run) == UNAFFECTED, _explain(run)
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == ("success", "inputs unchanged")
    assert github_server.state.comments_on(4) == []


#: A module a pull request commits at the top of the repository, in place of one the
#: standard library holds: it leaves a mark beside the workspace when it is imported.
PLANTED = """\
from pathlib import Path
Path(__file__).resolve().parent.parent.joinpath("planted-ran").write_text(__name__)
"""


def test_modules_a_pull_request_commits_at_the_top_are_never_imported_by_the_action(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """The Action's last step, in every job (deploy's, with its credentials and push
    token, too), ran ``python -`` in the checkout: a json.py, pathlib.py or a byte-compiled
    json.pyc there was imported in place of the standard library's. The pull request touches
    none of the pipeline's inputs, so its required status would be green."""
    import py_compile

    loop = Loop(tmp_path, mlflow_e2e, github_server)
    git(loop.dev, "checkout", "-q", "-B", "planted", "origin/main")
    for name in ("json.py", "pip/__init__.py"):
        (loop.dev / name).parent.mkdir(exist_ok=True)
        (loop.dev / name).write_text(PLANTED)
    source = tmp_path / "planted.py"  # byte code alone: GitHub shows "Binary file not shown"
    source.write_text(PLANTED)
    py_compile.compile(str(source), cfile=str(loop.dev / "pathlib.pyc"), doraise=True)
    git(loop.dev, "add", "-A")
    git(loop.dev, "commit", "-qm", "Notes")
    git(loop.dev, "push", "-q", "origin", "planted")
    sha = git(loop.dev, "rev-parse", "HEAD")
    run = loop.pull_request(6, "planted", sha)
    assert _results(run) == UNAFFECTED, _explain(run)
    assert not any(tmp_path.rglob("planted-ran")), [
        p.read_text() for p in tmp_path.rglob("planted-ran")
    ]
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == ("success", "inputs unchanged")


#: The PR workflow's jobs where the check job fails: nothing trains, and the report says why.
CHECK_FAILED = {
    "plan": "success",
    "check": "failure",
    "train": "skipped",
    "watchdog": "skipped",
    "report": "success",
}


def test_a_pull_request_that_edits_an_overlay_s_model_line_fails_its_status(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """A pull request that points staging's ``MODEL_URI=`` line at a model of its choosing
    (Argo CD serves the line once merged) meets ``render --check`` in the check job, which
    writes it from model.json; nothing trains, and the required status fails saying why,
    where it waited for a training run that could not come."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    git(loop.dev, "checkout", "-q", "-B", "serve-nine", "origin/main")
    overlay = loop.dev / "manifests" / PIPELINE / "overlays" / "staging" / "kustomization.yaml"
    text = overlay.read_text()
    placeholder = f"MODEL_URI=models:/{PIPELINE}@staging"
    assert placeholder in text
    overlay.write_text(text.replace(placeholder, f"MODEL_URI=models:/{PIPELINE}/9"))
    git(loop.dev, "commit", "-qam", "Serve version 9")
    git(loop.dev, "push", "-q", "origin", "serve-nine")
    sha = git(loop.dev, "rev-parse", "HEAD")
    run = loop.pull_request(7, "serve-nine", sha)
    assert _results(run) == CHECK_FAILED, _explain(run)
    assert f"-      - MODEL_URI=models:/{PIPELINE}/9" in run.jobs["check"].log
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == (
        "failure",
        "the check job failed (render --check or validate): see its log",
    ), run.jobs["report"].log[-3000:]
    [comment] = github_server.state.comments_on(7)
    assert "Training and comparison were skipped because the check job failed" in comment["body"]


def _revert_head(loop: Loop, branch: str) -> str:
    """The branch's last commit reverted, pushed: a pull request of one commit then changes
    nothing."""
    git(loop.dev, "checkout", "-q", branch)
    git(loop.dev, "revert", "--no-edit", "HEAD")
    git(loop.dev, "push", "-q", "origin", branch)
    return git(loop.dev, "rev-parse", "HEAD")


def test_a_pull_request_that_stops_touching_the_pipeline_retracts_its_report(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """A push that takes back the pull request's change to the pipeline's inputs: the
    required status turns green, "inputs unchanged", and the sticky comment must say so too.
    It kept the last report, a ❌ for a commit the pull request no longer holds, under a
    green status."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = loop.branch("strict", "accuracy: {min: 0.85}", "accuracy: {min: 0.85")
    run = loop.pull_request(9, "strict", sha)
    assert _results(run) == CHECK_FAILED, _explain(run)
    [comment] = github_server.state.comments_on(9)
    assert "❌" in comment["body"] and "the specs do not load" in comment["body"]
    reverted = _revert_head(loop, "strict")
    again = loop.pull_request(9, "strict", reverted)
    assert _results(again) == UNAFFECTED, _explain(again)
    status = _status(github_server, reverted)
    assert (status["state"], status["description"]) == ("success", "inputs unchanged")
    [retracted] = github_server.state.comments_on(9)
    body = str(retracted["body"])
    assert retracted["id"] == comment["id"] and body.startswith(MARKER), body
    assert "❌" not in body and "do not load" not in body, body
    assert f"## ✅ mlgitops `{PIPELINE}`: inputs unchanged" in body, body
    assert f"<code>{reverted[:12]}</code>" in body, body


def test_a_report_an_earlier_push_left_is_marked_while_the_next_push_is_checked(
    tmp_path: Path,
    mlflow_e2e: MlflowServer,
    github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second push that touches the pipeline: while its run validates (and would train),
    the comment held the first push's ❌ as if it were this commit's. Plan marks it as an
    earlier commit's; the second run's report replaces all of it."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    first = loop.branch("twice", "accuracy: {min: 0.85}", "accuracy: {min: 0.85")
    run = loop.pull_request(14, "twice", first)
    assert _results(run) == CHECK_FAILED, _explain(run)
    [comment] = github_server.state.comments_on(14)
    earlier = str(comment["body"])  # the server's comment changes in place
    spec = loop.dev / "pipelines" / f"{PIPELINE}.yaml"
    spec.write_text(spec.read_text().replace("roc_auc: {min: 0.90,", "roc_auc: {min: 0.91,"))
    git(loop.dev, "commit", "-qam", "A stricter floor too")
    git(loop.dev, "push", "-q", "origin", "twice")
    second = git(loop.dev, "rev-parse", "HEAD")
    seen: list[str] = []
    started = loop._job_started

    def look(run_id: int, name: str) -> None:  # what a reviewer reads while the job runs
        started(run_id, name)
        if name == "check and validate":
            seen.extend(str(c["body"]) for c in github_server.state.comments_on(14))

    monkeypatch.setattr(loop, "_job_started", look)
    again = loop.pull_request(14, "twice", second)
    assert _results(again) == CHECK_FAILED, _explain(again)
    [marked_then] = seen
    assert marked_then.startswith(f"{MARKER}\n\n<!-- mlgitops:pending -->"), marked_then
    assert f"⏳ Commit <code>{second[:12]}</code> is being validated" in marked_then
    assert marked_then.endswith(earlier.removeprefix(MARKER + "\n\n")), marked_then
    assert f"<code>{first[:12]}</code>" in earlier
    [after] = github_server.state.comments_on(14)
    body = str(after["body"])
    assert after["id"] == comment["id"] and "mlgitops:pending" not in body, body
    assert f"<code>{second[:12]}</code>" in body and "the specs do not load" in body, body


#: Spec changes a pull request may make by mistake, the place each names, and what it says.
BROKEN_SPECS = {
    "a value of the wrong type": (
        "roc_auc: {min: 0.90, max_drop: 0.01}",
        "roc_auc: {min: 0.90, max_drop: a lot}",
        "pipelines/tumors.yaml:16:34",
        "expected a number, got 'a lot'",
    ),
    "YAML that does not parse": (
        "accuracy: {min: 0.85}",
        "accuracy: {min: 0.85",
        "pipelines/tumors.yaml:18:6",
        "expected ',' or '}', but got ':'",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_SPECS))
def test_a_pull_request_that_breaks_its_spec_fails_its_status_saying_where(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer, case: str
) -> None:
    """The spec is what a pull request most often edits. One that no longer loads stopped the
    plan job, and every job after it was skipped: the required status never came, and the
    pull request showed it as expected, with no word of why."""
    old, new, place, said = BROKEN_SPECS[case]
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = loop.branch("broken", old, new)
    run = loop.pull_request(8, "broken", sha)
    assert _results(run) == CHECK_FAILED, _explain(run)
    _, line, col = place.split(":")
    head = f"::error file=pipelines/tumors.yaml,line={line},col={col}::{place}: "
    shown = [text for text in run.jobs["check"].log.splitlines() if text.startswith(head)]
    assert len(shown) == 1 and shown[0].endswith(said), run.jobs["check"].log
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == (
        "failure",
        f"the specs do not load: {place}",
    ), status
    [comment] = github_server.state.comments_on(8)
    body = comment["body"]
    assert body.startswith(MARKER) and "the specs do not load" in body, body
    assert f"- `{place}`: " in body and said in body.replace("\\", ""), body


@pytest.mark.parametrize("how", ["renamed", "deleted"])
def test_a_pull_request_that_renames_or_deletes_the_spec_fails_the_status_it_leaves(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer, how: str
) -> None:
    """The workflow rendered for ``tumors`` still runs, and the specs no longer name it: plan
    took it as untouched, and "inputs unchanged" stopped at "no pipeline named 'tumors'",
    leaving the required status unposted. It fails now, saying what the specs name."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    spec = loop.dev / "pipelines" / f"{PIPELINE}.yaml"
    if how == "renamed":
        sha = loop.branch(how, f"name: {PIPELINE}", "name: tumours")
    else:
        git(loop.dev, "checkout", "-q", "-B", how, "origin/main")
        git(loop.dev, "rm", "-q", str(spec))
        git(loop.dev, "commit", "-qm", "Retire the pipeline")
        git(loop.dev, "push", "-q", "origin", how)
        sha = git(loop.dev, "rev-parse", "HEAD")
    run = loop.pull_request(10, how, sha)
    assert _results(run) == UNAFFECTED, _explain(run)
    known = "tumours" if how == "renamed" else "none"
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == (
        "failure",
        f"no pipeline named {PIPELINE} in pipelines/ (known: {known})",
    ), status
    [comment] = github_server.state.comments_on(10)
    body = comment["body"]
    assert body.startswith(MARKER) and "run `mlgitops render`" in body, body


@pytest.mark.parametrize("what", ["overlay", "data"])
def test_a_fork_pull_request_whose_check_job_fails_fails_its_status(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer, what: str
) -> None:
    """A fork's run whose check job failed (``render --check``: a hand-edited overlay) left
    validation results that passed and nothing trained: the report workflow posted pending,
    "not trained: needs a run on this repository's runners", as if only training were left.
    It asks GitHub how the run's check job concluded, as the PR workflow's report is told.
    Where the data failed validation, that is what the status and the comment say."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    changed = {
        "overlay": f"manifests/{PIPELINE}/overlays/staging/kustomization.yaml",
        "data": f"data/{PIPELINE}.csv",
    }[what]
    git(loop.dev, "checkout", "-q", "-B", "fork-change", "origin/main")
    text = (loop.dev / changed).read_text()
    if what == "overlay":
        (loop.dev / changed).write_text(text.replace("@staging", "/9"))
    else:  # a word where the schema wants a number
        lines = text.splitlines()
        lines[5] = "oops," + lines[5].split(",", 1)[1]
        (loop.dev / changed).write_text("\n".join(lines) + "\n")
    git(loop.dev, "commit", "-qam", f"Change the {what}")
    git(loop.dev, "push", "-q", "origin", "fork-change")
    sha = git(loop.dev, "rev-parse", "HEAD")
    run = loop.pull_request(11, "fork-change", sha, head_repo=FORK)
    assert _results(run) == CHECK_FAILED, _explain(run)
    report = loop.report_workflow(run, 11, sha)
    assert _results(report) == {"report-tumors": "success"}, _explain(report)
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == (
        "failure",
        "the check job failed (render --check or validate): see its log"
        if what == "overlay"
        else "data validation failed (1 check): data/tumors.csv:6: radius: values that are not "
        "of type float64",
    ), _explain(report)
    [comment] = github_server.state.comments_on(11)
    noted = "Training and comparison were skipped because the check job failed" in comment["body"]
    assert noted == (what == "overlay"), comment["body"]


def test_a_fork_pull_request_that_breaks_its_spec_fails_its_status_saying_which_job(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """A fork's run whose spec does not load leaves no results (its report job cannot read
    the specs, and posts nothing with a read-only token): the report workflow said "no
    results from the pull request's workflow run". It names the job that failed, whose log
    marks each problem on its line."""
    old, new, place, said = BROKEN_SPECS["a value of the wrong type"]
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = loop.branch("fork-change", old, new)
    run = loop.pull_request(12, "fork-change", sha, head_repo=FORK)
    assert _results(run)["check"] == "failure", _explain(run)
    assert f"{place}: gates.roc_auc.max_drop: {said}" in run.jobs["check"].log
    # the fork's report job cannot post: the problem is its error, said once
    assert run.jobs["report"].log.count(f"{place}: gates.roc_auc.max_drop") == 1
    report = loop.report_workflow(run, 12, sha)
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == (
        "failure",
        "the check job failed (render --check or validate): see its log",
    ), _explain(report)


def test_a_pull_request_whose_spec_names_a_missing_file_fails_its_status_saying_where(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """The spec loads, validate passes, and ``render --check`` finds ``model.code`` naming a
    file that is not there: the status said "the check job failed (render --check or
    validate): see its log", and the comment that render --check "found generated files
    that are stale or edited by hand, or validate stopped", neither of which happened."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = loop.branch("code", "  estimator:", "  code: [src/train.py]\n  estimator:")
    run = loop.pull_request(13, "code", sha)
    assert _results(run) == CHECK_FAILED, _explain(run)
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == (
        "failure",
        "problems in the specs: pipelines/tumors.yaml:11:10",
    ), run.jobs["report"].log[-3000:]
    [comment] = github_server.state.comments_on(13)
    body = comment["body"]
    said = "model.code[0]: 'src/train.py' does not exist in the repository"
    assert f"- `pipelines/tumors.yaml:11:10`: {said}" in body.replace("\\", ""), body
    assert "stale or edited by hand" not in body, body


def test_a_fork_pull_request_that_does_not_touch_the_pipeline_gets_its_status(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """A fork's run cannot post (read-only token) and uploads nothing when unaffected: the
    report workflow decides from the pull request's files, in this repository's context."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = _docs_branch(loop)
    run = loop.pull_request(5, "docs", sha, head_repo=FORK)
    assert _results(run) == UNAFFECTED, _explain(run)
    assert not any(s.get("_sha", s.get("sha")) == sha for s in github_server.state.statuses)
    report = loop.report_workflow(run, 5, sha, branch="docs")
    assert _results(report) == {"report-tumors": "success"}, _explain(report)
    status = _status(github_server, sha)
    assert (status["state"], status["description"]) == ("success", "inputs unchanged")
    assert github_server.state.comments_on(5) == []


def _unaffected(workflow: dict[str, Any]) -> None:
    """The PR workflow, its plan job deciding the pipeline is not affected, whatever changed."""
    [decide] = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "decide"]
    decide["run"] = 'echo "affected=false" >> "$GITHUB_OUTPUT"'


def _noted(loop: Loop, branch: str, base: str) -> str:
    """``branch``: ``base`` (a branch of the repository) and a note; pushed. Its head."""
    git(loop.dev, "checkout", "-q", "-B", branch, f"origin/{base}")
    (loop.dev / "NOTES.md").write_text("notes\n")
    git(loop.dev, "add", "NOTES.md")
    git(loop.dev, "commit", "-qm", "Notes")
    git(loop.dev, "push", "-q", "origin", branch)
    return git(loop.dev, "rev-parse", "HEAD")


@pytest.mark.parametrize("order", ["into main first", "into the other branch first"])
def test_a_fork_s_pull_request_into_another_branch_does_not_pass_its_commit_unchanged(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer, order: str
) -> None:
    """A status is the commit's, not the pull request's. A fork's commit holds a teammate's
    branch that tunes the spec, and a note: into main it changes the spec (never trained:
    not passed), into that branch only the note. "inputs unchanged" is a claim about what
    merging into the default branch changes, so the pull request into the other branch
    gets no such status, in whichever order the reports come. The fork's run is the fork's
    code: here it decides the pipeline is not affected, and uploads nothing."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    loop.branch("tune", "learning_rate: 0.1", "learning_rate: 0.05")
    sha = _noted(loop, "fork-change", "tune")
    pulls = [(1, "main"), (2, "tune")]
    logs = {}
    for number, base in pulls if order == "into main first" else pulls[::-1]:
        run = loop.pull_request(
            number, "fork-change", sha, head_repo=FORK, base=base, tamper=_unaffected
        )
        assert _results(run)["check"] == "skipped", _explain(run)
        report = loop.report_workflow(run, number, sha)
        status = _status(github_server, sha)
        assert (status["state"], status["description"]) == (
            "failure",
            "no results from the pull request's workflow run",
        ), _explain(report)
        logs[base] = report.jobs["report-tumors"].log
    assert "pull request #2 is into tune, not main" in logs["tune"], logs["tune"][-2000:]


def test_a_pull_request_into_another_branch_is_planned_against_the_default_one_too(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """The same, from a branch of this repository: into the teammate's branch the commit
    changes only a note, into main the spec. Its plan takes the pipeline as affected, and
    the status it gets is a verdict on the tuned model, not "inputs unchanged"."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    loop.branch("tune", "learning_rate: 0.1", "learning_rate: 0.05")
    sha = _noted(loop, "noted", "tune")
    run = loop.pull_request(2, "noted", sha, base="tune")
    assert _results(run)["train"] == "success", _explain(run)
    status = _status(github_server, sha)
    assert status["description"] != "inputs unchanged", status
    assert status["state"] == "success", status  # the tuned model's verdict
    assert "pipelines/tumors.yaml" in run.jobs["plan"].log, run.jobs["plan"].log[-2000:]


def test_one_commit_in_pull_requests_into_two_branches_gets_no_passing_status(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """One branch, two pull requests: into main and into a teammate's branch. Each run
    trains and judges its own merge, and GitHub keeps one required status per commit, so
    the run that reported last passed it for both. While both are open, no run can; once
    the other is closed, a new run of the one left passes (the same rule as deploy's, which
    takes none of their runs as a review)."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    loop.branch("tune", "learning_rate: 0.1", "learning_rate: 0.05")
    sha = loop.branch("deeper", "max_iter: 200", "max_iter: 300")
    into_main = loop.pull_request(1, "deeper", sha)
    assert _results(into_main)["report"] == "success", _explain(into_main)
    assert _status(github_server, sha)["state"] == "success"  # the only pull request yet

    into_tune = loop.pull_request(2, "deeper", sha, base="tune")
    assert _results(into_tune)["report"] == "success", _explain(into_tune)
    status = _status(github_server, sha)
    said = "the head of #1 into main and #2 into tune: its one status cannot pass for both"
    assert (status["state"], status["description"]) == ("failure", said), status
    log = into_tune.jobs["report"].log
    assert "close all but one of them" in log, log[-3000:]
    [comment] = github_server.state.comments_on(2)
    assert f"> [!CAUTION]\n> This commit is {said}" in comment["body"], comment["body"]

    github_server.state.pulls[2].update(state="closed", closed_at=github_server.state.now())
    again = loop.pull_request(1, "deeper", sha)
    assert _results(again)["report"] == "success", _explain(again)
    assert _status(github_server, sha)["state"] == "success"
    [comment] = github_server.state.comments_on(1)
    assert "[!CAUTION]" not in comment["body"], comment["body"]


def test_a_pull_request_that_changes_data_in_git_lfs_is_diffed_against_the_base_s_data(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """The checkout brings the pull request's LFS objects only; the check job fetches the
    base branch's object of the data file, so validate profiles both and the report shows
    what the change does to the data (here: 69 rows fewer)."""
    program("git-lfs", "git-lfs")  # a visible skip without it, a failure where CI requires it
    loop = Loop(tmp_path, mlflow_e2e, github_server, lfs=True)
    pointer = git(loop.dev, "show", "origin/main:data/tumors.csv")
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1")  # stored in LFS
    git(loop.dev, "checkout", "-q", "-b", "fewer-rows")
    data = loop.dev / "data" / "tumors.csv"
    lines = data.read_text().splitlines(keepends=True)
    data.write_text("".join(lines[:-69]))
    git(loop.dev, "commit", "-q", "-am", "Drop the last 69 rows")
    git(loop.dev, "push", "-q", "origin", "fewer-rows")
    sha = git(loop.dev, "rev-parse", "HEAD")

    run = loop.pull_request(6, "fewer-rows", sha)
    assert _results(run)["check"] == "success", _explain(run)
    found = loop.artifacts / str(run.run_id) / "mlgitops-tumors-validate"
    diff = json.loads((found / "datadiff.json").read_text())
    assert diff["notes"] == [], diff["notes"]
    assert diff["profile_diff"]["rows"] == {"base": 569, "head": 500, "delta": -69}
    check_log = run.jobs["check"].log
    assert "--- Fetch the base branch's data from Git LFS [success]" in check_log
    assert "was not fetched from Git LFS" not in check_log
    (comment,) = github_server.state.comments_on(6)
    assert "- rows: 569 → 500 (-69)" in comment["body"]  # the data section of the comment

    # Where the base's object cannot be fetched, the job warns and goes on; the diff says why.
    oid = pointer.split("oid sha256:")[1].split()[0]
    (loop.remote / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).unlink()
    rerun = loop.pull_request(6, "fewer-rows", sha)
    assert _results(rerun)["check"] == "success", _explain(rerun)
    assert "::warning title=mlgitops::the base branch's data file was not fetched" in (
        rerun.jobs["check"].log
    )
    found = loop.artifacts / str(rerun.run_id) / "mlgitops-tumors-validate"
    diff = json.loads((found / "datadiff.json").read_text())
    assert diff["profile_diff"] is None
    assert diff["notes"] == [
        "data/tumors.csv is stored in Git LFS: origin/main holds its pointer, and its object "
        "is not in this clone (git lfs fetch origin origin/main --include=data/tumors.csv); "
        "no profile diff"
    ]


#: What a job of the PR workflow writes that is another job's to write, in what the comment
#: shows: the verdict's summary, the data diff's section.
FORGED = "FORGED by a job that is not its author"


def _stored(run: WorkflowRun, loop: Loop, artifact: str, file: str) -> Path:
    """``file`` of the run's uploaded ``artifact``, wherever in it the upload put it."""
    (found,) = (loop.artifacts / str(run.run_id) / artifact).rglob(file)
    return found


def _plant(job: dict[str, Any], files: Path, store: Path) -> None:
    """Steps around ``job``'s upload that put ``files`` in its hand-off folder before it, and
    in the artifact it uploaded after it (at its top and in the pipeline's folder)."""
    steps = job["steps"]
    (at,) = [i for i, s in enumerate(steps) if "upload-artifact" in s.get("uses", "")]
    before = f'cp "{files}"/* "$RUNNER_TEMP/mlgitops/{PIPELINE}/"'
    after = (
        f'for to in "{store}/$GITHUB_RUN_ID/{steps[at]["with"]["name"]}"{{,/{PIPELINE}}}; do\n'
        f'  mkdir -p "$to" && cp "{files}"/* "$to/"\n'
        "done"
    )
    steps[at + 1 : at + 1] = [{"name": "Plant after", "if": "${{ !cancelled() }}", "run": after}]
    steps[at:at] = [{"name": "Plant before", "if": "${{ !cancelled() }}", "run": before}]


def test_the_report_takes_each_file_from_the_job_that_writes_it(
    tmp_path: Path, mlflow_e2e: MlflowServer, github_server: GitHubServer
) -> None:
    """The report job downloaded every artifact of the pipeline into one folder: the check
    job's (which restores a cache that jobs running a pull request's code can write) could
    carry a verdict.json over the train job's, and the train job's (the pull request's own
    trainer runs there) a validation.json or data diff over the check job's. Here each job
    plants the other's files, in its hand-off folder before its upload and in its artifact
    after it: the comment and the status are the honest jobs' own."""
    loop = Loop(tmp_path, mlflow_e2e, github_server)
    sha = loop.branch("strict-gate", "accuracy: {min: 0.85}", "accuracy: {min: 0.999}")
    honest = loop.pull_request(7, "strict-gate", sha)  # no model passes that gate
    assert _results(honest)["report"] == "success", _explain(honest)
    status = _status(github_server, sha)
    assert status["state"] == "failure" and "gate" in status["description"], status
    (comment,) = github_server.state.comments_on(7)
    verdict = json.loads(_stored(honest, loop, "mlgitops-tumors-train", "verdict.json").read_text())
    assert verdict["passed"] is False and verdict["summary"] in comment["body"]

    # The forgeries: a passing verdict from check; from train, failed data and another diff.
    from_check, from_train = tmp_path / "from-check", tmp_path / "from-train"
    from_check.mkdir()
    from_train.mkdir()
    (from_check / "verdict.json").write_text(
        json.dumps({**verdict, "passed": True, "summary": FORGED})
    )
    validate = "mlgitops-tumors-validate"
    validation = json.loads(_stored(honest, loop, validate, "validation.json").read_text())
    (from_train / "validation.json").write_text(json.dumps({**validation, "passed": False}))
    (from_train / "validation.md").write_text(f"{FORGED}\n")
    datadiff = json.loads(_stored(honest, loop, validate, "datadiff.json").read_text())
    (from_train / "datadiff.json").write_text(json.dumps({**datadiff, "notes": [FORGED]}))
    (from_train / "datadiff.md").write_text(f"{FORGED}\n")

    def tamper(workflow: dict[str, Any]) -> None:
        _plant(workflow["jobs"]["check"], from_check, loop.artifacts)
        _plant(workflow["jobs"]["train"], from_train, loop.artifacts)

    run = loop.pull_request(7, "strict-gate", sha, tamper=tamper)
    assert _results(run)["report"] == "success", _explain(run)
    assert "--- Plant after [success]" in run.jobs["check"].log  # the plants were there
    assert "--- Plant after [success]" in run.jobs["train"].log
    assert run.jobs["train"].outputs["run-id"] == honest.jobs["train"].outputs["run-id"]
    again = _status(github_server, sha)
    assert (again["state"], again["description"]) == (status["state"], status["description"])
    (comment,) = github_server.state.comments_on(7)
    assert FORGED not in comment["body"], comment["body"]
    assert verdict["summary"] in comment["body"]
    assert "data validation failed" not in comment["body"]
