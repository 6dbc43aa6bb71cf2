"""Tables the harm-check tests audit, made the way an analyst's export would look, not ours."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRACKS = ["emploi", "formation", "atelier_protege", "soins"]  # a service's own track labels
# The share of each track at each assessed capacity (1 = lowest .. 4): fair, capacity alone.
BY_CAPACITY = np.array(
    [
        [0.05, 0.15, 0.45, 0.35],
        [0.20, 0.40, 0.30, 0.10],
        [0.45, 0.40, 0.12, 0.03],
        [0.75, 0.22, 0.02, 0.01],
    ]
)


def orientation_log(n: int = 400, seed: int = 0, steering_odds: float = 1.0) -> pd.DataFrame:
    """A log of track recommendations: French column names, "oui"/"non" for a mental-health
    history, an assessed capacity 1-4, no observed outcome.

    People with a mental-health history have a lower assessed capacity on average, so they get
    the sheltered workshop (`atelier_protege`) more often overall. Among people of the same
    capacity their odds of it are multiplied by `steering_odds`: 1 is a service whose raw gap is
    fully explained by capacity, above 1 one that steers.
    """
    rng = np.random.default_rng(seed)
    mental = rng.random(n) < 0.2
    capacity = np.where(
        mental,
        rng.choice(4, n, p=[0.35, 0.35, 0.2, 0.1]),
        rng.choice(4, n, p=[0.1, 0.25, 0.35, 0.3]),
    )
    shares = BY_CAPACITY[capacity].copy()
    sheltered = shares[:, 2]
    odds = sheltered / (1 - sheltered) * np.where(mental, steering_odds, 1.0)
    steered = odds / (1 + odds)
    rest = 1 - sheltered
    # the other tracks keep their proportions among what the sheltered share leaves
    shares *= ((1 - steered) / np.where(rest > 0, rest, 1))[:, None]
    shares[:, 2] = steered
    u = rng.random(n)[:, None]
    track = (u > np.cumsum(shares, axis=1)).sum(axis=1).clip(0, 3)
    return pd.DataFrame(
        {
            "dossier": [f"BXL-{i:05d}" for i in range(n)],
            "sante_mentale": np.where(mental, "oui", "non"),
            "capacite_evaluee": capacity + 1,
            "orientation": np.array(TRACKS)[track],
        }
    )
