"""H1, steering: are people of a group sent to one track (sheltered work) more often than
comparable people, alike in the legitimate factors (assessed capacity, qualification)?

For every group level against its reference: the raw odds ratio of the track, and the
Mantel–Haenszel odds ratio over the strata of the legitimate factors, with its interval, a Wald
test of "the odds ratio is at most `max_odds_ratio`" (1.25) corrected (Holm) over all the
check's comparisons, and the share of the raw gap in rates that the factors explain. A service
whose gap is fully explained by capacity shows an adjusted odds ratio near 1 however large the
raw gap; one that steers shows it above the margin. Testing against the margin rather than 1
keeps a small excess that coarse factors leave (residual confounding) from being called steering
once there are many people.

Case flags: people sent to the track although, judging from the legitimate factors alone (never
the group), it is unlikely: the track's share among everyone in their stratum is below
`case_below`. They are ranked by that share, lowest first.

Limits: the check adjusts only for the factors it is given, and for numeric ones at the
resolution of their quantile bins; a factor that is itself shaped by the harm (a counsellor's
assessment written with the same prejudice) hides steering instead of revealing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from audit.checks.base import (
    CaseFlag,
    Check,
    CheckContext,
    CheckOutcome,
    CheckParams,
    Evidence,
    RecordStatus,
    check_status,
    conclude,
    detectable_shift,
    finite,
    holm,
    wald_p,
    z_of,
)
from audit.checks.strata import group_labels, reference_level, strata_codes
from audit.checks.tracks import track_indicator
from audit.metrics.stratified import StratifiedOdds, stratified_odds, stratified_tables

CODE, NAME = "H1", "steering"
CASE_REASON = "H1_UNLIKELY_TRACK"


class SteeringParams(CheckParams):
    check: Literal["H1", "steering"]
    track: str = Field(description="the track steered toward, e.g. sheltered")
    attributes: list[str] | None = Field(
        default=None, description="group columns to check; default: every audited attribute"
    )
    factors: list[str] | None = Field(
        default=None, description="legitimate factors; default: the spec's legitimate_factors"
    )
    max_odds_ratio: float = Field(
        default=1.25,
        gt=1,
        description="the largest adjusted odds ratio tolerated: a finding needs the interval "
        "wholly above it, no finding the interval wholly below it",
    )
    cases: bool = Field(default=False, description="list the people flagged for review")
    case_below: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="flag people sent to the track when its share in their stratum is below this",
    )


def needs(params: SteeringParams, ctx: CheckContext) -> list[str]:
    return [*ctx.attribute_columns(params.attributes), *ctx.factor_columns(params.factors)]


@dataclass(frozen=True)
class _Comparison:
    column: str
    level: str
    reference: str
    odds: StratifiedOdds
    n: int
    n_reference: int

    @property
    def log_odds(self) -> float:
        value = self.odds.odds_ratio
        return math.log(value) if math.isfinite(value) and value > 0 else math.nan


def run(params: SteeringParams, ctx: CheckContext) -> CheckOutcome:
    sent = track_indicator(ctx.table, params.track)
    factors = ctx.factor_columns(params.factors)
    strata, read, notes = strata_codes(ctx.people, factors, ctx.factor_bins)
    comparisons: list[_Comparison] = []
    for column in ctx.attribute_columns(params.attributes):
        labels = group_labels(ctx.people[column]).to_numpy()
        reference = reference_level(ctx, column, labels)
        in_reference = labels == reference
        for level in sorted(set(labels) - {reference}):
            in_group = labels == level
            odds = stratified_odds(*stratified_tables(sent, in_group, in_reference, strata))
            comparisons.append(
                _Comparison(
                    column, level, reference, odds, int(in_group.sum()), int(in_reference.sum())
                )
            )
    # The family corrected together: the comparisons that can decide.
    deciding = [
        c
        for c in comparisons
        if min(c.n, c.n_reference) >= ctx.min_group_size and math.isfinite(c.odds.log_se)
    ]
    # Tested against the margin, not against 1: a small excess that coarse factors leave in
    # place (residual confounding) is not called steering however many people there are.
    margin = math.log(params.max_odds_ratio)
    p_values = [wald_p(c.log_odds, c.odds.log_se, null=margin) for c in deciding]
    tested = {id(c): (p, q) for c, p, q in zip(deciding, p_values, holm(p_values), strict=True)}
    evidence = [_record(c, tested.get(id(c)), params, ctx, len(deciding)) for c in comparisons]
    status = check_status(evidence)
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params, factors),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.max_odds_ratio,
        cases=_cases(sent, strata, read, params) if params.cases else (),
        notes=tuple(notes),
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def _record(
    c: _Comparison,
    tested: tuple[float, float] | None,
    params: SteeringParams,
    ctx: CheckContext,
    tests: int,
) -> Evidence:
    odds, z = c.odds, z_of(ctx.alpha)
    log_or, se = c.log_odds, odds.log_se
    low, high = math.exp(log_or - z * se), math.exp(log_or + z * se)
    status: RecordStatus = "unreliable"
    if tested is not None and math.isfinite(log_or):
        status = conclude(
            odds.odds_ratio,
            low,
            high,
            tested[1],
            alpha=ctx.alpha,
            null=params.max_odds_ratio,
            margin=params.max_odds_ratio,
            harmful="above",
        )
    # the true odds ratio the corrected test finds with the stated power, beyond the margin
    shift = detectable_shift(se, alpha=ctx.alpha, tests=tests, power=ctx.power)
    detectable = params.max_odds_ratio * math.exp(shift)
    raw_gap = odds.rate - odds.reference_rate
    explained = (
        1 - odds.adjusted_difference / raw_gap
        if raw_gap > 0 and math.isfinite(odds.adjusted_difference)
        else math.nan
    )
    return Evidence(
        attribute=c.column,
        level=c.level,
        reference=c.reference,
        measure="adjusted_odds_ratio",
        estimate=finite(odds.odds_ratio),
        ci_low=finite(low),
        ci_high=finite(high),
        p_value=finite(tested[0]) if tested else None,
        p_adjusted=finite(tested[1]) if tested else None,
        detectable=finite(detectable),
        n=c.n,
        n_reference=c.n_reference,
        status=status,
        details={
            "raw_odds_ratio": finite(odds.raw_odds_ratio),
            "rate": finite(odds.rate),
            "reference_rate": finite(odds.reference_rate),
            "adjusted_difference": finite(odds.adjusted_difference),
            "share_explained": finite(explained),
            "coverage": finite(odds.coverage),
            "strata": odds.strata,
        },
    )


def _cases(
    sent: np.ndarray, strata: np.ndarray, read: pd.DataFrame, params: SteeringParams
) -> tuple[CaseFlag, ...]:
    """People sent to the track where the factors alone make it unlikely, most unlikely first."""
    k = int(strata.max()) + 1 if strata.size else 0
    size = np.bincount(strata, minlength=k)
    share = np.bincount(strata, weights=sent.astype(np.float64), minlength=k) / np.maximum(size, 1)
    likelihood = share[strata]
    rows = np.flatnonzero(sent & (likelihood < params.case_below))
    rows = rows[np.argsort(likelihood[rows], kind="stable")]
    factors = {name: read[name].to_numpy() for name in read.columns}
    return tuple(
        CaseFlag(
            row=int(i),
            reason=CASE_REASON,
            score=float(likelihood[i]),
            evidence={
                "track": params.track,
                "track_share_among_comparable": round(float(likelihood[i]), 4),
                "comparable_people": int(size[strata[i]]),
                **{f"factor.{f}": str(values[i]) for f, values in factors.items()},
            },
        )
        for i in rows
    )


def _sentence(
    status: str, evidence: list[Evidence], params: SteeringParams, factors: list[str]
) -> str:
    alike = (
        f"alike in {', '.join(factors)}" if factors else "without legitimate factors to compare on"
    )
    found = [e for e in evidence if e.status == "finding"]
    if status == "finding":
        worst = max(found, key=lambda e: e.estimate or 0.0)
        share = worst.details.get("share_explained")
        explained = (
            f"; the factors explain {float(share):.0%} of the raw gap" if share is not None else ""
        )
        return (
            f"Steering toward '{params.track}': {worst.attribute}={worst.level} are sent there "
            f"with {worst.estimate:.2f} times the odds of {worst.attribute}={worst.reference} "
            f"among people {alike} (interval {worst.ci_low:.2f}–{worst.ci_high:.2f}, corrected "
            f"p = {worst.p_adjusted:.2g}){explained}; {len(found)} group(s) in all."
        )
    if status == "no_finding":
        return (
            f"No steering toward '{params.track}' beyond an odds ratio of "
            f"{params.max_odds_ratio:g} among people {alike}, for any group compared."
        )
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        reach = max((e.ci_high or math.inf) for e in unsure)
        return (
            f"Steering toward '{params.track}' cannot be ruled out for {len(unsure)} group(s): "
            f"their intervals reach an odds ratio of {reach:.2f}, above the margin "
            f"{params.max_odds_ratio:g}, without a significant excess."
        )
    return f"Steering toward '{params.track}' could not be assessed: no group large enough."


CHECK = Check(
    code=CODE,
    name=NAME,
    params=SteeringParams,
    question="Are people of a group sent to a track more often than comparable people?",
    needs=needs,
    run=run,
)
