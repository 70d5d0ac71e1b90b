"""Where a report goes: repository, pull request and head commit.

From arguments first, else from the GitHub event payload
(``$GITHUB_EVENT_PATH``) and ``$GITHUB_REPOSITORY``. For the ``workflow_run``
report workflow the head commit comes from the event (GitHub wrote it) and a
pull-request number from the artifact is only a claim: :func:`verified_pull`
checks it against the pull request GitHub knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlgitops.errors import BadInput
from mlgitops.github import GitHub

_SHA = re.compile(r"[0-9a-f]{40}")
_SLUG = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Target:
    """The report's destination; ``pr`` None: no comment, only status and summary."""

    repo: str | None
    pr: int | None
    sha: str | None
    fork: bool
    event: str | None
    run_url: str | None
    server_url: str
    #: ``owner:branch`` of the pull request's head, where the event says it
    head_label: str | None = None

    @property
    def commit_url(self) -> str | None:
        return (
            f"{self.server_url}/{self.repo}/commit/{self.sha}" if self.repo and self.sha else None
        )


def target(
    environ: Mapping[str, str],
    event: Mapping[str, Any],
    *,
    pr: int | None,
    sha: str | None,
    repo: str | None,
) -> Target:
    """The destination from arguments, then the event payload and environment."""
    name = environ.get("GITHUB_EVENT_NAME")
    slug = repo or environ.get("GITHUB_REPOSITORY") or None
    if slug is not None and not _SLUG.fullmatch(slug):
        raise BadInput(f"--github-repo: {slug!r} is not OWNER/REPO")
    found_pr, found_sha, fork, label = _from_event(name, event, slug)
    head = sha or found_sha
    if head is not None and not _SHA.fullmatch(head):
        raise BadInput(f"--sha: {head!r} is not a full 40-character commit SHA")
    server = (environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    run_id = environ.get("GITHUB_RUN_ID")
    run_url = f"{server}/{slug}/actions/runs/{run_id}" if slug and run_id else None
    return Target(slug, pr or found_pr, head, fork, name, run_url, server, label)


def _from_event(
    name: str | None, event: Mapping[str, Any], slug: str | None
) -> tuple[int | None, str | None, bool, str | None]:
    """The pull request, head commit, whether it comes from a fork, and its head's label."""
    if name in ("pull_request", "pull_request_target") and isinstance(
        event.get("pull_request"), dict
    ):
        pull = event["pull_request"]
        head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
        head_repo = _str((head.get("repo") or {}).get("full_name"))
        base_repo = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
        branch = _str(head.get("ref"))
        owner = head_repo.split("/", 1)[0] if head_repo else None
        label = _str(head.get("label")) or (f"{owner}:{branch}" if owner and branch else None)
        return _int(pull.get("number")), _str(head.get("sha")), head_repo != base_repo, label
    if name == "workflow_run" and isinstance(event.get("workflow_run"), dict):
        run = event["workflow_run"]
        head_repo = (run.get("head_repository") or {}).get("full_name")
        own = (event.get("repository") or {}).get("full_name") or slug
        return None, _str(run.get("head_sha")), head_repo != own, run_head_label(event)
    return None, None, False, None


def run_pulls(event: Mapping[str, Any]) -> list[int]:
    """The pull requests GitHub lists on a ``workflow_run`` event (empty for forks)."""
    run = event.get("workflow_run") or {}
    return [
        n
        for n in (
            _int(p.get("number")) for p in run.get("pull_requests") or [] if isinstance(p, dict)
        )
        if n
    ]


def run_head_label(event: Mapping[str, Any]) -> str | None:
    """``owner:branch`` of a ``workflow_run``'s head, how GitHub finds a fork's pull request."""
    run = event.get("workflow_run") or {}
    owner = _str(((run.get("head_repository") or {}).get("owner") or {}).get("login"))
    branch = _str(run.get("head_branch"))
    return f"{owner}:{branch}" if owner and branch else None


#: The PR workflow's job that validates and checks the generated files (its ``name:``).
CHECK_JOB = "check and validate"


def run_check_job(client: GitHub, repo: str, event: Mapping[str, Any]) -> str | None:
    """How the check job of the ``workflow_run`` event's run concluded, as GitHub lists the
    run's jobs (never as its artifact says); None where the event names no run or the run
    has no such job."""
    run_id = _int((event.get("workflow_run") or {}).get("id"))
    if not run_id:
        return None
    found = [j for j in client.list_run_jobs(repo, run_id) if j.get("name") == CHECK_JOB]
    return _str(found[-1].get("conclusion")) if found else None


def verified_pull(
    client: GitHub,
    where: Target,
    claimed: int | None,
    listed: list[int],
    head_label: str | None = None,
) -> tuple[int | None, str]:
    """The pull request whose head is ``where.sha``, checked with GitHub; or None and why.

    ``claimed`` comes from the artifact (untrusted), ``listed`` and ``head_label``
    from the event. GitHub lists no pull request for a commit that exists only
    in a fork, so a fork's is looked up by its head branch.
    """
    pull, why = found_pull(client, where, claimed, listed, head_label)
    return (number_of(pull), "") if pull is not None else (None, why)


def found_pull(
    client: GitHub,
    where: Target,
    claimed: int | None,
    listed: list[int],
    head_label: str | None = None,
) -> tuple[dict[str, Any] | None, str]:
    """:func:`verified_pull`'s pull request as GitHub gives it (its base branch too)."""
    if where.repo is None or where.sha is None:
        raise BadInput(
            "a report from an artifact needs the workflow_run event or --sha and --github-repo"
        )
    for number in dict.fromkeys([n for n in (claimed, *listed) if n]):
        pull = client.get_pull(where.repo, number)
        head = (pull.get("head") or {}).get("sha")
        base = (((pull.get("base") or {}).get("repo")) or {}).get("full_name")
        if head == where.sha and base == where.repo:
            return {**pull, "number": number}, ""
        why = f"pull request #{number} has head {str(head)[:12]}, not {where.sha[:12]} (the workflow run's head commit)"
        if number == claimed:
            return None, why
    if claimed is None:
        found = client.list_pulls(where.repo, head=head_label, state="open") if head_label else []
        for pull in [*found, *([] if found else client.pulls_for_commit(where.repo, where.sha))]:
            base = (((pull.get("base") or {}).get("repo")) or {}).get("full_name")
            if (pull.get("head") or {}).get("sha") == where.sha and base == where.repo:
                return pull, ""
    return None, f"no open pull request has head {where.sha[:12]}"


def shared_head(client: GitHub, where: Target) -> str | None:
    """Why the head commit's required status cannot pass; None where it can.

    A commit status is the commit's, not a pull request's. Where the commit is the
    head of open pull requests into more than one base branch, each one's run judges
    its own merge, and the run that reports last would pass or fail the status of
    them all. Deploy takes none of their runs as a review in that case
    (:mod:`mlgitops.gitops.anchor_github`); the status says the same. They are
    found by the commit (GitHub lists the open pull requests a commit heads where it
    is not on the default branch, and none for a fork's commit) and by the head
    branch (a fork's, or a commit the default branch holds).
    """
    assert where.repo is not None and where.sha is not None
    listed = [] if where.fork else client.pulls_for_commit(where.repo, where.sha)
    if where.head_label:
        listed += client.list_pulls(where.repo, head=where.head_label, state="open")
    bases: dict[int, str] = {}
    for pull in listed:
        number, into = number_of(pull), base_ref(pull)
        base_repo = (((pull.get("base") or {}).get("repo")) or {}).get("full_name")
        heads = (pull.get("head") or {}).get("sha") == where.sha
        if pull.get("state") == "open" and heads and base_repo == where.repo and number and into:
            bases[number] = into
    if len(set(bases.values())) < 2:
        return None
    pulls = [f"#{number} into {into}" for number, into in sorted(bases.items())]
    both = "both" if len(pulls) == 2 else "all of them"
    return (
        f"the head of {', '.join(pulls[:-1])} and {pulls[-1]}: "
        f"its one status cannot pass for {both}"
    )


def number_of(pull: dict[str, Any] | None) -> int | None:
    """The number of a pull request GitHub gave (None: none)."""
    return _int(pull.get("number")) if pull is not None else None


def base_ref(pull: dict[str, Any] | None) -> str | None:
    """The branch a pull request GitHub gave is into (None: none, or not said)."""
    base = (pull or {}).get("base")
    ref = base.get("ref") if isinstance(base, dict) else None
    return ref if isinstance(ref, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
