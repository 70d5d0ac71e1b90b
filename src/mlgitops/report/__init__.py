"""The pull-request report: Markdown built from the hand-off documents, and its posting.

Pure parts: :mod:`.render` (documents -> Markdown, with the sections of
:mod:`.metrics`, :mod:`.gates`, :mod:`.data` and :mod:`.lineage`),
:mod:`.markdown` (escaping, the clean cut), :mod:`.chart` (Mermaid),
:mod:`.promotion` (the overlay change), :mod:`.documents` (schema checks),
:mod:`.context` (where it goes).
:mod:`.handoff` reads the hand-off folder into the report's input;
:mod:`.deliver` writes the job summary and posts the comment and the status,
through :mod:`.publish` and :class:`mlgitops.github.GitHub`.
"""

from __future__ import annotations

from mlgitops.report.render import ReportInput, marker, outcome, render

__all__ = ["ReportInput", "marker", "outcome", "render"]
