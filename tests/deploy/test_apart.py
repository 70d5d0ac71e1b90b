"""The process that runs a model for deploy, on its own: what a model may do there."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlgitops
from mlgitops.evaluation.apart import Apart, ModelFailed, Outputs
from mlgitops.evaluation.runner import PR_GET_DUMPABLE, prctl
from tests.deploy.test_trust import _Payload, saved
from tests.fixtures.processes import alive, ended


def test_a_model_that_prints_more_than_a_pipe_holds_is_still_run(tmp_path: Path) -> None:
    """What a model prints (and MLflow's warnings) goes to a file: a full pipe that nobody
    reads would stop the child, and deploy would wait for it until the job times out."""
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    folder = saved(model, tmp_path / "model")
    code = (
        "(print('x' * 300_000), __import__('sys').stderr.write('y' * 300_000), "
        f"__import__('pickle').loads({pickle.dumps(model)!r}))[2]"
    )
    (folder / "model.pkl").write_bytes(pickle.dumps(_Payload(code)))
    got: dict[str, Any] = {}
    with Apart() as apart:

        def run() -> None:
            got["outputs"] = apart.run(folder, features, tmp_path / "out")

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=120)
        stuck = worker.is_alive()
    assert not stuck, "the model's process stopped, its output unread"
    outputs: Outputs = got["outputs"]
    assert outputs.values.tolist() == model.predict(features).tolist()
    assert np.allclose(outputs.proba, model.predict_proba(features))
    assert outputs.classes == [0, 1]


def _fitted(tmp_path: Path, label: str) -> tuple[Any, Path, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    return model, saved(model, tmp_path / label), features


def _loading(folder: Path, code: str, model: Any) -> None:
    """``folder``'s model runs ``code`` as it loads, then is ``model``."""
    wrapped = f"({code}, __import__('pickle').loads({pickle.dumps(model)!r}))[1]"
    (folder / "model.pkl").write_bytes(pickle.dumps(_Payload(wrapped)))


def test_each_model_runs_in_a_process_of_its_own_that_the_next_does_not_share(
    tmp_path: Path,
) -> None:
    """A model's code, run as it loads, changes its own process only: the next model (the
    one a reviewed model is judged against) loads where it never ran, no process the first
    left behind is still running, and no process can trace another (the caller's
    included) while models run. The model asked again answers from the process it loaded
    in."""
    model, first, features = _fitted(tmp_path, "first")
    _, second, _ = _fitted(tmp_path, "second")
    seen, left = tmp_path / "seen", tmp_path / "left"
    seen.mkdir()
    record = (
        f"__import__('pathlib').Path({str(seen)!r}, str(__import__('time').time_ns()))"
        ".write_text(__import__('json').dumps([__import__('os').getpid(), "
        "__import__('os').getppid(), __import__('os').getcwd(), "
        "hasattr(__import__('sklearn.linear_model', fromlist=['_']).LogisticRegression, "
        "'tampered'), __import__('ctypes').CDLL(None).prctl(3, 0, 0, 0, 0)]))"
    )
    tamper = (
        "setattr(__import__('sklearn.linear_model', fromlist=['_']).LogisticRegression, "
        "'tampered', True)"
    )
    # a process of its own, in a session of its own, that would outlive the model's
    leave = (
        "(__import__('os').fork() == 0 and (__import__('os').setsid(), "
        f"__import__('pathlib').Path({str(left)!r}).write_text(str(__import__('os').getpid())), "
        "__import__('time').sleep(120), __import__('os')._exit(0)))"
    )
    _loading(first, f"({record}, {tamper}, {leave})", model)
    _loading(second, record, model)
    with Apart() as apart:
        assert prctl(PR_GET_DUMPABLE, 0) == 0
        assert apart.names(first) == ["a", "b"]
        apart.run(first, features, tmp_path / "out-first")
        apart.run(second, features, tmp_path / "out-second")
        leftover = int(left.read_text())
        assert not alive(leftover)  # ended before the second model ran
    assert prctl(PR_GET_DUMPABLE, 0) == 1
    loads = [json.loads(p.read_text()) for p in sorted(seen.iterdir(), key=lambda p: int(p.name))]
    assert len(loads) == 2, loads  # the first model, asked twice, loaded once
    (pid1, runner1, cwd1, tampered1, dump1), (pid2, runner2, cwd2, tampered2, dump2) = loads
    assert (tampered1, tampered2) == (False, False)  # the first tampered after its record
    assert (dump1, dump2) == (0, 0)
    assert pid1 != pid2 and runner1 == runner2 not in (pid1, pid2, os.getpid())
    assert cwd1 != cwd2 and not Path(cwd1).exists() and not Path(cwd2).exists()


@pytest.mark.parametrize(
    "ending",
    [
        "__import__('os')._exit(3)",
        # its parent, the runner: never the tests' own process
        f"(lambda p: p != {os.getpid()} and __import__('os').kill(p, 9))(__import__('os').getppid())",
    ],
    ids=["the model's process", "the runner"],
)
def test_a_model_that_ends_its_process_fails_alone(tmp_path: Path, ending: str) -> None:
    """A model that ends its own process, or the runner, as it loads gives no outputs and
    says what it printed last; the model after it still runs."""
    model, broken, features = _fitted(tmp_path, "broken")
    _, plain, _ = _fitted(tmp_path, "plain")
    _loading(broken, f"(print('last words', flush=True), {ending})", model)
    with Apart() as apart:
        with pytest.raises(ModelFailed, match=r"^last words$"):
            apart.run(broken, features, tmp_path / "out-broken")
        outputs = apart.run(plain, features, tmp_path / "out-plain")
    assert outputs.values.tolist() == model.predict(features).tolist()


def test_a_model_that_ends_its_process_silently_says_how_it_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model whose process ends without a word fails with how it ended: nothing the
    runner printed meanwhile (Python 3.12's warning about forking a process that runs
    threads, printed at a runner's first fork) passes for the model's last words."""
    monkeypatch.setenv("LC_MLGITOPS_TEST", str(tmp_path))  # a runner of its own (a new one)
    model, broken, features = _fitted(tmp_path, "broken")
    _loading(broken, "__import__('os')._exit(3)", model)
    with Apart() as apart, pytest.raises(ModelFailed) as failed:
        apart.run(broken, features, tmp_path / "out")
    assert str(failed.value) == "its process ended (exit code 3)"


def test_a_model_that_never_answers_ends_with_its_runner(tmp_path: Path) -> None:
    """Without a time limit, a model that hangs holds its request until the runner is
    stopped (the job's own limit, or the caller's end); its process does not outlive the
    runner."""
    model, hanging, features = _fitted(tmp_path, "hanging")
    pid_file = tmp_path / "pid"
    hang = (
        f"(__import__('pathlib').Path({str(pid_file)!r}).write_text(str(__import__('os')"
        ".getpid())), __import__('time').sleep(600))"
    )
    _loading(hanging, hang, model)
    failed: list[Exception] = []
    with Apart() as apart:

        def run() -> None:
            try:
                apart.run(hanging, features, tmp_path / "out")
            except ModelFailed as exc:
                failed.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        deadline = time.monotonic() + 60
        while not pid_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        apart._runner.process.kill()  # what stopping a runner that does not answer comes to
        worker.join(timeout=30)
        assert not worker.is_alive() and len(failed) == 1
    assert ended(pid), "the model's process outlived its runner"


@pytest.mark.parametrize("when", ["loading", "predicting"])
def test_a_model_that_gives_no_answer_in_its_time_is_ended_with_what_it_left(
    tmp_path: Path, when: str
) -> None:
    """A model that hangs, as it loads or on the holdout, is ended at its time limit with
    the processes it started, and fails alone: deploy ends with that reason, where it
    waited for the job's own limit, or for ever on a developer's machine."""
    model, hanging, features = _fitted(tmp_path, "hanging")
    pids = tmp_path / "pids"
    hang = (  # a process of its own too, sleeping, then the model's process sleeps
        f"(__import__('pathlib').Path({str(pids)!r}).write_text(' '.join(map(str, ["
        "__import__('os').getpid(), __import__('subprocess').Popen([__import__('sys')"
        ".executable, '-c', 'import time; time.sleep(600)']).pid]))), "
        "__import__('time').sleep(600))"
    )
    if when == "loading":
        _loading(hanging, hang, model)
    else:  # loads at once, then hangs when asked for its predictions
        predicting = (
            f"(lambda m: (setattr(m, 'predict', lambda x: ({hang}, type(m).predict(m, x))[1]), "
            f"m)[1])(__import__('pickle').loads({pickle.dumps(model)!r}))"
        )
        (hanging / "model.pkl").write_bytes(pickle.dumps(_Payload(predicting)))
    _, working, _ = _fitted(tmp_path, "working")
    with Apart(limit=2) as apart:
        started = time.monotonic()
        with pytest.raises(ModelFailed) as failed:
            apart.run(hanging, features, tmp_path / "out")
        took = time.monotonic() - started
        outputs = apart.run(working, features, tmp_path / "out-working")  # the same runner
    assert str(failed.value) == "it gave no answer within 2 s, and was ended (signal 9)"
    assert took < 60, took  # the runner's imports, then the 2 s
    assert all(ended(int(pid)) for pid in pids.read_text().split())
    assert outputs.values.tolist() == model.predict(features).tolist()


@pytest.mark.parametrize("limit", [30.0, None], ids=["with a time limit", "without"])
def test_a_model_that_ends_while_a_process_it_started_holds_its_pipe_fails_at_once(
    tmp_path: Path, limit: float | None
) -> None:
    """A model whose process ends without an answer, leaving a process of its own that
    holds the pipe it answers on, fails as soon as its process has ended, with how it
    ended: where the runner waited for the pipe to close, it waited out the time limit
    and blamed the model's time (or, without a limit, waited for ever)."""
    model, leaving, features = _fitted(tmp_path, "leaving")
    pid_file = tmp_path / "pid"
    leave = (  # a forked process holds every file the model's process had open
        "(lambda pid: (pid == 0 and __import__('time').sleep(600), "
        f"pid and __import__('pathlib').Path({str(pid_file)!r}).write_text(str(pid)), "
        "__import__('os')._exit(0)))(__import__('os').fork())"
    )
    _loading(leaving, leave, model)
    _, working, _ = _fitted(tmp_path, "working")
    failed: list[BaseException] = []
    with Apart(limit=limit) as apart:

        def run() -> None:
            try:
                apart.run(leaving, features, tmp_path / "out")
            except ModelFailed as exc:
                failed.append(exc)

        started = time.monotonic()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=25)  # the runner's imports, then at once
        took = time.monotonic() - started
        if worker.is_alive():  # still waiting: stop it, so that the test ends
            apart._runner.process.kill()
            worker.join(timeout=30)
        assert took < 25 and [str(e) for e in failed] == ["its process ended (exit code 0)"]
        outputs = apart.run(working, features, tmp_path / "out-working")  # the same runner
    assert ended(int(pid_file.read_text()))
    assert outputs.values.tolist() == model.predict(features).tolist()


CALLER = """\
import sys
from pathlib import Path

import pandas as pd

from mlgitops.evaluation.apart import Apart

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
with Apart() as apart:
    apart.run(folder, pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]}), out)
"""


def test_a_runner_whose_caller_is_killed_ends_with_its_model(tmp_path: Path) -> None:
    """A deploy killed while a model hangs (``kill -9``, a runner's job cancelled) leaves
    neither the runner nor the model's process running, nor the runner's folder: nothing
    would ever read the runner's answer, and the model would hold its memory and GPU for
    good."""
    model, hanging, _ = _fitted(tmp_path, "hanging")
    pids, written = tmp_path / "pids", tmp_path / "pids.part"
    hang = (
        f"(__import__('pathlib').Path({str(written)!r}).write_text('%d %d' % "
        "(__import__('os').getpid(), __import__('os').getppid())), "
        f"__import__('os').replace({str(written)!r}, {str(pids)!r}), "
        "__import__('time').sleep(600))"
    )
    _loading(hanging, hang, model)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    source = Path(mlgitops.__file__).resolve().parents[1]  # the mlgitops under test
    env = {**os.environ, "PYTHONPATH": str(source), "TMPDIR": str(temporary)}
    left: list[int] = []
    with (tmp_path / "caller.log").open("wb") as log:
        caller = subprocess.Popen(
            [sys.executable, "-c", CALLER, str(hanging), str(tmp_path / "out")],
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 90
        while not pids.is_file() and time.monotonic() < deadline and caller.poll() is None:
            time.sleep(0.1)
        assert pids.is_file(), (tmp_path / "caller.log").read_text()
        model_pid, runner_pid = (int(p) for p in pids.read_text().split())
        left = [model_pid, runner_pid]
        assert list(temporary.glob("mlgitops-apart-*"))  # the runner's folder
        caller.kill()
        caller.wait()
        assert ended(runner_pid), "the runner outlived the process that asks it"
        assert ended(model_pid), "the model's process outlived the runner"
        left = []
        assert not list(temporary.glob("mlgitops-apart-*"))
    finally:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if caller.poll() is None:
            caller.kill()
            caller.wait()
