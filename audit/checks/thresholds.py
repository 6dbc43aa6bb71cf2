"""Allocation thresholds: at every score threshold that allocates support, does a group suffer
either error more often than its reference?

A profiling score cut at a threshold t sorts people into "high chance" (score >= t) and "low
chance" (score < t), and both mistakes hurt: someone wrongly judged high chance gets no support,
someone wrongly judged low chance is sent to cheaper, separate support. For every threshold
(default: the two cuts of AMS-style bands, 0.25 and 0.66) and every group against its
reference, two comparisons:

- **wrongly judged high chance**: the share with score >= t among people without the outcome
  (a false-positive rate at t);
- **wrongly judged low chance**: the share with score < t among people with the outcome (a
  false-negative rate at t).

Each is a difference of rates (group minus reference) with Newcombe's interval and a pooled
z-test, Holm-corrected over all the check's comparisons; harm lies above 0 (the group errs more),
and a gap is ruled out when the interval's upper end stays within `max_difference` (default
0.05, five percentage points). A record's sizes are the people its rate is about (without the
outcome, or with it), so small cells are suppressed on those.

Needs the score and the observed outcome. Limits: the errors are read against the outcome as
recorded, which is itself shaped by the support people received; a base-rate gap between groups
makes the two error rates differ even for a calibrated score (no threshold equalises both), so a
finding says where the errors fall, not why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from audit.checks.base import (
    CannotRun,
    Check,
    CheckContext,
    CheckOutcome,
    CheckParams,
    Evidence,
    RecordStatus,
    check_status,
    conclude,
    finite,
    holm,
)
from audit.checks.proportions import RateGap, rate_gap
from audit.checks.strata import group_labels, reference_level

CODE, NAME = "AT", "thresholds"
SCORE, OUTCOME = "_score", "_outcome"  # the outputs step's columns
DEFAULT_THRESHOLDS = (0.25, 0.66)  # the low / high band cuts (audit.steps.decisions)
WRONGLY_HIGH, WRONGLY_LOW = "wrongly_high_chance", "wrongly_low_chance"


class ThresholdParams(CheckParams):
    check: Literal["AT", "thresholds"]
    thresholds: list[float] = Field(
        default_factory=lambda: list(DEFAULT_THRESHOLDS),
        description="the score thresholds that allocate support",
    )
    attributes: list[str] | None = Field(
        default=None, description="group columns to check; default: every audited attribute"
    )
    max_difference: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="how much more often a group may err than its reference for the harm to "
        "count as ruled out",
    )

    @field_validator("thresholds")
    @classmethod
    def _distinct(cls, values: list[float]) -> list[float]:
        if not values:
            raise ValueError("at least one threshold")
        if not all(math.isfinite(v) for v in values):
            raise ValueError("finite thresholds")
        if len(set(values)) < len(values):
            raise ValueError("each threshold once")
        return sorted(values)


def needs(params: ThresholdParams, ctx: CheckContext) -> list[str]:
    return ctx.attribute_columns(params.attributes)


@dataclass(frozen=True)
class _Comparison:
    column: str
    level: str
    reference: str
    threshold: float
    measure: str
    gap: RateGap
    group_size: int
    reference_size: int


def run(params: ThresholdParams, ctx: CheckContext) -> CheckOutcome:
    score, outcome, kept, notes = _score_and_outcome(ctx.table)
    comparisons = _comparisons(params, ctx, score, outcome, kept)
    # Both groups without a single error (or all in error) leave no test (p is NaN, outside
    # Holm's family) but still decide on their interval.
    deciding = [c for c in comparisons if min(c.gap.n, c.gap.n_reference) >= ctx.min_group_size]
    p_values = [c.gap.p_value() for c in deciding]
    tested = {id(c): (p, q) for c, p, q in zip(deciding, p_values, holm(p_values), strict=True)}
    tests = sum(math.isfinite(p) for p in p_values)
    evidence = [_record(c, tested.get(id(c)), params, ctx, tests) for c in comparisons]
    status = check_status(evidence)
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.max_difference,
        notes=tuple(notes),
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def _score_and_outcome(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The score, the outcome (0/1) and the rows holding both; CannotRun without either."""
    absent = [
        (name, what)
        for name, what in ((SCORE, "a score"), (OUTCOME, "an observed outcome"))
        if name not in table.columns
    ]
    if absent:
        what = " and ".join(w for _, w in absent)
        raise CannotRun(
            f"expected {what} to read the errors at each threshold; found a model or decisions "
            f"file without {what}. Fix: audit a scoring model or name the file's score column "
            "(model.decisions.score_column), and the spec's outcome column (outcome:)"
        )
    score = pd.to_numeric(table[SCORE], errors="coerce").to_numpy(dtype=np.float64)
    outcome = pd.to_numeric(table[OUTCOME], errors="coerce").to_numpy(dtype=np.float64)
    kept = np.isfinite(score) & np.isfinite(outcome)
    notes = []
    if not kept.all():
        notes.append(f"{int((~kept).sum())} people without a score or an outcome are left out")
    return score, outcome == 1, kept, notes


def _comparisons(
    params: ThresholdParams,
    ctx: CheckContext,
    score: np.ndarray,
    outcome: np.ndarray,
    kept: np.ndarray,
) -> list[_Comparison]:
    without, with_ = kept & ~outcome, kept & outcome
    out: list[_Comparison] = []
    for column in ctx.attribute_columns(params.attributes):
        labels = group_labels(ctx.people[column]).to_numpy()
        reference = reference_level(ctx, column, labels)
        in_reference = labels == reference
        for level in sorted(set(labels) - {reference}):
            in_group = labels == level
            sizes = int((in_group & kept).sum()), int((in_reference & kept).sum())
            for t in params.thresholds:
                high = score >= t
                out.append(
                    _Comparison(
                        column, level, reference, t, WRONGLY_HIGH,
                        rate_gap(high, in_group & without, in_reference & without), *sizes,
                    )
                )  # fmt: skip
                out.append(
                    _Comparison(
                        column, level, reference, t, WRONGLY_LOW,
                        rate_gap(~high, in_group & with_, in_reference & with_), *sizes,
                    )
                )  # fmt: skip
    return out


def _record(
    c: _Comparison,
    tested: tuple[float, float] | None,
    params: ThresholdParams,
    ctx: CheckContext,
    tests: int,
) -> Evidence:
    gap = c.gap
    low, high = gap.interval(ctx.alpha)
    status: RecordStatus = "unreliable"
    if tested is not None:
        status = conclude(
            gap.difference, low, high, tested[1], alpha=ctx.alpha, null=0.0,
            margin=params.max_difference, harmful="above",
        )  # fmt: skip
    return Evidence(
        attribute=c.column,
        level=c.level,
        reference=c.reference,
        measure=c.measure,
        estimate=finite(gap.difference),
        ci_low=finite(low),
        ci_high=finite(high),
        p_value=finite(tested[0]) if tested else None,
        p_adjusted=finite(tested[1]) if tested else None,
        detectable=finite(gap.detectable(alpha=ctx.alpha, tests=tests, power=ctx.power)),
        # the people the rate is about: without the outcome (high) or with it (low)
        n=gap.n,
        n_reference=gap.n_reference,
        status=status,
        details={
            "threshold": c.threshold,
            "rate": finite(gap.rate),
            "reference_rate": finite(gap.reference_rate),
            "group_size": c.group_size,
            "reference_size": c.reference_size,
        },
    )


_PLAIN = {
    WRONGLY_HIGH: ("without the outcome", "judged high chance"),
    WRONGLY_LOW: ("with the outcome", "judged low chance"),
}


def _sentence(status: str, evidence: list[Evidence], params: ThresholdParams) -> str:
    cuts = ", ".join(f"{t:g}" for t in params.thresholds)
    found = [e for e in evidence if e.status == "finding"]
    if status == "finding":
        worst = max(found, key=lambda e: e.estimate or 0.0)
        who, judged = _PLAIN[worst.measure]
        rate, ref = worst.details["rate"], worst.details["reference_rate"]
        return (
            f"At threshold {worst.details['threshold']}, {worst.attribute}="
            f"{worst.level} {who} are wrongly {judged} {100 * (worst.estimate or 0.0):.1f} "
            f"percentage points more often than {worst.attribute}={worst.reference} "
            f"({float(rate or 0):.0%} against {float(ref or 0):.0%}; interval "
            f"{worst.ci_low:.3f} to {worst.ci_high:.3f}, corrected p = {worst.p_adjusted:.2g}); "
            f"{len(found)} comparison(s) in all."
        )
    margin = f"{100 * params.max_difference:g} percentage points"
    if status == "no_finding":
        return (
            f"At the thresholds {cuts}, no group is wrongly judged high or low chance more "
            f"often than its reference by more than {margin}."
        )
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        return (
            f"At the thresholds {cuts}, more errors for {len(unsure)} comparison(s) cannot be "
            f"ruled out: their intervals reach beyond {margin}, without a significant gap."
        )
    return f"Errors at the thresholds {cuts} could not be assessed: no group large enough."


CHECK = Check(
    code=CODE,
    name=NAME,
    params=ThresholdParams,
    question="At each threshold that allocates support, does a group suffer either error more?",
    needs=needs,
    run=run,
)
