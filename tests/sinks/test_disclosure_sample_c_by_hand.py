"""Disclosure control by hand (issue 14, sample C): worst groups, reliability tables and the
finest cells of the linear model, on records and frames whose small cells are known.

The expected records follow from `audit.disclosure`'s docstring, not from its output:

- a worst group is published without its difference, and marked suppressed, when the metric is
  suppressed for the group or for its reference (for a named disparity, when one of its
  components is); otherwise it is published as it is;
- a small group's reliability table is one empty bin over its whole score range; another
  group's bins are merged left to right (by score) until each holds the minimum of people, a
  short last run joining the one before, means weighted by the bins' weights; a group whose
  size is withheld keeps its bins' means but not their counts;
- `Cells.functional(key, categories)` counts the people of group `key` in those confusion
  categories: ones on the finest cells whose levels are the group's, compared exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from audit.disclosure import suppress
from audit.linear_disclosure import OVERALL, Cells
from audit.metrics.definitions import ALL, TP
from audit.stats.assess import assess
from audit.stats.result import Assessment, ReliabilityBin, WorstGroup


def _audit(frame: pd.DataFrame, reference: str) -> Assessment:
    return assess(
        frame, y_true="y", y_pred="d", groups=["g"], reference={"g": reference}, n_boot=0,
        min_group_size=3, min_denominator=1,
    )  # fmt: skip


# --- worst groups --------------------------------------------------------------------------


def _worst(level: str, metric: str, difference: float) -> WorstGroup:
    return WorstGroup(
        attributes=("g",), levels=(level,), metric=metric, difference=difference, reliable=True
    )


def test_a_worst_group_loses_its_difference_when_its_or_its_references_metric_is_suppressed() -> (
    None
):
    """r (the reference, 600 people) has 3 with the outcome: its TPR rests on 3 < 10 people
    and is suppressed, and with it its balanced accuracy ((TPR + TNR) / 2 gives the TPR back);
    t has 4 people: every metric of it is suppressed. So, published: t's worst selection-rate
    gap, a's TPR gap, a's average odds difference (its components are the FPR and the TPR) and
    a's balanced-accuracy gap lose their difference and say so; a's selection-rate, FPR and
    average predictive value gaps (PPV and FOR over hundreds of people) are kept exactly."""
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(3, int), np.zeros(597, int), rng.integers(0, 2, 304)]
    frame = pd.DataFrame({
        "g": ["r"] * 600 + ["a"] * 300 + ["t"] * 4, "y": y, "d": rng.integers(0, 2, 904),
    })  # fmt: skip
    records = (
        _worst("t", "selection_rate", -0.3),
        _worst("a", "tpr", 0.2),
        _worst("a", "average_odds_difference", 0.1),
        _worst("a", "balanced_accuracy", 0.02),
        _worst("a", "selection_rate", 0.1),
        _worst("a", "fpr", 0.05),
        _worst("a", "average_predictive_value_difference", 0.04),
    )
    full = replace(_audit(frame, "r"), worst_groups=records)
    published = suppress(full)
    tpr = {m.levels[0]: m for m in published.metrics if m.metric == "tpr"}
    assert tpr["r"].suppressed and not tpr["a"].suppressed  # what the expectation rests on
    hidden = [replace(w, difference=None, suppressed=True) for w in records[:4]]
    assert published.worst_groups == (*hidden, *records[4:])


# --- reliability tables ----------------------------------------------------------------------


def _bin(level: str, low: float, high: float, n: int, score: float, rate: float) -> ReliabilityBin:
    return ReliabilityBin(
        attributes=("g",), levels=(level,), bin_low=low, bin_high=high, weight=float(n),
        mean_score=score, observed_rate=rate, n_rows=n,
    )  # fmt: skip


def test_reliability_bins_are_suppressed_merged_or_stripped_of_counts_by_their_groups_size() -> (
    None
):
    """Groups a (100), b (600), c (400), t (4); t is suppressed and a, the smallest other
    group, has its size withheld (else t's follows from the population's). Bins given out of
    score order:

    - t: scores 0.0 to 0.7 in three bins: one empty suppressed bin from 0.0 (the lowest bin's
      low end, not the first given) to 0.7;
    - b: rows 4, 4, 4, 20, 3 from score 0 up: the first three merge (12 rows, mean score
      (0.4 + 1.2 + 2.0) / 12 = 0.3, observed (1 + 2 + 3) / 12 = 0.5), the 20 stand alone and
      the last 3 join them (23 rows, mean (14 + 2.7) / 23, observed (12 + 3) / 23);
    - a: two bins of 50, each large enough: kept, without weight or row count;
    - c: one bin of 400: kept as it is."""
    rng = np.random.default_rng(1)
    sizes = {"a": 100, "b": 600, "c": 400, "t": 4}
    g = [name for name, n in sizes.items() for _ in range(n)]
    frame = pd.DataFrame({"g": g, "y": rng.integers(0, 2, len(g)), "d": rng.integers(0, 2, len(g))})
    t = [_bin("t", 0.6, 0.7, 1, 0.65, 1.0), _bin("t", 0.0, 0.1, 1, 0.05, 0.0),
         _bin("t", 0.3, 0.4, 2, 0.35, 0.5)]  # fmt: skip
    a = [_bin("a", 0.5, 1.0, 50, 0.7, 0.6), _bin("a", 0.0, 0.5, 50, 0.2, 0.3)]
    b = [_bin("b", 0.8, 1.0, 3, 0.9, 1.0), _bin("b", 0.0, 0.2, 4, 0.1, 0.25),
         _bin("b", 0.6, 0.8, 20, 0.7, 0.6), _bin("b", 0.4, 0.6, 4, 0.5, 0.75),
         _bin("b", 0.2, 0.4, 4, 0.3, 0.5)]  # fmt: skip
    c = [_bin("c", 0.0, 1.0, 400, 0.5, 0.5)]
    full = replace(_audit(frame, "b"), reliability=(*t, *a, *b, *c))
    published = suppress(full)
    assert {x.levels[0]: x.n_rows for x in published.groups} == {
        "a": None, "b": 600, "c": 400, "t": None,
    }  # fmt: skip
    lowest = t[1]
    expected = [
        replace(lowest, bin_high=0.7, weight=None, mean_score=None, observed_rate=None,
                n_rows=None, suppressed=True),
        replace(a[1], weight=None, n_rows=None),
        replace(a[0], weight=None, n_rows=None),
        replace(b[1], bin_high=0.6, weight=12.0, mean_score=0.3, observed_rate=0.5, n_rows=12),
        replace(b[2], bin_high=1.0, weight=23.0, mean_score=16.7 / 23, observed_rate=15 / 23,
                n_rows=23),
        c[0],
    ]  # fmt: skip
    got = list(published.reliability)
    assert len(got) == len(expected)
    for actual, want in zip(got, expected, strict=True):
        assert replace(actual, mean_score=None, observed_rate=None) == replace(
            want, mean_score=None, observed_rate=None
        )
        for field in ("mean_score", "observed_rate"):
            x, w = getattr(actual, field), getattr(want, field)
            assert (x is None and w is None) or abs(x - w) < 1e-12, (actual, field)


# --- the linear model's finest cells ---------------------------------------------------------


def test_a_groups_functional_marks_exactly_its_cells_and_categories() -> None:
    """Attributes g (a, b) and h (x, y, z): six finest cells in product order, four confusion
    categories each (24 unknowns). h=y's people with TP are cells (a, y) = 1 and (b, y) = 4 in
    category TP; the group (h=x, g=b), given in the other attribute order, is cell 3; the
    population is every unknown. An attribute the model does not cross is ignored."""
    model = Cells(("g", "h"), {"g": ["a", "b"], "h": ["x", "y", "z"], "other": ["q"]})
    assert model.index == {
        ("a", "x"): 0, ("a", "y"): 1, ("a", "z"): 2, ("b", "x"): 3, ("b", "y"): 4, ("b", "z"): 5,
    }  # fmt: skip
    assert model.size == 24
    tp = ALL.index(TP)

    def ones(v: np.ndarray) -> list[int]:
        return np.flatnonzero(v).tolist()

    assert ones(model.functional((("h",), ("y",)), (TP,))) == [1 * 4 + tp, 4 * 4 + tp]
    assert ones(model.functional((("h", "g"), ("x", "b")), ALL)) == [12, 13, 14, 15]
    assert ones(model.functional(OVERALL, ALL)) == list(range(24))
    assert set(model.functional((("g",), ("b",)), ALL).tolist()) == {0.0, 1.0}


def test_a_label_is_not_merged_with_one_that_adds_a_trailing_nul() -> None:
    """Labels are compared exactly, as the assessment keeps them: "a" and "a\\x00" are two
    groups (numpy's fixed-width strings would drop the NUL and merge them), so group a's
    functional marks its own cell's four categories only."""
    model = Cells(("g",), {"g": ["a", "a\x00"]})
    assert np.flatnonzero(model.functional((("g",), ("a",)), ALL)).tolist() == [0, 1, 2, 3]


def test_a_label_with_a_trailing_nul_marks_its_own_cell() -> None:
    """The other side of the test above: group "a\\x00"'s functional is its own cell (4-7),
    not group a's (0-3)."""
    model = Cells(("g",), {"g": ["a", "a\x00"]})
    assert np.flatnonzero(model.functional((("g",), ("a\x00",)), ALL)).tolist() == [4, 5, 6, 7]
