"""One module per CLI verb: ``configure(parser)`` and ``run(**arguments) -> int``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def seconds(most: float) -> Callable[[str], float]:
    """An ``argparse`` type: a number of seconds above 0 and at most ``most`` (not
    ``nan``, not ``inf``); anything else is a usage error naming the value."""
    import argparse
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not 0 < value <= most:
            raise argparse.ArgumentTypeError(
                f"expected a number of seconds above 0, at most {most:g}: {text!r}"
            )
        return value

    return parse


def pull_number(text: str) -> int:
    """An ``argparse`` type: a pull request's number, a whole number from 1."""
    import argparse

    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a pull request number (1, 2, ...): {text!r}")
    return int(text)


def utf8_name(text: str) -> str:
    """An ``argparse`` type: a file name or URL that is UTF-8 text (one that is not reaches
    Python as lone surrogates, which no report, all UTF-8, can write)."""
    import argparse

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise argparse.ArgumentTypeError(
            f"{shown}: the file name is not UTF-8; rename it"
        ) from None
    return text


def utf8_path(text: str) -> Path:
    """An ``argparse`` type: a path whose name is UTF-8 text (:func:`utf8_name`)."""
    return Path(utf8_name(text))
