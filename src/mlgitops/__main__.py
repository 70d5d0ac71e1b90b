"""``python -m mlgitops``, and the ``mlgitops`` console script (:func:`main`)."""

from __future__ import annotations

import gc


def main() -> int:
    """Run the command ``sys.argv`` names, as the whole process.

    Nothing is collected while the CLI's modules are imported and its arguments parsed:
    nearly all that creates (modules, classes, functions) lives until the process ends,
    and the collector walked it 14 or 15 times on the way (a twentieth of
    ``render --check``).
    :func:`mlgitops.cli.main` then tunes the collector for the command
    (:mod:`mlgitops.collector`).
    """
    gc.disable()
    from mlgitops.cli import main as command

    return command()


if __name__ == "__main__":
    raise SystemExit(main())
