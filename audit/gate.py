"""The release gate: policy rules read against an `Assessment`, giving a verdict with reasons.

A verdict is a claim, so it is three-valued and drawn on evidence both ways (interval evidence,
the default):

- a group **passes** a threshold rule when its whole confidence interval lies inside the allowed
  range: the data show the disparity is acceptable;
- it **fails** when its interval lies beyond the bound, after the confirmatory correction below;
- it is **inconclusive** otherwise: the data cannot tell, and the outcome says how large a gap the
  audit could have detected for that group at its size.

Groups below the minimum size (or whose metric rests on too few people) are reported as
unreliable and never decide. A rule passes when every reliable group passes, fails when one
fails, and is inconclusive otherwise; a rule that nothing reliable could evaluate is
`not_evaluable`, which never counts as a pass. The overall verdict is FAIL, INCONCLUSIVE or PASS,
and the policy's `on_inconclusive` says whether an inconclusive gate lets a release through.

Confirmatory and exploratory tests. The comparisons the rules decide on form one family, corrected
together (the spec's correction, Holm by default): a threshold breach is a one-sided test that
the disparity lies beyond its bound, a significance rule's test is the two-sided test of no
disparity. With one comparison the correction changes nothing and "interval beyond the bound"
is exactly the test. Passing needs no correction: "every group inside the range" is an
intersection-union claim, which holds at the stated level without one. The assessment's own
p-values, corrected over every metric and group of the audit, are the exploratory ones.

Non-regression compares the candidate with a baseline on every threshold rule's metric: the
candidate fails when it is significantly further from the rule's allowed range than the baseline.
When both models were scored on the same people the comparison is paired (the same bootstrap
resamples for both, `audit.stats.paired`); otherwise the two assessments are treated as independent.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import TypeAdapter

from audit.errors import AuditInputError
from audit.metrics.bounds import above, below
from audit.metrics.disparities import NAMED_DISPARITY_NAMES
from audit.metrics.normal import ndtr, ndtri
from audit.metrics.significance import adjust
from audit.numbers import confidence_level, fixed
from audit.spec import (
    TRACK_METRIC,
    Evidence,
    OnInconclusive,
    PolicySpec,
    SignificanceRule,
    ThresholdRule,
    rule_tracks,
)
from audit.stats.result import (
    Assessment,
    ConditionalDisparity,
    Disparity,
    TrackConditional,
    TrackShare,
)

if TYPE_CHECKING:
    from audit.checks.base import CheckOutcome
    from audit.stats.paired import PairedChange

RuleStatus = Literal["pass", "fail", "inconclusive", "not_evaluable"]
VerdictLabel = Literal["pass", "fail", "inconclusive"]
GroupStatus = Literal["pass", "fail", "inconclusive", "unreliable", "undefined", "not_compared"]
# An inconclusive group: its interval lies beyond the bound but the correction leaves doubt, or
# the interval reaches both sides of the bound with the estimate beyond or within it.
Position = Literal["interval_beyond", "estimate_beyond", "estimate_within"]
FindingCode = Literal[
    "BOUND_BREACHED",  # the evidence places the group beyond the rule's bound
    "BOUND_INCONCLUSIVE",  # the interval reaches both sides of the bound: the data cannot tell
    "SMALL_GROUP",  # beyond the bound, but the group is below the minimum size
    "SIGNIFICANT_DISPARITY",  # a corrected test rejects "no disparity"
    "UNDERPOWERED",  # no significant disparity, but the audit could not see a gap of the size asked
    "UNCONFIRMED",  # significant on its own, not after the confirmatory correction
    "NOT_COMPARED",  # a group large enough to count that the rule could not compare
    "REGRESSION",  # significantly worse than the baseline
    "NOT_EVALUABLE",  # the rule had nothing reliable to read
    "HARM_FOUND",  # a harm check's finding (or its estimate beyond the rule's bound)
    "HARM_INCONCLUSIVE",  # a harm check that can neither show nor rule out the harm
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
    track: str | None = None  # the track of a track_share comparison


@dataclass(frozen=True, kw_only=True)
class GroupOutcome(Compared):
    """What one rule concluded for one group, with the evidence behind it."""

    status: GroupStatus
    # Threshold rules: how far beyond the bound the true value must lie for the audit to find
    # the breach with the stated power; significance rules: the smallest gap their test detects.
    detectable: float | None
    can_pass: bool | None = None  # False: too few people to show the group inside the range
    p_confirmatory: float | None = None  # corrected within the gate's family of decided tests
    baseline_value: float | None = None
    change: float | None = None  # non-regression: candidate's distance to the range - baseline's
    change_ci_low: float | None = None
    change_ci_high: float | None = None
    paired: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Finding(Compared):
    code: FindingCode
    rule_id: str
    bound: float | None = None
    baseline_value: float | None = None
    p_adjusted: float | None = None
    detectable: float | None = None
    position: Position | None = None  # where the evidence places an uncertain group
    p_value: float | None = None  # before the confirmatory correction
    family: int | None = None  # tests in the confirmatory family
    can_pass: bool | None = None
    coverage: float | None = None  # conditional comparisons: share of the group compared
    reason: str | None = None  # why a group could not be compared
    decides: bool
    sentence: str


@dataclass(frozen=True, kw_only=True)
class RuleOutcome:
    rule_id: str
    description: str
    status: RuleStatus
    evaluated: int  # reliable comparisons that could be read
    findings: tuple[Finding, ...]
    groups: tuple[GroupOutcome, ...] = ()
    reason: str | None = None  # why the rule is not evaluable

    @property
    def group_counts(self) -> tuple[int, int, int]:
        """How many compared groups pass, fail and are inconclusive. A harm_check rule keeps no
        group records: its counts come from its findings and the comparisons it read."""
        if self.groups or self.evaluated == 0:
            statuses = [g.status for g in self.groups]
            return statuses.count("pass"), statuses.count("fail"), statuses.count("inconclusive")
        failed = sum(f.code == "HARM_FOUND" for f in self.findings)
        doubtful = sum(f.code == "HARM_INCONCLUSIVE" for f in self.findings)
        return self.evaluated - failed - doubtful, failed, doubtful

    @property
    def largest_detectable(self) -> float | None:
        """The largest of the smallest detectable gaps among the groups that count."""
        gaps = [g.detectable for g in self.groups if g.detectable is not None and _counts(g)]
        return max(gaps) if gaps else None


@dataclass(frozen=True, kw_only=True)
class Verdict:
    status: VerdictLabel
    rules: tuple[RuleOutcome, ...]
    on_inconclusive: OnInconclusive = "fail"
    baseline: str | None = None
    confirmatory_tests: int = 0  # size of the family the deciding tests were corrected in
    # The assessment's alpha: corrected p-values below it fail, and every interval in the
    # verdict is a 1 - alpha interval (what its sentences and the summary state as the level).
    alpha: float = 0.05

    @property
    def label(self) -> str:
        return self.status

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def release_allowed(self) -> bool:
        """What the gate means for a release: a pass, or an inconclusive gate the policy lets by."""
        return self.passed or (self.status == "inconclusive" and self.on_inconclusive == "pass")

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


def _counts(g: GroupOutcome) -> bool:
    return g.status in ("pass", "fail", "inconclusive")


def evaluate_policy(
    policy: PolicySpec,
    assessment: Assessment,
    baseline: Assessment | None = None,
    paired: Mapping[str, Sequence[PairedChange]] | None = None,
    checks: Sequence[CheckOutcome] = (),
) -> Verdict:
    """The verdict: every rule on the assessment, then non-regression against the baseline,
    then the `harm_check` rules on the harm checks' outcomes (`audit.harm_rules`).

    `paired` maps each threshold rule's id to its paired changes when the baseline model was
    scored on the same people (`audit.stats.paired.regression_changes`); without them a baseline
    assessment is compared as an independent sample.
    """
    require_rule_tracks(policy.rules, assessment.track_labels, "the assessment")
    detectable = _Detectable(assessment)
    reads: list[_Read] = []
    for rule in policy.rules:
        if isinstance(rule, ThresholdRule):
            reads.extend(_threshold_reads(rule, assessment, rule.evidence or policy.evidence))
        else:
            reads.extend(_significance_reads(rule, assessment))
    family = [r for r in reads if r.p_value is not None]
    adjusted = adjust(np.array([r.p_value for r in family]), assessment.settings.correction)
    for r, q in zip(family, adjusted.tolist(), strict=True):
        r.p_confirmatory = q
    alpha = assessment.settings.alpha
    outcomes = [
        _rule_outcome(rule, [r for r in reads if r.rule is rule], alpha, detectable, len(family))
        for rule in policy.rules
    ]
    if baseline is not None or paired is not None:
        thresholds = [r for r in policy.rules if isinstance(r, ThresholdRule)]
        outcomes.extend(
            _regressions(thresholds, assessment, baseline, paired, policy.regression_margin)
        )
    if policy.harm_checks:
        from audit.harm_rules import harm_rule_outcomes  # it reads this module's records

        outcomes.extend(harm_rule_outcomes(policy.harm_checks, checks))
    return Verdict(
        status=_overall([o.status for o in outcomes]),
        rules=tuple(outcomes),
        on_inconclusive=policy.on_inconclusive,
        baseline=policy.baseline,
        confirmatory_tests=len(family),
        alpha=alpha,
    )


def _overall(statuses: Sequence[RuleStatus]) -> VerdictLabel:
    if "fail" in statuses:
        return "fail"
    if "inconclusive" in statuses or "not_evaluable" in statuses:
        return "inconclusive"
    return "pass"


@dataclass(frozen=True, kw_only=True)
class Comparison(Compared):
    """What a rule reads: a plain disparity, or one conditional on legitimate factors."""

    p_value: float | None
    reliable: bool
    undefined_reason: str | None = None
    coverage: float | None = None

    @classmethod
    def of(cls, d: Disparity | ConditionalDisparity | TrackConditional) -> Comparison:
        if isinstance(d, TrackConditional):
            return cls(
                attributes=d.attributes,
                levels=d.levels,
                reference_levels=d.reference_levels,
                metric=TRACK_METRIC,
                kind="conditional_difference",
                value=d.value,
                ci_low=d.ci_low,
                ci_high=d.ci_high,
                track=d.track,
                p_value=d.p_value,
                reliable=d.reliable,
                undefined_reason=None
                if d.coverage != 0
                else "no stratum of the legitimate factors holds both the group and its reference",
                coverage=d.coverage,
            )
        if isinstance(d, Disparity):
            why = d.undefined_reason
        elif d.coverage == 0:
            why = "no stratum of the legitimate factors holds both the group and its reference"
        else:
            why = "the conditional difference is undefined"
        return cls(
            **{
                c.name: getattr(d, c.name)
                for c in fields(Compared)
                if c.name not in ("kind", "track")
            },
            kind=d.kind if isinstance(d, Disparity) else "conditional_difference",
            p_value=d.p_value,
            reliable=d.reliable,
            undefined_reason=why,
            coverage=None if isinstance(d, Disparity) else d.coverage,
        )


@dataclass(kw_only=True)
class _Read:
    """One comparison as one rule reads it, before and after the confirmatory correction."""

    rule: ThresholdRule | SignificanceRule
    d: Comparison
    status: GroupStatus  # provisional for tests still to be corrected
    bound: float | None = None
    position: Position | None = None
    p_value: float | None = None  # enters the confirmatory family when set
    p_confirmatory: float | None = None


def _in_scope(d: Comparison, rule: ThresholdRule | SignificanceRule) -> bool:
    if rule.attributes is None:
        return True
    return any(tuple(a) == d.attributes for a in rule.attributes)


def _track_comparisons(
    assessment: Assessment, rule: ThresholdRule | SignificanceRule, kind: str
) -> list[Comparison]:
    """A track_share rule's comparisons: the rule's track (or every track), plain or within
    strata, read as the gate reads a binary disparity."""
    wanted = [rule.track] if rule.track is not None else list(assessment.track_labels)
    out: list[Comparison] = []
    if rule.conditional:
        for c in assessment.track_conditional:
            if c.track in wanted:
                out.append(Comparison.of(c))
    else:
        for t in assessment.tracks:
            if t.track in wanted and not t.is_reference:
                out.append(_track_comparison(t, kind))
    return [c for c in out if _in_scope(c, rule) and c.levels != c.reference_levels]


def _track_comparison(t: TrackShare, kind: str) -> Comparison:
    ratio = kind == "ratio"
    value = t.ratio if ratio else t.difference
    why = t.undefined_reason if value is None else None
    return Comparison(
        attributes=t.attributes,
        levels=t.levels,
        reference_levels=t.reference_levels,
        metric=TRACK_METRIC,
        kind=kind,
        value=value,
        ci_low=t.ratio_ci_low if ratio else t.difference_ci_low,
        ci_high=t.ratio_ci_high if ratio else t.difference_ci_high,
        track=t.track,
        p_value=None if ratio else t.p_value,
        reliable=t.reliable,
        undefined_reason=why,
    )


def require_rule_tracks(
    rules: Sequence[ThresholdRule | SignificanceRule], tracks: Sequence[str], what: str
) -> None:
    """A rule on track shares needs tracks, and a track it names must be one of them: a
    misspelt track would compare no one and the rule would quietly read nothing."""
    for i, rule in enumerate(rules):
        if not rule_tracks(rule):
            continue
        subject = f"spec key 'policy.rules[{i}]' (rule '{rule.id}')"
        if not tracks:
            raise AuditInputError(
                subject,
                expected=f"a multiclass decision (tracks) for the metric '{TRACK_METRIC}'",
                found=f"{what} has a binary decision and no tracks",
                fix="audit a track recommender or a decisions file with track_column, or bound "
                "a binary metric such as selection_rate",
            )
        if rule.track is None or rule.track in tracks:
            continue
        close = difflib.get_close_matches(rule.track, list(tracks), n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise AuditInputError(
            subject,
            expected=f"a track of {what}: {', '.join(tracks)}",
            found=f"track {rule.track!r}",
            fix=f"{hint}write the track exactly as the decisions spell it",
        )


def _candidates(
    assessment: Assessment, rule: ThresholdRule | SignificanceRule, metric: str, kind: str
) -> list[Comparison]:
    """The comparisons a rule reads; `conditional` rules read the within-strata differences."""
    if metric == TRACK_METRIC:
        return _track_comparisons(assessment, rule, kind)
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
    # aif360's named disparities are differences already: "average_odds_difference difference"
    kind = "" if rule.metric in NAMED_DISPARITY_NAMES else f" {rule.kind}"
    metric = rule.metric
    if rule.metric == TRACK_METRIC:
        metric += f" of track '{rule.track}'" if rule.track else " of every track"
    what = f"{metric}{kind} of each group to its reference"
    if rule.conditional:
        what += " within strata of the legitimate factors"
    if rule.max_abs is not None:
        return f"|{what}| <= {rule.max_abs:g}"
    parts = [f">= {low:g}"] if math.isfinite(low) else []
    parts += [f"<= {high:g}"] if math.isfinite(high) else []
    return f"{what} {' and '.join(parts)}"


def _threshold_reads(
    rule: ThresholdRule, assessment: Assessment, evidence: Evidence
) -> list[_Read]:
    low, high = rule.bounds
    z = _z(assessment.settings.alpha)
    reads = []
    large = _large_groups(assessment)
    for d in _candidates(assessment, rule, rule.metric, rule.kind):
        if d.value is None:
            status: GroupStatus = (
                "not_compared" if (d.attributes, d.levels) in large else "undefined"
            )
            reads.append(_Read(rule=rule, d=d, status=status))
            continue
        bound = low if below(d.value, low) else high if above(d.value, high) else None
        if not d.reliable:
            reads.append(_Read(rule=rule, d=d, status="unreliable", bound=bound))
            continue
        if evidence == "point":
            reads.append(
                _Read(rule=rule, d=d, status="pass" if bound is None else "fail", bound=bound)
            )
            continue
        if d.ci_low is None or d.ci_high is None:  # no interval: the data cannot show either way
            nearest = (
                bound if bound is not None else (low if d.value - low < high - d.value else high)
            )
            position: Position = "estimate_beyond" if bound is not None else "estimate_within"
            reads.append(
                _Read(rule=rule, d=d, status="inconclusive", bound=nearest, position=position)
            )
            continue
        inside = not below(d.ci_low, low) and not above(d.ci_high, high)
        nearest = bound if bound is not None else (low if d.value - low < high - d.value else high)
        reads.append(
            _Read(
                rule=rule,
                d=d,
                status="pass" if inside else "inconclusive",
                bound=nearest if not inside else bound,
                position=None
                if inside
                else "interval_beyond"
                if above(d.ci_low, high) or below(d.ci_high, low)
                else "estimate_beyond"
                if bound is not None
                else "estimate_within",
                p_value=_breach_p_value(d, low, high, z),
            )
        )
    return reads


def _breach_p_value(d: Comparison, low: float, high: float, z: float) -> float:
    """Two-sided-equivalent p-value of "the disparity lies beyond the allowed range".

    The interval's half-width on the side facing the bound gives the standard error, so an
    interval that just touches the bound gives p = alpha: with a family of one, "p < alpha" is
    "the whole interval lies beyond the bound". A value inside the range gives p >= 1.
    """
    assert d.value is not None and d.ci_low is not None and d.ci_high is not None
    candidates = []
    if math.isfinite(high):
        half = d.value - d.ci_low
        candidates.append(_one_sided(d.value - high, half, z))
    if math.isfinite(low):
        half = d.ci_high - d.value
        candidates.append(_one_sided(low - d.value, half, z))
    return min(1.0, 2 * min(candidates)) if candidates else 1.0


def _one_sided(excess: float, half_width: float, z: float) -> float:
    """P(beyond) for an estimate `excess` past the bound with this interval half-width."""
    if half_width <= 0:
        return 0.0 if excess > 0 else 1.0
    return float(ndtr(-(z * excess / half_width)))


def _large_groups(assessment: Assessment) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Groups large enough to count: a rule that cannot compare one of them cannot pass."""
    size = assessment.settings.min_group_size
    return {
        (g.attributes, g.levels)
        for g in assessment.groups
        if g.n_rows is not None and g.n_rows >= size
    }


def _significance_reads(rule: SignificanceRule, assessment: Assessment) -> list[_Read]:
    reads = []
    large = _large_groups(assessment)
    for metric in rule.no_significant_disparity:
        for d in _candidates(assessment, rule, metric, "difference"):
            if d.value is None or d.p_value is None:
                status: GroupStatus = (
                    "not_compared"
                    if d.value is None and (d.attributes, d.levels) in large
                    else "undefined"
                )
                reads.append(_Read(rule=rule, d=d, status=status))
            elif not d.reliable:
                reads.append(_Read(rule=rule, d=d, status="unreliable"))
            else:
                reads.append(_Read(rule=rule, d=d, status="pass", p_value=d.p_value))
    return reads


def _rule_outcome(
    rule: ThresholdRule | SignificanceRule,
    reads: list[_Read],
    alpha: float,
    detectable: _Detectable,
    family: int,
) -> RuleOutcome:
    findings: list[Finding] = []
    groups: list[GroupOutcome] = []
    significance = isinstance(rule, SignificanceRule)
    for r in reads:
        d, status = r.d, r.status
        gap, can_pass = detectable.of(d, rule)
        code: FindingCode | None = None
        if r.p_confirmatory is not None and r.p_confirmatory < alpha:
            status = "fail"
        elif significance and status == "pass":
            asked = rule.detectable_gap if isinstance(rule, SignificanceRule) else None
            if r.p_value is not None and r.p_value < alpha:  # the correction leaves it in doubt
                status, code = "inconclusive", "UNCONFIRMED"
            elif asked is not None and (gap is None or gap > asked):
                status, code = "inconclusive", "UNDERPOWERED"
        code = code or _code(r, status, significance)
        if code is not None:
            findings.append(
                _finding(
                    code,
                    rule.id,
                    d,
                    alpha=alpha,
                    decides=status == "fail",
                    bound=r.bound,
                    p_adjusted=r.p_confirmatory,
                    detectable=gap,
                    position=r.position,
                    p_value=r.p_value if significance else None,
                    family=family,
                    can_pass=can_pass,
                    coverage=d.coverage,
                    reason=d.undefined_reason if status == "not_compared" else None,
                )
            )
        groups.append(
            GroupOutcome(
                **{c.name: getattr(d, c.name) for c in fields(Compared)},
                status=status,
                detectable=gap,
                can_pass=can_pass,
                p_confirmatory=r.p_confirmatory,
            )
        )
    description = (
        _describe(rule)
        if isinstance(rule, ThresholdRule)
        else rule.description
        or "no significant disparity in "
        + ", ".join(
            m
            if m != TRACK_METRIC
            else f"{m} of " + (f"track '{rule.track}'" if rule.track else "every track")
            for m in rule.no_significant_disparity
        )
    )
    return _outcome(rule.id, description, findings, groups)


def _code(r: _Read, status: GroupStatus, significance: bool) -> FindingCode | None:
    if status == "fail":
        return "SIGNIFICANT_DISPARITY" if significance else "BOUND_BREACHED"
    if status == "inconclusive":
        return "UNDERPOWERED" if significance else "BOUND_INCONCLUSIVE"
    if status == "not_compared":
        return "NOT_COMPARED"
    if status == "unreliable" and r.bound is not None:
        return "SMALL_GROUP"
    return None


def _outcome(
    rule_id: str,
    description: str,
    findings: Sequence[Finding],
    groups: Sequence[GroupOutcome],
) -> RuleOutcome:
    status: RuleStatus
    counted = [g for g in groups if _counts(g)]
    reason = None
    if any(f.decides for f in findings):
        status = "fail"
    elif not counted:
        status = "not_evaluable"
        reason = _why_not_evaluable(groups)
    elif any(g.status in ("inconclusive", "not_compared") for g in groups):
        status = "inconclusive"
    else:
        status = "pass"
    return RuleOutcome(
        rule_id=rule_id,
        description=description,
        status=status,
        evaluated=len(counted),
        findings=tuple(findings),
        groups=tuple(groups),
        reason=reason,
    )


def _why_not_evaluable(groups: Sequence[GroupOutcome]) -> str:
    if not groups:
        return "no comparison matches the rule's metric, kind and attributes"
    if all(g.status in ("undefined", "not_compared") for g in groups):
        return f"the metric is undefined for every one of the {len(groups)} groups compared"
    return (
        f"none of the {len(groups)} groups compared reaches the minimum size "
        "(or the metric rests on too few people in each)"
    )


def _finding(
    code: FindingCode,
    rule_id: str,
    d: Compared,
    *,
    alpha: float,
    decides: bool,
    bound: float | None = None,
    baseline_value: float | None = None,
    p_adjusted: float | None = None,
    detectable: float | None = None,
    position: Position | None = None,
    p_value: float | None = None,
    family: int | None = None,
    can_pass: bool | None = None,
    coverage: float | None = None,
    reason: str | None = None,
) -> Finding:
    f = Finding(
        **{c.name: getattr(d, c.name) for c in fields(Compared)},
        code=code,
        rule_id=rule_id,
        bound=bound,
        baseline_value=baseline_value,
        p_adjusted=p_adjusted,
        detectable=detectable,
        position=position,
        p_value=p_value,
        family=family,
        can_pass=can_pass,
        coverage=coverage,
        reason=reason,
        decides=decides,
        sentence="",
    )
    return replace(f, sentence=sentence(f, alpha=alpha))


def _number(x: float) -> str:
    """Three decimals, without the '-0.000' of a tiny negative number."""
    return fixed(x)


def sentence(f: Finding, *, alpha: float) -> str:
    """One plain sentence a reader of the report understands without the tables; `alpha` is
    the verdict's (its intervals are 1 - alpha intervals, and the sentence says which)."""
    if f.kind == "harm_check":
        from audit.harm_rules import finding_sentence  # it builds on this module's records

        return finding_sentence(f)
    group = " × ".join(f"{a}={v}" for a, v in zip(f.attributes, f.levels, strict=True))
    ref = " × ".join(f.reference_levels)
    kind = f.kind.replace("_", " ")
    metric = metric_label(f)
    if f.code == "NOT_COMPARED":
        return (
            f"{metric} {kind} for {group} vs {ref} could not be compared ({f.reason}); "
            "the rule cannot pass while a group of this size is left out."
        )
    est = _number(f.value) if f.value is not None else "undefined"
    ci = (
        f" ({confidence_level(alpha)}% CI {_number(f.ci_low)} to {_number(f.ci_high)})"
        if f.ci_low is not None and f.ci_high is not None
        else " (no interval)"
    )
    what = f"{metric} {kind} for {group} vs {ref} is {est}{ci}"
    if f.coverage is not None and f.coverage < 1:
        what += f", measured on {f.coverage:.0%} of the group (the strata its reference shares)"
    if f.code == "BOUND_BREACHED":
        return f"{what}: beyond the bound {f.bound:g}{_p(f)}."
    if f.code == "BOUND_INCONCLUSIVE" and f.position == "interval_beyond":
        return (
            f"{what}: the interval lies beyond the bound {f.bound:g}, but not clearly enough once "
            f"corrected for the {f.family} comparisons the gate decides on{_p(f)}; "
            f"not decisive{_breach_seen(f)}."
        )
    if f.code == "BOUND_INCONCLUSIVE" and (f.ci_low is None or f.ci_high is None):
        side = "beyond" if f.position == "estimate_beyond" else "within"
        return (
            f"{what}: the estimate is {side} the bound {f.bound:g}, but without an interval "
            "the data cannot show which side of it the group is on."
        )
    if f.code == "BOUND_INCONCLUSIVE":
        side = "beyond" if f.position == "estimate_beyond" else "within"
        return (
            f"{what}: the estimate is {side} the bound {f.bound:g} but the interval reaches "
            f"both sides of it; the data cannot tell{_breach_seen(f)}."
        )
    if f.code == "SMALL_GROUP":
        return (
            f"{what}: beyond {f.bound:g}, but the group is below the minimum size; reported only."
        )
    if f.code == "SIGNIFICANT_DISPARITY":
        return f"{what}: significant after the confirmatory correction{_p(f)}."
    if f.code == "UNCONFIRMED":
        return (
            f"{what}: significant on its own (p = {f.p_value:.2g}) but not once corrected for "
            f"the {f.family} comparisons the gate decides on{_p(f)}; the data cannot tell"
            f"{_gap_seen(f)}."
        )
    if f.code == "UNDERPOWERED":
        return (
            f"{what}: not significant, but the audit could not see the gap asked for{_gap_seen(f)}."
        )
    return (
        f"{what}: significantly worse than the baseline's {_number(f.baseline_value or 0.0)}"
        f"{_p(f)}."
    )


def metric_label(c: Compared) -> str:
    """The metric as a sentence names it: a track share names its track."""
    return c.metric if c.track is None else f"{c.metric} of track '{c.track}'"


def _gap_seen(f: Finding) -> str:
    if f.detectable is None:
        return ""
    return f"; at this size the audit detects gaps of {fixed(f.detectable)} or more"


def _breach_seen(f: Finding) -> str:
    if f.detectable is None:
        return ""
    text = (
        "; at this size a breach is found (80% power) only when the true value lies "
        f"{fixed(f.detectable)} or more beyond the bound"
    )
    if f.can_pass is False:
        text += (
            ", and the group is too small to be shown inside the range even if it had no gap at all"
        )
    return text


def _p(f: Finding) -> str:
    if f.p_adjusted is None:
        return ""
    # Below double precision's resolution a p-value of "0" would read as certainty.
    return (
        " (corrected p < 1e-16)" if f.p_adjusted < 1e-16 else f" (corrected p = {f.p_adjusted:.2g})"
    )


def _z(alpha: float) -> float:
    return float(ndtri(1 - alpha / 2))


class _Detectable:
    """What each comparison could have shown at its size, at the audit's level and 80% power.

    For a threshold rule: how far beyond the bound the true value must lie for the interval to
    land beyond it with that power, (z_alpha/2 + z_power) standard errors, the standard error read
    off the interval; and whether the group could be shown inside a two-sided range at all (its
    interval must fit in the range: (z_alpha/2 + z_(1+power)/2) standard errors at most the
    half-range). For a significance rule: the smallest gap its test detects (two-proportion power
    for rates; a ratio's is that gap over the reference group's rate; otherwise from the interval).
    """

    POWER = 0.8

    def __init__(self, assessment: Assessment) -> None:
        s = assessment.settings
        self.z = _z(s.alpha)
        self.one_sided = self.z + float(ndtri(self.POWER))
        self.two_sided = self.z + float(ndtri((1 + self.POWER) / 2))
        self.differences = {
            (d.metric, d.attributes, d.levels): d.detectable
            for d in assessment.disparities
            if d.kind == "difference"
        }
        self.values = {(m.metric, m.attributes, m.levels): m.value for m in assessment.metrics}
        self.track_gaps = {
            (t.track, t.attributes, t.levels): t.detectable for t in assessment.tracks
        }
        self.track_values = {(t.track, t.attributes, t.levels): t.share for t in assessment.tracks}

    def of(
        self, d: Comparison, rule: ThresholdRule | SignificanceRule
    ) -> tuple[float | None, bool | None]:
        se = (
            None if d.ci_low is None or d.ci_high is None else (d.ci_high - d.ci_low) / (2 * self.z)
        )
        if isinstance(rule, ThresholdRule):
            if se is None:
                return None, None
            low, high = rule.bounds
            two_sided = math.isfinite(low) and math.isfinite(high)
            can_pass = self.two_sided * se <= (high - low) / 2 if two_sided else None
            return self.one_sided * se, can_pass
        if d.track is not None:
            gap = self.track_gaps.get((d.track, d.attributes, d.levels))
            ref = self.track_values.get((d.track, d.attributes, d.reference_levels))
        else:
            gap = self.differences.get((d.metric, d.attributes, d.levels))
            ref = self.values.get((d.metric, d.attributes, d.reference_levels))
        if d.kind == "difference" and gap is not None:
            return gap, None
        if d.kind == "ratio" and gap is not None:
            return (gap / ref if ref else None), None
        return (None if se is None else self.one_sided * se), None


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


@dataclass(frozen=True)
class _Change:
    rule: ThresholdRule
    d: Compared
    baseline: float | None
    change: float | None
    ci: tuple[float | None, float | None]
    p: float | None
    reliable: bool
    paired: bool


def _regressions(
    rules: Iterable[ThresholdRule],
    candidate: Assessment,
    baseline: Assessment | None,
    paired: Mapping[str, Sequence[PairedChange]] | None,
    margin: float,
) -> list[RuleOutcome]:
    """One outcome per threshold rule: is the candidate significantly worse than the baseline?

    Unlike a bound, "not worse" is the null hypothesis of this test: a group whose worsening
    could not be shown passes (the absolute rules still judge it), with the change and its
    interval reported beside the candidate's and the baseline's figures.
    """
    rules = list(rules)
    changes: list[_Change] = []
    for rule in rules:
        if paired is not None and rule.id in paired:
            changes.extend(_paired_changes(rule, paired[rule.id]))
        elif baseline is not None:
            changes.extend(_independent_changes(rule, candidate, baseline, margin))
    tested = [c for c in changes if c.p is not None and c.reliable]
    adjusted = adjust(np.array([c.p for c in tested]), "holm") if tested else np.array([])
    p_adj = {id(c): float(q) for c, q in zip(tested, adjusted.tolist(), strict=True)}
    alpha = candidate.settings.alpha
    out = []
    for rule in rules:
        findings: list[Finding] = []
        groups: list[GroupOutcome] = []
        for c in (c for c in changes if c.rule is rule):
            q = p_adj.get(id(c))
            if c.change is None:
                status: GroupStatus = "undefined"
            elif not c.reliable:
                status = "unreliable"
            elif q is not None and q < alpha:
                status = "fail"
            else:
                status = "pass"  # not shown to be worse: "no worsening" is the test's null
            if status == "fail":
                findings.append(
                    _finding(
                        "REGRESSION",
                        f"{rule.id}.non_regression",
                        c.d,
                        alpha=alpha,
                        decides=True,
                        baseline_value=c.baseline,
                        p_adjusted=q,
                    )
                )
            groups.append(
                GroupOutcome(
                    **{f.name: getattr(c.d, f.name) for f in fields(Compared)},
                    status=status,
                    detectable=None,
                    p_confirmatory=q,
                    baseline_value=c.baseline,
                    change=c.change,
                    change_ci_low=c.ci[0],
                    change_ci_high=c.ci[1],
                    paired=c.paired,
                )
            )
        out.append(
            _outcome(
                f"{rule.id}.non_regression",
                f"{rule.metric} {rule.kind} not significantly worse than the baseline",
                findings,
                groups,
            )
        )
    return out


def _independent_changes(
    rule: ThresholdRule, candidate: Assessment, baseline: Assessment, margin: float
) -> list[_Change]:
    """Candidate and baseline as independent samples: standard errors from the two intervals.

    When both were measured on the same people the estimates are positively correlated, so this
    overstates the variance: conservative, and used only when no paired comparison is possible
    (a baseline read from a previous run or an assessment file).
    """
    z = _z(candidate.settings.alpha)
    low, high = rule.bounds
    base = {
        (d.attributes, d.levels, d.track): d
        for d in _candidates(baseline, rule, rule.metric, rule.kind)
    }
    out = []
    for d in _candidates(candidate, rule, rule.metric, rule.kind):
        b = base.get((d.attributes, d.levels, d.track))
        if b is None:
            continue
        if d.value is None or b.value is None:
            out.append(_Change(rule, d, b.value, None, (None, None), None, False, False))
            continue
        change = _badness(d.value, low, high) - _badness(b.value, low, high)
        se_c, se_b = _standard_error(d, z), _standard_error(b, z)
        p: float | None = None
        ci: tuple[float | None, float | None] = (None, None)
        if se_c is not None and se_b is not None:
            se = math.hypot(se_c, se_b)
            p = float(ndtr(-((change - margin) / se))) if se > 0 else float(change <= margin)
            ci = (change - z * se, change + z * se)
        out.append(_Change(rule, d, b.value, change, ci, p, d.reliable and b.reliable, False))
    return out


def _paired_changes(rule: ThresholdRule, paired: Sequence[PairedChange]) -> list[_Change]:
    out = []
    for c in paired:
        if c.levels == c.reference_levels:
            continue
        compared = Compared(
            attributes=c.attributes,
            levels=c.levels,
            reference_levels=c.reference_levels,
            metric=c.metric,
            kind=c.kind,
            value=c.candidate,
            ci_low=None,
            ci_high=None,
        )
        out.append(
            _Change(
                rule,
                compared,
                c.baseline,
                c.change,
                (c.ci_low, c.ci_high),
                c.p_value,
                c.reliable,
                True,
            )
        )
    return out
