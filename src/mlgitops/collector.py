"""Python's cycle collector in a process that runs one command and exits.

Importing pandas, pyarrow, pandera and scikit-learn creates some 150,000
objects that live until the process ends. With the default thresholds the
collector walks them over and over while they are imported, and the
interpreter walks them once more as it shuts down: together about a tenth of
a short command's time. So, in the console script only (never in the process
of a caller of :func:`mlgitops.cli.main`):

- nothing is collected while the CLI is imported and parses its arguments;
- young collections are rarer (:data:`YOUNG_GENERATION` allocations apart, not 700);
- inside :func:`paused` (a stage's set-up: importing its libraries, reading
  what it keeps until the end) nothing is collected, and what exists
  afterwards is frozen, so that later collections skip it;
- at exit, the survivors are frozen too: there is nothing left to reclaim.

Collections stay on otherwise, so work that streams data (``validate`` of a
file larger than memory) keeps reclaiming what each chunk leaves behind.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between two young-generation collections in a one-command process.
YOUNG_GENERATION = 50_000
_one_command = False


def for_one_command() -> None:
    """Tune the collector for a process that runs this one command and exits: what exists
    now (the CLI's modules, the parsed arguments) is frozen, and collecting resumes (the
    console script starts with it paused: :func:`mlgitops.__main__.main`)."""
    import atexit

    global _one_command
    _one_command = True
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)
    gc.freeze()
    gc.enable()
    atexit.register(gc.freeze)


def for_a_server() -> None:
    """A process that runs until it is stopped keeps the collector's defaults: it collects
    again, as before the console script paused it."""
    gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """No collection inside the block, and what exists after it is never walked again.

    For a stage's set-up whose objects live until the process ends; a no-op
    unless :func:`for_one_command` was called (and inside another ``paused``).
    """
    if not _one_command or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
