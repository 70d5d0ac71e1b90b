"""The hand-off folder a report reads: its documents, each schema-checked and masked, held
to describe one candidate, and the report's input made from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgitops import fsio
from mlgitops.errors import BadInput
from mlgitops.outputs import shown
from mlgitops.report.context import Target
from mlgitops.report.markdown import code, escape
from mlgitops.report.render import ReportInput
from mlgitops.spec import load_repo
from mlgitops.spec.model import Pipeline

#: The documents a report reads from the hand-off folder, each ``<kind>.json``.
KINDS = ("validation", "datadiff", "train", "verdict", "pr", "budget", "failed")
FORK_NOTE = (
    "This pull request comes from a fork, which never reaches the self-hosted GPU runners "
    "or this repository's secrets: data validation ran, training and comparison were skipped. "
    "A maintainer can run them by pushing the branch to this repository."
)


def read_documents(folder: Path, name: str, root: Path) -> dict[str, dict[str, Any] | None]:
    """The hand-off documents of the folder, each schema-checked and masked
    (:mod:`mlgitops.masking`); None for a missing one."""
    from mlgitops.jsondoc import read_bytes
    from mlgitops.masking import masked_values
    from mlgitops.report.documents import parse

    if not folder.is_dir():
        raise BadInput(
            f"{shown(folder, root)}: no such folder; run `mlgitops validate {name}` first"
        )
    docs: dict[str, dict[str, Any] | None] = {}
    for kind in KINDS:
        path = folder / f"{kind}.json"
        data = None
        if path.is_file() and not path.is_symlink():
            data = read_bytes(path, shown(path, root))  # its size checked first
        # Masked as failed.json is: a document written elsewhere (an older mlgitops, an
        # artifact) may quote a credential, and the comment is public.
        docs[kind] = (
            None if data is None else masked_values(parse(data, shown(path, root), kind, name))
        )
    return docs


def require_results(docs: Mapping[str, Any], folder: Path, root: Path) -> None:
    if all(docs[k] is None for k in ("validation", "train", "verdict", "budget", "failed")):
        raise BadInput(
            f"{shown(folder, root)}: no validation.json, train.json or verdict.json to report"
        )


def require_one_candidate(docs: Mapping[str, Any], folder: str, name: str) -> None:
    """The documents must describe one candidate: a stale hand-off is refused, never shown."""
    train, verdict, validation = docs["train"], docs["verdict"], docs["validation"]
    if verdict is not None:
        judged = verdict.get("candidate", {}).get("run_id")
        if train is None or judged != train.get("run_id"):
            trained = (
                "no train.json" if train is None else f"train.json is run {train.get('run_id')}"
            )
            raise BadInput(
                f"{folder}/verdict.json judges run {judged}, but {trained}: the verdict is "
                f"stale; run `mlgitops compare {name}` again"
            )
    # validation that refused the data or the spec hashed nothing: the report shows why
    if validation is not None and train is not None and validation.get("error") is None:
        validated, trained_on = validation.get("data_hash"), train.get("hashes", {}).get("data")
        if validated != trained_on:
            raise BadInput(
                f"{folder}/validation.json is for data {_short(validated)}, but the candidate "
                f"was trained on data {_short(trained_on)}: run `mlgitops validate {name}` again"
            )


def _short(digest: Any) -> str:
    return "(unrecorded)" if not digest else f"sha256:{str(digest)[:12]}"


def report_input(
    root: Path,
    pipeline: Pipeline,
    docs: Mapping[str, Any],
    where: Target,
    *,
    check_failed: bool = False,
) -> ReportInput:
    from mlgitops.report.promotion import promotion

    verdict = docs["verdict"]
    environment = pipeline.first_environment
    env_name = environment.name if environment else None
    text = None
    if env_name is not None:
        path = root / "manifests" / pipeline.name / "overlays" / env_name / "kustomization.yaml"
        data = fsio.read_bytes(path)
        text = None if data is None else data.decode("utf-8", errors="replace")
    baseline = (verdict or {}).get("baseline") or {}
    change = promotion(
        pipeline.name,
        env_name,
        text,
        gates_passed=None if verdict is None else bool(verdict["passed"]),
        candidate_run=(verdict or {}).get("candidate", {}).get("run_id"),
        deployed_run=baseline.get("run_id") if baseline.get("available") else None,
        candidate_digest=(docs["train"] or {}).get("model_digest"),
    )
    return ReportInput(
        pipeline.name,
        verdict,
        docs["validation"],
        docs["datadiff"],
        docs["train"],
        change,
        where.sha,
        where.commit_url,
        _notes(docs, where, check_failed),
        budget=docs.get("budget"),
        failed=docs.get("failed"),
        price=_price(root, pipeline),
        check_failed=check_failed,
    )


def _price(root: Path, pipeline: Pipeline) -> tuple[float, str] | None:
    """The GPU-hour price of the pipeline's pool (or the repository's), from mlgitops.yaml."""
    config = load_repo(root).config
    runners = config.runners
    price = runners.price(config.pool_for(pipeline.train.runs_on))
    return None if price is None else (price, runners.currency)


#: Why nothing trained where the PR workflow's check job failed.
CHECK_FAILED_NOTE = (
    "Training and comparison were skipped because the check job failed: "
    "`render --check` found generated files that are stale or edited by hand, or "
    "validate stopped; the job's log says which."
)


def _notes(docs: Mapping[str, Any], where: Target, check_failed: bool) -> tuple[str, ...]:
    if where.fork:  # nothing trained; where the check failed, not on the data, first that
        validation = docs["validation"]
        stopped = check_failed and (validation is None or validation["passed"])
        return (CHECK_FAILED_NOTE, FORK_NOTE) if stopped else (FORK_NOTE,)
    if docs.get("budget") is not None:
        return (escape(str(docs["budget"]["message"])) + ".",)
    if docs["verdict"] is not None:
        return ()
    validation = docs["validation"]
    if validation is not None and not validation["passed"]:
        return ("Training and comparison were skipped because data validation failed.",)
    if check_failed and docs.get("train") is None:
        return (CHECK_FAILED_NOTE,)
    failed = docs.get("failed")
    if failed is not None:
        return (
            f"`mlgitops {failed['stage']}` stopped (exit {int(failed['exit_code'])}): "
            f"{escape(' '.join(str(failed['message']).split()))}",
        )
    train = docs.get("train")
    if train is not None:
        run = code(str(train.get("run_id")))
        return (
            f"The candidate was trained (run {run}), but there is no verdict on it: "
            "compare stopped before judging it (in the pull request workflow, the train job's "
            "log says why). The check stays failed until a comparison passes.",
        )
    return ("There is no verdict yet: training and comparison have not run for this commit.",)
