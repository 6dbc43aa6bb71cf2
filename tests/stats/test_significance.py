"""Tests and intervals validated on data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from audit.metrics import intervals, significance
from audit.stats.assess import assess
from audit.stats.simulate import simulate_decisions as make_decisions

GROUPS = ["mh", "housing", "digital"]


def _flags(result):
    return [d for d in result.disparities if d.significant]


def _any_flag_share(correction: str, sims: int = 120) -> float:
    flagged = 0
    for seed in range(sims):
        frame = make_decisions(1500, seed=seed)
        result = assess(
            frame,
            y_true="y",
            y_pred="d",
            groups=GROUPS,
            intersections=2,
            n_boot=0,
            correction=correction,
        )  # type: ignore[arg-type]
        flagged += bool(_flags(result))
    return flagged / sims


def test_without_disparity_holm_keeps_false_alarms_at_the_nominal_rate():
    # Holm controls the chance of any false alarm over the whole audit at alpha = 5% under any
    # dependence; 400 audits, SE at 0.05 of sqrt(0.05 * 0.95 / 400) = 0.011, limit 3 SE above.
    # The audit's tests are positively correlated, so Holm sits below alpha here (about 0.032,
    # and 0.059 for a correction twice too weak): no pipeline-level limit separates those two;
    # the exact check is test_holm_family_wise_error_is_exact_for_independent_null_tests.
    share = _any_flag_share("holm", sims=400)
    assert share <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 400)


def test_without_correction_the_same_audits_raise_false_alarms():
    # The same null audits uncorrected: dozens of tests each, so most audits "find" something.
    assert _any_flag_share("none", sims=40) > 0.5


def test_benjamini_hochberg_keeps_the_false_discovery_rate_over_audits():
    # The FDR is the false discovery proportion (false findings / findings, 0 without findings)
    # averaged over audits, not the share of all tests flagged. Without any disparity every
    # finding is false, so an audit's proportion is 1 if it flags anything: the FDR is the share
    # of audits with a finding, at most alpha. FDP lies in [0, 1], so its variance is at most
    # FDR (1 - FDR): over 200 audits the SE at 0.05 is at most 0.0154. These tests are
    # positively correlated (shared reference groups), which keeps BH below alpha (about 0.037
    # here) and a pipeline-level limit cannot tell alpha from 2 alpha; the exact check of the
    # correction itself is test_bh_controls_the_fdr_at_exactly_m0_over_m_alpha below.
    proportions = []
    for seed in range(200):
        result = assess(
            make_decisions(1500, seed=seed),
            y_true="y",
            y_pred="d",
            groups=GROUPS,
            intersections=2,
            n_boot=0,
            correction="bh",
        )
        found = [d for d in result.disparities if d.significant]
        proportions.append(1.0 if found else 0.0)  # no true disparity: every finding is false
    assert np.mean(proportions) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200)


SIMS, M = 20000, 20


def test_holm_family_wise_error_is_exact_for_independent_null_tests():
    # M independent uniform null p-values: Holm rejects something iff the smallest p is below
    # alpha / M, so the family-wise error is exactly 1 - (1 - alpha / M)^M = 0.04877. A correction
    # twice too weak would give 1 - (1 - 2 alpha / M)^M = 0.0956. SE over 20000 families:
    # sqrt(0.0488 * 0.9512 / 20000) = 0.0015, so exact +- 4 SE is [0.043, 0.055].
    p = np.random.default_rng(21).random((SIMS, M))
    adjusted = np.array([significance.adjust(row, "holm") for row in p])
    share = np.mean((adjusted < 0.05).any(axis=1))
    exact = 1 - (1 - 0.05 / M) ** M
    se = np.sqrt(exact * (1 - exact) / SIMS)
    assert abs(share - exact) <= 4 * se


def test_bh_controls_the_fdr_at_exactly_m0_over_m_alpha():
    # Benjamini & Hochberg (1995): with independent tests the FDR equals (m0 / m) alpha exactly,
    # m0 the number of true nulls. 15 nulls and 5 effects (z shifted by 3): FDR = 0.0375; a
    # correction twice too weak would give 0.075. The false discovery proportion lies in [0, 1],
    # so its SE over 20000 families is at most sqrt(0.0375 * 0.9625 / 20000) = 0.0013: exact
    # +- 4 SE is [0.032, 0.043].
    rng = np.random.default_rng(22)
    m0 = 15
    null = rng.random((SIMS, m0))
    effect = stats.norm.sf(rng.standard_normal((SIMS, M - m0)) + 3)
    p = np.hstack([null, effect])
    found = np.array([significance.adjust(row, "bh") < 0.05 for row in p])
    false = found[:, :m0].sum(axis=1)
    fdp = np.where(found.any(axis=1), false / np.maximum(found.sum(axis=1), 1), 0.0)
    exact = m0 / M * 0.05
    assert abs(fdp.mean() - exact) <= 4 * np.sqrt(exact * (1 - exact) / SIMS)
    assert found[:, m0:].mean() > 0.5  # and the effects are found: the test is not vacuous


def test_an_injected_disparity_is_found_and_nothing_else():
    frame = make_decisions(20000, seed=7, shift={"housing=homeless": -0.15})
    result = assess(
        frame, y_true="y", y_pred="d", groups=GROUPS, n_boot=200, reference={"housing": "stable"}
    )
    found = {(d.grouping, d.label, d.metric) for d in _flags(result)}
    assert ("housing", "homeless", "selection_rate") in found
    assert ("housing", "homeless", "tpr") in found
    assert ("housing", "homeless", "fpr") in found
    assert all(label == "homeless" for _, label, _ in found)
    gap = result.disparity("selection_rate", ("housing",), ("homeless",))
    assert gap.ci_low < -0.15 * 1.0 + 0.05 and gap.ci_high < 0  # interval excludes 0


def test_margin_test_separates_small_from_large_gaps():
    frame = make_decisions(40000, seed=8, shift={"housing=homeless": -0.15})
    kw = dict(y_true="y", y_pred="d", groups=["housing"], n_boot=0, reference={"housing": "stable"})
    beyond = assess(frame, test_margin=0.05, **kw).disparity("tpr", ("housing",), ("homeless",))
    within = assess(frame, test_margin=0.25, **kw).disparity("tpr", ("housing",), ("homeless",))
    assert beyond.significant is True
    assert within.significant is False


def test_detectable_difference_has_the_stated_power():
    # At the stated detectable gap, the test should find it in about 80% of samples.
    rng = np.random.default_rng(5)
    n_group, n_ref, p_ref = 300, 3000, 0.4
    mde = significance.minimum_detectable_difference(
        np.array([p_ref]), np.array([n_group]), np.array([n_ref]), alpha=0.05, power=0.8
    )[0]
    hits = 0
    sims = 2000
    for _ in range(sims):
        p1 = rng.binomial(n_group, p_ref + mde) / n_group
        p2 = rng.binomial(n_ref, p_ref) / n_ref
        p = significance.two_proportion_test(
            np.array([p1]), np.array([n_group]), np.array([p2]), np.array([n_ref])
        )[0]
        hits += p < 0.05
    assert 0.76 <= hits / sims <= 0.84


def test_holm_and_bh_match_their_definitions():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    holm = significance.adjust(p, "holm")
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, made monotone.
    assert holm[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm[4])
    bh = significance.adjust(p, "bh")
    assert bh[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_wilson_and_katz_agree_with_scipy():
    lo, hi = intervals.wilson(np.array([81 / 263]), np.array([263.0]), 0.95)
    ci = stats.binomtest(81, 263).proportion_ci(0.95, method="wilson")
    assert (lo[0], hi[0]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    lo, hi = intervals.katz(
        np.array([30 / 100]), np.array([100.0]), np.array([20 / 120]), np.array([120.0]), 0.95
    )
    rr = stats.contingency.relative_risk(30, 100, 20, 120).confidence_interval(0.95)
    assert (lo[0], hi[0]) == pytest.approx((rr.low, rr.high), rel=1e-9)


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 - 48/80,
    # method 10 gives 0.0524 to 0.3339.
    lo, hi = intervals.newcombe(
        np.array([56 / 70]), np.array([70.0]), np.array([48 / 80]), np.array([80.0]), 0.95
    )
    assert (lo[0], hi[0]) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_a_group_with_no_decisions_gets_an_honest_interval():
    # 0 of 40 selected: the bootstrap would say [0, 0]; Wilson says up to about 9%.
    frame = make_decisions(4000, seed=1)
    frame.loc[frame["housing"] == "homeless", "d"] = 0
    frame = frame[(frame["housing"] != "homeless") | (frame.index % 10 == 0)]
    result = assess(frame, y_true="y", y_pred="d", groups=["housing"], n_boot=300)
    m = result.metric("selection_rate", ("housing",), ("homeless",))
    assert m.value == 0.0
    assert m.ci_method == "wilson"
    assert m.ci_low == pytest.approx(0.0, abs=1e-12)
    assert m.ci_high > 0.05
