"""Analytic confidence intervals for small groups, where the bootstrap is unreliable.

A bootstrap of a group with no positives gives TPR 0 with the interval [0, 0], which looks certain
and is not; score intervals stay honest there. With sample weights the counts are replaced by
Kish's effective sample size, the usual design-effect correction.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np


def z_value(level: float) -> float:
    """Two-sided normal quantile for a confidence `level` such as 0.95."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(p: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion `p` observed on `n` (effective) trials."""
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    # At p = 0 (p = 1) the lower (upper) end is exactly 0 (1); the two terms above cancel only
    # up to rounding, which could put the end a hair on the wrong side of the estimate.
    low = np.where(p == 0, 0.0, centre - half)
    high = np.where(p == 1, 1.0, centre + half)
    ok = n > 0
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def newcombe(
    p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval (method 10) for the difference p1 - p2."""
    l1, u1 = wilson(p1, n1, level)
    l2, u2 = wilson(p2, n2, level)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def katz(
    p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Katz log interval for the ratio p1 / p2; a zero count gets the usual 0.5 correction.

    With no event in the group (p1 = 0) the ratio is 0 and so is the lower end: the corrected
    log interval would centre on 0.5 / (n1 + 0.5) and start above the estimate it belongs to.
    Its upper end is kept (the usual correction); a zero reference rate leaves no ratio.
    """
    z = z_value(level)
    k1, k2 = p1 * n1, p2 * n2
    zero = (k1 == 0) | (k2 == 0)
    k1c, k2c = np.where(zero, k1 + 0.5, k1), np.where(zero, k2 + 0.5, k2)
    n1c, n2c = np.where(zero, n1 + 0.5, n1), np.where(zero, n2 + 0.5, n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_ratio = np.log((k1c / n1c) / (k2c / n2c))
        se = np.sqrt(1 / k1c - 1 / n1c + 1 / k2c - 1 / n2c)
        low, high = np.exp(log_ratio - z * se), np.exp(log_ratio + z * se)
    low = np.where(k1 == 0, 0.0, low)
    ok = (n1 > 0) & (n2 > 0)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def effective_n(weight_sum: np.ndarray, weight_sq_sum: np.ndarray | None) -> np.ndarray:
    """Kish effective sample size (Σw)² / Σw²; the plain count when there are no weights."""
    if weight_sq_sum is None:
        return weight_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight_sq_sum > 0, weight_sum**2 / weight_sq_sum, 0.0)
