"""Vacancies, and the matcher that ranks them for job seekers (where H6 and H7 act).

The fair matcher scores a vacancy for a person by (i) the fit between the job's skill level and
the person's qualification, penalising both jobs above and jobs below it, (ii) travel distance,
weighted more for people without a car and for workplaces far from public transport, and
(iii) sheltered places only for people on the sheltered track. The harms change what the matcher
believes about a group, not the people: H6 scales the group's distance weight down (it recommends
jobs they cannot reach), H7 lowers the qualification it reads for the group (jobs below it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.data.geography import HUB_X, HUB_Y, hub_probabilities
from audit.data.sampling import draw_categorical
from audit.data.scenarios import InjectedTruth, parse_group
from audit.data.schema import (
    CONTRACT_TYPES,
    EDUCATION_LEVELS,
    RANKING_COLUMNS,
    REGIONS,
    SECTORS,
    SKILL_LEVELS,
    TRACKS,
    categorical,
)
from audit.errors import AuditInputError

#: Skill level shares of vacancies (assumption: Belgian vacancy statistics, rounded).
SKILL_SHARE = np.array([0.35, 0.40, 0.25])
#: P(sector | skill level), rows low/medium/high, columns in SECTORS order.
SECTOR_BY_SKILL = np.array(
    [
        [0.18, 0.20, 0.14, 0.08, 0.16, 0.12, 0.10, 0.02, 0.0, 0.0],
        [0.10, 0.02, 0.12, 0.16, 0.08, 0.14, 0.14, 0.16, 0.04, 0.04],
        [0.02, 0.0, 0.06, 0.16, 0.02, 0.04, 0.10, 0.20, 0.22, 0.18],
    ]
)
#: Vacancies by region, REGIONS order (assumption: Flanders has most open positions).
VACANCY_REGION_SHARE = np.array([0.60, 0.15, 0.25])
SHELTERED_SHARE = 0.06
MEDIAN_WAGE = np.array([2300.0, 2900.0, 3900.0])
ONLINE_ONLY_BY_SKILL = np.array([0.35, 0.6, 0.85])

#: Matcher weights: per level of skill above / below the qualification, per 10 km of travel.
OVERREACH_WEIGHT = 2.0
UNDERMATCH_WEIGHT = 1.0
DISTANCE_WEIGHT = 1.0
NO_CAR_DISTANCE_FACTOR = 2.5
NO_CAR_TRANSIT_WEIGHT = 0.5
SHELTERED_MISMATCH = 6.0


def generate_vacancies(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` vacancies around the employment hubs, in :data:`VACANCY_COLUMNS` order."""
    region = draw_categorical(rng.random(n), VACANCY_REGION_SHARE)
    hub = draw_categorical(rng.random(n), hub_probabilities(5), region)
    x = HUB_X[hub] + 6.0 * rng.standard_normal(n)
    y = HUB_Y[hub] + 6.0 * rng.standard_normal(n)
    skill = draw_categorical(rng.random(n), SKILL_SHARE)
    sector = draw_categorical(rng.random(n), SECTOR_BY_SKILL, skill)
    sheltered = rng.random(n) < SHELTERED_SHARE * np.array([1.6, 0.6, 0.05])[skill] / 0.75
    contract = draw_categorical(rng.random(n), np.array([0.45, 0.30, 0.25, 0.0]))
    contract = np.where(sheltered, CONTRACT_TYPES.index("sheltered_contract"), contract)
    wage = MEDIAN_WAGE[skill] * np.exp(0.2 * rng.standard_normal(n))
    wage = np.where(sheltered, 0.85 * wage, wage)
    online = rng.random(n) < ONLINE_ONLY_BY_SKILL[skill]
    transit = 0.3 * np.exp(0.9 * rng.standard_normal(n))
    width = len(str(n))
    return pd.DataFrame(
        {
            "vacancy_id": pd.array([f"v{i:0{width}d}" for i in range(n)], dtype="str"),
            "region": categorical(region, REGIONS),
            "location_x_km": x,
            "location_y_km": y,
            "distance_public_transport_km": transit,
            "skill_level": categorical(skill, SKILL_LEVELS, ordered=True),
            "sector": categorical(sector, SECTORS),
            "sheltered": sheltered,
            "contract_type": categorical(contract.astype(np.int8), CONTRACT_TYPES),
            "wage_eur_month": wage.round(0),
            "online_application_required": online,
        }
    )


def _codes(series: pd.Series, categories: tuple[str, ...], what: str) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype) and tuple(series.cat.categories) == categories:
        return np.asarray(series.cat.codes.to_numpy(), dtype=np.int64)
    values = pd.Categorical(series.astype("object"), categories=list(categories))
    if (values.codes < 0).any():
        raise AuditInputError(
            what,
            expected="values in " + ", ".join(categories),
            found="other or empty values",
            fix="validate the table first",
        )
    return np.asarray(values.codes, dtype=np.int64)


def _person_inputs(
    people: pd.DataFrame, truth: InjectedTruth | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per person: qualification as the matcher reads it, distance weight, no-car, sheltered, xy."""
    needed = [
        "person_id",
        "education",
        "has_car",
        "recommended_track",
        "location_x_km",
        "location_y_km",
    ]
    missing = [c for c in needed if c not in people.columns]
    if missing:
        raise AuditInputError(
            "people table",
            expected="columns " + ", ".join(needed),
            found="missing " + ", ".join(missing),
            fix="pass the people table of a SyntheticPopulation or load_people",
        )
    qual = _codes(people["education"], EDUCATION_LEVELS, "column 'education'").astype(float)
    no_car = ~people["has_car"].to_numpy(dtype=bool)
    weight = DISTANCE_WEIGHT * np.where(no_car, NO_CAR_DISTANCE_FACTOR, 1.0)
    track = _codes(people["recommended_track"], TRACKS, "column 'recommended_track'")
    on_sheltered = track == TRACKS.index("sheltered")
    if truth is not None:
        ratio = float(truth.knobs.get("distance_weight_ratio", 1.0))
        if ratio != 1.0:
            weight = np.where(
                _mask(people, str(truth.knobs["mobility_group"])), weight * ratio, weight
            )
        shift = float(truth.knobs.get("undermatch_levels", 0.0))
        if shift != 0.0:
            qual = np.where(
                _mask(people, str(truth.knobs["undermatch_group"])),
                np.maximum(qual - shift, 0.0),
                qual,
            )
    xy = people[["location_x_km", "location_y_km"]].to_numpy(dtype=np.float64)
    return qual, weight, no_car, on_sheltered, xy


def _mask(people: pd.DataFrame, group: str) -> np.ndarray:
    spec = parse_group(group)
    if spec.column not in people.columns:
        raise AuditInputError(
            f"group '{group}'",
            expected=f"column '{spec.column}' in people",
            found="no such column",
            fix="pass the full people table",
        )
    return np.asarray(people[spec.column].to_numpy() == spec.value)


def rank_vacancies(
    people: pd.DataFrame | pd.Series,
    vacancies: pd.DataFrame,
    *,
    k: int = 10,
    truth: InjectedTruth | None = None,
    chunk_size: int = 512,
) -> pd.DataFrame:
    """Top-``k`` vacancies per person, best first: columns :data:`RANKING_COLUMNS`.

    ``truth`` switches on the H6/H7 harms of its scenario (None: the fair matcher). Work is done
    in chunks of people, so memory is ``chunk_size x n_vacancies`` floats whatever the population.
    Ties break by vacancy order, so the ranking is deterministic.
    """
    if isinstance(people, pd.Series):
        people = people.to_frame().T.infer_objects()
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise AuditInputError(
            "k", expected="a whole number >= 1", found=repr(k), fix="pass e.g. k=10"
        )
    n_vac = len(vacancies)
    if n_vac == 0:
        raise AuditInputError(
            "vacancies table",
            expected="at least one vacancy",
            found="an empty table",
            fix="generate or load vacancies",
        )
    k_eff = min(k, n_vac)
    qual, weight, no_car, on_sheltered, xy = _person_inputs(people, truth)
    skill = _codes(vacancies["skill_level"], SKILL_LEVELS, "column 'skill_level'").astype(float)
    vx = vacancies["location_x_km"].to_numpy(dtype=np.float64)
    vy = vacancies["location_y_km"].to_numpy(dtype=np.float64)
    v_sheltered = vacancies["sheltered"].to_numpy(dtype=bool)
    v_transit = vacancies["distance_public_transport_km"].to_numpy(dtype=np.float64)
    v_permanent = (vacancies["contract_type"].to_numpy() == "permanent").astype(float)

    n = len(people)
    top_idx = np.empty((n, k_eff), dtype=np.int64)
    top_score = np.empty((n, k_eff))
    top_dist = np.empty((n, k_eff))
    for start in range(0, n, chunk_size):
        sl = slice(start, min(start + chunk_size, n))
        dist = np.hypot(xy[sl, 0:1] - vx, xy[sl, 1:2] - vy)
        gap = skill - qual[sl, None]
        score = (
            -OVERREACH_WEIGHT * np.maximum(gap, 0.0)
            - UNDERMATCH_WEIGHT * np.maximum(-gap, 0.0)
            - weight[sl, None] * dist / 10.0
            - NO_CAR_TRANSIT_WEIGHT * no_car[sl, None] * v_transit
            - SHELTERED_MISMATCH * (v_sheltered != on_sheltered[sl, None])
            + 0.2 * v_permanent
        )
        if k_eff < n_vac:
            part = np.argpartition(-score, k_eff - 1, axis=1)[:, :k_eff]
        else:
            part = np.broadcast_to(np.arange(n_vac), score.shape).copy()
        part.sort(axis=1)  # vacancy order first, so the stable sort breaks ties by it
        part_score = np.take_along_axis(score, part, axis=1)
        order = np.argsort(-part_score, axis=1, kind="stable")
        top_idx[sl] = np.take_along_axis(part, order, axis=1)
        top_score[sl] = np.take_along_axis(part_score, order, axis=1)
        top_dist[sl] = np.take_along_axis(dist, top_idx[sl], axis=1)

    flat = top_idx.ravel()
    edu = np.repeat(qual_true(people), k_eff)
    return pd.DataFrame(
        {
            "person_id": np.repeat(people["person_id"].to_numpy(), k_eff),
            "rank": np.tile(np.arange(1, k_eff + 1, dtype=np.int64), n),
            "vacancy_id": vacancies["vacancy_id"].to_numpy()[flat],
            "score": top_score.ravel(),
            "distance_km": top_dist.ravel(),
            "skill_gap": skill[flat].astype(np.int64) - edu,
        },
        columns=list(RANKING_COLUMNS),
    )


def qual_true(people: pd.DataFrame) -> np.ndarray:
    """The person's real qualification level (0 low, 1 medium, 2 high)."""
    return _codes(people["education"], EDUCATION_LEVELS, "column 'education'")
