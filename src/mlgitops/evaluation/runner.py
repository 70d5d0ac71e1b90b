"""The runner of :mod:`mlgitops.evaluation.apart`: the program that imports the libraries
a model needs once, and forks a process for each model, which loads that model alone.

    python -P -m mlgitops.evaluation.runner FOLDER CALLER

(``CALLER``: the pid of the process that asks it; the runner ends when that one has)
imports the libraries first, then answers one request a line on its standard
input (a JSON object: the model's folder, the features' Parquet file or none,
the folder for the outputs, and the seconds the model has to answer, or none)
with one JSON line on the descriptor its standard output was at start: what the
model says its feature names are, the error it raised, or how its process ended
without an answer. A model that gives no answer in its time is ended, with what
it left running, and that is its error. What the model's own code prints goes to
the standard error.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: The longest answer line a model's process is read for.
_ANSWER_LIMIT = 1 << 20
#: prctl(2)'s options: the signal a process gets when its parent ends; whether the process
#: may be traced (and dumped) by others of its user; whether the orphans of its descendants
#: become its children.
_PR_SET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 1, 3, 4, 36
FEATURES, PREDICTED, PROBA, CLASSES = (
    "features.parquet",
    "predictions.parquet",
    "proba.parquet",
    "classes.json",
)


def home_environment(home: Path) -> dict[str, str]:
    """What points into ``home``: the home, temporary folder and MLflow store (MLflow looks
    the model's id up in a store as it loads it; this one is empty, and names no server)."""
    return {
        "HOME": str(home),
        "TMPDIR": str(home),
        "MLFLOW_TRACKING_URI": (home / "mlruns").as_uri(),
    }


def main(argv: list[str]) -> int:
    """The runner: import, then answer each request from the process of its model, forked
    for it, until the input ends."""
    caller = int(argv[1])  # named by the caller: it may have ended before now
    import pandas  # noqa: F401  (imported ahead, with MLflow and scikit-learn)
    from mlflow.models import Model  # noqa: F401

    from mlgitops.evaluation.deployed import load_flavor  # noqa: F401
    from mlgitops.evaluation.handoff import model_outputs  # noqa: F401
    from mlgitops.frames import write_frame  # noqa: F401

    with contextlib.suppress(ImportError):  # what unpickling most models imports first
        import sklearn.base  # noqa: F401
    # Python 3.12 warns at each fork of a process that runs threads: the runner's are the
    # idle pools the libraries start as they load (OpenBLAS's, Arrow's allocator's), which
    # ready themselves for a fork (their fork handlers), and the runner gives them no work.
    # The warning would pass for the last words of a model whose process ends silently.
    warnings.filterwarnings(
        "ignore", r"This process \(pid=\d+\) is multi-threaded, use of fork\(\)", DeprecationWarning
    )
    work = Path(argv[0])
    prctl(PR_SET_DUMPABLE, 0)  # no model's process traces the runner, nor another's
    prctl(_PR_SET_CHILD_SUBREAPER, 1)  # what a model's process leaves comes to the runner
    threading.Thread(target=_orphaned, args=(caller, work), daemon=True).start()
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what models print is not an answer
    current: _Model | None = None
    for count, line in enumerate(sys.stdin):
        request = json.loads(line)
        if current is not None and (current.folder != request.get("model") or current.ended):
            current.end()
            current = None
        if request.get("model") is None:  # the caller is done with the model
            answer: dict[str, Any] = {"names": None}
        else:
            if current is None:
                current = _Model(request["model"], work / f"model-{count}", answers.fileno())
            answer = current.ask(request)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    if current is not None:
        current.end()
    return 0


class _Model:
    """In the runner: the process forked to load the model in ``folder`` and answer the
    requests that name it, in ``home`` (removed when it ends)."""

    def __init__(self, folder: str, home: Path, answers: int) -> None:
        self.folder, self.home, self.ended = folder, home, False
        home.mkdir()
        asked, asking = os.pipe()
        replying, replied = os.pipe()
        runner = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover  (the forked process: coverage is not written)
            # ends with the runner (stopped while a model hangs, or killed)
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != runner:  # it ended already
                os._exit(1)
            os.close(asking)
            os.close(replying)
            os.close(answers)
            _model_process(home, asked, replied)
        os.close(asked)
        os.close(replied)
        self._requests = os.fdopen(asking, "w", encoding="utf-8")
        self._replies = os.fdopen(replying, "rb", buffering=0)  # read against a deadline
        self._pending = b""

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """The model's process's answer to ``request``; or, where it gives none, how that
        process ended."""
        limit = request.get("limit")
        limit = limit if isinstance(limit, int | float) and limit > 0 else None
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
            line = self._reply(limit)
        except OSError:  # it ended before reading the request
            line = b""
        if line is None:
            how = self.end()
            return {"error": f"it gave no answer within {limit:g} s, and was ended ({how})"}
        try:
            answer = json.loads(line)
        except (ValueError, RecursionError):
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            return {"error": answer["error"][:500]}
        if isinstance(answer, dict) and "names" in answer:
            names = answer["names"]
            if names is None or (
                isinstance(names, list) and all(isinstance(n, str) for n in names)
            ):
                return {"names": names}
        return {"ended": self.end()}

    def _reply(self, limit: float | None) -> bytes | None:
        """The model's process's answer line (at most :data:`_ANSWER_LIMIT` bytes; b"" where
        it ended first); None where it gave none within ``limit`` seconds.

        The pipe's end is not the only sign that the process ended: a process it started
        holds the pipe open after it. So the wait is cut into :data:`_LOOK_S` slices, and
        after each the runner looks whether the model's process has ended (without reaping
        it); what it wrote before it ended is read first."""
        deadline = None if limit is None else time.monotonic() + limit
        gone = False
        while b"\n" not in self._pending and len(self._pending) < _ANSWER_LIMIT:
            wait = _LOOK_S if deadline is None else min(_LOOK_S, deadline - time.monotonic())
            if not select.select([self._replies], [], [], max(0.0, wait))[0]:
                if gone:  # it ended, and all it wrote is read
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                gone = self._has_ended()
                continue
            chunk = self._replies.read(1 << 16)
            if not chunk:
                break
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line[:_ANSWER_LIMIT]

    def _has_ended(self) -> bool:
        """Whether the model's process has ended (it stays to be reaped by :meth:`end`)."""
        try:
            found = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return found is not None

    def end(self) -> str:
        """Ends the model's process, and every process it left, and says how it ended."""
        with _ENDING:  # not while an orphaned runner ends them all (then never)
            return self._end()

    def _end(self) -> str:
        if not self.ended:
            self.ended = True
            with contextlib.suppress(OSError):
                self._requests.close()
            self._replies.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)  # it answered all it was asked
            _, status = os.waitpid(self.pid, 0)
            _end_leftovers()
            shutil.rmtree(self.home, ignore_errors=True)
            code = os.waitstatus_to_exitcode(status)
            self.how = f"exit code {code}" if code >= 0 else f"signal {-code}"
        return self.how


def _orphaned(caller: int, work: Path) -> None:
    """In the runner, beside its requests: once the process that asks it has ended (killed
    while a model worked, so that the runner's input never ends), ends every model's
    process and what they left, removes its folder and ends. A model that hangs would
    otherwise hold the runner, and itself, for good."""
    while os.getppid() == caller:
        time.sleep(_WATCH_S)
    _ENDING.acquire()  # for good: no model is ended, or reaped, by the requests' thread now
    _end_leftovers()
    shutil.rmtree(work, ignore_errors=True)
    os._exit(1)


#: How often the runner looks whether the process that asks it still runs.
_WATCH_S = 0.5
#: How often the runner, waiting for a model's answer, looks whether its process ended.
_LOOK_S = 0.25
#: Held while a model's process and what it left are ended, by one thread at a time.
_ENDING = threading.Lock()


def _end_leftovers() -> None:
    """In the runner: ends the processes a model's process left, which came to the runner
    as its children (a subreaper's), until none is left."""
    for _ in range(100):
        children = _children()
        if not children:
            return
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _children() -> list[int]:
    """The runner's child processes, as ``/proc`` lists them (none where there is none)."""
    me, found = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_bytes()
            except OSError:
                continue  # ended meanwhile
            fields = stat.rsplit(b")", 1)[-1].split()
            if len(fields) > 1 and int(fields[1]) == me:
                found.append(int(entry.name))
    return found


def prctl(option: int, value: int) -> int:
    """prctl(2) with one argument: its result (-1 where it failed, or there is none)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0))
    except (OSError, AttributeError):
        return -1


def _model_process(home: Path, asked: int, replied: int) -> None:
    """The forked process of one model: answers each request read from ``asked`` on
    ``replied``, working in ``home``, then ends. Nothing of the runner's input or answers
    reaches the model."""
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.chdir(home)
        os.environ.update(home_environment(home))
        tempfile.tempdir = None  # the next temporary file goes under the new TMPDIR
        loaded: dict[str, Any] = {}
        with os.fdopen(asked, "rb") as requests:
            for line in requests:
                try:
                    answer: dict[str, Any] = {"names": _serve(json.loads(line), loaded)}
                except Exception as exc:  # the model's own code: anything it raises is its refusal
                    traceback.print_exc()
                    last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
                    answer = {"error": last[:500]}
                data = (json.dumps(answer) + "\n").encode()
                while data:
                    data = data[os.write(replied, data) :]
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    finally:  # what the model's code raised past an answer (an exit) ends it without one
        os._exit(0)


def _serve(request: dict[str, Any], loaded: dict[str, Any]) -> list[str] | None:
    import pandas as pd
    from mlflow.models import Model

    from mlgitops.evaluation.deployed import load_flavor
    from mlgitops.evaluation.handoff import model_outputs
    from mlgitops.frames import write_frame

    folder = str(request["model"])
    if folder not in loaded:
        # the folder's own MLmodel names its flavors (MLflow's model info would ask a server)
        loaded[folder] = load_flavor(folder, Model.load(folder))
    model = loaded[folder]
    known = getattr(model, "feature_names_in_", None)
    names = None if known is None else [str(n) for n in known]
    if request.get("features") is None:
        return names
    out = Path(request["out"])
    out.mkdir(parents=True, exist_ok=True)
    features = pd.read_parquet(request["features"])
    values, given, classes = model_outputs(model, features, proba=True)
    write_frame(pd.DataFrame({"y_pred": values}), out / PREDICTED)
    if given is not None and classes is not None:
        columns = {str(i): given[:, i] for i in range(given.shape[1])}
        write_frame(pd.DataFrame(columns), out / PROBA)
        native = [k.item() if isinstance(k, np.generic) else k for k in classes]
        (out / CLASSES).write_text(json.dumps(native), "utf-8")
    return names


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
