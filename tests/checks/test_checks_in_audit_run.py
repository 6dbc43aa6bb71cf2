"""Harm checks inside `audit run`, on a log we did not make: the result file, the gate's
harm_check rules both ways, the review file of flagged cases (salted ids, never published,
never in MLflow), and what is refused before any work."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from rich.console import Console

from audit.cli import main
from audit.errors import AuditInputError
from audit.pipeline import AuditOutcome, run_audit
from audit.spec import SpecProblem, parse_spec
from tests.checks.tables import orientation_log

SALT = "a-salt-of-the-service-0042"


def _spec(tmp_path: Path, log: Path, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "orientation-bxl",
        "data": {"file": str(log)},
        "model": {
            "decisions": {"file": str(log), "track_column": "orientation", "id_column": "dossier"}
        },
        "attributes": [{"column": "sante_mentale", "reference": "non"}],
        "legitimate_factors": ["capacite_evaluee"],
        "statistics": {"n_boot": 50, "seed": 1},
        "checks": [
            {"check": "steering", "track": "atelier_protege", "cases": True},
        ],
        "cases": {"dir": str(tmp_path / "reviews"), "id_column": "dossier"},
        "policy": {
            "rules": [
                {"id": "share", "metric": "track_share", "track": "soins", "max_abs": 0.9},
                {"id": "no-steering", "harm_check": "steering"},
            ]
        },
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "out"), "junit": False, "formats": []},
    }
    spec.update(changes)
    return spec


def _run(spec: dict[str, Any]) -> AuditOutcome:
    text = yaml.safe_dump(spec, sort_keys=False)
    return run_audit(parse_spec(text), spec_text=text, console=Console(file=io.StringIO()))


def _log(tmp_path: Path, n: int, seed: int, steering_odds: float) -> Path:
    path = tmp_path / "orientations.csv"
    orientation_log(n, seed, steering_odds).to_csv(path, index=False)
    return path


def test_steering_fails_the_gate_and_lists_the_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_CASE_SALT", SALT)
    log = _log(tmp_path, 3000, 2, steering_odds=4.0)
    outcome = _run(_spec(tmp_path, log))
    rule = next(r for r in outcome.verdict.rules if r.rule_id == "no-steering")
    assert rule.status == "fail" and outcome.verdict.label == "fail"
    # A track's share is read without an observed outcome (it was refused before this issue).
    share = next(r for r in outcome.verdict.rules if r.rule_id == "share")
    assert share.status == "pass" and share.evaluated == 1
    (finding,) = rule.findings
    assert finding.code == "HARM_FOUND" and finding.decides
    assert "sante_mentale=oui" in finding.sentence
    written = json.loads((tmp_path / "out" / "checks.json").read_text())
    (check,) = written["checks"]
    assert check["status"] == "finding" and check["code"] == "H1"
    flagged = len(outcome.checks[0].cases)
    assert flagged >= 10 and check["flagged"] == flagged
    # The review file: one line per flagged case, ids recomputed by hand from the salt.
    cases = pd.read_csv(tmp_path / "reviews" / "cases.csv", dtype=str)
    assert len(cases) == flagged
    people = pd.read_csv(log, dtype=str)
    rows = [c.row for c in outcome.checks[0].cases]
    expected = [
        hmac.new(SALT.encode(), d.encode(), hashlib.sha256).hexdigest()[:20]
        for d in people["dossier"].iloc[rows]
    ]
    assert cases["case"].tolist() == expected
    review = (tmp_path / "reviews" / "cases.csv").read_text() + (
        tmp_path / "reviews" / "cases.html"
    ).read_text()
    assert "BXL-" not in review and "sante_mentale" not in review and "oui" not in review
    # Nothing of the cases in the published folder.
    published = " ".join(p.read_text() for p in (tmp_path / "out").iterdir())
    assert not any(e in published for e in expected)


def test_a_service_whose_gap_capacity_explains_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_CASE_SALT", SALT)
    outcome = _run(_spec(tmp_path, _log(tmp_path, 20_000, 3, steering_odds=1.0)))
    rule = next(r for r in outcome.verdict.rules if r.rule_id == "no-steering")
    assert rule.status == "pass" and not rule.findings


def test_when_the_data_cannot_tell_the_rule_is_inconclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_CASE_SALT", SALT)
    outcome = _run(_spec(tmp_path, _log(tmp_path, 400, 3, steering_odds=1.0)))
    rule = next(r for r in outcome.verdict.rules if r.rule_id == "no-steering")
    assert rule.status == "inconclusive"
    assert rule.findings[0].code == "HARM_INCONCLUSIVE"
    assert outcome.verdict.label == "inconclusive"


def test_a_skipped_check_leaves_its_rule_not_evaluable_and_the_others_run(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 1500, 3, steering_odds=1.0)
    spec = _spec(
        tmp_path,
        log,
        checks=[
            {"check": "H1", "id": "typo", "track": "atelier"},
            {"check": "H1", "id": "steering", "track": "atelier_protege"},
        ],
        cases=None,
    )
    spec["policy"]["rules"].append({"id": "typo-rule", "harm_check": "typo"})
    outcome = _run(spec)
    typo, fine = outcome.checks
    assert typo.status == "skipped" and "atelier_protege" in (typo.reason or "")
    assert fine.status in ("no_finding", "inconclusive")
    rule = next(r for r in outcome.verdict.rules if r.rule_id == "typo-rule")
    assert rule.status == "not_evaluable" and outcome.verdict.label != "pass"


def test_mlflow_gets_counts_and_statuses_never_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDIT_CASE_SALT", SALT)
    log = _log(tmp_path, 3000, 2, steering_odds=4.0)
    uri = f"sqlite:///{tmp_path}/m.db"
    spec = _spec(tmp_path, log, tracking={"enabled": True, "uri": uri})
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.setattr(sys, "argv", ["audit", "run", str(path)])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 1  # the steering fails the gate
    printed = " ".join(capsys.readouterr().out.split())
    assert "harm checks" in printed and "H1" in printed and "finding" in printed
    assert "Steering toward 'atelier_protege'" in printed
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.data.tags["audit.check.steering"] == "finding"
    flagged = run.data.metrics["check.steering.flagged"]
    assert flagged == len(pd.read_csv(tmp_path / "reviews" / "cases.csv"))
    assert run.data.metrics["check.steering.findings"] == 1
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "checks.json" in artifacts and not any("cases" in a for a in artifacts)


def test_without_the_salt_nothing_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_CASE_SALT", raising=False)
    log = _log(tmp_path, 400, 3, steering_odds=1.0)
    with pytest.raises(AuditInputError) as err:
        _run(_spec(tmp_path, log))
    assert "AUDIT_CASE_SALT" in str(err.value) and "secrets.token_hex" in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "reviews").exists()
    monkeypatch.setenv("AUDIT_CASE_SALT", "short")
    with pytest.raises(AuditInputError, match="16 characters"):
        _run(_spec(tmp_path, log))


def test_the_review_file_is_never_put_in_the_published_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_CASE_SALT", SALT)
    log = _log(tmp_path, 400, 3, steering_odds=1.0)
    spec = _spec(tmp_path, log, cases={"dir": str(tmp_path / "out" / "cases")})
    with pytest.raises(AuditInputError, match="outside the published report folder"):
        _run(spec)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"checks": [{"check": "steering", "track": "x", "cases": True}], "cases": None},
            "a cases section",
        ),
        (
            {
                "checks": [
                    {"check": "steering", "track": "x"},
                    {"check": "H1", "track": "y", "id": "steering"},
                ]
            },
            "a different id for each check",
        ),
        ({"checks": [{"check": "H9", "track": "x"}]}, "H9"),
        (
            {"checks": [{"check": "steering", "track": "x", "max_odds_ratio": 0.5}]},
            "greater than 1",
        ),
    ],
)
def test_spec_mistakes_about_checks_are_refused(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    spec = _spec(tmp_path, tmp_path / "log.csv", **change)
    with pytest.raises((SpecProblem, AuditInputError)) as err:
        parse_spec(yaml.safe_dump(spec, sort_keys=False))
    assert message in str(err.value)


def test_a_harm_rule_naming_no_check_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, tmp_path / "log.csv")
    spec["policy"]["rules"][1]["harm_check"] = "steerring"
    with pytest.raises((SpecProblem, AuditInputError)) as err:
        parse_spec(yaml.safe_dump(spec, sort_keys=False))
    assert "steerring" in str(err.value) and "steering" in str(err.value)
