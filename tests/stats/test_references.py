"""An intersection's reference is the combination of each attribute's own reference.

The levels expected here are written out by hand, not taken from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.gate import evaluate_policy
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.steps.outputs import summary_markdown


def people(seed: int = 0, n: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # 'low' digital literacy and 'male' are the largest levels, so the largest *cell* is
    # low × male: the wrong reference for digital_literacy referenced to 'high'.
    return pd.DataFrame(
        {
            "digital_literacy": rng.choice(["high", "low"], n, p=[0.3, 0.7]),
            "gender": rng.choice(["male", "female"], n, p=[0.6, 0.4]),
            "housing": rng.choice(["stable", "homeless"], n, p=[0.9, 0.1]),
            "y": rng.integers(0, 2, n),
            "d": rng.integers(0, 2, n),
        }
    )


def test_the_intersection_is_compared_with_the_combination_of_the_references() -> None:
    result = assess(
        people(),
        y_true="y",
        y_pred="d",
        groups=["digital_literacy", "gender"],
        intersections=2,
        reference={"digital_literacy": "high"},  # gender: the largest group, 'male'
        n_boot=0,
    )
    pair = ("digital_literacy", "gender")
    refs = {d.reference_levels for d in result.disparities if d.attributes == pair}
    assert refs == {("high", "male")}
    choice = next(r for r in result.references if r.attributes == pair)
    assert (choice.levels, choice.intended, choice.how, choice.reason) == (
        ("high", "male"),
        ("high", "male"),
        "composed",
        None,
    )
    assert {
        (r.attributes, r.levels, r.how) for r in result.references if len(r.attributes) == 1
    } == {
        (("digital_literacy",), ("high",), "named"),
        (("gender",), ("male",), "largest"),
    }
    reference_groups = {g.levels for g in result.groups if g.attributes == pair and g.is_reference}
    assert reference_groups == {("high", "male")}


def test_an_empty_combined_reference_falls_back_and_says_so() -> None:
    frame = people(1)
    # Nobody is both 'high' and 'homeless': the composed reference high × stable exists, but a
    # reference of 'homeless' for housing with high digital literacy does not.
    frame.loc[frame["housing"] == "homeless", "digital_literacy"] = "low"
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["digital_literacy", "housing"],
        intersections=2,
        reference={"digital_literacy": "high", "housing": "homeless"},
        n_boot=0,
    )
    choice = next(r for r in result.references if len(r.attributes) == 2)
    assert choice.intended == ("high", "homeless")
    assert choice.how == "fallback" and choice.reason == "no one is in that group"
    # The fallback keeps one attribute at its reference, and of the two such cells the larger:
    # high × stable (~1,600 people) rather than low × homeless (~600).
    assert choice.levels == ("high", "stable")
    assert any(
        "reference high × stable instead of high × homeless" in note for note in result.notes
    )
    refs = {d.reference_levels for d in result.disparities if len(d.attributes) == 2}
    assert refs == {("high", "stable")}
    verdict = evaluate_policy(PolicySpec(), result)
    text = summary_markdown(verdict, "fallback", notes=result.notes)
    assert "reference high × stable instead of high × homeless (no one is in that group)" in text


def test_a_combined_reference_below_the_minimum_size_falls_back() -> None:
    frame = people(2)
    homeless_high = (frame["housing"] == "homeless") & (frame["digital_literacy"] == "high")
    keep = ~homeless_high | (homeless_high.cumsum() <= 5)  # five people left in that cell
    result = assess(
        frame[keep],
        y_true="y",
        y_pred="d",
        groups=["digital_literacy", "housing"],
        intersections=2,
        reference={"digital_literacy": "high", "housing": "homeless"},
        n_boot=0,
        min_group_size=30,
    )
    choice = next(r for r in result.references if len(r.attributes) == 2)
    assert choice.how == "fallback"
    assert choice.reason == "that group has 5 people, below the minimum size 30"
    assert choice.levels != ("high", "homeless") and choice.n_rows >= 30
