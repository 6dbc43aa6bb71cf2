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


def confidence_level(alpha: float) -> str:
    """The level of a 1 - alpha interval in percent, as a reader writes it: "95" (alpha 0.05),
    "90", "97.5" (alpha 0.025): the shortest decimal that is the level, never a float's noise
    ((1 - 0.34) * 100 is 65.99999999999999)."""
    level = (1 - alpha) * 100
    for digits in range(9):
        if round(level, digits) == round(level, 9):
            return f"{level:.{digits}f}"
    return f"{level:.9f}"  # more digits than any spec's alpha is written with
