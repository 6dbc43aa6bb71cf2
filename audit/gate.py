"""The release gate: policy rules read against an `Assessment`, giving a verdict with reasons.

A rule fails only on evidence. With `evidence: interval` (the default) a group breaches a bound
when its whole confidence interval lies beyond it; when only the estimate does, the group is
reported as *inconclusive* and does not fail the rule. Groups below the minimum size are
reported but never decide the verdict alone. Every breach is a `Finding` record with a stable
code, a plain sentence and its evidence (Architecture decision 6: findings are records).

Non-regression compares the candidate with a baseline assessment (the model in production, or a
previous audit) on every threshold rule's metric: the candidate fails when it is significantly
further from the rule's allowed range than the baseline, Holm-corrected over all comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Literal

import numpy as np
from pydantic import TypeAdapter
from scipy import stats

from audit.metrics.significance import adjust
from audit.spec import Evidence, PolicySpec, SignificanceRule, ThresholdRule
from audit.stats.result import Assessment, ConditionalDisparity, Disparity

RuleStatus = Literal["pass", "fail", "not_evaluable"]
FindingCode = Literal[
    "BOUND_BREACHED",  # the evidence places the group beyond the rule's bound
    "BOUND_INCONCLUSIVE",  # the estimate is beyond the bound, the interval is not
    "SMALL_GROUP",  # beyond the bound, but the group is below the minimum size
    "SIGNIFICANT_DISPARITY",  # a corrected test rejects "no disparity"
    "REGRESSION",  # significantly worse than the baseline
]


@dataclass(frozen=True, kw_only=True)
class Compared:
    """A group's estimate against its reference group, with its interval."""

    attributes: tuple[str, ...]
    levels: tuple[str, ...]
    reference_levels: tuple[str, ...]
    metric: str
    kind: str
    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, kw_only=True)
class Finding(Compared):
    code: FindingCode
    rule_id: str
    bound: float | None = None
    baseline_value: float | None = None
    p_adjusted: float | None = None
    decides: bool
    sentence: str


@dataclass(frozen=True, kw_only=True)
class RuleOutcome:
    rule_id: str
    description: str
    status: RuleStatus
    evaluated: int
    findings: tuple[Finding, ...]


@dataclass(frozen=True, kw_only=True)
class Verdict:
    passed: bool
    rules: tuple[RuleOutcome, ...]
    baseline: str | None = None

    @property
    def label(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.rules for f in r.findings if f.decides)

    @property
    def worst(self) -> Finding | None:
        """The deciding finding furthest beyond its bound (or, without one, the first finding)."""
        deciding = self.failures or tuple(f for r in self.rules for f in r.findings)
        if not deciding:
            return None
        return max(deciding, key=_excess)

    def to_json(self) -> str:
        return _adapter().dump_json(self, indent=1).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> Verdict:
        return _adapter().validate_json(text)


@cache
def _adapter() -> TypeAdapter[Verdict]:
    return TypeAdapter(Verdict)


def _excess(f: Finding) -> float:
    if f.value is None or f.bound is None:
        return 0.0
    return abs(f.value - f.bound)


def evaluate_policy(
    policy: PolicySpec, assessment: Assessment, baseline: Assessment | None = None
) -> Verdict:
    """The verdict: every rule on the assessment, then non-regression against the baseline."""
    outcomes: list[RuleOutcome] = []
    for rule in policy.rules:
        if isinstance(rule, ThresholdRule):
            outcomes.append(_threshold(rule, assessment, rule.evidence or policy.evidence))
        else:
            outcomes.append(_significance(rule, assessment))
    if baseline is not None:
        thresholds = [r for r in policy.rules if isinstance(r, ThresholdRule)]
        outcomes.extend(_regressions(thresholds, assessment, baseline, policy.regression_margin))
    passed = all(o.status != "fail" for o in outcomes)
    return Verdict(passed=passed, rules=tuple(outcomes), baseline=policy.baseline)


@dataclass(frozen=True, kw_only=True)
class Comparison(Compared):
    """What a rule reads: a plain disparity, or one conditional on legitimate factors."""

    p_adjusted: float | None
    significant: bool | None
    reliable: bool

    @classmethod
    def of(cls, d: Disparity | ConditionalDisparity) -> Comparison:
        return cls(
            **{c.name: getattr(d, c.name) for c in fields(Compared) if c.name != "kind"},
            kind=d.kind if isinstance(d, Disparity) else "conditional_difference",
            p_adjusted=d.p_adjusted,
            significant=d.significant,
            reliable=d.reliable,
        )


def _in_scope(d: Comparison, rule: ThresholdRule | SignificanceRule) -> bool:
    if rule.attributes is None:
        return True
    return any(tuple(a) == d.attributes for a in rule.attributes)


def _candidates(
    assessment: Assessment, rule: ThresholdRule | SignificanceRule, metric: str, kind: str
) -> list[Comparison]:
    """The comparisons a rule reads; `conditional` rules read the within-strata differences."""
    records: tuple[Disparity | ConditionalDisparity, ...] = (
        assessment.conditional if rule.conditional else assessment.disparities
    )
    wanted = "conditional_difference" if rule.conditional else kind
    return [
        c
        for c in map(Comparison.of, records)
        if c.metric == metric
        and c.kind == wanted
        and _in_scope(c, rule)
        and c.levels != c.reference_levels
    ]


def _describe(rule: ThresholdRule) -> str:
    if rule.description:
        return rule.description
    low, high = rule.bounds
    what = f"{rule.metric} {rule.kind} of each group to its reference"
    if rule.conditional:
        what += " within strata of the legitimate factors"
    if rule.max_abs is not None:
        return f"|{what}| <= {rule.max_abs:g}"
    parts = [f">= {low:g}"] if math.isfinite(low) else []
    parts += [f"<= {high:g}"] if math.isfinite(high) else []
    return f"{what} {' and '.join(parts)}"


def _threshold(rule: ThresholdRule, assessment: Assessment, evidence: Evidence) -> RuleOutcome:
    low, high = rule.bounds
    findings: list[Finding] = []
    evaluated = 0
    for d in _candidates(assessment, rule, rule.metric, rule.kind):
        if d.value is None:
            continue
        evaluated += 1
        bound = low if d.value < low else high if d.value > high else None
        if bound is None:
            continue
        has_interval = d.ci_low is not None and d.ci_high is not None
        beyond = (
            (d.ci_high is not None and d.ci_high < low)
            or (d.ci_low is not None and d.ci_low > high)
            if evidence == "interval" and has_interval
            else True
        )
        if not d.reliable:
            code: FindingCode = "SMALL_GROUP"
        elif beyond:
            code = "BOUND_BREACHED"
        else:
            code = "BOUND_INCONCLUSIVE"
        findings.append(_finding(code, rule.id, d, bound=bound, decides=code == "BOUND_BREACHED"))
    return _outcome(rule.id, _describe(rule), evaluated, findings)


def _significance(rule: SignificanceRule, assessment: Assessment) -> RuleOutcome:
    findings: list[Finding] = []
    evaluated = 0
    for metric in rule.no_significant_disparity:
        for d in _candidates(assessment, rule, metric, "difference"):
            if d.significant is None:
                continue
            evaluated += 1
            if d.significant:
                findings.append(_finding("SIGNIFICANT_DISPARITY", rule.id, d, decides=d.reliable))
    description = rule.description or (
        "no significant disparity in " + ", ".join(rule.no_significant_disparity)
    )
    return _outcome(rule.id, description, evaluated, findings)


def _outcome(
    rule_id: str, description: str, evaluated: int, findings: Sequence[Finding]
) -> RuleOutcome:
    status: RuleStatus
    if any(f.decides for f in findings):
        status = "fail"
    elif evaluated == 0:
        status = "not_evaluable"
    else:
        status = "pass"
    return RuleOutcome(
        rule_id=rule_id,
        description=description,
        status=status,
        evaluated=evaluated,
        findings=tuple(findings),
    )


def _finding(
    code: FindingCode,
    rule_id: str,
    d: Comparison,
    *,
    decides: bool,
    bound: float | None = None,
    baseline_value: float | None = None,
    p_adjusted: float | None = None,
) -> Finding:
    f = Finding(
        **{c.name: getattr(d, c.name) for c in fields(Compared)},
        code=code,
        rule_id=rule_id,
        bound=bound,
        baseline_value=baseline_value,
        p_adjusted=p_adjusted if p_adjusted is not None else d.p_adjusted,
        decides=decides,
        sentence="",
    )
    return replace(f, sentence=sentence(f))


def sentence(f: Finding) -> str:
    """One plain sentence a reader of the report understands without the tables."""
    group = " × ".join(f"{a}={v}" for a, v in zip(f.attributes, f.levels, strict=True))
    ref = " × ".join(f.reference_levels)
    est = f"{f.value:.3f}" if f.value is not None else "undefined"
    ci = (
        f" (95% CI {f.ci_low:.3f} to {f.ci_high:.3f})"
        if f.ci_low is not None and f.ci_high is not None
        else ""
    )
    what = f"{f.metric} {f.kind.replace('_', ' ')} for {group} vs {ref} is {est}{ci}"
    if f.code == "BOUND_BREACHED":
        return f"{what}: beyond the bound {f.bound:g}."
    if f.code == "BOUND_INCONCLUSIVE":
        return f"{what}: the estimate is beyond {f.bound:g} but the interval is not; not decisive."
    if f.code == "SMALL_GROUP":
        return (
            f"{what}: beyond {f.bound:g}, but the group is below the minimum size; reported only."
        )
    if f.code == "SIGNIFICANT_DISPARITY":
        return f"{what}: significant after correction (p = {f.p_adjusted:.2g})."
    return (
        f"{what}: significantly worse than the baseline's {f.baseline_value:.3f} "
        f"(p = {f.p_adjusted:.2g})."
    )


# --- non-regression ---------------------------------------------------------------------------


def _badness(value: float, low: float, high: float) -> float:
    """How far a disparity sits toward or beyond the rule's bounds; larger is worse."""
    if math.isfinite(low) and math.isfinite(high):
        return abs(value - (low + high) / 2)
    return -value if math.isfinite(low) else value


def _standard_error(d: Comparison, z: float) -> float | None:
    if d.ci_low is None or d.ci_high is None:
        return None
    return (d.ci_high - d.ci_low) / (2 * z)


def _regressions(
    rules: Iterable[ThresholdRule],
    candidate: Assessment,
    baseline: Assessment,
    margin: float,
) -> list[RuleOutcome]:
    """One outcome per threshold rule: is the candidate significantly worse than the baseline?

    Each group's disparity is compared between the two assessments with a one-sided z test whose
    standard errors come from the two intervals. When both are measured on the same people the
    estimates are positively correlated, so treating them as independent overstates the variance:
    the test is conservative and fails a release only on clear evidence.
    """
    z = float(stats.norm.ppf(1 - candidate.settings.alpha / 2))
    alpha = candidate.settings.alpha
    pairs: list[tuple[ThresholdRule, Comparison, Comparison, float]] = []
    counts: dict[str, int] = {}
    for rule in rules:
        low, high = rule.bounds
        base = {
            (d.attributes, d.levels): d for d in _candidates(baseline, rule, rule.metric, rule.kind)
        }
        counts[rule.id] = 0
        for d in _candidates(candidate, rule, rule.metric, rule.kind):
            b = base.get((d.attributes, d.levels))
            if b is None or d.value is None or b.value is None:
                continue
            se_c, se_b = _standard_error(d, z), _standard_error(b, z)
            if se_c is None or se_b is None or not (d.reliable and b.reliable):
                continue
            counts[rule.id] += 1
            worse = _badness(d.value, low, high) - _badness(b.value, low, high) - margin
            se = math.hypot(se_c, se_b)
            p = float(stats.norm.sf(worse / se)) if se > 0 else float(worse <= 0)
            pairs.append((rule, d, b, p))
    adjusted = adjust(np.array([p for *_, p in pairs]), "holm") if pairs else np.array([])
    findings: dict[str, list[Finding]] = {rule.id: [] for rule in rules}
    for (rule, d, b, _), p_adj in zip(pairs, adjusted, strict=True):
        if p_adj < alpha:
            findings[rule.id].append(
                _finding(
                    "REGRESSION",
                    rule.id,
                    d,
                    decides=True,
                    baseline_value=b.value,
                    p_adjusted=float(p_adj),
                    bound=None,
                )
            )
    return [
        _outcome(
            f"{rule.id}.non_regression",
            f"{rule.metric} {rule.kind} not significantly worse than the baseline",
            counts[rule.id],
            findings[rule.id],
        )
        for rule in rules
    ]
