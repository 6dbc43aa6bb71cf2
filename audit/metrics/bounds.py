"""Comparing an estimate with a policy bound, with room for floating-point representation.

5/9 over 4/9 is 0.7999999999999999 in binary floating point: a four-fifths rule must not fail a
ratio that is exactly 4/5. A value is beyond a bound only when it is beyond by more than a
tolerance far below any difference that matters in an audit.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-9


def _slack(bound: np.ndarray | float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(TOLERANCE * np.maximum(1.0, np.abs(bound)))


def below(value: np.ndarray | float, bound: np.ndarray | float) -> np.ndarray:
    """True where `value` is under `bound` by more than the tolerance."""
    return np.asarray(np.asarray(value) < np.asarray(bound) - _slack(bound))


def above(value: np.ndarray | float, bound: np.ndarray | float) -> np.ndarray:
    """True where `value` is over `bound` by more than the tolerance."""
    return np.asarray(np.asarray(value) > np.asarray(bound) + _slack(bound))
