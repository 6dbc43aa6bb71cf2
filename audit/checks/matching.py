"""H7, under-matching: are people of a group recommended jobs below their qualification, and
shown less to the employers of jobs at their level?

For every group level against its reference:

- `share_below_qualification`: the difference in the share of each person's top-k recommended
  vacancies whose skill level is below the person's qualification (`skill_gap < 0`, with
  skill_gap = the job's level minus the person's, as `audit.data.vacancies` computes it);
  harmful above, margin `max_share`;
- `exposure_ratio`: how visible the group's people are to employers. Each vacancy's candidates
  are the people it was recommended to (within their top-k), ranked by the matcher's score; a
  candidate at place r gets 1/log2(1 + r) of attention. A person's exposure is the attention
  they get summed over the vacancies at or above their qualification (`skill_gap >= 0`;
  `exposure_jobs: all` counts every vacancy). The group's mean exposure over the reference's;
  harmful below, margin `min_exposure_ratio`.

Both are standardised over the legitimate factors' strata (the qualification itself, the
recommended track), corrected together (Holm); the person is the unit, so the intervals are
clustered by person.

Limits: people at the lowest qualification cannot be under-matched, so a group with fewer of
them shows more under-matching from a fair matcher; name the qualification as a factor. The
exposure interval treats people as independent, while candidates of one vacancy compete for its
places; and it needs scores comparable across people (one matcher's).
"""

from __future__ import annotations

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
from audit.checks.ranked import (
    Measure,
    compare,
    decide,
    per_person,
    per_person_sum,
    ranked_rows,
    with_housing,
)

CODE, NAME = "H7", "undermatching"
MeasureName = Literal["share_below_qualification", "exposure_ratio"]


class MatchingParams(CheckParams):
    check: Literal["H7", "undermatching"]
    top_k: int = Field(default=10, ge=1, description="recommendations read per person")
    attributes: list[str] | None = Field(
        default=None, description="group columns to check; default: every audited attribute"
    )
    housing: str | None = Field(
        default=None, description="housing column added as a group where the data has it"
    )
    factors: list[str] | None = Field(
        default=None, description="legitimate factors; default: the spec's legitimate_factors"
    )
    measures: list[MeasureName] = Field(
        default_factory=lambda: list[MeasureName](["share_below_qualification", "exposure_ratio"]),
        min_length=1,
    )
    max_share: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="the extra share of jobs below qualification below which harm is ruled out",
    )
    min_exposure_ratio: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="the exposure ratio above which less exposure is ruled out",
    )
    exposure_jobs: Literal["at_level", "all"] = Field(
        default="at_level",
        description="vacancies counted in a person's exposure: at or above their "
        "qualification, or all",
    )


def needs(params: MatchingParams, ctx: CheckContext) -> list[str]:
    return list(
        dict.fromkeys(
            [
                *(params.attributes or [a.column for a in ctx.attributes]),
                *ctx.factor_columns(params.factors),
            ]
        )
    )


def run(params: MatchingParams, ctx: CheckContext) -> CheckOutcome:
    exposure = "exposure_ratio" in params.measures
    columns = ["skill_gap", *(["vacancy_id", "score"] if exposure else [])]
    ranked = ranked_rows(ctx, columns, params.top_k)
    gap = pd.to_numeric(ranked["skill_gap"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(gap).all():
        raise CannotRun(
            "expected a skill gap (the job's level minus the person's) for every "
            f"recommendation; found {int((~np.isfinite(gap)).sum())} missing. Fix: complete "
            "skill_gap"
        )
    rows, n = ranked["_row"].to_numpy(), len(ctx.people)
    below, has = per_person(rows, gap < 0, n)
    measures = []
    if "share_below_qualification" in params.measures:
        measures.append(
            Measure("share_below_qualification", below, "difference", "above", params.max_share)
        )
    if exposure:
        attention = candidate_attention(ranked)
        counted = gap >= 0 if params.exposure_jobs == "at_level" else np.ones(gap.size, bool)
        seen = np.where(has, per_person_sum(rows, attention * counted, n), np.nan)
        measures.append(
            Measure("exposure_ratio", seen, "ratio", "below", params.min_exposure_ratio)
        )
    attributes = with_housing(
        list(params.attributes or [a.column for a in ctx.attributes]), params.housing, ctx.people
    )
    comparisons, notes = compare(ctx, attributes, measures, ctx.factor_columns(params.factors))
    evidence = decide(comparisons, measures, ctx)
    status = check_status(evidence)
    unranked = int(n - has.sum())
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
        margin=params.max_share,
        notes=tuple(notes),
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def candidate_attention(ranked: pd.DataFrame) -> np.ndarray:
    """Per recommendation: 1/log2(1 + r), r the person's place among the vacancy's candidates
    (everyone it was recommended to, best score first; ties share the better place)."""
    score = pd.to_numeric(ranked["score"], errors="coerce")
    if score.isna().any():
        raise CannotRun(
            "expected the matcher's score of every recommendation, to rank each vacancy's "
            f"candidates; found {int(score.isna().sum())} missing. Fix: complete the score "
            "column, or leave exposure_ratio out of measures"
        )
    place = score.groupby(ranked["vacancy_id"].astype(str).to_numpy()).rank(
        method="min", ascending=False
    )
    return np.asarray(1.0 / np.log2(1.0 + place.to_numpy(dtype=np.float64)))


def _sentence(status: str, evidence: list[Evidence], params: MatchingParams) -> str:
    if status == "finding":
        found = [e for e in evidence if e.status == "finding"]
        worst = min(found, key=lambda e: e.p_adjusted if e.p_adjusted is not None else 1.0)
        who = f"{worst.attribute}={worst.level}"
        than = f"{worst.attribute}={worst.reference}"
        if worst.measure == "share_below_qualification":
            what = (
                f"{100 * (worst.estimate or 0):.0f} points more of the jobs recommended to "
                f"{who} are below their qualification than for {than} (interval "
                f"{100 * (worst.ci_low or 0):.0f} to {100 * (worst.ci_high or 0):.0f} points"
            )
        else:
            what = (
                f"{who} get {worst.estimate:.2f} times the exposure of {than} among the "
                f"candidates of jobs at their level (interval {worst.ci_low:.2f} to "
                f"{worst.ci_high:.2f}"
            )
        return (
            f"Under-matching: {what}, corrected p = {worst.p_adjusted:.2g}); "
            f"{len(found)} comparison(s) in all."
        )
    if status == "no_finding":
        bounds = {
            "share_below_qualification": f"recommended more than {100 * params.max_share:g} "
            "points more jobs below its qualification",
            "exposure_ratio": f"shown below {params.min_exposure_ratio:g} times the exposure",
        }
        ruled_out = ", nor ".join(bounds[m] for m in bounds if m in params.measures)
        return f"No group is {ruled_out} of its reference."
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        return (
            f"Under-matching cannot be ruled out for {len(unsure)} comparison(s): their "
            "intervals reach beyond the margin without a significant gap."
        )
    return "Under-matching could not be assessed: no group large enough."


CHECK = Check(
    code=CODE,
    name=NAME,
    params=MatchingParams,
    question="Are people of a group recommended jobs below their qualification?",
    needs=needs,
    run=run,
    needs_rankings=True,
)
