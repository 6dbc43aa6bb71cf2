"""The gate by hand (issue 14, sample E): a significance rule whose tests the correction leaves
in doubt, and which bound a threshold finding names when the estimate sits midway between two.

Expected figures follow from the gate's docstrings, not from its output:

- a significance rule's family is every comparison it decides on; Holm over p = 0.03 and 0.04
  gives 2 * 0.03 = 0.06 and max(0.06, 0.04) = 0.06, both above alpha = 0.05: neither group
  fails, and each, significant on its own, is inconclusive (UNCONFIRMED), as is the rule; the
  detectable gap is (z + z_0.8) SE;
- a threshold read the data cannot settle names the bound nearest the estimate; an estimate
  exactly midway (0 in |d| <= 0.1) names the upper bound, with or without an interval.
"""

from __future__ import annotations

from audit.gate import Finding, evaluate_policy
from audit.stats.result import Disparity
from tests.gate.comparisons import Z, policy
from tests.gate.test_gate_sample_c_by_hand import (
    MAX_ABS,
    ONE_SIDED,
    TWO_SIDED,
    _assert_same,
    _d,
    _group,
    _with,
)

SIG = {"id": "sig", "no_significant_disparity": ["selection_rate"]}


def _finding(d: Disparity, **fields: object) -> Finding:
    """The finding on comparison `d` with the rule's own fields."""
    return Finding(
        attributes=("g",), levels=d.levels, reference_levels=("r",), metric="selection_rate",
        kind="difference", value=d.value, ci_low=d.ci_low, ci_high=d.ci_high,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_significant_tests_the_correction_leaves_in_doubt_are_unconfirmed_not_failed() -> None:
    """p = 0.03 and 0.04, SE 0.02 each: Holm makes both 0.06 >= alpha, so no group fails; each
    group is inconclusive with an UNCONFIRMED finding that does not decide, stating its own p,
    its corrected p, the family of 2 and the detectable gap 2.80 * 0.02 = 0.056; the rule is
    inconclusive, both groups counted."""
    a = _d("a", 0.05, 0.02, p_value=0.03)
    b = _d("b", 0.04, 0.02, p_value=0.04)
    (outcome,) = evaluate_policy(policy(SIG), _with(a, b)).rules
    gap = ONE_SIDED * 0.02
    _assert_same(
        outcome.groups,
        (
            _group(a, status="inconclusive", detectable=gap, can_pass=None, p_confirmatory=0.06),
            _group(b, status="inconclusive", detectable=gap, can_pass=None, p_confirmatory=0.06),
        ),
    )

    def sentence(level: str, value: float, low: float, high: float, p: float) -> str:
        return (
            f"selection_rate difference for g={level} vs r is {value:.3f} (95% CI {low:.3f} to "
            f"{high:.3f}): significant on its own (p = {p:g}) but not once corrected for the 2 "
            "comparisons the gate decides on (corrected p = 0.06); the data cannot tell; at this "
            "size the audit detects gaps of 0.056 or more."
        )

    expected = tuple(
        _finding(
            d,
            code="UNCONFIRMED",
            rule_id="sig",
            bound=None,
            p_adjusted=0.06,
            detectable=gap,
            position=None,
            p_value=p,
            family=2,
            can_pass=None,
            decides=False,
            sentence=sentence(d.levels[0], d.value, d.value - Z * 0.02, d.value + Z * 0.02, p),
        )
        for d, p in ((a, 0.03), (b, 0.04))
    )
    _assert_same(outcome.findings, expected)
    assert (outcome.status, outcome.evaluated, outcome.reason) == ("inconclusive", 2, None)


def test_an_estimate_midway_between_the_bounds_names_the_upper_bound() -> None:
    """|difference| <= 0.1 and estimates of exactly 0, the same distance from -0.1 and 0.1. a's
    interval (-0.15, 0.15) crosses both bounds: inconclusive, estimate within, bound 0.1, breach
    p capped at 1, a breach detectable (z + z_0.8) * 0.15 / z beyond it and the group unable to
    pass ((z + z_0.9) SE > 0.1). b has no interval: inconclusive too, bound 0.1, no figures."""
    a = _d("a", 0.0, ci=(-0.15, 0.15))
    b = _d("b", 0.0)
    (outcome,) = evaluate_policy(policy(MAX_ABS), _with(a, b)).rules
    se = 0.15 / Z
    assert TWO_SIDED * se > 0.1  # so a cannot pass
    expected = (
        _finding(
            a, code="BOUND_INCONCLUSIVE", rule_id="sr", bound=0.1, p_adjusted=1.0,
            detectable=ONE_SIDED * se, position="estimate_within", family=1, can_pass=False,
            decides=False,
            sentence="selection_rate difference for g=a vs r is 0.000 (95% CI -0.150 to 0.150): "
            "the estimate is within the bound 0.1 but the interval reaches both sides of it; the "
            "data cannot tell; at this size a breach is found (80% power) only when the true "
            "value lies 0.214 or more beyond the bound, and the group is too small to be shown "
            "inside the range even if it had no gap at all.",
        ),
        _finding(
            b, code="BOUND_INCONCLUSIVE", rule_id="sr", bound=0.1, p_adjusted=None,
            detectable=None, position="estimate_within", family=1, can_pass=None, decides=False,
            sentence="selection_rate difference for g=b vs r is 0.000 (no interval): the "
            "estimate is within the bound 0.1, but without an interval the data cannot show "
            "which side of it the group is on.",
        ),
    )  # fmt: skip
    _assert_same(outcome.findings, expected)
    assert [(g.status, g.p_confirmatory) for g in outcome.groups] == [
        ("inconclusive", 1.0),
        ("inconclusive", None),
    ]
    assert outcome.status == "inconclusive"


def test_a_significance_rule_asking_for_a_gap_the_data_cannot_see_is_underpowered() -> None:
    """detectable_gap 0.05, both groups far from significant (p = 0.5, Holm 2 * 0.5 = 1). a: SE
    0.02, detectable 2.80 * 0.02 = 0.056 > 0.05: inconclusive, UNDERPOWERED, not deciding. b:
    SE 0.01, detectable 0.028 <= 0.05: passes with no finding. The rule, with no description
    of its own, is described from its metric, and is inconclusive."""
    rule = {"id": "sig", "no_significant_disparity": ["selection_rate"], "detectable_gap": 0.05}
    a = _d("a", 0.01, 0.02, p_value=0.5)
    b = _d("b", 0.01, 0.01, p_value=0.5)
    (outcome,) = evaluate_policy(policy(rule), _with(a, b)).rules
    _assert_same(
        outcome.groups,
        (
            _group(a, status="inconclusive", detectable=ONE_SIDED * 0.02, can_pass=None,
                   p_confirmatory=1.0),
            _group(b, status="pass", detectable=ONE_SIDED * 0.01, can_pass=None,
                   p_confirmatory=1.0),
        ),
    )  # fmt: skip
    expected = _finding(
        a, code="UNDERPOWERED", rule_id="sig", bound=None, p_adjusted=1.0,
        detectable=ONE_SIDED * 0.02, position=None, p_value=0.5, family=2, can_pass=None,
        decides=False,
        sentence="selection_rate difference for g=a vs r is 0.010 (95% CI -0.029 to 0.049): not "
        "significant, but the audit could not see the gap asked for; at this size the audit "
        "detects gaps of 0.056 or more.",
    )  # fmt: skip
    _assert_same(outcome.findings, (expected,))
    assert (outcome.status, outcome.evaluated, outcome.description) == (
        "inconclusive",
        2,
        "no significant disparity in selection_rate",
    )
