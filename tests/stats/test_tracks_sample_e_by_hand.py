"""Edge labels, the rows a metric rests on, and an empty track family, by hand (issue 14,
sample D of the mutation survivors, s13d; the file is named for the fifth helper round).

- `_edge_labels` (directly and through `quantile_bins`): exact decimals when a few write the
  edges, however small (down to the largest number of decimals tried, 10), else about four
  significant digits of the largest edge (by magnitude, negatives included, never fewer than
  0 decimals), more when two edges would look alike, and `repr` when even 10 decimals cannot
  tell them apart;
- `denominator_rows`: a rate's denominator cells, each group's smaller outcome class for AUC
  and balanced accuracy (its own, not the other groups'), the whole group otherwise;
- `track_records`: with no grouping to examine there are no records (and no family to correct);
- `tracks._corrected`: each record's corrected p-value (Holm, BH, none) and its significance,
  strictly below alpha, None for a record outside the family;
- `within_strata._metric_records`: every field of every record of one metric on a small table
  (Wilson and Newcombe intervals, the reference listed but not compared, an undefined rate and
  an undefined reference saying why, an empty cell left out), weighted and unweighted.

Every expected text and figure comes from the docstrings' definitions, worked by hand.
"""

from __future__ import annotations

import dataclasses
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess
from audit.stats.factors import _edge_labels, quantile_bins
from audit.stats.records import denominator_rows
from audit.stats.result import WithinStratum
from audit.stats.tracks import TrackCounts, _corrected, track_records
from audit.stats.within_strata import _metric_records
from tests.formulas import wilson

Z95 = NormalDist().inv_cdf(0.975)

# --- _edge_labels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        # ages: whole numbers are exact with 0 decimals
        ([18.0, 40.0, 65.0], ["18", "40", "65"]),
        # exact with one decimal; 0 is exact too (no relative slack there); -0.0 prints as 0
        ([-2.5, 0.0, 3.0], ["-2.5", "0", "3"]),
        ([-0.0, 1.0], ["0", "1"]),
        ([0.0], ["0"]),
        # amounts in cents
        ([12.34, 99.99], ["12.34", "99.99"]),
        # but with an edge of 1000, 4 significant digits are 0 decimals: cents are rounded off
        ([12.34, 99.99, 1000.0], ["12", "100", "1000"]),
        # not exact: 4 significant digits of the largest edge (0.9: 4 decimals)
        ([0.123456, 0.9], ["0.1235", "0.9"]),
        # not exact, largest 5000: 0 decimals, the largest found by magnitude (a negative edge)
        ([-5000.4, 1.0], ["-5000", "1"]),
        # magnitude 5: 3 - 5 < 0, so 0 decimals (never fewer)
        ([123456.7, 200000.0], ["123457", "200000"]),
        # two edges alike at 4 significant digits: decimals are added until they differ
        ([1.00001, 1.00002], ["1.00001", "1.00002"]),
        # tiny edges written exactly by 8 decimals, though 4 significant digits would need 11
        ([1e-8, 2e-8], ["0.00000001", "0.00000002"]),
        # 0 is exact (no slack is needed there) next to a tiny edge
        ([0.0, 1e-8], ["0", "0.00000001"]),
        # floating-point noise (a relative 1e-10) still counts as exact; a relative 1e-8 does not,
        # and 10 decimals are not 4 significant digits of 2e-8: repr
        ([1.0000000001e-8, 2e-8], ["0.00000001", "0.00000002"]),
        ([1.00000001e-8, 2e-8], ["1.00000001e-08", "2e-08"]),
        # exactly at the largest number of decimals tried (10)
        ([1e-10, 2e-10], ["0.0000000001", "0.0000000002"]),
        # beyond it: Python's repr
        ([1e-12, 2e-12], ["1e-12", "2e-12"]),
    ],
)
def test_edges_are_written_exactly_or_to_four_significant_digits(
    edges: list[float], expected: list[str]
) -> None:
    """The rule of `_edge_labels`' docstring, on one case per branch and boundary."""
    assert _edge_labels(np.array(edges)) == expected


def test_tiny_numeric_factor_values_are_binned_with_exact_labels() -> None:
    """A factor in units of 1e-8 (e.g. a probability of a rare event): the bins say its values
    in decimals, not in Python's exponent notation."""
    values = pd.Series([1e-8, 1e-8, 2e-8, 3e-8], name="risk")
    binned = quantile_bins(values, 2)
    # "higher" quantiles at 0, 1/2, 1 of 4 sorted values: indices 0, ceil(1.5) = 2, 3
    assert list(binned.cat.categories) == ["[0.00000001, 0.00000002)", "[0.00000002, 0.00000003]"]
    assert binned.tolist() == [
        "[0.00000001, 0.00000002)",
        "[0.00000001, 0.00000002)",
        "[0.00000002, 0.00000003]",
        "[0.00000002, 0.00000003]",
    ]


# --- denominator_rows ------------------------------------------------------------------------

# (groups, y_true, y_pred): group a has 2 without the outcome (TN 1, FP 1) and 5 with it
# (FN 3, TP 2); group b has 10 without (TN 5, FP 5) and 1 with (TP 1).
_N = np.array(
    [
        [[1, 1], [3, 2]],
        [[5, 5], [0, 1]],
    ]
)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("selection_rate", [7, 11]),  # everyone
        ("tpr", [5, 1]),  # those with the outcome
        ("fpr", [2, 10]),  # those without
        ("ppv", [3, 6]),  # those given the decision: FP + TP
        ("npv", [4, 5]),  # those refused: TN + FN
        ("accuracy", [7, 11]),
        # the smaller class of each group: a min(5, 2), b min(1, 10); not the smaller of a
        # group's positives and all groups' negatives (12), which would give a 5
        ("auc", [2, 1]),
        ("balanced_accuracy", [2, 1]),
        ("calibration_error", [7, 11]),  # the whole group
    ],
)
def test_the_rows_a_metric_rests_on_are_its_own_groups_denominator(
    metric: str, expected: list[int]
) -> None:
    """Per group: a rate's denominator cells, the smaller outcome class for AUC and balanced
    accuracy (both classes are needed), else the whole group."""
    assert denominator_rows(_N, metric).tolist() == expected


def test_auc_rests_on_the_smaller_class_of_each_group_in_an_assessment() -> None:
    """Through `assess`: the AUC and balanced-accuracy records of a group with 5 positives and
    2 negatives say 2 rows, while another group has 10 negatives."""
    rows = [
        # group a: y=0 twice, y=1 five times
        *[("a", 0, 0, 0.2), ("a", 0, 1, 0.6)],
        *[("a", 1, 0, 0.3)] * 3,
        *[("a", 1, 1, 0.8)] * 2,
        # group b: y=0 ten times, y=1 once
        *[("b", 0, 0, 0.1)] * 5,
        *[("b", 0, 1, 0.7)] * 5,
        ("b", 1, 1, 0.9),
    ]
    frame = pd.DataFrame(rows, columns=["g", "y", "d", "s"])
    result = assess(frame, y_true="y", y_pred="d", score="s", groups=["g"], n_boot=0)
    got = {
        (m.metric, m.levels): m.denominator_rows
        for m in result.metrics
        if m.metric in ("auc", "balanced_accuracy")
    }
    assert got == {
        ("auc", ("a",)): 2,
        ("auc", ("b",)): 1,
        ("balanced_accuracy", ("a",)): 2,
        ("balanced_accuracy", ("b",)): 1,
    }


# --- track_records ---------------------------------------------------------------------------


def test_no_grouping_to_examine_gives_no_track_records() -> None:
    """A track table with no group attribute has no grouping: no records, no family, and no
    error from correcting an empty family."""
    frame = pd.DataFrame({"g": ["a", "b", "a", "b"], "d": [0, 1, 1, 0]})
    settings = assess(frame, y_true=None, y_pred="d", groups=["g"], n_boot=0).settings
    counts = TrackCounts((), (), ("x", "y"), np.array([3, 1]), np.array([3.0, 1.0]))
    assert track_records(counts, settings, {}) == ()


# --- within_strata._metric_records -----------------------------------------------------------

# (groups a b c, factor levels low high, y_true, y_pred): [[TN, FP], [FN, TP]]
_STRATA = np.array(
    [
        [[[1, 1], [1, 3]], [[2, 1], [0, 0]]],  # a (reference): TPR 3/4 in low, none with y in high
        [[[2, 0], [1, 1]], [[0, 0], [1, 1]]],  # b: TPR 1/2 in low and in high
        [[[0, 0], [0, 2]], [[0, 0], [0, 0]]],  # c: TPR 2/2 in low, no one in high
    ]
)
# reliable as within_strata makes it with min_group_size 3: rows >= 3 here and for the reference
_RELIABLE = np.array([[True, True], [True, False], [False, False]])


def _newcombe_by_hand(p1: float, n1: float, p2: float, n2: float) -> tuple[float, float]:
    """Newcombe's method 10 for p1 - p2, from the two Wilson intervals."""
    (l1, u1), (l2, u2) = wilson(p1, n1), wilson(p2, n2)
    return p1 - p2 - np.hypot(p1 - l1, u2 - p2), p1 - p2 + np.hypot(u1 - p1, p2 - l2)


def _expected_tpr_records() -> list[dict[str, object]]:
    low_a, low_b = wilson(0.75, 4), wilson(0.5, 2)
    d_b = _newcombe_by_hand(0.5, 2, 0.75, 4)
    d_c = _newcombe_by_hand(1.0, 2, 0.75, 4)
    high_b = wilson(0.5, 2)
    common = dict(
        attributes=("g",),
        reference_levels=("a",),
        factor="edu",
        metric="tpr",
        track=None,
        suppressed=False,
    )
    none_diff = dict(difference=None, difference_ci_low=None, difference_ci_high=None)
    return [  # factor level by factor level, groups in order; c has no one in high: no record
        {**common, "levels": ("a",), "factor_level": "low", "value": 0.75,
         "undefined_reason": None, "ci_low": low_a[0], "ci_high": low_a[1], "n_rows": 6,
         "denominator_rows": 4, "reference_n_rows": 6, "is_reference": True, **none_diff,
         "reliable": True},
        {**common, "levels": ("b",), "factor_level": "low", "value": 0.5,
         "undefined_reason": None, "ci_low": low_b[0], "ci_high": low_b[1], "n_rows": 4,
         "denominator_rows": 2, "reference_n_rows": 6, "is_reference": False,
         "difference": -0.25, "difference_ci_low": d_b[0], "difference_ci_high": d_b[1],
         "reliable": True},
        {**common, "levels": ("c",), "factor_level": "low", "value": 1.0,
         "undefined_reason": None, "ci_low": wilson(1.0, 2)[0], "ci_high": 1.0,
         "n_rows": 2, "denominator_rows": 2, "reference_n_rows": 6, "is_reference": False,
         "difference": 0.25, "difference_ci_low": d_c[0], "difference_ci_high": d_c[1],
         "reliable": False},
        {**common, "levels": ("a",), "factor_level": "high", "value": None,
         "undefined_reason": "no one in the group has the outcome in this factor level",
         "ci_low": None, "ci_high": None, "n_rows": 3, "denominator_rows": 0,
         "reference_n_rows": 3, "is_reference": True, **none_diff, "reliable": True},
        {**common, "levels": ("b",), "factor_level": "high", "value": 0.5,
         "undefined_reason": "reference group: no one in the group has the outcome in this "
         "factor level", "ci_low": high_b[0], "ci_high": high_b[1], "n_rows": 2,
         "denominator_rows": 2, "reference_n_rows": 3, "is_reference": False, **none_diff,
         "reliable": False},
    ]  # fmt: skip


def _same(got: list[WithinStratum], expected: list[dict[str, object]]) -> None:
    """Every field of every record: numbers to 1e-12, the rest exactly."""
    assert len(got) == len(expected)
    for record, want in zip(got, expected, strict=True):
        have = dataclasses.asdict(record)
        assert set(have) == set(want)
        for key, value in want.items():
            if isinstance(value, float):
                assert have[key] == pytest.approx(value, abs=1e-12), key
            else:
                assert have[key] == value, key


def _tpr_records(weights: float | None) -> list[WithinStratum]:
    n = _STRATA
    w = n.astype(float) if weights is None else weights * n
    w2 = None if weights is None else weights**2 * n
    return _metric_records(
        ("g", ("a", "b", "c"), 0), ("edu", ("low", "high")), "tpr", (n, w, w2), _RELIABLE, 0.95
    )


def test_within_stratum_records_of_one_metric_by_hand() -> None:
    """TPR of three groups in two levels of a factor: every field of every record (Wilson
    intervals, Newcombe gaps to the reference a, the reference listed but not compared, an
    undefined rate and an undefined reference saying why, a group absent from a level left
    out), level by level."""
    _same(_tpr_records(None), _expected_tpr_records())


def test_equal_weights_change_no_within_stratum_record() -> None:
    """Every row weighing 2: rates are unchanged and the Kish effective size (Σw)²/Σw² is the
    row count, so the intervals are those of the unweighted table; counts stay row counts."""
    _same(_tpr_records(2.0), _expected_tpr_records())


# --- tracks._corrected -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("correction", "alpha", "adjusted", "significant"),
    [
        # Holm over the 2 p-values in the family: 2 x 0.01 = 0.02, then max(0.02, 1 x 0.04)
        ("holm", 0.05, [0.02, None, 0.04], [True, None, True]),
        # significance is p_adjusted < alpha, strictly: 0.04 at alpha 0.04 is not
        ("holm", 0.04, [0.02, None, 0.04], [True, None, False]),
        # Benjamini-Hochberg: 0.01 x 2/1 = 0.02, 0.04 x 2/2 = 0.04
        ("bh", 0.03, [0.02, None, 0.04], [True, None, False]),
        ("none", 0.02, [0.01, None, 0.04], [True, None, False]),
    ],
)
def test_each_record_gets_its_corrected_p_value_and_significance(
    correction: str, alpha: float, adjusted: list[float | None], significant: list[bool | None]
) -> None:
    """Records keep their fields and gain `p_adjusted` (None for a NaN p: outside the family)
    and `significant` (None with it)."""
    frame = pd.DataFrame({"g": ["a", "b", "a", "b"], "d": [0, 1, 1, 0]})
    settings = assess(frame, y_true=None, y_pred="d", groups=["g"], n_boot=0).settings
    s = settings.model_copy(update={"correction": correction, "alpha": alpha})
    rows: list[dict[str, object]] = [{"track": "x"}, {"track": "y"}, {"track": "z"}]
    got = _corrected(rows, np.array([0.01, np.nan, 0.04]), s)
    assert [r["track"] for r in got] == ["x", "y", "z"]
    assert [set(r) for r in got] == [{"track", "p_adjusted", "significant"}] * 3
    assert [r["p_adjusted"] for r in got] == [
        None if a is None else pytest.approx(a, abs=1e-15) for a in adjusted
    ]
    assert [r["significant"] for r in got] == significant
