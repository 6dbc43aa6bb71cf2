"""The gate by hand: comparisons with figures chosen here, and what the gate must make of them.

Each test replaces an assessment's comparisons by records whose values and intervals are set by
hand, so the expected change, standard error, p-value, status and reason follow from the
definitions in the gate's docstring (and scipy's normal distribution), not from the gate:

- non-regression: the badness of a value is its distance from the middle of a two-sided range
  (larger is worse), the change is candidate minus baseline, each standard error is an
  interval's width over 2 z, the two are independent (SE = hypot), the one-sided p-value is
  P(Z > (change - margin) / SE) and the change's interval is change -/+ z SE;
- a comparison that cannot be read is "undefined", or "not_compared" when its group is large
  enough to count; an unreliable side never decides;
- a rule with nothing to read says why.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.gate import Finding, RuleOutcome, Verdict, evaluate_policy, sentence
from audit.stats.assess import assess
from audit.stats.result import Assessment, Disparity, TrackShare
from tests.gate.comparisons import Z, comparison, policy, with_records


def _base() -> Assessment:
    """Groups r (reference, 2000 people), a, b, c (600 each) and t (12: below the minimum)."""
    sizes = {"r": 2000, "a": 600, "b": 600, "c": 600, "t": 12}
    rng = np.random.default_rng(0)
    frame = pd.concat(
        [pd.DataFrame({"g": g, "d": (np.arange(n) % 2)}) for g, n in sizes.items()],
        ignore_index=True,
    ).assign(y=lambda f: rng.integers(0, 2, len(f)))
    return assess(frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0)


BASE = _base()
TEMPLATE = BASE.disparity("selection_rate", ("g",), ("a",))


def _d(
    level: str,
    value: float | None,
    se: float | None = None,
    *,
    kind: str = "ratio",
    reliable: bool = True,
    p_value: float | None = None,
    ci: tuple[float | None, float | None] | None = None,
    why: str | None = None,
) -> Disparity:
    """A selection-rate comparison of g=level with r: a Wald interval value -/+ Z se."""
    return comparison(TEMPLATE, level, value, se, kind=kind, ci=ci, reliable=reliable,
                      p_value=p_value, detectable=TEMPLATE.detectable, why=why)  # fmt: skip


def _with(*records: Disparity) -> Assessment:
    return with_records(BASE, *records)


_policy = policy


RANGE = {"id": "sr", "metric": "selection_rate", "kind": "ratio", "min": 0.8, "max": 1.25}


def _non_regression(verdict: Verdict) -> RuleOutcome:
    (outcome,) = [r for r in verdict.rules if r.rule_id == "sr.non_regression"]
    return outcome


# --- non-regression against an independent baseline ---------------------------------------------


def test_non_regression_on_a_two_sided_range_measures_the_distance_from_its_middle() -> None:
    """Range [0.8, 1.25], middle 1.025. a: 1.0 (SE 0.04) -> 1.1 (SE 0.03): badness 0.025 ->
    0.075, change 0.05, SE hypot(0.03, 0.04) = 0.05, margin 0.01: p = P(Z > 0.8) = 0.2119,
    interval 0.05 -/+ 1.96 * 0.05; not shown worse. b: 1.0 -> 1.4 (SE 0.01 each): change 0.35,
    p ~ 0: a regression. Both compared independently (paired False)."""
    candidate = _with(_d("a", 1.1, 0.03), _d("b", 1.4, 0.01))
    baseline = _with(_d("a", 1.0, 0.04), _d("b", 1.0, 0.01))
    outcome = _non_regression(evaluate_policy(_policy(RANGE, margin=0.01), candidate, baseline))
    a, b = outcome.groups
    assert a.levels == ("a",) and b.levels == ("b",)
    assert a.baseline_value == 1.0 and a.value == 1.1
    assert a.change == pytest.approx(0.05, abs=1e-12)
    assert a.change_ci_low == pytest.approx(0.05 - Z * 0.05, abs=1e-12)
    assert a.change_ci_high == pytest.approx(0.05 + Z * 0.05, abs=1e-12)
    # Holm over two tests: b's p is ~0, so a's adjusted p is its own, 0.2119
    assert a.p_confirmatory == pytest.approx(stats.norm.sf(0.8), abs=1e-9)
    assert a.status == "pass" and a.paired is False
    assert b.change == pytest.approx(0.35, abs=1e-12)
    assert b.status == "fail" and b.paired is False
    assert outcome.status == "fail"
    (finding,) = outcome.findings
    assert finding.code == "REGRESSION" and finding.levels == ("b",)
    assert finding.baseline_value == 1.0


def test_intervals_of_zero_width_decide_by_the_change_alone() -> None:
    """Both intervals of zero width: SE 0, so the change itself decides against the margin 0:
    no change (exactly 0, not beyond the margin) passes with p = 1; a worsening fails, p = 0."""
    candidate = _with(_d("a", 1.0, 0.0), _d("b", 1.2, 0.0))
    baseline = _with(_d("a", 1.0, 0.0), _d("b", 1.0, 0.0))
    outcome = _non_regression(evaluate_policy(_policy(RANGE), candidate, baseline))
    a, b = outcome.groups
    assert (a.change, a.status, a.p_confirmatory) == (0.0, "pass", 1.0)
    assert (a.change_ci_low, a.change_ci_high) == (0.0, 0.0)
    assert b.change == pytest.approx(0.15, abs=1e-12)
    assert (b.status, b.p_confirmatory) == ("fail", 0.0)


def test_groups_the_baseline_cannot_be_compared_with_are_reported_not_decided() -> None:
    """In the candidate's order: x has no baseline (left out, the others still compared);
    u has no candidate value and v no baseline value (undefined, baseline value shown);
    h has an interval with one end only (no SE: change shown, no test, not shown worse; its
    value lies beyond the range, see the xfail test below for one inside it);
    s's baseline is unreliable (never decides, however worse); a is compared as usual."""
    candidate = _with(
        _d("x", 1.0, 0.02),
        _d("u", None),
        _d("v", 1.0, 0.02),
        _d("h", 1.3, ci=(None, 1.4)),
        _d("s", 1.6, 0.01),
        _d("a", 1.0, 0.03),
    )
    baseline = _with(
        _d("u", 1.0, 0.02),
        _d("v", None),
        _d("h", 1.0, 0.02),
        _d("s", 1.0, 0.01, reliable=False),
        _d("a", 1.0, 0.04),
    )
    outcome = _non_regression(evaluate_policy(_policy(RANGE), candidate, baseline))
    by_level = {g.levels[0]: g for g in outcome.groups}
    assert list(by_level) == ["u", "v", "h", "s", "a"]
    u, v, h, s, a = by_level.values()
    assert (u.status, u.baseline_value, u.change) == ("undefined", 1.0, None)
    assert (v.status, v.baseline_value, v.change) == ("undefined", None, None)
    for g in (u, v, h):
        assert (g.change_ci_low, g.change_ci_high, g.p_confirmatory) == (None, None, None)
    assert all(g.paired is False for g in outcome.groups)
    assert h.status == "pass" and h.change == pytest.approx(0.25, abs=1e-12)
    assert s.status == "unreliable" and s.change == pytest.approx(0.55, abs=1e-12)
    assert a.status == "pass" and a.change == 0.0
    assert a.p_confirmatory == pytest.approx(0.5, abs=1e-12)  # the only test: P(Z > 0) = 0.5
    assert outcome.status == "pass" and outcome.findings == ()


def test_a_value_without_an_interval_is_inconclusive_and_says_why() -> None:
    """A reliable comparison without an interval (e.g. balanced_accuracy or
    average_odds_difference with n_boot=0) cannot be shown inside or beyond: inconclusive, with
    a sentence that places the estimate right and names the missing interval. It used to crash
    (TypeError on the bound None) inside the range, and to say "within" beyond it."""
    (inside,) = evaluate_policy(_policy(RANGE), _with(_d("a", 1.0))).rules
    assert inside.status == "inconclusive"
    (f,) = inside.findings
    # 1.0 is nearer 0.8 (0.2 away) than 1.25 (0.25 away): the bound it could fall beyond
    assert f.bound == 0.8 and "estimate is within the bound 0.8" in f.sentence
    assert "without an interval" in f.sentence
    (beyond,) = evaluate_policy(_policy(RANGE), _with(_d("a", 1.5))).rules
    assert beyond.status == "inconclusive"
    (f,) = beyond.findings
    assert f.bound == 1.25 and "estimate is beyond the bound 1.25" in f.sentence


# --- significance rules: what cannot be read -----------------------------------------------------


def test_a_significance_rule_tells_a_left_out_large_group_from_an_undefined_one() -> None:
    """a (600 people) has no difference: not compared, with its reason, and the rule cannot
    pass; b has a difference but no p-value: undefined; t (12 people) has none: undefined;
    c is tested and passes."""
    reason = "the group has no one with a decision"
    result = _with(
        _d("a", None, kind="difference", why=reason),
        _d("b", 0.01, 0.02, kind="difference"),
        _d("t", None, kind="difference", reliable=False, why="too few"),
        _d("c", 0.01, 0.02, kind="difference", p_value=0.5),
    )
    rule: dict[str, object] = {"id": "sig", "no_significant_disparity": ["selection_rate"]}
    (outcome,) = evaluate_policy(_policy(rule), result).rules
    assert {g.levels[0]: g.status for g in outcome.groups} == {
        "a": "not_compared",
        "b": "undefined",
        "t": "undefined",
        "c": "pass",
    }
    assert outcome.status == "inconclusive"
    (finding,) = outcome.findings
    assert (finding.code, finding.levels, finding.reason) == ("NOT_COMPARED", ("a",), reason)
    assert not finding.decides


# --- why a rule is not evaluable ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        ((), "no comparison matches the rule's metric, kind and attributes"),
        (
            (_d("t", None, kind="difference", reliable=False),
             _d("b", None, kind="difference", reliable=False)),
            "the metric is undefined for every one of the 2 groups compared",
        ),
        (
            (_d("t", 0.3, 0.01, kind="difference", reliable=False),
             _d("b", 0.0, 0.01, kind="difference", reliable=False)),
            "none of the 2 groups compared reaches the minimum size (or the metric rests on too "
            "few people in each)",
        ),
    ],
    ids=["nothing", "undefined", "unreliable"],
)
def test_a_rule_with_nothing_reliable_to_read_says_why(
    records: tuple[Disparity, ...], reason: str
) -> None:
    """No comparison, only undefined ones, only unreliable ones: three different reasons."""
    rule = {"id": "sr", "metric": "selection_rate", "max_abs": 0.1}
    (outcome,) = evaluate_policy(_policy(rule), _with(*records)).rules
    assert outcome.status == "not_evaluable"
    assert outcome.reason == reason


# --- track-share rules ------------------------------------------------------------------------------


def _share(attribute: str, level: str, **figures: object) -> TrackShare:
    reference = level == "r"
    return TrackShare(
        attributes=(attribute,),
        levels=(level,),
        track="work",
        reference_levels=("r",),
        is_reference=reference,
        n_rows=600,
        count=300,
        share=0.5,
        reliable=True,
        **figures,  # type: ignore[arg-type]
    )


def test_a_track_share_rule_reads_the_differences_of_its_groupings_only() -> None:
    """A difference rule on track 'work' within g: a (large) has no difference and is not
    compared, with the track record's reason; b is read with its difference interval (not the
    ratio's) and passes; h=z, a grouping outside the rule, is not read although far beyond."""
    reason = "the reference group has no one on this track"
    tracks = (
        _share("g", "r"),
        _share("g", "a", undefined_reason=reason, ratio=1.2),
        _share("g", "b", difference=0.05, difference_ci_low=0.01, difference_ci_high=0.09,
               ratio=1.3, ratio_ci_low=1.1, ratio_ci_high=1.5, p_value=0.01),
        _share("h", "z", difference=0.4, difference_ci_low=0.35, difference_ci_high=0.45),
    )
    result = replace(BASE, disparities=(), track_labels=("care", "work"), tracks=tracks)
    rule = {"id": "ts", "metric": "track_share", "track": "work", "kind": "difference",
            "max_abs": 0.2, "attributes": [["g"]]}
    (outcome,) = evaluate_policy(_policy(rule), result).rules
    a, b = outcome.groups
    assert (a.levels, a.status) == (("a",), "not_compared")
    assert (b.levels, b.status, b.ci_low, b.ci_high) == (("b",), "pass", 0.01, 0.09)
    (finding,) = outcome.findings
    assert finding.reason == reason
    assert finding.sentence == (
        f"track_share of track 'work' difference for g=a vs r could not be compared ({reason}); "
        "the rule cannot pass while a group of this size is left out."
    )
    assert outcome.status == "inconclusive"


# --- sentences and the verdict file ----------------------------------------------------------------


def test_an_underpowered_finding_without_a_detectable_gap_ends_its_sentence_there() -> None:
    """No detectable gap known: the sentence says the gap could not be seen, and nothing more."""
    finding = Finding(
        attributes=("g",),
        levels=("a",),
        reference_levels=("r",),
        metric="selection_rate",
        kind="difference",
        value=0.01,
        ci_low=-0.02,
        ci_high=0.04,
        code="UNDERPOWERED",
        rule_id="sig",
        detectable=None,
        decides=False,
        sentence="",
    )
    assert sentence(finding, alpha=0.05) == (
        "selection_rate difference for g=a vs r is 0.010 (95% CI -0.020 to 0.040): not "
        "significant, but the audit could not see the gap asked for."
    )


def test_the_verdict_file_is_indented_by_one_space_like_every_json_file_of_the_audit() -> None:
    """verdict.json: one key per line, one space per level, and it reads back the same."""
    verdict = evaluate_policy(_policy(RANGE), _with(_d("a", 1.0, 0.02)))
    text = verdict.to_json()
    lines = text.splitlines()
    assert lines[0] == "{"
    assert lines[1] == f' "status": "{verdict.status}",'
    assert any(line.startswith('  {') for line in lines)  # a rule, two levels in
    assert Verdict.from_json(text) == verdict
