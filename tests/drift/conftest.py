"""Synthetic training and current data where the right drift answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd


def frame(
    n: int, seed: int, *, shift: float = 0.0, mix: tuple[float, ...] = (0.5, 0.3, 0.2)
) -> pd.DataFrame:
    """Two normal features, one integer feature, one categorical feature and a target."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "z": rng.normal(0.0, 1.0, n),
            "k": rng.integers(0, 5, n),
            "color": rng.choice(["red", "green", "blue"], n, p=list(mix)),
            "label": rng.integers(0, 2, n),
        }
    )
