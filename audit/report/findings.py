"""The few findings that matter most, and what the audit could not tell.

Everything here reads the *published* assessment and verdict (`audit.disclosure`): a report
made from it can say nothing that the JSON result does not already say.

**Ranking.** Candidates are the groups a rule found beyond its bound (`fail`) or could not
place (`inconclusive`). They are ordered by

1. status: fail before inconclusive;
2. where the evidence places an inconclusive group: the whole interval beyond the bound (only
   the correction leaves doubt), then the estimate beyond it, then the estimate within;
3. severity: how far the estimate lies beyond the bound, in multiples of the rule's tolerance
   (the distance from the bound to "no gap": 0 for a difference, 1 for a ratio), so that a
   four-fifths ratio of 0.2 (3 tolerances beyond 0.8) and a difference of 0.25 against a
   bound of 0.05 (4 tolerances) are comparable; without a bound, the distance to "no gap";
4. group size (more people concerned first), then a fixed order so the ranking is stable.

One group breaching several rules is one finding (its best-ranked rule), the others listed in
`also_breaches`: a reader learns of more groups rather than of the same group twice.

**Deduplication of intersections.** An intersection (two or three attributes) is shown only
when it says more than its single-attribute parents. The parents *predict* its disparity under
the model in which the attributes' gaps add up without interaction: the sum of the parents'
differences (a parent at its own attribute's reference level contributes 0), or the product of
their ratios. The intersection has a gap of its own (`own_gap`) when its estimate lies beyond
that prediction, in the direction of the breach, by more than z_(1-alpha/2) standard errors of
the difference (the intersection's and the parents' standard errors, read off their intervals,
added in quadrature). Ignoring the positive covariance between a group and its parent
overstates that standard error, so an intersection has to show its own gap clearly: a
report that repeats a parent's gap is the failure this guards against. It is also kept when it
breaches while none of its parents does (`only_in_combination`), and when the prediction
cannot be made (a parent not compared by the rule, without an interval, or against another
reference: `no_parent_measured`). Otherwise it is dropped (listed in `Selection.dropped`).

**What the audit could not tell** (`Unknown`): groups whose figures are suppressed (fewer than
`min_cell_size` people), groups below `min_group_size` (compared, never decisive), groups the
data cannot place against a rule, with the gap the audit could have detected at their size
(`detectable`) and whether they could be shown inside the range at all (`can_pass`), and
rules with nothing to read. An intersection is left out when one of its parents is already
listed for a reason at least as strong (a small group's intersections are small too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from audit.gate import Finding, GroupOutcome, RuleOutcome, Verdict
from audit.metrics.normal import ndtri
from audit.stats.result import Assessment

Key = tuple[tuple[str, ...], tuple[str, ...]]  # (attributes, levels)
# Why a finding is shown; "repeats": an intersection dropped, its parents predict its gap.
KeptBecause = Literal[
    "single_attribute", "own_gap", "only_in_combination", "no_parent_measured", "repeats"
]
UnknownReason = Literal[
    "not_evaluable",
    "check_not_evaluable",  # a harm_check rule whose check did not run or compared no group
    "cannot_pass",
    "below_detectable",
    "too_small",
    "suppressed",
]

_STATUS_RANK = {"fail": 0, "inconclusive": 1}
_POSITION_RANK = {"interval_beyond": 0, "estimate_beyond": 1, None: 1, "estimate_within": 2}
_UNKNOWN_RANK: dict[str, int] = {
    "not_evaluable": 0,
    "check_not_evaluable": 0,
    "suppressed": 1,
    "too_small": 2,
    "cannot_pass": 3,
    "below_detectable": 4,
}
# An intersection's unknown is implied by a parent's unknown of one of these reasons.
_IMPLIED_BY = {
    "suppressed": {"suppressed"},
    "too_small": {"suppressed", "too_small"},
    "cannot_pass": {"suppressed", "too_small", "cannot_pass"},
    "below_detectable": {"suppressed", "too_small", "cannot_pass", "below_detectable"},
}


@dataclass(frozen=True, kw_only=True)
class KeyFinding:
    """One group beyond (or possibly beyond) a rule, with the figures a reader needs."""

    rank: int  # 1 = matters most
    rule_id: str
    rule_description: str
    code: str  # the gate's FindingCode
    status: Literal["fail", "inconclusive"]
    position: str | None  # the gate's Position for an inconclusive group
    metric: str
    kind: str  # "difference" | "ratio" | "conditional_difference" | "harm_check"
    attributes: tuple[str, ...]
    levels: tuple[str, ...]
    reference_levels: tuple[str, ...]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    bound: float | None
    excess: float | None  # how far the estimate lies beyond the bound (0: within), metric units
    severity: float | None  # excess in multiples of the rule's tolerance (ranking key)
    n_rows: int | None  # the group's size as published (None: withheld)
    reference_n_rows: int | None
    rate: float | None  # the group's own value of the metric, as published
    reference_rate: float | None
    detectable: float | None
    kept_because: KeptBecause
    parents_predict: float | None  # intersections: the disparity the parents predict
    also_breaches: tuple[str, ...] = ()  # other rules this group fails or leaves inconclusive

    @property
    def key(self) -> Key:
        return (self.attributes, self.levels)


@dataclass(frozen=True, kw_only=True)
class Unknown:
    """Something the audit could not tell about one group (or one rule)."""

    reason: UnknownReason
    attributes: tuple[str, ...]
    levels: tuple[str, ...]
    rule_id: str | None = None
    n_rows: int | None = None  # None when suppressed or withheld
    minimum: int | None = None  # the size it misses (min_cell_size or min_group_size)
    detectable: float | None = None  # the gap the audit could have found at this size
    metric: str | None = None
    kind: str | None = None

    @property
    def key(self) -> Key:
        return (self.attributes, self.levels)


@dataclass(frozen=True, kw_only=True)
class Selection:
    """What the first page says: ranked findings, what they leave out, what stays unknown."""

    findings: tuple[KeyFinding, ...]  # ranked, deduplicated, at most `limit`
    more_findings: int  # kept findings beyond the limit (listed in the evidence)
    dropped: tuple[KeyFinding, ...]  # intersections whose parents already say it
    unknowns: tuple[Unknown, ...]  # ranked, deduplicated, at most `unknown_limit`
    more_unknowns: int
    n_people: int
    n_groups: int  # distinct groups some rule could compare
    n_breaches: int  # distinct groups beyond a rule's bound (fail)
    min_cell_size: int
    min_group_size: int


def select_findings(
    assessment: Assessment, verdict: Verdict, *, limit: int = 5, unknown_limit: int = 5
) -> Selection:
    """The ranked, deduplicated findings and unknowns of a published audit (module docstring)."""
    if not assessment.disclosure_controlled:
        raise ValueError(
            "select_findings reads the published assessment (audit.disclosure.suppress)"
        )
    context = _Context(assessment)
    candidates: list[KeyFinding] = []
    dropped: list[KeyFinding] = []
    for rule in verdict.rules:
        for finding in _rule_candidates(rule, context):
            (dropped if finding.kept_because == "repeats" else candidates).append(finding)
        candidates.extend(_harm_candidates(rule))
    kept = _one_per_group(sorted(candidates, key=_rank_key))
    kept = [replace(f, rank=i) for i, f in enumerate(kept, start=1)]
    unknowns = _unknowns(assessment, verdict)
    counted = {
        (g.attributes, g.levels)
        for r in verdict.rules
        for g in r.groups
        if g.status in ("pass", "fail", "inconclusive")
    }
    failing = {
        (g.attributes, g.levels) for r in verdict.rules for g in r.groups if g.status == "fail"
    }
    # A harm_check rule compares no group of the assessment: its findings name the groups.
    harm = [f for r in verdict.rules for f in r.findings if _is_harm(f)]
    counted |= {(f.attributes, f.levels) for f in harm}
    failing |= {(f.attributes, f.levels) for f in harm if f.code == "HARM_FOUND"}
    return Selection(
        findings=tuple(kept[:limit]),
        more_findings=max(len(kept) - limit, 0),
        dropped=tuple(sorted(dropped, key=_rank_key)),
        unknowns=tuple(unknowns[:unknown_limit]),
        more_unknowns=max(len(unknowns) - unknown_limit, 0),
        n_people=assessment.n_rows,
        n_groups=len(counted),
        n_breaches=len(failing),
        min_cell_size=assessment.settings.min_cell_size,
        min_group_size=assessment.settings.min_group_size,
    )


# --- candidates -------------------------------------------------------------------------------


class _Context:
    """Lookups into the published assessment."""

    def __init__(self, a: Assessment) -> None:
        self.z = float(ndtri(1 - a.settings.alpha / 2))
        self.size = {(g.attributes, g.levels): g.n_rows for g in a.groups}
        self.rate = {(m.metric, m.attributes, m.levels): m.value for m in a.metrics}
        self.reference = {r.attributes: r.levels for r in a.references}
        self.reference |= {g.attributes: g.levels for g in a.groups if g.is_reference}


def _neutral(kind: str) -> float:
    return 1.0 if kind == "ratio" else 0.0


def _excess(
    value: float | None, bound: float | None, kind: str
) -> tuple[float | None, float | None]:
    """(excess beyond the bound, the same in tolerances); without a bound, the gap itself."""
    if value is None:
        return None, None
    neutral = _neutral(kind)
    if bound is None:
        gap = abs(value - neutral)
        return gap, gap
    toward = (
        math.copysign(1.0, bound - neutral)
        if bound != neutral
        else math.copysign(1.0, value - neutral)
    )
    excess = max((value - bound) * toward, 0.0)
    tolerance = abs(bound - neutral)
    return excess, excess / tolerance if tolerance > 0 else excess


def _rule_candidates(rule: RuleOutcome, c: _Context) -> Iterable[KeyFinding]:
    findings = {(f.metric, f.kind, f.attributes, f.levels): f for f in rule.findings}
    groups = {(g.metric, g.kind, g.attributes, g.levels): g for g in rule.groups}
    for key, g in groups.items():
        if g.status not in _STATUS_RANK:
            continue
        f = findings.get(key)
        value = g.change if g.change is not None else g.value
        kind = "difference" if g.change is not None else g.kind
        bound = f.bound if f is not None else None
        excess, severity = _excess(value, bound if g.change is None else 0.0, kind)
        kept, predicted = _kept_because(g, f, groups, c)
        yield KeyFinding(
            rank=0,
            rule_id=rule.rule_id,
            rule_description=rule.description,
            code=f.code
            if f is not None
            else ("BOUND_BREACHED" if g.status == "fail" else "BOUND_INCONCLUSIVE"),
            status=g.status,  # type: ignore[arg-type]
            position=f.position if f is not None else None,
            metric=g.metric,
            kind=g.kind,
            attributes=g.attributes,
            levels=g.levels,
            reference_levels=g.reference_levels,
            value=g.value,
            ci_low=g.ci_low,
            ci_high=g.ci_high,
            bound=bound,
            excess=excess,
            severity=severity,
            n_rows=c.size.get((g.attributes, g.levels)),
            reference_n_rows=c.size.get((g.attributes, g.reference_levels)),
            rate=c.rate.get((g.metric, g.attributes, g.levels)),
            reference_rate=c.rate.get((g.metric, g.attributes, g.reference_levels)),
            detectable=g.detectable,
            kept_because=kept,
            parents_predict=predicted,
        )


def _is_harm(f: Finding) -> bool:
    return f.kind == "harm_check" and f.code in _HARM_STATUS and bool(f.attributes)


_HARM_STATUS: dict[str, Literal["fail", "inconclusive"]] = {
    "HARM_FOUND": "fail",
    "HARM_INCONCLUSIVE": "inconclusive",
}


def _harm_candidates(rule: RuleOutcome) -> Iterable[KeyFinding]:
    """A harm_check rule's findings: a group the check found harmed, or could not clear.

    The check's measure (an odds ratio, a flip rate, ...) has no tolerance the ranking could
    compare with a rule's, so these rank by status, after the threshold findings of the same
    status; the group's size is in the check's own evidence, not here."""
    for f in rule.findings:
        if not _is_harm(f):
            continue
        yield KeyFinding(
            rank=0,
            rule_id=rule.rule_id,
            rule_description=rule.description,
            code=f.code,
            status=_HARM_STATUS[f.code],
            position=None,
            metric=f.metric,
            kind=f.kind,
            attributes=f.attributes,
            levels=f.levels,
            reference_levels=f.reference_levels,
            value=f.value,
            ci_low=f.ci_low,
            ci_high=f.ci_high,
            bound=f.bound if f.position is not None else None,  # a rule's bound, not a margin
            excess=None,
            severity=None,
            n_rows=None,
            reference_n_rows=None,
            rate=None,
            reference_rate=None,
            detectable=f.detectable,
            kept_because="single_attribute",
            parents_predict=None,
        )


def _se(g: GroupOutcome, z: float) -> float | None:
    if g.ci_low is None or g.ci_high is None:
        return None
    return (g.ci_high - g.ci_low) / (2 * z)


def _kept_because(
    g: GroupOutcome,
    f: Finding | None,
    groups: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], GroupOutcome],
    c: _Context,
) -> tuple[KeptBecause, float | None]:
    """Why an intersection is shown ("repeats": it is not), and what its parents predict."""
    if len(g.attributes) == 1:
        return "single_attribute", None
    if g.change is not None:  # a regression: its parents' changes are separate findings
        return "no_parent_measured", None
    parents: list[GroupOutcome | None] = []
    for attribute, level, ref in zip(g.attributes, g.levels, g.reference_levels, strict=True):
        if level == ref:
            parents.append(None)  # at its own reference: contributes no gap
            continue
        p = groups.get((g.metric, g.kind, (attribute,), (level,)))
        if p is None or p.value is None or _se(p, c.z) is None:
            return "no_parent_measured", None
        if p.reference_levels != (ref,):
            return "no_parent_measured", None
        parents.append(p)
    measured = [p for p in parents if p is not None]
    if not any(p.status in _STATUS_RANK for p in measured):
        return "only_in_combination", None
    predicted, var = _prediction(measured, g.kind, c.z)
    se = _se(g, c.z)
    if g.value is None or se is None:
        return "repeats", predicted
    neutral = _neutral(g.kind)
    bound = f.bound if f is not None else None
    harmful = (bound if bound is not None else g.value) - neutral
    direction = math.copysign(1.0, harmful) if harmful != 0 else 1.0
    spread = math.sqrt(se**2 + var)
    beyond = (g.value - predicted) * direction
    if spread == 0:
        return ("own_gap" if beyond > 0 else "repeats"), predicted
    return ("own_gap" if beyond / spread > c.z else "repeats"), predicted


def _prediction(parents: Sequence[GroupOutcome], kind: str, z: float) -> tuple[float, float]:
    """The parents' combined disparity without interaction, and its variance (delta method)."""
    values = [p.value or 0.0 for p in parents]
    ses = [_se(p, z) or 0.0 for p in parents]
    if kind == "ratio":
        predicted = math.prod(values)
        var = sum(
            (math.prod(v for j, v in enumerate(values) if j != i) * s) ** 2
            for i, s in enumerate(ses)
        )
        return predicted, var
    return sum(values), sum(s**2 for s in ses)


def _rank_key(f: KeyFinding) -> tuple[object, ...]:
    return (
        _STATUS_RANK[f.status],
        # a harm check's finding after the rules' own of the same status (_harm_candidates)
        3 if f.kind == "harm_check" else _POSITION_RANK.get(f.position, 1),
        -(f.severity if f.severity is not None else -1.0),
        -(f.n_rows or 0),
        len(f.attributes),
        f.rule_id,
        f.attributes,
        f.levels,
    )


def _one_per_group(ranked: list[KeyFinding]) -> list[KeyFinding]:
    """The best-ranked finding of each group, naming the other rules it breaches."""
    first: dict[Key, KeyFinding] = {}
    others: dict[Key, list[str]] = {}
    for f in ranked:
        if f.key in first:
            if f.rule_id not in others[f.key] and f.rule_id != first[f.key].rule_id:
                others[f.key].append(f.rule_id)
            continue
        first[f.key] = f
        others[f.key] = []
    return [replace(f, also_breaches=tuple(others[k])) for k, f in first.items()]


# --- unknowns ---------------------------------------------------------------------------------


def _unknowns(a: Assessment, verdict: Verdict) -> list[Unknown]:
    s = a.settings
    found: list[Unknown] = []
    for r in verdict.rules:
        if r.status == "not_evaluable":
            harm = any(f.kind == "harm_check" for f in r.findings)
            found.append(
                Unknown(
                    reason="check_not_evaluable" if harm else "not_evaluable",
                    attributes=(),
                    levels=(),
                    rule_id=r.rule_id,
                )
            )
    for g in a.groups:
        if g.suppressed:
            found.append(
                Unknown(
                    reason="suppressed",
                    attributes=g.attributes,
                    levels=g.levels,
                    minimum=s.min_cell_size,
                )
            )
        elif not g.reliable:
            found.append(
                Unknown(
                    reason="too_small",
                    attributes=g.attributes,
                    levels=g.levels,
                    n_rows=g.n_rows,
                    minimum=s.min_group_size,
                )
            )
    size = {(g.attributes, g.levels): g.n_rows for g in a.groups}
    for r in verdict.rules:
        for o in r.groups:
            if o.status != "inconclusive" or o.change is not None:
                continue
            reason: UnknownReason = "cannot_pass" if o.can_pass is False else "below_detectable"
            found.append(
                Unknown(
                    reason=reason,
                    attributes=o.attributes,
                    levels=o.levels,
                    rule_id=r.rule_id,
                    n_rows=size.get((o.attributes, o.levels)),
                    detectable=o.detectable,
                    metric=o.metric,
                    kind=o.kind,
                )
            )
    return _dedupe_unknowns(found)


def _unknown_rank(u: Unknown) -> tuple[object, ...]:
    return (
        _UNKNOWN_RANK[u.reason],
        len(u.attributes),
        -(u.detectable or 0.0),
        u.rule_id or "",
        u.attributes,
        u.levels,
    )


def _dedupe_unknowns(found: list[Unknown]) -> list[Unknown]:
    """One unknown per group (the strongest reason), none implied by a parent's."""
    best: dict[Key, Unknown] = {}
    for u in sorted(found, key=_unknown_rank):
        if u.reason in ("not_evaluable", "check_not_evaluable"):
            best[(("rule",), (u.rule_id or "",))] = u
        else:
            best.setdefault(u.key, u)
    out = []
    for key, u in best.items():
        attributes, levels = key
        if u.reason in _IMPLIED_BY and len(attributes) > 1:
            parents = [best.get(((a,), (lv,))) for a, lv in zip(attributes, levels, strict=True)]
            if any(p is not None and p.reason in _IMPLIED_BY[u.reason] for p in parents):
                continue
        out.append(u)
    return _interleaved(sorted(out, key=_unknown_rank))


def _interleaved(ranked: list[Unknown]) -> list[Unknown]:
    """Each reason's first, then each reason's second, ...: a short list names every kind of
    blind spot (rules not evaluable, small groups, gaps too fine to see) before repeating one."""
    by_reason: dict[str, list[Unknown]] = {}
    for u in ranked:
        by_reason.setdefault(u.reason, []).append(u)
    out: list[Unknown] = []
    depth = max((len(v) for v in by_reason.values()), default=0)
    for i in range(depth):
        for reason in _UNKNOWN_RANK:
            items = by_reason.get(reason, [])
            if i < len(items):
                out.append(items[i])
    return out
