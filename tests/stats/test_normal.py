"""The normal CDF and quantile of `audit.metrics.normal` against scipy.special's, and at the limits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from audit.metrics.normal import ndtr, ndtri


def test_cdf_agrees_with_scipy_over_the_whole_range() -> None:
    x = np.linspace(-37.0, 37.0, 100_001)
    ours, theirs = ndtr(x), scipy.special.ndtr(x)
    assert ours.dtype == np.float64 and ours.shape == x.shape
    # Within 5 standard deviations they agree to the last digits; beyond, both lose digits to
    # the rounding of x / sqrt(2) (erfc's relative slope there is 2x²), so 1e-12 relative.
    centre = np.abs(x) <= 5
    np.testing.assert_allclose(ours[centre], theirs[centre], rtol=1e-14, atol=0)
    normal = theirs > 1e-300  # below: subnormal numbers, where only absolute agreement holds
    np.testing.assert_allclose(ours[normal], theirs[normal], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300)


def test_quantile_agrees_with_scipy_and_inverts_the_cdf() -> None:
    p = np.concatenate(
        [np.logspace(-300, -1, 3001), np.linspace(0.1, 0.9, 801), 1 - np.logspace(-1, -15, 1401)]
    )
    ours, theirs = ndtri(p), scipy.special.ndtri(p)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-14)
    inner = (p > 1e-15) & (p < 1 - 1e-9)
    np.testing.assert_allclose(ndtr(ours[inner]), p[inner], rtol=1e-9)


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0.0, -np.inf), (1.0, np.inf), (-0.1, np.nan), (1.1, np.nan), (np.nan, np.nan)],
)
def test_quantile_limits_are_scipys(p: float, expected: float) -> None:
    assert np.array_equal(ndtri(p), scipy.special.ndtri(p), equal_nan=True)
    assert np.array_equal(ndtri(p), np.float64(expected), equal_nan=True)


def test_cdf_limits_and_scalars() -> None:
    values = np.array([-np.inf, np.inf, np.nan, 0.0])
    assert np.array_equal(ndtr(values), [0.0, 1.0, np.nan, 0.5], equal_nan=True)
    assert (
        ndtr(1.959963984540054).shape == () and abs(float(ndtr(1.959963984540054)) - 0.975) < 1e-15
    )
