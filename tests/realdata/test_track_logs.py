"""A track-recommendation log from another system, audited for every track in one `audit run`;
and the shipped track recommender, with and without the binary view of one track."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from audit.errors import AuditInputError
from audit.pipeline import RunOptions, run_audit
from audit.spec import parse_spec

TRACKS = ["job_search", "upskilling", "sheltered_work", "care_pathway"]


def _files(tmp_path: Path, n: int = 400, steer: float = 0.3, seed: int = 5) -> tuple[Path, Path]:
    """People (Dutch column names) and a separate log of advised tracks keyed by client number,
    in another row order. People with a psychiatric history are steered to sheltered work."""
    rng = np.random.default_rng(seed)
    psy = rng.choice(["ja", "nee"], n, p=[0.3, 0.7])
    people = pd.DataFrame(
        {
            "klant_nr": [f"K{i:05d}" for i in range(n)],
            "psy_voorgeschiedenis": psy,
            "woonsituatie": rng.choice(["eigen", "huur", "dakloos"], n, p=[0.5, 0.4, 0.1]),
            "opleiding": rng.choice(["laag", "hoog"], n),
            "werk01": rng.integers(0, 2, n),
        }
    )
    p = np.tile([0.5, 0.3, 0.1, 0.1], (n, 1))
    p[psy == "ja", 0] -= steer
    p[psy == "ja", 2] += steer
    advised = np.asarray(TRACKS)[(rng.random(n)[:, None] > p.cumsum(axis=1)).sum(axis=1)]
    log = pd.DataFrame({"klant_nr": people.klant_nr, "geadviseerd_traject": advised})
    people_csv, log_csv = tmp_path / "klanten.csv", tmp_path / "adviezen.csv"
    people.to_csv(people_csv, index=False)
    log.sample(frac=1.0, random_state=1).to_csv(log_csv, index=False)
    return people_csv, log_csv


RULES = [
    {"id": "no-sheltered-steering", "metric": "track_share", "track": "sheltered_work",
     "kind": "ratio", "max": 1.25, "attributes": [["psy_voorgeschiedenis"]]},
    {"id": "no-significant-track-gap", "no_significant_disparity": ["track_share"],
     "track": "sheltered_work"},
    {"id": "sheltered-given-education", "metric": "track_share", "track": "sheltered_work",
     "max": 0.05, "conditional": True, "attributes": [["psy_voorgeschiedenis"]]},
]  # fmt: skip


def _spec(tmp_path: Path, people: Path, log: Path, rules: list[dict[str, object]]) -> dict[str, object]:
    return {
        "name": "traject-log",
        "data": {"file": str(people), "schema": "none"},
        "model": {
            "decisions": {
                "file": str(log),
                "track_column": "geadviseerd_traject",
                "id_column": "klant_nr",
            }
        },
        "outcome": "werk01",
        "attributes": [
            {"column": "psy_voorgeschiedenis", "reference": "nee"},
            {"column": "woonsituatie", "reference": "eigen"},
        ],
        "intersections": 2,
        "legitimate_factors": ["opleiding"],
        "statistics": {"n_boot": 200, "seed": 3},
        "policy": {"rules": rules},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
        "report": {"dir": str(tmp_path / "rapport")},
    }


def test_a_log_with_other_track_labels_runs_end_to_end(tmp_path: Path) -> None:
    people, log = _files(tmp_path)
    spec = tmp_path / "audit.yaml"
    spec.write_text(yaml.safe_dump(_spec(tmp_path, people, log, RULES), sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the gate fails: steering found
    report = tmp_path / "rapport"
    assessment = json.loads((report / "assessment.json").read_text())
    assert sorted(assessment["track_labels"]) == sorted(TRACKS)
    assert assessment["metrics"] == [] and assessment["disparities"] == []  # no binary decision
    shares = {
        (tuple(t["levels"]), t["track"]): t
        for t in assessment["tracks"]
        if t["attributes"] == ["psy_voorgeschiedenis"]
    }
    steered = shares[(("ja",), "sheltered_work")]
    assert steered["significant"] and steered["difference"] > 0.15
    for level in ("ja", "nee"):
        assert sum(shares[((level,), t)]["share"] for t in TRACKS) == pytest.approx(1.0)
    verdict = json.loads((report / "verdict.json").read_text())
    status = {r["rule_id"]: r["status"] for r in verdict["rules"]}
    assert status == {
        "no-sheltered-steering": "fail",
        "no-significant-track-gap": "fail",
        "sheltered-given-education": "fail",
    }
    failing = [f for r in verdict["rules"] for f in r["findings"] if f["decides"]]
    assert {f["track"] for f in failing} == {"sheltered_work"}
    assert all(f["levels"][f["attributes"].index("psy_voorgeschiedenis")] == "ja"
               for f in failing if "psy_voorgeschiedenis" in f["attributes"])  # fmt: skip
    summary = (report / "summary.md").read_text()
    assert "## Track shares" in summary and "sheltered\\_work" in summary
    assert "track shares by psy_voorgeschiedenis" in done.stdout + done.stderr
    # MLflow: the track figures are metrics of the run, under reversible keys
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(assessment_run_id(report))
    # The lean default record holds what each rule decided on: the ratio of sheltered work
    # for people with a psychiatric history, and the conditional difference, keyed by track.
    ratio = "gate.no-sheltered-steering.track_share.sheltered_work.ratio/psy_voorgeschiedenis.ja"
    assert run.data.metrics[ratio] == pytest.approx(steered["ratio"])
    conditional = (
        "gate.sheltered-given-education.track_share.sheltered_work.conditional_difference"
        "/psy_voorgeschiedenis.ja"
    )
    assert conditional in run.data.metrics
    assert not any(k.startswith("track_share.") for k in run.data.metrics)  # `all` only


def assessment_run_id(report: Path) -> str:
    manifest = json.loads((report / "manifest.json").read_text())
    return str(manifest["tracking"]["run_id"])


def _run(spec: dict[str, object], tmp_path: Path):  # type: ignore[no-untyped-def]
    text = yaml.safe_dump(spec, sort_keys=False)
    return run_audit(
        parse_spec(text), spec_text=text, options=RunOptions(report_dir=tmp_path / "out")
    )


def _offline(spec: dict[str, object]) -> dict[str, object]:
    return {**spec, "tracking": {"enabled": False}, "statistics": {"n_boot": 0}}


def test_a_misspelt_track_is_refused_before_anything_is_computed(tmp_path: Path) -> None:
    people, log = _files(tmp_path)
    rules = [{**RULES[0], "track": "sheltered work"}]
    with pytest.raises(AuditInputError) as err:
        _run(_offline(_spec(tmp_path, people, log, rules)), tmp_path)
    message = str(err.value)
    assert message.startswith("spec key 'policy.rules[0]' (rule 'no-sheltered-steering')")
    assert "found track 'sheltered work'" in message
    assert "did you mean 'sheltered_work'?" in message


@pytest.mark.parametrize(
    ("rule", "found"),
    [
        ({"id": "sr", "metric": "selection_rate", "max_abs": 0.1}, "selection_rate"),
        ({"id": "mix", "no_significant_disparity": ["fpr", "track_share"]}, "fpr"),
    ],
)
def test_a_binary_rule_without_a_binary_decision_is_refused(
    tmp_path: Path, rule: dict[str, object], found: str
) -> None:
    people, log = _files(tmp_path)
    with pytest.raises(AuditInputError, match="rules on track_share for a track audit") as err:
        _run(_offline(_spec(tmp_path, people, log, [rule])), tmp_path)
    assert f"found the metric {found} of a binary decision" in str(err.value)


@pytest.fixture(scope="module")
def shipped_spec() -> dict[str, object]:
    return {
        "name": "shipped-tracks",
        "data": {"synthetic": {"scenario": "h1_steering", "n": 4000, "seed": 11}},
        "model": {"uri": "models/track_reference.skops"},
        "outcome": "warranted_track",
        "outcome_positive": "sheltered",
        "attributes": [
            {"column": "mental_health_history", "reference": "False"},
            {"column": "housing_status", "reference": "stable"},
        ],
        "statistics": {"n_boot": 0},
        "tracking": {"enabled": False},
    }


def test_the_shipped_track_model_is_audited_for_every_class(
    shipped_spec: dict[str, object], tmp_path: Path
) -> None:
    from audit.models.importing import load_model

    classes = load_model("models/track_reference.skops").classes
    rule = {"id": "sheltered", "metric": "track_share", "track": "sheltered", "kind": "ratio",
            "max": 1.25, "attributes": [["mental_health_history"]]}  # fmt: skip
    outcome = _run({**shipped_spec, "policy": {"rules": [rule]}}, tmp_path)
    result = outcome.full_assessment
    assert result is not None
    assert result.track_labels == classes and not result.disparities
    steered = result.track_share("sheltered", ("mental_health_history",), ("True",))
    assert steered.significant and steered.ratio is not None and steered.ratio > 1.25
    assert outcome.verdict.status == "fail"
    # With decision.label the binary view of that one track is audited as before, alongside
    with_label = _run({**shipped_spec, "decision": {"label": "sheltered"}}, tmp_path).full_assessment
    assert with_label is not None and with_label.track_labels == classes
    binary = with_label.disparity("selection_rate", ("mental_health_history",), ("True",))
    assert binary.value == pytest.approx(steered.difference, abs=1e-12)
    assert with_label.tracks == result.tracks


def test_a_log_with_a_decision_beside_its_tracks_audits_both(tmp_path: Path) -> None:
    people, log = _files(tmp_path, n=600)
    table = pd.read_csv(log)
    table["intensief"] = (table.geadviseerd_traject != "job_search").astype(int)
    table.to_csv(log, index=False)
    spec = _offline(_spec(tmp_path, people, log, [RULES[0]]))
    spec["model"]["decisions"]["decision_column"] = "intensief"  # type: ignore[index]
    result = _run(spec, tmp_path).full_assessment
    assert result is not None and result.disparities and result.tracks
    job = result.track_share("job_search", ("psy_voorgeschiedenis",), ("ja",))
    rate = result.disparity("selection_rate", ("psy_voorgeschiedenis",), ("ja",))
    assert rate.value == pytest.approx(-job.difference, abs=1e-12)  # type: ignore[operator]


def test_audit_assess_shows_every_track_of_a_log(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from audit.cli import app

    people, log = _files(tmp_path, n=600)
    joined = pd.read_csv(people).merge(pd.read_csv(log), on="klant_nr")
    path = tmp_path / "log.csv"
    joined.to_csv(path, index=False)
    out = tmp_path / "result.json"
    argv = "assess {} --y-true werk01 --track geadviseerd_traject -g psy_voorgeschiedenis "
    argv += "--reference psy_voorgeschiedenis=nee --n-boot 0 --json {}"
    done = CliRunner().invoke(app, argv.format(path, out).split())
    assert done.exit_code == 0, done.output
    assert "track shares by psy_voorgeschiedenis" in done.output
    assert "sheltered_work" in done.output and "significant after correction" in done.output
    result = json.loads(out.read_text())
    assert result["metrics"] == [] and len(result["tracks"]) == 2 * len(TRACKS)
