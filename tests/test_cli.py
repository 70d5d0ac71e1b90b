"""The console script: start-up imports, exit codes, init + render round trip."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "pandera", "sklearn", "mlflow", "kubernetes", "numpy", "pyarrow", "scipy")


def _mlgitops(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m mlgitops *args``; ``env``: variables set beside the test's own."""
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=None if env is None else {**os.environ, **env},
    )


def _loaded_modules(args: list[str], cwd: Path) -> set[str]:
    probe = (
        "import json, sys\n"
        "from mlgitops.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False
    )
    return set(json.loads(result.stderr.splitlines()[-1]))


def test_validating_the_example_s_clean_data_imports_neither_pandera_nor_pandas(
    tmp_path: Path,
) -> None:
    """The example's schema is a pandera YAML file in plain forms (dtypes, ranges): its
    data is screened clean with Arrow alone, so validate neither imports pandera (and
    pandas with it: 0.35 s, most of what validating a small file takes) nor needs it."""
    _mlgitops("init", cwd=tmp_path)
    loaded = _loaded_modules(["validate", "tumors"], tmp_path)
    assert "mlgitops.validation.engine" in loaded
    assert (tmp_path / ".mlgitops" / "tumors" / "validation.json").is_file()
    assert sorted(m for m in loaded if m.split(".")[0] in ("pandas", "pandera")) == []


@pytest.mark.parametrize("args", [["--help"], ["render"], ["render", "--check"]])
def test_cli_path_imports_no_heavy_library(args: list[str], tmp_path: Path) -> None:
    _mlgitops("init", cwd=tmp_path)
    loaded = _loaded_modules(args, tmp_path)
    assert "mlgitops.cli" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []


def test_a_render_check_that_finds_everything_current_starts_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """``render --check`` runs on every pull request and in pre-commit hooks: when the files
    are current it starts no process and writes no file, so it loads neither the modules
    for those nor the ones for reporting a problem (a close-match hint, a traceback)."""
    _mlgitops("init", cwd=tmp_path)
    assert _mlgitops("render", cwd=tmp_path).returncode == 0
    loaded = _loaded_modules(["render", "--check"], tmp_path)
    assert "mlgitops.render" in loaded
    assert sorted({"subprocess", "tempfile", "difflib", "traceback"} & loaded) == []
    # argparse's own help formatter imports shutil (and its compression modules) for the
    # terminal's width; an image build's templates need string.Template (none here)
    assert sorted({"shutil", "lzma", "bz2", "string"} & loaded) == []
    # the spec's records are mlgitops.record's: dataclasses compiles methods at import
    # and imports inspect
    assert sorted({"dataclasses", "inspect"} & loaded) == []
    # annotations only need typing for a type checker; the estimator's module is parsed
    # through _ast (ast.py's helpers are not needed); shlex only for a command trainer
    assert sorted({"typing", "ast", "shlex"} & loaded) == []
    if importlib.util.find_spec("sklearn") is not None:  # the example's estimator's source
        assert "_ast" in loaded  # was read, through _ast


@pytest.mark.parametrize("columns", ["44", "160", "not a number"])
def test_help_wraps_where_argparse_s_own_formatter_does(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's formatter finds the width without shutil; its help is argparse's own."""
    import argparse

    from mlgitops import cli

    monkeypatch.setenv("COLUMNS", columns)
    for argv in ([], ["train"]):
        top = cli._parser(argv)
        (verbs,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = [top, *(verbs.choices.values())]
        ours = [parser.format_help() for parser in parsers]
        for parser in parsers:
            parser.formatter_class = argparse.HelpFormatter
        assert ours == [parser.format_help() for parser in parsers]
        assert ours[0] != ""


def test_help_lists_every_verb(tmp_path: Path) -> None:
    result = _mlgitops("--help", cwd=tmp_path)
    assert result.returncode == 0
    for verb in (
        "init",
        "render",
        "plan",
        "validate",
        "train",
        "compare",
        "report",
        "deploy",
        "promote",
        "rollback",
        "status",
        "drift",
    ):
        assert f"    {verb} " in result.stdout


def test_unknown_verb_is_a_usage_error(tmp_path: Path) -> None:
    result = _mlgitops("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


@pytest.mark.parametrize("before", [["-C"], ["--repo"], ["--rep"], ["-C", "render", "-C"]])
def test_a_repository_folder_named_as_a_verb_is_the_folder(
    before: list[str], tmp_path: Path
) -> None:
    """Only the verb's own parser is built; the word after ``-C`` is the folder, not the verb."""
    folder = tmp_path / "render"
    folder.mkdir()
    _mlgitops("init", cwd=folder)
    result = _mlgitops(*before, "render", "plan", "--base", "HEAD", cwd=tmp_path)
    assert "unrecognized arguments" not in result.stderr
    assert "mlgitops plan: error:" in result.stderr
    help_text = _mlgitops(*before, "render", "validate", "--help", cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    assert help_text.stdout.startswith("usage: mlgitops validate ")


@pytest.mark.parametrize("before", [["--help"], ["-h"], ["-C", ".", "--help"]])
def test_help_before_a_verb_lists_every_verb(before: list[str], tmp_path: Path) -> None:
    result = _mlgitops(*before, "render", cwd=tmp_path)
    assert result.returncode == 0
    assert "    validate " in result.stdout and "    render " in result.stdout


def test_init_then_render_then_check_pass(git_repo: Path) -> None:
    init = _mlgitops("init", cwd=git_repo)
    assert init.returncode == 0, init.stderr
    assert init.stdout.splitlines()[:6] == [
        "created .gitignore",
        "created data/tumors.csv",
        "created mlgitops.yaml",
        "created pipelines/tumors.yaml",
        "created schemas/tumors.yaml",
        "",
    ]
    render = _mlgitops("render", cwd=git_repo)
    assert render.returncode == 0, render.stderr
    check = _mlgitops("render", "--check", cwd=git_repo)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("render --check: ")
    again = _mlgitops("render", cwd=git_repo)
    assert again.stdout.startswith("render: 0 written, 0 removed, ")


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "mlgitops.yaml").write_text("python: '3.12'\n")
    result = _mlgitops("init", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "mlgitops init: error: these files exist already (use --force to overwrite them): "
        "mlgitops.yaml\n"
    )
    assert (tmp_path / "mlgitops.yaml").read_text() == "python: '3.12'\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlgitops.yaml"]


def test_render_check_reports_a_hand_edit(git_repo: Path) -> None:
    _mlgitops("init", cwd=git_repo)
    _mlgitops("render", cwd=git_repo)
    workflow = git_repo / ".github" / "workflows" / "mlgitops-tumors-pr.yml"
    edited = workflow.read_text() + "# a hand edit\n"
    workflow.write_text(edited)
    check = _mlgitops("render", "--check", cwd=git_repo)
    assert check.returncode == 1
    assert "-# a hand edit\n" in check.stdout
    assert "--- a/.github/workflows/mlgitops-tumors-pr.yml" in check.stdout
    assert check.stderr == (
        "render --check: 1 generated file(s) are missing, stale or edited by hand; "
        "run `mlgitops render` and commit the result\n"
    )
    assert workflow.read_text() == edited


def test_render_removes_files_of_a_deleted_pipeline(git_repo: Path) -> None:
    _mlgitops("init", cwd=git_repo)
    _mlgitops("render", cwd=git_repo)
    (git_repo / "pipelines" / "tumors.yaml").unlink()
    check = _mlgitops("render", "--check", cwd=git_repo)
    assert check.returncode == 1
    assert "+++ /dev/null" in check.stdout
    result = _mlgitops("render", cwd=git_repo)
    assert result.returncode == 0
    assert "removed .github/workflows/mlgitops-tumors-pr.yml" in result.stdout
    assert not (git_repo / "manifests" / "tumors").exists()
    assert not (git_repo / ".github").exists()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _rendered(root: Path) -> dict[str, bytes]:
    assert _mlgitops("init", cwd=root).returncode == 0
    assert _mlgitops("render", cwd=root).returncode == 0
    return _tree(root)


@pytest.mark.parametrize("args", [["render"], ["render", "--check"]])
def test_a_pipelines_path_that_is_no_folder_removes_nothing(
    git_repo: Path, args: list[str]
) -> None:
    """An empty list of specs would remove every generated file, and say it all is current."""
    before = _rendered(git_repo)
    spec = before.pop("pipelines/tumors.yaml")
    for entry in (git_repo / "pipelines").iterdir():
        entry.unlink()
    (git_repo / "pipelines").rmdir()
    (git_repo / "pipelines").write_bytes(spec)
    result = _mlgitops(*args, cwd=git_repo)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"mlgitops {args[0]}: error: pipelines: not a folder (the pipeline specs live in it)\n"
    )
    assert _tree(git_repo) == {**before, "pipelines": spec}


def test_a_config_that_is_a_folder_is_named_not_ignored(git_repo: Path) -> None:
    before = _rendered(git_repo)
    config = git_repo / "mlgitops.yaml"
    config.unlink()
    config.mkdir()
    result = _mlgitops("render", cwd=git_repo)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == ("mlgitops.yaml:1:1: cannot be read (Is a directory)")
    del before["mlgitops.yaml"]
    assert _tree(git_repo) == before


@pytest.mark.parametrize("args", [["render"], ["render", "--check"]])
def test_a_spec_path_that_is_a_folder_removes_nothing(git_repo: Path, args: list[str]) -> None:
    """A folder named like a spec was skipped without a word: render removed every file
    rendered from the spec, and exited 0."""
    before = _rendered(git_repo)
    spec = git_repo / "pipelines" / "tumors.yaml"
    spec.unlink()
    spec.mkdir()
    text = before.pop("pipelines/tumors.yaml")
    (spec / "inner.yaml").write_bytes(text)
    result = _mlgitops(*args, cwd=git_repo)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"mlgitops {args[0]}: error: pipelines/tumors.yaml: a folder, where a spec file is "
        "expected\n"
    )
    assert _tree(git_repo) == {**before, "pipelines/tumors.yaml/inner.yaml": text}


def test_a_spec_whose_name_ends_in_capitals_is_named_not_skipped(git_repo: Path) -> None:
    """``pipelines/tumors.YAML`` was no spec: render removed every file rendered from it."""
    before = _rendered(git_repo)
    (git_repo / "pipelines" / "tumors.yaml").rename(git_repo / "pipelines" / "tumors.YAML")
    result = _mlgitops("render", cwd=git_repo)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "mlgitops render: error: pipelines/tumors.YAML: a spec file's name ends in .yaml or .yml\n"
    )
    text = before.pop("pipelines/tumors.yaml")
    assert _tree(git_repo) == {**before, "pipelines/tumors.YAML": text}


def test_links_to_a_device_are_refused_or_replaced_never_read(git_repo: Path) -> None:
    """A pull request can commit a link to ``/dev/zero``: as a spec or a schema it was read
    whole (a check job that grew until the machine ran out of memory); as a rendered file,
    compared with what render writes, the same. Now a spec or schema is refused where it is
    named, and a rendered file is stale, replaced by render with the file itself."""
    before = _rendered(git_repo)
    (git_repo / "pipelines" / "zero.yaml").symlink_to("/dev/zero")
    result = _mlgitops("render", "--check", cwd=git_repo)
    assert (result.returncode, result.stderr) == (
        2,
        "pipelines/zero.yaml:1:1: cannot be read (not a regular file)\n"
        "mlgitops: 1 problem(s) in the specs; nothing written\n",
    )
    (git_repo / "pipelines" / "zero.yaml").unlink()
    schema = git_repo / "schemas" / "tumors.yaml"
    schema.unlink()
    schema.symlink_to("/dev/zero")
    result = _mlgitops("validate", "tumors", "--format", "none", cwd=git_repo)
    outside = "a link to a file outside the repository, which a pipeline does not read"
    assert (result.returncode, result.stderr) == (
        2,
        f"mlgitops validate: error: schemas/tumors.yaml: {outside}\n",
    )
    schema.unlink()
    os.mkfifo(schema)  # within the repository: a pipe blocks until written
    result = _mlgitops("validate", "tumors", "--format", "none", cwd=git_repo)
    assert (result.returncode, result.stderr) == (
        2,
        "mlgitops validate: error: schemas/tumors.yaml: cannot be read (not a regular file)\n",
    )
    report = json.loads((git_repo / ".mlgitops" / "tumors" / "validation.json").read_text())
    assert report["error"] == "schemas/tumors.yaml: cannot be read (not a regular file)"
    shutil.rmtree(git_repo / ".mlgitops")
    schema.unlink()
    schema.write_bytes(before["schemas/tumors.yaml"])
    rollout = git_repo / "manifests" / "tumors" / "base" / "rollout.yaml"
    rollout.unlink()
    rollout.symlink_to("/dev/zero")
    result = _mlgitops("render", "--check", cwd=git_repo)
    assert result.returncode == 1
    assert "+++ b/manifests/tumors/base/rollout.yaml" in result.stdout
    assert _mlgitops("render", cwd=git_repo).returncode == 0
    assert not rollout.is_symlink()
    assert _tree(git_repo) == before


def test_a_reader_that_stops_reading_is_no_bug(
    git_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``mlgitops doctor | head -1``: the next line written to the closed pipe was an
    internal error (exit 3, a traceback)."""
    from mlgitops.cli import main

    _rendered(git_repo)

    class ClosedPipe(io.StringIO):
        def __init__(self, fd: int) -> None:
            super().__init__()
            self.fd = fd

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return self.fd

    with (tmp_path / "stdout").open("w") as stand_in:
        monkeypatch.setattr(sys, "stdout", ClosedPipe(stand_in.fileno()))
        assert main(["-C", str(git_repo), "render", "--check"]) == 141
    assert capsys.readouterr().err == ""


def test_a_spec_file_name_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    _rendered(root)
    spec = root / "pipelines" / "tumors.yaml"
    spec.rename(root / "pipelines" / "caf\udce9.yaml")  # Latin-1 é, as os.fsdecode reads it
    result = _mlgitops("render", cwd=root)
    assert result.returncode == 2
    assert result.stderr == (
        "mlgitops render: error: pipelines/caf\\xe9.yaml: the file name is not UTF-8; rename it\n"
    )


def test_a_folder_where_a_generated_file_goes_is_bad_input_and_nothing_changes(
    git_repo: Path,
) -> None:
    before = _rendered(git_repo)
    workflow = git_repo / ".github" / "workflows" / "mlgitops-tumors-pr.yml"
    workflow.unlink()
    workflow.mkdir()
    del before[".github/workflows/mlgitops-tumors-pr.yml"]
    for args in (["render"], ["render", "--check"]):
        result = _mlgitops(*args, cwd=git_repo)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"mlgitops render: error: {workflow}"), result.stderr
        assert result.stderr.endswith(": Is a directory\n"), result.stderr
        assert _tree(git_repo) == before


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_repository_that_is_no_folder_is_named(tmp_path: Path, kind: str) -> None:
    where = tmp_path / "repo"
    if kind == "a file":
        where.write_text("x\n")
    for verb in (["render", "--check"], ["validate", "tumors"]):
        result = _mlgitops("-C", str(where), *verb, cwd=tmp_path)
        assert result.returncode == 2
        why = "no such folder" if kind == "missing" else "not a folder"
        assert result.stderr == f"mlgitops {verb[0]}: error: -C {where}: {why}\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["validate", "tumors", "--data", ""], "--data"),
        (["validate", "tumors", "--base="], "--base"),
        (["validate", "tumors", "--output", ""], "--output"),
        (["-C", "", "render"], "-C"),
        (["validate", ""], "an argument"),
    ],
)
def test_an_empty_value_is_refused_not_read_as_unset(
    git_repo: Path, args: list[str], named: str
) -> None:
    """``--data ''`` validated the spec's own data; ``--output ''`` wrote into the repository."""
    before = _rendered(git_repo)
    result = _mlgitops(*args, cwd=git_repo)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"mlgitops: error: {named} is empty: give it a value, or leave it out\n"
    assert _tree(git_repo) == before


def test_this_repository_is_rendered_and_current() -> None:
    root = Path(__file__).resolve().parent.parent
    check = _mlgitops("render", "--check", cwd=root)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr


def _collector_after(call: str, cwd: Path) -> dict[str, object]:
    """The collector's state in a child process after ``call``, and inside ``paused``."""
    probe = (
        "import gc, json, sys\n"
        "from mlgitops import collector\n"
        "from mlgitops.cli import main\n"
        "sys.argv = ['mlgitops', 'render', '--check']\n"
        f"{call}\n"
        "frozen = gc.get_freeze_count()\n"
        "with collector.paused():\n"
        "    inside = gc.isenabled()\n"
        "print(json.dumps({'threshold': gc.get_threshold(), 'collecting_inside': inside,\n"
        "    'collecting_after': gc.isenabled(), 'froze': gc.get_freeze_count() > frozen}))\n"
    )
    return _last_json_line(probe, cwd)


def _last_json_line(probe: str, cwd: Path) -> dict[str, object]:
    """``python -c probe`` in ``cwd``: the JSON object its last line of output holds (what
    the command printed comes before it)."""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.stdout, result.stderr[-3000:]
    found: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_only_a_whole_process_command_tunes_the_collector(tmp_path: Path) -> None:
    """The console script makes young collections rarer and pauses them during set-up;
    a caller's process keeps its own collector as it was."""
    import gc

    _mlgitops("init", cwd=tmp_path)
    default = list(gc.get_threshold())
    assert _collector_after("main(['render', '--check'])", tmp_path) == {
        "threshold": default,
        "collecting_inside": True,
        "collecting_after": True,
        "froze": False,
    }
    tuned = _collector_after("main()", tmp_path)
    assert tuned == {
        "threshold": [50_000, *default[1:]],
        "collecting_inside": False,
        "collecting_after": True,
        "froze": True,
    }


def _console_script(argv: list[str], cwd: Path, before: str = "") -> dict[str, object]:
    """The console script's entry run as the whole process: its exit code, the collections
    (by generation) made before the command tuned the collector, and the collector's
    state when it returned."""
    probe = (
        "import gc, json, sys\n"
        "from mlgitops import collector\n"
        f"{before}\n"
        "from mlgitops.__main__ import main\n"
        "seen, tuned = [], []\n"
        "gc.collect()  # what came before the console script's call is no part of it\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and seen.append(info['generation']))\n"
        "for name in ('for_one_command', 'for_a_server'):\n"
        "    def tune(original=getattr(collector, name)):\n"
        "        tuned.append(list(seen))\n"
        "        original()\n"
        "    setattr(collector, name, tune)\n"
        f"sys.argv = {['mlgitops', *argv]!r}\n"
        "code = main()\n"
        "print(json.dumps({'code': code, 'before_tuning': tuned, 'collecting': gc.isenabled(),\n"
        "    'young': gc.get_threshold()[0]}))\n"
    )
    return _last_json_line(probe, cwd)


def test_the_console_script_collects_nothing_while_the_cli_starts(tmp_path: Path) -> None:
    """What importing the CLI and parsing its arguments create lives until the process ends:
    the console script pauses the collector until the command tunes it (``render --check``
    made 14-15 collections on the way before)."""
    _mlgitops("init", cwd=tmp_path)
    _mlgitops("render", cwd=tmp_path)
    assert _console_script(["render", "--check"], tmp_path) == {
        "code": 0,
        "before_tuning": [[]],
        "collecting": True,
        "young": 50_000,
    }


def test_a_server_started_by_the_console_script_collects_with_the_defaults(
    tmp_path: Path,
) -> None:
    import gc

    stand_in = (  # the server itself is tested in tests/serve: here only the collector matters
        "import mlgitops.commands.serve as serve\n"
        "default = gc.get_threshold()\n"
        "serve.run = lambda **_: 0 if gc.isenabled() and gc.get_threshold() == default else 9"
    )
    argv = ["serve", "--model-uri", "models:/m/1", "--model-digest", "sha256:" + "a" * 64]
    probe = _console_script(argv, tmp_path, before=stand_in)
    assert probe["before_tuning"] == [[]]
    assert probe["code"] == 0  # collecting, with the default thresholds, while it serves
    assert probe["collecting"] is True and probe["young"] == gc.get_threshold()[0]


@pytest.mark.parametrize(
    "args",
    [
        ["train", "tumors"],
        ["compare", "tumors"],
        ["deploy", "tumors", "--env", "staging"],
        ["promote", "tumors", "--to", "production"],
        ["rollback", "tumors", "--env", "staging"],
        ["drift", "tumors"],
        # MLflow's own client reads the variable here, and raised ValueError: a traceback
        ["serve", "--model-uri", "models:/m/1", "--model-digest", "sha256:" + "a" * 64],
    ],
    ids=lambda args: args[0],
)
def test_a_verb_that_reaches_mlflow_refuses_its_tls_settings_first(
    args: list[str], tmp_path: Path
) -> None:
    _mlgitops("init", cwd=tmp_path)
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "MLFLOW_TRACKING_INSECURE_TLS": "maybe"}
    done = _mlgitops(*args, cwd=tmp_path, env=env)
    assert (done.returncode, done.stderr) == (
        2,
        f"mlgitops {args[0]}: error: MLFLOW_TRACKING_INSECURE_TLS='maybe': "
        "expected true or false (or 1 or 0)\n",
    )
    assert not (tmp_path / ".mlgitops").exists()  # nothing written


@pytest.mark.parametrize("verb", ["train", "compare", "drift"])
def test_a_progress_bar_setting_mlflow_cannot_read_is_refused_first(
    verb: str, tmp_path: Path
) -> None:
    _mlgitops("init", cwd=tmp_path)
    env = {
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "on",
    }
    done = _mlgitops(verb, "tumors", cwd=tmp_path, env=env)
    assert (done.returncode, done.stderr) == (
        2,
        f"mlgitops {verb}: error: MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR='on': "
        "expected true or false (or 1 or 0)\n",
    )
    assert not (tmp_path / ".mlgitops").exists()  # nothing written


def test_a_verb_that_never_reaches_mlflow_ignores_its_tls_settings(tmp_path: Path) -> None:
    _mlgitops("init", cwd=tmp_path)
    done = _mlgitops("render", cwd=tmp_path, env={"MLFLOW_TRACKING_INSECURE_TLS": "maybe"})
    assert done.returncode == 0, done.stderr


def test_mlflow_progress_bars_are_set_for_the_command_alone() -> None:
    """Drawn on a terminal, not elsewhere; the user's own setting kept; the variable gone
    again when the command ends, however it ends."""
    from mlgitops.mlflow_env import PROGRESS_BARS, progress_bars

    for drawn, value in ((True, "true"), (False, "false")):
        env: dict[str, str] = {}
        with progress_bars(env, drawn):
            assert env == {PROGRESS_BARS: value}
        assert env == {}
    env = {}
    with pytest.raises(KeyError), progress_bars(env, True):
        raise KeyError("the command failed")
    assert env == {}
    env = {PROGRESS_BARS: "0"}
    with progress_bars(env, True):
        assert env == {PROGRESS_BARS: "0"}
    assert env == {PROGRESS_BARS: "0"}


def test_spec_problems_are_marked_on_their_lines_by_render_in_actions(git_repo: Path) -> None:
    """In a pull request's run the check job's ``render --check`` marks each problem on its
    line of the pull request's changes (file, line and column); validate and plan, which
    meet the same problems in the same run, print them as lines, so each is marked once."""
    assert _mlgitops("init", cwd=git_repo).returncode == 0
    spec = git_repo / "pipelines" / "tumors.yaml"
    text = spec.read_text()
    spec.write_text(
        text.replace("max_drop: 0.01}", "max_drop: a lot}").replace("seed: 42", "seed: x")
    )
    actions = {"GITHUB_ACTIONS": "true"}
    lines = [
        "pipelines/tumors.yaml:9:34: data.split.seed: expected an integer, got 'x'",
        "pipelines/tumors.yaml:16:34: gates.roc_auc.max_drop: expected a number, got 'a lot'",
    ]
    result = _mlgitops("render", "--check", cwd=git_repo, env=actions)
    assert (result.returncode, result.stdout) == (2, "")
    marks = [
        "::error file=pipelines/tumors.yaml,line=9,col=34::" + lines[0],
        "::error file=pipelines/tumors.yaml,line=16,col=34::" + lines[1],
    ]
    assert result.stderr.splitlines() == [
        *marks,
        "mlgitops: 2 problem(s) in the specs; nothing written",
    ]
    for verb in (["validate", "tumors"], ["plan", "--files", "data/tumors.csv"]):
        result = _mlgitops(*verb, cwd=git_repo, env=actions)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr.splitlines() == [
            *lines,
            "mlgitops: 2 problem(s) in the specs; nothing written",
        ]
    result = _mlgitops("render", "--check", cwd=git_repo, env={"GITHUB_ACTIONS": ""})
    assert result.stderr.splitlines()[:2] == lines


def test_data_and_schema_linked_from_outside_the_repository_are_refused(
    git_repo: Path, tmp_path: Path
) -> None:
    """``data.path`` may be neither absolute nor leave the repository, but a committed link
    could: validate read a pull request's link to /etc/passwd, and quoted the file's lines
    in its report. Such a link is refused where it is named; a link within the repository
    is read as its file."""
    assert _mlgitops("init", cwd=git_repo).returncode == 0
    data = git_repo / "data" / "tumors.csv"
    outside = tmp_path / "outside.csv"
    outside.write_bytes(data.read_bytes())
    inside = git_repo / "data" / "copy.csv"
    inside.write_bytes(data.read_bytes())
    data.unlink()
    data.symlink_to(inside)
    result = _mlgitops("validate", "tumors", "--format", "none", cwd=git_repo)
    assert result.returncode == 0, result.stderr
    data.unlink()
    data.symlink_to(outside)
    for verb in (["validate", "tumors", "--format", "none"], ["train", "tumors"]):
        result = _mlgitops(*verb, cwd=git_repo)
        assert (result.returncode, result.stderr.splitlines()[-1]) == (
            2,
            f"mlgitops {verb[0]}: error: data/tumors.csv: a link to a file outside the "
            "repository, which a pipeline does not read",
        ), result.stderr
    result = _mlgitops("render", "--check", cwd=git_repo)  # marked where the spec names it
    assert (result.returncode, result.stderr.splitlines()[0]) == (
        2,
        "pipelines/tumors.yaml:6:9: data.path: 'data/tumors.csv' is a link to a file outside "
        "the repository, which a pipeline does not read",
    )
    data.unlink()
    data.write_bytes(outside.read_bytes())
    schema = git_repo / "schemas" / "tumors.yaml"
    (tmp_path / "schema.yaml").write_bytes(schema.read_bytes())
    schema.unlink()
    schema.symlink_to(tmp_path / "schema.yaml")
    result = _mlgitops("validate", "tumors", "--format", "none", cwd=git_repo)
    assert (result.returncode, result.stderr) == (
        2,
        "mlgitops validate: error: schemas/tumors.yaml: a link to a file outside the "
        "repository, which a pipeline does not read\n",
    )
