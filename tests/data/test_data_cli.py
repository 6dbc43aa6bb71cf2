"""`audit data generate` writes all files or none and exits 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit.data import InjectedTruth, load_people, load_vacancies


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audit.cli", "data", *args],
                          capture_output=True, text=True, check=False)


def test_generate_writes_people_vacancies_and_truth(tmp_path: Path):
    out, vac, truth = tmp_path / "people.parquet", tmp_path / "vac.csv", tmp_path / "truth.json"
    result = _run("generate", "--scenario", "h1_steering", "--n", "2000", "--seed", "3",
                  "--knob", "sheltered_odds_ratio=5", "--out", str(out),
                  "--vacancies-out", str(vac), "--truth-out", str(truth))
    assert result.returncode == 0, result.stderr
    assert len(load_people(out)) == 2000
    assert len(load_vacancies(vac)) == 200
    record = InjectedTruth.from_dict(json.loads(truth.read_text()))
    assert record.effect("H1") is not None and record.effect("H1").value == 5.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.parquet", "truth.json",
                                                          "vac.csv"]


@pytest.mark.parametrize(("args", "message"), [
    (["--scenario", "nope"], "scenario: expected one of no_bias"),
    (["--scenario", "h1_steering", "--knob", "sheltered_odds_ratio=0"], "[1, 50]"),
    (["--knob", "oops"], "option --knob: expected name=value"),
    (["--n", "0"], "n: expected a whole number"),
    (["--truth-out", "truth.txt"], "option --truth-out: expected a file ending in .json"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args, message):
    args = [a if not a.endswith(".txt") else str(tmp_path / a) for a in args]
    result = _run("generate", "--out", str(tmp_path / "people.parquet"),
                  "--truth-out" if "--truth-out" not in args else "--n",
                  str(tmp_path / "t.json") if "--truth-out" not in args else "100", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_scenarios_lists_every_scenario_and_knob():
    result = _run("scenarios", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["scenario"] == "no_bias"
    assert any(k["name"] == "sheltered_odds_ratio" for r in rows for k in r["knobs"])
