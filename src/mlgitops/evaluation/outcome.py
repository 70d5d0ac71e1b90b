"""What a gate came to: its status, its result, and how a verdict counts them.

Light on purpose (no numpy): ``report`` reads a verdict's gates back into
:class:`GateResult` to hold its ``counts`` and ``passed`` to them, by the same rules
``compare`` wrote them with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PASS, FAIL = "pass", "fail"
NOT_EVALUABLE = "not_evaluable"
NOT_APPLICABLE = "not_applicable"
STATUSES = (PASS, FAIL, NOT_EVALUABLE, NOT_APPLICABLE)


@dataclass(frozen=True)
class GateResult:
    metric: str
    condition: str
    threshold: float | None
    value: float | None
    status: str
    reason: str
    #: a not-evaluable gate the spec allows (it does not fail the verdict)
    allowed: bool = False
    #: how a drop is judged: ``point`` or ``ci_bound`` (None for other conditions)
    judge: str | None = None

    @property
    def blocking(self) -> bool:
        """Whether this result fails the verdict."""
        return self.status == FAIL or (self.status == NOT_EVALUABLE and not self.allowed)


def gate_counts(gates: Sequence[GateResult]) -> dict[str, int]:
    """How many gates have each status; ``allowed``: not evaluable but allowed by the spec."""
    counts = {status: sum(g.status == status for g in gates) for status in STATUSES}
    counts["allowed"] = sum(g.allowed for g in gates)
    return counts
