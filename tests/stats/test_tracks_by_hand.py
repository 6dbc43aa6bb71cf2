"""Track shares within strata of legitimate factors, checked on small tables built cell by cell
so that every expected figure is computed by hand from its definition:

- the conditional gap (standardised to the group's own factor mix), its coverage, delta-method
  standard error with Kish effective sizes, Wald p-value (with a margin), normal interval;
- which conditional comparisons are reliable (the rows in strata shared with the reference);
- the conditional bootstrap: which cells it resamples (stratified vs multinomial, weights'
  spread), how many replicates it draws and in what batches, its seed;
- the within-strata track shares with weights (Wilson on the Kish effective size) and their
  per-level reliability;
- the refusal of track replicates that would not fit in memory, with its figures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import audit.stats.tracks as tracks_module
from audit.errors import AuditInputError
from audit.metrics import intervals
from audit.stats.assess import assess
from audit.stats.result import Assessment, TrackConditional
from audit.stats.tracks import TrackCounts, check_track_table_size

Z = stats.norm.ppf(0.975)


def _rows(cells: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """A log with `count` people of group g, factor level f and track t for each cell."""
    return pd.DataFrame(
        [{"g": g, "f": f, "advised": t} for g, f, t, count in cells for _ in range(count)]
    )


def _assess(frame: pd.DataFrame, **options: object) -> Assessment:
    settings: dict[str, object] = dict(
        y_true="unused",
        y_pred=None,
        groups=["g"],
        track="advised",
        reference={"g": "r"},
        legitimate_factors=["f"],
        n_boot=0,
    )
    settings.update(options)
    return assess(frame, **settings)  # type: ignore[arg-type]


def _conditional(result: Assessment, level: str, track: str) -> TrackConditional:
    return next(c for c in result.track_conditional if c.levels == (level,) and c.track == track)


# --- the conditional gap, by hand -------------------------------------------------------------


def _weighted_frame() -> pd.DataFrame:
    """Groups r (reference) and a over three factor levels; level z holds a single person, of
    group a, so a's comparison covers only part of its weight. Weights vary within cells."""
    frame = _rows(
        [
            ("r", "x", "A", 30), ("r", "x", "B", 50), ("r", "x", "C", 20),
            ("r", "y", "A", 10), ("r", "y", "B", 30), ("r", "y", "C", 20),
            ("a", "x", "A", 12), ("a", "x", "B", 10), ("a", "x", "C", 8),
            ("a", "y", "A", 25), ("a", "y", "B", 20), ("a", "y", "C", 25),
            ("a", "z", "A", 1),
        ]
    )  # fmt: skip
    frame["w"] = 0.5 + (np.arange(len(frame)) * 7 % 11) / 4.0
    return frame


def _by_hand(frame: pd.DataFrame, track: str) -> dict[str, float]:
    """conditional(a) = Σ_s w_s (p_a,s − p_r,s) over the strata where both groups have people,
    w_s = a's weight in s over a's weight in those strata; Var = Σ_s w_s² (p(1−p)/n_eff of a
    and of r), n_eff = (Σw)²/Σw² of the cell."""
    cell = {}
    for (g, f), part in frame.groupby(["g", "f"]):
        w = part.w.to_numpy()
        chosen = w[(part.advised == track).to_numpy()].sum()
        cell[(g, f)] = (w.sum(), chosen / w.sum(), w.sum() ** 2 / (w**2).sum())
    shared = [f for f in ("x", "y", "z") if ("a", f) in cell and ("r", f) in cell]
    a_total = sum(cell[("a", f)][0] for f in ("x", "y", "z") if ("a", f) in cell)
    covered = sum(cell[("a", f)][0] for f in shared)
    value = var = 0.0
    for f in shared:
        wa, pa, na = cell[("a", f)]
        _, pr, nr = cell[("r", f)]
        ws = wa / covered
        value += ws * (pa - pr)
        var += ws**2 * (pa * (1 - pa) / na + pr * (1 - pr) / nr)
    share = {
        g: part.w[part.advised == track].sum() / part.w.sum() for g, part in frame.groupby("g")
    }
    return {
        "value": value,
        "se": math.sqrt(var),
        "coverage": covered / a_total,
        "unconditional": share["a"] - share["r"],
    }


def test_weighted_conditional_gap_interval_and_wald_test_match_a_hand_computation() -> None:
    """With sample weights and no replicates: the conditional gap of every track, its coverage
    (the weight of a's lone person in a level r lacks is not covered), the normal interval
    value ± z·se with the delta-method se on Kish effective sizes, and the one-sided Wald test
    against a margin."""
    frame = _weighted_frame()
    margin = 0.02
    result = _assess(frame, weight="w", test_margin=margin, min_group_size=5)
    assert {c.track for c in result.track_conditional} == {"A", "B", "C"}
    for track in ("A", "B", "C"):
        hand = _by_hand(frame, track)
        c = _conditional(result, "a", track)
        assert c.factors == ("f",) and c.reference_levels == ("r",)
        assert c.value == pytest.approx(hand["value"], abs=1e-12)
        assert c.unconditional == pytest.approx(hand["unconditional"], abs=1e-12)
        assert c.coverage == pytest.approx(hand["coverage"], abs=1e-12)
        assert c.coverage < 1
        assert c.ci_method == "normal"
        assert c.ci_low == pytest.approx(hand["value"] - Z * hand["se"], abs=1e-9)
        assert c.ci_high == pytest.approx(hand["value"] + Z * hand["se"], abs=1e-9)
        expected_p = stats.norm.sf((abs(hand["value"]) - margin) / hand["se"])
        assert c.p_value == pytest.approx(expected_p, rel=1e-9)


def test_three_factor_levels_and_two_groups_are_not_confused() -> None:
    """Two groups and three factor levels (the table's axes must not be swapped): the
    unweighted gap of a in each track, by hand."""
    frame = _weighted_frame().assign(w=1.0)
    result = _assess(frame)
    for track in ("A", "B", "C"):
        c = _conditional(result, "a", track)
        assert c.value == pytest.approx(_by_hand(frame, track)["value"], abs=1e-12)
        assert c.coverage == pytest.approx(100 / 101, abs=1e-12)


def test_a_group_column_that_is_also_a_factor_is_skipped_and_the_others_still_compared() -> None:
    """The factor f is itself an audited group column (listed first): it has no other factor
    to be compared within, so it has no conditional records, and g after it still has them."""
    frame = _weighted_frame()
    result = _assess(frame, groups=["f", "g"], reference={"f": "x", "g": "r"})
    assert {c.attributes for c in result.track_conditional} == {("g",)}
    assert len(result.track_conditional) == 3  # group a, tracks A, B, C


# --- reliability of a conditional comparison ----------------------------------------------------


def _reliability_frame() -> pd.DataFrame:
    """Reference r: 100 people in level s0, exactly 1 in s1, none in s2. In the strata shared
    with r the other groups have: edge 29 + 1 = 30 (exactly the minimum size); mid 20; lone
    5 (plus 100 in s2, which r lacks); short 29 (plus 1 in s2); apart none (40 in s2 only)."""
    return _rows(
        [
            ("r", "s0", "A", 50), ("r", "s0", "B", 50), ("r", "s1", "A", 1),
            ("edge", "s0", "A", 14), ("edge", "s0", "B", 15), ("edge", "s1", "B", 1),
            ("mid", "s0", "A", 10), ("mid", "s0", "B", 10),
            ("lone", "s0", "A", 2), ("lone", "s0", "B", 3),
            ("lone", "s2", "A", 50), ("lone", "s2", "B", 50),
            ("short", "s0", "A", 14), ("short", "s0", "B", 15), ("short", "s2", "A", 1),
            ("apart", "s2", "A", 20), ("apart", "s2", "B", 20),
        ]
    )  # fmt: skip


def test_a_conditional_comparison_is_reliable_on_the_rows_it_shares_with_the_reference() -> None:
    """Reliable when the group's rows in strata where the reference also has rows reach both
    minimums (min_group_size 30, min_denominator 10): rows in a stratum the reference lacks
    do not count; a stratum with a single row of the group or of the reference does. An
    unreliable comparison keeps its p-value but stays out of the corrected family. A group
    sharing no stratum with the reference has no conditional gap at all (coverage 0)."""
    result = _assess(_reliability_frame())
    for track in ("A", "B"):
        apart = _conditional(result, "apart", track)
        assert apart.value is None and apart.coverage == 0.0 and not apart.reliable
        assert apart.ci_low is None and apart.ci_high is None and apart.ci_method == "none"
        assert apart.p_value is None and apart.p_adjusted is None
    expected = {"edge": True, "mid": False, "lone": False, "short": False}
    for group, reliable in expected.items():
        for track in ("A", "B"):
            c = _conditional(result, group, track)
            assert c.reliable is reliable, (group, track)
            if reliable:
                assert c.p_adjusted is not None and c.significant is not None
            else:
                assert c.p_value is not None  # reported ...
                assert c.p_adjusted is None and c.significant is None  # ... not counted


def test_both_minimums_apply_to_the_shared_rows_each_at_its_boundary() -> None:
    """With min_group_size 5 and min_denominator 20 the denominator minimum decides: 20 shared
    rows (mid) are enough, 5 (lone) are not."""
    result = _assess(_reliability_frame(), min_group_size=5, min_denominator=20)
    assert _conditional(result, "mid", "A").reliable
    assert not _conditional(result, "lone", "A").reliable
    assert _conditional(result, "edge", "A").reliable


# --- the conditional bootstrap ------------------------------------------------------------------


def _pure_cells() -> pd.DataFrame:
    """Every (group, level) cell gives everyone one track: a gets A in x and B in y, r the
    opposite, so the gap in A is +1 in x and −1 in y and a's conditional gap is w_x − w_y."""
    return _rows(
        [("a", "x", "A", 60), ("a", "y", "B", 40), ("r", "x", "B", 50), ("r", "y", "A", 50)]
    )


def _width(result: Assessment, track: str = "A") -> float:
    c = _conditional(result, "a", track)
    assert c.ci_method == "bootstrap" and c.ci_low is not None and c.ci_high is not None
    assert c.value is not None and c.ci_low <= c.value <= c.ci_high
    return c.ci_high - c.ci_low


def test_stratified_bootstrap_keeps_each_group_and_level_cell_size() -> None:
    """The stratified bootstrap redraws the tracks within each (group, factor level) cell and
    keeps the cell sizes: with one track per cell every replicate is the estimate itself, so
    the interval is the point 0.2. The multinomial bootstrap also redraws how a's people fall
    over the levels, so its interval has width."""
    frame = _pure_cells()
    stratified = _assess(frame, n_boot=200, bootstrap="stratified")
    c = _conditional(stratified, "a", "A")
    assert c.value == pytest.approx(0.6 - 0.4, abs=1e-12)
    assert _width(stratified) == pytest.approx(0.0, abs=1e-12)
    assert _width(_assess(frame, n_boot=200, bootstrap="multinomial")) > 0.05


def test_stratified_bootstrap_redraws_the_tracks_within_a_cell() -> None:
    """Where a cell mixes tracks the stratified replicates vary: the interval has width."""
    frame = _rows(
        [
            ("a", "x", "A", 30), ("a", "x", "B", 30), ("a", "y", "B", 40),
            ("r", "x", "A", 20), ("r", "x", "B", 30), ("r", "y", "A", 25), ("r", "y", "B", 25),
        ]
    )  # fmt: skip
    assert _width(_assess(frame, n_boot=200, bootstrap="stratified")) > 0.05


def test_stratified_bootstrap_carries_the_spread_of_the_weights() -> None:
    """With unequal weights within a cell the replicates redraw the weights too (each cell's
    weight is a sum of resampled weights), so even with one track per cell a's weight over
    the levels, and so its conditional gap, varies."""
    frame = _pure_cells()
    frame["w"] = np.where(np.arange(len(frame)) % 2 == 0, 0.2, 3.0)
    assert _width(_assess(frame, n_boot=200, bootstrap="stratified", weight="w")) > 0.01


def test_one_replicate_is_a_bootstrap_and_the_seed_fixes_the_interval() -> None:
    """n_boot = 1 still draws a replicate (the interval is a bootstrap one); the same seed gives
    the same interval on every run."""
    one = _assess(_reliability_frame(), n_boot=1)
    methods = {c.levels[0]: c.ci_method for c in one.track_conditional}
    assert methods == {"edge": "bootstrap", "mid": "bootstrap", "lone": "bootstrap",
                       "short": "bootstrap", "apart": "none"}  # fmt: skip
    runs = [_assess(_weighted_frame(), n_boot=50, seed=7) for _ in range(2)]
    first, second = ([(c.ci_low, c.ci_high) for c in r.track_conditional] for r in runs)
    assert first == second
    assert {c.ci_method for c in runs[0].track_conditional} == {"bootstrap"}


def test_conditional_replicates_are_drawn_in_full_batches_within_the_memory_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exactly n_boot replicates, in batches of as many as fit in BOOT_BATCH_CELLS cells of the
    binary view (groups × strata × tracks × 4 per replicate), at least one per batch."""
    frame = _weighted_frame()  # 2 groups × 3 levels × 3 tracks = 18 cells, 72 in binary view
    sizes: list[int] = []
    real = tracks_module.resample

    def spy(n: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        if n.ndim == 3:  # (groups, strata, tracks): the conditional replicates
            sizes.append(int(kwargs["n_boot"]))  # type: ignore[call-overload]
        return real(n, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tracks_module, "resample", spy)
    for limit, n_boot, expected in (
        (72 * 3, 10, [3, 3, 3, 1]),  # 3 replicates fit in a batch
        (72 * 3 + 71, 9, [3, 3, 3]),
        (72, 4, [1, 1, 1, 1]),  # one fits
        (10, 3, [1, 1, 1]),  # not even one fits: one at a time all the same
    ):
        sizes.clear()
        monkeypatch.setattr(tracks_module, "BOOT_BATCH_CELLS", limit)
        result = _assess(frame, n_boot=n_boot)
        assert sizes == expected, (limit, n_boot)
        assert all(c.ci_method == "bootstrap" for c in result.track_conditional)


# --- within strata --------------------------------------------------------------------------------


def test_weighted_within_strata_shares_have_wilson_intervals_on_kish_sizes() -> None:
    """Within each factor level: a group's weighted share of a track, its Wilson interval on
    the Kish effective size (Σw)²/Σw² of the group in that level, and its difference to the
    reference with the Newcombe interval on the same effective sizes."""
    frame = _weighted_frame()
    result = _assess(frame, weight="w", min_group_size=5)
    rows = {(w.track, w.levels[0], w.factor_level): w for w in result.track_within_strata}
    cells = {}
    for (g, f), part in frame.groupby(["g", "f"]):
        w = part.w.to_numpy()
        cells[(g, f)] = (w.sum() ** 2 / (w**2).sum(), part.w, part.advised)
    for track in ("A", "B", "C"):
        for (g, f), (n_eff, w, advised) in cells.items():
            p = w[advised == track].sum() / w.sum()
            record = rows[(track, g, f)]
            assert record.metric == "track_share" and record.value == pytest.approx(p, abs=1e-12)
            centre = (p + Z * Z / (2 * n_eff)) / (1 + Z * Z / n_eff)
            half = Z / (1 + Z * Z / n_eff) * math.sqrt(p * (1 - p) / n_eff + Z**2 / (4 * n_eff**2))
            low = 0.0 if p == 0 else centre - half
            high = 1.0 if p == 1 else centre + half
            assert (record.ci_low, record.ci_high) == pytest.approx((low, high), abs=1e-9)
            if g == "a" and f in ("x", "y"):
                ref_n, ref_w, ref_advised = cells[("r", f)]
                ref_p = ref_w[ref_advised == track].sum() / ref_w.sum()
                assert record.difference == pytest.approx(p - ref_p, abs=1e-12)
                d_low, d_high = intervals.newcombe(
                    np.array(p), np.array(n_eff), np.array(ref_p), np.array(ref_n), 0.95
                )
                assert record.difference_ci_low == pytest.approx(float(d_low), abs=1e-9)
                assert record.difference_ci_high == pytest.approx(float(d_high), abs=1e-9)


def test_within_strata_reliability_is_per_level_for_the_group_and_the_reference() -> None:
    """A group's share in a factor level is reliable when both it and the reference have at
    least min_group_size (30) people in that level: 30 and 30 in L1 are enough; in L2 the
    reference's 10 are not, however many the group has."""
    frame = _rows(
        [
            ("r", "L1", "A", 10), ("r", "L1", "B", 20), ("r", "L2", "B", 10),
            ("a", "L1", "A", 15), ("a", "L1", "B", 15), ("a", "L2", "A", 60),
            ("a", "L2", "B", 40),
        ]
    )  # fmt: skip
    result = _assess(frame)
    rows = {(w.track, w.levels[0], w.factor_level): w for w in result.track_within_strata}
    for track in ("A", "B"):
        assert rows[(track, "a", "L1")].reliable and rows[(track, "r", "L1")].reliable
        assert not rows[(track, "a", "L2")].reliable and not rows[(track, "r", "L2")].reliable
        assert rows[(track, "a", "L2")].n_rows == 100


# --- the table-size check ---------------------------------------------------------------------------


def test_track_replicates_too_large_for_memory_are_refused_with_their_figures() -> None:
    """40 bytes per replicate and cell: 24 cells (2 × 3 × 4) and 2^25 replicates are 30 GiB.
    Refused over an 8 GiB limit, with the limit, the size, the cells, the shape and the
    replicates in the message and the two ways out in the hint; accepted at exactly 30 GiB."""
    n = np.zeros((2, 3, 4))
    counts = TrackCounts(("g", "h"), (("a", "b"), ("x", "y", "z")), ("A", "B", "C", "D"), n, n)
    n_boot = 2**25
    with pytest.raises(AuditInputError) as err:
        check_track_table_size(counts, n_boot, limit=8 * 2**30)
    e = err.value
    assert e.subject == "group columns and tracks"
    assert e.expected == "track bootstrap replicates within 8.0 GiB of memory"
    assert e.found == "about 30.0 GiB for 24 cells (2 × 3 × 4), 33554432 replicates"
    assert e.fix == (
        "audit fewer attributes at once, merge rare levels or tracks, or lower "
        "statistics.n_boot (--n-boot)"
    )
    check_track_table_size(counts, n_boot, limit=30 * 2**30)  # exactly fits


def test_conditional_bootstrap_interval_is_bias_corrected_around_the_reported_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The conditional interval is the bias-corrected percentile interval of the drawn
    replicates around the gap reported (not the plain percentile one, which ignores where the
    estimate sits among the replicates): recomputed from the replicates and the reported gap,
    it is the reported interval."""
    drawn: list[np.ndarray] = []
    real = tracks_module.bootstrap_interval

    def spy(replicates: np.ndarray, *args: object) -> object:
        drawn.append(replicates.copy())
        return real(replicates, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(tracks_module, "bootstrap_interval", spy)
    result = _assess(_reliability_frame(), n_boot=200)
    replicates = drawn[-1]  # the conditional ones come last: (n_boot, tracks, groups)
    assert replicates.shape == (200, 2, 6)
    levels = ("apart", "edge", "lone", "mid", "r", "short")
    value = np.full(replicates.shape[1:], np.nan)
    for c in result.track_conditional:
        if c.value is not None:
            value[("A", "B").index(c.track), levels.index(c.levels[0])] = c.value
    low, high, _ = real(replicates, value, 0.95)
    plain_low, _, _ = real(replicates, np.full(value.shape, np.nan), 0.95)  # no estimate
    differs = 0
    for c in result.track_conditional:
        if c.value is None:
            continue
        t, g = ("A", "B").index(c.track), levels.index(c.levels[0])
        assert (c.ci_low, c.ci_high) == pytest.approx((low[t, g], high[t, g]), abs=1e-12)
        differs += abs(plain_low[t, g] - low[t, g]) > 1e-6
    assert differs  # the bias correction matters here
