"""H5, label choice: does a model that looks fair on the label it was trained on (any job of
28 days within six months) stop looking fair on the outcome support should aim at, sustainable
work (a job kept for twelve months)?

The model's positive prediction ("judged likely to find work": its score at or above
`threshold`, or its decision) is compared between each group and its reference on both labels
side by side, in the error rates that allocate support:

- `fpr`: among people *without* the outcome, the share judged likely to find work, "wrongly
  judged high chance" (and so denied support); harmful when the group's rate is higher;
- `tpr`: among people *with* the outcome, the share judged likely, whose complement is "wrongly
  judged low chance" (parked in cheaper support); harmful when the group's rate is lower.

Each gap (group minus reference) has a Wald interval and test; Holm corrects over the check's
comparisons, on each label separately. A record concludes on the label question:

- **finding**: fair on the training label (its gap's interval within ±`max_gap`) and not on
  sustainable work (its gap significant after correction, on the harmful side and beyond
  `max_gap`): the label choice hides the disparity;
- **no finding**: the sustainable gap's harmful end is within `max_gap`: nothing to hide;
- **inconclusive**: otherwise, including a disparity visible on both labels (then the label
  choice does not hide it; the rules on the training label are where it shows).

Limits: the sustainable outcome must be observed for everyone (twelve months later), and it is
itself shaped by the support people received; a gap on it can come from the support as much as
from the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
    Harmful,
    RecordStatus,
    check_status,
    conclude,
    detectable_shift,
    finite,
    holm,
    wald_p,
    z_of,
)
from audit.checks.strata import group_labels, reference_level
from audit.errors import AuditInputError
from audit.stats.encoding import encode_binary

CODE, NAME = "H5", "label_choice"
OUTCOME, SCORE, DECISION = "_outcome", "_score", "_decision"  # the outputs step's columns
Measure = Literal["fpr", "tpr"]
HARMFUL: dict[str, Harmful] = {"fpr": "above", "tpr": "below"}


class LabelChoiceParams(CheckParams):
    check: Literal["H5", "label_choice"]
    sustainable: str = Field(
        default="sustainable_12m", description="the sustainable-employment outcome column"
    )
    sustainable_positive: str | None = Field(
        default=None,
        description="its value for sustained work; default: 1 / True of a 0/1 or boolean column",
    )
    attributes: list[str] | None = Field(
        default=None, description="group columns to check; default: every audited attribute"
    )
    predicted: Literal["score", "decision"] = Field(
        default="score",
        description="score: judged likely when the score is at or above threshold; decision: "
        "when the decision is 1",
    )
    threshold: float = Field(default=0.5, gt=0, lt=1, description="the score judged likely")
    measures: list[Measure] = Field(
        default=["fpr", "tpr"], min_length=1, description="the error rates compared"
    )
    max_gap: float = Field(
        default=0.03,
        gt=0,
        lt=1,
        description="the gap in a rate (group minus reference) within which a label is fair",
    )


def needs(params: LabelChoiceParams, ctx: CheckContext) -> list[str]:
    return list(dict.fromkeys([*ctx.attribute_columns(params.attributes), params.sustainable]))


@dataclass(frozen=True)
class _Gap:
    """One rate of a group against its reference, on one label."""

    rate: float
    reference_rate: float
    n: int  # the group's people in the rate's denominator
    n_reference: int

    @property
    def gap(self) -> float:
        return self.rate - self.reference_rate

    @property
    def se(self) -> float:
        if min(self.n, self.n_reference) == 0:
            return math.nan
        r, q = self.rate, self.reference_rate
        return math.sqrt(r * (1 - r) / self.n + q * (1 - q) / self.n_reference)


@dataclass(frozen=True)
class _Comparison:
    column: str
    level: str
    reference: str
    measure: Measure
    label: _Gap  # on the model's training label
    sustainable: _Gap
    n: int
    n_reference: int


def run(params: LabelChoiceParams, ctx: CheckContext) -> CheckOutcome:
    judged = _judged_likely(ctx.table, params)
    label = _training_label(ctx)
    sustainable = _sustainable(ctx.people[params.sustainable], params)
    comparisons: list[_Comparison] = []
    for column in ctx.attribute_columns(params.attributes):
        labels = group_labels(ctx.people[column]).to_numpy()
        reference = reference_level(ctx, column, labels)
        in_reference = labels == reference
        for level in sorted(set(labels) - {reference}):
            in_group = labels == level
            for measure in dict.fromkeys(params.measures):
                comparisons.append(
                    _Comparison(
                        column,
                        level,
                        reference,
                        measure,
                        _gap(judged, label, in_group, in_reference, measure),
                        _gap(judged, sustainable, in_group, in_reference, measure),
                        int(in_group.sum()),
                        int(in_reference.sum()),
                    )
                )
    deciding = [c for c in comparisons if _reliable(c, ctx.min_group_size)]
    on_label = _tested([c.label for c in deciding])
    on_sustainable = _tested([c.sustainable for c in deciding])
    tests = {id(c): (a, b) for c, a, b in zip(deciding, on_label, on_sustainable, strict=True)}
    evidence = [_record(c, tests.get(id(c)), params, ctx, len(deciding)) for c in comparisons]
    status = check_status(evidence)
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params, ctx.outcome or OUTCOME),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.max_gap,
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def _judged_likely(table: pd.DataFrame, params: LabelChoiceParams) -> np.ndarray:
    """Who the model judged likely to find work: score at or above the threshold, or decision 1."""
    if params.predicted == "score":
        if SCORE not in table.columns:
            raise CannotRun(
                "predicted: score: expected the model's score; found outputs without one (a track "
                "recommender without decision:, a decisions file without a score column, or "
                "decision.use_score off). Fix: name the score column or the decision "
                "(decision: {label: ...}), or set predicted: decision in the check's entry"
            )
        return np.asarray(table[SCORE].to_numpy(dtype=np.float64) >= params.threshold)
    if DECISION not in table.columns:
        raise CannotRun(
            "predicted: decision: expected a binary decision; found outputs without one. Fix: "
            "add decision: {label: ...} or a threshold to the spec, or set predicted: score"
        )
    return np.asarray(table[DECISION].to_numpy() == 1)


def _training_label(ctx: CheckContext) -> np.ndarray:
    if OUTCOME not in ctx.table.columns:
        raise CannotRun(
            "expected the model's training label as the audit's outcome; found no outcome. "
            "Fix: name it in the spec (outcome: COLUMN, e.g. job_28d_6m)"
        )
    return _binary(ctx.table[OUTCOME], "training label", None)


def _sustainable(column: pd.Series, params: LabelChoiceParams) -> np.ndarray:
    return _binary(column, "sustainable outcome", params.sustainable_positive)


def _binary(column: pd.Series, role: str, positive: str | None) -> np.ndarray:
    """0/1 or boolean as they are; any other coding needs its positive value named."""
    if column.isna().any():
        raise CannotRun(
            f"the {role} '{column.name}': expected it observed for everyone; found "
            f"{int(column.isna().sum())} missing value(s). Fix: audit the people whose outcome "
            "is known (drop the others from the data)"
        )
    try:
        if positive is not None and not pd.api.types.is_bool_dtype(column.dtype):
            text = column.astype(str)
            if not (text == positive).any():
                values = ", ".join(sorted(text.unique())[:12])
                raise CannotRun(
                    f"sustainable_positive '{positive}': expected a value of the column "
                    f"'{column.name}'; found none (its values: {values}). Fix: spell the value "
                    "as the data does"
                )
            return np.asarray(text.to_numpy() == positive)
        return np.asarray(encode_binary(column, role, positive) == 1)
    except AuditInputError as err:
        # The error's own hint names a command-line option; in a check the fix is a spec key.
        raise CannotRun(
            f"{err.subject}: expected {err.expected}; found {err.found}. Fix: name the value "
            "of sustained work (sustainable_positive)"
        ) from err


def _gap(
    judged: np.ndarray,
    outcome: np.ndarray,
    in_group: np.ndarray,
    in_reference: np.ndarray,
    measure: Measure,
) -> _Gap:
    among = outcome if measure == "tpr" else ~outcome  # the rate's denominator
    g, r = among & in_group, among & in_reference
    n, n_ref = int(g.sum()), int(r.sum())
    return _Gap(
        rate=float(judged[g].mean()) if n else math.nan,
        reference_rate=float(judged[r].mean()) if n_ref else math.nan,
        n=n,
        n_reference=n_ref,
    )


def _reliable(c: _Comparison, min_size: int) -> bool:
    """Every denominator of both labels holds enough people, and both gaps have a spread."""
    sizes = (c.label.n, c.label.n_reference, c.sustainable.n, c.sustainable.n_reference)
    spread = all(math.isfinite(g.se) and g.se > 0 for g in (c.label, c.sustainable))
    return min(sizes) >= min_size and spread


def _tested(gaps: list[_Gap]) -> list[tuple[float, float]]:
    p = [wald_p(g.gap, g.se) for g in gaps]
    return list(zip(p, holm(p), strict=True))


def _record(
    c: _Comparison,
    tests: tuple[tuple[float, float], tuple[float, float]] | None,
    params: LabelChoiceParams,
    ctx: CheckContext,
    n_tests: int,
) -> Evidence:
    z, m = z_of(ctx.alpha), params.max_gap
    harmful = HARMFUL[c.measure]
    margin = m if harmful == "above" else -m
    s, t = c.sustainable, c.label
    s_low, s_high = s.gap - z * s.se, s.gap + z * s.se
    t_low, t_high = t.gap - z * t.se, t.gap + z * t.se
    status: RecordStatus = "unreliable"
    label_status: str = "unreliable"
    if tests is not None:
        (_, t_q), (_, s_q) = tests
        # Both labels against "no gap" (null 0), with the fairness margin as tolerance.
        label_status = conclude(
            t.gap, t_low, t_high, t_q, alpha=ctx.alpha, null=0.0, margin=margin, harmful=harmful
        )
        fair_on_label = t_low >= -m and t_high <= m  # within the margin on both sides
        sustained = conclude(
            s.gap, s_low, s_high, s_q, alpha=ctx.alpha, null=0.0, margin=margin, harmful=harmful
        )
        beyond = s.gap > m if harmful == "above" else s.gap < -m
        if sustained == "no_finding":
            status = "no_finding"
        elif sustained == "finding" and beyond and fair_on_label:
            status = "finding"
        else:
            status = "inconclusive"
    shift = detectable_shift(s.se, alpha=ctx.alpha, tests=n_tests, power=ctx.power)
    return Evidence(
        attribute=c.column,
        level=c.level,
        reference=c.reference,
        measure=f"sustainable_{c.measure}_gap",
        estimate=finite(s.gap),
        ci_low=finite(s_low),
        ci_high=finite(s_high),
        p_value=finite(tests[1][0]) if tests else None,
        p_adjusted=finite(tests[1][1]) if tests else None,
        detectable=finite(shift if harmful == "above" else -shift),
        n=c.n,
        n_reference=c.n_reference,
        status=status,
        details={
            "measure": c.measure,
            "label": ctx.outcome or OUTCOME,
            "sustainable": params.sustainable,
            "rate": finite(s.rate),
            "reference_rate": finite(s.reference_rate),
            "denominator": s.n,
            "reference_denominator": s.n_reference,
            "label_gap": finite(t.gap),
            "label_ci_low": finite(t_low),
            "label_ci_high": finite(t_high),
            "label_p_adjusted": finite(tests[0][1]) if tests else None,
            "label_status": label_status,
            "label_rate": finite(t.rate),
            "label_reference_rate": finite(t.reference_rate),
            "label_denominator": t.n,
            "label_reference_denominator": t.n_reference,
        },
    )


def _number(value: float | int | str | None) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


_WORDS = {
    "fpr": "judged likely to find work among people who did not",
    "tpr": "judged likely to find work among people who did",
}


def _sentence(status: str, evidence: list[Evidence], params: LabelChoiceParams, label: str) -> str:
    m = params.max_gap
    if status == "finding":
        found = [e for e in evidence if e.status == "finding"]
        worst = max(found, key=lambda e: abs(e.estimate or 0.0))
        measure = str(worst.details["measure"])
        return (
            f"Fair on its label '{label}' but not on '{params.sustainable}': "
            f"{worst.attribute}={worst.level} are {_WORDS[measure]} at a rate "
            f"{worst.estimate:+.1%} from {worst.attribute}={worst.reference} on "
            f"'{params.sustainable}' (interval {worst.ci_low:+.1%} to {worst.ci_high:+.1%}, "
            f"corrected p = {worst.p_adjusted:.2g}), against {_number(worst.details['label_gap']):+.1%}"
            f" on '{label}' (within ±{m:.1%}); {len(found)} comparison(s) in all."
        )
    if status == "no_finding":
        return (
            f"No disparity beyond {m:.1%} on '{params.sustainable}' in the rates "
            f"({', '.join(dict.fromkeys(params.measures))}) of any group compared: the label "
            f"'{label}' hides none."
        )
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        both = [e for e in unsure if e.details.get("label_status") == "finding"]
        seen = (
            f"; {len(both)} of them already show a significant gap on '{label}' itself"
            if both
            else ""
        )
        return (
            f"Whether the label '{label}' hides a disparity on '{params.sustainable}' cannot be "
            f"told for {len(unsure)} comparison(s): their intervals on '{params.sustainable}' "
            f"reach beyond ±{m:.1%} without the label looking fair and the gap significant"
            f"{seen}."
        )
    return (
        f"The labels '{label}' and '{params.sustainable}' could not be compared: no group with "
        "enough people with and without each outcome."
    )


CHECK = Check(
    code=CODE,
    name=NAME,
    params=LabelChoiceParams,
    question="Does a model fair on its training label treat groups unequally on sustainable work?",
    needs=needs,
    run=run,
)
