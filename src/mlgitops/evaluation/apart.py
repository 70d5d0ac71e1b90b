"""Models' outputs, each model in a process of its own, which holds no credentials.

Loading a model runs code: unpickling a scikit-learn model runs whatever its
files say. The models ``deploy`` scores (the reviewed one, and the one deployed
before the merge) are files pull requests' jobs uploaded. No process that
holds credentials loads them, and no model is loaded where another was: the
reviewed model's code, run as it loads, could otherwise change how the model
it is judged against scores (patch the library both use).

A runner process imports the libraries a model needs once (seconds), then
forks a fresh process for each request, which loads one model and exits; the
runner itself never loads a model. What a model's process leaves running is
ended before the next model's process starts (the runner adopts it, as a
subreaper), and neither the runner nor a model's process can be traced by
another process of the user (they are not dumpable; nor is the caller while
they run), so one model's code cannot reach into the memory of the process
of the model it is judged against. Its environment keeps ``PATH``,
``PYTHONPATH`` (made absolute), the locale and the time zone and nothing else
(no GitHub token, no MLflow credentials, no runner variables); each forked
process works in an empty folder of its own (its working folder, home and
temporary folder), reads no request but its own, and is given the holdout's
features, not its target. It writes the model's outputs as files
(:data:`PREDICTED`, :data:`PROBA`, :data:`CLASSES`); the caller checks their
shape (:func:`read_outputs`) and scores them with compare's own code. The
runner is started once a process and environment: the next deploy in the same
process forks from it too.

A process of the same user can still read and write what that user can (the
checkout's persisted credential, the files another model's process reads),
and a process with ``CAP_SYS_PTRACE`` (root) can trace any: the generated
deploy workflow therefore runs the models in jobs of their own, which hold no
write permission and no deploy secret (docs/security.md).

The runner is :mod:`mlgitops.evaluation.runner`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from mlgitops.evaluation.runner import (
    CLASSES,
    FEATURES,
    PR_GET_DUMPABLE,
    PR_SET_DUMPABLE,
    PREDICTED,
    PROBA,
    home_environment,
    prctl,
)
from mlgitops.frames import write_frame

#: The last of what a model printed that is read for its message.
_PRINTED_LIMIT = 1 << 16
#: What the child's environment keeps of the parent's (besides ``LC_*``).
KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "SYSTEMROOT")


def _kept(environ: dict[str, str]) -> dict[str, str]:
    """What the child keeps of ``environ``: :data:`KEPT`, the locale, ``PYTHONPATH``."""
    kept = {k: v for k, v in environ.items() if k in KEPT or k.startswith("LC_")}
    if environ.get("PYTHONPATH"):  # where a model's own classes may import from (no secret),
        # made absolute: the child works in another folder
        parts = environ["PYTHONPATH"].split(os.pathsep)
        kept["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in parts if p)
    return kept


def child_environment(environ: dict[str, str], home: Path) -> dict[str, str]:
    """The child's environment: what :data:`KEPT` names, the locale, ``PYTHONPATH``, and
    ``home`` as its home, temporary folder and MLflow store, without MLflow's telemetry."""
    return {
        **_kept(environ),
        **home_environment(home),
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "MLFLOW_ENABLE_TELEMETRY": "false",
        "DO_NOT_TRACK": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class ModelFailed(Exception):
    """The model did not load, or did not predict; the message is its own last line."""


@dataclass(frozen=True)
class Outputs:
    """A model's outputs on ``rows`` rows: one value a row and, for a classifier that
    gives them, its class probabilities (one column a class, finite) and its classes."""

    values: Any
    proba: Any | None
    classes: list[Any] | None

    @property
    def rows(self) -> int:
        return len(self.values)


class _Runner:
    """The runner process (:mod:`mlgitops.evaluation.runner` run as a program)
    and the file its standard error, and what the models print, go to: a pipe nobody reads
    while a model works would stop it once full."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="mlgitops-apart-"))
        # written at its end whatever the writers do, read through a descriptor of its own
        with (self.work / "stderr.log").open("ab") as written:
            self.log: IO[bytes] = (self.work / "stderr.log").open("rb")
            self.broken = False
            program = [sys.executable, "-P", "-m", "mlgitops.evaluation.runner"]
            self.process = subprocess.Popen(
                [*program, str(self.work), str(os.getpid())],  # the runner ends with this one
                cwd=self.work,
                env=child_environment(environ, self.work),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=written,
                text=True,
                errors="replace",
            )

    def usable(self) -> bool:
        """Whether it may be asked: it runs, and answered every request it was asked."""
        return not self.broken and self.process.poll() is None

    def ask(self, request: dict[str, Any]) -> tuple[str, str]:
        """The runner's answer line to ``request`` ("" where it ended), and what was written
        to the standard error meanwhile (where it ended, all it wrote)."""
        self.broken = True  # until it answers: left while a model runs, it answers no one
        offset = os.fstat(self.log.fileno()).st_size
        stdin, stdout = self.process.stdin, self.process.stdout
        try:
            assert stdin is not None and stdout is not None
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            line = stdout.readline()
        except (OSError, ValueError):
            line = ""
        size = os.fstat(self.log.fileno()).st_size
        # ended: all it printed (its imports' error); at most the last part
        start = max(offset if line else 0, size - _PRINTED_LIMIT)
        self.log.seek(start)
        printed = self.log.read(size - start).decode("utf-8", "replace")
        self.broken = not line
        return line, printed

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()  # the runner ends at the end of its input
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


#: The runner of each environment this process started, and who may ask it.
_RUNNERS: dict[tuple[tuple[str, str], ...], _Runner] = {}
_LOCK = threading.Lock()


def _runner() -> _Runner:
    """The runner for this process's environment, started where there is none that can be
    asked (one a model ended, or left while a model ran, is stopped)."""
    with _LOCK:
        key = tuple(sorted(_kept(dict(os.environ)).items()))
        runner = _RUNNERS.get(key)
        if runner is not None and not runner.usable():
            runner.stop()
            runner = None
        if runner is None:
            runner = _RUNNERS[key] = _Runner(dict(os.environ))
        return runner


@atexit.register
def _stop_runners() -> None:
    with _LOCK:
        for runner in _RUNNERS.values():
            runner.stop()
        _RUNNERS.clear()


class Apart:
    """Models run each in a process of its own, forked from the runner (:class:`_Runner`),
    which is started on entering where this process has none: it imports the libraries
    a model needs while the caller gets the models and the holdout ready. One caller at a
    time. ``limit``: the seconds a model has to load, and to answer each request (None: no
    limit); one that gives no answer in time is ended, with what it left running, and
    fails (:class:`ModelFailed`)."""

    def __init__(self, limit: float | None = None) -> None:
        self._limit = limit

    def __enter__(self) -> Apart:
        self._dumpable = prctl(PR_GET_DUMPABLE, 0)
        prctl(PR_SET_DUMPABLE, 0)  # the models' processes cannot trace this one either
        self._runner = _runner()
        self._folder = tempfile.TemporaryDirectory(prefix="mlgitops-features-")
        self._asked = 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner.usable():
            self._runner.ask({"model": None})  # the last model's process ends, and its own
        if not self._runner.usable():
            with _LOCK:
                self._runner.stop()
        self._folder.cleanup()
        if self._dumpable > 0:
            prctl(PR_SET_DUMPABLE, self._dumpable)

    def names(self, folder: Path) -> list[str] | None:
        """The feature names the model in ``folder`` knows (scikit-learn's
        ``feature_names_in_``; None: it knows none); ModelFailed when it does not load."""
        return self._ask(folder, None, None)

    def run(self, folder: Path, features: Any, out: Path, *, finite: bool = True) -> Outputs:
        """The outputs of the model in ``folder`` on ``features`` (a data frame), also written
        to ``out`` and checked by :func:`read_outputs`; ModelFailed when it does not load or
        predict."""
        self._asked += 1
        given = Path(self._folder.name) / f"{self._asked}-{FEATURES}"
        write_frame(features, given)
        self._ask(folder, given, out)
        given.unlink()
        return read_outputs(out, len(features), finite=finite)

    def _ask(self, folder: Path, features: Path | None, out: Path | None) -> list[str] | None:
        from mlgitops import jsondoc
        from mlgitops.errors import BadInput

        if not self._runner.usable():  # a model ended it: the next model needs another
            self._runner = _runner()
        request: dict[str, Any] = {"model": str(folder), "limit": self._limit}
        request["features"] = features and str(features)
        request["out"] = out and str(out)
        line, printed = self._runner.ask(request)
        try:  # the runner relays what a model's process wrote: its code can write anything
            answer = jsondoc.loads(line, "the model's answer") if line else None
        except (ValueError, BadInput):
            answer = None
        if isinstance(answer, dict) and "error" in answer:
            raise ModelFailed(str(answer["error"]))
        if not isinstance(answer, dict) or not isinstance(answer.get("names", 0), list | None):
            lines = [line for line in printed.splitlines() if line.strip()]
            ended = answer.get("ended") if isinstance(answer, dict) else None
            raise ModelFailed(lines[-1].strip() if lines else f"its process ended ({ended})")
        names = answer["names"]
        return None if names is None else [str(n) for n in names]


#: What a model's predictions may hold once read, in bytes a holdout row (on average;
#: no label of a classifier's is near it), and at least :data:`OUTPUT_FLOOR` in all.
OUTPUT_BYTES_A_ROW = 1024
OUTPUT_FLOOR = 64 << 20
#: The classes whose probabilities are read at any holdout size; more where they take
#: at most :data:`OUTPUT_FLOOR` (8 bytes each).
CLASSES_A_ROW = 1024
#: The Parquet types a probability can be stored as.
_NUMBERS = frozenset({"BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE"})


def read_outputs(folder: Path, rows: int, *, finite: bool = True) -> Outputs:
    """A model's outputs as :meth:`Apart.run` wrote them to ``folder``, checked: one value
    for each of ``rows`` rows, and probabilities (if any) one column a class, all numbers
    where ``finite`` (the candidate's; a deployed model's that are not make its probability
    metrics undefined); ModelFailed otherwise. What a file declares (rows, types, sizes,
    the length of its text once read) is checked before it is read: a model's process
    writes them, and a file of a few kilobytes can declare gigabytes."""
    import pandas as pd

    from mlgitops import jsondoc
    from mlgitops.errors import BadInput

    wrong = (
        f"it does not give one prediction (and one probability a class) for each of the "
        f"{rows} holdout rows"
    )
    try:
        probabilities = (folder / PROBA).is_file() or (folder / CLASSES).is_file()
        _screen(folder / PREDICTED, rows, wrong)
        values = pd.read_parquet(folder / PREDICTED)["y_pred"].to_numpy()
        given, known = None, None
        if probabilities:
            known = jsondoc.read(folder / CLASSES, CLASSES)
            if isinstance(known, list):
                limit = max(CLASSES_A_ROW, OUTPUT_FLOOR // (8 * max(rows, 1)))
                if len(known) > limit:
                    raise ModelFailed(
                        f"it gives probabilities of {len(known):,} classes for each of the "
                        f"{rows:,} holdout rows: more than {limit:,} are not read"
                    )
            _screen(folder / PROBA, rows, wrong, numbers=True)
            given = pd.read_parquet(folder / PROBA).to_numpy(dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError, BadInput) as exc:
        raise ModelFailed(f"its outputs cannot be read ({exc})") from exc
    if (
        len(values) != rows
        or not _scalars(values)
        or (
            given is not None
            and (
                not isinstance(known, list)
                or given.shape != (rows, len(known))
                or (finite and not np.isfinite(given).all())
            )
        )
    ):
        raise ModelFailed(wrong)
    return Outputs(values, given, known)


def _screen(path: Path, rows: int, wrong: str, *, numbers: bool = False) -> None:
    """What the Parquet file at ``path`` declares, checked before it is read: ``rows``
    rows; one value a row in each column (no lists, no nested records), numbers where
    ``numbers``; and at most ``max(OUTPUT_FLOOR, rows * OUTPUT_BYTES_A_ROW)`` bytes, both
    as stored (uncompressed) and, for text, once each row's text is written out (a text
    stored once in a dictionary and named by every row is read as many times). Reading
    its text columns as dictionaries takes what is stored, and four bytes a row.
    ModelFailed otherwise."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    name = path.name
    budget = max(OUTPUT_FLOOR, rows * OUTPUT_BYTES_A_ROW)
    meta = pq.ParquetFile(path).metadata
    if meta.num_rows != rows:
        raise ModelFailed(f"{wrong} ({name} holds {meta.num_rows:,})")
    text, fixed = [], 0
    for i in range(meta.num_columns):
        column = meta.schema.column(i)
        kind = column.physical_type
        if column.max_repetition_level > 0 or column.max_definition_level > 1:
            raise ModelFailed(f"{wrong} ({name}: {column.path} is not one value a row)")
        if numbers and kind not in _NUMBERS:
            raise ModelFailed(f"{wrong} ({name}: {column.path} holds {kind}, not numbers)")
        if kind == "BYTE_ARRAY":
            text.append(column.path)
        elif kind == "FIXED_LEN_BYTE_ARRAY":
            fixed += rows * column.length
    stored = sum(
        meta.row_group(g).column(i).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for i in range(meta.num_columns)
    )
    written = fixed
    if text and max(stored, fixed) <= budget:
        table = pq.ParquetFile(path, read_dictionary=text).read(
            columns=text, use_pandas_metadata=False
        )
        for chunked in table.columns:
            for chunk in chunked.chunks:
                lengths = pc.take(pc.binary_length(chunk.dictionary), chunk.indices)
                written += pc.sum(lengths).as_py() or 0
    for what, size in (("stored", stored), ("once read", written)):
        if size > budget:
            raise ModelFailed(
                f"its {'predictions' if name == PREDICTED else 'probabilities'} hold "
                f"{size:,} bytes {what} ({name}), more than the {budget:,} read for "
                f"{rows:,} holdout rows ({OUTPUT_BYTES_A_ROW:,} bytes a row, and at least "
                f"{OUTPUT_FLOOR:,})"
            )


def _scalars(values: Any) -> bool:
    """Whether each prediction is one value (a number, a label), not a list or a mapping: a
    model's process writes its outputs, and its code can write anything."""
    if values.dtype != object:
        return bool(values.ndim == 1)
    return all(v is None or isinstance(v, str | int | float | np.generic) for v in values)
