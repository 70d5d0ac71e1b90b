"""GitHub Actions expressions, built in one place.

Templates never write ``${{`` themselves: they call :func:`expr`, so that
Jinja's own delimiters and GitHub's cannot be confused.
"""

from __future__ import annotations


def expr(expression: str) -> str:
    """``expr("github.sha")`` -> ``${{ github.sha }}``."""
    return "${{ " + expression + " }}"
