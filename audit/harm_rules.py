"""The gate's `harm_check` rules: a harm check's conclusion, read as a pass, a fail or neither.

Without a bound the rule takes the check's own evidence both ways: it fails on a finding (a
significant harm after the check's Holm correction), passes when the check rules the harm out
(every deciding interval within the check's margin), and is inconclusive otherwise. A check that
was skipped or could compare no group leaves the rule `not_evaluable`, which is never a pass.

With `max` (or `min`) the rule bounds the check's estimates instead, on interval evidence like a
threshold rule: a group fails when its whole interval lies beyond the bound, passes when it lies
within, and is inconclusive otherwise ("the flip rate is at most 0.02").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from audit.checks.base import NOT_DECIDING, CheckOutcome, Evidence
from audit.gate import Finding, FindingCode, RuleOutcome, RuleStatus
from audit.spec import HarmCheckRule


def harm_rule_outcomes(
    rules: Sequence[HarmCheckRule], outcomes: Sequence[CheckOutcome]
) -> list[RuleOutcome]:
    by_id = {o.check_id: o for o in outcomes}
    return [_rule(rule, by_id.get(rule.harm_check)) for rule in rules]


def _rule(rule: HarmCheckRule, outcome: CheckOutcome | None) -> RuleOutcome:
    description = rule.description or _describe(rule)
    if outcome is None or outcome.status in ("skipped", "not_evaluable"):
        why = (
            "the check did not run"
            if outcome is None
            else f"check '{outcome.check_id}' {outcome.status.replace('_', ' ')}: {outcome.reason}"
        )
        return _not_evaluable(rule, description, outcome, why)
    deciding = [e for e in outcome.evidence if e.status not in NOT_DECIDING]
    if _has_bound(rule):
        measures = sorted({e.measure for e in deciding})
        if rule.measure is not None:
            deciding = [e for e in deciding if e.measure == rule.measure]
        mixed = len({_scale(m) for m in measures}) > 1
        if (rule.measure is None and mixed) or (
            rule.measure is not None and rule.measure not in measures
        ):
            why = (
                f"the bound needs one scale, and check '{outcome.check_id}' has records on "
                f"{', '.join(measures) or 'none'}: name the measure bounded with `measure:`"
            )
            return _not_evaluable(rule, description, outcome, why)
    findings: list[Finding] = []
    statuses: list[str] = []
    for e in deciding:
        status = _bounded(rule, e) if _has_bound(rule) else _from_check(e)
        statuses.append(status)
        if status == "fail":
            findings.append(_finding(rule, e, outcome, "HARM_FOUND", True))
        elif status == "inconclusive":
            findings.append(_finding(rule, e, outcome, "HARM_INCONCLUSIVE", False))
    overall: RuleStatus
    if "fail" in statuses:
        overall = "fail"
    elif not statuses:
        overall = "not_evaluable"
    elif "inconclusive" in statuses:
        overall = "inconclusive"
    else:
        overall = "pass"
    return RuleOutcome(
        rule_id=rule.id,
        description=description,
        status=overall,
        evaluated=len(statuses),
        findings=tuple(findings),
        reason=None if statuses else "no group large enough to compare",
    )


# The measures not on the scale of a share or a difference of shares (rates, flip rates, score
# losses): one bound cannot be read against a ratio or a distance and a share at once.
_SCALES = {"adjusted_odds_ratio": "ratio", "exposure_ratio": "ratio", "mean_distance_km": "km"}


def _scale(measure: str) -> str:
    return _SCALES.get(measure, "share")


def _not_evaluable(
    rule: HarmCheckRule, description: str, outcome: CheckOutcome | None, why: str
) -> RuleOutcome:
    return RuleOutcome(
        rule_id=rule.id,
        description=description,
        status="not_evaluable",
        evaluated=0,
        findings=(_finding(rule, None, outcome, "NOT_EVALUABLE", False, why),),
        reason=why,
    )


def _has_bound(rule: HarmCheckRule) -> bool:
    return rule.max is not None or rule.min is not None


def _from_check(e: Evidence) -> str:
    return {"finding": "fail", "no_finding": "pass"}.get(e.status, "inconclusive")


def _bounded(rule: HarmCheckRule, e: Evidence) -> str:
    low = e.ci_low if e.ci_low is not None else -math.inf
    high = e.ci_high if e.ci_high is not None else math.inf
    lo = rule.min if rule.min is not None else -math.inf
    hi = rule.max if rule.max is not None else math.inf
    if e.estimate is None:
        return "inconclusive"
    if low > hi or high < lo:
        return "fail"
    if lo <= low and high <= hi:
        return "pass"
    return "inconclusive"


def _describe(rule: HarmCheckRule) -> str:
    if rule.max is not None and rule.min is not None:
        return f"harm check '{rule.harm_check}' between {rule.min:g} and {rule.max:g}"
    if rule.max is not None:
        return f"harm check '{rule.harm_check}' at most {rule.max:g}"
    if rule.min is not None:
        return f"harm check '{rule.harm_check}' at least {rule.min:g}"
    return f"no harm found by check '{rule.harm_check}'"


def finding_sentence(f: Finding) -> str:
    """The plain sentence of a harm-check finding, from its own fields (so that the published
    form, with labels shortened for display, reads the same)."""
    if f.code == "NOT_EVALUABLE":
        return f"Rule '{f.rule_id}' could not be evaluated: {f.reason}."
    group = " × ".join(f"{a}={v}" for a, v in zip(f.attributes, f.levels, strict=True))
    ref = " × ".join(f.reference_levels)
    measure = f.metric.replace("_", " ")
    if f.value is None or f.ci_low is None or f.ci_high is None:
        figure = f"{measure} withheld or undefined"
    else:
        figure = f"{measure} {f.value:.3g} (interval {f.ci_low:.3g} to {f.ci_high:.3g})"
    what = f"{group} vs {ref}: {figure}"
    if f.position is not None:  # bounded: the rule's own bound
        side = "beyond" if f.code == "HARM_FOUND" else "on both sides of"
        return f"{what}: the interval lies {side} the bound {f.bound:g}."
    if f.code == "HARM_FOUND":
        # The published verdict withholds a small group's figures, its p-value with them.
        p = "withheld" if f.p_adjusted is None else f"{f.p_adjusted:.2g}"
        return f"{what}: a significant harm after correction (p = {p})."
    return (
        f"{what}: not significant, but the interval reaches beyond the check's margin "
        f"{f.bound:g}; the data cannot rule the harm out."
    )


def _finding(
    rule: HarmCheckRule,
    e: Evidence | None,
    outcome: CheckOutcome | None,
    code: FindingCode,
    decides: bool,
    why: str | None = None,
) -> Finding:
    bounded = _has_bound(rule)
    f = Finding(
        attributes=(e.attribute,) if e else (),
        levels=(e.level,) if e else (),
        reference_levels=(e.reference,) if e else (),
        metric=e.measure if e else "harm_check",
        kind="harm_check",
        value=e.estimate if e else None,
        ci_low=e.ci_low if e else None,
        ci_high=e.ci_high if e else None,
        code=code,
        rule_id=rule.id,
        # the rule's bound, or the check's margin the evidence was read against
        bound=(rule.max if rule.max is not None else rule.min)
        if bounded
        else (outcome.margin if outcome else None),
        position="interval_beyond" if bounded and e is not None else None,
        p_adjusted=e.p_adjusted if e else None,
        detectable=e.detectable if e else None,
        reason=why,
        decides=decides,
        sentence="",
    )
    return replace(f, sentence=finding_sentence(f))
