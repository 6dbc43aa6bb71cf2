"""The README's first command: the embedded default spec, at full size, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_default_spec_runs_end_to_end_and_the_gate_finds_the_injected_harms(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.cli",
            "run",
            "examples/belgian-profiling.yaml",
            "--tracking-uri",
            store,
            "--out",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr  # every harm is injected: the gate must fail
    assert "verdict: FAIL" in done.stdout
    verdict = json.loads((tmp_path / "report" / "verdict.json").read_text())
    failing = {
        (tuple(f["attributes"]), tuple(f["levels"]))
        for rule in verdict["rules"]
        for f in rule["findings"]
        if f["decides"]
    }
    # The groups the population was built to harm are among those the gate blames.
    assert (("mental_health_history",), ("True",)) in failing
    assert (("housing_status",), ("homeless",)) in failing
    assert (("digital_literacy",), ("low",)) in failing
    client = mlflow.MlflowClient(tracking_uri=store)
    (run,) = client.search_runs(
        [client.get_experiment_by_name("fairness-audit/profiling-reference").experiment_id]
    )
    assert run.info.status == "FINISHED" and run.data.tags["audit.verdict"] == "fail"
    version = client.get_model_version("profiling-reference", "1")
    assert version.tags["fairness_audit.run_id"] == run.info.run_id
