"""The statistical core on inputs small enough to check by hand (issue 14, sample E, part 3).

The Wald test where the standard error is 0; the spread of within-cell weights in the weighted
bootstrap; the interval methods of track shares when one side of a comparison is small; the
summary measures of an audit without an outcome; the simulated decisions' levels; and the
marginal sums of the count tables. Every expected figure comes from a definition.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from audit.metrics.normal import ndtr
from audit.metrics.significance import wald_test
from audit.stats.assess import assess
from audit.stats.bootstrap import BootstrapKind, resample
from audit.stats.counts import GroupCounts
from audit.stats.simulate import simulate_decisions
from tests.formulas import wilson
from tests.stats.strict import no_warnings

# --- wald_test -----------------------------------------------------------------------------------


def test_wald_test_p_values_from_the_normal_tail() -> None:
    """Two-sided: p = 2·P(Z > |est| / se); with a margin δ, one-sided: p = P(Z > (|est| - δ) / se).
    est 1.96, se 1: p = 2·(1 - Φ(1.96)) ≈ 0.05; the sign of the estimate does not matter."""
    two_sided = wald_test(np.array([1.96, -1.96, 0.0]), np.array([1.0, 1.0, 0.5]))
    expected = 2 * float(ndtr(-1.96))
    assert two_sided.tolist() == pytest.approx([expected, expected, 1.0], rel=1e-12)
    assert two_sided[0] == pytest.approx(0.05, abs=1e-4)
    # |0.3| - 0.1 = 0.2 over se 0.1: z = 2, p = 1 - Φ(2); below the margin, p > 1/2.
    margin = wald_test(np.array([0.3, -0.3, 0.05]), np.array([0.1, 0.1, 0.1]), margin=0.1)
    assert margin.tolist() == pytest.approx(
        [float(ndtr(-2.0)), float(ndtr(-2.0)), float(ndtr(0.5))], rel=1e-12
    )


@pytest.mark.parametrize("margin", [0.0, 0.1])
def test_wald_test_is_undefined_without_a_standard_error_or_a_finite_estimate(
    margin: float,
) -> None:
    """se 0 (every replicate repeated the estimate) gives no test, not p = 0, even for a finite
    nonzero estimate; nor does an infinite or undefined estimate with a positive se."""
    with no_warnings():
        p = wald_test(
            np.array([0.5, 0.0, math.inf, -math.inf, math.nan, 0.5]),
            np.array([0.0, 0.0, 1.0, 1.0, 1.0, math.nan]),
            margin=margin,
        )
    assert np.isnan(p).all(), p


# --- resample: the weights' spread ---------------------------------------------------------------


def _weighted_cells() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One group, three cells. Cell 0: 50 rows of weight 1 and 50 of weight 3 (mean 2,
    variance 500/100 - 2² = 1); cell 1: 100 rows of weight 2 (variance 0); cell 2 empty."""
    n = np.array([[100, 100, 0]])
    w = np.array([[50 * 1 + 50 * 3, 100 * 2, 0]], dtype=np.float64)
    w2 = np.array([[50 * 1 + 50 * 9, 100 * 4, 0]], dtype=np.float64)
    return n, w, w2


@pytest.mark.parametrize("kind", ["multinomial", "stratified"])
def test_weighted_replicates_carry_the_spread_of_the_weights_within_a_cell(
    kind: BootstrapKind,
) -> None:
    """A cell's replicate weight sums its k replicate rows' weights, k ~ Binomial(200, 1/2)
    (E k = 100, Var k = 50). By the law of total variance its variance is
    Var(k)·mean² + E(k)·var = 50·4 + 100·1 = 300 for cell 0, and 50·4 + 0 = 200 for the
    constant-weight cell 1; both have mean 100·2 = 200. Without the spread cell 0 would also
    give 200. With 20 000 replicates the sample variance is within about 1% (se ≈ 300·sqrt(2 /
    20 000) ≈ 3); the limits allow 5%, far from 200. The empty cell stays 0."""
    n, w, w2 = _weighted_cells()
    rng = np.random.default_rng(7)
    out = resample(n, w, n_boot=20_000, rng=rng, kind=kind, group_axes=1, w2=w2)
    assert out.shape == (20_000, 1, 3)
    cell0, cell1 = out[:, 0, 0], out[:, 0, 1]
    assert cell0.mean() == pytest.approx(200, rel=0.01)
    assert cell1.mean() == pytest.approx(200, rel=0.01)
    assert cell0.var() == pytest.approx(300, rel=0.05)
    assert cell1.var() == pytest.approx(200, rel=0.05)
    # Constant weights: exactly 2 per drawn row, so the replicate is an even whole number.
    assert np.array_equal(cell1, 2 * np.round(cell1 / 2))
    assert (out[:, 0, 2] == 0).all()


def test_without_squared_weights_the_replicates_scale_the_count_by_the_mean_weight() -> None:
    """No w2: a cell's replicate weight is k·mean exactly, so cell 0's variance is 50·4 = 200."""
    n, w, _ = _weighted_cells()
    out = resample(n, w, n_boot=20_000, rng=np.random.default_rng(7), group_axes=1)
    cell0 = out[:, 0, 0]
    assert np.array_equal(cell0, 2 * np.round(cell0 / 2))
    assert cell0.var() == pytest.approx(200, rel=0.05)


def test_a_spread_at_rounding_scale_of_the_mean_weight_adds_no_noise() -> None:
    """Weights 10⁶ ± 0.1: variance 0.01, a relative 10⁻¹⁴ of the squared mean, the size of the
    rounding in w2 / n - mean² at this scale. Such a cell counts as constant-weight, so each
    replicate is k·mean for a whole number k of rows (a gamma draw would not be)."""
    rows = np.array([1e6 - 0.1] * 50 + [1e6 + 0.1] * 50)
    n = np.array([[100, 100]])
    w = np.array([[rows.sum(), 100.0]])
    w2 = np.array([[(rows**2).sum(), 100.0]])
    out = resample(n, w, n_boot=200, rng=np.random.default_rng(1), group_axes=1, w2=w2)
    k = out[:, 0, 0] / (rows.sum() / 100)
    assert np.allclose(k, np.round(k), rtol=0, atol=1e-9)
    assert (out[:, 0, 0] > 0).all() and len(set(np.round(k))) > 1


# --- track shares: the interval of a comparison with a small side --------------------------------


def _track_audit(sizes: dict[str, tuple[int, int]], reference: str) -> dict[str, dict]:
    """Group g has sizes[g] = (rows on track x, rows on track y); 200 replicates."""
    g: list[str] = []
    t: list[str] = []
    for name, (x, y) in sizes.items():
        g += [name] * (x + y)
        t += ["x"] * x + ["y"] * y
    result = assess(
        pd.DataFrame({"g": g, "t": t}), y_true=None, y_pred=None, groups=["g"], track="t",
        reference={"g": reference}, n_boot=200, min_group_size=30, min_denominator=1,
    )  # fmt: skip
    return {r.levels[0]: asdict(r) for r in result.tracks if r.track == "x"}


def test_a_small_group_against_a_large_reference_gets_analytic_intervals() -> None:
    """b has 29 rows (< min_group_size 30), 12 on track x: its share 12/29 has a Wilson interval,
    and its difference and ratio to the large reference r (40 of 100 on x) the Newcombe and
    Katz intervals, not the bootstrap: a small group makes a poor bootstrap however large the
    other side. c (50 of 100) and d (exactly 30 rows, 15 on x) are large against a large
    reference: bootstrap throughout."""
    records = _track_audit({"r": (40, 60), "b": (12, 17), "c": (50, 50), "d": (15, 15)}, "r")
    b = records["b"]
    assert (b["ci_method"], b["difference_ci_method"], b["ratio_ci_method"]) == (
        "wilson", "newcombe", "katz",
    )  # fmt: skip
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(wilson(12 / 29, 29), rel=1e-9)
    assert b["difference"] == pytest.approx(12 / 29 - 0.4)
    assert b["ratio"] == pytest.approx(12 / 29 / 0.4)
    assert b["difference_ci_low"] < b["difference"] < b["difference_ci_high"]
    assert b["ratio_ci_low"] < b["ratio"] < b["ratio_ci_high"]
    for large in (records["c"], records["d"]):
        assert (large["ci_method"], large["difference_ci_method"], large["ratio_ci_method"]) == (
            "bootstrap", "bootstrap", "bootstrap",
        )  # fmt: skip


def test_a_large_group_against_a_small_reference_gets_analytic_comparison_intervals() -> None:
    """Now the reference r has 29 rows (12 on x): c's own share (100 rows) keeps its bootstrap interval,
    but its difference and ratio to r are Newcombe and Katz; the reference's own share is
    Wilson's."""
    records = _track_audit({"r": (12, 17), "c": (50, 50), "d": (30, 70)}, "r")
    c, r = records["c"], records["r"]
    assert (c["ci_method"], c["difference_ci_method"], c["ratio_ci_method"]) == (
        "bootstrap", "newcombe", "katz",
    )  # fmt: skip
    assert c["difference"] == pytest.approx(0.5 - 12 / 29)
    assert c["ratio"] == pytest.approx(0.5 * 29 / 12)
    assert r["ci_method"] == "wilson"
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(wilson(12 / 29, 29), rel=1e-9)
    assert r["difference_ci_method"] == "none" and r["difference"] is None


# --- summaries of an audit without an outcome ----------------------------------------------------


def _decisions() -> pd.DataFrame:
    """a selects 3 of 4, b 1 of 4: rates 3/4 and 1/4."""
    return pd.DataFrame({
        "g": ["a"] * 4 + ["b"] * 4, "d": [1, 1, 1, 0, 1, 0, 0, 0], "y": [1, 0, 1, 0, 1, 1, 0, 0],
    })  # fmt: skip


def test_an_audit_without_an_outcome_summarises_the_selection_rates_alone() -> None:
    """With c selecting 2 of 4: demographic parity difference 3/4 - 1/4 = 1/2, ratio
    (1/4)/(3/4) = 1/3; b and c (2/4 over 3/4 = 2/3) under 4/5 of a's rate fail the four-fifths
    rule. Nothing that needs an outcome is summarised."""
    frame = pd.concat([_decisions(), pd.DataFrame({"g": ["c"] * 4, "d": [1, 1, 0, 0], "y": 0})])
    result = assess(
        frame, y_true=None, y_pred="d", groups=["g"], n_boot=0, min_group_size=1,
        min_denominator=1,
    )  # fmt: skip
    summaries = {s.measure: s for s in result.summaries}
    assert set(summaries) == {
        "demographic_parity_difference", "demographic_parity_ratio", "four_fifths_rule",
    }  # fmt: skip
    assert summaries["demographic_parity_difference"].value == pytest.approx(0.5)
    assert summaries["demographic_parity_ratio"].value == pytest.approx(1 / 3)
    assert summaries["four_fifths_rule"].passed is False
    assert summaries["four_fifths_rule"].detail == "below 4/5 of the highest selection rate: b, c"


def test_an_audit_with_an_outcome_summarises_every_measure() -> None:
    """With y: TPR a 2/2, b 1/2 and FPR a 1/2, b 0/2: equal opportunity difference 1/2, ratio
    1/2; equalized odds difference max(1/2, 1/2) = 1/2, ratio min(1/2, 0) = 0."""
    result = assess(
        _decisions(), y_true="y", y_pred="d", groups=["g"], n_boot=0, min_group_size=1,
        min_denominator=1,
    )  # fmt: skip
    values = {s.measure: s.value for s in result.summaries}
    assert values == pytest.approx({
        "demographic_parity_difference": 0.5, "demographic_parity_ratio": 1 / 3,
        "equalized_odds_difference": 0.5, "equalized_odds_ratio": 0.0,
        "equal_opportunity_difference": 0.5, "equal_opportunity_ratio": 0.5,
        "four_fifths_rule": 1 / 3,
    })  # fmt: skip


# --- simulate_decisions --------------------------------------------------------------------------


def test_simulated_decisions_have_the_documented_columns_levels_and_rates() -> None:
    """mh no/yes (0.8/0.2), housing stable/unstable/homeless (0.7/0.2/0.1), digital
    high/medium/low (0.4/0.3/0.3), y with rate 0.4, d with P(d | y) 0.7 and P(d | not y) 0.2.
    With 20 000 rows each share is within 0.01 (4 standard errors at most)."""
    frame = simulate_decisions(20_000, seed=3)
    assert list(frame.columns) == ["mh", "housing", "digital", "y", "d"]
    expected = {
        "mh": {"no": 0.8, "yes": 0.2},
        "housing": {"stable": 0.7, "unstable": 0.2, "homeless": 0.1},
        "digital": {"high": 0.4, "medium": 0.3, "low": 0.3},
    }
    for column, shares in expected.items():
        observed = frame[column].value_counts(normalize=True).to_dict()
        assert set(observed) == set(shares), column
        assert observed == pytest.approx(shares, abs=0.01), column
    assert frame["y"].mean() == pytest.approx(0.4, abs=0.01)
    assert frame.loc[frame.y == 1, "d"].mean() == pytest.approx(0.7, abs=0.015)
    assert frame.loc[frame.y == 0, "d"].mean() == pytest.approx(0.2, abs=0.015)
    shifted = simulate_decisions(20_000, seed=3, shift={"digital=medium": -0.2}, score=True)
    medium = shifted.digital == "medium"
    assert shifted.loc[medium & (shifted.y == 1), "d"].mean() == pytest.approx(0.5, abs=0.03)
    assert shifted.loc[~medium & (shifted.y == 1), "d"].mean() == pytest.approx(0.7, abs=0.02)
    assert shifted["s"].between(0, 1).all()


# --- GroupCounts.marginal ------------------------------------------------------------------------


def _counts() -> GroupCounts:
    n = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    return GroupCounts(attributes=("a", "b"), levels=(("0", "1"), ("x", "y", "z")), n=n, w=n * 1.0)


def test_marginal_sums_the_attributes_left_out_and_keeps_the_outcome_axes() -> None:
    counts = _counts()
    n = counts.n
    assert np.array_equal(counts.marginal(n, (0,)), n.sum(axis=1))
    assert np.array_equal(counts.marginal(n, (1,)), n.sum(axis=0))
    assert np.array_equal(counts.marginal(n, ()), n.sum(axis=(0, 1)))
    assert counts.marginal(n, (1,)).shape == (3, 2, 2)
    # Replicates lead: the attribute axes start one later.
    boot = np.stack([n, 2 * n])
    assert np.array_equal(counts.marginal(boot, (1,), lead=1), boot.sum(axis=1))
    assert np.array_equal(counts.marginal(boot, (0,), lead=1), boot.sum(axis=2))


def test_marginal_over_every_attribute_is_the_array_itself() -> None:
    """Keeping every attribute sums nothing and costs no copy of the (possibly replicate-sized)
    table: the very array comes back, in any order of `keep`."""
    counts = _counts()
    assert counts.marginal(counts.n, (0, 1)) is counts.n
    assert counts.marginal(counts.w, (1, 0)) is counts.w
    boot = np.stack([counts.w, counts.w])
    assert counts.marginal(boot, (0, 1), lead=1) is boot
