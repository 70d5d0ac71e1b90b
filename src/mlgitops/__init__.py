"""mlgitops: ML pipelines declared in Git, delivered by GitOps."""

from __future__ import annotations

__version__ = "0.1.0"
