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
