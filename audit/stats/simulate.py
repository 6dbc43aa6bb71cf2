"""Decisions with a known answer, for validating the statistics (tests, benchmarks, demos).

Three attributes like the project's protected situations; by default no group differs from any
other, and `shift` injects a known difference in one group's chance of the decision.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def simulate_decisions(
    n: int, seed: int, *, shift: Mapping[str, float] | None = None, score: bool = False
) -> pd.DataFrame:
    """Random decisions over `mh`, `housing` and `digital`, with outcome `y` and decision `d`.

    Keys of `shift` are "attribute=level": that group's decision probability moves by the value,
    for people with and without the outcome alike (so selection rate, TPR and FPR all move).
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
