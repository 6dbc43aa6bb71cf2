"""The real commands on a new user's table: exit codes of `audit run` and what `audit assess` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.realdata.tables import dutch_table, tiny_reference_cell


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.cli", *args], capture_output=True, text=True, check=False
    )


def _spec(tmp_path: Path, data: Path, n_rules: list[dict[str, object]], **policy: object) -> Path:
    spec = {
        "name": "nieuwe-gebruiker",
        "data": {"file": str(data), "schema": "none"},
        "model": {
            "decisions": {"file": str(data), "decision_column": "advies01", "id_column": "id"}
        },
        "outcome": "werk01",
        "attributes": [
            {"column": "psy_voorgeschiedenis", "reference": "nee"},
            {"column": "woonsituatie", "reference": "eigen"},
        ],
        "statistics": {"n_boot": 200, "seed": 2},
        "policy": {"rules": n_rules, **policy},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "rapport"), "junit": True},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


GAP = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.05}


@pytest.mark.parametrize(
    ("n", "gaps", "policy", "code", "verdict"),
    [
        (400, (0.0, 0.0), {}, 3, "INCONCLUSIVE"),  # 400 people cannot place a 5-point gap
        (400, (0.0, 0.0), {"on_inconclusive": "pass"}, 0, "INCONCLUSIVE"),
        (20000, (0.2, 0.15), {}, 1, "FAIL"),  # injected gaps of 20 and 15 points
    ],
)
def test_exit_code_of_audit_run(
    tmp_path: Path,
    n: int,
    gaps: tuple[float, float],
    policy: dict[str, object],
    code: int,
    verdict: str,
) -> None:
    data = tmp_path / "mensen.csv"
    dutch_table(n, seed=1, gap_psy=gaps[0], gap_home=gaps[1]).to_csv(data, index=False)
    run = _cli("run", str(_spec(tmp_path, data, [GAP], **policy)))
    assert run.returncode == code, run.stdout + run.stderr
    assert f"verdict: {verdict}" in run.stdout
    summary = (tmp_path / "rapport" / "summary.md").read_text()
    assert summary.startswith(f"# Fairness audit `nieuwe-gebruiker`: {verdict}")
    assert "detectable gap" in summary


def test_assess_refuses_ja_nee_without_pos_label(tmp_path: Path) -> None:
    data = tmp_path / "mensen.csv"
    dutch_table().to_csv(data, index=False)
    run = _cli("assess", str(data), "--y-true", "werk01", "--y-pred", "advies", "-g", "Geslacht")
    assert run.returncode == 2
    assert "decision column 'advies'" in run.stderr and "--pos-label" in run.stderr


def test_assess_prints_the_reference_fallback(tmp_path: Path) -> None:
    data = tmp_path / "plaatsen.csv"
    tiny_reference_cell().to_csv(data, index=False)
    run = _cli(
        "assess",
        str(data),
        "--y-true",
        "y",
        "--y-pred",
        "d",
        "-g",
        "woonplaats",
        "-g",
        "herkomst",
        "-i",
        "2",
        "--reference",
        "woonplaats=stad",
        "--reference",
        "herkomst=NL",
        "--n-boot",
        "0",
    )
    assert run.returncode == 0, run.stderr
    assert "instead of stad × NL" in run.stdout
