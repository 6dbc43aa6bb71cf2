"""Comparing a value with a bound, allowing for floating-point representation.

Rates are ratios of sums of floats, so a value that is exactly on a bound in real arithmetic
can land one unit in the last place beside it: 4/9 over 5/9 is 0.7999999999999999, not 0.8, and
a plain `<` would fail the four-fifths rule at exactly 4/5. A value is beyond a bound only when
it is beyond by more than `ABS_TOL + REL_TOL * |bound|`, far below any difference an audit can
measure (a rate over 10^8 people moves in steps of 10^-8) and far above rounding error.

Every bound in the project (the four-fifths rule, a policy rule's `min`, `max` and `max_abs`)
is compared through `below` and `above`, so that the same edge gives the same answer everywhere.
"""

from __future__ import annotations

from typing import overload

import numpy as np

REL_TOL = 1e-9
ABS_TOL = 1e-9


def tolerance(bound: float | np.ndarray) -> np.ndarray:
    """How far beyond `bound` a value must be to count as beyond it (0 for an infinite bound)."""
    b = np.asarray(bound, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(b), ABS_TOL + REL_TOL * np.abs(b), 0.0)


@overload
def below(value: float, bound: float) -> bool: ...
@overload
def below(value: np.ndarray, bound: float | np.ndarray) -> np.ndarray: ...
def below(value: float | np.ndarray, bound: float | np.ndarray) -> bool | np.ndarray:
    """True where `value` is under `bound` by more than the tolerance; False for NaN.

    >>> below(4 / 9 / (5 / 9), 0.8), below(0.79, 0.8)
    (False, True)
    """
    with np.errstate(invalid="ignore"):
        out = np.asarray(value, dtype=np.float64) < np.asarray(bound) - tolerance(bound)
    return bool(out) if out.ndim == 0 else out


@overload
def above(value: float, bound: float) -> bool: ...
@overload
def above(value: np.ndarray, bound: float | np.ndarray) -> np.ndarray: ...
def above(value: float | np.ndarray, bound: float | np.ndarray) -> bool | np.ndarray:
    """True where `value` is over `bound` by more than the tolerance; False for NaN.

    >>> above(0.1 + 0.2, 0.3), above(0.31, 0.3)
    (False, True)
    """
    with np.errstate(invalid="ignore"):
        out = np.asarray(value, dtype=np.float64) > np.asarray(bound) + tolerance(bound)
    return bool(out) if out.ndim == 0 else out
