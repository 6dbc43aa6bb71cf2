"""The README's first command: the embedded default runs end to end and leaves its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.demo import run_demo


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the demo writes mlruns/ and reports/ where it runs
    out = run_demo(out_dir=Path("reports/demo"), tracking_uri="sqlite:///mlruns/mlflow.db", n=6000)
    result = json.loads(out.read_text())
    assert result["schema_version"] == "1.0"
    assert set(result["settings"]["groups"]) == {
        "mental_health_history", "housing_status", "digital_literacy"}
    # Every harm is injected in the demo population: the audit must find disparities.
    assert any(d["significant"] for d in result["disparities"])
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()
    assert not list((tmp_path / "reports" / "demo").glob(".*tmp"))  # no half-written files
