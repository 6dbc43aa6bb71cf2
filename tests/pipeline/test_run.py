"""`run_audit` end to end on a local MLflow store: what lands in MLflow, on disk and in the registry."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from audit.data import generate_population
from audit.errors import AuditInputError
from audit.gate import Verdict
from audit.manifest import frame_fingerprint
from audit.pipeline import RunOptions, run_audit
from audit.spec import parse_spec
from audit.stats.result import Assessment
from audit.stats.simulate import simulate_decisions
from audit.tracking.record import tracked_metrics

ROOT = Path(__file__).resolve().parents[2]

TRAINED = """\
name: trained
data: {{synthetic: {{scenario: all_harms, n: 6000, seed: 3}}}}
model: {{train: {{register: {{name: prof, alias: candidate}}}}}}
outcome: job_28d_6m
decision: {{bands: {{high: 0.66, low: 0.25}}, examined: [high]}}
attributes: [mental_health_history, {{column: housing_status, reference: stable}}, digital_literacy]
intersections: 2
statistics: {{n_boot: 200, seed: 3}}
policy:
  rules:
    - {{id: ff, metric: selection_rate, kind: ratio, min: 0.8}}
tracking: {{uri: "{uri}"}}
report: {{dir: "{out}"}}
"""


def decisions_spec(tmp: Path, name: str, data: Path, decisions: Path, uri: str) -> str:
    return f"""\
name: {name}
data: {{file: "{data}", schema: none}}
model: {{decisions: {{file: "{decisions}", decision_column: d, id_column: id}}}}
outcome: y
attributes:
  - {{column: mh, reference: "no"}}
  - {{column: housing, reference: stable}}
  - {{column: digital, reference: high}}
statistics: {{n_boot: 300, seed: 1}}
policy:
  rules:
    - {{id: eo, metric: tpr, kind: difference, max_abs: 0.3}}
tracking: {{uri: "{uri}", experiment: decisions-audits}}
report: {{dir: "{tmp / name}"}}
"""


def write_decisions(
    tmp: Path, name: str, seed: int, shift: dict[str, float] | None
) -> tuple[Path, Path]:
    frame = simulate_decisions(20000, seed, shift=shift).assign(id=lambda f: range(len(f)))
    data, decisions = tmp / f"{name}-data.csv", tmp / f"{name}-decisions.csv"
    frame.drop(columns="d").to_csv(data, index=False)
    frame[["id", "d"]].sample(frac=1, random_state=seed).to_csv(decisions, index=False)
    return data, decisions


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"


def test_trained_model_audit_lands_in_mlflow_on_disk_and_in_the_registry(
    tmp_path: Path, store: str, result_files: set[str]
) -> None:
    out = tmp_path / "report"
    text = TRAINED.format(uri=store, out=out)
    outcome = run_audit(parse_spec(text), spec_text=text)

    files = {p.name for p in out.iterdir()}
    assert files == result_files | {"report.pdf", "report.en.pdf"}  # this spec keeps the PDF
    assessment = Assessment.from_json((out / "assessment.json").read_text())
    verdict = Verdict.from_json((out / "verdict.json").read_text())
    assert assessment == outcome.assessment and verdict == outcome.verdict
    assert not verdict.passed  # all_harms: the four-fifths rule is breached

    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    run = client.get_run(outcome.run_id or "")
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "fairness-audit/prof"
    assert run.data.tags["audit.verdict"] == "fail"
    assert run.data.tags["audit.release"] == "blocked"
    assert run.data.tags["audit.status"] == "finished"
    assert "selection_rate ratio" in run.data.tags["audit.worst_finding"]
    assert run.data.metrics == pytest.approx(tracked_metrics(assessment, verdict))
    assert run.data.params["statistics.n_boot"] == "200"
    assert run.data.params["model.train.register.name"] == "prof"
    assert run.data.params["audited_model.version"] == "1"
    assert len(run.data.params["audited_model.sha256"]) == 64
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == files | {"metric_keys.json"}  # the key map is for MLflow only

    manifest = json.loads((out / "manifest.json").read_text())
    # The spec's hash recomputed here from the text the run was given, not checked for length.
    assert manifest["spec_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    people = generate_population(6000, scenario="all_harms", seed=3).people
    assert manifest["data"]["sha256"] == frame_fingerprint(people)
    assert manifest["data"]["n_audited"] == assessment.n_rows == 3000
    assert manifest["model"]["name"] == "prof" and manifest["model"]["version"] == "1"
    assert len(manifest["model"]["sha256"]) == 64
    assert manifest["tracking"]["run_id"] == outcome.run_id
    assert {"numpy", "mlflow", "scikit-learn", "python"} <= set(manifest["packages"])

    version = client.get_model_version("prof", "1")
    assert version.tags["fairness_audit.verdict"] == "fail"
    assert version.tags["fairness_audit.run_id"] == outcome.run_id

    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"


def test_same_spec_same_figures(tmp_path: Path, store: str) -> None:
    runs = []
    for i in range(2):
        text = TRAINED.format(uri=store, out=tmp_path / f"r{i}")
        runs.append(run_audit(parse_spec(text), spec_text=text).assessment)
    assert runs[0] == runs[1]


def test_decisions_file_audit_and_non_regression_against_a_previous_run(
    tmp_path: Path, store: str
) -> None:
    fair = decisions_spec(tmp_path, "fair", *write_decisions(tmp_path, "fair", 1, None), store)
    first = run_audit(parse_spec(fair), spec_text=fair)
    assert first.verdict.passed
    # The same audit against its own previous run: nothing got worse.
    again = run_audit(
        parse_spec(fair), spec_text=fair, options=RunOptions(baseline=f"runs:/{first.run_id}")
    )
    assert again.verdict.passed
    assert [r.rule_id for r in again.verdict.rules] == ["eo", "eo.non_regression"]

    # A candidate 12 points worse for homeless people stays inside the loose absolute bound
    # (±0.3) but fails non-regression against the fair run, by run id and by file alike.
    worse_files = write_decisions(tmp_path, "worse", 2, {"housing=homeless": -0.12})
    worse = decisions_spec(tmp_path, "worse", *worse_files, store)
    for baseline in (f"runs:/{first.run_id}", str(tmp_path / "fair" / "assessment.json")):
        outcome = run_audit(
            parse_spec(worse), spec_text=worse, options=RunOptions(baseline=baseline)
        )
        absolute, regression = outcome.verdict.rules
        assert absolute.status == "pass" and regression.status == "fail"
        assert {f.levels for f in regression.findings} == {("homeless",)}


def test_tracking_can_be_switched_off(tmp_path: Path) -> None:
    text = TRAINED.format(uri="unused", out=tmp_path / "r").replace(
        'tracking: {uri: "unused"}', "tracking: {enabled: false}"
    )
    outcome = run_audit(parse_spec(text), spec_text=text)
    assert outcome.run_id is None and (tmp_path / "r" / "assessment.json").is_file()
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.parametrize(
    ("shift", "bound", "on_inconclusive", "code", "word"),
    [
        (None, 0.3, "fail", 0, "PASS"),
        ({"housing=homeless": -0.5}, 0.3, "fail", 1, "FAIL"),
        # ±0.005 is far narrower than any group's interval: the data cannot tell.
        (None, 0.005, "fail", 3, "INCONCLUSIVE"),
        (None, 0.005, "pass", 0, "INCONCLUSIVE"),
    ],
)
def test_command_exit_code_is_the_gate(
    tmp_path: Path,
    store: str,
    shift: dict[str, float] | None,
    bound: float,
    on_inconclusive: str,
    code: int,
    word: str,
) -> None:
    spec = tmp_path / "spec.yaml"
    text = decisions_spec(tmp_path, "cli", *write_decisions(tmp_path, "cli", 4, shift), store)
    text = text.replace("max_abs: 0.3}", f"max_abs: {bound}}}").replace(
        "policy:\n", f"policy:\n  on_inconclusive: {on_inconclusive}\n"
    )
    spec.write_text(text)
    junit = tmp_path / "ci" / "gate.xml"
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", str(spec), "--junit", str(junit)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == code, done.stderr
    assert f"verdict: {word}" in done.stdout
    verdict = Verdict.from_json((tmp_path / "cli" / "verdict.json").read_text())
    gap = verdict.rules[0].largest_detectable
    assert gap is not None
    # The smallest detectable gap is stated in the terminal, summary.md, verdict.json and JUnit.
    assert f"{gap:.3f}" in done.stdout
    assert f"{gap:.3f}" in (tmp_path / "cli" / "summary.md").read_text()
    assert f"{gap:.3f}" in junit.read_text()
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == ("0" if code == 0 else "1")
    if word == "INCONCLUSIVE":
        release = "allowed" if on_inconclusive == "pass" else "blocked"
        assert f"the release is {release}" in " ".join(done.stdout.split())  # lines wrap


def test_callers_data_is_not_modified(tmp_path: Path, store: str) -> None:
    data, decisions = write_decisions(tmp_path, "same", 5, None)
    before = (data.read_bytes(), decisions.read_bytes())
    text = decisions_spec(tmp_path, "same", data, decisions, store)
    run_audit(parse_spec(text), spec_text=text)
    assert (data.read_bytes(), decisions.read_bytes()) == before
    assert pd.read_csv(data).shape == (20000, 5)


def test_passwords_in_tracking_uris_are_never_written() -> None:
    from audit.tracking.runs import redact

    assert redact("postgresql://audit:s3cret@db.internal/mlflow") == (
        "postgresql://audit:***@db.internal/mlflow"
    )
    assert redact("sqlite:///mlruns/mlflow.db") == "sqlite:///mlruns/mlflow.db"


def test_promote_needs_a_registry_model_and_tracking(tmp_path: Path, store: str) -> None:
    data, decisions = write_decisions(tmp_path, "p", 6, None)
    text = decisions_spec(tmp_path, "p", data, decisions, store)
    with pytest.raises(
        AuditInputError, match="--promote: expected an audited model from the MLflow registry"
    ):
        run_audit(parse_spec(text), spec_text=text, options=RunOptions(promote="champion"))
    off = TRAINED.format(uri="x", out=tmp_path / "r").replace(
        'tracking: {uri: "x"}', "tracking: {enabled: false}"
    )
    with pytest.raises(AuditInputError, match="--promote: expected MLflow tracking switched on"):
        run_audit(parse_spec(off), spec_text=off, options=RunOptions(promote="champion"))
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()
