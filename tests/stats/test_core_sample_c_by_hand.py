"""The statistical core on inputs small enough to check by hand (issue 14, sample C).

The memory estimate of the count tables and replicates (every term, and the refusal at its
limit); the messages of refused columns (a two-class text column with no positive label, a
missing outcome, decision, group, score or weight column) and the codes `encode_binary` gives
each coding; the exact AUC from pair counts, ties counted half, weighted, with a group that has
no negatives; the options of a paired comparison (a score metric, an unknown kind, the order of
intersections at its bounds); the four-fifths rule's ratio and mask, also when nobody is
selected; the minimum detectable difference with its clipped common rate, its cap at 1 and its
empty groups; and the standard error of a conditional difference on strata that are empty or
whose Kish size is 0. Every expected figure and message comes from a definition or a docstring,
not from the code's output. Where a path divides by zero, the test turns RuntimeWarnings into
errors: the audit must compute NaN there silently.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.metrics.conditional import delta_standard_error
from audit.metrics.disparities import four_fifths
from audit.metrics.significance import minimum_detectable_difference
from audit.stats.assess import assess
from audit.stats.counts import check_table_size, count_groups, estimate_table_bytes
from audit.stats.encoding import Tally, encode_arrays, encode_binary, encode_table
from audit.stats.exact_auc import exact_auc
from audit.stats.paired import paired_disparities
from audit.stats.result import Disparity
from tests.formulas import wilson
from tests.stats.strict import input_error, no_warnings

# z_{1 - alpha/2} + z_{power} at alpha = 0.05 and power = 0.8, from the normal quantiles.
Z_MDE = float(stats.norm.ppf(0.975) + stats.norm.ppf(0.8))


# --- the memory estimate ------------------------------------------------------------------------


def test_the_table_estimate_of_a_scored_weighted_intersection_counts_every_term() -> None:
    """Two attributes of 2 and 3 levels, 4 rows, 2 replicates, 9 score bins, weighted, scored.

    Joint cells 2 x 3 = 6; per cell 4 x 3 = 12 counts (n, w, w2 per y_true x y_pred) plus
    2 x 10 x 2 = 40 histogram entries and 10 score sums: 62. Coarse histogram 2 x 50 = 100.
    Groupings: attribute 1 (2 groups), attribute 2 (3), their intersection (6 cells, but at
    most 4 rows, so 4): 9 groups; none for the whole population. Per group and replicate
    4 + 3 x 14 + 3 x 100 = 346. Replicates 2 x (6 x (4 + 100) + 9 x 346) = 7476.
    Bytes 8 x (6 x 62 + 7476) = 62,784."""
    size = estimate_table_bytes(
        [2, 3], n_rows=4, n_boot=2, score_bins=9, scored=True, weighted=True
    )
    assert size == 62_784


def test_the_table_estimate_of_plain_decisions_counts_each_grouping_once() -> None:
    """Levels 2 and 3, 100 rows (the intersection keeps its 6 groups), 1 replicate, no score,
    no weights. Per cell 4 x 2 = 8; groups 2 + 3 + 6 = 11, each 4 + 3 x 14 = 46 per replicate;
    replicates 6 x 4 + 11 x 46 = 530; bytes 8 x (6 x 8 + 530) = 4,624. One attribute of 3
    levels, 2 replicates: 8 x (3 x 8 + 2 x (3 x 4 + 3 x 46)) = 2,592; with no replicates only
    the table: 8 x 3 x 8 = 192."""
    assert estimate_table_bytes([2, 3], n_rows=100, n_boot=1) == 4_624
    assert estimate_table_bytes([3], n_rows=100, n_boot=2) == 2_592
    assert estimate_table_bytes([3], n_rows=100, n_boot=0) == 192


def test_an_audit_exactly_at_its_memory_limit_passes_and_one_byte_over_is_refused() -> None:
    """Groups a, b (2 levels), 4 rows, 1 replicate, no score: 8 x (2 x 8 + 2 x 4 + 2 x 46) =
    928 bytes. A limit of 928 passes (the limit is inclusive); 927 is refused, with the size in
    GiB, the joint cells and their levels, the replicates and the fix."""
    data = encode_arrays([0, 1, 0, 1], [0, 1, 1, 0], {"g": ["a", "a", "b", "b"]})
    check_table_size(data, n_boot=1, limit=928)
    err = input_error(lambda: check_table_size(data, n_boot=1, limit=927))
    assert str(err) == (
        "group columns: expected count tables and bootstrap replicates within 0.0 GiB of "
        "memory; found about 0.0 GiB for 2 joint cells (2 levels), 1 replicates.\nHint: audit "
        "fewer attributes at once, merge rare levels into broader groups, or lower "
        "statistics.n_boot (--n-boot)"
    )


# --- encoding -----------------------------------------------------------------------------------


def test_a_two_class_text_outcome_without_a_positive_label_is_refused_with_its_classes() -> None:
    """'no'/'yes' is neither 0/1 nor True/False: guessing the positive class could flip every
    rate, so the audit asks for it, naming the two classes it found (sorted)."""
    values = pd.Series(["yes", "no", "yes"], name="hired")
    err = input_error(lambda: encode_binary(values, "outcome"))
    assert str(err) == (
        "outcome column 'hired': expected two classes coded 0/1 or True/False; found 2 "
        "distinct value(s): no, yes.\nHint: recode the column to 0/1, or name the positive "
        "class (--pos-label)"
    )
    assert encode_binary(values, "outcome", "no").tolist() == [0, 1, 0]


def test_a_column_of_three_classes_is_refused_and_so_is_a_score_given_as_decisions() -> None:
    """Three classes need binarising; a decision column of values strictly inside [0, 1] is a
    score, and the fix says how to threshold it."""
    classes = pd.Series(["a", "b", "c", "a"], name="o")
    assert str(input_error(lambda: encode_binary(classes, "outcome"))) == (
        "outcome column 'o': expected two classes coded 0/1 or True/False; found 3 distinct "
        "value(s): a, b, c.\nHint: binarise the column first, e.g. one class against the rest"
    )
    scores = pd.Series([0.25, 0.5, 0.75], name="s")
    assert str(input_error(lambda: encode_binary(scores, "decision"))) == (
        "decision column 's': expected decisions coded 0/1 or True/False; found scores: 3 "
        "distinct values between 0.25 and 0.75, e.g. 0.25, 0.5, 0.75.\nHint: decide on the "
        "score with a threshold: `audit assess --score s --threshold 0.5` (decision = score "
        ">= 0.5), or in a spec name it model.decisions.score_column and set decision.threshold"
    )


@pytest.mark.parametrize(
    ("values", "pos_label", "codes"),
    [
        ([True, False, True], None, [1, 0, 1]),
        ([True, False, True], False, [0, 1, 0]),
        ([True, False, True], "false", [0, 1, 0]),
        ([0, 1, 1], None, [0, 1, 1]),
        ([0, 1, 1], 0, [1, 0, 0]),
        ([0.0, 1.0, 0.0], "1", [0, 1, 0]),
        (["0", "1", "1"], None, [0, 1, 1]),
        (["True", "false", "TRUE"], None, [1, 0, 1]),
        (["1.0", "0.0", "0.0"], "0", [0, 1, 1]),
        (["job", "none", "job"], "job", [1, 0, 1]),
        ([2.0, 5.0, 2.0], "2", [1, 0, 1]),
    ],
)
def test_each_coding_of_a_binary_column_gives_one_for_its_positive_class(
    values: list[object], pos_label: object, codes: list[int]
) -> None:
    """Booleans and 0/1 (numbers or text) are read as they are, 1 or True positive; a positive
    label of 0 or False (also typed as text) flips them; a text class is positive where it
    matches, and "2" on the command line names the number 2.0 (encode_binary's docstring)."""
    out = encode_binary(pd.Series(values, name="c"), "outcome", pos_label)
    assert out.dtype == np.uint8 and out.tolist() == codes


def test_a_missing_or_unknown_value_in_a_binary_column_is_refused_with_the_fact() -> None:
    """A missing label cannot be assessed; a positive label that is no value of the column
    names the values there are."""
    missing = pd.Series(["a", None, "b"], name="o")
    assert str(input_error(lambda: encode_binary(missing, "outcome", "a"))) == (
        "outcome column 'o': expected a value in every row; found 1 missing value(s).\nHint: "
        "drop or impute those rows before the audit; a missing label cannot be assessed"
    )
    text = pd.Series(["a", "b"], name="o")
    assert str(input_error(lambda: encode_binary(text, "outcome", "z"))) == (
        "outcome column 'o': expected the positive label 'z' among its values; found the "
        "values a, b.\nHint: check the positive label's spelling"
    )
    flags = pd.Series([True, False], name="f")
    assert str(input_error(lambda: encode_binary(flags, "decision", "yes"))) == (
        "decision column 'f': expected the positive label 'yes' among its values; found the "
        "values True, False.\nHint: check the positive label's spelling"
    )


@pytest.mark.parametrize(
    ("option", "role"),
    [
        ({"y_true": "label"}, "outcome"),
        ({"y_pred": "decided"}, "decision"),
        ({"groups": ["group"]}, "group"),
        ({"score": "p"}, "score"),
        ({"weight": "w"}, "weight"),
    ],
)
def test_a_missing_column_is_named_with_its_role_and_the_columns_there_are(
    option: dict[str, object], role: str
) -> None:
    """Each column the audit reads is looked up under its role, so that the message says which
    input is wrong (the outcome, the decision...) and lists the columns of the table."""
    frame = pd.DataFrame({"y": [0, 1], "d": [1, 0], "g": ["a", "b"]})
    options: dict[str, object] = {"y_true": "y", "y_pred": "d", "groups": ["g"], **option}
    err = input_error(lambda: encode_table(frame, **options))  # type: ignore[arg-type]
    name = next(iter(option.values()))
    name = name[0] if isinstance(name, list) else name
    assert str(err) == (
        f"{role} column {name!r}: expected a column of the data; found no such column "
        f"(columns are: y, d, g).\nHint: pass the name of the column that holds the {role}"
    )


def test_encode_table_codes_every_column_it_is_given() -> None:
    """Outcome and decision as 0/1 bytes, groups as codes into their sorted levels, missing
    groups as the level "unknown", score and weight as floats; one row each (no tally)."""
    frame = pd.DataFrame({
        "y": [1, 0, 1], "d": [True, True, False], "g": ["b", None, "a"],
        "s": [0.2, 0.9, 0.5], "w": [1, 2, 3],
    })  # fmt: skip
    data = encode_table(frame, y_true="y", y_pred="d", groups=["g"], score="s", weight="w")
    assert data.n_rows == 3
    assert data.y_true.dtype == np.uint8 and data.y_true.tolist() == [1, 0, 1]
    assert data.y_pred.dtype == np.uint8 and data.y_pred.tolist() == [1, 1, 0]
    (g,) = data.attributes
    assert (g.name, g.levels, g.codes.tolist()) == ("g", ("a", "b", "unknown"), [1, 2, 0])
    assert data.score is not None and data.score.tolist() == [0.2, 0.9, 0.5]
    assert data.weight is not None and data.weight.tolist() == [1.0, 2.0, 3.0]
    assert data.rows is None and data.weight_sq is None and data.score_sum is None


def test_without_an_outcome_the_outcome_code_is_zero_and_the_label_names_decisions() -> None:
    """No outcome column: the outcome code is 0 everywhere; the positive label still applies
    to the decisions ("deny" positive here)."""
    frame = pd.DataFrame({"d": ["deny", "grant", "deny"], "g": ["a", "b", "a"]})
    data = encode_table(frame, y_true=None, y_pred="d", groups=["g"], pos_label="deny")
    assert data.y_true.dtype == np.uint8 and data.y_true.tolist() == [0, 0, 0]
    assert data.y_pred.tolist() == [1, 0, 1]
    assert data.score is None and data.weight is None


def test_an_aggregated_table_carries_its_multiplicities_and_sums() -> None:
    """A tally row stands for `rows` people: their count, squared-weight sum and score sum are
    read from the named columns; without a weight (or a score) column those sums are None."""
    frame = pd.DataFrame({
        "y": [0, 1], "d": [1, 0], "g": ["a", "b"], "n": [3, 2], "w": [3.0, 4.0],
        "w2": [3.0, 8.0], "s": [0.5, 0.25], "ss": [4.5, 2.0],
    })  # fmt: skip
    tally = Tally(rows="n", weight_sq="w2", score_sum="ss")
    data = encode_table(
        frame, y_true="y", y_pred="d", groups=["g"], score="s", weight="w", tally=tally
    )
    assert data.rows is not None and data.rows.tolist() == [3, 2]
    assert data.weight_sq is not None and data.weight_sq.tolist() == [3.0, 8.0]
    assert data.score_sum is not None and data.score_sum.tolist() == [4.5, 2.0]
    plain = encode_table(frame, y_true="y", y_pred="d", groups=["g"], tally=tally)
    assert plain.rows is not None and plain.rows.tolist() == [3, 2]
    assert plain.weight_sq is None and plain.score_sum is None


def test_a_table_without_groups_or_with_a_group_named_twice_is_refused() -> None:
    """At least one attribute is needed to compare groups, and each is named once."""
    frame = pd.DataFrame({"y": [0, 1], "d": [1, 0], "g": ["a", "b"]})
    assert str(input_error(lambda: encode_table(frame, y_true="y", y_pred="d", groups=[]))) == (
        "group columns: expected at least one sensitive attribute to compare groups by; found "
        "none.\nHint: name one or more group columns (--group COL)"
    )
    twice = input_error(lambda: encode_table(frame, y_true="y", y_pred="d", groups=["g", "g"]))
    assert str(twice) == (
        "group columns: expected each attribute named once; found ['g', 'g'].\nHint: remove "
        "the repeated name"
    )


# --- the exact AUC from pair counts -----------------------------------------------------------


def _exact(
    scores: list[float], y: list[int], groups: dict[str, list[str]], weight: list[float] | None
) -> dict[tuple[str, ...], np.ndarray] | None:
    data = encode_arrays(y, [0] * len(y), groups, score=scores, weight=weight)
    counts = count_groups(data)
    keeps = [(a,) for a in range(len(groups))] + ([(0, 1)] if len(groups) == 2 else []) + [()]
    return exact_auc(data, counts, keeps)


# Scores off every histogram grid (1/3, 1/7 have no finite decimals): the pair counts decide.
T, S, Q, P = 2 / 3, 1 / 3, 1 / 7, 2 / 7
AUC_SCORES = [T, Q, S, Q, S, S, P, T]
AUC_Y = [1, 1, 0, 0, 1, 1, 1, 0]
AUC_GROUPS = ["a", "a", "a", "a", "b", "b", "c", "c"]


def test_the_exact_auc_counts_ties_half_and_leaves_a_group_without_negatives_undefined() -> None:
    """a: positives 2/3, 1/7; negatives 1/3, 1/7. Pairs (pos > neg, ties half): 2/3 beats both
    (2), 1/7 beats neither and ties 1/7 (0.5): 2.5 / 4 = 0.625. b: two positives, no negative:
    undefined, silently. c: positive 2/7 under negative 2/3: 0. Everyone: positives 2/3, 1/7,
    1/3, 1/3, 2/7 against negatives 1/3, 1/7, 2/3: 2.5 + 0.5 + 1.5 + 1.5 + 1 = 7 of 15."""
    with no_warnings():
        out = _exact(AUC_SCORES, AUC_Y, {"g": AUC_GROUPS}, None)
    assert out is not None and set(out) == {("g",), ()}
    np.testing.assert_allclose(out[("g",)], [0.625, np.nan, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out[()], 7 / 15, rtol=1e-12)


def test_the_exact_auc_weighs_each_pair_by_both_weights() -> None:
    """The positive 2/3 of a weighs 2: pairs 2 x 1 + 2 x 1 + 0.5 (the tie at 1/7), over
    positives' weight 3 times negatives' weight 2: 4.5 / 6 = 0.75. c: 0; b: undefined.
    Everyone: 5 + 0.5 + 1.5 + 1.5 + 1 = 9.5 over 6 x 3 = 18."""
    weight = [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    with no_warnings():
        out = _exact(AUC_SCORES, AUC_Y, {"g": AUC_GROUPS}, weight)
    assert out is not None
    np.testing.assert_allclose(out[("g",)], [0.75, np.nan, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out[()], 9.5 / 18, rtol=1e-12)


def test_the_exact_auc_of_an_intersection_is_read_from_the_same_pair_counts() -> None:
    """A second attribute h splits a into (a, x) (positive 2/3, negative 1/3: 1) and (a, y)
    (positive 1/7 tied with negative 1/7: 0.5); b into (b, x) and (b, y), one positive each
    (undefined); c is all x (positive 2/7 under negative 2/3: 0), so (c, y) is empty
    (undefined). h alone: x holds positives 2/3, 1/3, 2/7 and negatives 1/3, 2/3; pair by
    pair 2/3 > 1/3 (1), 2/3 = 2/3 (0.5), 1/3 = 1/3 (0.5), 1/3 < 2/3, 2/7 under both: 2 of 6.
    y holds positives 1/7, 1/3 and the negative 1/7: 0.5 + 1 = 1.5 of 2."""
    h = ["x", "y", "x", "y", "x", "y", "x", "x"]
    with no_warnings():
        out = _exact(AUC_SCORES, AUC_Y, {"g": AUC_GROUPS, "h": h}, None)
    assert out is not None and set(out) == {("g",), ("h",), ("g", "h"), ()}
    np.testing.assert_allclose(out[("h",)], [2 / 6, 1.5 / 2], rtol=1e-12)
    np.testing.assert_allclose(
        out[("g", "h")], [[1.0, 0.5], [np.nan, np.nan], [0.0, np.nan]], rtol=1e-12
    )
    np.testing.assert_allclose(out[("g",)], [0.625, np.nan, 0.0], rtol=1e-12)


def test_the_exact_auc_counts_pairs_across_blocks_of_rows() -> None:
    """40 distinct scores (3i + 1) / 150, rows shuffled, so that pairs span several blocks of
    16 rows in score order. a: negatives at the 10 lowest scores, positives at the next 10:
    every pair ordered, AUC 1. b: positives at the next 10, negatives at the top 10: AUC 0.
    Everyone: a's and b's positives each beat a's 10 negatives and none of b's: 200 of 400."""
    rank = np.random.default_rng(7).permutation(40)
    scores = ((3 * rank + 1) / 150).tolist()
    y = [int(10 <= k < 30) for k in rank]
    groups = ["a" if k < 20 else "b" for k in rank]
    with no_warnings():
        out = _exact(scores, y, {"g": groups}, None)
    assert out is not None
    np.testing.assert_allclose(out[("g",)], [1.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out[()], 0.5, rtol=1e-12)


# --- the options of a paired comparison -------------------------------------------------------

PAIRED_FRAME = pd.DataFrame(
    {"y": [0, 1, 0, 1], "c": [1, 1, 0, 0], "b": [0, 1, 0, 1], "g": ["a", "a", "r", "r"]}
)


def _paired(**options: object) -> object:
    settings: dict[str, object] = {
        "y_true": "y", "candidate": "c", "baseline": "b", "groups": ["g"],
        "references": {("g",): ("r",)}, "metrics": [("selection_rate", "difference")],
        "n_boot": 0,
    }  # fmt: skip
    return paired_disparities(PAIRED_FRAME, **{**settings, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metric", "kind"), [("auc", "difference"), ("ece", "ratio"), ("tpr", "log_ratio")]
)
def test_a_score_metric_or_an_unknown_kind_cannot_be_paired(metric: str, kind: str) -> None:
    """Only the metrics of the decisions can be paired from decisions, as a difference or a
    ratio: the message lists them all and says to compare score metrics unpaired."""
    err = input_error(lambda: _paired(metrics=[("selection_rate", "difference"), (metric, kind)]))
    assert str(err) == (
        f"paired comparison {metric} {kind}: expected a metric of the decisions "
        "(selection_rate, base_rate, tpr, fpr, fnr, tnr, ppv, npv, fdr, for, accuracy, "
        "balanced_accuracy) and a kind (difference, ratio); found metric "
        f"{metric!r}, kind {kind!r}.\nHint: score metrics (auc, ece) cannot be paired from "
        "decisions; compare them unpaired"
    )


def test_the_order_of_intersections_runs_from_one_to_the_number_of_attributes() -> None:
    """With one group column, order 1 is the only valid one: 0 and 2 are refused, naming the
    number of attributes. Order 1 with no replicates and groups of one person is accepted
    (n_boot = 0 and min_group_size = 1 are the smallest valid options)."""
    for order in (0, 2):
        assert str(input_error(lambda order=order: _paired(intersections=order))) == (
            "option intersections: expected an order from 1 to the number of attributes (1); "
            f"found {order}.\nHint: pass a valid intersections"
        )
    result = _paired(intersections=1, min_group_size=1)
    assert result is not None
    for options in ({"n_boot": -1}, {"min_group_size": 0}):
        n_boot, size = options.get("n_boot", 0), options.get("min_group_size", 30)
        assert str(input_error(lambda options=options: _paired(**options))) == (
            "bootstrap options: expected n_boot >= 0 and min_group_size >= 1; found "
            f"n_boot={n_boot}, min_group_size={size}.\nHint: pass valid options"
        )
    assert str(input_error(lambda: _paired(baseline="nope"))) == (
        "baseline decision column 'nope': expected a column of the data; found no such column "
        "(columns are: y, c, b, g).\nHint: score the baseline model on the same people and add "
        "its decisions as a column"
    )


# --- the four-fifths rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "ratio", "below"),
    [
        ([0.5, 0.4, 0.39], 0.78, [False, False, True]),
        ([4 / 9, 5 / 9], 0.8, [False, False]),  # exactly 4/5 passes
        ([np.nan, 0.5, 0.3], 0.6, [False, False, True]),  # an undefined group is skipped
        ([0.0, 0.0], 1.0, [False, False]),  # nobody selected anywhere: no disparity
        ([0.0, 0.2], 0.0, [True, False]),
        ([np.nan, np.nan], np.nan, [False, False]),  # nothing defined: no ratio
    ],
)
def test_the_four_fifths_rule_flags_the_groups_under_four_fifths_of_the_top_rate(
    rates: list[float], ratio: float, below: list[bool]
) -> None:
    """Each group's selection rate over the highest: the smallest ratio is returned (1 when no
    group selects anyone) and the mask marks the groups under 0.8, without a warning when the
    highest rate is 0 or undefined."""
    with no_warnings():
        got_ratio, got_below = four_fifths(np.array(rates))
    assert got_ratio == pytest.approx(ratio, nan_ok=True)
    assert got_below.tolist() == below


# --- the minimum detectable difference ---------------------------------------------------------


def test_the_detectable_difference_clips_the_common_rate_half_a_person_from_zero_and_one() -> None:
    """z = z_0.975 + z_0.8. A reference rate of 0 (or 1) is clipped to 0.5 / (n_ref + n_group):
    with 30 and 10 people 1/80, so the gap detectable is z sqrt(1/80 x 79/80 x (1/10 + 1/30)).
    A reference rate of 0.3 is not clipped: z sqrt(0.21 x (1/10 + 1/30)). A group of 40 and a
    reference of 10 at rate 1: clipped to 1 - 0.5 / 50 = 0.99."""
    n_group = np.array([10.0, 10.0, 10.0, 40.0])
    n_ref = np.array([30.0, 30.0, 30.0, 10.0])
    p_ref = np.array([0.0, 1.0, 0.3, 1.0])
    edge = 1 / 80 * 79 / 80 * (1 / 10 + 1 / 30)
    expected = [
        Z_MDE * math.sqrt(edge),
        Z_MDE * math.sqrt(edge),
        Z_MDE * math.sqrt(0.21 * (1 / 10 + 1 / 30)),
        Z_MDE * math.sqrt(1 / 100 * 99 / 100 * (1 / 40 + 1 / 10)),
    ]
    got = minimum_detectable_difference(p_ref, n_group, n_ref, alpha=0.05, power=0.8)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_the_detectable_difference_follows_alpha_and_power_and_is_at_most_one() -> None:
    """At alpha 0.1 and power 0.9: (z_0.95 + z_0.9) sqrt(0.25 x (1/50 + 1/50)). Two groups of one
    person at rate 0.5 would need z sqrt(0.5) = 1.98: capped at 1, the largest gap in a rate."""
    got = minimum_detectable_difference(
        np.array([0.5]), np.array([50.0]), np.array([50.0]), alpha=0.1, power=0.9
    )
    z = stats.norm.ppf(0.95) + stats.norm.ppf(0.9)
    assert got[0] == pytest.approx(z * math.sqrt(0.25 * 0.04), rel=1e-12)
    tiny = minimum_detectable_difference(
        np.array([0.5]), np.array([1.0]), np.array([1.0]), alpha=0.05, power=0.8
    )
    assert tiny.tolist() == [1.0]


def test_an_empty_group_or_reference_has_no_detectable_difference_and_no_warning() -> None:
    """No people on either side: no test, so no detectable gap (NaN), computed silently."""
    with no_warnings():
        got = minimum_detectable_difference(
            np.array([0.2, 0.2, np.nan]),
            np.array([0.0, 20.0, 0.0]),
            np.array([20.0, 0.0, 0.0]),
            alpha=0.05,
            power=0.8,
        )
    assert np.isnan(got).all()


# --- the standard error of a conditional difference --------------------------------------------


def _strata(cells: dict[tuple[int, int], tuple[float, float]]) -> np.ndarray:
    """(group, stratum, y_true, y_pred) selection counts: cells[(g, s)] = (selected, not)."""
    w = np.zeros((2, 3, 2, 2))
    for (g, s), (selected, rejected) in cells.items():
        w[g, s, 0, 1], w[g, s, 0, 0] = selected, rejected
    return w


def test_the_conditional_standard_error_uses_the_strata_both_groups_have() -> None:
    """Var = sum_s w_s^2 (p_a (1 - p_a) / n_a + p_r (1 - p_r) / n_r) over the shared strata.
    Group 0: stratum 0 has 2 of 4 selected, stratum 1 has 1 of 4, stratum 2 is empty.
    Reference 1: 1 of 2, 3 of 4 and 5 of 10; its stratum 2 has no counterpart in group 0, so
    group 0's weights are its own 4 and 4 of 8 (1/2 each): Var = 1/4 (0.25/4 + 0.25/2) +
    1/4 (0.1875/4 + 0.1875/4). The reference against itself shares all three strata, with
    weights 2/16, 4/16, 10/16 and twice each cell's variance."""
    w = _strata({
        (0, 0): (2, 2), (0, 1): (1, 3),
        (1, 0): (1, 1), (1, 1): (3, 1), (1, 2): (5, 5),
    })  # fmt: skip
    with no_warnings():
        se = delta_standard_error(w, None, 1, "selection_rate")
    var0 = 0.25 * (0.25 / 4 + 0.25 / 2) + 0.25 * (0.1875 / 4 + 0.1875 / 4)
    v = [0.25 / 2, 0.1875 / 4, 0.25 / 10]  # the reference's cell variances
    var1 = sum((n / 16) ** 2 * 2 * vs for n, vs in zip((2, 4, 10), v, strict=True))
    np.testing.assert_allclose(se, [math.sqrt(var0), math.sqrt(var1)], rtol=1e-12)


def test_a_group_sharing_no_stratum_with_the_reference_has_no_standard_error() -> None:
    """Group 0 is only in stratum 2, where the reference has nobody: no shared stratum, no
    conditional comparison, so no standard error (NaN), without a warning."""
    w = _strata({(0, 2): (1, 1), (1, 0): (1, 1), (1, 1): (1, 3)})
    with no_warnings():
        se = delta_standard_error(w, None, 1, "selection_rate")
    assert math.isnan(se[0]) and se[1] == pytest.approx(
        math.sqrt((2 / 6) ** 2 * 2 * 0.25 / 2 + (4 / 6) ** 2 * 2 * 0.1875 / 4), rel=1e-12
    )


def test_a_weighted_stratum_with_a_kish_size_of_zero_gives_no_standard_error_silently() -> None:
    """Weights of 1e-200: their squares underflow to 0, so group 0's stratum 0 (everyone
    selected, a rate of 1) has a Kish effective size of 0 and its variance 0 / 0 is undefined:
    group 0's standard error is NaN, without a warning. The reference has two strata of
    weight 1 (two people of weight 1/2, one selected: rate 1/2, Kish size 1 / (1/2) = 2), each
    with w_s = 1/2 against itself: Var = 2 x (1/2)^2 x 2 x (1/4) / 2 = 1/8."""
    w = np.zeros((2, 2, 2, 2))
    w[0, 0, 0, 1] = 1e-200  # group 0, stratum 0: one person of weight 1e-200, selected
    w[0, 1, 0, 1] = w[0, 1, 0, 0] = 1.0
    w[1, :, 0, 1] = w[1, :, 0, 0] = 0.5
    w2 = w**2  # 1e-400 is 0 in float64
    assert w2[0, 0, 0, 1] == 0.0
    with no_warnings():
        se = delta_standard_error(w, w2, 1, "selection_rate")
    assert math.isnan(se[0])
    assert se[1] == pytest.approx(math.sqrt(1 / 8), rel=1e-12)


# --- disparity records ---------------------------------------------------------------------------

# Reference r: 10 with the outcome (8 selected), 10 without (4 selected). Group a: 4 with the
# outcome (2 selected), 6 without (1 selected). Group z: 4, all with the outcome, 2 selected.
# The reference sorts between the two groups, and its size differs from a's.
RECORD_ROWS = (
    [("r", 1, 1)] * 8 + [("r", 1, 0)] * 2 + [("r", 0, 1)] * 4 + [("r", 0, 0)] * 6
    + [("a", 1, 1)] * 2 + [("a", 1, 0)] * 2 + [("a", 0, 1)] + [("a", 0, 0)] * 5
    + [("z", 1, 1)] * 2 + [("z", 1, 0)] * 2
)  # fmt: skip
RECORD_FRAME = pd.DataFrame(RECORD_ROWS, columns=["g", "y", "d"])
Z95 = float(stats.norm.ppf(0.975))


def _records(frame: pd.DataFrame, **options: object) -> list[Disparity]:
    settings: dict[str, object] = {
        "y_true": "y", "y_pred": "d", "groups": ["g"], "n_boot": 0, "min_group_size": 3,
        "min_denominator": 1, "reference": {"g": "r"},
    }  # fmt: skip
    return list(assess(frame, **{**settings, **options}).disparities)  # type: ignore[arg-type]


def test_a_rate_disparity_without_replicates_has_score_intervals_a_test_and_a_power() -> None:
    """a selects 3 of 10, r 12 of 20. Difference -0.3 with Newcombe's interval from both Wilson
    intervals; pooled two-proportion test (pooled rate 15/30, z = 0.3 / sqrt(0.25 x (1/10 +
    1/20))); detectable gap z sqrt(0.6 x 0.4 x (1/10 + 1/20)). Ratio 0.5 with Katz's log
    interval (se = sqrt(1/3 - 1/10 + 1/12 - 1/20)), no test and no detectable gap. The
    reference is never compared with itself."""
    records = [d for d in _records(RECORD_FRAME) if d.metric == "selection_rate"]
    assert [(d.levels, d.kind) for d in records] == [
        (("a",), "difference"), (("z",), "difference"), (("a",), "ratio"), (("z",), "ratio"),
    ]  # fmt: skip
    (l1, u1), (l2, u2) = wilson(0.3, 10), wilson(0.6, 20)
    diff, ratio = records[0], records[2]
    p_value = 2 * stats.norm.sf(0.3 / math.sqrt(0.25 * (1 / 10 + 1 / 20)))
    expected_diff = {
        "attributes": ("g",), "levels": ("a",), "reference_levels": ("r",),
        "metric": "selection_rate", "kind": "difference", "value": -0.3,
        "undefined_reason": None, "ci_low": -0.3 - math.hypot(0.3 - l1, u2 - 0.6),
        "ci_high": -0.3 + math.hypot(u1 - 0.3, 0.6 - l2), "ci_method": "newcombe",
        "p_value": p_value, "detectable": Z_MDE * math.sqrt(0.24 * (1 / 10 + 1 / 20)), "reliable": True,
        "suppressed": False,
    }  # fmt: skip
    se = math.sqrt(1 / 3 - 1 / 10 + 1 / 12 - 1 / 20)
    expected_ratio = {
        **expected_diff, "kind": "ratio", "value": 0.5, "ci_low": 0.5 * math.exp(-Z95 * se),
        "ci_high": 0.5 * math.exp(Z95 * se), "ci_method": "katz", "p_value": None,
        "detectable": None, "p_adjusted": None, "significant": None,
    }  # fmt: skip
    for record, expected in ((diff, expected_diff), (ratio, expected_ratio)):
        got = {k: getattr(record, k) for k in expected}
        numbers = {k for k, v in expected.items() if isinstance(v, float)}
        assert {k: got[k] for k in numbers} == pytest.approx(
            {k: expected[k] for k in numbers}, rel=1e-12
        )
        assert {k: v for k, v in got.items() if k not in numbers} == {
            k: v for k, v in expected.items() if k not in numbers
        }


def test_named_disparities_without_replicates_are_means_of_gaps_without_interval_or_test() -> None:
    """aif360's composites for a against r: average odds difference ((1/6 - 2/5) + (1/2 - 4/5))
    / 2 = -4/15, its absolute form 4/15, and the average predictive value difference
    ((2/3 - 2/3) + (2/7 - 1/4)) / 2 = 1/56. No replicates: no interval ("none"), and never a
    test or a detectable gap. z has nobody without the outcome: its FPR, so both odds
    differences, are undefined for that reason; its predictive values are PPV 1 and FOR 1:
    ((1 - 2/3) + (1 - 1/4)) / 2 = 13/24."""
    named = {
        (d.levels[0], d.metric): d for d in _records(RECORD_FRAME) if d.metric.startswith("average")
    }
    empty = {
        "attributes": ("g",), "reference_levels": ("r",), "kind": "difference",
        "ci_low": None, "ci_high": None, "ci_method": "none", "p_value": None,
        "p_adjusted": None, "significant": None, "detectable": None, "suppressed": False,
    }  # fmt: skip
    fpr_reason = "everyone in the group has the outcome"
    expected = {
        ("a", "average_odds_difference"): (-4 / 15, None),
        ("a", "average_abs_odds_difference"): (4 / 15, None),
        ("a", "average_predictive_value_difference"): (1 / 56, None),
        ("z", "average_odds_difference"): (None, fpr_reason),
        ("z", "average_abs_odds_difference"): (None, fpr_reason),
        ("z", "average_predictive_value_difference"): (13 / 24, None),
    }
    assert set(named) == set(expected)
    for (level, metric), (value, reason) in expected.items():
        record = named[level, metric]
        got = {k: getattr(record, k) for k in (*empty, "levels", "metric", "undefined_reason")}
        want = {**empty, "levels": (level,), "metric": metric, "undefined_reason": reason}
        assert got == want
        assert record.value == (None if value is None else pytest.approx(value, rel=1e-12))
    assert named["a", "average_odds_difference"].reliable
    assert not named["z", "average_odds_difference"].reliable  # z's FPR rests on nobody


@pytest.mark.parametrize("scored", [False, True])
def test_a_named_disparity_is_reliable_exactly_when_its_component_comparisons_are(
    scored: bool,
) -> None:
    """z's PPV and FOR comparisons are reliable (2 people selected, 2 not; min_denominator 1),
    so its average predictive value difference is; its FPR comparison rests on nobody, so its
    odds differences are not, with a score column or without."""
    frame = (
        RECORD_FRAME.assign(s=np.linspace(0.01, 0.99, len(RECORD_FRAME)))
        if scored
        else (RECORD_FRAME)
    )
    records = _records(frame, score="s" if scored else None)
    reliable = {(d.levels[0], d.metric): d.reliable for d in records if d.kind == "difference"}
    for level in ("a", "z"):
        for named, parts in (
            ("average_odds_difference", ("fpr", "tpr")),
            ("average_predictive_value_difference", ("ppv", "for")),
        ):
            assert reliable[level, named] == all(reliable[level, c] for c in parts)
