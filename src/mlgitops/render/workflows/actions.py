"""The actions generated workflows use: third-party ones pinned to a commit, and mlgitops'
own Action as ``mlgitops.yaml: action:`` names it."""

from __future__ import annotations

import re

from mlgitops.record import record
from mlgitops.spec import Repo


@record
class Pinned:
    """A third-party action pinned to a full commit SHA, with the release it is."""

    name: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        return f"{self.name}@{self.sha} # {self.version}"


PINNED = {
    "checkout": Pinned("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-python": Pinned(
        "actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"
    ),
    "upload-artifact": Pinned(
        "actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"
    ),
    "download-artifact": Pinned(
        "actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"
    ),
    "cache": Pinned("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "attest-build-provenance": Pinned(
        "actions/attest-build-provenance", "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32", "v4.1.0"
    ),
    "setup-buildx-action": Pinned(
        "docker/setup-buildx-action", "37fe631027851001ddb9b187196cc803df7f5f0e", "v4.3.0"
    ),
    "login-action": Pinned(
        "docker/login-action", "4907a6ddec9925e35a0a9e82d7399ccc52663121", "v4.1.0"
    ),
    "build-push-action": Pinned(
        "docker/build-push-action", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "v7.3.0"
    ),
}

_SHA_REF = re.compile(r"@[0-9a-f]{40}$")


@record
class ActionRef:
    """How generated workflows call the mlgitops Action (``mlgitops.yaml: action:``)."""

    ref: str

    @property
    def is_local(self) -> bool:
        return self.ref.startswith("./")

    @property
    def is_pinned(self) -> bool:
        return self.is_local or bool(_SHA_REF.search(self.ref))

    @property
    def uses(self) -> str:
        """The ``uses:`` value, with the reason next to any zizmor finding it accepts.

        ``./`` (this repository's own Action, run from the checked-out commit)
        is what a repository that develops the Action wants to test. A tag is
        the user's explicit choice in ``mlgitops.yaml``; the comment says how
        to pin a commit SHA instead, which needs no comment (docs/action.md).
        """
        if self.is_local:
            return (
                f"{self.ref} # zizmor: ignore[self-repository] the checked-out commit's own "
                f"Action, on purpose (mlgitops.yaml: action: {self.ref})"
            )
        if self.is_pinned:
            return self.ref
        return (
            f"{self.ref} # zizmor: ignore[unpinned-uses] tag chosen in mlgitops.yaml; "
            "set action: to owner/repo@<commit SHA> to pin it (docs/action.md#pinning)"
        )


def action_ref(repo: Repo) -> ActionRef:
    return ActionRef(repo.config.action)
