"""The composite Action's own scripts, run with bash the way a runner runs them.

Each step's ``run:`` text is taken from action.yml and executed with the
environment GitHub would give it (inputs arrive through ``env:``, outputs
leave through ``$GITHUB_OUTPUT``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlgitops.render.workflows.actions import PINNED

PROJECT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((PROJECT / "action.yml").read_text())
VENV_BIN = Path(sys.executable).parent

#: What every step gets when the caller passes nothing: GitHub fills in the defaults.
DEFAULTS = {
    "COMMAND": "",
    "PIPELINE": "",
    "ENVIRONMENT": "",
    "TO": "",
    "IMAGE": "",
    "PREDICT": "",
    "PREDICTIONS": "",
    "BASE": "",
    "CURRENT": "",
    "CHECK": "false",
    "COMPARE": "false",
    "UNCHANGED": "false",
    "PENDING": "false",
    "FROM_ARTIFACT": "",
    "OUTPUT_DIR": "",
    "TRACKING_URI": "",
    "TOKEN": "ghs_example",
    "PYTHON_VERSION": "3.11",
    "CACHE": "true",
    "INSTALL": "true",
    "WORKING_DIRECTORY": ".",
}


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


def _script(step_id: str) -> str:
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)
    script: str = step["run"]
    return script


def _run(step_id: str, tmp_path: Path, cwd: Path | None = None, **env: str) -> Ran:
    output = tmp_path / "github_output"
    output.write_text("")
    base = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "RUNNER_TEMP": str(tmp_path),
        "ACTION_PATH": str(PROJECT),
    }
    if os.environ.get("PYTHONPATH"):  # the checkout under test, where one is given
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _script(step_id)],
        env={**base, **DEFAULTS, "GITHUB_OUTPUT": str(output), **env},
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return Ran(proc.returncode, proc.stdout, proc.stderr, outputs)


# --- input checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "extra", "more"),
    [
        ("render", "core", {}),
        ("plan", "core", {}),
        ("report", "core", {"PIPELINE": "tumors"}),
        ("deploy", "train", {"PIPELINE": "tumors", "ENVIRONMENT": "staging"}),
        ("promote", "core", {"PIPELINE": "tumors", "TO": "production"}),
        ("promote", "core", {"PIPELINE": "tumors", "ENVIRONMENT": "production"}),
        ("rollback", "core", {"PIPELINE": "tumors", "ENVIRONMENT": "production"}),
        ("validate", "data", {"PIPELINE": "tumors", "BASE": "origin/main"}),
        ("drift", "data", {"PIPELINE": "tumors", "CURRENT": "data/recent.csv"}),
        ("train", "train", {"PIPELINE": "tumors"}),
        ("compare", "train", {"PIPELINE": "tumors"}),
        ("status", "k8s", {"PIPELINE": "tumors", "ENVIRONMENT": "staging"}),
    ],
)
def test_good_inputs_pass_and_choose_the_extra(
    tmp_path: Path, command: str, extra: str, more: dict[str, str]
) -> None:
    ran = _run("inputs", tmp_path, COMMAND=command, **more)
    assert (ran.code, ran.stdout, ran.stderr, ran.outputs) == (0, "", "", _chosen(extra, tmp_path))


@pytest.mark.parametrize(
    ("env", "extra"),
    [
        ({"MLFLOW_TRACKING_URI": "https://mlflow.example.com"}, "train-remote"),
        ({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"}, "train-remote"),
        ({"MLFLOW_TRACKING_URI": "databricks://profile"}, "train-remote"),
        ({"TRACKING_URI": "https://mlflow.example.com"}, "train-remote"),
        # the input wins over the environment, as in the step that runs mlgitops
        (
            {"TRACKING_URI": "https://m.example.com", "MLFLOW_TRACKING_URI": "sqlite:///m.db"},
            "train-remote",
        ),
        (
            {"TRACKING_URI": "sqlite:///m.db", "MLFLOW_TRACKING_URI": "https://m.example.com"},
            "train",
        ),
        ({"MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}, "train"),
        ({"MLFLOW_TRACKING_URI": "file:///tmp/mlruns"}, "train"),
        # nothing set: mlgitops.yaml decides, which may name a local store
        ({}, "train"),
        ({"MLFLOW_TRACKING_URI": ""}, "train"),
        # a local registry needs MLflow's SQL store, wherever the runs go
        (
            {
                "MLFLOW_TRACKING_URI": "https://m.example.com",
                "MLFLOW_REGISTRY_URI": "sqlite:///r.db",
            },
            "train",
        ),
        (
            {
                "MLFLOW_TRACKING_URI": "https://m.example.com",
                "MLFLOW_REGISTRY_URI": "https://r.example.com",
            },
            "train-remote",
        ),
    ],
)
def test_a_remote_tracking_server_gets_mlflow_s_client_alone(
    tmp_path: Path, env: dict[str, str], extra: str
) -> None:
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="tumors", **env)
    assert (ran.code, ran.stderr, ran.outputs) == (0, "", _chosen(extra, tmp_path))


@pytest.mark.parametrize("command", ["compare", "deploy"])
def test_compare_and_deploy_get_mlflow_s_client_alone_too(tmp_path: Path, command: str) -> None:
    remote = {"MLFLOW_TRACKING_URI": "https://mlflow.example.com"}
    more = {"PIPELINE": "tumors", "ENVIRONMENT": "staging" if command == "deploy" else ""}
    ran = _run("inputs", tmp_path, COMMAND=command, **more, **remote)
    assert (ran.code, ran.stderr, ran.outputs) == (0, "", _chosen("train-remote", tmp_path))


def test_the_client_alone_lock_is_the_full_lock_less_mlflow_s_server() -> None:
    """train-remote pins every package it shares with train at the same version (a model
    trained with one is scored the same with the other), and leaves out MLflow's server,
    SQL stores and plotting; gpu-remote is to gpu as train-remote is to train."""
    pinned = re.compile(r"^([a-z0-9][a-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")

    def pins(name: str) -> dict[tuple[str, str], str]:
        text = (PROJECT / "requirements" / f"{name}.txt").read_text()
        found = (pinned.match(line) for line in text.splitlines())
        return {(m.group(1), (m.group(3) or "").strip()): m.group(2) for m in found if m}

    for full, remote in (("train", "train-remote"), ("gpu", "gpu-remote")):
        whole, client = pins(full), pins(remote)
        assert client and set(client) < set(whole)
        assert {key: whole[key] for key in client} == client
        left_out = {name for name, _ in set(whole) - set(client)}
        assert {"mlflow", "sqlalchemy", "alembic", "flask", "matplotlib"} <= left_out
        assert {"mlflow-skinny", "scikit-learn", "pandas", "pyarrow"} <= {n for n, _ in client}


@pytest.mark.parametrize(
    ("installed", "command", "env", "needed"),
    [
        ("gpu-remote", "train", {"MLFLOW_TRACKING_URI": "https://m.example.com"}, "false"),
        ("gpu-remote", "validate", {}, "false"),
        ("gpu-remote", "render", {}, "false"),
        ("gpu-remote", "train", {}, "true"),  # a local store needs full MLflow
        ("gpu", "train", {}, "false"),
        ("gpu", "train", {"MLFLOW_TRACKING_URI": "https://m.example.com"}, "false"),
        ("train-remote", "deploy", {"MLFLOW_TRACKING_URI": "https://m.example.com"}, "false"),
        ("train-remote", "deploy", {}, "true"),
        ("data", "train", {"MLFLOW_TRACKING_URI": "https://m.example.com"}, "true"),
    ],
)
def test_a_second_call_restores_no_cache_where_its_extra_is_installed(
    tmp_path: Path, installed: str, command: str, env: dict[str, str], needed: str
) -> None:
    """On a GPU runner train installs gpu (or gpu-remote): a second call in the job whose
    extra that holds restores no wheel cache."""
    venv = tmp_path / "mlgitops-venv"
    venv.mkdir()
    (venv / "mlgitops-extras").write_text(f"{installed}\n")
    more = {"PIPELINE": "tumors", "ENVIRONMENT": "staging" if command == "deploy" else ""}
    ran = _run("inputs", tmp_path, COMMAND=command, **more, **env)
    assert (ran.code, ran.outputs["install-needed"]) == (0, needed), ran.stderr


def _chosen(extra: str, tmp_path: Path) -> dict[str, str]:
    """The inputs step's outputs: the extra, and the wheel cache keyed on the locks it installs."""
    locks = PROJECT / "requirements"
    text = b"".join((locks / f"{n}.txt").read_bytes() for n in ("installer", extra))
    key = f"{extra}-{hashlib.sha256(text).hexdigest()[:32]}"
    return {
        "extra": extra,
        "lock-key": key,
        "cache-dir": f"{tmp_path}/mlgitops-cache",
        "install-needed": "true",
    }


@pytest.mark.parametrize(
    ("env", "locked"),
    [({}, "gpu"), ({"TRACKING_URI": "https://mlflow.example.com"}, "gpu-remote")],
)
def test_a_runner_with_a_gpu_keys_its_cache_on_the_gpu_lock(
    tmp_path: Path, env: dict[str, str], locked: str
) -> None:
    """Where ``nvidia-smi`` runs, train installs the gpu extra, decided once, and its cache
    is keyed on that lock, so a runner without a GPU never restores it (its wheels would
    miss from the other's lock, and the offline install would fail every time)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "nvidia-smi").write_text("#!/bin/sh\nexit 0\n")
    (tools / "nvidia-smi").chmod(0o755)
    path = f"{tools}{os.pathsep}{os.environ['PATH']}"
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="tumors", PATH=path, **env)
    assert ran.code == 0, ran.stderr
    assert ran.outputs == _chosen(locked, tmp_path)


def test_a_second_call_with_its_extra_installed_restores_no_cache(tmp_path: Path) -> None:
    (tmp_path / "mlgitops-venv").mkdir()
    (tmp_path / "mlgitops-venv" / "mlgitops-extras").write_text("core\ntrain\n")
    for command, needed in (("render", "false"), ("validate", "false"), ("status", "true")):
        more = {"PIPELINE": "p", "ENVIRONMENT": "staging"} if command == "status" else {}
        if command == "validate":
            more = {"PIPELINE": "p"}
        ran = _run("inputs", tmp_path, COMMAND=command, **more)
        assert (ran.code, ran.outputs["install-needed"]) == (0, needed), ran.stdout


def test_report_from_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "artifact").mkdir()
    ran = _run("inputs", tmp_path, COMMAND="report", FROM_ARTIFACT=str(tmp_path / "artifact"))
    assert (ran.code, ran.stdout) == (
        2,
        "::error title=mlgitops action::input 'pipeline' is required by report\n",
    )
    ran = _run(
        "inputs", tmp_path, COMMAND="report", PIPELINE="p", FROM_ARTIFACT=str(tmp_path / "artifact")
    )
    assert (ran.code, ran.outputs) == (0, _chosen("core", tmp_path))


def test_an_unknown_command_is_rejected(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="deplyo", PIPELINE="tumors")
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::input 'command' is 'deplyo'; expected one of render, "
        "plan, validate, train, compare, report, deploy, promote, rollback, status, drift\n"
    )
    assert ran.stderr == "mlgitops action: 1 problem(s) with the inputs; nothing was run\n"
    assert ran.outputs == {}


def test_a_missing_command_is_rejected(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path)
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::input 'command' is required: one of render, plan, "
        "validate, train, compare, report, deploy, promote, rollback, status, drift\n"
    )


def test_workstation_commands_are_not_for_the_action(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="demo")
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::command 'demo' is not available in the Action; "
        "run `mlgitops demo` on a workstation\n"
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    ran = _run(
        "inputs",
        tmp_path,
        COMMAND="promote",
        PIPELINE="Tumors_v2",
        BASE="--upload-pack=evil",
        CHECK="yes",
        PYTHON_VERSION="python3",
    )
    assert ran.code == 2
    prefix = "::error title=mlgitops action::"
    assert ran.stdout.splitlines() == [
        prefix + "input 'to' is required by promote (or 'environment', for a KServe canary's "
        "next share)",
        prefix + "input 'pipeline' is 'Tumors_v2'; expected lower-case letters, digits and '-' "
        "(1 to 40 characters, starting with a letter and ending with a letter or digit)",
        prefix + "input 'base' is '--upload-pack=evil'; it must not start with '-' or span lines",
        prefix + "input 'check' is 'yes'; expected \"true\" or \"false\"",
        prefix + "input 'python-version' is 'python3'; expected a Python version such as 3.11, "
        "or empty",
    ]
    assert ran.stderr == "mlgitops action: 5 problem(s) with the inputs; nothing was run\n"


def test_promote_takes_the_environment_to_promote_to_or_the_canary_s(tmp_path: Path) -> None:
    both = {"COMMAND": "promote", "PIPELINE": "p", "TO": "prod", "ENVIRONMENT": "staging"}
    ran = _run("inputs", tmp_path, **both)
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::inputs 'to' and 'environment' of promote: one or the "
        "other (to: the environment to promote to; environment: the one whose KServe canary "
        "takes its next share)\n"
    )


def test_a_pipeline_name_starts_with_a_letter_an_environment_name_may_not(
    tmp_path: Path,
) -> None:
    ran = _run("inputs", tmp_path, COMMAND="promote", PIPELINE="2tumors", TO="2prod")
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::input 'pipeline' is '2tumors'; expected lower-case "
        "letters, digits and '-' (1 to 40 characters, starting with a letter and ending with "
        "a letter or digit)\n"
    )
    ran = _run("inputs", tmp_path, COMMAND="promote", PIPELINE="tumors", TO="2prod")
    assert ran.code == 0, ran.stdout


def test_a_value_cannot_smuggle_a_workflow_command(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="train\n::add-mask::x%", PIPELINE="tumors")
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::input 'command' is 'train%0A::add-mask::x%25'; "
        "expected one of render, plan, validate, train, compare, report, deploy, promote, "
        "rollback, status, drift\n"
    )


def test_from_artifact_must_be_a_folder_and_go_with_report(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", FROM_ARTIFACT="a-file")
    assert ran.stdout == (
        "::error title=mlgitops action::input 'from-artifact' is 'a-file', which is not a folder\n"
    )
    # Missing is allowed: an unaffected fork's run uploads nothing, and report decides.
    ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", FROM_ARTIFACT="missing")
    assert (ran.code, ran.stdout) == (0, "")
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="a", FROM_ARTIFACT=str(tmp_path))
    assert ran.stdout == (
        "::error title=mlgitops action::input 'from-artifact' only goes with command 'report'\n"
    )


def test_check_job_is_a_job_result_and_goes_with_report(tmp_path: Path) -> None:
    for result in ("success", "failure", "cancelled", "skipped"):
        ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", CHECK_JOB=result)
        assert (ran.code, ran.stdout) == (0, "")
    prefix = "::error title=mlgitops action::"
    ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", CHECK_JOB="failed")
    assert (ran.code, ran.stdout) == (
        2,
        f"{prefix}input 'check-job' is 'failed'; expected success, failure, cancelled or "
        "skipped (needs.<job>.result)\n",
    )
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="p", CHECK_JOB="failure")
    assert ran.stdout == f"{prefix}input 'check-job' only goes with command 'report'\n"


def test_pending_goes_with_report_alone(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", PENDING="true")
    assert (ran.code, ran.stdout) == (0, "")
    prefix = "::error title=mlgitops action::"
    ran = _run("inputs", tmp_path, COMMAND="validate", PIPELINE="p", PENDING="true")
    assert ran.stdout == f"{prefix}input 'pending' only goes with command 'report'\n"
    ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", PENDING="true", UNCHANGED="true")
    assert ran.stdout == (
        f"{prefix}inputs 'pending' and 'unchanged': a pull request is one or the other\n"
    )
    ran = _run("inputs", tmp_path, COMMAND="report", PIPELINE="p", PENDING="yes")
    assert (ran.code, ran.stdout) == (
        2,
        f"{prefix}input 'pending' is 'yes'; expected \"true\" or \"false\"\n",
    )


def test_compare_goes_with_train_and_base_with_it(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="p", COMPARE="true", BASE="main")
    assert (ran.code, ran.stdout) == (0, "")
    prefix = "::error title=mlgitops action::"
    ran = _run("inputs", tmp_path, COMMAND="compare", PIPELINE="p", COMPARE="true")
    assert (ran.code, ran.stdout) == (
        2,
        f"{prefix}input 'compare' only goes with command 'train'\n",
    )
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="p", BASE="main")
    assert (ran.code, ran.stdout) == (
        2,
        f"{prefix}input 'base' goes with command 'train' only when 'compare' is \"true\"\n",
    )
    ran = _run("inputs", tmp_path, COMMAND="train", PIPELINE="p", COMPARE="yes")
    assert (ran.code, ran.stdout) == (
        2,
        f"{prefix}input 'compare' is 'yes'; expected \"true\" or \"false\"\n",
    )


IMAGE = "ghcr.io/my-org/serve@sha256:" + "a1" * 32


def test_an_image_goes_with_deploy_pinned_by_digest(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="deploy", PIPELINE="p", ENVIRONMENT="dev", IMAGE=IMAGE)
    assert (ran.code, ran.stdout) == (0, "")
    prefix = "::error title=mlgitops action::"
    for image in ("ghcr.io/my-org/serve:v1", "--image=x@sha256:" + "a1" * 32, IMAGE + "\nx"):
        ran = _run(
            "inputs", tmp_path, COMMAND="deploy", PIPELINE="p", ENVIRONMENT="dev", IMAGE=image
        )
        shown = image.replace("\n", "%0A")
        assert ran.code == 2
        assert ran.stdout == (
            f"{prefix}input 'image' is '{shown}'; expected REPOSITORY@sha256:<64 hex digits>\n"
        )
    ran = _run("inputs", tmp_path, COMMAND="promote", PIPELINE="p", TO="prod", IMAGE=IMAGE)
    assert ran.stdout == f"{prefix}input 'image' only goes with command 'deploy'\n"


def test_a_model_s_outputs_go_with_deploy_and_a_folder(tmp_path: Path) -> None:
    deploy = DEPLOY
    for which in ("candidate", "deployed"):
        ran = _run("inputs", tmp_path, **deploy, PREDICT=which, PREDICTIONS="out dir")
        assert (ran.code, ran.stdout, ran.outputs) == (0, "", _chosen("train", tmp_path))
    (tmp_path / "read").mkdir()  # deploy without predict reads the two folders' outputs
    ran = _run("inputs", tmp_path, **deploy, PREDICTIONS="read", IMAGE=IMAGE)
    assert (ran.code, ran.stdout) == (0, "")


def test_every_problem_with_a_model_s_outputs_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    prefix = "::error title=mlgitops action::"
    deploy = DEPLOY
    ran = _run("inputs", tmp_path, **deploy, PREDICT="Candidate", PREDICTIONS="--all")
    assert ran.code == 2
    assert ran.stdout.splitlines() == [
        prefix + "input 'predictions' is '--all'; it must not start with '-' or span lines",
        prefix + "input 'predict' is 'Candidate'; expected \"candidate\" or \"deployed\"",
    ]
    ran = _run("inputs", tmp_path, **deploy, PREDICT="deployed")
    assert (ran.code, ran.stdout) == (
        2,
        f"{prefix}input 'predict' needs input 'predictions', the folder to write the outputs to\n",
    )
    ran = _run("inputs", tmp_path, **deploy, PREDICTIONS="a-file")
    assert ran.stdout == f"{prefix}input 'predictions' is 'a-file', which is not a folder\n"
    promote = {"COMMAND": "promote", "PIPELINE": "p", "TO": "prod"}
    ran = _run("inputs", tmp_path, **promote, PREDICT="candidate", PREDICTIONS="x\ny")
    assert ran.code == 2
    assert ran.stdout.splitlines() == [
        prefix + "input 'predictions' is 'x%0Ay'; it must not start with '-' or span lines",
        prefix + "input 'predict' only goes with command 'deploy'",
        prefix + "input 'predictions' only goes with command 'deploy'",
    ]
    assert ran.stderr == "mlgitops action: 3 problem(s) with the inputs; nothing was run\n"


def test_cache_is_true_or_false(tmp_path: Path) -> None:
    ran = _run("inputs", tmp_path, COMMAND="render", CACHE="false")
    assert (ran.code, ran.outputs) == (0, _chosen("core", tmp_path))
    ran = _run("inputs", tmp_path, COMMAND="render", CACHE="no")
    assert (ran.code, ran.stdout) == (
        2,
        "::error title=mlgitops action::input 'cache' is 'no'; expected \"true\" or \"false\"\n",
    )


def _restores(**inputs: str) -> bool:
    """Whether the Action's cache step runs, its ``if:`` evaluated as the runner does."""
    from tests.fixtures.gha_expressions import condition

    step = next(s for s in ACTION["runs"]["steps"] if "actions/cache@" in s.get("uses", ""))
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    context = {
        "inputs": {**defaults, **inputs},
        "env": {},
        "steps": {"inputs": {"outputs": {"install-needed": "true"}}},
    }
    return condition(step["if"], context, "success")


def test_cache_false_restores_and_saves_nothing() -> None:
    """Neither wheels nor byte-code: the one cache step holds both, and actions/cache
    saves only in the post step of a step that ran."""
    assert _restores() is True
    assert _restores(cache="true") is True
    assert _restores(cache="false") is False
    assert _restores(install="false") is False
    cache = next(s for s in ACTION["runs"]["steps"] if "actions/cache@" in s.get("uses", ""))
    # the byte-code goes under that folder too (test_a_warm_install_unpacks_the_cached_uv…)
    assert cache["with"]["path"] == "${{ steps.inputs.outputs.cache-dir }}"


# --- install ------------------------------------------------------------------------------


def test_a_runner_with_mlgitops_installed_skips_the_install(tmp_path: Path) -> None:
    path = f"{VENV_BIN}:{os.environ['PATH']}"
    ran = _run("install", tmp_path, EXTRA="train", MLGITOPS_INSTALL="false", PATH=path)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.outputs == {"executable": str(VENV_BIN / "mlgitops"), "python": "python3"}
    assert ran.stdout.startswith(f"using {VENV_BIN / 'mlgitops'} (mlgitops ")
    assert not (tmp_path / "mlgitops-venv").exists()


def test_install_false_without_mlgitops_on_path_says_so(tmp_path: Path) -> None:
    ran = _run("install", tmp_path, EXTRA="core", INSTALL="false", PATH="/usr/bin:/bin")
    assert ran.code == 2
    assert ran.stdout == (
        "::error title=mlgitops action::install is false, but there is no mlgitops command on PATH\n"
    )


def test_the_action_pins_setup_python_like_the_workflows() -> None:
    setup = next(s for s in ACTION["runs"]["steps"] if "uses" in s)
    assert setup["uses"] == f"actions/setup-python@{PINNED['setup-python'].sha}"
    text = (PROJECT / "action.yml").read_text()
    assert f"# {PINNED['setup-python'].version}\n" in text


def test_the_action_pins_the_wheel_cache_like_the_workflows() -> None:
    cache = next(s for s in ACTION["runs"]["steps"] if "actions/cache@" in s.get("uses", ""))
    assert cache["uses"] == f"actions/cache@{PINNED['cache'].sha}"
    text = (PROJECT / "action.yml").read_text()
    assert f"@{PINNED['cache'].sha} # {PINNED['cache'].version}\n" in text
    assert cache["with"]["key"].endswith("${{ steps.inputs.outputs.lock-key }}")


def test_every_install_is_hash_locked_and_wheels_only() -> None:
    """Each package comes from a lock with hashes (uv's own wheel too, downloaded by pip);
    only the Action's own source is built, by uv itself, from nothing downloaded."""
    script = re.sub(r"\\\n\s*", " ", _script("install"))  # one command per line
    commands = [
        " ".join(line.split())
        for line in script.splitlines()
        if re.search(r"\b(install|download|build)\b --", line)
    ]
    assert len(commands) == 4, commands
    built = [c for c in commands if re.search(r'"\$uv" build ', c)]
    assert built == [
        '"$uv" build --no-config --quiet --wheel --no-index --python "$venv/bin/python" '
        '--out-dir "$built" "$ACTION_PATH"'
    ]
    # every uv call names its interpreter: uv would otherwise run the first one it finds in
    # the working folder or above it (a .venv a pull request's job left on the runner)
    uv_calls = [c for c in commands if c.startswith('"$uv" ') or c.startswith('locked=("$uv" ')]
    assert uv_calls and all('--python "$venv/bin/python"' in c for c in uv_calls), uv_calls
    for command in commands:
        if command in built:
            continue
        if '"$built"/mlgitops-' in command:  # the project itself: no index, no dependencies
            assert "--no-index" in command and "--no-deps" in command, command
        else:
            assert "--require-hashes" in command and "--only-binary :all:" in command, command
            assert '-r "$locks/' in command, command


def test_every_input_reaches_the_scripts_through_env_only() -> None:
    inputs = set(ACTION["inputs"])
    passed = set()
    for step in ACTION["runs"]["steps"]:
        for value in (step.get("env") or {}).values():
            if str(value).startswith("${{ inputs."):
                passed.add(str(value)[len("${{ inputs.") : -len(" }}")])
        assert "${{" not in step.get("run", "")
    assert passed == inputs
    assert all(ACTION["inputs"][name]["description"] for name in inputs)
    assert all(ACTION["outputs"][name]["description"] for name in ACTION["outputs"])


# --- run ----------------------------------------------------------------------------------


def test_render_check_through_the_action(tmp_path: Path) -> None:
    """The real mlgitops, as the PR workflow's first step calls it."""
    repo = tmp_path / "repo"
    subprocess.run(
        [str(VENV_BIN / "mlgitops"), "-C", str(repo), "init"], check=True, capture_output=True
    )
    subprocess.run(
        [str(VENV_BIN / "mlgitops"), "-C", str(repo), "render"], check=True, capture_output=True
    )
    env = {"MLGITOPS": str(VENV_BIN / "mlgitops"), "MLGITOPS_PYTHON": sys.executable}
    ran = _run("run", tmp_path, cwd=repo, COMMAND="render", CHECK="true", **env)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith("mlgitops -C . render --check\nrender --check: ")
    assert ran.outputs == {"exit-code": "0"}

    pr = repo / ".github" / "workflows" / "mlgitops-tumors-pr.yml"
    pr.write_text(pr.read_text() + "# edited by hand\n")
    ran = _run("run", tmp_path, cwd=repo, COMMAND="render", CHECK="true", **env)
    assert ran.code == 1
    assert "+# edited by hand" not in ran.stdout and "-# edited by hand" in ran.stdout
    assert ran.outputs == {"exit-code": "1"}


RECORDER = """#!/usr/bin/env bash
# Stands in for mlgitops so the test sees the exact command line and environment the
# Action gives it, then leaves the hand-off files a real run would leave.
printf '%s\\n' "$@" > "$RECORD/argv"
env > "$RECORD/env"
if [ -n "${HANDOFF:-}" ]; then cp -R "$HANDOFF"/. "$MLGITOPS_OUTPUT"/; fi
exit "${EXIT:-0}"
"""


@pytest.fixture
def recorder(tmp_path: Path) -> dict[str, str]:
    record = tmp_path / "record"
    record.mkdir()
    executable = tmp_path / "mlgitops"
    executable.write_text(RECORDER)
    executable.chmod(0o755)
    return {"MLGITOPS": str(executable), "MLGITOPS_PYTHON": sys.executable, "RECORD": str(record)}


def _argv(recorder: dict[str, str]) -> list[str]:
    return (Path(recorder["RECORD"]) / "argv").read_text().splitlines()


def _seen_env(recorder: dict[str, str]) -> dict[str, str]:
    lines = (Path(recorder["RECORD"]) / "env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


DEPLOY = {"COMMAND": "deploy", "PIPELINE": "p", "ENVIRONMENT": "dev"}
DEPLOY_ARGV = ["-C", ".", "deploy", "p", "--env", "dev"]


@pytest.mark.parametrize(
    ("inputs", "argv"),
    [
        ({"COMMAND": "validate", "PIPELINE": "p"}, ["-C", ".", "validate", "p"]),
        (
            {"COMMAND": "compare", "PIPELINE": "p", "BASE": "origin/x"},
            ["-C", ".", "compare", "p", "--base", "origin/x"],
        ),
        ({"COMMAND": "train", "PIPELINE": "p"}, ["-C", ".", "train", "p"]),
        (
            {"COMMAND": "train", "PIPELINE": "p", "COMPARE": "true"},
            ["-C", ".", "train", "p", "--compare"],
        ),
        (
            {"COMMAND": "train", "PIPELINE": "p", "COMPARE": "true", "BASE": "origin/x"},
            ["-C", ".", "train", "p", "--compare", "--base", "origin/x"],
        ),
        ({"COMMAND": "plan", "BASE": "HEAD~1"}, ["-C", ".", "plan", "--json", "--base", "HEAD~1"]),
        ({"COMMAND": "report", "PIPELINE": "p"}, ["-C", ".", "report", "p"]),
        (
            {"COMMAND": "report", "PIPELINE": "p", "UNCHANGED": "true"},
            ["-C", ".", "report", "p", "--inputs-unchanged"],
        ),
        (
            {"COMMAND": "report", "PIPELINE": "p", "PENDING": "true"},
            ["-C", ".", "report", "p", "--pending"],
        ),
        (
            {"COMMAND": "report", "PIPELINE": "p", "FROM_ARTIFACT": "in dir"},
            ["-C", ".", "report", "p", "--from-artifact", "in dir"],
        ),
        (
            {"COMMAND": "deploy", "PIPELINE": "p", "ENVIRONMENT": "dev"},
            ["-C", ".", "deploy", "p", "--env", "dev"],
        ),
        (
            {"COMMAND": "deploy", "PIPELINE": "p", "ENVIRONMENT": "dev", "IMAGE": "r/s@sha256:1"},
            ["-C", ".", "deploy", "p", "--env", "dev", "--image", "r/s@sha256:1"],
        ),
        (
            {**DEPLOY, "PREDICT": "candidate", "PREDICTIONS": "out dir"},
            [*DEPLOY_ARGV, "--predict", "candidate", "--predictions", "out dir"],
        ),
        (
            {**DEPLOY, "PREDICTIONS": "a b", "IMAGE": "r/s@sha256:1"},
            [*DEPLOY_ARGV, "--image", "r/s@sha256:1", "--predictions", "a b"],
        ),
        (
            {"COMMAND": "promote", "PIPELINE": "p", "TO": "prod"},
            ["-C", ".", "promote", "p", "--to", "prod"],
        ),
        (
            {"COMMAND": "promote", "PIPELINE": "p", "ENVIRONMENT": "prod"},
            ["-C", ".", "promote", "p", "--env", "prod"],
        ),
        (
            {"COMMAND": "rollback", "PIPELINE": "p", "ENVIRONMENT": "prod"},
            ["-C", ".", "rollback", "p", "--env", "prod"],
        ),
        (
            {"COMMAND": "drift", "PIPELINE": "p", "CURRENT": "a b.csv"},
            ["-C", ".", "drift", "p", "--current", "a b.csv"],
        ),
        ({"COMMAND": "render", "WORKING_DIRECTORY": "sub dir"}, ["-C", "sub dir", "render"]),
    ],
)
def test_inputs_become_one_argument_each(
    tmp_path: Path, recorder: dict[str, str], inputs: dict[str, str], argv: list[str]
) -> None:
    (tmp_path / "sub dir").mkdir()
    ran = _run("run", tmp_path, **recorder, **inputs)
    assert ran.code == 0, ran.stderr
    assert _argv(recorder) == argv


def test_only_commands_that_ask_github_see_the_token(
    tmp_path: Path, recorder: dict[str, str]
) -> None:
    for command in ("validate", "compare", "plan", "render"):
        _run("run", tmp_path, **recorder, COMMAND=command, PIPELINE="p", GITHUB_TOKEN="outer")
        assert "GITHUB_TOKEN" not in _seen_env(recorder), command
    # report posts; train asks which of the commit's workflow runs trained a cached run
    for command in ("report", "train"):
        _run("run", tmp_path, **recorder, COMMAND=command, PIPELINE="p")
        assert _seen_env(recorder)["GITHUB_TOKEN"] == "ghs_example", command


def test_empty_mlflow_settings_are_unset_and_inputs_win(
    tmp_path: Path, recorder: dict[str, str]
) -> None:
    mlflow = {
        "MLFLOW_TRACKING_URI": "",
        "MLFLOW_TRACKING_TOKEN": "",
        "MLFLOW_TRACKING_USERNAME": "u",
    }
    _run("run", tmp_path, **recorder, **mlflow, COMMAND="train", PIPELINE="p")
    seen = _seen_env(recorder)
    assert "MLFLOW_TRACKING_URI" not in seen and "MLFLOW_TRACKING_TOKEN" not in seen
    assert seen["MLFLOW_TRACKING_USERNAME"] == "u"
    _run(
        "run",
        tmp_path,
        **recorder,
        **mlflow,
        COMMAND="train",
        PIPELINE="p",
        TRACKING_URI="http://127.0.0.1:5000",
    )
    assert _seen_env(recorder)["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"


def test_outputs_come_from_the_hand_off_files(tmp_path: Path, recorder: dict[str, str]) -> None:
    handoff = tmp_path / "handoff" / "p"
    handoff.mkdir(parents=True)
    (handoff / "verdict.json").write_text(json.dumps({"schema_version": 1, "passed": False}))
    (handoff / "validation.json").write_text(json.dumps({"passed": True}))
    (handoff / "train.json").write_text(
        json.dumps(
            {"run_id": "r1", "model_uri": "runs:/r1/model", "content_key": "k", "cached": True}
        )
    )
    (handoff / "report.md").write_text("# report\n")
    out = tmp_path / "out"
    out.mkdir()
    ran = _run(
        "run",
        tmp_path,
        **recorder,
        COMMAND="compare",
        PIPELINE="p",
        OUTPUT_DIR=str(out),
        HANDOFF=str(tmp_path / "handoff"),
        EXIT="1",
    )
    assert ran.code == 1
    assert ran.outputs == {
        "exit-code": "1",
        "output-dir": str(out / "p"),
        "verdict": "failed",
        "validation": "passed",
        "run-id": "r1",
        "model-uri": "runs:/r1/model",
        "content-key": "k",
        "cached": "true",
        "report-path": str(out / "p" / "report.md"),
    }
    assert _seen_env(recorder)["MLGITOPS_OUTPUT"] == str(out)


def test_deploy_reports_the_version_now_in_the_environment(
    tmp_path: Path, recorder: dict[str, str]
) -> None:
    overlay = tmp_path / "manifests" / "p" / "overlays" / "prod"
    overlay.mkdir(parents=True)
    (overlay / "model.json").write_text(
        json.dumps({"version": "7", "environment": "prod", "image": IMAGE})
    )
    ran = _run("run", tmp_path, **recorder, COMMAND="promote", PIPELINE="p", TO="prod")
    assert ran.outputs["model-version"] == "7"
    assert ran.outputs["image"] == IMAGE
    assert ran.outputs["output-dir"] == str(tmp_path / ".mlgitops" / "p")
    # writing a model's outputs changes no environment: the checkout's record is no output
    predict = {"PREDICT": "candidate", "PREDICTIONS": str(tmp_path / "out")}
    deploy = {"COMMAND": "deploy", "PIPELINE": "p", "ENVIRONMENT": "prod"}
    ran = _run("run", tmp_path, **recorder, **predict, **deploy)
    assert ran.code == 0, ran.stderr
    assert ran.outputs == {"exit-code": "0", "output-dir": str(tmp_path / ".mlgitops" / "p")}
