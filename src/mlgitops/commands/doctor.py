"""``mlgitops doctor``: check what the specs cannot say, the environment, and what to fix.

``render`` checks the specs without touching anything outside the
repository. ``doctor`` checks what needs the environment: the tracking
server answers with the given credentials, the model registry lets them read
and register (a probe model is created and deleted), each environment's
record of what is deployed agrees with that server's registry (as deploy
and promote require before they take one), the extras each command needs
are installed, the GitHub token is accepted (and its scopes, for a classic
token), and which runner labels the pipelines need. Each line says ``ok``,
``fix`` (with what to do), or ``note``; exit 1 when something needs fixing.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlgitops import console
from mlgitops.errors import EXIT_FAILED, EXIT_OK, MlgitopsError
from mlgitops.extras import COMMANDS, EXTRAS, install_command
from mlgitops.spec import Repo, load_repo

#: Scopes a classic token needs: commit statuses and comments (repo), workflow files (workflow).
_SCOPES = ("repo", "workflow")


@dataclass(frozen=True)
class Finding:
    """One checked fact: ``ok``, ``fix`` (something to do) or ``note`` (nothing to check)."""

    level: str
    subject: str
    text: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.subject}: {self.text}"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, mlgitops.yaml, else the "
        "local store)",
    )


def run(*, repo: Path, tracking_uri: str | None) -> int:
    """Print one line per check; 1 when something needs fixing."""
    loaded = load_repo(repo.resolve())
    findings = [
        *_tracking(loaded, tracking_uri, os.environ),
        *_extras(),
        *_github(os.environ),
        *_runners(loaded),
    ]
    for finding in findings:
        console.line(finding.line())
    to_fix = sum(1 for f in findings if f.level == "fix")
    console.line(f"doctor: {to_fix} thing(s) to fix" if to_fix else "doctor: nothing to fix")
    return EXIT_FAILED if to_fix else EXIT_OK


def _tracking(loaded: Repo, option: str | None, env: Mapping[str, str]) -> Iterator[Finding]:
    from mlgitops.training.tracking import is_http, local_uri, resolve_tracking_uri

    try:
        uri = resolve_tracking_uri(loaded.root, option, loaded.config, env)
    except MlgitopsError as exc:
        yield Finding("fix", "tracking server", str(exc))
        return
    if uri == local_uri(loaded.root):
        yield Finding(
            "note",
            "tracking server",
            f"none set: the local store {uri} is used (fine on a laptop; the workflows need "
            "the repository secret or variable MLFLOW_TRACKING_URI)",
        )
        return
    checks = _store if not is_http(uri) else _registry
    found = list(checks(loaded.root, uri, env))
    yield from found
    if found[0].level == "ok":  # the server answers
        yield from _records(loaded, uri, env)


def _store(root: Path, uri: str, env: Mapping[str, str]) -> Iterator[Finding]:
    """A store MLflow's own client opens (a database, a folder): opened as train opens it."""
    from mlgitops.training.tracking import open_tracking

    try:
        open_tracking(uri, root, env).experiment("mlgitops-doctor", create=False)
    except ImportError:
        yield Finding(
            "fix",
            "tracking server",
            f"{uri} is opened with MLflow's own client, which is not installed: "
            "pip install 'mlgitops[train]'",
        )
        return
    except MlgitopsError as exc:
        yield Finding("fix", "tracking server", str(exc))
        return
    yield Finding("ok", "tracking server", f"{uri} opens with MLflow's own client")


def _registry(root: Path, uri: str, env: Mapping[str, str]) -> Iterator[Finding]:
    from mlgitops.gitops.registry_rest import RestRegistry
    from mlgitops.training.tracking_session import session_for

    try:
        registry = RestRegistry(uri, session_for(env))
        registry.can_read()
    except MlgitopsError as exc:
        yield Finding(
            "fix", "tracking server", f"{exc} (check the URI and MLFLOW_TRACKING_* credentials)"
        )
        return
    yield Finding("ok", "tracking server", f"{uri} answers with these credentials")
    try:
        registry.can_write(f"mlgitops-doctor-{uuid.uuid4().hex[:12]}")
    except MlgitopsError as exc:
        yield Finding("fix", "model registry", f"cannot register models ({exc}): deploy needs it")
        return
    yield Finding(
        "ok", "model registry", "models can be registered (a probe was created and deleted)"
    )


def _records(loaded: Repo, uri: str, env: Mapping[str, str]) -> Iterator[Finding]:
    """Each deploying pipeline's records of what is deployed, at the checkout's commit, held
    to the registry as deploy and promote hold them before they take one."""
    from mlgitops import proc
    from mlgitops.gitops.records import disagreements
    from mlgitops.gitops.registry import open_registry

    deploying = [p for p in loaded.pipelines if p.deploy is not None]
    head = proc.git("rev-parse", "-q", "--verify", "HEAD^{commit}", cwd=loaded.root, check=False)
    if not deploying or not head:
        return
    registry = open_registry(uri, loaded.root, env)
    origin = functools.cache(lambda: _origin_tip(loaded, head))  # fetched once, if needed
    for pipeline in deploying:
        subject = f"deployed records of {pipeline.name} at {head[:12]}"
        try:
            found = disagreements(loaded.root, registry, pipeline, head)
            tip = origin() if any(d.replaced for d in found) else None
            # a later deploy, promote or rollback moved on where the tip's records all agree
            agree = tip is not None and not disagreements(loaded.root, registry, pipeline, tip[0])
        except MlgitopsError as exc:
            yield Finding("fix", subject, str(exc))
            continue
        for rel, problem, replaced in found:
            if replaced and agree and tip is not None:
                text = f"{rel}: {tip[1]}, whose records agree with the registry: pull"
                yield Finding("note", subject, text)
            else:
                yield Finding("fix", subject, f"{problem}; deploy and promote refuse it")
        if not found:
            yield Finding("ok", subject, "each environment's model.json agrees with the registry")


def _origin_tip(loaded: Repo, head: str) -> tuple[str, str] | None:
    """The tip of the default branch on ``origin`` (fetched now), and where, in words, where
    ``head`` is behind it; None otherwise (no such remote, or not behind)."""
    from mlgitops import proc
    from mlgitops.errors import ServiceError
    from mlgitops.gitops.publish import Target, remote_tip

    target = Target(loaded.config.default_branch)
    try:
        tip = remote_tip(loaded.root, target)
    except ServiceError:  # no such remote, or it does not answer
        return None
    ancestor = ["git", "merge-base", "--is-ancestor", head, tip]
    if tip == head or proc.run(ancestor, cwd=loaded.root, check=False).returncode != 0:
        return None
    return tip, f"this checkout is behind {target.describe()} ({tip[:12]})"


def _extras() -> Iterator[Finding]:
    for extra in ("data", "train", "k8s"):
        missing = sorted(m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None)
        users = ", ".join(c for c, e in COMMANDS.items() if e == extra)
        if (
            extra == "train"
            and missing
            and set(missing) <= EXTRAS["train"] - EXTRAS["train-remote"]
        ):
            yield Finding(
                "note",
                "extra train",
                f"MLflow's client alone is installed (train-remote): {users} work with a "
                "remote tracking server; a local store (sqlite:, a folder) needs "
                f"{', '.join(missing)}: {install_command(extra)}",
            )
        elif missing:
            yield Finding(
                "fix",
                f"extra {extra}",
                f"{', '.join(missing)} not installed ({users} need it): {install_command(extra)}",
            )
        else:
            yield Finding("ok", f"extra {extra}", f"installed ({users})")


def _github(env: Mapping[str, str]) -> Iterator[Finding]:
    from mlgitops.github import GitHub, api_url_from_env, token_from_env

    token = token_from_env(env)
    if token is None:
        yield Finding("note", "GitHub token", "none set ($GITHUB_TOKEN or $GH_TOKEN): not checked")
        return
    import requests

    api = api_url_from_env(env)
    client = GitHub(requests.Session(), token=token, api_url=api, max_attempts=2)
    try:
        scopes = client.token_scopes()
    except MlgitopsError as exc:
        yield Finding("fix", "GitHub token", f"refused by {api}: {exc}")
        return
    if scopes is None:
        yield Finding(
            "ok",
            "GitHub token",
            f"accepted by {api} (a fine-grained or Actions "
            "token: its permissions are set per workflow job)",
        )
        return
    lacking = [s for s in _SCOPES if s not in scopes]
    if lacking:
        yield Finding(
            "fix",
            "GitHub token",
            f"accepted by {api} but lacks the scope(s) "
            f"{', '.join(lacking)} (has: {', '.join(scopes) or 'none'})",
        )
        return
    yield Finding("ok", "GitHub token", f"accepted by {api} (scopes: {', '.join(scopes)})")


def _runners(loaded: Repo) -> Iterator[Finding]:
    for pipeline in loaded.pipelines:
        labels = ", ".join(pipeline.train.runs_on)
        yield Finding(
            "note",
            f"runners of {pipeline.name}",
            f"train runs on [{labels}]: Settings → Actions → Runners must list an online "
            "runner with all of these labels (listing runners needs an admin token, so "
            "doctor does not)",
        )
