"""Hash-locked requirements files, read the way ``pip install --require-hashes`` reads them.

The serving image installs ``deploy.server.build.requirements`` with
``--require-hashes --no-deps --only-binary :all:``: every requirement must
name one exact version (``==``, or a direct URL) and carry ``--hash=``, and
the file must stand alone (the build context holds only it). ``render``
checks this, so that a lock pip would refuse fails on the developer's
machine, with the line, not in the deploy workflow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.errors import Problem
from mlgitops.record import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from packaging.requirements import Requirement as Parsed

#: Options that pull in other files or editable sources: the image build cannot honour them.
_INCLUDES = ("-r", "--requirement", "-c", "--constraint")
_EDITABLE = ("-e", "--editable")


@record
class Requirement:
    """One logical line of a requirements file (continuations joined, comment removed)."""

    line: int
    col: int
    text: str

    @property
    def is_option(self) -> bool:
        """An option line (``--index-url …``, ``-r …``), not a requirement."""
        return self.text.startswith("-")

    @property
    def spec(self) -> str:
        """The requirement without its options (``numpy==2.0 ; python_version > "3"``)."""
        return re.split(r"\s--?[A-Za-z]", f" {self.text}", maxsplit=1)[0].strip()

    def parsed(self) -> Parsed:
        """The requirement as pip reads it (PEP 508, by ``packaging``); InvalidRequirement if not."""
        from packaging.requirements import Requirement as Parsed

        return Parsed(self.spec)


def logical_lines(text: str) -> Iterator[Requirement]:
    """Every non-blank logical line: ``\\`` continues a line, `` #`` starts a comment."""
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        line = re.sub(r"(^|\s)#.*$", "", raw)
        continued = line.endswith("\\")
        parts.append(line[:-1] if continued else line)
        if continued:
            continue
        joined = " ".join(parts)
        parts = []
        if joined.strip():
            col = len(joined) - len(joined.lstrip()) + 1
            yield Requirement(start, col, " ".join(joined.split()))


def lock_problems(source: str, text: str) -> list[Problem]:
    """Every line of a requirements file that ``pip install --require-hashes`` refuses."""
    found = []
    for requirement in logical_lines(text):
        message = _problem(requirement)
        if message:
            found.append(Problem(source, requirement.line, requirement.col, message))
    return found


def installs(text: str, project: str) -> bool:
    """Whether the file has a requirement line for ``project`` (names compared as pip does)."""
    from packaging.requirements import InvalidRequirement
    from packaging.utils import canonicalize_name

    wanted = canonicalize_name(project)
    for requirement in logical_lines(text):
        if requirement.is_option:
            continue
        try:
            if canonicalize_name(requirement.parsed().name) == wanted:
                return True
        except InvalidRequirement:
            continue  # lock_problems names the line
    return False


def _problem(requirement: Requirement) -> str | None:
    from packaging.requirements import InvalidRequirement

    text = requirement.text
    option = text.split(" ", 1)[0].split("=", 1)[0]
    if option in _INCLUDES:
        return (
            f"{text!r} includes another file, which the image build does not see: lock every "
            "requirement into this one file"
        )
    if option in _EDITABLE:
        return (
            f"{text!r} is an editable install, which cannot be hash-checked: install a built "
            "wheel by version and hash"
        )
    if requirement.is_option:
        return None  # an option line (--index-url, ...): pip's to judge
    spec = requirement.spec
    try:
        parsed = requirement.parsed()
    except InvalidRequirement as exc:
        return f"{spec!r} is not a requirement pip can read ({str(exc).splitlines()[0]})"
    # pip's own test of a pinned requirement: one specifier, == or ===; or a direct URL.
    specifiers = list(parsed.specifier)
    pinned = len(specifiers) == 1 and specifiers[0].operator in ("==", "===")
    if not (pinned or parsed.url):
        return f"{spec!r} is not pinned with '==': --require-hashes installs exact versions only"
    if "--hash" not in text:
        return (
            f"{spec!r} has no --hash: the image installs with --require-hashes (lock the file "
            "with pip-compile --generate-hashes)"
        )
    return None
