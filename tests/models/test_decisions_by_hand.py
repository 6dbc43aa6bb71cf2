"""The decisions loader by hand: what a decisions file must hold, how it is read, and what each
refusal says (the subject, what was expected, what was found and the fix, written out here).

A decisions file stands in for a model we cannot run, so every figure it gives the audit (the
0/1 decisions, the scores, the tracks, the identity in the manifest) is checked against the file
itself: values written into the file, hashes recomputed from its bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.models.importing import DecisionsModel, load_model
from audit.models.inputs import InputColumn

RECODE = "Hint: correct the file or name another column"


def _csv(tmp_path: Path, columns: dict[str, list[object]], name: str = "d.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def _refusal(path: Path, **columns: str) -> str:
    with pytest.raises(AuditInputError) as err:
        load_model(path, **columns)  # type: ignore[arg-type]
    return str(err.value)


# --- the file and its columns --------------------------------------------------------------------


def test_a_decisions_file_without_any_column_named_is_refused_with_the_three_options(
    tmp_path: Path,
) -> None:
    """No decision, score or track column named: the file is named, and the three flags."""
    path = _csv(tmp_path, {"decision": [0, 1]})
    assert _refusal(path) == (
        f"decisions file '{path}': expected the name of at least one of its decision, score or "
        "track columns; found none given.\n"
        "Hint: pass --decision-column, --score-column or --track-column"
    )


def test_an_unreadable_decisions_file_is_called_the_decisions_file(tmp_path: Path) -> None:
    """A file the table reader refuses (here: not UTF-8) is named as the decisions file."""
    path = tmp_path / "d.csv"
    path.write_bytes(b"decision\n1\n\xff\n")
    message = _refusal(path, decision_column="decision")
    assert message.startswith(f"decisions file '{path}': expected a CSV file in UTF-8 text; ")


def test_every_absent_column_is_named_and_the_files_first_15_columns_listed(
    tmp_path: Path,
) -> None:
    """Two columns absent: both named, comma-separated; a file of 20 columns shows its first 15."""
    names = [f"c{i:02d}" for i in range(20)]
    path = _csv(tmp_path, {c: [0, 1] for c in names})
    message = _refusal(path, decision_column="c03", score_column="risk", id_column="pid")
    listed = ", ".join(f"'c{i:02d}'" for i in range(15))  # c00 .. c14, not c15
    assert message == (
        f"decisions file '{path}': expected the columns 'c03', 'risk', 'pid'; found no column "
        f"'risk', 'pid'; it has {listed}.\n"
        "Hint: name the columns as they appear in the file"
    )


def test_the_identity_is_the_files_path_and_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    """The manifest records kind 'decisions', the path given and the hash of the file's bytes."""
    path = _csv(tmp_path, {"decision": [0, 1, 1]})
    model = load_model(path, decision_column="decision")
    assert model.kind == "decisions"
    assert model.identity.kind == "decisions"
    assert model.identity.uri == str(path)
    assert model.identity.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# --- the decision column -------------------------------------------------------------------------


def test_decisions_coded_true_false_are_read_as_integer_codes_0_and_1(tmp_path: Path) -> None:
    """True/False in the file become the integers 1/0, in the table and in predict(); a label
    read as text (as the pipeline reads predict()) is then '1'/'0', never '1.0'/'0.0'."""
    path = _csv(tmp_path, {"decision": [True, False, True, True]})
    model = load_model(path, decision_column="decision")
    people = pd.DataFrame(index=range(4))
    rows = model.rows_for(people)  # type: ignore[attr-defined]
    assert rows["decision"].dtype == np.int64
    assert rows["decision"].tolist() == [1, 0, 1, 1]
    labels = model.predict(people)
    assert labels.dtype == np.int64
    assert labels.tolist() == [1, 0, 1, 1]
    assert labels.astype(str).tolist() == ["1", "0", "1", "1"]


def test_scores_named_as_the_decision_column_are_refused_with_the_threshold_to_use(
    tmp_path: Path,
) -> None:
    """A column of scores is not a decision: the message counts its values and gives the spec."""
    path = _csv(tmp_path, {"s": [0.2, 0.9, 0.5, 0.2]})
    assert _refusal(path, decision_column="s") == (
        f"column 's' of decisions file '{path}': expected decisions coded 0/1 or True/False; "
        "found scores: 3 distinct values between 0.2 and 0.9.\n"
        "Hint: decide on the score with a threshold: in the spec, model.decisions: "
        "{score_column: s} (instead of decision_column) and decision: {threshold: 0.5}"
    )


def test_a_decision_column_of_other_words_is_refused_with_the_recode_fix(tmp_path: Path) -> None:
    """Three words are not a 0/1 coding: the file's column is named, with its values."""
    path = _csv(tmp_path, {"d": ["yes", "no", "maybe", "no"]})
    assert _refusal(path, decision_column="d") == (
        f"column 'd' of decisions file '{path}': expected decisions coded 0/1 or True/False; "
        "found 3 distinct value(s): maybe, no, yes.\n"
        "Hint: recode the column to 0/1 (or true/false), or name another column"
    )


def test_a_decisions_file_has_the_two_classes_0_and_1(tmp_path: Path) -> None:
    """Without a track column the classes are the strings '0' and '1' (profiling)."""
    model = load_model(_csv(tmp_path, {"decision": [0, 1]}), decision_column="decision")
    assert model.classes == ("0", "1")
    assert model.task == "profiling"


def test_predict_without_a_decision_column_says_only_scores_were_given(tmp_path: Path) -> None:
    """Scores alone give no decision: the message points to the flag or a BandPolicy."""
    path = _csv(tmp_path, {"risk": [0.2, 0.7]})
    model = load_model(path, score_column="risk")
    with pytest.raises(AuditInputError) as err:
        model.predict(pd.DataFrame(index=range(2)))
    assert str(err.value) == (
        f"decisions file '{path}': expected a decision column; found only scores.\n"
        "Hint: pass --decision-column, or turn scores into decisions with a BandPolicy"
    )


# --- the score column ----------------------------------------------------------------------------


def test_scores_of_exactly_0_and_1_are_accepted_and_give_both_class_probabilities(
    tmp_path: Path,
) -> None:
    """[0, 1] is closed: 0 and 1 are scores; predict_proba is (1 - s, s) row by row."""
    path = _csv(tmp_path, {"risk": [0.0, 1.0, 0.25]})
    model = load_model(path, score_column="risk")
    proba = model.predict_proba(pd.DataFrame(index=range(3)))
    np.testing.assert_array_equal(proba, [[1.0, 0.0], [0.0, 1.0], [0.75, 0.25]])


def test_scores_stored_as_float32_are_given_in_double_precision(tmp_path: Path) -> None:
    """A Parquet file of float32 scores: the probabilities are float64, 1 - s computed in float64."""
    path = tmp_path / "d.parquet"
    scores = np.array([0.3, 0.7, 0.1], dtype=np.float32)
    pd.DataFrame({"risk": scores}).to_parquet(path)
    model = load_model(path, score_column="risk")
    proba = model.predict_proba(pd.DataFrame(index=range(3)))
    assert proba.dtype == np.float64
    wide = scores.astype(np.float64)
    np.testing.assert_array_equal(proba[:, 1], wide)
    np.testing.assert_array_equal(proba[:, 0], 1.0 - wide)


@pytest.mark.parametrize(
    ("values", "found"),
    [
        ([0.2, None, 0.4], "1 missing or non-numeric, range [0.2, 0.4]"),
        ([0.2, "high", 0.4], "1 missing or non-numeric, range [0.2, 0.4]"),
        ([-0.1, 0.5, 0.4], "0 missing or non-numeric, range [-0.1, 0.5]"),
    ],
    ids=["missing", "text", "negative"],
)
def test_a_score_missing_non_numeric_or_below_0_is_refused(
    tmp_path: Path, values: list[object], found: str
) -> None:
    """Every row needs a number in [0, 1]; the message counts the gaps and gives the range."""
    path = _csv(tmp_path, {"risk": values})
    assert _refusal(path, score_column="risk") == (
        f"column 'risk' of decisions file '{path}': expected scores between 0 and 1 in every "
        f"row; found {found}.\n{RECODE}"
    )


def test_predict_proba_without_a_score_column_says_none_was_named(tmp_path: Path) -> None:
    """Probability-based metrics need the score column: the message gives the flag."""
    path = _csv(tmp_path, {"decision": [0, 1]})
    model = load_model(path, decision_column="decision")
    with pytest.raises(AuditInputError) as err:
        model.predict_proba(pd.DataFrame(index=range(2)))
    assert str(err.value) == (
        f"decisions file '{path}': expected a score column for probability-based metrics; "
        "found no score column named.\n"
        "Hint: pass --score-column, or audit the decisions only"
    )


# --- the track column ----------------------------------------------------------------------------


def test_the_tracks_are_the_files_own_labels_sorted(tmp_path: Path) -> None:
    """A track column makes a track recommender whose classes are its labels, sorted."""
    path = _csv(tmp_path, {"track": ["work", "training", "care", "work"]})
    model = load_model(path, track_column="track")
    assert model.classes == ("care", "training", "work")
    assert model.task == "track"
    assert model.predict(pd.DataFrame(index=range(4))).tolist() == [
        "work", "training", "care", "work"
    ]


def test_two_different_tracks_are_enough(tmp_path: Path) -> None:
    """Exactly two tracks is a valid track column (the refusal is for a single one)."""
    path = _csv(tmp_path, {"track": ["work", "care", "work"]})
    assert load_model(path, track_column="track").classes == ("care", "work")


def test_a_missing_track_is_refused_and_counted(tmp_path: Path) -> None:
    """Every row needs a recommended track: the missing ones are counted."""
    path = _csv(tmp_path, {"track": ["work", None, "care"]})
    assert _refusal(path, track_column="track") == (
        f"column 'track' of decisions file '{path}': expected a recommended track in every row; "
        f"found 1 missing values.\n{RECODE}"
    )


@pytest.mark.parametrize("rows", [1, 3])
def test_a_single_track_is_refused_and_named(tmp_path: Path, rows: int) -> None:
    """One track for everybody (in a file of one row or of several) recommends nothing."""
    path = _csv(tmp_path, {"track": ["work"] * rows})
    assert _refusal(path, track_column="track") == (
        f"column 'track' of decisions file '{path}': expected at least two different tracks; "
        f"found the single track 'work'.\n{RECODE}"
    )


# --- matching the file's rows to the audited rows -------------------------------------------------


def test_rows_by_position_are_the_files_rows_and_columns_renumbered(tmp_path: Path) -> None:
    """Matched by position, the rows are the file's, with its own columns only (even one
    called 'index') and a fresh 0..n-1 index."""
    path = _csv(tmp_path, {"index": [7, 8, 9], "decision": [1, 0, 1]})
    model = load_model(path, decision_column="decision")
    rows = model.rows_for(pd.DataFrame(index=[10, 20, 30]))  # type: ignore[attr-defined]
    assert rows.columns.tolist() == ["index", "decision"]
    assert rows.index.tolist() == [0, 1, 2]
    assert rows["index"].tolist() == [7, 8, 9]


def test_a_different_number_of_rows_without_ids_is_refused(tmp_path: Path) -> None:
    """Matching by position needs one row per audited row: both counts and the flag to use."""
    path = _csv(tmp_path, {"decision": [1, 0, 1, 0]})
    model = load_model(path, decision_column="decision")
    with pytest.raises(AuditInputError) as err:
        model.predict(pd.DataFrame(index=range(3)))
    assert str(err.value) == (
        f"decisions file '{path}': expected one row per audited row (3); found 4 rows.\n"
        "Hint: pass --id-column to match rows by id"
    )


def test_matching_by_id_reads_the_id_column_and_needs_it_in_the_data(tmp_path: Path) -> None:
    """With an id column, that column is what the model reads (text ids: a string column), and
    data without it is refused naming the decisions file."""
    path = _csv(tmp_path, {"pid": ["a", "b", "c"], "decision": [1, 0, 1]})
    model = load_model(path, decision_column="decision", id_column="pid")
    assert model.expected_columns == (InputColumn("pid", "string"),)
    numeric = _csv(tmp_path, {"pid": [3, 1, 2], "decision": [1, 0, 1]}, name="n.csv")
    by_number = load_model(numeric, decision_column="decision", id_column="pid")
    assert by_number.expected_columns == (InputColumn("pid", "numeric"),)
    assert by_number.predict(pd.DataFrame({"pid": [2, 3, 1]})).tolist() == [1, 1, 0]
    with pytest.raises(AuditInputError) as err:
        model.predict(pd.DataFrame({"person": ["a", "b", "c"]}))
    assert str(err.value).startswith(
        "data for decisions file 'd.csv': expected the columns 'pid' (string); "
        "found missing columns 'pid'."
    )


def test_ids_without_a_decision_are_counted_and_the_first_three_shown(tmp_path: Path) -> None:
    """Five audited ids the file lacks: all five counted, three shown, and the two fixes."""
    path = _csv(tmp_path, {"pid": ["a", "b"], "decision": [1, 0]})
    model = load_model(path, decision_column="decision", id_column="pid")
    data = pd.DataFrame({"pid": ["a", "x1", "x2", "b", "x3", "x4", "x5"]})
    with pytest.raises(AuditInputError) as err:
        model.predict(data)
    assert str(err.value) == (
        f"decisions file '{path}': expected a row for every 'pid' in the data; found 5 ids "
        "without a decision, e.g. x1, x2, x3.\n"
        "Hint: audit only the people the decisions cover, or complete the file"
    )


def test_a_repeated_id_is_refused_and_the_repeats_counted(tmp_path: Path) -> None:
    """One row per person: 'a' three times and 'b' once over is three repeated ids."""
    path = _csv(tmp_path, {"pid": ["a", "b", "a", "a", "c", "b"], "decision": [1, 0, 1, 1, 0, 0]})
    assert _refusal(path, decision_column="decision", id_column="pid") == (
        f"column 'pid' of decisions file '{path}': expected one row per person; "
        f"found 3 repeated ids.\n{RECODE}"
    )


def test_the_loader_is_the_decisions_model(tmp_path: Path) -> None:
    """load_model on a .csv gives the DecisionsModel these tests exercise."""
    path = _csv(tmp_path, {"decision": [0, 1]})
    assert isinstance(load_model(path, decision_column="decision"), DecisionsModel)
