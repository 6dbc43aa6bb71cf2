"""A matcher's log made the way a service's export would look, not ours: Dutch column names,
"ja"/"nee" flags, its own housing labels, and a rankings file with its own column names."""

from __future__ import annotations

import numpy as np
import pandas as pd

LEVELS = ("laag", "midden", "hoog")
# The rankings file's own names for our columns (data.rankings.columns: ours -> theirs).
RANKING_NAMES = {
    "person_id": "dossier",
    "rank": "positie",
    "vacancy_id": "vacature",
    "score": "punten",
    "distance_km": "afstand",
    "skill_gap": "niveauverschil",
}


def matcher_log(
    n: int = 400,
    seed: int = 0,
    *,
    extra_km: float = 0.0,
    undermatch: float = 0.0,
    k: int = 5,
    vacancies: int = 40,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People and their k recommended vacancies (in the rankings file's own column names).

    Distances are drawn the same for everyone, plus `extra_km` for people without a car
    (`auto` = "nee"); each recommended job is at the person's level or, with probability 0.15
    for everyone and 0.15 + `undermatch` for people with a mental-health history (`psy` =
    "ja"), one level lower where there is one. No outcome column.
    """
    rng = np.random.default_rng(seed)
    psy = rng.random(n) < 0.3
    car = rng.random(n) < 0.55
    housing = np.where(rng.random(n) < 0.12, "zonder vaste verblijfplaats", "eigen woning")
    level = rng.integers(0, 3, n)
    people = pd.DataFrame(
        {
            "dossier": [f"GNT-{i:05d}" for i in range(n)],
            "psy": np.where(psy, "ja", "nee"),
            "auto": np.where(car, "ja", "nee"),
            "woonsituatie": housing,
            "opleiding": np.array(LEVELS)[level],
            "beslissing": rng.integers(0, 2, n),
        }
    )
    person = np.repeat(np.arange(n), k)
    km = rng.gamma(2.0, 4.0, n * k) + extra_km * ~car[person]
    job = level[person].copy()
    lowered = (job > 0) & (rng.random(n * k) < 0.15 + undermatch * psy[person])
    job[lowered] -= 1
    gap = job - level[person]
    score = -km / 10 - np.abs(gap) + 0.3 * rng.standard_normal(n * k)
    order = np.lexsort((-score, person))  # each person's jobs best first
    rankings = pd.DataFrame(
        {
            "dossier": people["dossier"].to_numpy()[person[order]],
            "positie": np.tile(np.arange(1, k + 1), n),
            "vacature": [f"VAC{v:03d}" for v in rng.integers(0, vacancies, n * k)],
            "punten": score[order].round(4),
            "afstand": km[order].round(2),
            "niveauverschil": gap[order],
        }
    )
    return people, rankings
