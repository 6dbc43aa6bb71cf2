"""The registry examples chained as CI runs them: register a candidate, gate it against production."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from audit.errors import AuditInputError
from audit.pipeline import RunOptions, run_audit
from audit.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]


def example(name: str, store: str, out: Path) -> tuple[str, RunOptions]:
    text = (ROOT / "examples" / f"{name}.yaml").read_text()
    text = text.replace("n: 60000", "n: 6000").replace("n: 40000", "n: 4000")
    text = text.replace("n_boot: 1000", "n_boot: 200")
    return text, RunOptions(tracking_uri=store, report_dir=out)


def test_candidate_against_champion(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/mlflow.db"
    text, options = example("belgian-profiling", store, tmp_path / "first")
    run_audit(parse_spec(text), spec_text=text, options=options)  # registers version 1 @candidate

    text, options = example("registry-candidate", store, tmp_path / "gate")
    missing = RunOptions(**{**options.__dict__, "baseline": "models:/profiling-reference@champion"})
    with pytest.raises(AuditInputError, match="models:/profiling-reference@champion"):
        run_audit(parse_spec(text), spec_text=text, options=missing)
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    failed = client.search_runs(
        [client.get_experiment_by_name("fairness-audit/profiling-reference").experiment_id],
        filter_string="attributes.status = 'FAILED'",
    )
    assert len(failed) == 1 and "champion" in failed[0].data.tags["audit.error"]
    assert not (tmp_path / "gate").exists()  # no report from a failed audit

    client.set_registered_model_alias("profiling-reference", "champion", "1")
    gated = RunOptions(
        **{**missing.__dict__, "promote": "champion", "junit": tmp_path / "junit.xml"}
    )
    outcome = run_audit(parse_spec(text), spec_text=text, options=gated)
    rules = {r.rule_id: r.status for r in outcome.verdict.rules}
    # Candidate and champion are the same version: nothing regresses, the absolute rules fail.
    assert rules == {
        "four-fifths": "fail",
        "equal-opportunity": "fail",
        "four-fifths.non_regression": "pass",
        "equal-opportunity.non_regression": "pass",
    }
    assert outcome.promoted is False
    assert str(client.get_model_version_by_alias("profiling-reference", "champion").version) == "1"
    assert (tmp_path / "junit.xml").is_file()
