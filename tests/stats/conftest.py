from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_decisions(
    n: int, seed: int, *, shift: dict[str, float] | None = None, score: bool = False
) -> pd.DataFrame:
    """Random decisions over three attributes; `shift` adds to one group's decision probability.

    Keys of `shift` are "attribute=level"; without it no group differs from any other.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "mh": rng.choice(["no", "yes"], n, p=[0.8, 0.2]),
            "housing": rng.choice(["stable", "unstable", "homeless"], n, p=[0.7, 0.2, 0.1]),
            "digital": rng.choice(["high", "medium", "low"], n, p=[0.4, 0.3, 0.3]),
        }
    )
    y = rng.random(n) < 0.4
    p = np.where(y, 0.7, 0.2)
    for key, delta in (shift or {}).items():
        col, level = key.split("=")
        p = p + delta * (frame[col] == level).to_numpy()
    frame["y"] = y.astype(int)
    frame["d"] = (rng.random(n) < np.clip(p, 0, 1)).astype(int)
    if score:
        frame["s"] = np.clip(0.3 * y + rng.beta(2, 3, n) * 0.7, 0, 1)
    return frame


@pytest.fixture
def decisions() -> pd.DataFrame:
    return make_decisions(3000, seed=11, score=True)
