"""Allocation thresholds (AT): known truth over seeds, both error directions each way, the
per-group rates against fairlearn and the intervals against statsmodels, a table we did not
make (also through `audit run`), and the check skipped without a score or an outcome."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from audit.checks.base import Attribute, CheckContext, CheckOutcome, Evidence
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.checks.thresholds import WRONGLY_HIGH, WRONGLY_LOW, ThresholdParams


def _table(n: int, shift: float, seed: int, *, tiny: int = 0) -> pd.DataFrame:
    """Groups 'a' and 'b' (and 'tiny') with the same chances of the outcome and the same score
    given it; b's score is lowered by `shift` on the logit scale (b is underrated)."""
    rng = np.random.default_rng(seed)
    group = np.array(["a"] * n + ["b"] * n + ["tiny"] * tiny)
    ability = rng.normal(0, 1.2, group.size)
    outcome = rng.random(group.size) < 1 / (1 + np.exp(-ability))
    logit = ability - shift * (group == "b")
    return pd.DataFrame(
        {
            "groep": group,
            "score": 1 / (1 + np.exp(-logit)),
            "werk": outcome.astype(np.int8),
        }
    )


def _ctx(people: pd.DataFrame, table: pd.DataFrame | None = None) -> CheckContext:
    if table is None:
        table = pd.DataFrame({"_score": people["score"], "_outcome": people["werk"]})
    return CheckContext(
        people=people,
        table=table,
        model=None,
        attributes=(Attribute("groep", "a"),),
        factors=(),
        factor_bins={},
    )


def _run(people: pd.DataFrame, **params: object) -> CheckOutcome:
    entry = ThresholdParams.model_validate({"check": "thresholds", **params})
    (outcome,) = run_checks([entry], _ctx(people))
    return outcome


def _record(outcome: CheckOutcome, level: str, measure: str, threshold: float) -> Evidence:
    (e,) = [
        e
        for e in outcome.evidence
        if e.level == level and e.measure == measure and e.details["threshold"] == threshold
    ]
    return e


# --- known truth ----------------------------------------------------------------------------


def test_known_truth_power_and_false_findings_over_20_seeds() -> None:
    (trial,) = [t for t in TRIALS if t.name.startswith("AT")]
    result = run_trial(trial, range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses


# --- verdicts both ways ---------------------------------------------------------------------


def test_an_underrated_group_is_wrongly_judged_low_chance() -> None:
    outcome = _run(_table(3000, 0.8, seed=1))
    assert outcome.status == "finding"
    records = {(e.measure, e.details["threshold"]): e for e in outcome.evidence}
    assert len(records) == 4  # 2 thresholds x 2 directions for the one group
    for t in (0.25, 0.66):
        assert records[(WRONGLY_LOW, t)].status == "finding"
        # underrated: b is wrongly judged HIGH chance less often, never a finding
        assert records[(WRONGLY_HIGH, t)].status != "finding"
        assert (records[(WRONGLY_HIGH, t)].estimate or 0.0) < 0
    assert "wrongly judged low chance" in outcome.sentence and "groep=b" in outcome.sentence


def test_an_overrated_group_is_wrongly_judged_high_chance() -> None:
    outcome = _run(_table(3000, -0.8, seed=2))
    assert outcome.status == "finding"
    assert {e.measure for e in outcome.evidence if e.status == "finding"} == {WRONGLY_HIGH}


def test_equal_errors_are_ruled_out_within_the_margin() -> None:
    outcome = _run(_table(10_000, 0.0, seed=3))
    assert outcome.status == "no_finding", [
        (e.measure, e.ci_low, e.ci_high) for e in outcome.evidence
    ]
    assert all(e.ci_high is not None and e.ci_high <= 0.05 for e in outcome.evidence)
    assert "no group is wrongly judged" in outcome.sentence


def test_a_small_sample_cannot_tell() -> None:
    outcome = _run(_table(150, 0.0, seed=4))
    assert outcome.status == "inconclusive"
    unsure = [e for e in outcome.evidence if e.status == "inconclusive"]
    assert unsure and all(e.detectable is not None and e.detectable > 0.05 for e in unsure)


def test_a_tiny_group_is_unreliable_and_alone_not_evaluable() -> None:
    outcome = _run(_table(10_000, 0.0, seed=5, tiny=25))
    tiny = [e for e in outcome.evidence if e.level == "tiny"]
    assert len(tiny) == 4 and all(e.status == "unreliable" and e.p_value is None for e in tiny)
    assert outcome.status == "no_finding"
    alone = _run(_table(40, 1.5, seed=5))  # ~20 with and ~20 without the outcome per group
    assert alone.status == "not_evaluable"


def test_the_spec_lists_the_thresholds() -> None:
    outcome = _run(_table(500, 0.0, seed=6), thresholds=[0.7, 0.3, 0.5])
    assert sorted({float(e.details["threshold"]) for e in outcome.evidence}) == [0.3, 0.5, 0.7]
    assert len(outcome.evidence) == 6
    for bad, says in (([], "at least one threshold"), ([0.5, 0.5], "each threshold once")):
        with pytest.raises(ValueError, match=says):
            ThresholdParams(check="AT", thresholds=bad)


def test_every_interval_contains_its_estimate() -> None:
    for seed, n, shift in [(7, 40, 0.0), (8, 400, 0.5), (9, 3000, -1.0)]:
        for e in _run(
            _table(n, shift, seed, tiny=15), thresholds=[0.05, 0.25, 0.66, 0.95]
        ).evidence:
            if e.estimate is not None:
                assert e.ci_low is not None and e.ci_high is not None
                assert e.ci_low <= e.estimate <= e.ci_high


# --- numbers cross-checked ------------------------------------------------------------------


def test_the_rates_match_fairlearn_and_the_intervals_statsmodels() -> None:
    people = _table(400, 0.5, seed=10)
    outcome = _run(people)
    y = people["werk"].to_numpy()
    for t in (0.25, 0.66):
        frame = MetricFrame(
            metrics={"fpr": false_positive_rate, "fnr": false_negative_rate},
            y_true=y,
            y_pred=(people["score"].to_numpy() >= t).astype(int),
            sensitive_features=people["groep"],
        )
        for measure, metric, with_outcome in ((WRONGLY_HIGH, "fpr", 0), (WRONGLY_LOW, "fnr", 1)):
            e = _record(outcome, "b", measure, t)
            assert e.details["rate"] == pytest.approx(frame.by_group.loc["b", metric], abs=1e-12)
            assert e.details["reference_rate"] == pytest.approx(
                frame.by_group.loc["a", metric], abs=1e-12
            )
            sizes = [int(((people.groep == g) & (y == with_outcome)).sum()) for g in ("b", "a")]
            assert (e.n, e.n_reference) == tuple(sizes)
            rates = [frame.by_group.loc[g, metric] for g in ("b", "a")]
            counts = [round(r * s) for r, s in zip(rates, sizes, strict=True)]
            low, high = confint_proportions_2indep(
                counts[0], sizes[0], counts[1], sizes[1], method="newcomb", compare="diff"
            )
            assert (e.ci_low, e.ci_high) == pytest.approx((low, high), abs=1e-9)
            _, p = proportions_ztest(counts, sizes)
            assert e.p_value == pytest.approx(p, rel=1e-9)


def test_holm_runs_over_every_comparison_of_the_check() -> None:
    outcome = _run(_table(800, 0.3, seed=11), thresholds=[0.25, 0.5, 0.66])
    ranked = sorted(outcome.evidence, key=lambda e: e.p_value or 0.0)
    m = len(ranked)
    assert m == 6
    running = 0.0
    for i, e in enumerate(ranked):  # Holm by hand: step-down, monotone, capped at 1
        running = max(running, min(1.0, (m - i) * (e.p_value or 0.0)))
        assert e.p_adjusted == pytest.approx(running, rel=1e-9)


# --- a table we did not make ----------------------------------------------------------------


def _stranger(n: int = 400, seed: int = 12) -> pd.DataFrame:
    """A scoring service's log: its own column names, an origin 'hors_ue' underrated by the
    score among the people who did find work, and no person-level track."""
    rng = np.random.default_rng(seed)
    origine = rng.choice(["belge", "hors_ue"], n, p=[0.5, 0.5])
    emploi = rng.random(n) < 0.5
    logit = (
        np.where(emploi, 1.2, -1.2) + rng.normal(0, 1, n) - 2.0 * (origine == "hors_ue") * emploi
    )
    return pd.DataFrame(
        {
            "dossier": [f"D{i:04d}" for i in range(n)],
            "origine": origine,
            "emploi_6m": emploi.astype(int),
            "score_emploi": (1 / (1 + np.exp(-logit))).round(5),
        }
    )


def test_a_table_we_did_not_make_through_run_checks() -> None:
    people = _stranger()
    table = pd.DataFrame({"_score": people.score_emploi, "_outcome": people.emploi_6m})
    ctx = CheckContext(
        people=people, table=table, model=None, attributes=(Attribute("origine", "belge"),),
        factors=(), factor_bins={},
    )  # fmt: skip
    (outcome,) = run_checks([ThresholdParams(check="AT", attributes=["origine"])], ctx)
    assert outcome.status == "finding"
    found = [e for e in outcome.evidence if e.status == "finding"]
    assert found and {e.measure for e in found} == {WRONGLY_LOW}
    assert all(e.level == "hors_ue" for e in found)


def test_audit_run_on_a_table_we_did_not_make(tmp_path: Path) -> None:
    people = _stranger()
    people_csv, log_csv = tmp_path / "dossiers.csv", tmp_path / "scores.csv"
    people.drop(columns=["score_emploi"]).to_csv(people_csv, index=False)
    people[["dossier", "score_emploi"]].sample(frac=1.0, random_state=3).to_csv(
        log_csv, index=False
    )
    spec = {
        "name": "seuils",
        "data": {"file": str(people_csv), "schema": "none"},
        "model": {
            "decisions": {"file": str(log_csv), "score_column": "score_emploi", "id_column": "dossier"}
        },
        "decision": {"threshold": 0.5},
        "outcome": "emploi_6m",
        "attributes": [{"column": "origine", "reference": "belge"}],
        "statistics": {"n_boot": 0},
        "checks": [{"check": "thresholds", "id": "seuils"}],
        "policy": {"rules": [{"id": "errors-at-the-bands", "harm_check": "seuils"}]},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "rapport"), "formats": []},
    }  # fmt: skip
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (check,) = json.loads((tmp_path / "rapport" / "checks.json").read_text())["checks"]
    assert check["code"] == "AT" and check["status"] == "finding"
    assert len(check["evidence"]) == 4
    verdict = json.loads((tmp_path / "rapport" / "verdict.json").read_text())
    assert {r["rule_id"]: r["status"] for r in verdict["rules"]}["errors-at-the-bands"] == "fail"
    assert "seuils" in done.stdout


# --- cannot run -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        (["_outcome"], "expected a score to read the errors"),
        (["_score"], "expected an observed outcome to read the errors"),
        ([], "expected a score and an observed outcome"),
    ],
)
def test_without_a_score_or_an_outcome_it_is_skipped_and_the_others_go_on(
    columns: list[str], says: str
) -> None:
    people = _table(200, 0.0, seed=13)
    people["track"] = np.where(people.score > 0.5, "werk", "beschut")
    full = {"_score": people.score, "_outcome": people.werk}
    table = pd.DataFrame({c: full[c] for c in columns})
    table["_track"] = pd.Categorical(people.track, ["werk", "beschut"])
    at, h1 = run_checks(
        [ThresholdParams(check="AT"), SteeringParams(check="H1", track="beschut")],
        _ctx(people, table),
    )
    assert at.status == "skipped" and says in str(at.reason), at.reason
    assert "Fix:" in str(at.reason)
    assert h1.status != "skipped"


def test_an_unknown_group_column_is_skipped_with_the_closest_name() -> None:
    people = _table(200, 0.0, seed=14)
    (outcome,) = run_checks([ThresholdParams(check="AT", attributes=["gorep"])], _ctx(people))
    assert outcome.status == "skipped" and "'gorep' (closest: 'groep')" in str(outcome.reason)


def test_people_without_a_score_are_left_out_with_a_note() -> None:
    people = _table(500, 0.0, seed=15)
    table = pd.DataFrame(
        {"_score": people.score.where(people.index % 10 != 0), "_outcome": people.werk}
    )
    (outcome,) = run_checks([ThresholdParams(check="AT")], _ctx(people, table))
    assert outcome.notes == ("100 people without a score or an outcome are left out",)
    e = _record(outcome, "b", WRONGLY_LOW, 0.25)
    kept = people[(people.index % 10 != 0) & (people.groep == "b")]
    assert e.n == int(kept.werk.sum())


def test_a_threshold_below_every_score_has_no_test_and_decides_on_its_interval() -> None:
    outcome = _run(_table(3000, 0.0, seed=16), thresholds=[0.0])
    high = _record(outcome, "b", WRONGLY_HIGH, 0.0)
    low = _record(outcome, "b", WRONGLY_LOW, 0.0)
    assert (high.details["rate"], low.details["rate"]) == (1.0, 0.0)  # all judged high chance
    for e in (high, low):
        assert e.estimate == 0.0 and e.p_value is None and e.status == "no_finding"
    assert outcome.status == "no_finding"
