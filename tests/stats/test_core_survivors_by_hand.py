"""Input coding by hand, for the mutants of `audit/stats/encoding.py` left by the s12 run.

- the score and weight errors (`bad_scores`, `bad_weights`, also raised by the Spark engine):
  each of their four parts written out, and reached through `encode_score`/`encode_weight`;
- an aggregated table (`Tally`) whose count and sum columns arrive as Python objects: the
  multiplicities are read as integers and the sums as floats, and a missing sum column is None;
- `_is_coded` (a label that names no value of two 0/1 columns is refused): a missing value is
  reported as missing, text "True"/"False" is a coding, and -0.0 in a float32 column is a 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.stats.assess import assess
from audit.stats.encoding import (
    Tally,
    bad_scores,
    bad_weights,
    encode_arrays,
    encode_score,
    encode_table,
    encode_weight,
)


def _parts(err: AuditInputError) -> tuple[str, str, str, str]:
    return err.subject, err.expected, err.found, err.fix


def test_the_score_error_names_the_column_the_rule_the_count_and_the_fix():
    """`bad_scores(name, count, examples)`: subject "score column 'name'", the rule
    (probabilities in [0, 1] in every row), the count with its examples, and the fix, joined as
    `AuditInputError` joins them. `encode_score` raises it for 1.7 and a missing score."""
    err = bad_scores("kans", 2, [1.7, None])
    assert _parts(err) == (
        "score column 'kans'",
        "probabilities in [0, 1] in every row",
        "2 value(s) outside [0, 1] or missing, e.g. [1.7, None]",
        "pass calibrated probabilities (not logits or ranks), and drop rows with no score",
    )
    assert str(err) == (
        "score column 'kans': expected probabilities in [0, 1] in every row; "
        "found 2 value(s) outside [0, 1] or missing, e.g. [1.7, None].\n"
        "Hint: pass calibrated probabilities (not logits or ranks), and drop rows with no score"
    )
    with pytest.raises(AuditInputError) as caught:
        encode_score(pd.Series([0.2, 1.7, 0.5, -0.1, 0.9, 3.0, np.nan, 0.4], name="s"))
    # Four rows are bad (the missing one too); the message shows the first three, in row order.
    assert _parts(caught.value) == (
        "score column 's'",
        "probabilities in [0, 1] in every row",
        "4 value(s) outside [0, 1] or missing, e.g. [1.7, -0.1, 3.0]",
        "pass calibrated probabilities (not logits or ranks), and drop rows with no score",
    )


def test_the_weight_error_names_the_column_the_rule_the_count_and_the_fix():
    """`bad_weights(name, count, examples)`: subject "weight column 'name'", the rule (finite,
    non-negative sample weights), the count with its examples, and the fix (weight 0 for a row
    that should not count). `encode_weight` raises it for a negative, an infinite and a missing
    weight, three of them."""
    err = bad_weights("gewicht", 1, [-2.0])
    assert _parts(err) == (
        "weight column 'gewicht'",
        "finite, non-negative sample weights",
        "1 negative, infinite or missing weight(s), e.g. [-2.0]",
        "fix the weights; a row that should not count takes weight 0",
    )
    assert str(err) == (
        "weight column 'gewicht': expected finite, non-negative sample weights; "
        "found 1 negative, infinite or missing weight(s), e.g. [-2.0].\n"
        "Hint: fix the weights; a row that should not count takes weight 0"
    )
    with pytest.raises(AuditInputError) as caught:
        encode_weight(pd.Series([1.0, -1.0, 2.0, np.inf, 0.0, np.nan], name="w"))
    subject, expected, found, fix = _parts(caught.value)
    assert (subject, expected, fix) == (
        "weight column 'w'",
        "finite, non-negative sample weights",
        "fix the weights; a row that should not count takes weight 0",
    )
    assert found.startswith("3 negative, infinite or missing weight(s), e.g. [-1.0, inf, nan]")


def _aggregate() -> pd.DataFrame:
    """Four rows standing for 3, 2, 5 and 4 people; every count and sum column holds Python
    objects (as pandas keeps a column built from `Decimal`s or mixed Python numbers)."""
    return pd.DataFrame(
        {
            "g": ["a", "b", "a", "b"],
            "y": [1, 0, 0, 1],
            "d": [1, 1, 0, 0],
            "n": np.array([3, 2, 5, 4], dtype=object),
            "w": [3.0, 2.0, 5.5, 4.0],
            "w2": np.array([3, 2, 16, 4], dtype=object),
        }
    )


def test_an_aggregate_with_object_columns_is_read_as_integer_counts_and_float_sums():
    """`Tally.multiplicity` reads the rows each row stands for as int64 and `Tally.sums` a sum
    column as float64, whatever the column's dtype; `sums` of no column (a Tally without a
    squared-weight column) is None, not a lookup of a column called None."""
    data = _aggregate()
    tally = Tally("n", weight_sq="w2")
    rows = tally.multiplicity(data)
    assert rows.dtype == np.int64 and rows.tolist() == [3, 2, 5, 4]
    squares = tally.sums(data, "w2")
    assert squares is not None
    assert squares.dtype == np.float64 and squares.tolist() == [3.0, 2.0, 16.0, 4.0]
    assert Tally("n").sums(data, None) is None
    plain = encode_table(data, y_true="y", y_pred="d", groups=["g"], weight="w", tally=Tally("n"))
    assert plain.rows is not None and plain.rows.tolist() == [3, 2, 5, 4]
    assert plain.weight_sq is None  # no squared-weight column: each row's weight squared


def test_an_aggregate_with_object_columns_is_assessed_by_its_multiplicities():
    """The aggregate of `_aggregate` stands for 3 + 5 = 8 people in group a and 2 + 4 = 6 in
    group b, 14 in all, with weights 8.5, 6 and 14.5: the counts `assess` reports."""
    result = assess(
        _aggregate(),
        y_true="y",
        y_pred="d",
        groups=["g"],
        weight="w",
        tally=Tally("n", weight_sq="w2"),
        n_boot=0,
        min_cell_size=1,
    )
    assert result.n_rows == 14 and result.total_weight == 14.5
    sizes = {g.levels: (g.n_rows, g.weight) for g in result.groups}
    assert sizes == {("a",): (8, 8.5), ("b",): (6, 6.0)}


def test_a_missing_outcome_is_reported_as_missing_even_with_a_text_label():
    """A text label ("job") beside a 0/1 decision: an outcome column with a gap is not a
    0/1 coding, so the label is not refused as naming nothing of two coded columns; the gap is
    the error, named as such."""
    truth = np.array([1.0, np.nan, 0.0, 1.0])
    with pytest.raises(AuditInputError) as caught:
        encode_arrays(truth, [0, 1, 1, 0], {"g": ["a", "b", "a", "b"]}, pos_label="job")
    assert caught.value.subject == "outcome column 'y_true'"
    assert caught.value.found == "1 missing value(s)"


@pytest.mark.parametrize("spelling", [["True", "False"], ["true", "FALSE"], [" TRUE ", "false"]])
def test_a_text_label_with_two_columns_of_true_false_as_text_is_refused(spelling):
    """True/False written as text, in any case and with spaces (an export from Excel or SPSS),
    is a 0/1 coding to `encode_binary`, so the label "job" names no value of either column."""
    truth = np.array([spelling[0], spelling[1], spelling[0]], dtype=object)
    with pytest.raises(AuditInputError, match="both columns are coded 0/1"):
        encode_arrays(truth, [0, 1, 1], {"g": ["a", "b", "a"]}, pos_label="job")
    # The same column without a label is read as it is: True is the positive class.
    coded = encode_arrays(truth, [0, 1, 1], {"g": ["a", "b", "a"]})
    assert coded.y_true.tolist() == [1, 0, 1]


def test_a_negative_zero_in_a_float32_column_is_a_zero():
    """-0.0 (what negating a float column of 0/1 gives) equals 0, so a float32 column of -0.0
    and 1.0 is a 0/1 coding like any other: a label that names neither 0 nor 1 is refused, and
    without a label the column is read as 0 and 1."""
    truth = np.array([-0.0, 1.0, -0.0], dtype=np.float32)
    with pytest.raises(AuditInputError, match="both columns are coded 0/1"):
        encode_arrays(truth, [0, 1, 1], {"g": ["a", "b", "a"]}, pos_label="job")
    assert encode_arrays(truth, [0, 1, 1], {"g": ["a", "b", "a"]}).y_true.tolist() == [0, 1, 0]
