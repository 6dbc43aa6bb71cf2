"""More of `audit.disclosure` and `audit.linear_disclosure` on tables built by hand.

The published conditional comparisons and within-stratum rates of frames whose small cells are
known by construction, and `protect` on systems of facts small enough to solve on paper. Every
expected set, count and reason is derived from the rules of the modules' docstrings and from
the frames themselves, never from the modules' output.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import suppress
from audit.linear_disclosure import OVERALL, Fact, protect
from audit.stats.assess import assess
from audit.stats.result import Assessment, WithinStratum

MINIMUM = 10
WHY = "suppressed: fewer than 10 people"
SECONDARY_DIFFERENCE = (
    "difference withheld: with the conditional comparison it would give back one that is suppressed"
)


# --- conditional comparisons -------------------------------------------------------------------


def _eight() -> pd.DataFrame:
    """big (600, selected 1 in 5), mid (300, likewise) and a group of 8 everyone of whom is
    selected, 6 of them in level e1 of the legitimate factor f and 2 in e2."""
    g = ["big"] * 600 + ["mid"] * 300 + ["eight"] * 8
    n = len(g)
    data = pd.DataFrame({"g": g})
    data["f"] = np.where(np.arange(n) % 2 == 0, "e1", "e2")
    data.loc[data["g"] == "eight", "f"] = ["e1"] * 6 + ["e2"] * 2
    data["y"] = (np.arange(n) % 3 == 0).astype(int)
    data["d"] = np.where(data["g"] == "eight", 1, (np.arange(n) % 5 == 0).astype(int))
    return data


def test_a_small_groups_conditional_comparison_publishes_no_figure_and_says_why() -> None:
    """The group of 8 (compared in memory with min_group_size 5) has a conditional gap with
    every figure defined, explained share included; published, every one of them is None, the
    interval's method is 'none', the note gives the minimum, and the record says it is
    suppressed. mid (300) against big (600) keeps its comparison exactly."""
    full = assess(
        _eight(), y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=30,
        seed=1, legitimate_factors=["f"], min_group_size=5, min_denominator=1,
    )  # fmt: skip
    published = suppress(full)
    figures = (
        "value", "unconditional", "ci_low", "ci_high", "p_value", "p_adjusted", "significant",
        "coverage", "explained_share", "explained_share_low", "explained_share_high",
    )  # fmt: skip
    checked = 0
    for before, after in zip(full.conditional, published.conditional, strict=True):
        assert after.factors == before.factors == ("f",)  # one factor: the pooled rule applies
        if before.levels == ("mid",):
            assert after == before and not after.suppressed
            continue
        assert before.levels == ("eight",) and not before.suppressed
        if before.metric == "selection_rate":  # 8 of 8 selected against 1 in 5: all defined
            assert all(getattr(before, name) is not None for name in figures), before
            assert before.ci_method != "none" and before.explained_share_note is None
        checked += 1
        assert after.suppressed, after.metric
        assert all(getattr(after, name) is None for name in figures), after
        assert after.ci_method == "none"
        assert after.explained_share_note == WHY
        assert (after.attributes, after.levels, after.reference_levels, after.metric) == (
            before.attributes, before.levels, before.reference_levels, before.metric,
        )  # fmt: skip
    assert checked == 3  # selection rate, TPR and FPR of the group of 8


def test_every_conditional_comparison_against_a_small_reference_is_suppressed() -> None:
    """With the group of 4 as the reference, big's and mid's conditional gaps (defined in
    memory) would give back the reference's rates: all are suppressed."""
    g = ["big"] * 600 + ["mid"] * 400 + ["tiny"] * 4
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": g, "y": rng.integers(0, 2, len(g)), "d": rng.integers(0, 2, len(g))})
    data["f"] = np.where(np.arange(len(g)) % 2 == 0, "e1", "e2")
    full = assess(
        data, y_true="y", y_pred="d", groups=["g"], reference={"g": "tiny"}, n_boot=20, seed=1,
        legitimate_factors=["f"], min_group_size=3, min_denominator=1,
    )  # fmt: skip
    against_tiny = [c for c in full.conditional if c.reference_levels == ("tiny",)]
    assert {c.levels for c in against_tiny} == {("big",), ("mid",)}
    assert all(c.value is not None for c in against_tiny)
    published = [c for c in suppress(full).conditional if c.reference_levels == ("tiny",)]
    assert len(published) == len(against_tiny) == 6  # two groups, three metrics
    assert all(c.suppressed and c.value is None and c.ci_low is None for c in published)
    assert all(c.explained_share_note == WHY for c in published)


# --- within-stratum rates ----------------------------------------------------------------------


def _strata() -> pd.DataFrame:
    """big (the reference, 600): 5 people in level e1 of f, 595 in e2; mid (400): 200 in each
    level, 4 of those in e2 with the outcome; tiny (4): 2 in each level."""
    g = ["big"] * 600 + ["mid"] * 400 + ["tiny"] * 4
    f = ["e1"] * 5 + ["e2"] * 595 + ["e1"] * 200 + ["e2"] * 200 + ["e1", "e2", "e1", "e2"]
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": g, "f": f, "d": rng.integers(0, 2, len(g))})
    data["y"] = rng.integers(0, 2, len(g))
    mid_e2 = data.index[(data["g"] == "mid") & (data["f"] == "e2")]
    data.loc[mid_e2, "y"] = 0
    data.loc[mid_e2[:4], "y"] = 1
    return data


def _cells(a: Assessment, metric: str) -> dict[tuple[str, str], WithinStratum]:
    return {(w.levels[0], w.factor_level): w for w in a.within_strata if w.metric == metric}


def test_within_stratum_rates_lose_what_a_small_cell_or_a_withheld_size_would_give_back() -> None:
    """The rules of the module docstring, cell by cell:

    - tiny's cells (a group of 4) and big's e1 cell (5 people) are suppressed: no rate,
      interval, count or difference, and the reason gives the minimum;
    - big's size is the sum of its cells, one of them withheld: its e2 cell's size goes too;
      the population is big + mid + tiny, tiny withheld: mid's size goes, and then mid's
      smaller cell (e1; a tie with e2 is broken by name);
    - a withheld size takes the cell's row counts, never its rates (mid e1, big e2);
    - every cell compared with big's e1 cell (5) or e2 cell (size withheld) loses the
      reference's size;
    - mid's e1 difference goes with the small reference cell; mid's conditional comparison is
      a sum of its e1 and e2 differences, so e2's difference goes too, with its own reason;
    - mid's e2 TPR rests on 4 people with the outcome: suppressed, counts included, though the
      cell holds 200 people.
    """
    full = assess(
        _strata(), y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=20,
        seed=1, legitimate_factors=["f"], min_group_size=3, min_denominator=3,
    )  # fmt: skip
    published = suppress(full)
    before, after = _cells(full, "selection_rate"), _cells(published, "selection_rate")
    assert set(after) == {(g, e) for g in ("big", "mid", "tiny") for e in ("e1", "e2")}
    assert (before[("big", "e1")].n_rows, before[("mid", "e1")].reference_n_rows) == (5, 5)

    for cell in [("tiny", "e1"), ("tiny", "e2"), ("big", "e1")]:
        b, w = before[cell], after[cell]
        assert b.value is not None and b.n_rows is not None and b.ci_low is not None, cell
        assert w.suppressed and w.undefined_reason == WHY, cell
        assert (w.value, w.ci_low, w.ci_high, w.n_rows, w.denominator_rows) == (None,) * 5
        assert (w.difference, w.difference_ci_low, w.difference_ci_high) == (None,) * 3
        assert w.reference_n_rows is None  # big's e1 cell (5) or e2 cell (withheld size)
    assert before[("tiny", "e1")].difference_ci_low is not None

    mid_e1, mid_e2, big_e2 = after[("mid", "e1")], after[("mid", "e2")], after[("big", "e2")]
    for cell, w in [(("mid", "e1"), mid_e1), (("mid", "e2"), mid_e2), (("big", "e2"), big_e2)]:
        b = before[cell]
        assert not w.suppressed, cell
        assert (w.value, w.ci_low, w.ci_high) == (b.value, b.ci_low, b.ci_high) != (None,) * 3
        assert w.reference_n_rows is None and b.reference_n_rows in (5, 595), cell
    assert (mid_e1.n_rows, mid_e1.denominator_rows) == (None, None)  # mid's smaller cell
    assert (big_e2.n_rows, big_e2.denominator_rows) == (None, None)  # big's other cell
    assert (mid_e2.n_rows, mid_e2.denominator_rows) == (200, 200)  # published as is

    assert mid_e1.undefined_reason == f"reference group: {WHY} in this factor level"
    assert mid_e2.undefined_reason == SECONDARY_DIFFERENCE
    for cell, w in [(("mid", "e1"), mid_e1), (("mid", "e2"), mid_e2)]:
        b = before[cell]
        assert None not in (b.difference, b.difference_ci_low, b.difference_ci_high), cell
        assert (w.difference, w.difference_ci_low, w.difference_ci_high) == (None,) * 3

    tpr = _cells(published, "tpr")[("mid", "e2")]
    tpr_before = _cells(full, "tpr")[("mid", "e2")]
    assert (tpr_before.n_rows, tpr_before.denominator_rows) == (200, 4)
    assert tpr.suppressed and tpr.undefined_reason == WHY and tpr.value is None
    assert (tpr.n_rows, tpr.denominator_rows) == (None, None)


def test_a_reference_cell_of_exactly_the_minimum_keeps_its_size() -> None:
    """A reference cell of 10 people is not under the minimum of 10: the cells compared with
    it publish its size, their differences and their own sizes; nothing is withheld."""
    data = _strata()
    big = data.index[data["g"] == "big"]
    data.loc[big[5:10], "f"] = "e1"  # big: 10 in e1, 590 in e2
    data = data[data["g"] != "tiny"]
    full = assess(
        data, y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=20, seed=1,
        legitimate_factors=["f"],
    )  # fmt: skip
    cells = _cells(suppress(full), "selection_rate")
    assert cells[("mid", "e1")].reference_n_rows == 10
    assert cells[("mid", "e2")].reference_n_rows == 590
    assert cells[("big", "e1")].n_rows == 10 and not cells[("big", "e1")].suppressed
    assert (
        cells[("mid", "e1")].difference == _cells(full, "selection_rate")[("mid", "e1")].difference
    )
    assert cells[("mid", "e1")].difference is not None


# --- protect, by hand --------------------------------------------------------------------------


def _e(*entries: float) -> np.ndarray:
    """A row over five unknowns, e.g. `_e(1, 0, 1)` for x1 + x3."""
    return np.array([*entries, *[0.0] * (5 - len(entries))], dtype=float)


def _size(name: str, row: np.ndarray, cost: float) -> Fact:
    return Fact(("size", name), row, cost)


def test_protect_withholds_the_one_fact_no_other_replaces_even_when_dearer() -> None:
    """Target x3 = C (x1 + x3, cost 5) minus A (x1, cost 1), or minus B (x1 again, cost 1.2);
    D (x5, cost 0.1) carries nothing. Withholding A or B alone leaves the other, so the
    implication is broken by withholding C alone (the only row no other replaces); A, B and
    D, all cheaper, are kept. No warning either (numpy's dtype lookups included)."""
    facts = [
        _size("D", _e(0, 0, 0, 0, 1), 0.1),
        _size("A", _e(1), 1.0),
        _size("B", _e(1), 1.2),
        _size("C", _e(1, 0, 1), 5.0),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert protect(facts, [_e(0, 0, 1)]) == {("size", "C")}


def test_protect_withholds_only_a_fact_that_carries_the_target() -> None:
    """Target x1, published as A (x1, cost 2) and as nothing else: B (x1 + x2, cost 1) is
    cheaper but x1 is A alone (B would need x2, which is not published). Only A goes."""
    facts = [_size("B", _e(1, 1), 1.0), _size("A", _e(1), 2.0)]
    assert protect(facts, [_e(1)]) == {("size", "A")}


def test_protect_takes_the_cheapest_carrier_and_breaks_ties_by_name() -> None:
    """Target x1 + x2 from P (x1) and Q (x2): both carry it and neither is replaceable, so the
    cheaper goes whatever its place in the list; at equal cost, the one whose name sorts
    first."""
    p_dear, q_cheap = _size("p", _e(1), 3.0), _size("q", _e(0, 1), 2.0)
    assert protect([p_dear, q_cheap], [_e(1, 1)]) == {("size", "q")}
    b, a = _size("b", _e(1), 1.0), _size("a", _e(0, 1), 1.0)
    assert protect([b, a], [_e(1, 1)]) == {("size", "a")}


def test_protect_ignores_a_negligible_term_of_the_combination() -> None:
    """Target 1000 x1 + 1e-7 x2, from A (x1, cost 2) and B (x2, cost 1): B's term is
    1e-10 of the largest, below the relative tolerance, so the target is A's and only A goes
    (withholding B first would leave it implied by A within tolerance)."""
    facts = [_size("A", _e(1), 2.0), _size("B", _e(0, 1), 1.0)]
    assert protect(facts, [_e(1000, 1e-7)]) == {("size", "A")}


def test_protect_tolerance_is_relative_to_each_targets_own_norm() -> None:
    """From A (x1) and a fact never withheld (x5, cost inf): x1 + 1.5e-9 x2 is off the span by 1.5e-9, above the tolerance of
    1e-9 for a target of norm 1, so it is not implied, even when another target of norm 1000
    is checked with it; 1000 x1 + 1e-7 x2 is within 1e-9 x 1000 and is implied."""
    a, kept = _size("A", _e(1), 1.0), Fact(("size", OVERALL), _e(0, 0, 0, 0, 1), float("inf"))
    assert protect([a, kept], [_e(1, 1.5e-9)]) == set()
    assert protect([a, kept], [_e(1, 1.5e-9), _e(0, 0, 1000)]) == set()
    assert protect([a, kept], [_e(1000, 1e-7)]) == {("size", "A")}


def test_protect_refuses_a_target_only_the_population_size_gives() -> None:
    """The population's size (cost inf) is never withheld: a target equal to it cannot be
    protected, and protect says so rather than withholding it or looping."""
    everyone = Fact(("size", OVERALL), np.ones(5), float("inf"))
    with pytest.raises(RuntimeError, match=r"^a withheld figure follows from the population's "
                       r"size alone$"):  # fmt: skip
        protect([everyone], [np.ones(5)])


def test_an_empty_reference_cell_is_not_published_as_zero() -> None:
    """mid has 100 people in level e3, where the reference big has nobody: the reference's
    size there (0) is under the minimum and withheld, although no record of big in e3 exists
    to be suppressed; mid's own cell keeps its size and its rate."""
    g = ["big"] * 600 + ["mid"] * 400
    f = ["e1"] * 300 + ["e2"] * 300 + ["e1"] * 150 + ["e2"] * 150 + ["e3"] * 100
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": g, "f": f, "d": rng.integers(0, 2, 1000)})
    data["y"] = rng.integers(0, 2, 1000)
    full = assess(
        data, y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=20, seed=1,
        legitimate_factors=["f"],
    )  # fmt: skip
    before, after = _cells(full, "selection_rate"), _cells(suppress(full), "selection_rate")
    assert ("big", "e3") not in before and before[("mid", "e3")].reference_n_rows == 0
    assert after[("mid", "e3")].reference_n_rows is None
    assert after[("mid", "e3")].n_rows == 100 and after[("mid", "e3")].value is not None
    assert after[("mid", "e1")].reference_n_rows == 300  # a large reference cell is published
