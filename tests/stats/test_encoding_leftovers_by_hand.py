"""Group labels of awkward columns by hand, and a rate over everyone withheld by disclosure control.

`encode_attribute` sorts a column's values into levels; values that cannot be sorted together
(ints and text) or that print the same (1 and "1", a float64 0.1 and a float32 0.1) are compared
as text instead, so each printed label is one level. Numbers that sort fine keep their numeric
order (2 < 9 < 10, not the text order "10" < "2" < "9").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import SECONDARY_REASON, suppress
from audit.stats.assess import assess
from audit.stats.encoding import encode_attribute


@pytest.mark.parametrize(
    ("values", "levels", "codes"),
    [
        # ints and text cannot be sorted together: 1 and "1" are one level, "1"
        ([1, "1", 2, "1"], ("1", "2"), [0, 0, 1, 0]),
        # mixed types with a missing value: text order, then "unknown" last
        (["b", 1, "a", None, 1], ("1", "a", "b", "unknown"), [2, 0, 1, 3, 0]),
        # a boolean and its spelling as text are one level
        ([True, "True", "x"], ("True", "x"), [0, 0, 1]),
        # an existing "unknown" level and a missing value are the same level
        ([1, "unknown", None, 2], ("1", "2", "unknown"), [0, 2, 2, 1]),
    ],
)
def test_values_of_mixed_types_are_compared_as_text(values, levels, codes):
    """A column whose values cannot be sorted together gets the sorted text of its values as
    levels, equal texts merged, missing values in the level "unknown"."""
    encoded = encode_attribute(pd.Series(values, dtype=object, name="g"))
    assert encoded.name == "g"
    assert encoded.levels == levels
    assert encoded.codes.tolist() == codes


def test_two_values_that_print_the_same_are_one_level():
    """0.1 as float64 and as float32 sort apart (they differ in the 9th digit) but both print
    "0.1": a report could not tell the two groups apart, so they are one group."""
    values = pd.Series([0.1, np.float32(0.1), 0.5, 0.1], dtype=object, name="g")
    encoded = encode_attribute(values)
    assert encoded.levels == ("0.1", "0.5")
    assert encoded.codes.tolist() == [0, 0, 1, 0]


def test_numbers_keep_their_numeric_order():
    """Numbers that sort together are ordered as numbers, not as their text."""
    encoded = encode_attribute(pd.Series([10, 9, 2, 9], name="band"))
    assert encoded.levels == ("2", "9", "10")
    assert encoded.codes.tolist() == [2, 1, 0, 1]
    floats = encode_attribute(pd.Series([2.5, None, 10.0], name="band"))
    assert floats.levels == ("2.5", "10.0", "unknown")
    assert floats.codes.tolist() == [0, 2, 1]


def test_an_overall_rate_that_gives_back_a_small_count_is_withheld():
    """40 people in two groups of 20, 4 of them selected (2 per group), minimum cell 10. The
    precision's denominator (the 4 selected) is below the minimum, so it is suppressed; the
    overall selection rate times the published population (40) would give the 4 back, so the
    overall selection rate is withheld too, with the secondary-suppression reason, while the
    base rate (20 of 40 positives) stays. (A mutant that filed the withheld overall rate as a
    denominator crashed here.)"""
    decision = np.zeros(40, dtype=int)
    decision[[0, 1, 20, 21]] = 1
    frame = pd.DataFrame(
        {"g": ["a"] * 20 + ["b"] * 20, "y": np.tile(np.arange(20) % 2, 2), "d": decision}
    )
    full = assess(frame, y_true="y", y_pred="d", groups=["g"], reference={}, n_boot=20, seed=1)
    assert full.settings.min_cell_size == 10
    published = {m.metric: m for m in suppress(full).overall}
    selection = published["selection_rate"]
    assert (selection.value, selection.denominator_rows, selection.suppressed) == (None, None, True)
    assert selection.undefined_reason == SECONDARY_REASON
    assert published["ppv"].value is None and published["ppv"].suppressed
    assert published["base_rate"].value == 0.5 and published["base_rate"].denominator_rows == 40
    assert not published["base_rate"].suppressed
