"""Tests of disparities, corrections for testing many groups at once, and detectable effects.

An audit compares dozens of groups on several metrics; without a correction, some comparisons
come out "significant" by chance alone. Holm controls the chance of any false alarm,
Benjamini–Hochberg the expected share of false alarms among findings.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from audit.metrics.normal import ndtr, ndtri

Correction = Literal["holm", "bh", "none"]


def _upper_tail(z: np.ndarray) -> np.ndarray:
    """P(Z > z) for a standard normal; the plain ufunc, without scipy.stats' per-call overhead."""
    return np.asarray(ndtr(-np.asarray(z)))


def two_proportion_test(
    p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray, *, margin: float = 0.0
) -> np.ndarray:
    """p-value of a difference between two proportions.

    With `margin` 0: two-sided test of p1 = p2 (pooled variance). With a margin δ > 0: one-sided
    test that the gap exceeds it, H0 |p1 - p2| <= δ (unpooled variance: the null is not equality).
    """
    d = p1 - p2
    with np.errstate(invalid="ignore", divide="ignore"):
        if margin == 0.0:
            pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
            se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            p = np.where(se > 0, 2 * _upper_tail(np.abs(d) / se), np.where(d == 0, 1.0, 0.0))
        else:
            se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
            excess = np.abs(d) - margin
            p = np.where(se > 0, _upper_tail(excess / se), np.where(excess > 0, 0.0, 1.0))
    return np.where((n1 > 0) & (n2 > 0) & np.isfinite(d), p, np.nan)


def wald_test(estimate: np.ndarray, se: np.ndarray, *, margin: float = 0.0) -> np.ndarray:
    """p-value from an estimate and its (bootstrap) standard error, same hypotheses as above."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if margin == 0.0:
            z = np.abs(estimate) / se
            p = 2 * _upper_tail(z)
        else:
            p = _upper_tail((np.abs(estimate) - margin) / se)
    return np.where(np.isfinite(estimate) & (se > 0), p, np.nan)


def adjust(p_values: np.ndarray, method: Correction) -> np.ndarray:
    """Adjusted p-values across one family of tests; NaN entries are not part of the family."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if not ok.any() or method == "none":
        return np.where(ok, p, np.nan)
    if method == "bh":
        from scipy import stats  # here: scipy.stats takes a second to import

        out[ok] = stats.false_discovery_control(p[ok], method="bh")
        return out
    if method != "holm":
        raise ValueError(f"unknown correction {method!r}")
    values = p[ok]
    m = values.size
    order = np.argsort(values, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * values[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    out[ok] = adjusted
    return out


def minimum_detectable_difference(
    p_ref: np.ndarray, n_group: np.ndarray, n_ref: np.ndarray, *, alpha: float, power: float
) -> np.ndarray:
    """Smallest gap in a rate that a two-sided test at `alpha` finds with probability `power`.

    Uses the reference group's rate as the common rate under the null (clipped away from 0 and 1,
    where the normal approximation would claim that any gap is detectable).
    """
    z = ndtri(1 - alpha / 2) + ndtri(power)
    floor = 0.5 / np.maximum(n_ref + n_group, 1)
    p = np.clip(p_ref, floor, 1 - floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        mde = z * np.sqrt(p * (1 - p) * (1 / n_group + 1 / n_ref))
    return np.where((n_group > 0) & (n_ref > 0), np.minimum(mde, 1.0), np.nan)
