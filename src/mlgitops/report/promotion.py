"""What merging would commit: the ``MODEL_URI`` line of the first environment's overlay.

Before the merge the registry has not assigned the version yet, so the new
line says ``models:/<name>/<next>``: the next version of the registered model,
which the deploy job creates from exactly the reviewed run.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgitops.errors import BadInput
from mlgitops.gitops.overlay import MODEL_URI_KEY, Overlay, read_model_uri
from mlgitops.report.markdown import code, escape

NEXT = "<next>"


@dataclass(frozen=True)
class Promotion:
    """The overlay change of a merge, or why there is none (``note``)."""

    environment: str | None
    path: str | None
    old_line: str | None = None
    new_line: str | None = None
    line_no: int | None = None
    note: str | None = None


def promotion(
    pipeline: str,
    environment: str | None,
    kustomization: str | None,
    *,
    gates_passed: bool | None,
    candidate_run: str | None,
    deployed_run: str | None,
) -> Promotion:
    """The change to ``manifests/<pipeline>/overlays/<environment>/kustomization.yaml``.

    ``kustomization`` is the overlay's current text (None: the file does not
    exist); ``gates_passed`` None means there is no verdict (nothing trained).
    """
    if environment is None:
        return Promotion(
            None, None, note="the pipeline has no deploy environments: merging deploys nothing."
        )
    overlay = Overlay(pipeline, environment)
    if gates_passed is None:
        return Promotion(
            environment,
            overlay.kustomization,
            note="nothing: no candidate was trained and compared.",
        )
    if not gates_passed:
        return Promotion(
            environment,
            overlay.kustomization,
            note="nothing: deploy refuses a candidate whose gates failed.",
        )
    if candidate_run is not None and candidate_run == deployed_run:
        return Promotion(
            environment,
            overlay.kustomization,
            note=f"nothing: run {code(candidate_run)} is already deployed to {environment}.",
        )
    if kustomization is None:
        return Promotion(
            environment,
            overlay.kustomization,
            note=f"{code(overlay.kustomization)} does not exist yet: run `mlgitops render`.",
        )
    try:
        uri = read_model_uri(kustomization, overlay)
    except BadInput as exc:
        return Promotion(
            environment,
            overlay.kustomization,
            note=f"the overlay cannot be read: {escape(str(exc))}",
        )
    old_literal = f"{MODEL_URI_KEY}={uri}"
    new_literal = f"{MODEL_URI_KEY}=models:/{pipeline}/{NEXT}"
    for number, line in enumerate(kustomization.splitlines(), start=1):
        if old_literal in line:
            return Promotion(
                environment,
                overlay.kustomization,
                line,
                line.replace(old_literal, new_literal),
                number,
            )
    return Promotion(
        environment, overlay.kustomization, note="the overlay's MODEL_URI line was not found."
    )


def diff_lines(change: Promotion) -> list[str]:
    """The change as a unified diff of the one line (for a ```diff block)."""
    if change.old_line is None or change.new_line is None or change.path is None:
        return []
    return [
        f"--- a/{change.path}",
        f"+++ b/{change.path}",
        f"@@ -{change.line_no} +{change.line_no} @@",
        f"-{change.old_line}",
        f"+{change.new_line}",
    ]
