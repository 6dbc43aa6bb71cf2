"""`audit assess` itself, run in this process: what each option does to what the command prints,
writes and refuses (issue 14; the formatters and the tables are pinned in
test_cli_output_by_hand.py, every option's value in test_cli_options.py).

The table: 80 people, regions a and b of 40; in each, every other row has the outcome (20 of 40).
Region a selects rows 0, 1 of every 4 (10 people with the outcome, 10 without): selection 0.500,
TPR 0.500, FPR 0.500, PPV 0.500. Region b selects row 0 of every 4 (only people without the
outcome): selection 10/40 = 0.250, TPR 0.000, FPR 0.500, PPV 0.000. Everything below is read
against these counts, and against the Python API given the same values written out here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from audit.cli import EXIT_INPUT_ERROR, EXIT_OK
from audit.disclosure import suppress
from audit.stats import cli
from audit.stats.assess import assess
from audit.stats.result import Assessment
from tests.in_process import run_command


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    i = np.arange(40)
    half = pd.DataFrame(
        {
            "y": i % 2,
            "score": np.where(i % 2 == 1, 0.7, 0.3),
            "w": np.where(i < 20, 1.0, 3.0),
            "sector": np.where(i % 8 < 4, "care", "retail"),
            "route": np.where(i % 3 == 0, "training", "placement"),
            "age": i,
        }
    )
    a = half.assign(region="a", d=((i % 4) < 2).astype(int))
    b = half.assign(region="b", d=((i % 4) == 0).astype(int))
    return pd.concat([a, b], ignore_index=True)


@pytest.fixture(scope="module")
def table(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("assess") / "decisions.csv"
    frame.to_csv(path, index=False)
    return path


def _run(
    args: list[str], mp: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_command(["assess", *args], mp)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _flat(text: str) -> str:
    return " ".join(text.split())


def _row(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`."""
    for line in text.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip()[1:-1].split("│")]
            if cells[0] == first:
                return cells
    raise AssertionError(f"no row {first!r} in\n{text}")


def _interval(m: Any) -> str:
    return f"{m.value:.3f} [{m.ci_low:.3f}, {m.ci_high:.3f}]"


# ---------------------------------------------------------------------------------------------
# the defaults


def test_without_options_the_documented_defaults_are_used(
    table: Path,
    frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No option but the columns: one attribute, no intersections, the largest group as the
    reference, 1,000 multinomial replicates with seed 0, alpha 0.05 (95% intervals), Holm,
    no margin, 30 rows for a reliable group, 10 for a denominator and for a published cell, at
    most 50 groups and 20 numeric values; quiet (MLflow kept at WARNING). The JSON equals the
    API's result with its own defaults, made publishable; the console opens with the headline
    that names the replicates, the interval level and the correction."""
    monkeypatch.delenv("MLFLOW_LOGGING_LEVEL", raising=False)
    out = tmp_path / "r.json"
    code, printed, _ = _run(
        [str(table), "--group", "region", "--y-true", "y", "--y-pred", "d", "--json", str(out)],
        monkeypatch,
        capsys,
    )
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    s = written.settings
    assert (s.y_true, s.y_pred, s.score, s.weight, s.groups) == ("y", "d", None, None, ("region",))
    assert (s.intersections, s.reference, s.reference_rule) == (1, {}, "largest")
    assert (s.n_boot, s.bootstrap, s.seed) == (1000, "multinomial", 0)
    assert (s.alpha, s.correction, s.test_margin) == (0.05, "holm", 0.0)
    assert (s.min_group_size, s.min_denominator, s.min_cell_size) == (30, 10, 10)
    assert (s.max_levels, s.max_numeric_levels) == (50, 20)
    assert (s.legitimate_factors, s.factor_bins, s.track) == ((), {}, None)
    assert written == suppress(assess(frame, y_true="y", y_pred="d", groups=["region"]))
    assert printed.splitlines()[0] == (
        "80 rows, groups by region; 95% intervals, 1000 bootstrap replicates, holm correction"
    )
    assert os.environ.get("MLFLOW_LOGGING_LEVEL") == "WARNING"  # not --verbose


def test_headline_rates_of_the_hand_made_table(
    table: Path,
    frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The group table the command prints: a 0.500 on all four rates, b 0.250, 0.000, 0.500,
    0.000 (counts in the module docstring), each with the interval the JSON holds; both groups
    of 40, b the reference as --reference names it. --alpha 0.1 makes 90% intervals, --n-boot
    50 and --correction bh are named in the headline."""
    out = tmp_path / "r.json"
    code, printed, _ = _run(
        [str(table), "-g", "region", "--y-true", "y", "--y-pred", "d", "--alpha", "0.1",
         "--n-boot", "50", "--correction", "bh", "--reference", "region=b",
         "--json", str(out)],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    assert printed.splitlines()[0] == (
        "80 rows, groups by region; 90% intervals, 50 bootstrap replicates, bh correction"
    )
    expected = {"a": (0.5, 0.5, 0.5, 0.5), "b": (0.25, 0.0, 0.5, 0.0)}
    for level, rates in expected.items():
        metrics = [written.metric(name, ("region",), (level,)) for name in cli.HEADLINE_METRICS]
        assert [m.value for m in metrics] == pytest.approx(rates)
        label = level + (" (reference)" if level == "b" else "")
        cells = _row(printed, label)
        assert cells[:2] == [label, "40"]
        assert cells[2:6] == [_interval(m) for m in metrics]
    assert written.settings.reference == {"region": "b"}


def test_pos_label_makes_the_other_value_positive(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--pos-label 0 on 0/1 columns: 0 is the positive class of outcome and decision. In b, 30
    of 40 are "selected" (d = 0): 0.750; of the 20 with y = 0, 10 have d = 0: TPR 0.500; all 20
    with y = 1 have d = 0: FPR 1.000; of the 30 with d = 0, 10 have y = 0: PPV 0.333. Region a
    is symmetric: 0.500 throughout."""
    out = tmp_path / "r.json"
    code, printed, _ = _run(
        [str(table), "-g", "region", "--y-true", "y", "--y-pred", "d", "--pos-label", "0",
         "--n-boot", "0", "--json", str(out)],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    expected = {"a": (0.5, 0.5, 0.5, 0.5), "b": (0.75, 0.5, 1.0, 1 / 3)}
    for level, rates in expected.items():
        values = [
            written.metric(name, ("region",), (level,)).value for name in cli.HEADLINE_METRICS
        ]
        assert values == pytest.approx(rates)
    assert _row(printed, "b")[2].startswith("0.750 ")


# ---------------------------------------------------------------------------------------------
# the columns


def test_every_column_role_reaches_the_assessment(
    table: Path,
    frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Outcome, decision, score, weight, track, group and factor each reach `assess` in their
    own role: the JSON equals the API's with the same columns, and the console shows the
    weighted selection rate of a (rows 0-19 weigh 1, 20-39 weigh 3, selected alike: 0.500),
    the conditional table by sector and the track table, then the notes."""
    out = tmp_path / "r.json"
    code, printed, _ = _run(
        [str(table), "--group", "region", "--y-true", "y", "--y-pred", "d", "--score", "score",
         "--weight", "w", "--track", "route", "--factor", "sector", "--n-boot", "0",
         "--json", str(out)],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    s = written.settings
    assert (s.y_true, s.y_pred, s.score, s.weight, s.track) == ("y", "d", "score", "w", "route")
    assert s.groups == ("region",) and s.legitimate_factors == ("sector",)
    api = assess(
        frame, y_true="y", y_pred="d", groups=["region"], score="score", weight="w",
        track="route", legitimate_factors=["sector"], n_boot=0,
    )  # fmt: skip
    assert written == suppress(api)
    # b's selection weighted: rows 0, 4, ..., 16 weigh 1 (5 rows), 20, ..., 36 weigh 3 (5 rows):
    # 20 of 80 units of weight, 0.250; a: 40 of 80, 0.500.
    assert written.metric("selection_rate", ("region",), ("b",)).value == pytest.approx(0.25)
    assert any(m.metric == "auc" for m in written.metrics)  # the score is assessed
    assert sorted(written.track_labels) == ["placement", "training"]
    lines = [line.strip() for line in printed.splitlines()]
    assert "region, within strata of sector" in lines
    assert "track shares by region" in lines
    assert len(written.notes) >= 2  # weighted counts; disclosure control
    notes = " ".join(f"note: {n}" for n in written.notes)
    assert _flat(printed).endswith(_flat(notes))  # every note, whole, and last


def test_repeated_groups_and_factors_all_count(
    table: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--group and --factor are repeatable: every one given is used, in order."""
    out = tmp_path / "r.json"
    code, _, _ = _run(
        [str(table), "-g", "region", "-g", "sector", "--y-pred", "d", "--factor", "route",
         "--factor", "w", "--n-boot", "0", "--json", str(out)],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == EXIT_OK
    s = Assessment.from_json(out.read_text("utf-8")).settings
    assert s.groups == ("region", "sector") and s.legitimate_factors == ("route", "w")
    assert s.y_true is None


def test_group_bins_cut_a_numeric_group_at_its_quantiles(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """age (0-39 in each region) has 40 values, over the 20 a numeric group may have: refused,
    with --group-bins as the fix. --group-bins age=2 cuts it at its median into two groups of
    40 (ages 0-19 and 20-39); each selects 10 in a and 5 in b: 15/40 = 0.375."""
    base = [str(table), "-g", "age", "--y-pred", "d", "--n-boot", "0"]
    code, printed, err = _run(base, monkeypatch, capsys)
    assert (code, printed) == (EXIT_INPUT_ERROR, "")
    assert _flat(err).startswith(
        "error: group column 'age': expected groups: at most 20 distinct values in a numeric "
        "column; found 40 distinct numbers from 0 to 39"
    )
    assert "--group-bins age=5" in _flat(err)
    out = tmp_path / "r.json"
    code, _, _ = _run([*base, "--group-bins", "age=2", "--json", str(out)], monkeypatch, capsys)
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    assert written.settings.group_bins == {"age": 2}
    groups = [g for g in written.groups if g.attributes == ("age",)]
    assert [g.n_rows for g in groups] == [40, 40]
    rates = [written.metric("selection_rate", ("age",), g.levels).value for g in groups]
    assert rates == pytest.approx([0.375, 0.375])


def test_a_score_without_an_outcome_or_a_threshold_is_refused(
    table: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--score with --y-pred but neither --y-true nor --threshold: the score would be assessed
    against nothing, so the command stops (exit 2) and says so, before printing anything."""
    code, printed, err = _run(
        [str(table), "-g", "region", "--y-pred", "d", "--score", "score", "--n-boot", "0"],
        monkeypatch,
        capsys,
    )
    assert (code, printed) == (EXIT_INPUT_ERROR, "")
    assert _flat(err) == _flat(
        "error: score column 'score': expected an outcome column to assess the score against "
        "(AUC, calibration); found a score and no outcome.\nHint: name the outcome column "
        "(--y-true), or leave the score out: without an outcome only the decisions are audited"
    )


def test_the_columns_given_to_assess() -> None:
    """`_Roles.arguments`: every column in its own keyword; the score is assessed unless it
    only made the decisions (--threshold without an outcome)."""
    roles = cli._Roles("y", "d", "s", "w", "t", ["g", "h"], ["f"])
    expected = dict(
        y_true="y", y_pred="dec", groups=["g", "h"], score="s", weight="w",
        legitimate_factors=["f"], track="t",
    )  # fmt: skip
    assert roles.arguments("dec", None) == expected
    assert roles.arguments("dec", 0.5) == expected  # with an outcome, the score is assessed
    no_outcome = cli._Roles(None, None, "s", None, None, ["g"], [])
    assert no_outcome.arguments("dec", 0.5) == dict(
        y_true=None, y_pred="dec", groups=["g"], score=None, weight=None,
        legitimate_factors=[], track=None,
    )  # fmt: skip
    assert no_outcome.arguments("d", None)["score"] == "s"  # refused later, by assess
    assert roles.used == ["y", "d", "s", "w", "t", "g", "h", "f"]


# ---------------------------------------------------------------------------------------------
# --json


def test_json_is_checked_before_the_assessment(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --json path that cannot be written (a folder; a file under a file) stops the command
    at once, exit 2, with the path in the message and nothing assessed or printed."""
    base = [str(table), "-g", "region", "--y-pred", "d", "--n-boot", "0", "--json"]
    folder = tmp_path / "out"
    folder.mkdir()
    code, printed, err = _run([*base, str(folder)], monkeypatch, capsys)
    assert (code, printed) == (EXIT_INPUT_ERROR, "")
    assert _flat(err) == _flat(
        f"error: --json '{folder}': expected a file path; found '{folder}' is a directory.\n"
        "Hint: choose another path, or create the folder and give this user write access"
    )
    plain = tmp_path / "plain.txt"
    plain.write_text("x", "utf-8")
    inside = plain / "r.json"
    code, printed, err = _run([*base, str(inside)], monkeypatch, capsys)
    assert (code, printed) == (EXIT_INPUT_ERROR, "")
    assert _flat(err) == _flat(
        f"error: --json '{inside}': expected a path whose folders can be created; found "
        f"'{plain}' is a file, so no folder can be made inside it.\n"
        "Hint: choose another path, or create the folder and give this user write access"
    )
    assert plain.read_text("utf-8") == "x"


def test_json_overwrites_a_file_and_makes_missing_folders(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing file at --json is replaced by the result; a path in folders still missing
    gets them made. The same run also prints its summary."""
    base = [str(table), "-g", "region", "--y-pred", "d", "--n-boot", "0", "--json"]
    old = tmp_path / "old.json"
    old.write_text("{}", "utf-8")
    for path in (old, tmp_path / "new" / "deeper" / "r.json"):
        code, printed, _ = _run([*base, str(path)], monkeypatch, capsys)
        assert code == EXIT_OK
        written = Assessment.from_json(path.read_text("utf-8"))
        assert written.n_rows == 80 and written.settings.y_pred == "d"
        assert printed.startswith("80 rows, groups by region; 95% intervals, 0 bootstrap")


# ---------------------------------------------------------------------------------------------
# the engine


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--engine", "numpy", "--spark-master", "local[2]"],
            "--spark-master/--spark-conf: expected Spark settings only with the Spark engine; "
            "found --engine numpy.\nHint: drop --engine numpy (the Spark options imply --engine "
            "spark), or the Spark options",
        ),
        (
            ["--engine", "dask"],
            "--engine 'dask': expected numpy (in memory) or spark (where the data lives); found "
            "'dask'.\nHint: pass --engine numpy or --engine spark",
        ),
    ],
    ids=["numpy-with-master", "unknown-engine"],
)
def test_engine_refusals(
    options: list[str],
    message: str,
    table: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Engine options that contradict each other stop the command (exit 2) before anything is
    read, with the expected value, what was found and the fix."""
    code, printed, err = _run(
        [str(table), "-g", "region", "--y-pred", "d", "--n-boot", "0", *options],
        monkeypatch,
        capsys,
    )
    assert (code, printed) == (EXIT_INPUT_ERROR, "")
    assert _flat(err) == _flat(f"error: {message}")


# ---------------------------------------------------------------------------------------------
# the console


def test_console_is_the_terminal_width_on_a_terminal_and_140_in_a_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal the console takes the terminal's width (here COLUMNS=97); into a log or a
    pipe it is 140 columns, whatever the terminal says."""
    monkeypatch.setenv("COLUMNS", "97")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert cli.console().width == 97
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert cli.console().width == 140
    assert isinstance(cli.console(), Console)
