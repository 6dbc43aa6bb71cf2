"""H6, mobility: are people of a group recommended jobs farther away, out of their reach?

For every group level against its reference, on each person's top-k recommended vacancies:

- `mean_distance_km`: the difference in the mean travel distance of the recommended jobs (km);
- `share_beyond_reach`: the difference in the share of them beyond reach. By default reach is
  one distance for everyone (`reach_km`); with `reach_by_transport: true` it is each person's
  own: `reach_car_km` with a car, `reach_km` by public transport, `reach_without_transit_km`
  without a car and with the nearest stop farther than `max_walk_km`.

Both are standardised over the legitimate factors' strata (e.g. the recommended track: sheltered
places are few and far), corrected together (Holm); a group recommended farther jobs is the harm
(harmful above). People without a fixed address are a group of their own wherever the data has
a housing column (`housing`). The unit is the person (their k recommendations summarised first),
so the intervals are clustered by person.

Limits: distance alone is not access. A group living farther from the jobs gets farther jobs from
a fair matcher too; adjust for where people live (a factor such as distance_to_jobs_km) before
reading a gap as the matcher's doing. The per-person reach is off by default because a group with
less transport has more jobs out of reach even when the matcher accounts for it (it measures the
labour market as well as the matcher).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from audit.checks.base import (
    CannotRun,
    Check,
    CheckContext,
    CheckOutcome,
    CheckParams,
    Evidence,
    check_status,
)
from audit.checks.ranked import Measure, compare, decide, per_person, ranked_rows, with_housing

CODE, NAME = "H6", "mobility"
MeasureName = Literal["mean_distance_km", "share_beyond_reach"]


class MobilityParams(CheckParams):
    check: Literal["H6", "mobility"]
    top_k: int = Field(default=10, ge=1, description="recommendations read per person")
    attributes: list[str] | None = Field(
        default=None, description="group columns to check; default: every audited attribute"
    )
    housing: str | None = Field(
        default="housing_status",
        description="housing column added as a group where the data has it (None: not added)",
    )
    factors: list[str] | None = Field(
        default=None, description="legitimate factors; default: the spec's legitimate_factors"
    )
    measures: list[MeasureName] = Field(
        default_factory=lambda: list[MeasureName](["mean_distance_km", "share_beyond_reach"]),
        min_length=1,
    )
    max_km: float = Field(
        default=2.0, gt=0, description="the extra mean distance (km) below which harm is ruled out"
    )
    max_share: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="the extra share beyond reach below which harm is ruled out",
    )
    reach_km: float = Field(default=10.0, gt=0, description="reach by public transport (km)")
    reach_by_transport: bool = Field(
        default=False, description="each person's own reach from their car and transit access"
    )
    reach_car_km: float = Field(default=30.0, gt=0, description="reach with a car (km)")
    reach_without_transit_km: float = Field(
        default=5.0, gt=0, description="reach without a car nor a stop within max_walk_km (km)"
    )
    max_walk_km: float = Field(default=1.0, gt=0, description="walk to a stop (km)")
    car: str = Field(default="has_car", description="column: has a car (true/false)")
    transit: str = Field(
        default="distance_public_transport_km",
        description="column: distance from home to the nearest public-transport stop (km)",
    )


def needs(params: MobilityParams, ctx: CheckContext) -> list[str]:
    wanted = [
        *(params.attributes or [a.column for a in ctx.attributes]),
        *ctx.factor_columns(params.factors),
    ]
    if params.reach_by_transport:
        wanted += [params.car, params.transit]
    return list(dict.fromkeys(wanted))


def run(params: MobilityParams, ctx: CheckContext) -> CheckOutcome:
    ranked = ranked_rows(ctx, ["distance_km"], params.top_k)
    rows = ranked["_row"].to_numpy()
    distance = ranked["distance_km"].to_numpy(dtype=np.float64)
    if not np.isfinite(distance).all():
        raise CannotRun(
            "expected a distance in km for every recommendation; found "
            f"{int((~np.isfinite(distance)).sum())} missing. Fix: complete distance_km"
        )
    n = len(ctx.people)
    reach = _reach(params, ctx)[rows]
    mean_km, _ = per_person(rows, distance, n)
    beyond, _ = per_person(rows, distance > reach, n)
    measures = [
        m
        for m in (
            Measure("mean_distance_km", mean_km, "difference", "above", params.max_km),
            Measure("share_beyond_reach", beyond, "difference", "above", params.max_share),
        )
        if m.name in params.measures
    ]
    attributes = with_housing(
        list(params.attributes or [a.column for a in ctx.attributes]), params.housing, ctx.people
    )
    comparisons, notes = compare(ctx, attributes, measures, ctx.factor_columns(params.factors))
    evidence = decide(comparisons, measures, ctx)
    status = check_status(evidence)
    unranked = int(n - np.unique(rows).size)
    if unranked:
        notes.append(f"{unranked} audited people have no recommendation and are not compared")
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.max_km,
        notes=tuple(notes),
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def _reach(params: MobilityParams, ctx: CheckContext) -> np.ndarray:
    """Each person's reach in km: one for all, or from their car and transit access."""
    n = len(ctx.people)
    if not params.reach_by_transport:
        return np.full(n, params.reach_km)
    car = ctx.people[params.car]
    # astype(bool) would read the text "no" or "false" as having a car: only true/false or 0/1.
    if not set(car.dropna().unique()) <= {True, False}:
        raise CannotRun(
            f"car column '{params.car}': expected true/false (or 0/1) for having a car; found "
            f"values such as {[str(v) for v in car.dropna().unique()[:5]]}. Fix: recode the "
            "column to true/false"
        )
    transit_column = ctx.people[params.transit]
    if not pd.api.types.is_numeric_dtype(transit_column) or pd.api.types.is_bool_dtype(
        transit_column
    ):
        raise CannotRun(
            f"transit column '{params.transit}': expected the distance in km to the nearest "
            f"stop; found {transit_column.dtype} values. Fix: export it as numbers"
        )
    transit = transit_column.to_numpy(dtype=np.float64, na_value=np.nan)
    has_car = car.eq(True).fillna(False).to_numpy(dtype=bool)
    near_stop = np.nan_to_num(transit, nan=math.inf) <= params.max_walk_km
    return np.where(
        has_car,
        params.reach_car_km,
        np.where(near_stop, params.reach_km, params.reach_without_transit_km),
    )


def _shown(e: Evidence, value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f} km" if e.measure == "mean_distance_km" else f"{100 * value:.0f} points"


def _sentence(status: str, evidence: list[Evidence], params: MobilityParams) -> str:
    if status == "finding":
        found = [e for e in evidence if e.status == "finding"]
        worst = min(found, key=lambda e: e.p_adjusted if e.p_adjusted is not None else 1.0)
        what = (
            "farther on average"
            if worst.measure == "mean_distance_km"
            else "more often beyond reach"
        )
        return (
            f"Mobility: the jobs recommended to {worst.attribute}={worst.level} are "
            f"{_shown(worst, worst.estimate)} {what} than those of "
            f"{worst.attribute}={worst.reference} (interval {_shown(worst, worst.ci_low)} to "
            f"{_shown(worst, worst.ci_high)}, corrected p = {worst.p_adjusted:.2g}); "
            f"{len(found)} comparison(s) in all."
        )
    if status == "no_finding":
        bounds = {
            "mean_distance_km": f"more than {params.max_km:g} km farther",
            "share_beyond_reach": f"{100 * params.max_share:g} points more often beyond reach",
        }
        ruled_out = " or ".join(bounds[m] for m in bounds if m in params.measures)
        return f"No group is recommended jobs {ruled_out} than its reference."
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        return (
            f"Mobility cannot be ruled out for {len(unsure)} comparison(s): their intervals "
            "reach beyond the margin without a significant gap."
        )
    return "Mobility could not be assessed: no group large enough."


CHECK = Check(
    code=CODE,
    name=NAME,
    params=MobilityParams,
    question="Are people of a group recommended jobs farther away, out of their reach?",
    needs=needs,
    run=run,
    needs_rankings=True,
)
