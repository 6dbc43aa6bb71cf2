"""A log of recommendations from another system, audited as it is: no observed outcome, column
names of its own, text booleans, a byte-order mark, a numeric age (issue 12, points 1, 3, 4).

Every refusal is tested both ways: the mistake is refused with its exact message, and the
corrected spec runs.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from audit.cli import main
from audit.data import generate_population
from audit.data.schema import is_people_file, write_people_parquet
from audit.errors import AuditInputError
from audit.pipeline import AuditOutcome, run_audit
from audit.spec import parse_spec
from tests.realdata.tables import steering_log, write_csv_with_bom

RULES = [
    {"id": "parity", "metric": "selection_rate", "kind": "ratio", "min": 0.8},
    {"id": "no-gap", "no_significant_disparity": ["selection_rate"]},
]


def _spec(tmp_path: Path, log: Path, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "orientation",
        "data": {"file": str(log)},  # schema: auto, the default
        "model": {
            "decisions": {
                "file": str(log),
                "decision_column": "orientation_proposee",
                "id_column": "dossier",
            }
        },
        "attributes": [{"column": "sexe", "reference": "homme"}, {"column": "age_ans", "bins": 4}],
        "legitimate_factors": ["niveau_etude"],
        "statistics": {"n_boot": 100, "seed": 3},
        "policy": {"rules": RULES},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "out"), "junit": False},
    }
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        elif isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def _run(spec: dict[str, Any]) -> AuditOutcome:
    text = yaml.safe_dump(spec, sort_keys=False)
    return run_audit(parse_spec(text), spec_text=text, console=Console(file=io.StringIO()))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "journal.csv"
    write_csv_with_bom(steering_log(), path)
    return path


def test_an_outcome_free_log_is_audited_on_its_decisions(tmp_path: Path, log: Path) -> None:
    outcome = _run(_spec(tmp_path, log))
    a = outcome.assessment
    assert a.settings.y_true is None
    assert {m.metric for m in a.metrics} == {"selection_rate"}
    assert {d.metric for d in a.disparities} == {"selection_rate"}
    assert {c.metric for c in a.conditional} == {"selection_rate"}
    assert {s.measure for s in a.summaries} == {
        "demographic_parity_difference", "demographic_parity_ratio", "four_fifths_rule",
    }  # fmt: skip
    assert not a.cross_auc and not a.reliability
    # The injected gap (women recommended 25 points less often) is found, in both rules.
    women = a.disparity("selection_rate", ("sexe",), ("femme",))
    assert women.ci_high is not None and women.ci_high < 0 and women.significant
    assert outcome.verdict.label == "fail"
    failed = {r.rule_id for r in outcome.verdict.rules if r.status == "fail"}
    assert failed == {"parity", "no-gap"}
    # The age (47 values) was cut into 4 groups; the other groups are read as text.
    ages = {g.levels[0] for g in a.groups if g.attributes == ("age_ans",)}
    assert len(ages) == 4 and all(level.startswith("[") for level in ages)
    assert any("no outcome column" in n for n in a.notes)
    written = json.loads((tmp_path / "out" / "assessment.json").read_text())
    assert written["settings"]["y_true"] is None
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "FAIL" in summary and "no outcome column" in summary


def test_without_a_gap_the_decisions_show_none(tmp_path: Path) -> None:
    path = tmp_path / "journal.csv"
    write_csv_with_bom(steering_log(gap=0.0), path)
    spec = _spec(tmp_path, path, policy={"rules": RULES[1:]})
    outcome = _run(spec)
    assert outcome.verdict.label == "pass"
    women = outcome.assessment.disparity("selection_rate", ("sexe",), ("femme",))
    assert women.ci_low is not None and women.ci_low < 0 < (women.ci_high or 0)


def test_audit_run_on_the_log_end_to_end_with_mlflow(
    tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path, log, tracking={"enabled": True, "uri": f"sqlite:///{tmp_path}/m.db"})
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    # The `audit` command itself, in this process (as the console script calls it).
    monkeypatch.setattr(sys, "argv", ["audit", "run", str(path)])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 1  # the gap fails the gate
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/m.db")
    (run,) = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        "attributes.run_name = 'orientation'",
    )
    assert run.info.status == "FINISHED" and run.data.tags["audit.verdict"] == "fail"
    keys = list(run.data.metrics)
    assert keys and any("selection_rate" in k for k in keys)
    assert not any(m in k for k in keys for m in ("tpr", "fpr", "ppv", "auc", "ece"))


# --- refusals, each both ways ---------------------------------------------------------------


def _refusal(spec: dict[str, Any]) -> str:
    with pytest.raises(AuditInputError) as err:
        _run(spec)
    return str(err.value)


def test_a_rule_that_needs_an_outcome_is_refused_until_one_is_named(
    tmp_path: Path, log: Path
) -> None:
    rules = [{"id": "equal-opportunity", "metric": "tpr", "max_abs": 0.1}]
    spec = _spec(tmp_path, log, policy={"rules": rules})
    text = yaml.safe_dump(spec, sort_keys=False)
    with pytest.raises(AuditInputError) as err:
        parse_spec(text, source="audit.yaml")
    line = text.splitlines().index("  - id: equal-opportunity") + 2  # the line of `metric`
    assert str(err.value) == (
        f"audit.yaml:{line}: key 'policy.rules[0].metric': expected an outcome column: rule "
        "'equal-opportunity' bounds tpr, which needs an observed outcome; found the spec names "
        "none (no `outcome` key).\nHint: add `outcome: COLUMN` or drop the rule "
        "'equal-opportunity'; an audit of decisions alone can bound and test selection_rate"
    )
    frame = pd.read_csv(log, encoding="utf-8-sig")
    frame["reoriente"] = np.random.default_rng(0).integers(0, 2, len(frame))
    frame.to_csv(log, index=False)
    outcome = _run({**spec, "outcome": "reoriente"})
    assert {"tpr", "selection_rate"} <= {m.metric for m in outcome.assessment.metrics}


def test_a_numeric_group_needs_bins(tmp_path: Path, log: Path) -> None:
    unbinned = _spec(tmp_path, log, attributes=["sexe", "age_ans"])
    assert _refusal(unbinned) == (
        "group column 'age_ans': expected groups: at most 20 distinct values in a numeric "
        "column; found 47 distinct numbers from 18 to 64, a measurement rather than groups.\n"
        "Hint: cut it at its quantiles into a few groups: in the spec `attributes: [{column: "
        "age_ans, bins: 5}]`, in `audit assess` --group-bins age_ans=5; if the numbers are codes "
        "of categories, raise statistics.max_numeric_levels (--max-numeric-levels)"
    )
    # Raising the limit is the way for numbers that are codes of categories.
    raised = _run({**unbinned, "statistics": {"n_boot": 0, "max_numeric_levels": 50}})
    assert len([g for g in raised.assessment.groups if g.attributes == ("age_ans",)]) == 47


def test_a_group_beyond_max_levels_is_refused_with_a_hint_to_bin(tmp_path: Path, log: Path) -> None:
    frame = pd.read_csv(log, encoding="utf-8-sig")
    frame["commune"] = [f"c{i % 60:02d}" for i in range(len(frame))]
    frame.to_csv(log, index=False)
    spec = _spec(tmp_path, log, attributes=["sexe", "commune"], statistics={"n_boot": 0})
    message = _refusal(spec)
    assert message.startswith(
        "group column 'commune': expected at most 50 groups (distinct values) to compare; "
        "found 60 distinct values"
    )
    assert "merge rare values" in message and "statistics.max_levels" in message
    spec["statistics"] = {"n_boot": 0, "max_levels": 60, "min_group_size": 5}
    assert len([g for g in _run(spec).assessment.groups if g.attributes == ("commune",)]) == 60


def test_a_score_named_as_the_decision_is_refused_with_a_threshold_offered(
    tmp_path: Path, log: Path
) -> None:
    as_decision = _spec(
        tmp_path, log,
        model={"decisions": {"file": str(log), "decision_column": "score_orientation",
                             "id_column": "dossier"}},
    )  # fmt: skip
    assert _refusal(as_decision) == (
        f"column 'score_orientation' of decisions file '{log}': expected decisions coded 0/1 or "
        "True/False; found scores: 330 distinct values between 0.015 and 0.985.\nHint: decide "
        "on the score with a threshold: in the spec, model.decisions: {score_column: "
        "score_orientation} (instead of decision_column) and decision: {threshold: 0.5}"
    )
    as_score = _spec(
        tmp_path, log,
        model={"decisions": {"file": str(log), "score_column": "score_orientation",
                             "id_column": "dossier"}},
        decision={"threshold": 0.5},
    )  # fmt: skip
    outcome = _run(as_score)
    scores = pd.read_csv(log, encoding="utf-8-sig")["score_orientation"]
    overall = outcome.assessment.overall_metric("selection_rate").value
    assert overall == pytest.approx((scores >= 0.5).mean())


def test_a_threshold_and_a_decision_column_are_refused_as_ambiguous(
    tmp_path: Path, log: Path
) -> None:
    both = _spec(
        tmp_path, log,
        model={"decisions": {"file": str(log), "decision_column": "orientation_proposee",
                             "score_column": "score_orientation", "id_column": "dossier"}},
        decision={"threshold": 0.5},
    )  # fmt: skip
    text = yaml.safe_dump(both, sort_keys=False)
    with pytest.raises(AuditInputError) as err:
        parse_spec(text, source="audit.yaml")
    line = text.splitlines().index("  threshold: 0.5") + 1
    assert str(err.value) == (
        f"audit.yaml:{line}: key 'decision.threshold': expected one source of the decision: "
        "decision.threshold (applied to model.decisions.score_column) or "
        "model.decisions.decision_column (the file's own decisions), not both; found "
        "decision.threshold and model.decisions.decision_column 'orientation_proposee'.\n"
        "Hint: drop decision.threshold to audit the file's decisions, or drop "
        "model.decisions.decision_column to decide on the score column"
    )
    # Either one alone is a valid spec.
    decisions_only = {**both, "decision": {}}
    assert _run(decisions_only).assessment.overall_metric("selection_rate").value == (
        pytest.approx((pd.read_csv(log, encoding="utf-8-sig")["orientation_proposee"]).mean())
    )


# --- any table: the people schema applies to our files only -----------------------------------


def test_schema_auto_knows_our_files_and_takes_others_as_they_are(tmp_path: Path) -> None:
    people = generate_population(300, scenario="no_bias", seed=0).people
    ours_csv, ours_parquet = tmp_path / "people.csv", tmp_path / "people.parquet"
    people.to_csv(ours_csv, index=False)
    write_people_parquet(people.drop(columns=["gender"]), ours_parquet)  # marked, one column short
    plain = tmp_path / "plain.parquet"
    people.drop(columns=["gender"]).to_parquet(plain, index=False)
    log = tmp_path / "journal.csv"
    write_csv_with_bom(steering_log(), log)
    assert is_people_file(ours_csv) and is_people_file(ours_parquet)
    assert not is_people_file(plain) and not is_people_file(log)
    spec = {
        "name": "ours",
        "data": {"file": str(ours_parquet)},
        "model": {"uri": str(Path("models/profiling_reference.skops").resolve())},
        "outcome": "job_28d_6m",
        "decision": {"bands": {"high": 0.66, "low": 0.25}, "examined": ["high"]},
        "attributes": ["housing_status"],
        "statistics": {"n_boot": 0},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "out")},
    }
    # Our file, marked: the people schema finds the missing column, whatever the spec names.
    message = _refusal(spec)
    assert message.startswith(f"people file '{ours_parquet}'") and "gender" in message
    # The same table without our mark is a table like any other: the model's inputs decide.
    message = _refusal({**spec, "data": {"file": str(plain)}})
    assert message.startswith("data for") and "'gender'" in message
    # `schema: none` takes even our marked file as it is.
    none = {**spec, "data": {"file": str(ours_parquet), "schema": "none"}}
    assert _refusal(none).startswith("data for")


# --- `audit assess` on the same log -----------------------------------------------------------


def _assess(monkeypatch: pytest.MonkeyPatch, *argv: str) -> dict[str, Any]:
    monkeypatch.setattr(sys, "argv", ["audit", "assess", *argv])
    try:
        main()
    except SystemExit as stop:
        assert not stop.code, stop.code
    return json.loads(Path(argv[argv.index("--json") + 1]).read_text())


def test_audit_assess_without_an_outcome_agrees_with_fairlearn(
    tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate

    frame = pd.read_csv(log, encoding="utf-8-sig")
    out = tmp_path / "r.json"
    result = _assess(
        monkeypatch, str(log), "--y-pred", "orientation_proposee", "-g", "sexe", "-g", "age_ans",
        "--group-bins", "age_ans=4", "--n-boot", "50", "--json", str(out),
    )  # fmt: skip
    assert result["settings"]["y_true"] is None
    assert {m["metric"] for m in result["metrics"]} == {"selection_rate"}
    decided = frame["orientation_proposee"].astype(int)  # read as booleans from "true"/"false"
    expected = MetricFrame(
        metrics=selection_rate, y_true=decided, y_pred=decided, sensitive_features=frame["sexe"]
    ).by_group
    ours = {m["levels"][0]: m["value"] for m in result["metrics"] if m["attributes"] == ["sexe"]}
    assert ours == pytest.approx(expected.to_dict())
    dpd = next(
        s["value"]
        for s in result["summaries"]
        if s["attributes"] == ["sexe"] and s["measure"] == "demographic_parity_difference"
    )
    # fairlearn's y_true is required by its signature and ignored by this measure.
    assert dpd == pytest.approx(
        demographic_parity_difference(decided, decided, sensitive_features=frame["sexe"])
    )
    # A threshold on the score gives the decisions score >= T, by hand.
    result = _assess(
        monkeypatch, str(log), "--score", "score_orientation", "--threshold", "0.7",
        "-g", "sexe", "--n-boot", "0", "--json", str(out),
    )  # fmt: skip
    by_hand = (frame["score_orientation"] >= 0.7).groupby(frame["sexe"]).mean()
    ours = {m["levels"][0]: m["value"] for m in result["metrics"]}
    assert ours == pytest.approx(by_hand.to_dict())
