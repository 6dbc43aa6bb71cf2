"""Score metrics from per-group score histograms (group × y_true × grid point).

Scores are read on the grid 0, 1/R, ..., 1 (R = `DEFAULT_SCORE_BINS` = 1000: three decimals), one
histogram cell per grid point. The AUC of a histogram counts a positive above a negative when its
point is higher and half when they share one, which is exactly the Mann–Whitney AUC of the scores
rounded to the grid.
"""

from __future__ import annotations

import numpy as np


def _pairs_above(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Weight of (positive, negative) pairs with the positive ranked higher, ties counted half."""
    below = np.cumsum(neg, axis=-1) - neg  # negatives in strictly lower bins
    return (pos * (below + 0.5 * neg)).sum(axis=-1)


def auc(hist: np.ndarray) -> np.ndarray:
    """AUC per leading index of `hist` (..., y_true, bin); NaN without both classes."""
    pos, neg = hist[..., 1, :], hist[..., 0, :]
    n_pos, n_neg = pos.sum(axis=-1), neg.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), _pairs_above(pos, neg) / (n_pos * n_neg), np.nan)


def cross_auc(hist: np.ndarray) -> np.ndarray:
    """xAUC matrix over groups: [..., a, b] = P(score of a positive of a > a negative of b).

    `hist` has shape (..., groups, y_true, bin). Kallus & Zhou (2019) call this the cross-group
    AUC; a low xAUC[a, b] means positives of group a are ranked below negatives of group b.
    """
    pos = hist[..., :, None, 1, :]  # (..., a, 1, bin)
    neg = hist[..., None, :, 0, :]  # (..., 1, b, bin)
    n_pos, n_neg = pos.sum(axis=-1), neg.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), _pairs_above(pos, neg) / (n_pos * n_neg), np.nan)


def rebin(array: np.ndarray, bins: int) -> np.ndarray:
    """Merges grid points (last axis, 0..R) into `bins` equal-width bins of [0, 1].

    Point k (score k/R) goes to bin floor(k * bins / R), and the last point (1.0) to the last bin,
    as with `np.histogram`'s closed right edge.
    """
    resolution = array.shape[-1] - 1
    if not 1 <= bins <= resolution:
        raise ValueError(f"cannot merge {resolution + 1} grid points into {bins} bins")
    target = np.minimum(np.arange(resolution + 1) * bins // resolution, bins - 1)
    starts = np.searchsorted(target, np.arange(bins))
    return np.add.reduceat(array, starts, axis=-1)


def reliability(
    hist: np.ndarray, score_sum: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group and calibration bin: weight, mean predicted score, observed outcome rate."""
    coarse = rebin(hist, bins)  # (..., y, bins)
    weight = coarse.sum(axis=-2)
    sums = rebin(score_sum, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.where(weight > 0, sums / weight, np.nan)
        observed = np.where(weight > 0, coarse[..., 1, :] / weight, np.nan)
    return weight, mean_score, observed


def expected_calibration_error(
    hist: np.ndarray, score_sum: np.ndarray, bins: int = 10
) -> np.ndarray:
    """ECE: bin-weighted mean gap between predicted score and observed rate, per group."""
    weight, mean_score, observed = reliability(hist, score_sum, bins)
    total = weight.sum(axis=-1)
    gaps = np.where(weight > 0, np.abs(mean_score - observed), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weight * gaps).sum(axis=-1) / total, np.nan)


def auc_by_group(
    groups: np.ndarray,
    ties: np.ndarray | None,
    positive: np.ndarray,
    negative: np.ndarray,
    n_groups: int,
) -> np.ndarray:
    """Exact Mann–Whitney AUC of every group, from rows sorted by group, then by score.

    `groups` (non-decreasing) is each row's group code in 0..n_groups-1, `ties` (non-decreasing
    within a group; None when no two scores are equal) numbers the distinct scores, and
    `positive` / `negative` are each row's weight as a positive and as a negative (y and 1 - y
    without sample weights). A positive counts every negative of its group with a lower score,
    and half of those with the same score, as scikit-learn's `roc_auc_score` does; NaN for a
    group without both classes.

    >>> auc_by_group(np.zeros(4, int), np.array([0, 1, 1, 2]), np.array([0., 1, 0, 1]),
    ...              np.array([1., 0, 1, 0]), 1)
    array([0.875])
    """
    acc = np.int64 if np.issubdtype(positive.dtype, np.integer) else np.float64  # counts: exact
    bounds = np.zeros(n_groups + 1, dtype=np.intp)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=bounds[1:])
    # Negatives before each row over the whole table; a group's own are those minus the ones
    # before its first row. Rows of a run of equal scores count the run's earlier negatives
    # in full here, corrected below.
    before = np.zeros(groups.size + 1, dtype=acc)
    np.cumsum(negative, dtype=acc, out=before[1:])
    at_start = before[bounds]
    n_neg = np.diff(at_start).astype(np.float64)
    n_pos = _segment_sums(positive, bounds)
    pairs = _segment_sums(positive * before[:-1], bounds) - at_start[:-1] * n_pos
    if ties is not None:
        below = before[:-1] - at_start[:-1][groups]
        pairs += _tie_correction(groups, ties, positive, negative, below, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), pairs / (n_pos * n_neg), np.nan)


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of `values` over the runs bounds[g]:bounds[g + 1] (faster than a weighted bincount)."""
    out = np.zeros(bounds.size - 1)
    live = bounds[:-1] < bounds[1:]
    if live.any():
        dtype = np.int64 if np.issubdtype(values.dtype, np.integer) else np.float64
        out[live] = np.add.reduceat(values, bounds[:-1][live], dtype=dtype)
    return out


def _tie_correction(
    groups: np.ndarray,
    ties: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    below: np.ndarray,
    n_groups: int,
) -> np.ndarray:
    """Per group: half of each tied (positive, negative) pair, minus what `below` counted.

    `below` holds the negatives before each row in its group. Only rows in a run of one group
    and one score longer than one row are read: few for continuous scores.
    """
    out = np.zeros(n_groups)
    if groups.size < 2:
        return out
    run = (ties[1:] == ties[:-1]) & (groups[1:] == groups[:-1])  # row i + 1 ties row i
    if not run.any():
        return out
    tied = np.zeros(groups.size, dtype=bool)
    tied[1:] |= run
    tied[:-1] |= run
    rows = np.flatnonzero(tied)
    first = np.ones(rows.size, dtype=bool)  # first row of each tied block, among `rows`
    first[1:] = ~run[rows[1:] - 1]
    starts = np.flatnonzero(first)
    pos = np.add.reduceat(positive[rows], starts, dtype=np.float64)
    neg = np.add.reduceat(negative[rows], starts, dtype=np.float64)
    # What `below` gave the block's positives beyond the negatives under the block.
    counted = np.add.reduceat((positive[rows] * below[rows]).astype(np.float64), starts)
    counted -= pos * below[rows[starts]]
    return np.bincount(groups[rows[starts]], weights=0.5 * pos * neg - counted, minlength=n_groups)
