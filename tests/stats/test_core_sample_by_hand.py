"""The statistical core on inputs small enough to check by hand (issue 14, sample A).

Disclosure control of a three-group table, the secondary withholding of a balanced accuracy,
the cross-group AUC of a histogram written out cell by cell, the Mantel-Haenszel odds of one
stratum (where the Robins-Breslow-Greenland variance is Woolf's), the refusals and level
handling of track audits, conditional comparisons beside a group column that is also a factor,
the explained-share rule at an interval ending on 0, and the paired bootstrap's replicate count.
Every expected figure, set and message comes from a definition or a docstring, not from the
code's output.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.linear_disclosure import denominator_is_everyone
from audit.metrics.conditional import ExplainedShare
from audit.metrics.scores import cross_auc
from audit.metrics.stratified import stratified_odds
from audit.stats.assess import _share_fields, assess
from audit.stats.encoding import Tally, encode_arrays
from audit.stats.exact_auc import _joint_code
from audit.stats.paired import paired_disparities, regression_changes
from audit.stats.result import Assessment, Disparity

WHY = "suppressed: fewer than 10 people"
SECONDARY = "withheld: with the other published figures it would give back one that is suppressed"


# --- disclosure control ------------------------------------------------------------------------


def _three_groups() -> Assessment:
    """big (600, the reference), mid (300) and tiny (4), outcomes and decisions at random."""
    g = ["big"] * 600 + ["mid"] * 300 + ["tiny"] * 4
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": g, "y": rng.integers(0, 2, len(g)), "d": rng.integers(0, 2, len(g))})
    return assess(
        data, y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=0,
        min_group_size=3, min_denominator=1,
    )  # fmt: skip


def test_a_small_groups_size_costs_the_next_smallest_size_and_no_denominator() -> None:
    """tiny (4 < 10) is withheld; with the population's 904 and big's 600, mid's 300 would give
    it back, so mid's size (the smallest other) is withheld too, and with it every denominator of
    mid's rates. tiny's counts are then the population's minus big's minus mid's unknown ones:
    nothing else is withheld, and the note says exactly that (1 more size, no denominator)."""
    published = suppress(_three_groups())
    sizes = {g.levels[0]: (g.n_rows, g.suppressed) for g in published.groups}
    assert sizes == {"big": (600, False), "mid": (None, False), "tiny": (None, True)}
    for m in published.metrics:
        if m.levels == ("big",):
            assert m.denominator_rows is not None and m.value is not None, m
        elif m.levels == ("mid",):
            assert m.denominator_rows is None and not m.suppressed, m
    (note,) = [n for n in published.notes if n.startswith("disclosure control")]
    assert "; 1 more group sizes are withheld so that none can be recovered by subtraction;" in note
    assert "denominators are withheld" not in note


def test_a_suppressed_disparity_publishes_none_of_its_figures() -> None:
    """Every comparison of tiny with big is suppressed: value, both interval ends, p-value, the
    corrected p-value, significance and detectable gap all go, the method is 'none' and the
    reason gives the minimum. In memory they were there (analytic intervals, Holm p-values)."""
    full = _three_groups()
    before = [d for d in full.disparities if d.levels == ("tiny",)]
    assert any(d.ci_low is not None for d in before)
    assert any(d.p_adjusted is not None for d in before)
    after = [d for d in suppress(full).disparities if d.levels == ("tiny",)]
    assert len(after) == len(before) > 0
    for d in after:
        assert d.suppressed and d.undefined_reason == WHY and d.ci_method == "none", d
        figures = (d.value, d.ci_low, d.ci_high, d.p_value, d.p_adjusted, d.significant,
                   d.detectable)  # fmt: skip
        assert all(x is None for x in figures), d


def test_a_balanced_accuracy_giving_back_a_suppressed_tpr_is_withheld_saying_why() -> None:
    """Group a (100 people, 3 with the outcome) has its TPR suppressed (3 < 10 positives). A
    balanced accuracy is (TPR + TNR) / 2: published with the TNR it gives the TPR back. In an
    assessment whose balanced accuracy carries no row count (the schema allows None) nothing
    else hides it, and it is withheld for that reason, with the reason written out."""
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(97, int), np.ones(3, int), rng.integers(0, 2, 600)]
    data = pd.DataFrame({"g": ["a"] * 100 + ["b"] * 600, "y": y, "d": rng.integers(0, 2, 700)})
    full = assess(data, y_true="y", y_pred="d", groups=["g"], reference={"g": "b"}, n_boot=0,
                  min_group_size=3, min_denominator=1)  # fmt: skip
    metrics = tuple(
        replace(m, denominator_rows=None)
        if (m.metric, m.levels) == ("balanced_accuracy", ("a",))
        else m
        for m in full.metrics
    )
    published = suppress(replace(full, metrics=metrics))
    got = {(m.metric, m.levels[0]): m for m in published.metrics}
    assert got[("tpr", "a")].suppressed and got[("tpr", "a")].undefined_reason == WHY
    ba = got[("balanced_accuracy", "a")]
    assert ba.suppressed and ba.value is None and ba.undefined_reason == SECONDARY
    assert (ba.ci_low, ba.ci_high, ba.ci_method, ba.denominator_rows) == (None, None, "none", None)
    assert got[("balanced_accuracy", "b")].value is not None


def test_only_rates_over_everyone_have_the_group_size_as_denominator() -> None:
    """The selection rate and the base rate divide by everyone (all four confusion cells); the
    TPR by those with the outcome, the PPV by those selected; a metric that is no rate (AUC,
    balanced accuracy) or unknown has no such denominator."""
    assert denominator_is_everyone("selection_rate") is True
    assert denominator_is_everyone("base_rate") is True
    for name in ("tpr", "fpr", "ppv", "auc", "balanced_accuracy", "no_such_metric"):
        assert denominator_is_everyone(name) is False, name


# --- score metrics -----------------------------------------------------------------------------


def test_cross_auc_by_hand_is_nan_without_a_warning_where_a_group_has_no_positive() -> None:
    """Three score bins. Group 0: one positive in bin 2, one negative in bin 0; group 1: two
    negatives in bin 2, no positive. xAUC[a, b] = P(positive of a above negative of b), ties
    half: [0, 0] = 1, [0, 1] = 1/2 (tied in bin 2); group 1 has no positive: NaN, silently."""
    hist = np.zeros((2, 2, 3))
    hist[0, 1, 2] = 1
    hist[0, 0, 0] = 1
    hist[1, 0, 2] = 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cross_auc(hist)
    assert x[0, 0] == 1.0 and x[0, 1] == 0.5
    assert np.isnan(x[1]).all()


# --- stratified odds ---------------------------------------------------------------------------


def test_one_stratums_odds_are_the_raw_odds_with_woolfs_standard_error() -> None:
    """One stratum a, b, c, d = 10, 20, 30, 40: OR = ad / bc = 2/3 both pooled and raw; with
    one stratum the RGB variance of log OR is Woolf's, 1/a + 1/b + 1/c + 1/d; rates 1/3 and
    3/7, their difference the adjusted one; the whole group shares the stratum."""
    odds = stratified_odds(np.array([10]), np.array([20]), np.array([30]), np.array([40]))
    woolf = math.sqrt(1 / 10 + 1 / 20 + 1 / 30 + 1 / 40)
    assert odds.odds_ratio == pytest.approx(2 / 3) and odds.raw_odds_ratio == pytest.approx(2 / 3)
    assert odds.raw_log_se == pytest.approx(woolf) and odds.log_se == pytest.approx(woolf)
    assert odds.rate == pytest.approx(1 / 3) and odds.reference_rate == pytest.approx(3 / 7)
    assert odds.adjusted_difference == pytest.approx(1 / 3 - 3 / 7)
    assert (odds.coverage, odds.strata) == (1.0, 1)
    empty_cell = stratified_odds(np.array([10]), np.array([0]), np.array([30]), np.array([40]))
    assert math.isnan(empty_cell.raw_log_se)


# --- track audits ------------------------------------------------------------------------------


def _tracks(frame: pd.DataFrame, **options: object) -> Assessment:
    return assess(frame, y_true=None, y_pred=None, groups=["g"], track="t", n_boot=0, **options)  # type: ignore[arg-type]


def test_a_one_row_track_log_is_refused_for_its_single_track_and_an_empty_one_as_empty() -> None:
    """One row is a table (not empty): it fails later, on its single track. No row at all is
    refused as an empty table."""
    with pytest.raises(AuditInputError) as one:
        _tracks(pd.DataFrame({"g": ["a"], "t": ["x"]}))
    assert "found the single track 'x'" in str(one.value)
    assert "empty table" not in str(one.value)
    with pytest.raises(AuditInputError) as empty:
        _tracks(pd.DataFrame({"g": pd.Series([], dtype=str), "t": pd.Series([], dtype=str)}))
    assert str(empty.value).startswith(
        "decisions table: expected at least one row; found an empty table"
    )


@pytest.mark.parametrize(
    ("rows", "found"), [([0, 0, 0, 0], "no values"), ([0, 0, 3, 0], "a single value")]
)
def test_an_aggregate_without_two_groups_of_people_says_what_it_found(
    rows: list[int], found: str
) -> None:
    """Counted rows of 0 everywhere leave the group column without any value; people in group a
    only leave a single one."""
    frame = pd.DataFrame({"g": ["a", "b", "a", "b"], "t": ["x", "x", "y", "y"], "n": rows})
    with pytest.raises(AuditInputError) as err:
        _tracks(frame, tally=Tally(rows="n"))
    assert str(err.value).startswith(
        f"group column 'g': expected at least two groups to compare; found {found}."
    )


def test_a_group_without_people_is_left_out_of_the_track_audit() -> None:
    """Group c of the aggregate counts nobody: the groups compared are a and b, with their
    rows, and the shares are read over them."""
    frame = pd.DataFrame(
        {"g": ["a", "a", "b", "b", "c", "c"], "t": ["x", "y"] * 3, "n": [30, 10, 20, 20, 0, 0]}
    )
    result = _tracks(frame, tally=Tally(rows="n"), reference={"g": "a"})
    assert [(g.levels, g.n_rows) for g in result.groups] == [(("a",), 40), (("b",), 40)]
    shares = {(t.levels[0], t.track): t.share for t in result.tracks}
    assert shares == {("a", "x"): 0.75, ("a", "y"): 0.25, ("b", "x"): 0.5, ("b", "y"): 0.5}


def test_a_track_the_reference_never_gets_has_a_difference_but_no_ratio() -> None:
    """The reference r (40 people) all got track x; group b half x, half y. For y, b's share is
    1/2 against 0: the difference is 1/2, the ratio 1/2 / 0 is undefined, so it has no interval
    and says why; for x the ratio is 1/2 / 1 = 1/2."""
    frame = pd.DataFrame({"g": ["r"] * 40 + ["b"] * 40, "t": ["x"] * 40 + ["x", "y"] * 20})
    result = _tracks(frame, reference={"g": "r"})
    b = {t.track: t for t in result.tracks if t.levels == ("b",)}
    assert b["y"].difference == pytest.approx(0.5) and b["y"].ratio is None
    assert (b["y"].ratio_ci_low, b["y"].ratio_ci_high, b["y"].ratio_ci_method) == (
        None, None, "none",
    )  # fmt: skip
    assert b["y"].undefined_reason == "the reference group's share is 0: no ratio"
    assert b["x"].ratio == pytest.approx(0.5) and b["x"].ratio_ci_low is not None


# --- conditional comparisons and explained shares ----------------------------------------------


def test_a_group_column_that_is_also_the_factor_is_skipped_and_the_next_one_compared() -> None:
    """groups f then g, legitimate factor f: f's own groups are not compared within f, but g's
    are (stratified by f), although g comes after the skipped column."""
    rng = np.random.default_rng(2)
    n = 400
    data = pd.DataFrame({
        "f": np.where(np.arange(n) % 2 == 0, "e1", "e2"),
        "g": np.where(np.arange(n) % 4 < 2, "p", "q"),
        "y": rng.integers(0, 2, n), "d": rng.integers(0, 2, n),
    })  # fmt: skip
    result = assess(data, y_true="y", y_pred="d", groups=["f", "g"], n_boot=0,
                    legitimate_factors=["f"], min_group_size=5, min_denominator=1)  # fmt: skip
    compared = {c.attributes for c in result.conditional}
    assert compared == {("g",)}
    assert all(c.factors == ("f",) for c in result.conditional)


def _plain(low: float, high: float) -> Disparity:
    return Disparity(
        attributes=("g",), levels=("b",), reference_levels=("a",), metric="selection_rate",
        kind="difference", value=(low + high) / 2, ci_low=low, ci_high=high, ci_method="wilson",
        reliable=True,
    )  # fmt: skip


def test_a_plain_gap_whose_interval_ends_on_zero_has_no_share_to_explain() -> None:
    """The share is given only where the plain gap's interval excludes 0: [-0.1, 0] and
    [0, 0.1] include it (closed intervals), [0.01, 0.1] does not."""
    share = ExplainedShare(np.array([0.4]), np.array([0.2]), np.array([0.6]))
    for low, high, shown in ((-0.1, 0.0, "[-0.100, 0.000]"), (0.0, 0.1, "[0.000, +0.100]")):
        fields = _share_fields(share, 0, _plain(low, high), n_boot=100)
        assert fields == {
            "explained_share_note": f"the plain gap's interval {shown} includes 0: "
            "there is no established gap to explain"
        }
    fields = _share_fields(share, 0, _plain(0.01, 0.1), n_boot=100)
    assert fields["explained_share"] == 0.4
    assert (fields["explained_share_low"], fields["explained_share_high"]) == (0.2, 0.6)


# --- encoding ----------------------------------------------------------------------------------


def test_arrays_of_unequal_length_are_refused_naming_every_length_score_and_weight_too() -> None:
    """Each input is named with its length, scores and weights as well."""
    with pytest.raises(AuditInputError) as err:
        encode_arrays([0, 1], [1, 0], {"g": ["a", "b"]}, score=[0.5], weight=[1.0, 2.0, 3.0])
    assert str(err.value) == (
        "input arrays: expected the same number of rows in every input; found y_true: 2, "
        "y_pred: 2, groups: 2, score: 1, weight: 3.\n"
        "Hint: pass columns of one table, aligned row by row"
    )


def test_group_codes_take_the_smallest_integer_type_that_holds_them() -> None:
    """Codes run 0..size-1: 127 groups fit int8 (max 127), 128 need int16; values unchanged."""
    codes = [np.array([0, 126], np.int64)]
    small = _joint_code(codes, (0,), (127,))
    assert small.dtype == np.int8 and small.tolist() == [0, 126]
    assert _joint_code([np.array([0, 127])], (0,), (128,)).dtype == np.int16


# --- paired comparisons ------------------------------------------------------------------------


def _paired(n_boot: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame({
        "g": np.where(np.arange(n) < 120, "ref", "grp"), "y": rng.integers(0, 2, n),
        "cand": rng.integers(0, 2, n), "base": rng.integers(0, 2, n),
    })  # fmt: skip
    return paired_disparities(
        frame, y_true="y", candidate="cand", baseline="base", groups=["g"],
        references={("g",): ("ref",)}, metrics=[("selection_rate", "difference")],
        n_boot=n_boot, seed=1, min_group_size=5,
    )  # fmt: skip


def test_paired_disparities_draw_exactly_n_boot_shared_replicates() -> None:
    """n_boot = 1 is one replicate for both models (a row each), n_boot = 0 none."""
    for n_boot in (0, 1, 3):
        (entry,) = _paired(n_boot).entries
        assert entry.candidate_boot.shape == entry.baseline_boot.shape == (n_boot, 2)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.7])
def test_a_paired_change_refuses_an_alpha_outside_0_to_0_5(alpha: float) -> None:
    with pytest.raises(AuditInputError) as err:
        regression_changes(_paired(3), "selection_rate", "difference", -0.1, 0.1, alpha=alpha)
    assert str(err.value).startswith(
        f"option alpha: expected a level between 0 and 0.5; found {alpha!r}"
    )
