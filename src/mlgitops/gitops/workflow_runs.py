"""A pull request's runs of its PR workflow on GitHub, and the results they uploaded: the
runs that may be its own (GitHub's runs name the head branch and commit, not the pull
request), and ``train.json`` and ``verdict.json`` from an upload. Deploy's anchor and the
reuse of a cached run both read them."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from mlgitops import jsondoc
from mlgitops.errors import BadInput, CheckFailed
from mlgitops.github import GitHub
from mlgitops.github.payloads import seconds_of

#: The most bytes a review's upload may hold: the train job's five hand-off documents, each
#: at most :data:`~mlgitops.jsondoc.MAX_BYTES`, with room to spare. More is no review's
#: results, and downloading it would take the memory of the job that reads it.
MAX_UPLOAD_BYTES = 8 * jsondoc.MAX_BYTES


def artifact_name(pipeline: str) -> str:
    """The PR workflow's upload of train.json and verdict.json (see pr.yml.j2)."""
    return f"mlgitops-{pipeline}-train"


def sharing_its_branch(client: GitHub, repo: str, pull: Mapping[str, Any]) -> list[Any]:
    """The other pull requests from the same branch into another base: GitHub's runs name
    the head branch and commit, not the pull request, so a run of theirs on the merged one's
    head commit (their base's workflow file, anything) would pass for its review."""
    number, branch, base = int(pull["number"]), str(pull["head"]["ref"]), pull["base"]["ref"]
    owner = repo.split("/", 1)[0]
    return [
        p
        for p in client.list_pulls(repo, state="all", head=f"{owner}:{branch}")
        if int(p["number"]) != number and (p.get("base") or {}).get("ref") != base
    ]


def open_at(pull: Mapping[str, Any], moment: float) -> bool:
    """Whether ``pull`` was open at ``moment`` (so a run then may be its own); when GitHub
    does not say, it may have been."""
    opened, closed = seconds_of(pull.get("created_at")), seconds_of(pull.get("closed_at"))
    return (opened is None or opened <= moment) and (closed is None or moment <= closed)


def pull_request_runs(
    client: GitHub, repo: str, pull: Mapping[str, Any], workflow: str
) -> list[tuple[dict[str, Any], float]]:
    """Runs of ``workflow`` (a path) that may be ``pull``'s own, with the moment each was
    created: runs for a ``pull_request`` event on its head commit and branch, from this
    repository (GitHub's runs name the head branch and commit, not the pull request: a run
    of the same commit on another branch is another pull request's, which ran its base's
    workflow file). Runs started while another pull request from the same branch into
    another base was open (:func:`sharing_its_branch`) are still among them: see
    :func:`apart`."""
    head, branch = str(pull["head"]["sha"]), pull["head"]["ref"]
    return [
        (run, started)
        for run in client.list_workflow_runs(repo, event="pull_request", head_sha=head)
        if run.get("path") == workflow
        and run.get("event") == "pull_request"
        and (run.get("head_repository") or {}).get("full_name") == repo
        and run.get("head_sha") == head
        and run.get("head_branch") == branch
        and (started := seconds_of(run.get("created_at"))) is not None
    ]


def apart(
    runs: list[tuple[dict[str, Any], float]], others: list[Any]
) -> list[tuple[dict[str, Any], float]]:
    """The runs not started while one of ``others`` (:func:`sharing_its_branch`) was open:
    those cannot be told from theirs."""
    return [(run, started) for run, started in runs if not any(open_at(o, started) for o in others)]


def uploaded_results(
    client: GitHub, repo: str, artifact: Mapping[str, Any], pipeline: str, what: str
) -> dict[str, bytes]:
    """train.json and verdict.json of ``pipeline`` from ``artifact`` (a run's listing of
    it): :func:`members` of its zip, which is not downloaded where GitHub gives it more
    than :data:`MAX_UPLOAD_BYTES`."""
    size = artifact.get("size_in_bytes")
    if isinstance(size, int) and size > MAX_UPLOAD_BYTES:
        raise BadInput(f"{what}: {_too_large(size, MAX_UPLOAD_BYTES)}")
    return members(client.download_artifact(repo, int(artifact["id"])), pipeline, what)


def _too_large(size: int, limit: int) -> str:
    return f"{size:,} bytes, more than any review's results ({limit:,}); nothing deployed"


def members(archive: bytes, pipeline: str, what: str) -> dict[str, bytes]:
    """train.json and verdict.json of ``pipeline`` from the artifact's zip: at its top, where
    the train job names each file it uploads, or in ``<pipeline>/`` in an artifact uploaded
    by a workflow that uploaded its whole hand-off folder."""
    wanted = ("train.json", "verdict.json")
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            names = zipped.namelist()
            out = {}
            for file in wanted:
                for candidate in (f"{pipeline}/{file}", file):
                    if candidate in names:
                        size = zipped.getinfo(candidate).file_size  # what zipfile unpacks
                        if size > jsondoc.MAX_BYTES:
                            too_large = _too_large(size, jsondoc.MAX_BYTES)
                            raise BadInput(f"{what}: {candidate} unpacks to {too_large}")
                        out[file] = zipped.read(candidate)
                        break
    except (
        zipfile.BadZipFile,
        OSError,
        RuntimeError,
        NotImplementedError,
        EOFError,
        zlib.error,
    ) as exc:
        # (encrypted, compressed in a way zipfile does not read, cut short)
        raise BadInput(f"{what}: not a zip archive ({exc})") from exc
    if "train.json" not in out:
        raise CheckFailed(f"{what} holds no {pipeline}/train.json; nothing deployed")
    return out
