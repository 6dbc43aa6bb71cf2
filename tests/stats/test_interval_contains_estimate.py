"""Every interval contains its own estimate, on every record of every table and every method.

The property test draws many small random audits with the inputs that break naive intervals:
empty cells, rates of exactly 0 and 1, groups of one to five people, sample weights, both
bootstrap kinds, a score column, legitimate factors and intersections. It walks the tables of
the result generically, so a table added later is checked without changing this file.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import ndtr, ndtri

from audit.metrics import intervals
from audit.stats.assess import assess
from audit.stats.bootstrap import bootstrap_interval, percentile_interval
from audit.stats.result import Assessment

TOLERANCE = 1e-12
RATES = (0.0, 1.0, 0.5, 0.2, 0.9)  # rates of exactly 0 and 1 are drawn as often as any other


@st.composite
def blocks(draw: st.DrawFn) -> tuple[str, str, int, float, float]:
    """People who share their groups and their chances of outcome and decision."""
    return (
        draw(st.sampled_from("abcd")),
        draw(st.sampled_from("xy")),
        draw(st.one_of(st.integers(1, 5), st.integers(6, 60))),  # tiny groups half the time
        draw(st.sampled_from(RATES)),
        draw(st.sampled_from(RATES)),
    )


@st.composite
def audits(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, object]]:
    parts = draw(st.lists(blocks(), min_size=2, max_size=7))
    # Every attribute needs two levels: the first two blocks differ on both.
    parts[0] = ("a", "x", *parts[0][2:])
    parts[1] = ("b", "y", *parts[1][2:])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = []
    for g, h, size, p_y, p_d in parts:
        y = rng.random(size) < p_y
        d = rng.random(size) < p_d
        rows.append(pd.DataFrame({"g": g, "h": h, "y": y.astype(int), "d": d.astype(int)}))
    frame = pd.concat(rows, ignore_index=True)
    n = len(frame)
    options: dict[str, object] = dict(
        n_boot=draw(st.sampled_from([0, 1, 2, 40])),
        bootstrap=draw(st.sampled_from(["multinomial", "stratified"])),
        seed=draw(st.integers(0, 1000)),
        # A minimum of 1 sends tiny groups to the bootstrap too.
        min_group_size=draw(st.sampled_from([1, 3, 30])),
        min_denominator=draw(st.sampled_from([1, 10])),
        intersections=draw(st.sampled_from([1, 2])),
        reference_rule=draw(st.sampled_from(["largest", "most_advantaged"])),
    )
    if draw(st.booleans()):
        frame["w"] = rng.choice([0.0, 0.3, 1.0, 2.5], n)
        frame.loc[0, "w"] = 1.0  # a positive total weight
        options["weight"] = "w"
    if draw(st.booleans()):
        # Scores on and off the histogram grid, with ties and the ends 0 and 1.
        frame["s"] = rng.choice([0.0, 0.1234, 0.1231, 0.5, 0.77777, 1.0], n)
        options["score"] = "s"
    if n >= 3 and draw(st.booleans()):
        frame["f"] = rng.choice(["u", "v"], n)
        frame.loc[:2, "f"] = ["u", "v", "u"]  # two levels, one shared by several people
        options["legitimate_factors"] = ["f"]
    return frame, options


# Every (estimate, low, high) triple a record can carry; a new one must be added here, and the
# walk test below fails when a table with intervals is not reached.
TRIPLES = (
    ("value", "ci_low", "ci_high"),
    ("difference", "difference_ci_low", "difference_ci_high"),
    ("explained_share", "explained_share_low", "explained_share_high"),
    ("change", "change_ci_low", "change_ci_high"),
)


def _interval_records(result: Assessment):
    """(table, record, triple) for every record of `result` with an estimate and interval fields."""
    for field in dataclasses.fields(result):
        table = getattr(result, field.name)
        if not isinstance(table, tuple):
            continue
        for record in table:
            names = (
                {f.name for f in dataclasses.fields(record)}
                if dataclasses.is_dataclass(record)
                else set()
            )
            for triple in TRIPLES:
                if set(triple) <= names:
                    yield field.name, record, triple


def assert_intervals_hold_their_estimates(result: Assessment) -> int:
    checked = 0
    for table, r, (est, lo, hi) in _interval_records(result):
        low, high, value = getattr(r, lo), getattr(r, hi), getattr(r, est)
        if low is None and high is None:
            continue
        where = f"{table}.{est}: {r}"
        assert low is not None and high is not None, where
        assert value is not None, f"an interval without an estimate in {where}"
        assert low - TOLERANCE <= value <= high + TOLERANCE, where
        checked += 1
    return checked


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(audits())
def test_every_interval_contains_its_estimate(audit):
    frame, options = audit
    result = assess(frame, y_true="y", y_pred="d", groups=["g", "h"], **options)  # type: ignore[arg-type]
    assert_intervals_hold_their_estimates(result)


def test_the_walk_reaches_every_table_with_intervals(decisions):
    # The generic walk must see the metric, disparity, summary and conditional tables.
    decisions = decisions.assign(f=np.arange(len(decisions)) % 3)
    result = assess(
        decisions,
        y_true="y",
        y_pred="d",
        groups=["mh", "housing"],
        score="s",
        n_boot=50,
        intersections=2,
        legitimate_factors=["f"],
    )
    tables = {
        (table, triple[0])
        for table, r, triple in _interval_records(result)
        if getattr(r, triple[1]) is not None
    }
    assert tables == {
        ("metrics", "value"),
        ("overall", "value"),
        ("disparities", "value"),
        ("summaries", "value"),
        ("conditional", "value"),
        ("conditional", "explained_share"),
        ("within_strata", "value"),
        ("within_strata", "difference"),
    }
    assert assert_intervals_hold_their_estimates(result) > 300


# -- the methods that used to miss their estimate ------------------------------------------------


def test_a_zero_numerator_ratio_interval_starts_at_zero():
    # The demo printed "ratio 0.000 (95% CI 0.001 to 0.170)": 0 of 40 against 20 of 100.
    lo, hi = intervals.katz(
        np.array([0.0]), np.array([40.0]), np.array([0.2]), np.array([100.0]), 0.95
    )
    assert lo[0] == 0.0
    # The upper end keeps the 0.5-corrected Katz value: exp(log(r) + z se) on corrected counts.
    r = (0.5 / 40.5) / (20.5 / 100.5)
    se = np.sqrt(1 / 0.5 - 1 / 40.5 + 1 / 20.5 - 1 / 100.5)
    assert hi[0] == pytest.approx(r * np.exp(1.959963984540054 * se), rel=1e-12)


def test_the_ratio_of_a_group_with_no_decision_gets_an_interval_from_zero():
    frame = pd.DataFrame(
        {
            "g": ["a"] * 100 + ["b"] * 40,
            "y": [1, 0] * 70,
            "d": [1] * 20 + [0] * 80 + [0] * 40,
        }
    )
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=200)
    d = result.disparity("selection_rate", ("g",), ("b",), kind="ratio")
    assert (d.value, d.ci_method, d.ci_low) == (0.0, "katz", 0.0)
    assert d.ci_high > 0.05


def test_wilson_ends_are_exact_at_rates_0_and_1():
    n = np.array([3.0, 7.0, 1.5, 1000.0])
    lo, _ = intervals.wilson(np.zeros(4), n, 0.95)
    _, hi = intervals.wilson(np.ones(4), n, 0.95)
    assert np.all(lo == 0.0) and np.all(hi == 1.0)


def test_bias_corrected_levels_follow_efron():
    # 1000 replicates 0..999 and an estimate with 300 replicates below it (and none tied):
    # z0 = Φ⁻¹(0.3), levels Φ(2 z0 ∓ 1.96), read off the sorted replicates.
    reps = np.arange(1000.0)[:, None]
    lo, hi, undefined = bootstrap_interval(reps, np.array([299.5]), 0.95)
    z0, z = ndtri(0.3), ndtri(0.975)
    assert lo[0] == pytest.approx(ndtr(2 * z0 - z) * 999, abs=1e-9)
    assert hi[0] == pytest.approx(ndtr(2 * z0 + z) * 999, abs=1e-9)
    assert undefined[0] == 0.0


def test_ties_count_half_so_a_centred_estimate_keeps_the_percentile_interval():
    # Replicates symmetric about the estimate, a fifth of them tied with it: z0 = 0, so BC is
    # the plain percentile interval. Counting ties as below (or above) would shift it.
    rng = np.random.default_rng(4)
    half = np.round(rng.normal(size=1000), 1)
    reps = np.concatenate([half, -half, np.zeros(1)])[:, None]
    assert np.mean(reps == 0) > 0.03
    lo, hi, _ = bootstrap_interval(reps, np.zeros(1), 0.9)
    plain_lo, plain_hi, _ = percentile_interval(reps, 0.9)
    assert (lo[0], hi[0]) == (plain_lo[0], plain_hi[0])


def test_a_biased_statistic_gets_an_interval_that_holds_its_estimate():
    # Replicates of a max-minus-min gap sit above the sample gap (bias up): all of them here.
    rng = np.random.default_rng(0)
    reps = (0.05 + np.abs(rng.normal(0, 0.02, size=(500, 1)))).clip(0.051)
    lo, hi, _ = bootstrap_interval(reps, np.array([0.05]), 0.95)
    plain_lo, plain_hi, _ = percentile_interval(reps, 0.95)
    assert plain_lo[0] > 0.05  # the plain interval misses its estimate
    assert lo[0] == 0.05 and hi[0] == plain_hi[0]  # widened down to it, no further


def test_undefined_replicates_and_estimates_are_left_undefined():
    reps = np.full((50, 3), np.nan)
    reps[:, 1] = np.linspace(0, 1, 50)
    lo, hi, undefined = bootstrap_interval(reps, np.array([0.5, np.nan, 0.2]), 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])  # no replicate: no interval, not [0.5, 0.5]
    assert np.isfinite(lo[1]) and np.isfinite(hi[1])
    np.testing.assert_allclose(undefined, [1.0, 0.0, 1.0])
    empty = bootstrap_interval(np.empty((0, 2)), np.zeros(2), 0.95)
    assert np.isnan(empty[0]).all() and np.isnan(empty[1]).all()
