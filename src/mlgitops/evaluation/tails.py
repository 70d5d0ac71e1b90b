"""How many bootstrap resamples an interval at a confidence needs, for the spec check and
the interval alike (no numpy: the spec is read without it).

A percentile interval at ``confidence`` cuts ``(1 - confidence) / 2`` of the resamples off
each end. Fewer resamples than one in each tail, and its bounds are the smallest and the
largest resample whatever the confidence: 100 resamples "at 99.9%" give an interval as
narrow as one at 98%.
"""

from __future__ import annotations

import math


def tail(confidence: float) -> float:
    """The share of the resamples each end of the interval leaves out."""
    return (1.0 - confidence) / 2


def fewest_resamples(confidence: float) -> int:
    """The fewest resamples that put at least one in each tail at ``confidence``."""
    return math.ceil(round(1 / tail(confidence), 6))
