"""The ``mlgitops`` command line: parse arguments, dispatch, map errors to exit codes (the
console script is :func:`mlgitops.__main__.main`, which runs :func:`main`).

Only the chosen verb's module is imported, and command modules import heavy
libraries inside their functions, so ``mlgitops --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mlgitops import __version__, collector, console
from mlgitops.errors import (
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    MlgitopsError,
    SpecError,
    file_problem,
)

#: verb -> one-line help. Each verb lives in ``mlgitops.commands.<verb>`` with
#: ``configure(parser)`` adding its arguments and ``run(**arguments) -> int``.
VERBS: dict[str, str] = {
    "init": "scaffold mlgitops.yaml, an example pipeline, schema and data",
    "adopt": "prepare an existing repository: .gitignore entries and mlgitops.yaml",
    "doctor": "check the environment: tracking server, registry, extras, GitHub token, runners",
    "render": "render workflows and manifests from pipelines/*.yaml",
    "plan": "show which pipelines and stages a change affects",
    "validate": "validate a pipeline's data against its schema",
    "train": "train a pipeline's model, tracked in MLflow, cached by content",
    "compare": "compare the candidate with the deployed model on the same holdout",
    "report": "post the sticky PR comment, job summary and commit status",
    "deploy": "register the model and commit the canary manifest for an environment",
    "promote": "promote the deployed model to the next environment, or a KServe canary a step",
    "rollback": "restore the previous model of an environment",
    "status": "show Argo CD sync and Argo Rollouts canary status",
    "drift": "compare recent data with the training reference",
    "serve": "serve a model with Prometheus metrics, as the generated manifests do",
    "demo": "run the whole pull-request-to-canary loop locally on embedded defaults",
}


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, as wide as the terminal. argparse makes one for every
    option it adds; its own asks :mod:`shutil` for the width, an import (with its
    compression modules) that took as long as argparse's own."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` finds it: ``COLUMNS``,
    else standard output's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgitops",
        description="ML pipelines declared in Git, delivered by GitOps.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"mlgitops {__version__}")
    parser.add_argument(
        "-C",
        "--repo",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="repository root (default: the current directory)",
    )
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    chosen = _verb(argv)
    for verb, help_text in VERBS.items():
        if chosen is None or verb == chosen:
            verb_parser = sub.add_parser(
                verb, help=help_text, description=help_text, formatter_class=_Formatter
            )
        if verb == chosen:
            _command(verb).configure(verb_parser)
    return parser


def _empty(argv: Sequence[str]) -> str | None:
    """The option (or "an argument") that ``argv`` gives an empty value, if one does."""
    for index, arg in enumerate(argv):
        if arg.startswith("--") and arg.endswith("=") and len(arg) > 3:
            return arg[:-1]
        if arg == "":
            before = argv[index - 1] if index else ""
            return before if before.startswith("-") else "an argument"
    return None


def _verb(argv: Sequence[str]) -> str | None:
    """The verb ``argv`` names, when it names one: only its parser is built then.

    Anything else before it than the repository (``--help``, ``--version``, a
    misspelt verb) gets every verb's parser, for the list of commands and
    argparse's choices."""
    args = iter(argv)
    for arg in args:
        option = arg.split("=", 1)[0]
        if option == "-C" or (len(option) > 2 and "--repo".startswith(option)):  # or --rep
            if "=" not in arg:
                next(args, None)
        elif arg.startswith("-C"):  # -CDIR
            continue
        else:
            return arg if arg in VERBS else None
    return None


def _command(verb: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"mlgitops.commands.{verb}")


#: Verbs that run until they are stopped: Python's collector keeps its defaults there.
_LONG_RUNNING = frozenset({"serve"})
#: Verbs that reach MLflow, its own client included: its TLS settings are checked first
#: (doctor reports them among its findings).
_REACH_MLFLOW = frozenset({"train", "compare", "deploy", "promote", "rollback", "drift", "serve"})


def main(argv: Sequence[str] | None = None) -> int:
    """The command ``sys.argv`` names as the whole process (``argv`` None: the console
    script's call), or ``argv`` in a caller's process."""
    args = list(sys.argv[1:] if argv is None else argv)
    empty = _empty(args)
    if empty is not None:  # '' would stand for the current folder, or for "not given"
        console.error_line(f"mlgitops: error: {empty} is empty: give it a value, or leave it out")
        return EXIT_BAD_INPUT
    namespace = _parser(args).parse_args(args)
    arguments = vars(namespace)
    verb = arguments.pop("verb")
    if argv is None:
        if verb in _LONG_RUNNING:
            collector.for_a_server()
        else:
            collector.for_one_command()
    console.begin_command()
    _forget_downloads()  # one made outside a command (a library call) is not this one's
    repo: Path = arguments["repo"]
    if not repo.is_dir() and (repo.exists() or verb != "init"):  # init makes its folder
        why = "not a folder" if repo.exists() else "no such folder"
        console.error_line(f"mlgitops {verb}: error: -C {repo}: {why}")
        return EXIT_BAD_INPUT
    try:
        with contextlib.ExitStack() as scope:
            if verb in _REACH_MLFLOW:
                from mlgitops.mlflow_env import progress_bars, tls_settings

                tls_settings(os.environ)
                scope.enter_context(progress_bars(os.environ, console.shows_progress()))
            scope.callback(_forget_downloads)
            _warn_if_outputs_tracked(repo)
            code: int = _command(verb).run(**arguments)
        return code
    except KeyboardInterrupt:
        console.error_line("mlgitops: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # what reads the output stopped reading: nothing to say to it
        _stdout_closed()
        return EXIT_PIPE_CLOSED
    except Exception as exc:
        found = answer(verb, exc)
        if found is None:
            return _bug(verb)
        code, said = found
        if not isinstance(exc, SpecError):
            console.error_line(f"mlgitops {verb}: error: {said[0]}")
            return code
        for problem, words in zip(exc.problems, said, strict=True):
            # in Actions, render's (which checks the specs) are shown on their lines of the
            # pull request's changes: one annotation each, where every verb's would repeat it
            if verb == "render" and console.in_actions():
                line, col = problem.line, problem.col
                shown = console.annotation("error", words, file=problem.path, line_no=line, col=col)
                console.error_line(shown)
            else:
                console.error_line(words)
        console.error_line(f"mlgitops: {len(said)} problem(s) in the specs; nothing written")
        return code


def _forget_downloads() -> None:
    """Delete the data this command downloaded (:mod:`mlgitops.data.http`, loaded only
    where it read a URL): the next command in this process reads each URL afresh."""
    downloads = sys.modules.get("mlgitops.data.http")
    if downloads is not None:
        downloads.forget()


def _stdout_closed() -> None:
    """Point standard output at nothing, so that the interpreter's flush at exit does not
    fail on the closed pipe again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def answer(verb: str, exc: BaseException) -> tuple[int, list[str]] | None:
    """The exit code and the words ``verb`` answers ``exc`` with (a spec error's problems,
    else one message), credentials masked; None where it is a bug in mlgitops (exit 3)."""
    found = _answer(verb, exc)
    if found is None:
        return None
    from mlgitops.masking import masked

    return found[0], [masked(line) for line in found[1]]


def _answer(verb: str, exc: BaseException) -> tuple[int, list[str]] | None:
    if isinstance(exc, SpecError):
        return exc.exit_code, [str(problem) for problem in exc.problems]
    if isinstance(exc, MlgitopsError):
        return exc.exit_code, [str(exc)]
    if isinstance(exc, ImportError):
        missing = missing_extra(verb, exc)
        return None if missing is None else (EXIT_BAD_INPUT, [missing])
    if isinstance(exc, OSError) and exc.filename is not None:  # else nothing the user named
        return EXIT_BAD_INPUT, [file_problem(exc)]
    return None


def _warn_if_outputs_tracked(repo: Path) -> None:
    from mlgitops.hygiene import warn_if_tracked

    warn_if_tracked(repo.resolve())


def _bug(verb: str) -> int:
    import traceback

    console.error_line(traceback.format_exc().rstrip())
    console.error_line(
        f"mlgitops {verb}: internal error (a bug in mlgitops {__version__}); "
        "please report it with the traceback above"
    )
    return EXIT_BUG


def missing_extra(verb: str, exc: ImportError) -> str | None:
    """The install hint when ``exc`` is a library of an extra that is not installed."""
    from mlgitops.extras import missing_message

    name = exc.name
    if not name:  # an import hook's own ImportError: "No module named 'x'" or "x is not ..."
        words = str(exc).replace("'", " ").split()
        name = words[3] if str(exc).startswith("No module named") and len(words) > 3 else None
        name = name or (words[0] if words else None)
    return missing_message(verb, name) if name and not _installed(name) else None


def _installed(module: str) -> bool:
    """Whether the top-level package is there (then the ImportError is something else,
    e.g. an incompatible version, and no ``pip install`` of the extra would help)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False
