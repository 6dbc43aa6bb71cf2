"""Tables this project did not design its code around, built the way a new user's data looks.

Column names in Dutch, decisions coded "ja"/"nee", outcomes coded as text, weights, a numeric
legitimate factor, a 3-level attribute with one tiny level, an attribute that is also a factor.
Every table is generated here from a seed (no downloads), small enough for a fast test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def dutch_table(
    n: int = 400, seed: int = 1, gap_psy: float = 0.2, gap_home: float = 0.15
) -> pd.DataFrame:
    """Job seekers of a Dutch-speaking service: advice to a support track ("ja"/"nee") and work
    after six months ("1"/"0" as text). The advice rate drops by `gap_psy` for people with a
    psychiatric history and by `gap_home` for the homeless; gender has no effect and its third
    level "x" is tiny (3%)."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(["man", "vrouw", "x"], n, p=[0.5, 0.47, 0.03])
    housing = rng.choice(["eigen", "huur", "dakloos"], n, p=[0.5, 0.4, 0.1])
    psy = rng.choice(["ja", "nee"], n, p=[0.2, 0.8])
    age = rng.integers(18, 65, n)
    p_advice = 0.5 - gap_psy * (psy == "ja") - gap_home * (housing == "dakloos")
    advice = rng.random(n) < p_advice
    work = rng.random(n) < 0.3 + 0.3 * advice
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "Geslacht": gender,
            "woonsituatie": housing,
            "psy_voorgeschiedenis": psy,
            "leeftijd": age,
            "advies": np.where(advice, "ja", "nee"),
            "advies01": advice.astype(int),
            "werk_na_6m": np.where(work, "1", "0"),
            "werk01": work.astype(int),
            "gewicht": rng.uniform(0.5, 3.0, n).round(3),
        }
    )


def two_groups(n_per_group: int, gap: float, seed: int) -> pd.DataFrame:
    """Two groups of equal size; group b's selection rate is 0.5 - gap, a's 0.5."""
    rng = np.random.default_rng(seed)
    group = np.repeat(["a", "b"], n_per_group)
    rate = np.where(group == "a", 0.5, 0.5 - gap)
    return pd.DataFrame(
        {
            "g": group,
            "d": (rng.random(group.size) < rate).astype(int),
            "y": (rng.random(group.size) < 0.5).astype(int),
        }
    )


def determined_by_factor(n: int = 2000, seed: int = 3) -> pd.DataFrame:
    """`diploma` is a function of the legitimate factor `opleidingsjaren` (years of schooling):
    no stratum of the factor holds both diploma groups, so no conditional comparison exists."""
    rng = np.random.default_rng(seed)
    years = rng.integers(6, 17, n)
    diploma = np.where(years >= 12, "ja", "nee")
    regio = rng.choice(["noord", "zuid"], n)
    d = (rng.random(n) < np.where(diploma == "ja", 0.5, 0.4)).astype(int)
    return pd.DataFrame(
        {
            "diploma": diploma,
            "regio": regio,
            "opleidingsjaren": years,
            "d": d,
            "y": (rng.random(n) < 0.5).astype(int),
        }
    )


def region_without_positives(seed: int = 4) -> pd.DataFrame:
    """Regions A and B (3,000 people each) and C (40 people, above the minimum size) in which
    nobody found work, so C's TPR is undefined."""
    rng = np.random.default_rng(seed)
    region = np.repeat(["A", "B", "C"], [3000, 3000, 40])
    y = (rng.random(region.size) < 0.5).astype(int)
    y[region == "C"] = 0
    return pd.DataFrame({"regio": region, "y": y, "d": (rng.random(region.size) < 0.5).astype(int)})


def tiny_reference_cell(seed: int = 5) -> pd.DataFrame:
    """Two attributes whose named references meet in a cell of only 5 people (stad × NL)."""
    rng = np.random.default_rng(seed)
    n = 3000
    place = rng.choice(["stad", "platteland"], n, p=[0.6, 0.4])
    origin = rng.choice(["NL", "EU", "overig"], n, p=[0.6, 0.3, 0.1])
    cell = np.flatnonzero((place == "stad") & (origin == "NL"))
    place[cell[5:]] = "platteland"
    return pd.DataFrame(
        {
            "woonplaats": place,
            "herkomst": origin,
            "y": (rng.random(n) < 0.5).astype(int),
            "d": (rng.random(n) < 0.4).astype(int),
        }
    )


def explained_by_education(n: int, seed: int, direct: float) -> pd.DataFrame:
    """Migrants have less schooling and the decision depends on schooling, plus a `direct` drop
    for migrants. Theory: the plain gap is the composition gap (-0.21) plus -direct."""
    rng = np.random.default_rng(seed)
    origin = rng.choice(["migr", "niet"], n, p=[0.3, 0.7])
    levels = np.array(["laag", "midden", "hoog"])
    education = np.where(
        origin == "migr",
        rng.choice(levels, n, p=[0.6, 0.3, 0.1]),
        rng.choice(levels, n, p=[0.2, 0.4, 0.4]),
    )
    base = pd.Series(education).map({"laag": 0.2, "midden": 0.5, "hoog": 0.8}).to_numpy()
    p = base - direct * (origin == "migr")
    return pd.DataFrame(
        {
            "herkomst": origin,
            "opleiding": education,
            "d": (rng.random(n) < p).astype(int),
            "y": (rng.random(n) < 0.5).astype(int),
        }
    )


# Composition gap of `explained_by_education`: mean schooling effect of migrants minus others.
COMPOSITION_GAP = (0.6 * 0.2 + 0.3 * 0.5 + 0.1 * 0.8) - (0.2 * 0.2 + 0.4 * 0.5 + 0.4 * 0.8)


def steering_log(n: int = 400, seed: int = 6, gap: float = 0.25) -> pd.DataFrame:
    """A log of recommendations from another system, with no observed outcome: French column
    names, the recommendation as text booleans ("true"/"false"), a numeric age with 47 values,
    a score. Women are recommended `gap` less often than men (0.55); age has no effect.

    The people and their recommendation are in one table: it serves as the data file and as
    the decisions file of a spec (`model.decisions`, matched by `dossier`)."""
    rng = np.random.default_rng(seed)
    sexe = rng.choice(["femme", "homme"], n)
    age = rng.integers(18, 65, n)
    niveau = rng.choice(["primaire", "secondaire", "superieur"], n, p=[0.3, 0.5, 0.2])
    recommended = rng.random(n) < 0.55 - gap * (sexe == "femme")
    return pd.DataFrame(
        {
            "dossier": [f"D{i:05d}" for i in range(n)],
            "sexe": sexe,
            "age_ans": age,
            "niveau_etude": niveau,
            "orientation_proposee": np.where(recommended, "true", "false"),
            "score_orientation": rng.uniform(0.01, 0.99, n).round(3),
        }
    )


def write_csv_with_bom(frame: pd.DataFrame, path: object) -> None:
    """A spreadsheet's "CSV UTF-8": a byte-order mark before the header."""
    from pathlib import Path

    Path(str(path)).write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode("utf-8"))
