"""Bad input gets one clear message (expected / found / fix) and exit code 2; nothing is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.stats.assess import assess
from audit.stats.simulate import simulate_decisions


@pytest.fixture
def frame() -> pd.DataFrame:
    return simulate_decisions(200, seed=0, score=True)


def _message(frame: pd.DataFrame, **kw) -> str:
    args = dict(y_true="y", y_pred="d", groups=["housing"], n_boot=0) | kw
    with pytest.raises(AuditInputError) as err:
        assess(frame, **args)
    return str(err.value)


def test_unknown_column(frame):
    assert _message(frame, y_pred="decision") == (
        "decision column 'decision': expected a column of the data; found no such column "
        "(columns are: mh, housing, digital, y, d, s).\n"
        "Hint: pass the name of the column that holds the decision"
    )


def test_labels_with_more_than_two_classes(frame):
    frame.loc[:2, "y"] = 2
    assert _message(frame) == (
        "outcome column 'y': expected two classes coded 0/1 or True/False; "
        "found 3 distinct value(s): 0, 1, 2.\n"
        "Hint: binarise the column first, e.g. one class against the rest"
    )


def test_two_text_classes_need_a_positive_label(frame):
    text = frame.assign(y=np.where(frame["y"] == 1, "job", "no job"))
    assert "Hint: recode the column to 0/1, or name the positive class (--pos-label)" in _message(
        text
    )
    result = assess(text, y_true="y", y_pred="d", groups=["housing"], n_boot=0, pos_label="job")
    assert result.n_rows == len(frame)


def test_scores_outside_the_unit_interval_or_missing(frame):
    frame.loc[0, "s"] = 1.7
    frame.loc[1, "s"] = np.nan
    assert _message(frame, score="s") == (
        "score column 's': expected probabilities in [0, 1] in every row; "
        "found 2 value(s) outside [0, 1] or missing, e.g. [1.7, nan].\n"
        "Hint: pass calibrated probabilities (not logits or ranks), and drop rows with no score"
    )


def test_group_column_with_a_single_value(frame):
    assert _message(frame.assign(one="x"), groups=["one"]) == (
        "group column 'one': expected at least two groups to compare; found a single value 'x'.\n"
        "Hint: choose a column whose values differ between people, or drop it from the groups"
    )


def test_negative_weights(frame):
    weights = np.ones(len(frame))
    weights[3] = -1
    message = _message(frame.assign(w=weights), weight="w")
    assert message.startswith(
        "weight column 'w': expected finite, non-negative sample weights; "
        "found 1 negative, infinite or missing weight(s)"
    )


def test_empty_table(frame):
    assert _message(frame.iloc[:0]) == (
        "decisions table: expected at least one row; found an empty table.\n"
        "Hint: check the file and any filter applied before the audit"
    )


def test_mismatched_lengths():
    from audit.stats.encoding import encode_arrays

    with pytest.raises(AuditInputError) as err:
        encode_arrays([0, 1, 1], [1, 0], {"g": ["a", "b", "a"]})
    assert str(err.value) == (
        "input arrays: expected the same number of rows in every input; "
        "found y_true: 3, y_pred: 2, groups: 3.\nHint: pass columns of one table, aligned row by row"
    )


def test_unknown_reference_level(frame):
    assert _message(frame, reference={"housing": "tent"}) == (
        "reference group 'tent': expected one of the groups present in the data; "
        "found no such group (groups are: homeless, stable, unstable).\n"
        "Hint: name a level that occurs in the group column, spelled as it is in the data"
    )


def test_option_out_of_range(frame):
    assert _message(frame, alpha=0.9).startswith("option alpha: expected a level between 0 and 0.5")
    assert _message(frame, intersections=3).startswith(
        "option intersections: expected an order from 1 to the number of attributes (1)"
    )
    assert _message(frame, correction="bonferroni").startswith("option correction: expected input")


# -- the command line ----------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.cli", *args], capture_output=True, text=True, check=False
    )


def test_cli_success_writes_json(tmp_path: Path, frame):
    data = tmp_path / "decisions.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "result.json"
    run = _cli(
        "assess",
        str(data),
        "--y-true",
        "y",
        "--y-pred",
        "d",
        "--score",
        "s",
        "--group",
        "housing",
        "--group",
        "mh",
        "--intersections",
        "2",
        "--n-boot",
        "50",
        "--json",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    assert "200 rows" in run.stdout
    assert "detectable gap" in run.stdout  # small groups say what they could have detected
    assert '"schema_version": "1.0"' in out.read_text()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "expected a table with at least one row; found an empty file"),
        ("y,d,housing\n", "expected a table with at least one row; found a header and no rows"),
        ("y,d,housing\n1,0,a\n2,1,b\n", "expected two classes coded 0/1 or True/False"),
        ("y,d,housing\n1,0,a\n0,1,a\n", "found a single value 'a'"),
    ],
)
def test_cli_bad_file_exits_2_and_writes_nothing(tmp_path: Path, content: str, expected: str):
    data = tmp_path / "decisions.csv"
    data.write_text(content)
    out = tmp_path / "result.json"
    run = _cli(
        "assess",
        str(data),
        "--y-true",
        "y",
        "--y-pred",
        "d",
        "--group",
        "housing",
        "--json",
        str(out),
    )
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [data]


def test_cli_missing_file_and_wrong_extension(tmp_path: Path):
    run = _cli("assess", str(tmp_path / "nope.csv"), "--y-true", "y", "--y-pred", "d", "-g", "g")
    assert run.returncode == 2
    assert "expected an existing file; found no such file" in run.stderr
    odd = tmp_path / "decisions.xlsx"
    odd.write_text("x")
    run = _cli("assess", str(odd), "--y-true", "y", "--y-pred", "d", "-g", "g")
    assert run.returncode == 2
    assert "expected a .csv or .parquet file; found the extension '.xlsx'" in run.stderr


def test_cli_usage_error_exits_2(tmp_path: Path):
    run = _cli("assess", "x.csv", "--y-true", "y", "--y-pred", "d")
    assert run.returncode == 2
    assert "Missing option '--group'" in run.stderr
