"""Where each stage leaves its results for the next (the hand-off folder).

``<repo>/.mlgitops/<pipeline>/`` unless ``--output`` or ``$MLGITOPS_OUTPUT``
says otherwise. Every file is documented in docs/outputs.md:

======================  ==========  ==========================================
file                    written by  holds
======================  ==========  ==========================================
validation.json         validate    the failure report (schema in the package)
validation.md           validate    its Markdown section for the PR comment
datadiff.json/.md       validate    schema and data-profile diff vs the base
train.json              train       run id, content key, hashes, metrics, URIs
holdout.parquet         train       the holdout rows (features and target)
predictions.parquet     train       holdout predictions of the candidate
reference.json          train       training-data profile (drift reference)
training_rows.parquet   train       fingerprints of the rows it trained on
budget.json             train       where it stopped at the GPU budget
verdict.json            compare     the versioned verdict document
report.md               report      the rendered PR comment
failed.json             train,      the stage that stopped with an error, and why
                        compare
======================  ==========  ==========================================
"""

from __future__ import annotations

import os
from pathlib import Path

from mlgitops.record import record

OUTPUT_ENV = "MLGITOPS_OUTPUT"
#: drift's training profile: a hand-off file of ``train``, logged on its run
REFERENCE = "reference.json"
DEFAULT_DIR = ".mlgitops"
#: The hand-off files the PR workflow's check job writes (validate), and so the only ones
#: its artifact carries and the report job takes from it (docs/security.md#artifacts).
VALIDATE_FILES = ("validation.json", "validation.md", "datadiff.json", "datadiff.md")
#: Likewise for its train job (train, then compare): no Parquet, which holds data rows.
TRAIN_FILES = ("train.json", REFERENCE, "verdict.json", "budget.json", "failed.json")
#: The column of the hand-off files that holds each row's 1-based record number in the file
#: it came from; no data column may have this name (specs and schemas refuse it).
ROW = "__row__"
#: What a schema or spec declaring a data column named :data:`ROW` is told.
ROW_RESERVED = (
    f"column {ROW!r} is the name mlgitops gives each row's number in the hand-off files; "
    "rename the column"
)


@record
class Outputs:
    folder: Path

    @classmethod
    def for_pipeline(cls, repo: Path, name: str, override: Path | None = None) -> Outputs:
        if override is not None:
            return cls(override)
        env = os.environ.get(OUTPUT_ENV)
        if env:
            return cls(Path(env) / name)
        return cls(repo / DEFAULT_DIR / name)

    def path(self, filename: str) -> Path:
        return self.folder / filename

    @property
    def validation_json(self) -> Path:
        return self.folder / "validation.json"

    @property
    def validation_md(self) -> Path:
        return self.folder / "validation.md"

    @property
    def train_json(self) -> Path:
        return self.folder / "train.json"

    @property
    def holdout(self) -> Path:
        return self.folder / "holdout.parquet"

    @property
    def predictions(self) -> Path:
        return self.folder / "predictions.parquet"

    @property
    def reference(self) -> Path:
        return self.folder / REFERENCE

    @property
    def training_rows(self) -> Path:
        return self.folder / "training_rows.parquet"

    @property
    def verdict_json(self) -> Path:
        return self.folder / "verdict.json"

    @property
    def report_md(self) -> Path:
        return self.folder / "report.md"

    @property
    def failed_json(self) -> Path:
        return self.folder / "failed.json"


def record_failure(outputs: Outputs, pipeline: str, stage: str, exc: BaseException) -> None:
    """``failed.json``: the stage that stopped with an error, and its message, for the report
    (which says "training failed" rather than "not trained"). An earlier stage's record is
    kept: ``compare`` fails after a failed ``train`` because there is no candidate, and the
    reason is train's. Best effort: the error itself is what the caller raises."""
    import contextlib
    import json

    from mlgitops import fsio
    from mlgitops.cli import answer
    from mlgitops.errors import EXIT_BUG

    if failed_stage(outputs) not in (None, stage):
        return
    found = answer(stage, exc)  # what the command answers: its exit code and its words
    code, message = (
        EXIT_BUG,
        f"an unexpected error in mlgitops ({type(exc).__name__}): see the job's log",
    )
    if found is not None:
        code, message = found[0], "; ".join(found[1])
    doc = {
        "schema_version": 1,
        "pipeline": pipeline,
        "stage": stage,
        "exit_code": code,
        "message": message[:1000],
    }
    with contextlib.suppress(OSError):  # the folder may be what failed
        fsio.write_atomic(outputs.failed_json, (json.dumps(doc, indent=2) + "\n").encode())


def set_github_outputs(values: dict[str, str]) -> None:
    """Append ``key=value`` lines to ``$GITHUB_OUTPUT`` when it is set."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            if "\n" in value:
                delimiter = f"ghadelim_{os.urandom(8).hex()}"
                handle.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                handle.write(f"{key}={value}\n")


def failed_stage(outputs: Outputs) -> str | None:
    """The stage ``failed.json`` names (None: there is none, or it cannot be read)."""
    from mlgitops import jsondoc
    from mlgitops.errors import BadInput

    try:
        stage = jsondoc.loads(outputs.failed_json.read_bytes(), "failed.json").get("stage")
    except (OSError, ValueError, AttributeError, BadInput):
        return None
    return stage if isinstance(stage, str) else None


def shown(path: Path, root: Path) -> str:
    """``path`` as messages show it: relative to the repository ``root`` where it is inside,
    else as given."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
