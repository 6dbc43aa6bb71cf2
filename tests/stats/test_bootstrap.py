"""The bootstrap on counts is the row bootstrap in distribution, and its intervals cover."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from audit.metrics.definitions import confusion_metrics
from audit.stats.bootstrap import percentile_interval, resample
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_arrays


def _tpr_and_gap(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TPR of group 1, and the selection-rate gap group 1 minus group 0 (last axes: g, y, d)."""
    values = confusion_metrics(counts)
    return values["tpr"][..., 1], values["selection_rate"][..., 1] - values["selection_rate"][
        ..., 0
    ]


def _sample(rng: np.random.Generator, n: int):
    g = (rng.random(n) < 0.3).astype(int)
    y = (rng.random(n) < 0.4).astype(int)
    d = (rng.random(n) < np.where(y == 1, 0.6, 0.2) + 0.1 * g).astype(int)
    return y, d, {"g": g}


def test_multinomial_bootstrap_matches_row_bootstrap():
    rng = np.random.default_rng(0)
    y, d, groups = _sample(rng, 2000)
    counts = count_groups(encode_arrays(y, d, groups))
    boot = resample(counts.n, counts.w, n_boot=4000, rng=np.random.default_rng(1), group_axes=1)
    ours_tpr, ours_gap = _tpr_and_gap(boot)

    row_tpr, row_gap = [], []
    g = groups["g"]
    for _ in range(4000):
        idx = rng.integers(0, len(y), len(y))
        cells = np.zeros((2, 2, 2))
        np.add.at(cells, (g[idx], y[idx], d[idx]), 1)
        t, s = _tpr_and_gap(cells)
        row_tpr.append(t)
        row_gap.append(s)
    for ours, rows in ((ours_tpr, np.array(row_tpr)), (ours_gap, np.array(row_gap))):
        assert stats.ks_2samp(ours, rows).pvalue > 0.001
        assert ours.std() == pytest.approx(rows.std(), rel=0.08)
        for q in (2.5, 50, 97.5):
            assert abs(np.percentile(ours, q) - np.percentile(rows, q)) < 0.15 * rows.std()


@pytest.mark.parametrize("kind", ["multinomial", "stratified"])
def test_nominal_95_percent_intervals_cover_the_truth(kind):
    # True values of the data-generating process of _sample.
    true_tpr = 0.7  # group 1: P(d | y) = 0.6 + 0.1
    true_gap = 0.1  # selection rate 0.4*0.7+0.6*0.3 = 0.46 against 0.36
    rng = np.random.default_rng(1)
    covered_tpr = covered_gap = 0
    sims = 2000
    for _ in range(sims):
        y, d, groups = _sample(rng, 1500)
        counts = count_groups(encode_arrays(y, d, groups))
        boot = resample(counts.n, counts.w, n_boot=400, rng=rng, kind=kind, group_axes=1)
        tpr, gap = _tpr_and_gap(boot)
        lo, hi, _ = percentile_interval(np.stack([tpr, gap], axis=1), 0.95)
        covered_tpr += lo[0] <= true_tpr <= hi[0]
        covered_gap += lo[1] <= true_gap <= hi[1]
    assert 0.93 <= covered_tpr / sims <= 0.97
    assert 0.93 <= covered_gap / sims <= 0.97


def test_stratified_bootstrap_keeps_every_group_size():
    rng = np.random.default_rng(3)
    y, d, groups = _sample(rng, 500)
    counts = count_groups(encode_arrays(y, d, groups))
    boot = resample(counts.n, counts.w, n_boot=50, rng=rng, kind="stratified", group_axes=1)
    assert np.array_equal(
        boot.sum(axis=(2, 3)), np.broadcast_to(counts.n.sum(axis=(1, 2)), (50, 2))
    )
    free = resample(counts.n, counts.w, n_boot=50, rng=rng, kind="multinomial", group_axes=1)
    assert np.all(free.sum(axis=(1, 2, 3)) == 500)
    assert len(np.unique(free.sum(axis=(2, 3))[:, 0])) > 1  # group sizes vary freely


def test_empty_cells_stay_empty_and_weights_keep_their_mean():
    n = np.array([[[5, 0], [0, 5]], [[0, 0], [3, 7]]])
    w = n * np.array([[[2.0, 1], [1, 2.0]], [[1, 1], [0.5, 1.5]]])
    boot = resample(n, w, n_boot=100, rng=np.random.default_rng(0), group_axes=1)
    assert np.all(boot[:, n == 0] == 0)
    assert np.all(np.isclose(boot[:, 0, 0, 0] % 2.0, 0))  # multiples of the cell's mean weight
    assert boot.shape == (100, 2, 2, 2)


def test_nominal_share_of_undefined_replicates_is_reported():
    n = np.array([[[50, 0], [0, 1]], [[30, 10], [5, 5]]])
    boot = resample(n, n.astype(float), n_boot=500, rng=np.random.default_rng(0), group_axes=1)
    tpr = confusion_metrics(boot)["tpr"]
    _, _, undefined = percentile_interval(tpr, 0.95)
    # Group 0 has one positive in 61 rows: about e^-1 of replicates draw none.
    assert undefined[0] == pytest.approx(np.exp(-1), abs=0.06)
    assert undefined[1] == 0


def test_percentile_interval_equals_numpy_nanpercentile():
    rng = np.random.default_rng(9)
    reps = rng.normal(size=(301, 40))
    reps[rng.random(reps.shape) < 0.2] = np.nan
    reps[:, 3] = np.nan  # a column undefined in every replicate
    reps[:-1, 4] = np.nan  # a column defined once
    lo, hi, undefined = percentile_interval(reps, 0.9)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanpercentile(reps, [5, 95], axis=0)
    np.testing.assert_allclose(lo, expected[0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(hi, expected[1], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(undefined, np.isnan(reps).mean(axis=0))
