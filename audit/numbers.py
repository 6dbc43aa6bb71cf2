"""Numbers for people: the one place the terminal, reports and notes format a figure."""

from __future__ import annotations

import math


def fixed(x: float, digits: int = 3, *, signed: bool = False) -> str:
    """`x` to `digits` decimals; a value that rounds to zero prints as 0.000, never -0.000.

    A tiny negative bound (-0.0001, or the -0.0 of a subtraction) would otherwise read as a
    negative figure that is not there. `signed` puts a + before the other positive values.
    """
    if math.isfinite(x) and round(x, digits) == 0:
        return f"{0.0:.{digits}f}"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
