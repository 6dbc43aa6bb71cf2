"""The statistical core on inputs small enough to check by hand (issue 14, sample D).

The message of a 0/1 or True/False column (boolean, numeric or spelled as text) whose positive
label is none of its values, and the codes of text-coded columns; the refusal of scores above 1
or below 0 (with the count and the first three offenders) and the acceptance of 0 and 1; the
exact AUC of an attribute whose declared levels include one no row has, on each of the three
exact paths (pair counts, a finer grid, sorted rows); both models' paired metrics and
disparities per grouping, with an empty intersection left out and the reference of a grouping
looked up (and refused, listing at most 20 groups); each field of a paired change (interval,
p-value, reliability at the minimum size, an undefined change with no interval); the count
bootstrap's fixed cells, empty cells and weight spread; and the cross-group AUC matrix. Every
expected figure and message comes from a definition or a docstring, not from the code's output.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.metrics.scores import cross_auc
from audit.stats import exact_auc as exact_module
from audit.stats.bootstrap import resample
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_arrays, encode_binary, encode_score
from audit.stats.exact_auc import exact_auc
from audit.stats.paired import (
    PairedChange,
    PairedDisparities,
    PairedDisparity,
    paired_disparities,
    regression_changes,
)
from tests.stats.strict import input_error, no_warnings

NAN = float("nan")


# --- encode_binary: a coded column and a positive label it does not hold ------------------------


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (pd.Series(["1", "0", "1"], name="y"), "0, 1"),
        (pd.Series([" True", "false"], name="y"), "false, true"),
        (pd.Series(["1.0", "0.0"], name="y"), "0.0, 1.0"),
        (pd.Series([True, False], name="y"), "True, False"),
        (pd.Series([0, 1, 1], name="y"), "0, 1"),
    ],
)
def test_a_positive_label_a_coded_column_does_not_hold_is_named_in_the_message(
    values: pd.Series, shown: str
) -> None:
    """A 0/1 or True/False column (as text, boolean or numbers) with pos_label "yes": refused,
    and the message names the label asked for and the values there are (text spelled as read,
    stripped and in lower case, sorted)."""
    err = input_error(lambda: encode_binary(values, "outcome", "yes"))
    assert str(err) == (
        "outcome column 'y': expected the positive label 'yes' among its values; "
        f"found the values {shown}.\nHint: check the positive label's spelling"
    )


def test_text_coded_columns_are_read_as_their_coding() -> None:
    """0/1 and True/False written as text code 1 for "1", "1.0" and "true" (any case, spaces
    stripped) without a label; pos_label "0" or "FALSE" makes the other value positive; a label
    the column does not hold is ignored with required=False (taken as it is)."""
    ones = pd.Series(["1", "0", "1", "0"], name="y")
    np.testing.assert_array_equal(encode_binary(ones, "outcome"), [1, 0, 1, 0])
    np.testing.assert_array_equal(encode_binary(ones, "outcome", "0"), [0, 1, 0, 1])
    np.testing.assert_array_equal(encode_binary(ones, "outcome", 1), [1, 0, 1, 0])
    spelled = pd.Series([" True", "false", "TRUE "], name="d")
    np.testing.assert_array_equal(encode_binary(spelled, "decision"), [1, 0, 1])
    np.testing.assert_array_equal(encode_binary(spelled, "decision", "FALSE"), [0, 1, 0])
    decimals = pd.Series(["0.0", "1.0", "1.0"], name="d")
    np.testing.assert_array_equal(encode_binary(decimals, "decision"), [0, 1, 1])
    kept = encode_binary(ones, "decision", "yes", required=False)
    np.testing.assert_array_equal(kept, [1, 0, 1, 0])
    assert kept.dtype == np.uint8


def test_boolean_and_numeric_codings_take_the_positive_label_they_name() -> None:
    """Booleans and 0/1 numbers: 1 (True) is positive without a label; a label naming 0
    (False, "false", 0.0) makes the other value positive; one naming neither is ignored with
    required=False."""
    flags = pd.Series([True, False, True], name="d")
    np.testing.assert_array_equal(encode_binary(flags, "decision"), [1, 0, 1])
    np.testing.assert_array_equal(encode_binary(flags, "decision", False), [0, 1, 0])
    np.testing.assert_array_equal(encode_binary(flags, "decision", "false"), [0, 1, 0])
    np.testing.assert_array_equal(
        encode_binary(flags, "decision", "yes", required=False), [1, 0, 1]
    )
    ints = pd.Series([1, 0, 0], name="y")
    np.testing.assert_array_equal(encode_binary(ints, "outcome", 0), [0, 1, 1])
    np.testing.assert_array_equal(encode_binary(ints, "outcome", "1"), [1, 0, 0])
    np.testing.assert_array_equal(encode_binary(ints, "outcome", "yes", required=False), [1, 0, 0])
    floats = pd.Series([1.0, 0.0], name="y")
    np.testing.assert_array_equal(encode_binary(floats, "outcome"), [1, 0])
    np.testing.assert_array_equal(encode_binary(floats, "outcome", 0.0), [0, 1])


# --- encode_score ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [1.5, 2.0, 1.0000001, -0.5])
def test_a_score_outside_the_unit_interval_is_refused(bad: float) -> None:
    """A score is a probability: one value above 1 (even by a hair, even below 2) or below 0
    is refused, the message counting it and showing it."""
    err = input_error(lambda: encode_score(pd.Series([0.2, bad, 0.7], name="s")))
    assert str(err) == (
        "score column 's': expected probabilities in [0, 1] in every row; found 1 value(s) "
        f"outside [0, 1] or missing, e.g. {[bad]}.\nHint: pass calibrated probabilities (not "
        "logits or ranks), and drop rows with no score"
    )


def test_the_score_message_counts_every_bad_row_and_shows_the_first_three() -> None:
    """Four bad rows (above 1, below 0, missing, text): all four counted, the first three shown
    as they were in the column."""
    column = pd.Series([0.5, 3.0, -1.0, None, "high"], name="p", dtype=object)
    err = input_error(lambda: encode_score(column))
    assert err.found == "4 value(s) outside [0, 1] or missing, e.g. [3.0, -1.0, None]"


def test_scores_at_the_bounds_and_an_empty_column_are_accepted_as_floats() -> None:
    """0 and 1 are probabilities; integers 0/1 come back as float64; an empty column is empty."""
    out = encode_score(pd.Series([0, 1, 1], name="s"))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(encode_score(pd.Series([0.0, 0.25, 1.0])), [0.0, 0.25, 1.0])
    empty = encode_score(pd.Series([], dtype=np.float64, name="s"))
    assert empty.size == 0


# --- exact AUC with a declared level that no row has --------------------------------------------

# Group g is categorical with levels a, none, b: "none" has no rows, so the counts keep (a, b)
# and the exact AUC must map b's code 2 onto the counts' position 1.
# a: positives 2/3 and 1/7, negative 1/3: 2/3 beats it, 1/7 does not: 1/2.
# b: positive 2/3, negatives 2/7 and 1/7: both beaten: 1.
# Everyone: positives 2/3, 1/7, 2/3 against negatives 1/3, 2/7, 1/7: 3 + 0.5 (1/7 ties 1/7) + 3
# = 6.5 of 9.
OFF_GRID = [2 / 3, 1 / 3, 1 / 7, 2 / 3, 2 / 7, 1 / 7]
FOUR_DECIMALS = [0.6667, 0.3333, 0.1429, 0.6667, 0.2857, 0.1429]  # same order, on the 10^-4 grid
AUC_Y = [1, 0, 1, 1, 0, 0]
AUC_GROUP = pd.Categorical(["a", "a", "a", "b", "b", "b"], categories=["a", "none", "b"])


def _exact_with_unused_level(scores: list[float]) -> dict[tuple[str, ...], np.ndarray] | None:
    data = encode_arrays(AUC_Y, [0] * 6, {"g": AUC_GROUP}, score=scores)
    assert data.attributes[0].levels == ("a", "none", "b")  # the declared order, "none" kept
    counts = count_groups(data)
    assert counts.levels[0] == ("a", "b")
    with no_warnings():
        return exact_auc(data, counts, [(0,), ()])


@pytest.mark.parametrize("path", ["pairs", "fine grid", "sorted"])
def test_the_exact_auc_maps_codes_past_a_level_no_row_has(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exact AUC per group is over the counts' levels (a, b), not the declared (a, none,
    b), on each path: the pair counts (off-grid scores, few cells), a finer histogram (scores
    with four decimals) and the sorted rows (more cells than the pair counts take)."""
    if path == "sorted":
        monkeypatch.setattr(exact_module, "MAX_PAIR_CELLS", 0)
    out = _exact_with_unused_level(FOUR_DECIMALS if path == "fine grid" else OFF_GRID)
    assert out is not None
    assert set(out) == {("g",), ()}
    np.testing.assert_allclose(out[("g",)], [0.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(out[()], 6.5 / 9, rtol=1e-12)


# --- paired disparities per grouping -----------------------------------------------------------

# Two attributes; the intersection (b, x) is empty. Each intersection's rows share one cell
# (baseline, y, candidate), so a stratified bootstrap redraws exactly those rows every time.
#   (a, x): 2 rows, weight 1 each, y 1, candidate 1, baseline 0
#   (a, y): 1 row,  weight 3,      y 0, candidate 0, baseline 1
#   (b, y): 3 rows, weight 0.5,    y 1, candidate 0, baseline 1
PAIRED = pd.DataFrame(
    {
        "g": ["a", "a", "a", "b", "b", "b"],
        "h": ["x", "x", "y", "y", "y", "y"],
        "y": [1, 1, 0, 1, 1, 1],
        "c": [1, 1, 0, 0, 0, 0],
        "b": [0, 0, 1, 1, 1, 1],
        "w": [1.0, 1.0, 3.0, 0.5, 0.5, 0.5],
    }
)
REFERENCES = {("g",): ("a",), ("h",): ("x",), ("g", "h"): ("a", "x")}


def _paired(**options: object) -> PairedDisparities:
    settings: dict[str, object] = {
        "y_true": "y", "candidate": "c", "baseline": "b", "groups": ["g", "h"],
        "intersections": 2, "references": REFERENCES, "weight": "w", "n_boot": 3,
        "bootstrap": "stratified", "min_group_size": 3,
        "metrics": [("selection_rate", "difference"), ("selection_rate", "ratio"),
                    ("tpr", "difference")],
    }  # fmt: skip
    return paired_disparities(PAIRED, **{**settings, **options})  # type: ignore[arg-type]


# Weighted selection rates. g: a = (a,x) + (a,y), candidate 2 of 5, baseline 3 of 5; b:
# candidate 0 of 1.5, baseline 1.5 of 1.5. h: x candidate 1, baseline 0; y = (a,y) + (b,y),
# candidate 0 of 4.5, baseline 1. Intersections: candidate 1, 0, 0; baseline 0, 1, 1.
# TPR: g: a's positives (a,x) are all selected by the candidate, none by the baseline; b's
# (b,y) the reverse. (a, y) has no positives: undefined.
EXPECTED_GROUPINGS = {
    ("g",): {
        "levels": (("a",), ("b",)), "n_rows": [3, 3], "weight": [5.0, 1.5],
        ("selection_rate", "difference"): ([0.4, 0.0], [0.6, 1.0], [0.0, -0.4], [0.0, 0.4]),
        ("selection_rate", "ratio"): ([0.4, 0.0], [0.6, 1.0], [1.0, 0.0], [1.0, 1 / 0.6]),
        ("tpr", "difference"): ([1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 1.0]),
    },
    ("h",): {
        "levels": (("x",), ("y",)), "n_rows": [2, 4], "weight": [2.0, 4.5],
        ("selection_rate", "difference"): ([1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 1.0]),
        # the baseline selects nobody of the reference x: every ratio is undefined
        ("selection_rate", "ratio"): ([1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [NAN, NAN]),
        ("tpr", "difference"): ([1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 1.0]),
    },
    ("g", "h"): {
        "levels": (("a", "x"), ("a", "y"), ("b", "y")), "n_rows": [2, 1, 3],
        "weight": [2.0, 3.0, 1.5],
        ("selection_rate", "difference"): (
            [1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, -1.0, -1.0], [0.0, 1.0, 1.0]
        ),
        ("selection_rate", "ratio"): (
            [1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [NAN, NAN, NAN]
        ),
        ("tpr", "difference"): (
            [1.0, NAN, 0.0], [0.0, NAN, 1.0], [0.0, NAN, -1.0], [0.0, NAN, 1.0]
        ),
    },
}  # fmt: skip


def test_paired_disparities_give_both_models_metrics_per_live_group_of_every_grouping() -> None:
    """Each grouping (g, h and their intersection, in that order) and (metric, kind): the live
    groups only ((b, x) has nobody), the reference's index, rows and weights per group, both
    models' metrics and disparities against the reference, and replicates that equal the
    estimates (a stratified bootstrap of one-cell intersections redraws the same people)."""
    with no_warnings():
        paired = _paired()
    assert (paired.n_boot, paired.bootstrap, paired.min_group_size, paired.weighted) == (
        3,
        "stratified",
        3,
        True,
    )
    keys = [(e.attributes, e.metric, e.kind) for e in paired.entries]
    metrics = [("selection_rate", "difference"), ("selection_rate", "ratio"), ("tpr", "difference")]
    assert keys == [(a, m, k) for a in EXPECTED_GROUPINGS for m, k in metrics]
    for e in paired.entries:
        expected = EXPECTED_GROUPINGS[e.attributes]
        assert e.levels == expected["levels"]
        assert e.reference == 0 and e.reference_levels == expected["levels"][0]
        np.testing.assert_array_equal(e.n_rows, expected["n_rows"])
        np.testing.assert_allclose(e.weight, expected["weight"], rtol=1e-12)
        cand_metric, base_metric, cand, base = expected[(e.metric, e.kind)]
        np.testing.assert_allclose(e.candidate_metric, cand_metric, rtol=1e-12)
        np.testing.assert_allclose(e.baseline_metric, base_metric, rtol=1e-12)
        np.testing.assert_allclose(e.candidate, cand, rtol=1e-12)
        np.testing.assert_allclose(e.baseline, base, rtol=1e-12)
        assert e.candidate_boot.shape == e.baseline_boot.shape == (3, len(e.levels))
        np.testing.assert_allclose(e.candidate_boot, np.tile(cand, (3, 1)), rtol=1e-12)
        np.testing.assert_allclose(e.baseline_boot, np.tile(base, (3, 1)), rtol=1e-12)


def test_without_replicates_the_paired_arrays_have_no_rows() -> None:
    """n_boot = 0: the replicate arrays have no rows, the estimates are unchanged."""
    paired = _paired(n_boot=0, intersections=1, metrics=[("selection_rate", "difference")])
    assert [e.attributes for e in paired.entries] == [("g",), ("h",)]
    for e in paired.entries:
        assert e.candidate_boot.shape == e.baseline_boot.shape == (0, 2)
    np.testing.assert_allclose(paired.entries[0].candidate, [0.0, -0.4], rtol=1e-12)


def test_a_reference_in_an_empty_intersection_is_refused_naming_the_live_groups() -> None:
    """(b, x) has nobody: it is not a group, so it cannot be the reference; the message lists
    the intersections there are, joined with ×."""
    references = {**REFERENCES, ("g", "h"): ("b", "x")}
    err = input_error(lambda: _paired(references=references, n_boot=0))
    assert str(err) == (
        "reference group 'b × x' of g × h: expected one of the groups present in the data; "
        "found no such group (groups are: a × x, a × y, b × y).\n"
        "Hint: compare the models on the people the candidate was assessed on"
    )


def test_a_grouping_without_a_reference_is_refused_listing_those_given() -> None:
    """The intersection has no reference: the message lists the groupings that have one."""
    references = {("h",): ("x",), ("g",): ("a",)}  # listed sorted, whatever their order
    err = input_error(lambda: _paired(references=references, n_boot=0))
    assert str(err) == (
        "reference of g × h: expected a reference group for every grouping compared; "
        "found references for ['g', 'h'].\n"
        "Hint: take the references from the candidate's assessment (`references_from`)"
    )


def test_a_missing_reference_among_many_groups_lists_the_first_twenty() -> None:
    """21 groups g00 ... g20 and a reference no row has: the message lists the first 20 groups
    (in sorted order), not the 21st."""
    names = [f"g{i:02d}" for i in range(21)]
    table = pd.DataFrame({"y": [0, 1] * 21, "c": [1, 0] * 21, "b": [0, 1] * 21,
                          "g": [n for n in names for _ in range(2)]})  # fmt: skip
    options: dict[str, object] = {
        "y_true": "y", "candidate": "c", "baseline": "b", "groups": ["g"], "n_boot": 0,
        "references": {("g",): ("zz",)}, "metrics": [("selection_rate", "difference")],
    }  # fmt: skip
    err = input_error(lambda: paired_disparities(table, **options))  # type: ignore[arg-type]
    assert err.found == f"no such group (groups are: {', '.join(names[:20])})"


# --- the paired changes ------------------------------------------------------------------------


def test_paired_changes_read_against_a_lower_bound_give_every_field() -> None:
    """Rule min = -0.2 (badness = -disparity) on the selection-rate difference. g: b's
    candidate -0.4 (badness 0.4), baseline 0.4 (badness -0.4): change 0.8; every replicate the
    same, so the interval is [0.8, 0.8] and the change beyond margin 0.1 is certain (p 0). b and
    the reference a have 3 rows each (the minimum): reliable. h: y's change 2 (candidate -1,
    baseline 1), but the reference x has 2 rows: not reliable. The references are left out."""
    with no_warnings():
        paired = _paired()
        changes = regression_changes(
            paired, "selection_rate", "difference", -0.2, math.inf, margin=0.1,
            attributes=[("g",), ("h",)],
        )  # fmt: skip
    common = {"metric": "selection_rate", "kind": "difference", "p_value": 0.0}
    expected = [
        PairedChange(attributes=("g",), levels=("b",), reference_levels=("a",), candidate=-0.4,
                     baseline=0.4, change=0.8, ci_low=0.8, ci_high=0.8, reliable=True, n_rows=3,
                     **common),  # type: ignore[arg-type]
        PairedChange(attributes=("h",), levels=("y",), reference_levels=("x",), candidate=-1.0,
                     baseline=1.0, change=2.0, ci_low=2.0, ci_high=2.0, reliable=False,
                     n_rows=4, **common),  # type: ignore[arg-type]
    ]  # fmt: skip
    assert len(changes) == 2
    for got, want in zip(changes, expected, strict=True):
        _assert_change(got, want)


def test_an_undefined_paired_change_has_no_interval_nor_p_value() -> None:
    """The intersection's TPR: (a, y) has no positives, so its change is undefined: None for
    the candidate, the baseline, the change, both ends of the interval and the p-value."""
    with no_warnings():
        changes = regression_changes(
            _paired(), "tpr", "difference", -0.2, 0.2, attributes=[("g", "h")]
        )
    undefined = changes[0]
    assert undefined.levels == ("a", "y")
    assert (undefined.candidate, undefined.baseline, undefined.change) == (None, None, None)
    assert (undefined.ci_low, undefined.ci_high, undefined.p_value) == (None, None, None)
    assert not undefined.reliable and undefined.n_rows == 1


def _assert_change(got: PairedChange, want: PairedChange) -> None:
    """Every field equal; the figures to rounding."""
    figures = ("candidate", "baseline", "change", "ci_low", "ci_high", "p_value")
    for name, value in want.__dict__.items():
        if name in figures and value is not None:
            assert getattr(got, name) == pytest.approx(value, rel=1e-9, abs=1e-12), name
        else:
            assert getattr(got, name) == value, name


def _disparity(**fields: object) -> PairedDisparities:
    entry = PairedDisparity(
        attributes=("g",),
        levels=(("r",), ("a",), ("u",), ("v",), ("w",)),
        reference=0,
        metric="selection_rate",
        kind="difference",
        weight=np.array([5.0, 4.0, 6.0, 5.0, 5.0]),
        candidate_metric=np.array([0.1, 0.4, NAN, 0.6, 0.2]),
        baseline_metric=np.array([0.1, 0.2, 0.3, 0.1, 0.2]),
        **fields,  # type: ignore[arg-type]
    )
    return PairedDisparities(
        entries=(entry,), n_boot=5, bootstrap="multinomial", min_group_size=5, weighted=False
    )


def test_paired_changes_read_their_replicates_interval_and_normal_p_value() -> None:
    """Rule max = 0.05 (badness = disparity), margin 0.05, alpha 0.4 (an 80% interval), on a
    hand-made comparison of 5 replicates.

    a: change 0.3 - 0.1 = 0.2; replicate changes 0, 0.1, 0.2, 0.3, 0.4, centred on it (z0 0),
    so the interval is the 20% and 80% quantiles: positions 0.8 and 3.2, [0.08, 0.32]; SE the
    replicates' sd sqrt(0.1 / 4); p = P(Z > 0.15 / SE). 4 rows, under the minimum 5: not
    reliable. u: the candidate's disparity is undefined (its replicates are not): no change,
    no interval, no p-value. v: one defined replicate: an interval [0.5, 0.5] but no p-value.
    w: no change in any replicate: certain that it is not beyond the margin, p 1."""
    ramp = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    candidate_boot = np.zeros((5, 5))
    candidate_boot[:, 1] = 0.1 + ramp
    candidate_boot[:, 2] = 0.2
    candidate_boot[:, 3] = [NAN, NAN, NAN, NAN, 0.5]
    paired = _disparity(
        n_rows=np.array([5, 4, 6, 5, 5]),
        candidate=np.array([0.0, 0.3, NAN, 0.5, 0.0]),
        baseline=np.array([0.0, 0.1, 0.2, 0.0, 0.0]),
        candidate_boot=candidate_boot,
        baseline_boot=np.tile([0.0, 0.1, 0.0, 0.0, 0.0], (5, 1)),
    )
    with no_warnings():
        changes = regression_changes(
            paired, "selection_rate", "difference", -math.inf, 0.05, margin=0.05, alpha=0.4
        )
    se = math.sqrt(0.1 / 4)
    common = {"attributes": ("g",), "reference_levels": ("r",), "metric": "selection_rate",
              "kind": "difference"}  # fmt: skip
    expected = [
        PairedChange(levels=("a",), candidate=0.3, baseline=0.1, change=0.2, ci_low=0.08,
                     ci_high=0.32, p_value=float(stats.norm.sf(0.15 / se)), reliable=False,
                     n_rows=4, **common),  # type: ignore[arg-type]
        PairedChange(levels=("u",), candidate=None, baseline=0.2, change=None, ci_low=None,
                     ci_high=None, p_value=None, reliable=True, n_rows=6,
                     **common),  # type: ignore[arg-type]
        PairedChange(levels=("v",), candidate=0.5, baseline=0.0, change=0.5, ci_low=0.5,
                     ci_high=0.5, p_value=None, reliable=True, n_rows=5,
                     **common),  # type: ignore[arg-type]
        PairedChange(levels=("w",), candidate=0.0, baseline=0.0, change=0.0, ci_low=0.0,
                     ci_high=0.0, p_value=1.0, reliable=True, n_rows=5,
                     **common),  # type: ignore[arg-type]
    ]  # fmt: skip
    assert len(changes) == 4
    for got, want in zip(changes, expected, strict=True):
        _assert_change(got, want)


# --- the count bootstrap -----------------------------------------------------------------------


def test_a_stratified_resample_of_one_cell_groups_keeps_every_cell() -> None:
    """Groups on the first axis, 4 cells each: group 0 has its 2 rows in cell 0 (weight 3),
    group 1 nobody, group 2 its 5 rows in cell 2 (weight 10). Keeping each group's size, every
    replicate is the table itself, with or without the squared weights of constant weights
    (1.5 and 2 per row: no spread), written into the array passed as `out`."""
    n = np.array([[2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 5, 0]])
    w = np.array([[3.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 10.0, 0]])
    w2 = np.array([[4.5, 0, 0, 0], [0, 0, 0, 0], [0, 0, 20.0, 0]])
    for squares in (None, w2):
        out = np.zeros((4, 3, 4))
        got = resample(n, w, n_boot=4, rng=np.random.default_rng(1), kind="stratified",
                       group_axes=1, w2=squares, out=out)  # fmt: skip
        assert got is out
        np.testing.assert_allclose(got, np.tile(w, (4, 1, 1)), rtol=1e-12)


def test_a_multinomial_resample_keeps_the_total_and_leaves_empty_cells_empty() -> None:
    """Two group axes (2 x 2) of 3 cells, unit weights, 12 rows in 3 cells: each replicate
    redraws the 12 rows (its counts sum to 12, whole numbers), and the 9 empty cells stay 0."""
    n = np.zeros((2, 2, 3), dtype=np.int64)
    n[0, 0, 1], n[1, 0, 0], n[1, 1, 2] = 5, 4, 3
    got = resample(n, n.astype(float), n_boot=50, rng=np.random.default_rng(2), group_axes=2)
    assert got.shape == (50, 2, 2, 3)
    np.testing.assert_array_equal(got.sum(axis=(1, 2, 3)), np.full(50, 12.0))
    np.testing.assert_array_equal(got, np.rint(got))
    np.testing.assert_array_equal(got[:, n == 0], 0.0)
    assert got[:, 0, 0, 1].std() > 0  # the rows move between cells


def test_a_single_live_cell_is_drawn_in_full_and_a_stratified_group_keeps_its_size() -> None:
    """One live cell of the whole table: every multinomial replicate holds all its 7 rows,
    at their mean weight 2 (w 14). Stratified, group 1 (3 + 1 rows) keeps 4 rows in total."""
    n = np.array([[0, 7], [0, 0]])
    got = resample(n, np.array([[0.0, 14.0], [0.0, 0.0]]), n_boot=3,
                   rng=np.random.default_rng(3), group_axes=1)  # fmt: skip
    np.testing.assert_array_equal(got, np.tile([[0.0, 14.0], [0.0, 0.0]], (3, 1, 1)))
    n = np.array([[2, 0], [3, 1]])
    got = resample(n, n.astype(float), n_boot=40, rng=np.random.default_rng(4),
                   kind="stratified", group_axes=1)  # fmt: skip
    np.testing.assert_array_equal(got.sum(axis=2), np.tile([2.0, 4.0], (40, 1)))
    np.testing.assert_array_equal(got[:, 0], np.tile([2.0, 0.0], (40, 1)))


def test_the_squared_weights_give_a_replicate_weight_the_spread_of_its_rows() -> None:
    """A cell of 4 rows weighted 1, 1, 3, 3 (w 8, w2 20): the weight of 4 rows drawn with
    replacement has mean 4 x 2 = 8 and variance 4 x 1 = 4. Stratified keeps 4 rows, so 20,000
    replicates estimate those two moments (standard errors about 0.014 and 0.06)."""
    got = resample(np.array([[4]]), np.array([[8.0]]), n_boot=20_000,
                   rng=np.random.default_rng(5), kind="stratified", group_axes=1,
                   w2=np.array([[20.0]]))  # fmt: skip
    draws = got[:, 0, 0]
    assert draws.mean() == pytest.approx(8.0, abs=0.06)
    assert draws.var() == pytest.approx(4.0, abs=0.25)
    assert (draws > 0).all()


def test_an_unknown_bootstrap_kind_is_a_programming_error() -> None:
    """Only multinomial and stratified exist."""
    with pytest.raises(ValueError, match="unknown bootstrap kind 'poisson'"):
        resample(np.array([[1]]), np.array([[1.0]]), n_boot=1, rng=np.random.default_rng(0),
                 kind="poisson", group_axes=1)  # type: ignore[arg-type]  # fmt: skip


# --- the cross-group AUC -----------------------------------------------------------------------


def test_the_cross_group_auc_matrix_by_hand_with_groups_lacking_a_class() -> None:
    """Three groups on a 3-point grid. a: positives at points 1 and 2, a negative at 0. b: no
    positives, 2 negatives at point 1. c: 2 positives at point 0, no negatives.
    [a, a]: both positives above: 1. [a, b]: the positive at 1 ties both negatives (half each),
    the one at 2 beats both: 3 of 4. [c, a]: both tie a's negative: 1 of 2. [c, b]: below
    both: 0. A row of b (no positives) and a column of c (no negatives): undefined, silently.
    A leading replicate axis is kept: the second replicate (all weights doubled) agrees."""
    hist = np.array(
        [
            [[1, 0, 0], [0, 1, 1]],  # a: negatives, positives
            [[0, 2, 0], [0, 0, 0]],  # b
            [[0, 0, 0], [2, 0, 0]],  # c
        ],
        dtype=float,
    )
    expected = np.array([[1.0, 0.75, NAN], [NAN, NAN, NAN], [0.5, 0.0, NAN]])
    with no_warnings():
        matrix = cross_auc(hist)
        replicated = cross_auc(np.stack([hist, 2 * hist]))
    np.testing.assert_allclose(matrix, expected, rtol=1e-12)
    np.testing.assert_allclose(replicated, np.stack([expected, expected]), rtol=1e-12)
