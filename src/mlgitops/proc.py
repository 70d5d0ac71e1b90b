"""Subprocesses (git, kubectl, custom trainers) are started here and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mlgitops.errors import BadInput, ServiceError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:  # imported where a process starts: commands that start none skip it
    import subprocess


class SafeModulePath:
    """``with SafeModulePath():`` Python processes started meanwhile put no working folder
    on their module path (``PYTHONSAFEPATH``): the workers a library starts (joblib's
    ``python -m joblib.externals.loky...``, ``python -c ...``) run in the checkout, whose
    top-level packages a pull request writes (a ``joblib/`` of its own would run in their
    place)."""

    def __enter__(self) -> None:
        self.before = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"

    def __exit__(self, *exc: object) -> None:
        if self.before is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = self.before


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    lossless: bool = False,
    group: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a command; with ``check``, a non-zero exit is a ServiceError naming it.

    ``lossless``: what goes in and out passes byte for byte, read as :func:`os.fsdecode`
    reads file names (``os.fsencode`` gives the bytes back) and line ends as they are: a
    file name in any encoding is the name of its file, and a file's bytes are whatever
    they are. ``group``: the command runs in a process group of its own, and past
    ``timeout`` every process in it is killed (:class:`TimedOut`), not only the command.
    """
    import subprocess

    full_env = None if env is None else {**os.environ, **env}
    given = os.fsencode(input_text) if lossless and input_text is not None else input_text
    try:
        if group:
            result = _run_group(list(args), cwd, full_env, given, not lossless, capture, timeout)
        else:
            result = subprocess.run(
                list(args),
                cwd=cwd,
                env=full_env,
                input=given,
                text=not lossless,
                capture_output=capture,
                timeout=timeout,
                check=False,
            )
    except FileNotFoundError as exc:
        raise ServiceError(f"{args[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise TimedOut(f"{' '.join(args)}: timed out after {timeout}s") from exc
    if lossless:
        out, err = (os.fsdecode(b or b"") for b in (result.stdout, result.stderr))
        result = subprocess.CompletedProcess(result.args, result.returncode, out, err)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()
        raise ServiceError(f"`{' '.join(args)}` failed (exit {result.returncode}): {detail}")
    return result


class TimedOut(ServiceError):
    """A command ran past its timeout and was stopped."""


def _run_group(
    args: list[str],
    cwd: Path | None,
    env: Mapping[str, str] | None,
    given: str | bytes | None,
    text: bool,
    capture: bool,
    timeout: float | None,
) -> subprocess.CompletedProcess[str]:
    """The command in a process group of its own, stopped with everything it started where
    this process stops first: past ``timeout``, on any exception (Ctrl-C, the GPU budget's
    alarm), and on SIGTERM (a cancelled job), which a group of its own no longer receives."""
    import signal
    import subprocess
    import threading

    pipe = subprocess.PIPE if capture else None
    # Said before the command starts: a SIGTERM while it starts is held until its group
    # is known, then stops it (under the default, mlgitops alone ended, and it ran on).
    held: list[int] = []
    started = False

    def terminated(signum: int, frame: object) -> None:
        if not started:
            held.append(signum)
            return
        raise SystemExit(128 + signum)

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminated) if main else None
    try:
        try:
            child = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE if given is not None else None,
                stdout=pipe,
                stderr=pipe,
                text=text,
                start_new_session=True,
            )
        except BaseException:
            if held:  # it did not start: the termination is what this process says
                raise SystemExit(128 + held[0]) from None
            raise
        with child:
            try:
                started = True
                if held:
                    raise SystemExit(128 + held[0])
                out, err = child.communicate(given, timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(child.pid)  # the command and every process it started
                child.communicate()
                raise
            except BaseException:
                _kill_group(child.pid)
                raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    return subprocess.CompletedProcess(args, child.returncode, out, err)


def _kill_group(pid: int) -> None:
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(pid, signal.SIGKILL)


def git_names(*args: str, cwd: Path, check: bool = True) -> list[str]:
    """The file names ``git ARGS`` lists with ``-z`` among ``ARGS`` (``diff -z
    --name-only``, ``ls-files -z``): whole, never quoted, in git's order. Where git
    fails: a ServiceError, or without ``check`` none (outside a work tree)."""
    done = run(["git", *args], cwd=cwd, check=check, lossless=True)
    return [name for name in done.stdout.split("\0") if name] if done.returncode == 0 else []


def from_root(root: Path, paths: Iterable[str]) -> list[str]:
    """``paths`` named from the repository's top (as git's diff and GitHub's file lists name
    them), from ``root``, where the specs name their inputs; those outside ``root`` left
    out (no pipeline's input is there). Outside a work tree: as they are."""
    found = run(["git", "rev-parse", "--show-prefix"], cwd=root, check=False)
    prefix = found.stdout.strip() if found.returncode == 0 else ""
    return [path.removeprefix(prefix) for path in paths if path.startswith(prefix)]


def git_text(root: Path, ref: str, path: str) -> str | None:
    """The text of ``path`` (from ``root``) at commit ``ref``; None where it does not exist
    there (or ``ref`` does not); a BadInput naming ``ref:path`` where it is not UTF-8 text,
    or a folder (whose entries ``git show`` lists)."""
    shown = run(["git", "show", f"{ref}:./{path}"], cwd=root, check=False, lossless=True)
    if shown.returncode != 0:
        return None
    if shown.stdout.startswith(f"tree {ref}:./{path}\n\n") and _is_folder(root, ref, path):
        raise BadInput(f"{ref}:{path}: a folder, not a file")
    try:
        return os.fsencode(shown.stdout).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{ref}:{path}: not UTF-8 text ({exc.reason})") from exc


def _is_folder(root: Path, ref: str, path: str) -> bool:
    """Whether ``path`` at commit ``ref`` is a folder (a file may begin as a listing does)."""
    return git("cat-file", "-t", f"{ref}:./{path}", cwd=root, check=False) == "tree"


def git(*args: str, cwd: Path, check: bool = True, env: Mapping[str, str] | None = None) -> str:
    """``git ARGS`` in ``cwd``; its stdout without the trailing newline."""
    return run(["git", *args], cwd=cwd, check=check, env=env).stdout.rstrip("\n")


def head_commit(root: Path) -> str:
    """The commit ``HEAD`` names; BadInput where it names none (a repository with no commit
    yet), and git's own error where ``root`` is no repository."""
    found = git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=root, check=False)
    if found:
        return found
    if git("rev-parse", "--git-dir", cwd=root, check=False):
        raise BadInput(
            f"HEAD names no commit in {root}: the repository has none yet "
            "(commit its files, then run this again)"
        )
    return git("rev-parse", "HEAD", cwd=root)  # no repository: git says so


def git_to_file(*args: str, cwd: Path, dest: Path) -> bool:
    """``git ARGS`` with its stdout (bytes) streamed into ``dest``; False when git fails."""
    import subprocess

    with dest.open("wb") as handle:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, stdout=handle, stderr=subprocess.DEVNULL, check=False
            )
        except FileNotFoundError as exc:
            raise ServiceError("git: command not found") from exc
    return done.returncode == 0
