"""A quiet, explained terminal: `audit run` prints the audit and no library's warnings; the
gate table says what its columns mean; `--verbose` shows what normal output leaves out.

The spec has a significance rule: pydantic warned on every run with one (a serializer warning,
fixed in audit.spec). The files are not ours: other column names and labels, 400 people.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ("compared", "pass", "fail", "inconclusive", "detectable")


def _spec(root: Path) -> Path:
    rng = np.random.default_rng(12)
    n = 400
    people = pd.DataFrame(
        {
            "person": [f"p{i:04d}" for i in range(n)],
            "sexe": rng.choice(["F", "M"], n),
            "statut_logement": rng.choice(["locataire", "proprio", "sans abri"], n, p=[0.5, 0.3, 0.2]),
            "emploi_6m": rng.choice(["oui", "non"], n),
        }
    )  # fmt: skip
    decisions = pd.DataFrame(
        {"person": people["person"], "orientation": rng.integers(0, 2, n), "proba": rng.uniform(size=n)}
    )  # fmt: skip
    people.to_csv(root / "personnes.csv", index=False)
    decisions.to_csv(root / "decisions.csv", index=False)
    spec = {
        "name": "quiet",
        "data": {"file": str(root / "personnes.csv"), "schema": "none"},
        "model": {
            "decisions": {
                "file": str(root / "decisions.csv"),
                "id_column": "person",
                "decision_column": "orientation",
                "score_column": "proba",
            }
        },
        "outcome": "emploi_6m",
        "outcome_positive": "oui",
        "attributes": [{"column": "statut_logement", "reference": "locataire"}, "sexe"],
        "statistics": {"n_boot": 40, "seed": 3, "min_group_size": 20},
        "policy": {
            "rules": [
                {"id": "parity", "metric": "selection_rate", "kind": "difference", "max_abs": 0.2},
                {"id": "no-gap", "no_significant_disparity": ["tpr"]},
            ]
        },
        "tracking": {"uri": f"sqlite:///{root}/mlruns/mlflow.db"},
        "report": {"dir": str(root / "report")},
    }
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _run(spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh MLflow store per run: creating it is where MLflow talks most.
    shutil.rmtree(spec.parent / "mlruns", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env.update(PYTHONPATH=str(ROOT), MLFLOW_DISABLE_TELEMETRY="true", COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", str(spec), *args],
        cwd=spec.parent, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1, 3), done.stderr
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    spec = _spec(tmp_path_factory.mktemp("quiet"))
    return {"normal": _run(spec), "verbose": _run(spec, "--verbose")}


def test_normal_output_carries_no_library_warning(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    normal = runs["normal"]
    assert "verdict:" in normal.stdout  # the audit itself is printed
    for stream in (normal.stdout, normal.stderr):
        assert "Warning" not in stream
        assert "warnings.warn" not in stream
        assert "-0.000" not in stream


def test_verbose_shows_what_normal_output_leaves_out(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    normal, verbose = runs["normal"].stderr.splitlines(), runs["verbose"].stderr.splitlines()
    assert len(verbose) > len(normal)
    extra = [line for line in verbose if line not in normal]
    assert any("Warning" in line or " INFO " in line for line in extra), extra
    assert runs["verbose"].stdout.count("verdict:") == 1


def test_the_gate_table_says_what_its_columns_mean_in_the_terminal_and_the_summary(
    runs: dict[str, subprocess.CompletedProcess[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = " ".join(runs["normal"].stdout.split())  # the caption is wrapped to the terminal
    summary = next(tmp_path_factory.getbasetemp().glob("quiet*/report/summary.md")).read_text()
    for column in COLUMNS:
        assert f"{column}:" in out or f"/ {column}" in out or f"{column} /" in out
        assert f"*{column}" in summary
    assert "never deciding" in out and "never decisive" in summary


VERBOSITY = """
import warnings, sys
from audit.verbosity import configure_output
configure_output(verbose=sys.argv[1] == "yes")
warnings.warn("a library changes its defaults", FutureWarning)
warnings.warn("a library deprecates a call", DeprecationWarning)
"""


@pytest.mark.parametrize(
    ("flags", "verbose", "shown", "hidden"),
    [
        ([], "no", [], ["FutureWarning", "DeprecationWarning"]),
        ([], "yes", ["FutureWarning", "DeprecationWarning"], []),
        (["-W", "always::FutureWarning"], "no", ["FutureWarning"], []),  # the user's -W wins
    ],
)
def test_configure_output_hides_library_warnings_unless_verbose(
    flags: list[str], verbose: str, shown: list[str], hidden: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, *flags, "-c", VERBOSITY, verbose],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert all(category in done.stderr for category in shown), done.stderr
    assert not any(category in done.stderr for category in hidden), done.stderr
