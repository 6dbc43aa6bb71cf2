"""The statistical core on inputs small enough to check by hand (issue 14, sample F).

Every part of the input errors `assess` raises for columns no audit can read (no decision,
a score without an outcome, a reference for a column not audited, bins of a boolean attribute,
too many strata of the legitimate factors); the exact AUC an engine hands over, in whatever
numeric form, read as float64 and only for the groups that have people; the reliability of a
conditional comparison, counted over the strata where both groups have the metric's
denominator; and the Kish effective size of a weighted group in its Wilson interval. Every
expected figure comes from a definition, not from the code's output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess
from audit.stats.result import Assessment, ConditionalDisparity
from tests.formulas import wilson
from tests.stats.strict import input_error, no_warnings

Z95 = 1.959963984540054  # the standard normal's 0.975 quantile


def _table(n_per_group: int = 40) -> pd.DataFrame:
    """Two groups: in a, every positive scores 0.9 and every negative 0.1 (AUC 1); in b,
    everyone scores 0.5 (AUC 1/2: every pair a tie). Outcome alternates; the decision is the
    outcome in a, and 1 for the first half of b."""
    rows = []
    for g in ("a", "b"):
        for i in range(n_per_group):
            y = i % 2
            d = y if g == "a" else int(i < n_per_group // 2)
            s = (0.9 if y else 0.1) if g == "a" else 0.5
            rows.append({"g": g, "y": y, "d": d, "s": s, "flag": i % 3 == 0})
    return pd.DataFrame(rows)


# --- input errors: each part of the message --------------------------------------------------


def test_no_decision_and_no_track_column_is_refused_saying_what_to_name() -> None:
    err = input_error(lambda: assess(_table(), y_true="y", y_pred=None, groups=["g"], n_boot=0))
    assert err.subject == "decision column"
    assert err.expected == "a binary decision column, or a column of recommended tracks"
    assert err.found == "neither"
    assert err.fix == "name the decision column (--y-pred) or the track column"
    assert str(err).startswith("decision column: expected a binary decision column")


def test_a_score_without_an_outcome_is_refused_saying_to_name_the_outcome() -> None:
    err = input_error(
        lambda: assess(_table(), y_true=None, y_pred="d", groups=["g"], score="s", n_boot=0)
    )
    assert err.subject == "score column 's'"
    assert err.expected == "an outcome column to assess the score against (AUC, calibration)"
    assert err.found == "a score and no outcome"
    assert err.fix.startswith("name the outcome column (--y-true), or leave the score out")


def test_a_reference_for_a_column_not_audited_is_refused_naming_both() -> None:
    err = input_error(
        lambda: assess(
            _table(),
            y_true="y",
            y_pred="d",
            groups=["g"],
            reference={"region": "north"},
            n_boot=0,
        )
    )
    assert err.subject == "reference groups"
    assert err.expected == "references for the group columns ['g']"
    assert err.found == "references for ['region']"
    assert err.fix == "name the reference as COLUMN=LEVEL for one of the group columns"
    # The other side: a reference for an audited column is taken as named.
    result = assess(_table(), y_true="y", y_pred="d", groups=["g"], reference={"g": "b"}, n_boot=0)
    assert [(r.levels, r.how) for r in result.references] == [(("b",), "named")]


def test_bins_of_a_boolean_attribute_are_refused_naming_its_type() -> None:
    err = input_error(
        lambda: assess(
            _table(), y_true="y", y_pred="d", groups=["flag"], group_bins={"flag": 2}, n_boot=0
        )
    )
    assert err.subject == "bins of the attribute 'flag'"
    assert err.expected == "a numeric column to cut at its quantiles"
    assert err.found == "a column of type bool"
    assert err.fix == (
        "drop its bins: its own values are the groups (merge rare ones before the audit)"
    )


def test_bins_of_a_numeric_attribute_cut_it_at_its_quantiles() -> None:
    """The other side: ages 20..59, one per row, 2 bins. The "higher" median of 40 values is
    the 21st, 40: groups [20, 40) and [40, 59], 20 rows each."""
    frame = _table().assign(age=list(range(20, 60)) * 2)
    result = assess(frame, y_true="y", y_pred="d", groups=["age"], group_bins={"age": 2}, n_boot=0)
    assert [(g.levels, g.n_rows) for g in result.groups] == [
        (("[20, 40)",), 40),
        (("[40, 59]",), 40),
    ]
    assert "attribute 'age' cut at its quantiles into 2 groups [20, 40), [40, 59]" in result.notes


def test_too_many_strata_blame_the_factors_with_the_count_of_combinations() -> None:
    """2 groups × three factors of 200 levels each: 16,000,000 strata cells, over the limit of
    5,000,000 combinations; the groups alone (2) are fine, so the factors are to blame."""
    rows = 201  # level 0 of each factor twice: every factor has a level shared by two people
    frame = pd.DataFrame(
        {
            "g": ["a", "b"] * 100 + ["a"],
            "y": [i % 2 for i in range(rows)],
            "d": [(i // 2) % 2 for i in range(rows)],
            **{f: [f"{f}{i % 200}" for i in range(rows)] for f in ("f1", "f2", "f3")},
        }
    )
    err = input_error(
        lambda: assess(
            frame,
            y_true="y",
            y_pred="d",
            groups=["g"],
            legitimate_factors=["f1", "f2", "f3"],
            n_boot=0,
        )
    )
    assert err.subject == "group columns and legitimate factors"
    assert err.expected == "at most 5,000,000 combinations of group levels"
    assert err.found == "16,000,000 (2 × 200 × 200 × 200 levels)"
    assert err.fix == "list fewer legitimate factors, or coarser ones (merge rare levels)"


# --- the exact AUC an engine hands over --------------------------------------------------------


def _exact_of(table: dict[tuple[str, ...], Any]) -> Callable[..., dict[tuple[str, ...], Any]]:
    """An engine's exact AUC (`ExactAuc`) that hands over `table` as it is."""

    def exact(*_: object) -> dict[tuple[str, ...], Any]:
        return table

    return exact


def _auc(result: Assessment, attributes: tuple[str, ...], levels: tuple[str, ...]) -> float | None:
    return result.metric("auc", attributes, levels).value


def _auc_disparity(result: Assessment, kind: str) -> float | None:
    (d,) = [
        d
        for d in result.disparities
        if d.metric == "auc" and d.kind == kind and d.attributes == ("g",)
    ]
    return d.value


def test_an_exact_auc_in_single_precision_is_compared_in_double_precision() -> None:
    """An engine computing in float32 gives 0.7 and 0.3 as their nearest float32 values; the
    ratio of b to a is of those two values in float64 (in float32 it would round again)."""
    a32, b32 = np.float32(0.7), np.float32(0.3)
    exact = _exact_of({("g",): np.array([a32, b32]), (): np.array(np.float32(0.5))})
    with no_warnings():
        result = assess(_table(), y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0,
                        exact=exact)  # fmt: skip
    assert _auc(result, ("g",), ("a",)) == float(a32)
    assert _auc(result, ("g",), ("b",)) == float(b32)
    assert _auc_disparity(result, "difference") == float(b32) - float(a32)
    ratio = _auc_disparity(result, "ratio")
    assert ratio == float(b32) / float(a32)
    assert ratio != float(b32 / a32)  # the float32 quotient is another number
    assert result.overall_metric("auc").value == 0.5


def test_an_exact_auc_given_as_python_numbers_is_read_as_floats() -> None:
    """Lists of ints, an integer total and None for an undefined group: AUC 1.0 and 0.0 as
    floats, and None undefined (NaN), never a TypeError further on."""
    exact = _exact_of({("g",): [1, 0], (): 1})
    with no_warnings():
        result = assess(_table(), y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0,
                        exact=exact)  # fmt: skip
    values = [_auc(result, ("g",), ("a",)), _auc(result, ("g",), ("b",))]
    assert values == [1.0, 0.0] and all(type(v) is float for v in values)
    diff = _auc_disparity(result, "difference")
    assert diff == -1.0 and type(diff) is float
    overall = result.overall_metric("auc").value
    assert overall == 1.0 and type(overall) is float
    with no_warnings():
        undefined = assess(_table(), y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0,
                           exact=_exact_of({("g",): [0.75, None]}))  # fmt: skip
    assert _auc(undefined, ("g",), ("a",)) == 0.75
    assert _auc(undefined, ("g",), ("b",)) is None
    assert _auc_disparity(undefined, "difference") is None


def test_a_grouping_missing_from_the_exact_auc_keeps_the_histograms() -> None:
    """Only the whole population is given (0.25): each group's AUC is its histogram's, 1 in a
    (every positive above every negative) and 1/2 in b (every pair tied)."""
    with no_warnings():
        result = assess(_table(), y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0,
                        exact=_exact_of({(): 0.25}))  # fmt: skip
    assert _auc(result, ("g",), ("a",)) == 1.0
    assert _auc(result, ("g",), ("b",)) == 0.5
    assert result.overall_metric("auc").value == 0.25
    with no_warnings():
        none = assess(_table(), y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0,
                      exact=_exact_of({}))  # fmt: skip
    # a: 20 positives at 0.9, 20 negatives at 0.1; b: all 40 at 0.5. Pooled, a positive beats
    # every a-negative (20) and every b-negative (20); a b-positive beats the 20 a-negatives
    # and ties the 20 b-negatives: (20 * 40 + 20 * (20 + 10)) / (40 * 40) = 1400 / 1600.
    assert none.overall_metric("auc").value == 1400 / 1600


def test_an_exact_auc_of_an_intersection_skips_its_empty_cell() -> None:
    """g × h where no one is (a, y): the 2 × 2 table's entries go to (a, x), (b, x), (b, y)
    in that order, and the empty cell's value is never read."""
    frame = _table().assign(h=["x"] * 40 + ["x", "y"] * 20)
    table = np.array([[0.6, 0.123], [0.7, 0.8]])
    with no_warnings():
        result = assess(frame, y_true="y", y_pred="d", groups=["g", "h"], score="s",
                        intersections=2, n_boot=0, min_group_size=5, min_denominator=2,
                        exact=_exact_of({("g", "h"): table}))  # fmt: skip
    got = {m.levels: m.value for m in result.metrics if m.metric == "auc" and len(m.levels) == 2}
    assert got == {("a", "x"): 0.6, ("b", "x"): 0.7, ("b", "y"): 0.8}
    sizes = {g.levels: g.n_rows for g in result.groups if len(g.levels) == 2}
    assert sizes == {("a", "x"): 40, ("b", "x"): 20, ("b", "y"): 20}


def test_an_exact_auc_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"exact AUC of \('g',\) has shape \(3,\), not \(2,\)"):
        assess(_table(), y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0,
               exact=_exact_of({("g",): [0.5, 0.5, 0.5]}))  # fmt: skip


# --- conditional comparisons: reliability on the shared strata -----------------------------------


def _cells(g: str, f: str, y: int, count: int) -> list[dict[str, object]]:
    """`count` rows of group g in stratum f with outcome y; the first half get the decision."""
    return [{"g": g, "f": f, "y": y, "d": int(i < count // 2)} for i in range(count)]


def _conditional(records: Sequence[ConditionalDisparity], metric: str) -> ConditionalDisparity:
    (r,) = [r for r in records if r.metric == metric]
    return r


def test_conditional_reliability_counts_only_strata_where_both_have_the_denominator() -> None:
    """Reference a: 20 with and 20 without the outcome in each of strata s1, s2. Group b: in s1
    10 with and 6 without the outcome, in s2 30 without it (no one with it).

    selection_rate: both strata shared, 46 rows >= 30, denominator 46 >= 10: reliable.
    tpr: only s1 has b's denominator (people with the outcome), so only s1's 16 rows count:
    16 < 30, not reliable, though b has 46 rows in strata the reference has.
    fpr: both strata shared, 46 rows, denominator 6 + 30 = 36: reliable.
    """
    rows = [
        *_cells("a", "s1", 1, 20), *_cells("a", "s1", 0, 20),
        *_cells("a", "s2", 1, 20), *_cells("a", "s2", 0, 20),
        *_cells("b", "s1", 1, 10), *_cells("b", "s1", 0, 6),
        *_cells("b", "s2", 0, 30),
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    with no_warnings():
        result = assess(frame, y_true="y", y_pred="d", groups=["g"], legitimate_factors=["f"],
                        reference={"g": "a"}, n_boot=0)  # fmt: skip
    records = result.conditional
    assert {r.levels for r in records} == {("b",)}
    sr, tpr, fpr = (_conditional(records, m) for m in ("selection_rate", "tpr", "fpr"))
    assert (sr.reliable, tpr.reliable, fpr.reliable) == (True, False, True)
    # tpr: only s1 has it for b; b and a both select half of those with the outcome there.
    assert tpr.value == pytest.approx(0.0, abs=1e-15)
    assert tpr.p_adjusted is None and tpr.significant is None
    # With a minimum group size of 16 the 16 rows of s1 suffice.
    with no_warnings():
        lower = assess(frame, y_true="y", y_pred="d", groups=["g"], legitimate_factors=["f"],
                       reference={"g": "a"}, n_boot=0, min_group_size=16)  # fmt: skip
    assert _conditional(lower.conditional, "tpr").reliable is True
    with no_warnings():
        higher = assess(frame, y_true="y", y_pred="d", groups=["g"], legitimate_factors=["f"],
                        reference={"g": "a"}, n_boot=0, min_group_size=17)  # fmt: skip
    assert _conditional(higher.conditional, "tpr").reliable is False
    # ... and its denominator, b's 10 with the outcome in s1, must reach min_denominator.
    with no_warnings():
        fewer = assess(frame, y_true="y", y_pred="d", groups=["g"], legitimate_factors=["f"],
                       reference={"g": "a"}, n_boot=0, min_group_size=16, min_denominator=10)  # fmt: skip
        more = assess(frame, y_true="y", y_pred="d", groups=["g"], legitimate_factors=["f"],
                      reference={"g": "a"}, n_boot=0, min_group_size=16, min_denominator=11)  # fmt: skip
    assert _conditional(fewer.conditional, "tpr").reliable is True
    assert _conditional(more.conditional, "tpr").reliable is False


def test_conditional_reliability_skips_strata_where_the_reference_lacks_the_denominator() -> None:
    """The mirror case: reference a has no one with the outcome in s2 (40 without it), group b
    has 30 with it there. tpr counts s1 only, b's 16 rows there: not reliable; fpr (people
    without the outcome) has b's 6 in s1 only, the s2 rows of b have none: 16 rows, not
    reliable either; selection_rate has both strata, 46 rows: reliable."""
    rows = [
        *_cells("a", "s1", 1, 20), *_cells("a", "s1", 0, 20), *_cells("a", "s2", 0, 40),
        *_cells("b", "s1", 1, 10), *_cells("b", "s1", 0, 6), *_cells("b", "s2", 1, 30),
    ]  # fmt: skip
    with no_warnings():
        result = assess(pd.DataFrame(rows), y_true="y", y_pred="d", groups=["g"],
                        legitimate_factors=["f"], reference={"g": "a"}, n_boot=0)  # fmt: skip
    reliable = [
        _conditional(result.conditional, m).reliable for m in ("selection_rate", "tpr", "fpr")
    ]
    assert reliable == [True, False, False]
    # At a minimum size of 16, tpr turns on its denominator: b's 10 with the outcome in s1
    # (its 30 in s2, where the reference has no one with it, do not count).
    for min_denominator, want in [(10, True), (11, False)]:
        with no_warnings():
            low = assess(pd.DataFrame(rows), y_true="y", y_pred="d", groups=["g"],
                         legitimate_factors=["f"], reference={"g": "a"}, n_boot=0,
                         min_group_size=16, min_denominator=min_denominator)  # fmt: skip
        assert _conditional(low.conditional, "tpr").reliable is want


# --- weighted groups: the Kish effective size --------------------------------------------------


def test_a_weighted_groups_wilson_interval_uses_its_kish_effective_size() -> None:
    """Group a: 20 rows of weight 1 (10 selected) and 20 of weight 3 (5 selected): selection
    rate (10 + 15) / 80 = 0.3125 on an effective size (80)² / (20 + 20 · 9) = 32, not 80.
    Group b: 40 rows of weight 1, 20 selected: 0.5 on 40. The intersection with h has the
    same rule: (a, x) holds a's weight-3 rows only, 5 of 20 selected: 1/4 on (60)²/180 = 20."""
    rows = []
    for i in range(20):
        rows.append({"g": "a", "h": "y", "w": 1.0, "d": int(i < 10), "y": i % 2})
        rows.append({"g": "a", "h": "x", "w": 3.0, "d": int(i < 5), "y": i % 2})
    for i in range(40):
        rows.append({"g": "b", "h": "x" if i % 2 else "y", "w": 1.0, "d": i % 2, "y": i // 20})
    frame = pd.DataFrame(rows)
    with no_warnings():
        result = assess(frame, y_true="y", y_pred="d", groups=["g", "h"], weight="w",
                        intersections=2, n_boot=0, min_group_size=5, min_denominator=2)  # fmt: skip
    for levels, p, n_eff in [
        (("a",), 0.3125, 32.0),
        (("b",), 0.5, 40.0),
    ]:
        m = result.metric("selection_rate", ("g",), levels)
        assert m.value == p
        assert m.ci_method == "wilson"
        assert (m.ci_low, m.ci_high) == pytest.approx(wilson(p, n_eff), rel=1e-12)
    sizes = {g.levels: (g.n_rows, g.weight) for g in result.groups}
    assert sizes[("a",)] == (40, 80.0) and sizes[("b",)] == (40, 40.0)
    assert sizes[("a", "x")] == (20, 60.0) and sizes[("a", "y")] == (20, 20.0)
    m = result.metric("selection_rate", ("g", "h"), ("a", "x"))
    assert m.value == 0.25
    assert (m.ci_low, m.ci_high) == pytest.approx(wilson(0.25, 20.0), rel=1e-12)


def test_a_weighted_groups_auc_weighs_its_pairs() -> None:
    """Group a: 20 negatives of weight 1 at 0.5; 10 positives of weight 3 at 0.2 and 10 of
    weight 1 at 0.9. The weight-1 positives beat every negative, the weight-3 ones none: AUC
    (10 · 1) · 20 / ((10 · 3 + 10 · 1) · 20) = 1/4 weighted, where the rows alone would give
    10 · 20 / (20 · 20) = 1/2. Group b: all at 0.5, AUC 1/2 either way."""
    rows = []
    for i in range(40):
        y = i % 2
        score, weight = (0.5, 1.0) if not y else ((0.2, 3.0) if i % 4 == 1 else (0.9, 1.0))
        rows.append({"g": "a", "y": y, "d": y, "s": score, "w": weight})
        rows.append({"g": "b", "y": y, "d": y, "s": 0.5, "w": 1.0})
    frame = pd.DataFrame(rows)
    with no_warnings():
        result = assess(frame, y_true="y", y_pred="d", groups=["g"], score="s", weight="w",
                        n_boot=0)  # fmt: skip
    assert _auc(result, ("g",), ("a",)) == pytest.approx(0.25, abs=1e-12)
    assert _auc(result, ("g",), ("b",)) == pytest.approx(0.5, abs=1e-12)
