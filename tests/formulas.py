"""Interval formulas written out from their textbook definitions, for the by-hand tests.

Expected values in those tests must not come from the code under test
(`audit.metrics.intervals`), so the formulas are written again here, once, from the
definitions, and shared by every test that checks an interval against them.
"""

from __future__ import annotations

import math
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)  # the two-sided 95% quantile of the standard normal


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion p observed on n people (n may be an effective,
    non-integer size): (p + z²/2n ± z sqrt(p(1 - p)/n + z²/4n²)) / (1 + z²/n)."""
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half
