"""Tiny fixtures whose every number was worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.metrics.definitions import METRIC_NAMES, RATE_METRICS
from audit.stats.assess import assess

# Group a: TP=2, FN=1, FP=1, TN=1.  Group b: FP=1, TN=3 (nobody has the outcome).
HAND = pd.DataFrame(
    {
        "y": [1, 1, 1, 0, 0, 0, 0, 0, 0],
        "d": [1, 1, 0, 1, 0, 1, 0, 0, 0],
        "grp": ["a"] * 5 + ["b"] * 4,
    }
)
EXPECTED_A = {
    "selection_rate": 3 / 5,
    "base_rate": 3 / 5,
    "tpr": 2 / 3,
    "fpr": 1 / 2,
    "fnr": 1 / 3,
    "tnr": 1 / 2,
    "ppv": 2 / 3,
    "npv": 1 / 2,
    "fdr": 1 / 3,
    "for": 1 / 2,
    "accuracy": 3 / 5,
    "balanced_accuracy": 7 / 12,
}
EXPECTED_B = {
    "selection_rate": 1 / 4,
    "base_rate": 0.0,
    "tpr": None,
    "fpr": 1 / 4,
    "fnr": None,
    "tnr": 3 / 4,
    "ppv": 0.0,
    "npv": 1.0,
    "fdr": 1.0,
    "for": 0.0,
    "accuracy": 3 / 4,
    "balanced_accuracy": None,
}


@pytest.fixture(scope="module")
def hand_result():
    return assess(HAND, y_true="y", y_pred="d", groups=["grp"], n_boot=0, min_group_size=1)


def test_every_registered_metric_has_a_hand_answer():
    assert set(EXPECTED_A) == set(METRIC_NAMES) == set(EXPECTED_B)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_group_metrics_match_hand_computation(hand_result, name):
    for level, expected in (("a", EXPECTED_A[name]), ("b", EXPECTED_B[name])):
        got = hand_result.metric(name, ("grp",), (level,))
        if expected is None:
            assert got.value is None
            assert got.undefined_reason
        else:
            assert got.value == pytest.approx(expected, abs=1e-12)
            assert got.undefined_reason is None


def test_undefined_rate_says_why(hand_result):
    tpr = hand_result.metric("tpr", ("grp",), ("b",))
    assert tpr.undefined_reason == "no one in the group has the outcome"
    assert tpr.ci_low is None and tpr.ci_high is None


def test_disparities_against_the_largest_group(hand_result):
    ref = next(g for g in hand_result.groups if g.is_reference)
    assert ref.levels == ("a",)
    diff = hand_result.disparity("selection_rate", ("grp",), ("b",))
    ratio = hand_result.disparity("selection_rate", ("grp",), ("b",), kind="ratio")
    assert diff.value == pytest.approx(1 / 4 - 3 / 5)
    assert ratio.value == pytest.approx((1 / 4) / (3 / 5))
    assert diff.reference_levels == ("a",)
    # The reference group is not compared with itself.
    with pytest.raises(KeyError):
        hand_result.disparity("selection_rate", ("grp",), ("a",))


def test_ratio_to_a_zero_reference_is_undefined_with_reason():
    result = assess(
        HAND,
        y_true="y",
        y_pred="d",
        groups=["grp"],
        n_boot=0,
        reference={"grp": "b"},
        min_group_size=1,
    )
    ratio = result.disparity("ppv", ("grp",), ("a",), kind="ratio")
    assert ratio.value is None
    assert ratio.undefined_reason == "the reference group's value is 0"


def test_summaries_by_hand(hand_result):
    assert hand_result.summary("demographic_parity_difference", ("grp",)).value == pytest.approx(
        0.35
    )
    assert hand_result.summary("demographic_parity_ratio", ("grp",)).value == pytest.approx(5 / 12)
    four_fifths = hand_result.summary("four_fifths_rule", ("grp",))
    assert four_fifths.passed is False
    assert four_fifths.detail == "below 4/5 of the highest selection rate: b"
    # Equalized odds over defined groups only: TPR is undefined for b, so the FPR gap decides.
    assert hand_result.summary("equalized_odds_difference", ("grp",)).value == pytest.approx(0.25)


def test_missing_group_values_become_an_explicit_unknown_group():
    frame = HAND.assign(grp=HAND["grp"].where(HAND.index != 0))  # first row's group unknown
    result = assess(frame, y_true="y", y_pred="d", groups=["grp"], n_boot=0, min_group_size=1)
    sizes = {g.levels: g.n_rows for g in result.groups}
    assert sizes == {("a",): 4, ("b",): 4, ("unknown",): 1}


def test_small_groups_are_marked_unreliable_but_still_computed(hand_result):
    result = assess(HAND, y_true="y", y_pred="d", groups=["grp"], n_boot=0, min_group_size=5)
    reliable = {g.levels: g.reliable for g in result.groups}
    assert reliable == {("a",): True, ("b",): False}
    assert result.metric("fpr", ("grp",), ("b",)).value == pytest.approx(0.25)


def test_weights_scale_cells():
    # Weight 2 on every row of group a's true positives: TPR becomes 4/5.
    w = [2, 2, 1, 1, 1, 1, 1, 1, 1]
    result = assess(
        HAND.assign(w=w),
        y_true="y",
        y_pred="d",
        groups=["grp"],
        weight="w",
        n_boot=0,
        min_group_size=1,
    )
    assert result.metric("tpr", ("grp",), ("a",)).value == pytest.approx(4 / 5)
    assert result.metric("selection_rate", ("grp",), ("a",)).value == pytest.approx(5 / 7)


def test_rate_table_is_complete():
    # Every rate names its numerator, denominator and why it can be undefined.
    for metric in RATE_METRICS:
        assert metric.numerator and metric.denominator and metric.undefined_reason
        assert set(metric.numerator) <= set(metric.denominator)
