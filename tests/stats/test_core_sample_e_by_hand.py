"""The statistical core on inputs small enough to check by hand (issue 14, sample E).

The exact Mann–Whitney AUC on integer weights summed past float64's 2**53 (where counting in
floats drops units); every field of the Mantel–Haenszel record on tables with a margin of one
and with an empty margin; and the conditional difference under the stratified bootstrap, which
keeps each (group, stratum) cell's size. Every expected figure comes from a definition, not
from the code's output.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from audit.metrics.scores import auc_by_group
from audit.metrics.stratified import StratifiedOdds, stratified_odds
from audit.stats.assess import assess

BIG = 2**53  # float64 counts every integer up to here, then only the even ones


def test_auc_counts_integer_weights_exactly_beyond_float_precision() -> None:
    """Rows sorted by group then score, integer weights (a count of people per row).

    Group 0: a negative (1) below positives 1, 2**53 and 1: every positive beats the negative,
    AUC 1. Group 1: positives 1, 2**53, 1, then a negative (1), then a positive of weight 2:
    only the last positive beats the negative, so pairs = 2 over n_pos * n_neg = (2**53 + 4) * 1,
    AUC 2 / (2**53 + 4) — nearly 0, but not 0. Both totals are exact in float64; summing the
    weights one by one in floats loses the 1s next to 2**53 (2**53 + 1 rounds to 2**53) and
    would give 1 - 2 / (2**53 + 2) and 0 instead."""
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    positive = np.array([0, 1, BIG, 1, 1, BIG, 1, 0, 2], dtype=np.int64)
    negative = np.array([1, 0, 0, 0, 0, 0, 0, 1, 0], dtype=np.int64)
    out = auc_by_group(groups, None, positive, negative, 2)
    assert out.tolist() == [1.0, float(Fraction(2, BIG + 4))]
    assert out[1] > 0


def _same(actual: StratifiedOdds, expected: StratifiedOdds) -> None:
    for name, want in vars(expected).items():
        got = getattr(actual, name)
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got), name
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15), name


def test_stratified_odds_with_a_reference_outcome_count_of_one() -> None:
    """Stratum 1: a, b, c, d = 2, 2, 1, 3; stratum 2 holds only the group (1, 1, 0, 0).

    Raw (tables added: 3, 3, 1, 3): OR = 3 * 3 / (3 * 1) = 3, Woolf SE sqrt(1/3 + 1/3 + 1 + 1/3)
    = sqrt(2) — a margin of 1 is a count like any other. Rates 3/6 and 1/4. Only stratum 1
    holds both groups (n = 8): R = 2 * 3 / 8, S = 2 * 1 / 8, OR_MH = 3; with one stratum the
    RGB variance is Woolf's, 1/2 + 1/2 + 1 + 1/3 = 7/3. Adjusted: 2/4 - 1/4 (the reference's
    rate in stratum 1 at the group's 4 people) = 1/4; coverage 4 of the group's 6."""
    result = stratified_odds(np.array([2, 1]), np.array([2, 1]), np.array([1, 0]), np.array([3, 0]))
    expected = StratifiedOdds(
        odds_ratio=3.0,
        log_se=math.sqrt(7 / 3),
        raw_odds_ratio=3.0,
        raw_log_se=math.sqrt(2.0),
        rate=0.5,
        reference_rate=0.25,
        adjusted_difference=0.25,
        coverage=4 / 6,
        strata=1,
    )
    _same(result, expected)


def test_stratified_odds_with_no_group_member_without_the_outcome() -> None:
    """One stratum a, b, c, d = 1, 0, 1, 1 (b = 0): both odds ratios are 1 * 1 / 0 = inf and
    neither log has a standard error; rates 1 and 1/2, adjusted 1 - 1/2, full coverage."""
    result = stratified_odds(np.array([1]), np.array([0]), np.array([1]), np.array([1]))
    expected = StratifiedOdds(
        odds_ratio=math.inf,
        log_se=math.nan,
        raw_odds_ratio=math.inf,
        raw_log_se=math.nan,
        rate=1.0,
        reference_rate=0.5,
        adjusted_difference=0.5,
        coverage=1.0,
        strata=1,
    )
    _same(result, expected)


def test_the_stratified_bootstrap_keeps_every_group_and_stratum_cell_size() -> None:
    """Reference r: 60 people in s1 and 60 in s2, none selected. Group a: 40 in s1, all
    selected, 40 in s2, none. Within strata a's gaps are 1 (s1) and 0 (s2), 0.5 at a's mix;
    its raw gap is 0.5 as well, so the factor explains none of it.

    The stratified bootstrap redraws each (group, stratum) cell at its own size; every cell's
    decisions are all alike, so every replicate is the estimate and the interval has no width:
    [0.5, 0.5], and so has the explained share's, [0, 0]. (A bootstrap over the whole table
    would move a's mix between s1 and s2, and the gap with it.)"""
    cells = [("r", "s1", 0, 60), ("r", "s2", 0, 60), ("a", "s1", 1, 40), ("a", "s2", 0, 40)]
    frame = pd.DataFrame(
        [(g, s, d) for g, s, d, k in cells for _ in range(k)], columns=["g", "s", "d"]
    )
    result = assess(
        frame, y_true=None, y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=50,
        bootstrap="stratified", legitimate_factors=["s"],
    )  # fmt: skip
    (c,) = result.conditional
    assert (c.attributes, c.levels, c.reference_levels, c.factors, c.metric) == (
        ("g",), ("a",), ("r",), ("s",), "selection_rate"
    )  # fmt: skip
    assert (c.value, c.unconditional, c.ci_low, c.ci_high, c.ci_method) == (
        0.5, 0.5, 0.5, 0.5, "bootstrap"
    )  # fmt: skip
    assert (c.coverage, c.reliable, c.suppressed) == (1.0, True, False)
    assert (c.explained_share, c.explained_share_low, c.explained_share_high) == (0.0, 0.0, 0.0)
