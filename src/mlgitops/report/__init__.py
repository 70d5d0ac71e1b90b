"""The pull-request report: Markdown built from the hand-off documents, and its posting.

Pure parts: :mod:`.render` (documents -> Markdown), :mod:`.markdown` (escaping,
the clean cut), :mod:`.chart` (Mermaid), :mod:`.promotion` (the overlay
change), :mod:`.documents` (schema checks), :mod:`.context` (where it goes).
:mod:`.publish` posts through :class:`mlgitops.github.GitHub`.
"""

from __future__ import annotations

from mlgitops.report.render import ReportInput, marker, outcome, render

__all__ = ["ReportInput", "marker", "outcome", "render"]
