"""Input coding and factor bins by hand: what counts as a score, which value a positive label
names, when a label that names nothing is refused, and the text of quantile-bin labels (edges
rounded to four significant digits, trailing zeros dropped, constant columns, tiny numbers and
edges that only many decimals tell apart)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.stats.encoding import encode_arrays, encode_binary, is_probability
from audit.stats.factors import prepare_factors, quantile_bins


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([0.2, 0.7]), True),
        (np.array([0.0, 0.5, 1.0]), True),  # 0 and 1 belong to [0, 1]
        (np.array([0.0, 0.5]), True),
        (np.array([0.5, 1.0]), True),
        (np.array([0.25, 0.75], dtype=np.float32), True),  # any float type
        (np.array([0.2, 1.5]), False),  # above 1
        (np.array([-0.2, 0.5]), False),  # below 0
        (np.array([0.0, 1.0, 1.0]), False),  # 0/1 decisions stored as floats
        (np.array([0, 1, 1]), False),
        (np.array([True, False]), False),  # booleans are decisions
        (np.array(["0.2", "0.7"], dtype=object), False),  # text is not a number
    ],
)
def test_a_score_is_numbers_in_0_1_with_some_strictly_between(values, expected):
    """`is_probability`: numbers (any numeric type, not booleans or text) all in [0, 1], with at
    least one strictly between 0 and 1."""
    assert is_probability(values) is expected


def test_a_decision_column_of_float32_scores_is_refused_with_the_threshold_fix():
    """A score column (here float32, as parquet stores it) given as the decision is named a
    score, with the threshold to decide on it, not a 'two classes' error."""
    scores = pd.Series(np.array([0.1, 0.35, 0.6, 0.85], dtype=np.float32), name="risk")
    with pytest.raises(AuditInputError) as err:
        encode_binary(scores, "decision")
    message = str(err.value)
    assert "scores: 4 distinct values between 0.1 and 0.85" in message
    assert "--score risk --threshold 0.5" in message


def test_a_positive_label_names_its_class_as_text_or_as_a_number():
    """`pos_label` names a class by value or by its text: 1 names the text "1", "2" names the
    number 2.0, 2.0 names the integer 2; a label naming neither class is refused."""
    text = pd.Series(["1", "2", "2", "1"], name="y")
    assert encode_binary(text, "outcome", 1).tolist() == [1, 0, 0, 1]
    floats = pd.Series([1.0, 2.0, 2.0, 1.0], name="y")
    assert encode_binary(floats, "outcome", "2").tolist() == [0, 1, 1, 0]
    ints = pd.Series([1, 2, 2, 1], name="y")
    assert encode_binary(ints, "outcome", 2.0).tolist() == [0, 1, 1, 0]
    with pytest.raises(AuditInputError) as err:
        encode_binary(ints, "outcome", "two")
    assert "the positive label 'two' among its values" in str(err.value)
    assert "the values 1, 2" in str(err.value)


def test_a_text_label_with_two_boolean_columns_is_refused():
    """A positive label such as "job" names no value of boolean outcome and decision columns:
    refused, with the fix (1 or 0, or no label), instead of being ignored."""
    with pytest.raises(AuditInputError) as err:
        encode_arrays(
            [True, False, True], [False, True, True], {"g": ["a", "b", "a"]}, pos_label="job"
        )
    assert "'job', but both columns are coded 0/1 (or True/False)" in str(err.value)
    assert "pass 1 (or 0) as the positive label" in str(err.value)


@pytest.mark.parametrize("dtype", [str, object], ids=["text", "object"])
def test_a_text_label_with_two_columns_of_0_1_as_text_is_refused(dtype):
    """`_encode_labels`' contract: a label that names no value of either column is an input
    error. Columns of "0"/"1" as text (a CSV read as text) or 0/1 in an object column are
    0/1 codes to `encode_binary`, so "job" names nothing there either. It was silently ignored
    (1 taken as positive) until `_is_coded` read those codings too."""
    values = ["0", "1", "1"] if dtype is str else [0, 1, 1]
    truth = np.array(values, dtype=object)
    decision = np.array(values[::-1], dtype=object)
    with pytest.raises(AuditInputError, match="both columns are coded 0/1"):
        encode_arrays(truth, decision, {"g": ["a", "b", "a"]}, pos_label="job")


def _labels(values: list[float], count: int) -> list[str]:
    return list(quantile_bins(pd.Series(values, name="x"), count).cat.categories)


def test_a_constant_column_is_one_closed_bin():
    """One distinct value is one bin "[v, v]", zero included (no logarithm of 0)."""
    assert quantile_bins(pd.Series([0, 0, 0]), 3).tolist() == ["[0, 0]"] * 3
    assert quantile_bins(pd.Series([7.5, 7.5]), 2).tolist() == ["[7.5, 7.5]"] * 2


def test_two_distinct_values_make_one_bin_closed_at_both_ends():
    """Edges [1, 2] (the median is tied with the top): a single bin "[1, 2]" holding everyone."""
    assert quantile_bins(pd.Series([1, 1, 2, 2]), 2).tolist() == ["[1, 2]"] * 4


def test_edges_get_four_significant_digits_without_trailing_zeros():
    """Edges 1.25, 2, 2.5, 3.123456 (largest of magnitude 1: three decimals) read
    1.25, 2, 2.5, 3.123: rounded at three decimals, then trailing zeros and a bare point
    dropped; not cut at the first decimals that tell them apart (1.2, 2, 2.5, 3.1)."""
    assert _labels([1.25, 2.0, 2.5, 3.123456], 3) == ["[1.25, 2)", "[2, 2.5)", "[2.5, 3.123]"]


def test_edges_below_one_get_four_significant_digits():
    """Largest edge 0.987654 (magnitude 10^-1): four decimals, 0.0123, 0.5, 0.9877."""
    assert _labels([0.012345, 0.5, 0.987654], 2) == ["[0.0123, 0.5)", "[0.5, 0.9877]"]


def test_tiny_edges_keep_four_significant_digits():
    """Edges 1.2346e-5 and 2.3457e-5: eight decimals, 0.00001235 and 0.00002346, not the
    first decimals that tell them apart (0.00001, 0.00002)."""
    assert _labels([1.2346e-5, 2.3457e-5], 1) == ["[0.00001235, 0.00002346]"]


def test_a_small_negative_edge_reads_0_not_minus_0():
    """An edge of -0.0001 rounded at three decimals is written 0, never "-0"."""
    assert _labels([-0.0001, 1.5, 2.25], 2) == ["[0, 1.5)", "[1.5, 2.25]"]


def test_edges_apart_only_at_the_ninth_decimal_are_written_with_nine():
    """1.0000000012345 and 1.0000000022345 first differ at the ninth decimal: written with
    nine decimals (up to ten are tried), not in full."""
    assert _labels([1.0000000012345, 1.0000000022345], 1) == ["[1.000000001, 1.000000002]"]


def test_edges_apart_beyond_ten_decimals_are_written_in_full():
    """1.000000000011 and 1.000000000021 look alike with ten decimals: written in full
    (Python's shortest repr), never cut at an eleventh decimal."""
    assert _labels([1.000000000011, 1.000000000021], 1) == ["[1.000000000011, 1.000000000021]"]


def test_bins_keep_the_index_and_name_of_the_column():
    """The binned column has the input's index and name, so that it replaces the factor row
    for row in a frame whose index is not 0..n-1."""
    values = pd.Series([30, 20, 60, 50], index=[7, 3, 9, 1], name="age")
    binned = quantile_bins(values, 2)
    assert binned.name == "age"
    assert binned.index.tolist() == [7, 3, 9, 1]
    assert binned.tolist() == ["[20, 50)", "[20, 50)", "[50, 60]", "[50, 60]"]
    data = pd.DataFrame({"age": values, "g": list("abab")})
    out, notes = prepare_factors(data, ["age"], {"age": 2}, ["g"])
    assert out["age"].tolist() == ["[20, 50)", "[20, 50)", "[50, 60]", "[50, 60]"]
    assert notes == ["legitimate factor 'age' cut at its quantiles into 2 bins [20, 50), [50, 60]"]
