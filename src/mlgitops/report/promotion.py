"""What merging would commit: the ``MODEL_URI`` and ``MODEL_DIGEST`` lines of the first
environment's overlay.

Before the merge the registry has not assigned the version yet, so the new
line says ``models:/<name>/<next>``: the next version of the registered model,
which the deploy job creates from exactly the reviewed run. The digest is the
candidate's (train.json's ``model_digest``), the one deploy checks and writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgitops.errors import BadInput
from mlgitops.gitops.overlay import (
    MODEL_DIGEST,
    MODEL_DIGEST_KEY,
    MODEL_URI_KEY,
    Overlay,
    literal_line,
    read_model_digest,
    read_model_uri,
)
from mlgitops.report.markdown import code, escape

NEXT = "<next>"
#: The new digest where train.json names none in its form.
UNKNOWN_DIGEST = "<digest>"


@dataclass(frozen=True)
class Promotion:
    """The overlay change of a merge, or why there is none (``note``)."""

    environment: str | None
    path: str | None
    old_line: str | None = None
    new_line: str | None = None
    line_no: int | None = None
    note: str | None = None
    #: the ``MODEL_DIGEST=`` line: (old, new, line number); None where the overlay has none
    digest: tuple[str, str, int] | None = None


def promotion(
    pipeline: str,
    environment: str | None,
    kustomization: str | None,
    *,
    gates_passed: bool | None,
    candidate_run: str | None,
    deployed_run: str | None,
    candidate_digest: object = None,
) -> Promotion:
    """The change to ``manifests/<pipeline>/overlays/<environment>/kustomization.yaml``.

    ``kustomization`` is the overlay's current text (None: the file does not
    exist); ``gates_passed`` None means there is no verdict (nothing trained);
    ``candidate_digest``: train.json's ``model_digest`` (shown only in its form).
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
        digest = read_model_digest(kustomization, overlay)
    except BadInput as exc:
        return Promotion(
            environment,
            overlay.kustomization,
            note=f"the overlay cannot be read: {escape(str(exc))}",
        )
    uri_line = _changed(kustomization, overlay, MODEL_URI_KEY, uri, f"models:/{pipeline}/{NEXT}")
    if uri_line is None:
        return Promotion(
            environment, overlay.kustomization, note="the overlay's MODEL_URI line was not found."
        )
    new_digest = candidate_digest if isinstance(candidate_digest, str) else ""
    new_digest = new_digest if MODEL_DIGEST.fullmatch(new_digest) else UNKNOWN_DIGEST
    digest_line = None
    if digest is not None:
        digest_line = _changed(kustomization, overlay, MODEL_DIGEST_KEY, digest, new_digest)
    if digest_line is not None and digest_line[2] == uri_line[2]:  # one line: [URI=…, DIGEST=…]
        old, new, number = uri_line
        new = new.replace(f"{MODEL_DIGEST_KEY}={digest}", f"{MODEL_DIGEST_KEY}={new_digest}", 1)
        uri_line, digest_line = (old, new, number), None
    return Promotion(environment, overlay.kustomization, *uri_line, digest=digest_line)


def _changed(
    text: str, overlay: Overlay, key: str, old: str, new: str
) -> tuple[str, str, int] | None:
    """The line of the ``<key>=<old>`` literal: (old line, new line, line number)."""
    number = literal_line(text, overlay, key)
    lines = text.splitlines()
    if number is None or number > len(lines) or f"{key}={old}" not in lines[number - 1]:
        return None
    line = lines[number - 1]
    return line, line.replace(f"{key}={old}", f"{key}={new}", 1), number


def diff_lines(change: Promotion) -> list[str]:
    """The change as a unified diff of its lines (for a ```diff block)."""
    if change.old_line is None or change.new_line is None or change.path is None:
        return []
    assert change.line_no is not None
    changes = [(change.line_no, change.old_line, change.new_line)]
    if change.digest is not None and change.digest[0] != change.digest[1]:
        old, new, number = change.digest
        changes.append((number, old, new))
    changes.sort()
    lines = [f"--- a/{change.path}", f"+++ b/{change.path}"]
    hunks: list[list[tuple[int, str, str]]] = []
    for item in changes:  # adjacent lines make one hunk, as git shows them
        if hunks and hunks[-1][-1][0] + 1 == item[0]:
            hunks[-1].append(item)
        else:
            hunks.append([item])
    for hunk in hunks:
        first, size = hunk[0][0], len(hunk)
        span = str(first) if size == 1 else f"{first},{size}"
        lines.append(f"@@ -{span} +{span} @@")
        lines += [f"-{old}" for _, old, _ in hunk]
        lines += [f"+{new}" for _, _, new in hunk]
    return lines
