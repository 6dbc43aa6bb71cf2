"""Printed figures: three decimals, and never a '-0.000' for a value that rounds to zero."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audit.numbers import fixed
from audit.stats.cli import _fmt


@pytest.mark.parametrize(
    ("x", "signed", "text"),
    [
        (-0.0, False, "0.000"),
        (-0.0004, False, "0.000"),
        (-0.0004, True, "0.000"),
        (0.0004, True, "0.000"),
        (-0.0006, False, "-0.001"),
        (0.1234, False, "0.123"),
        (-0.1236, False, "-0.124"),
        (0.05, True, "+0.050"),
        (-0.05, True, "-0.050"),
        (math.nan, False, "nan"),
        (math.inf, True, "+inf"),
    ],
)
def test_fixed(x: float, signed: bool, text: str) -> None:
    assert fixed(x, signed=signed) == text


def test_no_value_near_zero_prints_as_minus_zero_and_every_one_keeps_its_rounded_value() -> None:
    for x in np.linspace(-0.003, 0.003, 6001):
        for signed in (False, True):
            text = fixed(float(x), signed=signed)
            assert not text.lstrip("+-").startswith("0.000") or text == "0.000"
            assert float(text) == pytest.approx(round(float(x), 3), abs=1e-12)
    assert fixed(-0.00004, digits=4) == "0.0000"
    assert fixed(-0.00006, digits=4) == "-0.0001"


def test_an_interval_touching_zero_from_below_prints_without_a_minus_zero() -> None:
    # The `audit assess` table: a rate of 0 whose bootstrap interval starts a hair below it.
    assert _fmt(0.0, -1e-9, 0.0123) == "0.000 [0.000, 0.012]"
