"""Container image references, as the distribution grammar (github.com/distribution/reference)
spells them: what kubelet, Docker and the registries parse. One definition for every image
a spec or ``mlgitops.yaml`` names: the serving image, the built image's repository and base,
a runner pool's image and job image."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.spec.positions import Key

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: A part of the image's path: lower-case letters and digits, joined by '.', '_', '__' or
#: dashes.
_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#: The registry: a host name (or an IPv6 address in brackets), and a port.
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME = re.compile(rf"(?:{_HOST}/)?{_PART}(?:/{_PART})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: The digest every reader of the generated files takes (``@sha256:`` pins an image).
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
#: The longest name the grammar allows, registry included.
_NAME_LONGEST = 255

_EXAMPLE = "ghcr.io/org/image:tag"
_NAME_FORM = (
    "[host[:port]/]path[:tag][@digest], the path's '/'-separated parts lower-case letters "
    "and digits joined by '.', '_', '__' or '-'"
)
_TAG_FORM = "at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
_DIGEST_FORM = "sha256: and 64 lower-case hex digits"


def split(ref: str) -> tuple[str, str | None, str | None]:
    """``ref`` as its name, its tag and its digest (None where it has none)."""
    named, at, digest = ref.partition("@")
    colon = named.rfind(":")
    if colon > named.rfind("/"):  # a colon before the last '/' is the registry's port
        return named[:colon], named[colon + 1 :], digest if at else None
    return named, None, digest if at else None


def image_problem(ref: str) -> str | None:
    """Why ``ref`` is no image reference a container runtime pulls; None where it is."""
    name, tag, digest = split(ref)
    if not _NAME.fullmatch(name):
        return (
            f"invalid value {ref!r}: expected an image reference such as {_EXAMPLE}: {_NAME_FORM}"
        )
    if len(name) > _NAME_LONGEST:
        return f"invalid value {ref!r}: an image's name is at most {_NAME_LONGEST} characters"
    if tag is not None and not _TAG.fullmatch(tag):
        return f"invalid value {ref!r}: the tag {tag!r} is no tag ({_TAG_FORM})"
    if digest is not None and not _DIGEST.fullmatch(digest):
        return f"invalid value {ref!r}: the digest {digest!r} is no digest ({_DIGEST_FORM})"
    return None


def has_registry(name: str) -> bool:
    """Whether ``name``'s first part is a registry host, as Docker tells it from a path
    (``registry.local:5000/x``, ``localhost/x``; not ``team/x``, which is Docker Hub's)."""
    first, slash, _ = name.partition("/")
    return bool(slash) and (any(c in first for c in ".:") or first == "localhost")


def repository_problem(ref: str) -> str | None:
    """Why ``ref`` is no repository to push to: its registry first, in lower case (the
    overlays pin it by digest), and neither tag nor digest."""
    name, tag, digest = split(ref)
    if tag is None and digest is None and (problem := image_problem(ref)):
        return problem
    if tag is not None or digest is not None or not has_registry(name) or name != name.lower():
        return (
            f"invalid value {ref!r}: expected an image repository with its registry and no "
            "tag or digest, such as ghcr.io/my-org/churn-serve"
        )
    return None


def base_problem(ref: str) -> str | None:
    """Why ``ref`` is no base image pinned by digest."""
    if problem := image_problem(ref):
        return problem
    if split(ref)[2] is None:
        return (
            f"invalid value {ref!r}: expected a base image pinned by digest, such as "
            f"{ref}@sha256:<64 hex digits> (`docker buildx imagetools inspect {ref}` prints it)"
        )
    return None


def image_rules(doc: dict[str, Any], kind: str) -> Iterator[tuple[list[Key], str]]:
    """Every image a pipeline spec (``kind`` pipeline) or ``mlgitops.yaml`` (repo) names
    that breaks the grammar, where it is named."""
    found = _pipeline_images(doc) if kind == "pipeline" else _pool_images(doc)
    for path, ref, rule in found:
        message = rule(ref) if isinstance(ref, str) else None
        if message:
            yield path, message


def _pipeline_images(doc: dict[str, Any]) -> Iterator[tuple[list[Key], Any, Any]]:
    deploy = doc.get("deploy")
    server = deploy.get("server") if isinstance(deploy, dict) else None
    if not isinstance(server, dict):
        return
    where: list[Key] = ["deploy", "server"]
    if "image" in server:
        yield [*where, "image"], server["image"], image_problem
    build = server.get("build")
    if isinstance(build, dict):
        for key, rule in (("repository", repository_problem), ("base", base_problem)):
            if key in build:
                yield [*where, "build", key], build[key], rule


def _pool_images(doc: dict[str, Any]) -> Iterator[tuple[list[Key], Any, Any]]:
    runners = doc.get("runners")
    pools = runners.get("pools") if isinstance(runners, dict) else None
    for i, pool in enumerate(pools if isinstance(pools, list) else []):
        for key in ("image", "job_image"):
            if isinstance(pool, dict) and key in pool:
                yield ["runners", "pools", i, key], pool[key], image_problem
