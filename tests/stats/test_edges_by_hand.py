"""Edges of the statistical core (intervals, bounds, tests, AUC, references), worked out by hand.

Each test here kills a mutant that survived `scripts/mutation.sh` (tests/MUTANTS.md, "Mutation
score"): the suite exercised these functions only away from their edges.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from audit.errors import AuditInputError
from audit.metrics import bounds, conditional, intervals, scores, significance
from audit.metrics.disparities import choose_reference
from audit.metrics.scores import auc_by_group


def test_wilson_on_an_empty_group_has_no_interval() -> None:
    # No trials, no information: a rate of 0 (or 1) "observed" on nobody must not get [0, x]
    # (or [x, 1]) from the end-point shortcuts for p = 0 and p = 1.
    low, high = intervals.wilson(np.array([0.0, 1.0]), np.array([0.0, 0.0]), 0.95)
    assert np.isnan(low).all() and np.isnan(high).all()


@pytest.mark.parametrize("empty", ["group", "reference"])
def test_katz_with_an_empty_side_has_no_interval(empty: str) -> None:
    # A ratio needs both rates; with nobody on one side the 0.5 correction would otherwise
    # invent one (0.5 / 0.5 = a rate of 1).
    n1, n2 = (
        (np.array([0.0]), np.array([50.0]))
        if empty == "group"
        else (np.array([50.0]), np.array([0.0]))
    )
    low, high = intervals.katz(np.array([0.0]), n1, np.array([0.0]), n2, 0.95)
    assert np.isnan(low).all() and np.isnan(high).all()


def test_kish_effective_size_by_hand() -> None:
    # Weights 1, 1, 2: (1 + 1 + 2)^2 / (1 + 1 + 4) = 16 / 6; weights 3, 3: 36 / 18 = 2 (equal
    # weights leave the count); a group with no weight has no effective size.
    sums, squares = np.array([4.0, 6.0, 0.0]), np.array([6.0, 18.0, 0.0])
    np.testing.assert_allclose(intervals.effective_n(sums, squares), [16 / 6, 2.0, 0.0])
    # Normalised weights (0.25, 0.25, 0.5: sum 1, squares 0.375) give the same size as 1, 1, 2.
    np.testing.assert_allclose(intervals.effective_n(np.array([1.0]), np.array([0.375])), [16 / 6])
    counts = np.array([5.0, 7.0])
    np.testing.assert_array_equal(intervals.effective_n(counts, None), counts)


def test_bounds_on_plain_numbers_answer_plain_booleans() -> None:
    # The overloads promise `bool` for plain floats (mypy trusts them in gate.py); a 0-d array
    # would pass an `if` but not `json.dumps`, nor an `is True`.
    for answer in (bounds.below(0.79, 0.8), bounds.above(0.31, 0.3), bounds.below(0.8, 0.8)):
        assert type(answer) is bool
    assert bounds.below(0.79, 0.8) is True and bounds.above(0.3, 0.3) is False
    arrays = bounds.below(np.array([0.79, 0.8]), 0.8), bounds.above(np.array([0.31]), 0.3)
    assert all(isinstance(a, np.ndarray) for a in arrays)
    np.testing.assert_array_equal(arrays[0], [True, False])


def test_the_tolerance_is_the_documented_one() -> None:
    # ABS_TOL + REL_TOL * |bound|, written out; an infinite bound gets 0 (inf * REL_TOL would give
    # inf - inf = NaN in the comparison).
    np.testing.assert_allclose(
        bounds.tolerance(np.array([0.8, -2.0, 1e6])), [1.8e-9, 3e-9, 1e-9 + 1e-3], rtol=1e-12
    )
    assert bounds.tolerance(np.inf) == 0.0 and bounds.tolerance(-np.inf) == 0.0
    # On a large bound, a relative difference of 1e-12 (rounding) is not a difference.
    assert not bounds.below(1e6 * (1 - 1e-12), 1e6) and not bounds.above(1e6 * (1 + 1e-12), 1e6)


def test_margin_test_uses_the_unpooled_variance_by_hand() -> None:
    # H0 |p1 - p2| <= 0.05 with 0.5 of 100 against 0.3 of 100: se = sqrt(.25/100 + .21/100),
    # z = (0.2 - 0.05) / se, one-sided p = P(Z > z).
    se = math.sqrt(0.5 * 0.5 / 100 + 0.3 * 0.7 / 100)
    expected = stats.norm.sf((0.2 - 0.05) / se)
    found = significance.two_proportion_test(
        np.array([0.5]), np.array([100.0]), np.array([0.3]), np.array([100.0]), margin=0.05
    )
    np.testing.assert_allclose(found, [expected], rtol=1e-12)


def test_wald_test_without_a_margin_is_two_sided_by_hand() -> None:
    # Estimate 0.1 with standard error 0.05: z = 2, two-sided p = 2 P(Z > 2); a margin of 0.02
    # makes it one-sided on the excess, P(Z > 1.6).
    plain = significance.wald_test(np.array([-0.1]), np.array([0.05]))
    margin = significance.wald_test(np.array([-0.1]), np.array([0.05]), margin=0.02)
    np.testing.assert_allclose(plain, [2 * stats.norm.sf(2.0)], rtol=1e-12)
    np.testing.assert_allclose(margin, [stats.norm.sf(1.6)], rtol=1e-12)


def test_auc_of_two_tied_people_is_one_half():
    # One positive and one negative with the same score: the pair counts half (Mann-Whitney),
    # so the AUC is 0.5, also when the table has only these two rows.
    got = auc_by_group(
        np.zeros(2, int), np.array([0, 0]), np.array([1.0, 0]), np.array([0.0, 1]), 1
    )
    assert got.tolist() == [0.5] == [roc_auc_score([1, 0], [0.3, 0.3])]


def test_auc_of_groups_without_rows_at_the_end_is_undefined():
    # Groups 2 and 3 have nobody: no AUC for them, and the others are unaffected.
    groups = np.array([0, 0, 1, 1])
    positive = np.array([0.0, 1, 0, 1])
    got = auc_by_group(groups, None, positive, 1 - positive, 4)
    assert got[:2].tolist() == [1.0, 1.0] and np.isnan(got[2:]).all()


def test_an_absent_reference_is_named_with_the_groups_there_are():
    levels = [("a", "x"), ("b", "y")]
    with pytest.raises(AuditInputError) as err:
        choose_reference(levels, np.ones(2), np.ones(2), np.ones(2, bool), rule="largest",
                         explicit=("c", "z"))  # fmt: skip
    assert str(err.value).startswith("reference group 'c × z': expected one of the groups")
    assert "(groups are: a × x, b × y)" in str(err.value)


@pytest.mark.parametrize("weight", [0.5, 1.0, 2.0])
def test_cross_auc_of_single_people_by_hand(weight: float) -> None:
    # Group a: a positive and a negative in bin 2; group b: a positive in bin 0, a negative in
    # bin 1. xAUC[a, b] = P(positive of a above a negative of b), ties half: [[.5, 1], [0, 0]],
    # whatever the (equal) weight of each person.
    hist = np.zeros((2, 2, 3))  # (group, y_true, bin)
    hist[0, 1, 2] = hist[0, 0, 2] = hist[1, 1, 0] = hist[1, 0, 1] = weight
    assert scores.cross_auc(hist).tolist() == [[0.5, 1.0], [0.0, 0.0]]
    assert scores.auc(hist).tolist() == [0.5, 0.0]  # the diagonal: each group's own AUC
    hist[1, 0, 1] = 0  # b has no negative left: nobody to compare a's positive with
    got = scores.cross_auc(hist)
    assert np.isnan(got[:, 1]).all() and got[:, 0].tolist() == [0.5, 0.0]


def test_rebin_merges_grid_points_into_equal_bins_by_hand() -> None:
    # Five grid points (scores 0, .25, .5, .75, 1): point k goes to bin floor(k * bins / 4),
    # the last one (score 1) to the last bin.
    points = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    assert scores.rebin(points, 1).tolist() == [31.0]
    assert scores.rebin(points, 2).tolist() == [3.0, 28.0]
    assert scores.rebin(points, 4).tolist() == [1.0, 2.0, 4.0, 24.0]
    for impossible in (0, 5):
        with pytest.raises(ValueError, match="cannot merge 5 grid points"):
            scores.rebin(points, impossible)


def test_calibration_with_an_empty_bin_by_hand() -> None:
    # Grid points 0, .25, .5, .75, 1 merged into 2 bins; nobody in the first. In the second, a
    # person scored .5 with the outcome and one scored 1 without: mean score .75, observed
    # rate .5, gap .25, which is the ECE (the empty bin weighs nothing). A second group is empty.
    hist = np.zeros((2, 2, 5))  # (group, y_true, grid point)
    hist[0, 1, 2] = hist[0, 0, 4] = 1
    score_sum = np.zeros((2, 5))
    score_sum[0, 2], score_sum[0, 4] = 0.5, 1.0
    weight, mean_score, observed = scores.reliability(hist, score_sum, 2)
    assert weight.tolist() == [[0.0, 2.0], [0.0, 0.0]]
    assert np.isnan(mean_score[0, 0]) and mean_score[0, 1] == 0.75
    assert np.isnan(observed[0, 0]) and observed[0, 1] == 0.5
    ece = scores.expected_calibration_error(hist, score_sum, 2)
    assert ece[0] == 0.25 and np.isnan(ece[1])


def test_conditional_difference_of_a_group_without_a_denominator_is_undefined() -> None:
    # Counts (group, stratum, y, d). Group 0 has nobody with the outcome, so it has no TPR, in
    # its strata or overall; the reference (group 1) has a TPR of 0.6 in its single stratum.
    counts = np.zeros((2, 1, 2, 2))
    counts[0, 0, 0] = [4, 6]
    counts[1, 0, 1] = [2, 3]
    est = conditional.conditional_difference(counts, 1, "tpr")
    assert np.isnan(est.unconditional[0]) and np.isnan(est.value[0])
    assert est.unconditional[1] == 0.0


def test_conditional_difference_does_not_depend_on_the_scale_of_the_weights() -> None:
    # The example of `conditional_difference`'s docstring (group 0: half selected in s0, 90% in
    # s1; the reference 20% and 80%), by hand: weights 10/20 and 10/20, so 0.5 * 0.3 + 0.5 * 0.1
    # = 0.2; coverage 1. Weights a hundredth of a person each (a group weighing 0.2 in all) must
    # give the same: shares of weight, not counts of people.
    counts = np.zeros((2, 2, 2, 2))
    counts[0, :, 0, :] = [[5, 5], [1, 9]]
    counts[1, :, 0, :] = [[16, 4], [2, 8]]
    for scale in (1.0, 0.01):
        est = conditional.conditional_difference(counts * scale, 1, "selection_rate")
        assert est.value[0] == pytest.approx(0.2) and est.coverage[0] == 1.0


def test_a_group_sharing_no_stratum_with_the_reference_has_no_conditional_difference() -> None:
    # Group 0 is only in stratum 0, the reference only in stratum 1: nothing to compare within
    # a stratum, so no conditional difference (not a difference of 0), and a coverage of 0.
    counts = np.zeros((2, 2, 2, 2))
    counts[0, 0, 0] = [5, 5]
    counts[1, 1, 0] = [8, 2]
    est = conditional.conditional_difference(counts, 1, "selection_rate")
    assert np.isnan(est.value[0]) and est.coverage[0] == 0.0
    assert est.unconditional[0] == pytest.approx(0.5 - 0.2)


def test_explained_share_reads_only_replicates_where_both_gaps_are_defined() -> None:
    # A replicate whose conditional gap is undefined says nothing about the share: the interval
    # is the one from the other replicates, not NaN.
    rng = np.random.default_rng(4)
    bu = rng.normal(-0.1, 0.01, (200, 1))
    bc = rng.normal(-0.02, 0.01, (200, 1))
    u, c = np.array([-0.1]), np.array([-0.02])
    kept = conditional.explained_share(u, c, bu[1:], bc[1:], 1.96)
    bc[0] = np.nan
    got = conditional.explained_share(u, c, bu, bc, 1.96)
    assert np.isfinite(got.low).all() and np.isfinite(got.high).all()
    np.testing.assert_allclose([got.low, got.high], [kept.low, kept.high], rtol=1e-12)
