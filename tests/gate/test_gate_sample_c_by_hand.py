"""The gate by hand (issue 14, sample C): rule descriptions, breach p-values, detectable gaps
and non-regression, on comparisons whose figures are set here.

Every expected figure follows from the gate's docstrings and scipy's normal distribution, not
from the gate's output:

- a rule without a description is described from its fields: metric (with its track), kind
  (left out for aif360's named disparities, differences by definition), "within strata" for a
  conditional rule, and its bounds ("|...| <= m", ">= low", "<= high" or both);
- the breach p-value of a read on intervals is 2 P(Z > z * excess / half-width), the half-width
  being the interval's on the side facing the bound (a zero-width interval: p = 0 beyond the
  bound, 1 on or within it), at most 1, the smaller of the two bounds' values;
- the standard error is the interval's width over 2 z; a breach is detectable (80% power)
  (z + z_0.8) SE beyond the bound; a two-sided range can be shown to hold the group only when
  (z + z_0.9) SE is at most half the range; a significance rule's gap is the assessment's own
  figure (over the reference's rate for a ratio), else (z + z_0.8) SE;
- non-regression: the change is the candidate's distance from the range's middle minus the
  baseline's, p = P(Z > (change - margin) / SE), Holm over the tested changes, fail below alpha.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass, replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.gate import (
    Comparison,
    Finding,
    GroupOutcome,
    RuleOutcome,
    _describe,
    _Detectable,
    evaluate_policy,
)
from audit.spec import SignificanceRule, ThresholdRule
from audit.stats.assess import assess
from audit.stats.paired import PairedChange
from audit.stats.result import Assessment, Disparity, TrackShare
from tests.gate.comparisons import Z, comparison, policy, with_records

ONE_SIDED = Z + float(stats.norm.ppf(0.8))  # 80% power, one bound
TWO_SIDED = Z + float(stats.norm.ppf(0.9))  # 80% power, both bounds at once


def _base() -> Assessment:
    """Groups r (reference, 1000 people, half selected) and a, b (400 each), no bootstrap."""
    rng = np.random.default_rng(0)
    g = ["r"] * 1000 + ["a"] * 400 + ["b"] * 400
    frame = pd.DataFrame({"g": g, "d": np.arange(len(g)) % 2, "y": rng.integers(0, 2, len(g))})
    return assess(frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0)


BASE = _base()
TEMPLATE = BASE.disparity("selection_rate", ("g",), ("a",))


def _d(
    level: str,
    value: float | None,
    se: float | None = None,
    *,
    kind: str = "difference",
    ci: tuple[float | None, float | None] | None = None,
    reliable: bool = True,
    p_value: float | None = None,
    detectable: float | None = None,
) -> Disparity:
    """A selection-rate comparison of g=level with r: a Wald interval value -/+ Z se."""
    return comparison(TEMPLATE, level, value, se, kind=kind, ci=ci, reliable=reliable,
                      p_value=p_value, detectable=detectable)  # fmt: skip


def _with(*records: Disparity) -> Assessment:
    return with_records(BASE, *records)


_policy = policy


def _assert_same(actual: object, expected: object) -> None:
    """Dataclass records equal field by field, floats to 1e-12 (nested records and tuples too)."""
    if is_dataclass(actual) and not isinstance(actual, type):
        assert type(actual) is type(expected), (actual, expected)
        for f in fields(actual):
            _assert_same(getattr(actual, f.name), getattr(expected, f.name))
    elif isinstance(actual, tuple) and isinstance(expected, tuple):
        assert len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected, strict=True):
            _assert_same(a, e)
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12)
    else:
        assert actual == expected


def _group(d: Disparity, **outcome: object) -> GroupOutcome:
    """The group record of comparison `d` with the outcome's own fields."""
    return GroupOutcome(
        attributes=d.attributes,
        levels=d.levels,
        reference_levels=d.reference_levels,
        metric=d.metric,
        kind=d.kind,
        value=d.value,
        ci_low=d.ci_low,
        ci_high=d.ci_high,
        **outcome,  # type: ignore[arg-type]
    )


# --- descriptions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "description"),
    [
        ({"metric": "selection_rate", "kind": "ratio", "min": 0.8, "max": 1.25},
         "selection_rate ratio of each group to its reference >= 0.8 and <= 1.25"),
        ({"metric": "selection_rate", "kind": "ratio", "min": 0.8},
         "selection_rate ratio of each group to its reference >= 0.8"),
        ({"metric": "tpr", "max": 0.05},
         "tpr difference of each group to its reference <= 0.05"),
        ({"metric": "fpr", "max_abs": 0.125},
         "|fpr difference of each group to its reference| <= 0.125"),
        ({"metric": "selection_rate", "max_abs": 0.00001},
         "|selection_rate difference of each group to its reference| <= 1e-05"),
        ({"metric": "average_odds_difference", "max_abs": 0.05},
         "|average_odds_difference of each group to its reference| <= 0.05"),
        ({"metric": "average_predictive_value_difference", "min": -0.1, "max": 0.2},
         "average_predictive_value_difference of each group to its reference >= -0.1 and <= 0.2"),
        ({"metric": "selection_rate", "conditional": True, "min": -0.1, "max": 0.1},
         "selection_rate difference of each group to its reference within strata of the "
         "legitimate factors >= -0.1 and <= 0.1"),
        ({"metric": "track_share", "track": "work", "conditional": True, "max": 0.2},
         "track_share of track 'work' difference of each group to its reference within strata "
         "of the legitimate factors <= 0.2"),
        ({"metric": "track_share", "kind": "ratio", "min": 0.5},
         "track_share of every track ratio of each group to its reference >= 0.5"),
        ({"metric": "selection_rate", "max_abs": 0.1, "description": "the parity bound"},
         "the parity bound"),
    ],
    ids=["range", "min", "max", "max_abs", "tiny", "named", "named-range", "conditional",
         "track", "every-track", "own"],
)  # fmt: skip
def test_a_rules_description_names_metric_kind_strata_and_every_finite_bound(
    rule: dict[str, object], description: str
) -> None:
    """The description a rule without one gets: metric, kind (none for a named disparity, which
    is a difference already), "within strata" when conditional, then its bounds, with `:g`
    numbers; a rule's own description is kept word for word."""
    assert _describe(ThresholdRule.model_validate({"id": "x", **rule})) == description


def test_the_verdict_carries_the_rules_description() -> None:
    """The rule outcome of a threshold rule is described as above, even when it reads nothing."""
    rule = {"id": "aod", "metric": "average_odds_difference", "max": 0.05}
    (outcome,) = evaluate_policy(_policy(rule), _with()).rules
    assert outcome.description == "average_odds_difference of each group to its reference <= 0.05"
    assert outcome.status == "not_evaluable"


# --- the breach p-value -----------------------------------------------------------------------

MAX_ABS = {"id": "sr", "metric": "selection_rate", "max_abs": 0.1}


@pytest.mark.parametrize(
    ("value", "ci", "rule", "status", "p"),
    [
        # a zero-width interval beyond the upper bound: certain breach, p = 0
        (0.2, (0.2, 0.2), MAX_ABS, "fail", 0.0),
        # the same below the lower bound (the lower bound's half-width is ci_high - value = 0)
        (-0.2, (-0.2, -0.2), MAX_ABS, "fail", 0.0),
        # a zero-width interval exactly on the bound is not beyond it: p = 1, and it passes
        (0.1, (0.1, 0.1), MAX_ABS, "pass", 1.0),
        # one-sided rule, zero-width interval beyond its only bound
        (0.2, (0.2, 0.2), {"id": "sr", "metric": "selection_rate", "max": 0.1}, "fail", 0.0),
        # excess 0.1 over a half-width (toward the bound) of 0.05: z = 2 Z, p = 2 P(Z > 2 Z);
        # the far side (0.2 wide) is not the one that counts
        (0.2, (0.15, 0.4), MAX_ABS, "fail", 2 * stats.norm.sf(2 * Z)),
        # the mirror image below the lower bound: its half-width is ci_high - value = 0.05
        (-0.2, (-0.4, -0.15), MAX_ABS, "fail", 2 * stats.norm.sf(2 * Z)),
        # inside, interval across 0.1: one-sided p = P(Z > -1.25) = 0.894, doubled, capped at 1
        (0.05, (0.05 - Z * 0.04, 0.05 + Z * 0.04), MAX_ABS, "inconclusive", 1.0),
    ],
    ids=["above-zero-width", "below-zero-width", "on-bound", "one-sided", "asymmetric",
         "asymmetric-below", "capped"],
)  # fmt: skip
def test_the_breach_p_value_reads_the_half_width_facing_the_bound(
    value: float,
    ci: tuple[float, float],
    rule: dict[str, object],
    status: str,
    p: float,
) -> None:
    """One comparison, so the confirmatory correction changes nothing: the group's corrected
    p-value is the breach p-value itself, and below alpha it fails the rule."""
    (outcome,) = evaluate_policy(_policy(rule), _with(_d("a", value, ci=ci))).rules
    (g,) = outcome.groups
    assert g.status == status
    assert g.p_confirmatory == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert outcome.status == ("fail" if status == "fail" else status)


def test_a_certain_breach_is_a_deciding_finding_with_its_figures_and_sentence() -> None:
    """0.2 with a zero-width interval against |difference| <= 0.1: the whole finding, from the
    bound it breaks (0.1) and where its interval lies (beyond the bound) to the sentence, which
    writes a p-value of 0 as below 1e-16. Its
    interval has no width, so a breach is detectable right at the bound (0) and the group could
    be shown inside the range."""
    d = _d("a", 0.2, ci=(0.2, 0.2))
    (outcome,) = evaluate_policy(_policy(MAX_ABS), _with(d)).rules
    expected = Finding(
        attributes=("g",), levels=("a",), reference_levels=("r",), metric="selection_rate",
        kind="difference", value=0.2, ci_low=0.2, ci_high=0.2, code="BOUND_BREACHED",
        rule_id="sr", bound=0.1, p_adjusted=0.0, detectable=0.0, position="interval_beyond",
        family=1, can_pass=True, decides=True,
        sentence="selection_rate difference for g=a vs r is 0.200 (95% CI 0.200 to 0.200): "
        "beyond the bound 0.1 (corrected p < 1e-16).",
    )  # fmt: skip
    _assert_same(outcome.findings, (expected,))
    assert outcome.status == "fail" and outcome.evaluated == 1


# --- detectable gaps and whether a group can pass ----------------------------------------------


def test_a_threshold_rule_reports_the_detectable_breach_and_whether_the_group_can_pass() -> None:
    """|difference| <= 0.1 (half-range 0.1). a: 0.0, SE 0.025: passes, a breach is detectable
    ONE_SIDED * 0.025 = 0.070 beyond the bound, and TWO_SIDED * 0.025 = 0.081 fits in 0.1 (but
    not in a third of the range, 0.067). b: 0.0, SE 0.035: still inside, but TWO_SIDED * 0.035
    = 0.113 does not fit: it could not be shown inside had it been near the bound. Both breach
    p-values are capped at 1."""
    a, b = _d("a", 0.0, 0.025), _d("b", 0.0, 0.035)
    (outcome,) = evaluate_policy(_policy(MAX_ABS), _with(a, b)).rules
    expected = (
        _group(a, status="pass", detectable=ONE_SIDED * 0.025, can_pass=True, p_confirmatory=1.0),
        _group(b, status="pass", detectable=ONE_SIDED * 0.035, can_pass=False, p_confirmatory=1.0),
    )
    _assert_same(outcome.groups, expected)
    assert (outcome.status, outcome.findings, outcome.largest_detectable) == (
        "pass",
        (),
        pytest.approx(ONE_SIDED * 0.035),
    )


@pytest.mark.parametrize(
    ("se", "tail"),
    [
        (0.025, ""),
        (0.04, ", and the group is too small to be shown inside the range even if it had no gap "
               "at all"),
    ],
    ids=["can-pass", "cannot-pass"],
)  # fmt: skip
def test_an_inconclusive_sentence_says_when_the_group_is_too_small_to_pass(
    se: float, tail: str
) -> None:
    """0.08 with SE 0.025 (interval 0.031 to 0.129) or SE 0.04 (0.002 to 0.158) against
    |difference| <= 0.1: inside, the interval across 0.1, inconclusive. The sentence gives the
    detectable breach, ONE_SIDED * SE (0.070 or 0.112), and with SE 0.04 adds that the group
    cannot be shown inside the range (TWO_SIDED * 0.04 = 0.130 > 0.1; 0.081 <= 0.1 can)."""
    (outcome,) = evaluate_policy(_policy(MAX_ABS), _with(_d("a", 0.08, se))).rules
    (f,) = outcome.findings
    low, high, gap = {0.025: ("0.031", "0.129", "0.070"), 0.04: ("0.002", "0.158", "0.112")}[se]
    assert f.code == "BOUND_INCONCLUSIVE" and f.position == "estimate_within"
    assert f.can_pass is (tail == "")
    assert f.sentence == (
        f"selection_rate difference for g=a vs r is 0.080 (95% CI {low} to {high}): the "
        "estimate is within the bound 0.1 but the interval reaches both sides of it; the data "
        "cannot tell; at this size a breach is found (80% power) only when the true value lies "
        f"{gap} or more beyond the bound{tail}."
    )
    assert not f.decides and outcome.status == "inconclusive"


def test_a_one_sided_rule_cannot_say_whether_a_group_can_pass_nor_no_interval_its_gap() -> None:
    """max 0.1 only: the detectable breach is still ONE_SIDED * SE, but "can it be shown inside"
    has no answer (None). Without an interval there is no SE: no gap, no answer."""
    a, b = _d("a", 0.0, 0.02), _d("b", 0.0)
    rule = {"id": "sr", "metric": "selection_rate", "max": 0.1}
    (outcome,) = evaluate_policy(_policy(rule), _with(a, b)).rules
    ga, gb = outcome.groups
    assert (ga.detectable, ga.can_pass) == (pytest.approx(ONE_SIDED * 0.02), None)
    assert (gb.detectable, gb.can_pass, gb.status) == (None, None, "inconclusive")


def test_a_significance_rules_detectable_gap_by_kind_of_comparison() -> None:
    """Reference r's selection rate is 1/2 (every other person of 1000 selected). A difference
    whose assessment figure is 0.05 detects 0.05; a ratio detects that gap over r's rate, 0.1;
    without the assessment's figure the gap is read off the interval, ONE_SIDED * SE; without
    an interval too, there is none. A significance rule never says whether a group can pass."""
    diff = _d("a", 0.01, 0.02, detectable=0.05)
    undetected = _d("b", 0.01, 0.03)
    assessment = _with(diff, undetected)
    assert assessment.metric("selection_rate", ("g",), ("r",)).value == 0.5
    rule = SignificanceRule(id="sig", no_significant_disparity=["selection_rate"])
    of = _Detectable(assessment).of
    assert of(Comparison.of(diff), rule) == (0.05, None)
    assert of(Comparison.of(replace(diff, kind="ratio", value=1.02)), rule) == (0.1, None)
    gap, can_pass = of(Comparison.of(undetected), rule)
    assert (gap, can_pass) == (pytest.approx(ONE_SIDED * 0.03), None)
    assert of(Comparison.of(replace(undetected, ci_low=None, ci_high=None)), rule) == (None, None)


def test_a_ratio_over_a_reference_rate_of_zero_has_no_detectable_gap() -> None:
    """A ratio's gap is the difference's over the reference's rate: with a rate of 0 there is
    none (not a division by zero)."""
    diff = _d("a", 0.01, 0.02, detectable=0.05)
    metrics = tuple(
        replace(m, value=0.0) if (m.metric, m.levels) == ("selection_rate", ("r",)) else m
        for m in BASE.metrics
    )
    assessment = replace(_with(diff), metrics=metrics)
    rule = SignificanceRule(id="sig", no_significant_disparity=["selection_rate"])
    ratio = Comparison.of(replace(diff, kind="ratio", value=1.02))
    assert _Detectable(assessment).of(ratio, rule) == (None, None)


def test_a_track_shares_detectable_gap_is_its_own_over_the_reference_share() -> None:
    """A track comparison reads the track record's own gap (0.04), and as a ratio that gap over
    the reference's share of the track (0.4): 0.1."""

    def share(level: str, **figures: object) -> TrackShare:
        return TrackShare(
            attributes=("g",), levels=(level,), track="work", reference_levels=("r",),
            is_reference=level == "r", n_rows=600, count=240, share=0.4, reliable=True,
            **figures,  # type: ignore[arg-type]
        )  # fmt: skip

    tracks = (share("r"), share("a", difference=0.01, difference_ci_low=-0.03,
                                difference_ci_high=0.05, ratio=1.025, detectable=0.04))  # fmt: skip
    assessment = replace(BASE, disparities=(), track_labels=("care", "work"), tracks=tracks)
    rule = SignificanceRule(id="sig", no_significant_disparity=["track_share"], track="work")
    of = _Detectable(assessment).of
    base = dict(attributes=("g",), levels=("a",), reference_levels=("r",), metric="track_share",
                value=0.01, ci_low=-0.03, ci_high=0.05, track="work", p_value=None,
                reliable=True)  # fmt: skip
    assert of(Comparison(kind="difference", **base), rule) == (0.04, None)  # type: ignore[arg-type]
    gap, _ = of(Comparison(kind="ratio", **base), rule)  # type: ignore[arg-type]
    assert gap == pytest.approx(0.1)


# --- non-regression ---------------------------------------------------------------------------

RANGE = {"id": "sr", "metric": "selection_rate", "kind": "ratio", "min": 0.8, "max": 1.25}


def test_a_regression_is_a_deciding_finding_with_the_baselines_value_and_its_corrected_p() -> None:
    """Range [0.8, 1.25], middle 1.025. b: 1.0 (SE 0.016) -> 1.1 (SE 0.012): distance 0.025 ->
    0.075, change 0.05, SE hypot(0.012, 0.016) = 0.02; margin 0.01: p = P(Z > 2) = 0.0228, the
    only test (Holm changes nothing), below 0.05: a regression. The whole outcome: its id and
    description, the group's figures and interval 0.05 -/+ Z 0.02, and the finding with the
    baseline's value and the corrected p-value in its sentence."""
    b_now, b_then = _d("b", 1.1, 0.012, kind="ratio"), _d("b", 1.0, 0.016, kind="ratio")
    verdict = evaluate_policy(_policy(RANGE, margin=0.01), _with(b_now), _with(b_then))
    outcome = verdict.rules[1]
    p = float(stats.norm.sf(2.0))
    finding = Finding(
        attributes=("g",), levels=("b",), reference_levels=("r",), metric="selection_rate",
        kind="ratio", value=1.1, ci_low=b_now.ci_low, ci_high=b_now.ci_high, code="REGRESSION",
        rule_id="sr.non_regression", baseline_value=1.0, p_adjusted=p, decides=True,
        sentence="selection_rate ratio for g=b vs r is 1.100 (95% CI 1.076 to 1.124): "
        "significantly worse than the baseline's 1.000 (corrected p = 0.023).",
    )  # fmt: skip
    group = _group(
        b_now, status="fail", detectable=None, p_confirmatory=p, baseline_value=1.0, change=0.05,
        change_ci_low=0.05 - Z * 0.02, change_ci_high=0.05 + Z * 0.02, paired=False,
    )  # fmt: skip
    expected = RuleOutcome(
        rule_id="sr.non_regression",
        description="selection_rate ratio not significantly worse than the baseline",
        status="fail", evaluated=1, findings=(finding,), groups=(group,),
    )  # fmt: skip
    _assert_same(outcome, expected)
    assert verdict.status == "fail" and verdict.failures == (outcome.findings[0],)


def _paired(
    level: str, change: float | None, p: float | None, reliable: bool = True
) -> PairedChange:
    return PairedChange(
        attributes=("g",), levels=(level,), reference_levels=("r",), metric="selection_rate",
        kind="ratio", candidate=1.3, baseline=1.0, change=change,
        ci_low=None if change is None else change - 0.1,
        ci_high=None if change is None else change + 0.1, p_value=p, reliable=reliable,
        n_rows=400,
    )  # fmt: skip


def test_paired_regressions_are_corrected_by_holm_over_the_reliable_tests_only() -> None:
    """Paired changes, no baseline assessment: r against itself is not a comparison; a (p 0.01)
    and b (p 0.04) are the two tests, Holm 0.02 and max(0.02, 0.04) = 0.04, both below 0.05:
    both regress, each finding with its corrected p (the candidate's value, no interval). c is
    unreliable (p 0.001 neither tested nor deciding), u has no change (undefined), nor has v,
    which is also unreliable (undefined comes first). A second rule with no paired changes and
    no baseline has nothing to read."""
    changes = [
        _paired("r", 0.0, 0.5), _paired("a", 0.3, 0.01), _paired("b", 0.3, 0.04),
        _paired("c", 0.3, 0.001, reliable=False), _paired("u", None, None),
        _paired("v", None, None, reliable=False),
    ]  # fmt: skip
    other = {"id": "tp", "metric": "tpr", "max_abs": 0.1}
    verdict = evaluate_policy(_policy(RANGE, other), _with(), paired={"sr": changes})
    regression = {r.rule_id: r for r in verdict.rules}["sr.non_regression"]
    assert [(g.levels[0], g.status, g.p_confirmatory, g.paired) for g in regression.groups] == [
        ("a", "fail", pytest.approx(0.02), True), ("b", "fail", pytest.approx(0.04), True),
        ("c", "unreliable", None, True), ("u", "undefined", None, True),
        ("v", "undefined", None, True),
    ]  # fmt: skip
    a = regression.groups[0]
    assert (a.value, a.baseline_value, a.change, a.change_ci_low, a.change_ci_high) == (
        1.3,
        1.0,
        0.3,
        pytest.approx(0.2),
        pytest.approx(0.4),
    )
    assert [(f.levels[0], f.p_adjusted, f.decides) for f in regression.findings] == [
        ("a", pytest.approx(0.02), True), ("b", pytest.approx(0.04), True),
    ]  # fmt: skip
    assert regression.findings[0].sentence == (
        "selection_rate ratio for g=a vs r is 1.300 (no interval): significantly worse than the "
        "baseline's 1.000 (corrected p = 0.02)."
    )
    assert (regression.status, regression.evaluated) == ("fail", 2)
    unread = {r.rule_id: r for r in verdict.rules}["tp.non_regression"]
    assert unread.description == "tpr difference not significantly worse than the baseline"
    assert (unread.status, unread.reason) == (
        "not_evaluable",
        "no comparison matches the rule's metric, kind and attributes",
    )


@pytest.mark.parametrize(
    ("ps", "adjusted"),
    [((0.03, 0.04), (0.06, 0.06)), ((0.05,), (0.05,))],
    ids=["holm-lifts-both", "at-alpha"],
)
def test_a_corrected_p_at_or_above_alpha_is_no_regression(
    ps: tuple[float, ...], adjusted: tuple[float, ...]
) -> None:
    """p 0.03 and 0.04: Holm gives 0.06 and 0.06, neither below 0.05; a single p of exactly
    0.05 is not below 0.05 either. Not shown worse: every group passes, no finding."""
    changes = [_paired(f"g{i}", 0.3, p) for i, p in enumerate(ps)]
    verdict = evaluate_policy(_policy(RANGE), _with(), paired={"sr": changes})
    regression = verdict.rules[1]
    assert [g.status for g in regression.groups] == ["pass"] * len(ps)
    assert [g.p_confirmatory for g in regression.groups] == [pytest.approx(q) for q in adjusted]
    assert (regression.status, regression.findings) == ("pass", ())
    assert math.isclose(sum(adjusted), sum(g.p_confirmatory or 0 for g in regression.groups))


def test_the_non_regression_tests_of_every_rule_are_corrected_as_one_family() -> None:
    """Two rules with one paired change each, p 0.03 and 0.04: Holm over the two tests of the
    verdict (not per rule) gives 0.06 and 0.06, so neither rule finds a regression; corrected
    one rule at a time, both would (0.03 and 0.04 < 0.05)."""
    other = {"id": "tp", "metric": "tpr", "max_abs": 0.1}
    changes = {"sr": [_paired("a", 0.3, 0.03)], "tp": [_paired("a", 0.3, 0.04)]}
    verdict = evaluate_policy(_policy(RANGE, other), _with(), paired=changes)
    by_id = {r.rule_id: r for r in verdict.rules}
    for rule_id in ("sr.non_regression", "tp.non_regression"):
        (g,) = by_id[rule_id].groups
        assert (g.status, g.p_confirmatory) == ("pass", pytest.approx(0.06)), rule_id
        assert by_id[rule_id].status == "pass"
