"""The one family of expected failures, and the exit codes they map to.

Anything raised that is not a :class:`MlgitopsError` is a bug (exit 3).
"""

from __future__ import annotations

from collections.abc import Iterable

from mlgitops.record import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
#: The reader of the output went away (``mlgitops doctor | head -1``), as a shell reports SIGPIPE.
EXIT_PIPE_CLOSED = 141


@record(order=True)
class Problem:
    """One problem at one place in one file; sorts by file, line, column."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class MlgitopsError(Exception):
    """Base of every expected failure. ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_BAD_INPUT


class BadInput(MlgitopsError):
    """The user's input (arguments, spec, data, environment) cannot be used."""

    exit_code = EXIT_BAD_INPUT


class SpecError(BadInput):
    """One or more problems in spec files, reported all together and sorted."""

    def __init__(self, problems: Iterable[Problem], document: Any = None) -> None:
        self.problems = sorted(set(problems))
        #: The parsed YAML document the problems are in, when it parsed at all.
        self.document = document
        super().__init__("\n".join(str(p) for p in self.problems))


class DataError(BadInput):
    """Data that cannot be read at all (missing, empty, malformed, unreachable)."""


class CheckFailed(MlgitopsError):
    """An expected negative outcome: a gate, a drift check or ``--check`` failed."""

    exit_code = EXIT_FAILED


class ServiceError(MlgitopsError):
    """An external service (MLflow, GitHub, git remote, cluster) refused or failed."""

    exit_code = EXIT_BAD_INPUT


def file_problem(exc: OSError) -> str:
    """A file the command was given or had to write, and what the system said of it (a
    folder where a file goes, a file where a folder goes, no permission, a link loop)."""
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' -> '.join(names)}: {exc.strerror or exc}"


def first_line(exc: BaseException) -> str:
    """The first line of what ``exc`` says (its type's name where it says nothing): a
    library's error, quoted in one of mlgitops' own."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
