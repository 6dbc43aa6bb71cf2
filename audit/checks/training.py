"""H2, training access: among people likely to benefit from training, does a group get it less
often than its reference?

"Likely to benefit" is the spec's eligibility rule (`eligible:`) on a column of the data: a
set of values (`{column: warranted_track, values: [training]}`), a numeric column at or above a
threshold (`{column: predicted_gain, at_least: 0.1}`), or a boolean column read as is
(`{column: asked_for_training}`). This is the equal-opportunity form: the rate of training
recommendations among the eligible, by group against its reference.

Without legitimate factors the deciding measure is that rate's difference (group minus
reference), with Newcombe's interval and a pooled z-test; harm lies below 0, and the margin
`max_shortfall` (default 0.05, five percentage points) is how far below the reference's rate a
group may fall for the harm to count as ruled out. With legitimate factors (the check's
`factors:`, by default the spec's) the deciding measure is the Mantel–Haenszel odds ratio of a
training recommendation among eligible people alike in those factors; harm lies below 1, and
the margin is `min_odds_ratio` (default 1/1.5). The raw difference is kept in the details.

Case flags: eligible people not recommended training although most eligible people alike in the
factors (never the group) were: the training share among the eligible of their stratum is at
least `case_above`. They are ranked by that share, highest first.

Limits: the check is only as good as its eligibility rule; a rule that is itself shaped by the
harm (a counsellor who records fewer training wishes for some groups) hides it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from audit.checks.base import (
    CannotRun,
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
from audit.checks.proportions import RateGap, rate_gap
from audit.checks.strata import group_labels, reference_level, strata_codes
from audit.checks.tracks import track_indicator
from audit.metrics.stratified import StratifiedOdds, stratified_odds, stratified_tables

CODE, NAME = "H2", "training"
CASE_REASON = "H2_TRAINING_WITHHELD"


class Eligibility(BaseModel):
    """Who is likely to benefit from training, from one column of the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    values: list[str | bool | int | float] | None = Field(
        default=None, description="eligible when the column holds one of these values"
    )
    at_least: float | None = Field(
        default=None, description="eligible when the numeric column is at least this"
    )

    @model_validator(mode="after")
    def _one_rule(self) -> Eligibility:
        if self.values is not None and self.at_least is not None:
            raise ValueError("either 'values' or 'at_least', not both")
        if self.values is not None and not self.values:
            raise ValueError("at least one value in 'values'")
        if self.at_least is not None and not math.isfinite(self.at_least):
            raise ValueError("a finite 'at_least'")
        return self

    def describe(self) -> str:
        if self.values is not None:
            return f"{self.column} in {[str(v) for v in self.values]}"
        if self.at_least is not None:
            return f"{self.column} >= {self.at_least:g}"
        return f"{self.column} is true"


class TrainingParams(CheckParams):
    check: Literal["H2", "training"]
    track: str = Field(default="training", description="the training track, as the model names it")
    eligible: Eligibility = Field(description="who is likely to benefit from training")
    attributes: list[str] | None = Field(
        default=None, description="group columns to check; default: every audited attribute"
    )
    factors: list[str] | None = Field(
        default=None,
        description="legitimate factors to compare alike people on; default: the spec's "
        "legitimate_factors; [] compares the raw rates among the eligible",
    )
    max_shortfall: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="without factors: how far below the reference's training rate a group may "
        "be for the harm to count as ruled out",
    )
    min_odds_ratio: float = Field(
        default=1 / 1.5,
        gt=0,
        lt=1,
        description="with factors: the adjusted odds ratio above which the harm counts as "
        "ruled out",
    )
    cases: bool = Field(default=False, description="list the people flagged for review")
    case_above: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="flag eligible people not recommended training when the training share "
        "among eligible people of their stratum is at least this",
    )


def needs(params: TrainingParams, ctx: CheckContext) -> list[str]:
    return [
        *ctx.attribute_columns(params.attributes),
        params.eligible.column,
        *ctx.factor_columns(params.factors),
    ]


@dataclass(frozen=True)
class _Comparison:
    column: str
    level: str
    reference: str
    gap: RateGap  # among the eligible
    odds: StratifiedOdds | None  # among the eligible, over the factors' strata

    @property
    def reliable_size(self) -> int:
        return min(self.gap.n, self.gap.n_reference)

    @property
    def log_odds(self) -> float:
        value = self.odds.odds_ratio if self.odds is not None else math.nan
        return math.log(value) if math.isfinite(value) and value > 0 else math.nan

    @property
    def adjusted(self) -> bool:
        """Decided on the adjusted odds ratio. Where it has no finite log or standard error
        (e.g. 0 when no eligible person of the group got training: the most harmful case), the
        raw difference decides instead, so a total refusal is never left undecided."""
        return self.odds is not None and math.isfinite(self.log_odds) and self.odds.log_se > 0

    def test(self) -> tuple[float, float]:
        """The deciding estimate's test scale: (estimate, standard error)."""
        if self.adjusted:
            assert self.odds is not None
            return self.log_odds, self.odds.log_se
        return self.gap.difference, self.gap.null_se


def run(params: TrainingParams, ctx: CheckContext) -> CheckOutcome:
    trained = track_indicator(ctx.table, params.track)
    eligible, notes = eligible_mask(ctx.people, params.eligible)
    if not eligible.any():
        raise CannotRun(
            f"eligible ({params.eligible.describe()}): expected some people eligible for "
            "training; found none. Fix: check the rule's column and values"
        )
    factors = ctx.factor_columns(params.factors)
    strata, read, factor_notes = strata_codes(ctx.people, factors, ctx.factor_bins)
    comparisons = _comparisons(params, ctx, trained, eligible, strata, bool(factors))
    # A difference with no variation (everyone eligible trained, or no one) has no test (p is
    # NaN, outside Holm's family) but still decides on its interval.
    deciding = [c for c in comparisons if c.reliable_size >= ctx.min_group_size]
    fallback = [f"{c.column}={c.level}" for c in deciding if c.odds is not None and not c.adjusted]
    if fallback:
        notes.append(
            "the adjusted odds ratio is undefined for "
            f"{', '.join(fallback)} (no training, or no stratum shared with the reference); "
            "the raw difference among the eligible decides there"
        )
    p_values = [wald_p(*c.test()) for c in deciding]
    tested = {id(c): (p, q) for c, p, q in zip(deciding, p_values, holm(p_values), strict=True)}
    tests = sum(math.isfinite(p) for p in p_values)
    evidence = [_record(c, tested.get(id(c)), params, ctx, tests) for c in comparisons]
    status = check_status(evidence)
    adjusted = bool(factors)
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params, factors),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.min_odds_ratio if adjusted else -params.max_shortfall,
        cases=_cases(trained, eligible, strata, read, ctx.table, params) if params.cases else (),
        notes=tuple([*notes, *factor_notes]),
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def eligible_mask(people: pd.DataFrame, rule: Eligibility) -> tuple[np.ndarray, list[str]]:
    """Who is eligible by the rule; a missing value is not eligible (and said so in a note)."""
    column = people[rule.column]
    notes: list[str] = []
    missing = int(column.isna().sum())
    if missing:
        notes.append(f"{missing} people without a value of '{rule.column}' count as not eligible")
    if rule.at_least is not None:
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise CannotRun(
                f"eligible.at_least on '{rule.column}': expected a numeric column; found "
                f"{column.dtype}. Fix: use `values:` for a column of labels"
            )
        values = pd.to_numeric(column).to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(values >= rule.at_least, dtype=bool), notes
    if rule.values is None:
        # A boolean column, or one of 0/1 (1 == True in Python's sets): true means eligible.
        if not set(column.dropna().unique()) <= {True, False}:
            raise CannotRun(
                f"eligible on '{rule.column}': expected a boolean column (true = eligible); "
                f"found values such as {[str(v) for v in column.dropna().unique()[:5]]}. Fix: "
                "name the eligible values (`values: [...]`) or a threshold (`at_least:`)"
            )
        return column.eq(True).fillna(False).to_numpy(dtype=bool), notes
    labels = group_labels(column)
    wanted = [str(v) for v in rule.values]
    present = sorted(set(labels[column.notna()].unique()))
    if not present:
        raise CannotRun(
            f"eligible on '{rule.column}': expected values to match {wanted}; found the column "
            "empty (no person has a value). Fix: fill the column, or name another one"
        )
    unknown = [v for v in wanted if v not in present]
    if len(unknown) == len(wanted):
        raise CannotRun(
            f"eligible on '{rule.column}': expected one of its values {present[:12]}; found "
            f"none of {wanted}. Fix: spell the values as the data does"
        )
    if unknown:
        notes.append(f"eligible values not in '{rule.column}': {unknown}")
    return np.asarray(labels.isin(wanted).to_numpy() & column.notna().to_numpy(), dtype=bool), notes


def _comparisons(
    params: TrainingParams,
    ctx: CheckContext,
    trained: np.ndarray,
    eligible: np.ndarray,
    strata: np.ndarray,
    adjusted: bool,
) -> list[_Comparison]:
    out: list[_Comparison] = []
    for column in ctx.attribute_columns(params.attributes):
        labels = group_labels(ctx.people[column]).to_numpy()
        reference = reference_level(ctx, column, labels)
        in_reference = labels == reference
        for level in sorted(set(labels) - {reference}):
            in_group = labels == level
            gap = rate_gap(trained, in_group & eligible, in_reference & eligible)
            odds = None
            if adjusted:
                tables = stratified_tables(
                    trained[eligible], in_group[eligible], in_reference[eligible], strata[eligible]
                )
                odds = stratified_odds(*tables)
            out.append(_Comparison(column, level, reference, gap, odds))
    return out


def _record(
    c: _Comparison,
    tested: tuple[float, float] | None,
    params: TrainingParams,
    ctx: CheckContext,
    tests: int,
) -> Evidence:
    z = z_of(ctx.alpha)
    gap = c.gap
    diff_low, diff_high = gap.interval(ctx.alpha)
    estimate_scale, se = c.test()
    if not c.adjusted:
        measure, null, margin = "rate_difference", 0.0, -params.max_shortfall
        estimate, low, high = gap.difference, diff_low, diff_high
        detectable = -gap.detectable(alpha=ctx.alpha, tests=tests, power=ctx.power)
    else:
        assert c.odds is not None
        measure, null, margin = "adjusted_odds_ratio", 1.0, params.min_odds_ratio
        estimate = c.odds.odds_ratio
        low, high = math.exp(estimate_scale - z * se), math.exp(estimate_scale + z * se)
        shift = detectable_shift(se, alpha=ctx.alpha, tests=tests, power=ctx.power)
        detectable = math.exp(-shift)
    status: RecordStatus = "unreliable"
    if tested is not None and math.isfinite(estimate_scale):
        status = conclude(
            estimate, low, high, tested[1], alpha=ctx.alpha, null=null, margin=margin,
            harmful="below",
        )  # fmt: skip
    details: dict[str, float | int | str | None] = {
        "rate": finite(gap.rate),
        "reference_rate": finite(gap.reference_rate),
        "rate_difference": finite(gap.difference),
        "rate_difference_low": finite(diff_low),
        "rate_difference_high": finite(diff_high),
    }
    if c.odds is not None:
        details.update(
            {
                "raw_odds_ratio": finite(c.odds.raw_odds_ratio),
                "adjusted_difference": finite(c.odds.adjusted_difference),
                "coverage": finite(c.odds.coverage),
                "strata": c.odds.strata,
            }
        )
    return Evidence(
        attribute=c.column,
        level=c.level,
        reference=c.reference,
        measure=measure,
        estimate=finite(estimate),
        ci_low=finite(low),
        ci_high=finite(high),
        p_value=finite(tested[0]) if tested else None,
        p_adjusted=finite(tested[1]) if tested else None,
        detectable=finite(detectable),
        n=gap.n,  # eligible people of the group: the people the rate is about
        n_reference=gap.n_reference,
        status=status,
        details=details,
    )


def _cases(
    trained: np.ndarray,
    eligible: np.ndarray,
    strata: np.ndarray,
    read: pd.DataFrame,
    table: pd.DataFrame,
    params: TrainingParams,
) -> tuple[CaseFlag, ...]:
    """Eligible people without training where eligible people alike mostly got it."""
    k = int(strata.max()) + 1 if strata.size else 0
    size = np.bincount(strata[eligible], minlength=k)
    got = np.bincount(strata[eligible], weights=trained[eligible].astype(np.float64), minlength=k)
    share = (got / np.maximum(size, 1))[strata]
    rows = np.flatnonzero(eligible & ~trained & (share >= params.case_above))
    rows = rows[np.argsort(-share[rows], kind="stable")]
    given = table["_track"].astype(str).to_numpy()
    factors = {name: read[name].to_numpy() for name in read.columns}
    return tuple(
        CaseFlag(
            row=int(i),
            reason=CASE_REASON,
            score=round(1 - float(share[i]), 6),  # lower is more unusual
            evidence={
                "track": params.track,
                "recommended": str(given[i]),
                "eligible_by": params.eligible.describe(),
                "track_share_among_comparable_eligible": round(float(share[i]), 4),
                "comparable_eligible_people": int(size[strata[i]]),
                **{f"factor.{f}": str(values[i]) for f, values in factors.items()},
            },
        )
        for i in rows
    )


def _sentence(
    status: str, evidence: list[Evidence], params: TrainingParams, factors: list[str]
) -> str:
    who = f"people eligible for '{params.track}' ({params.eligible.describe()})"
    alike = f", alike in {', '.join(factors)}" if factors else ""
    found = [e for e in evidence if e.status == "finding"]
    if status == "finding":
        worst = min(found, key=lambda e: e.estimate if e.estimate is not None else 0.0)
        rate, ref = worst.details.get("rate"), worst.details.get("reference_rate")
        rates = (
            f" (raw rates among the eligible: {float(rate):.0%} against {float(ref):.0%})"
            if rate is not None and ref is not None
            else ""
        )
        reference = f"{worst.attribute}={worst.reference}"
        if worst.measure == "adjusted_odds_ratio":
            size = f"at {worst.estimate:.2f} times the odds of {reference}"
        else:
            shortfall = -100 * (worst.estimate or 0.0)
            size = f"{shortfall:.1f} percentage points less often than {reference}"
        return (
            f"Training withheld: among {who}{alike}, {worst.attribute}={worst.level} are "
            f"recommended it {size}{rates} "
            f"(interval {worst.ci_low:.3g} to {worst.ci_high:.3g}, corrected p = "
            f"{worst.p_adjusted:.2g}); {len(found)} group(s) in all."
        )
    if factors:
        ruled_out = (
            f"no group's odds of it fall below {params.min_odds_ratio:.2f} times its reference's"
        )
        reach = f"below an odds ratio of {params.min_odds_ratio:.2f}"
    else:
        points = f"{100 * params.max_shortfall:g} percentage points"
        ruled_out = f"no group gets it more than {points} less often than its reference"
        reach = f"more than {points} below the reference"
    if status == "no_finding":
        return f"Access to '{params.track}' among {who}{alike}: {ruled_out}."
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        return (
            f"Less access to '{params.track}' cannot be ruled out for {len(unsure)} group(s) "
            f"among {who}{alike}: their intervals reach {reach}, without a significant gap."
        )
    return f"Training access could not be assessed among {who}: no group large enough."


CHECK = Check(
    code=CODE,
    name=NAME,
    params=TrainingParams,
    question="Among people likely to benefit, does a group get training less often?",
    needs=needs,
    run=run,
)
