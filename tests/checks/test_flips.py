"""Counterfactual flips (CF): known truth over seeds, each verdict both ways, the flip counts
against the model called by hand, Wilson intervals against statsmodels, the gate's bound, a
table we did not make (through `run_checks` and `audit run`), and the caller's data untouched."""

from __future__ import annotations

import io
import json
import math
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from statsmodels.stats.proportion import proportion_confint

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.flips import FlipParams
from audit.checks.known_truth import FLIP_FEATURES, TRIALS, run_trial, track_model
from audit.checks.result import checks_json
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.cli import main
from audit.data import generate_population
from audit.harm_rules import harm_rule_outcomes
from audit.models.importing import AuditableModel, ModelIdentity, PipelineModel
from audit.models.inputs import (
    InputColumn,
    check_input_columns,
    infer_input_columns,
    prepare_inputs,
)
from audit.models.skops_io import save_skops
from audit.models.training import build_pipeline
from audit.spec import DecisionSpec, HarmCheckRule

MH = Attribute("mental_health_history", "False")
STEERED = (*FLIP_FEATURES, "housing_status", "mental_health_history")
FLIPS = FlipParams(check="flips", attribute="mental_health_history")


@cache
def _people(scenario: str, n: int, seed: int = 0) -> pd.DataFrame:
    return generate_population(n, scenario=scenario, seed=seed).people


@cache
def _model(scenario: str, features: tuple[str, ...], seed: int = 0) -> AuditableModel:
    return track_model(scenario, features, seed)


def _ctx(people: pd.DataFrame, model: AuditableModel | None, **kw: Any) -> CheckContext:
    return CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=model,
        attributes=(MH,),
        factors=(),
        factor_bins={},
        **kw,
    )


def _one(params: FlipParams, ctx: CheckContext) -> CheckOutcome:
    (outcome,) = run_checks([params], ctx)
    return outcome


def _intervals_hold(outcome: CheckOutcome) -> None:
    for e in outcome.evidence:
        assert e.estimate is not None and e.ci_low is not None and e.ci_high is not None
        assert e.ci_low <= e.estimate <= e.ci_high


# --- known truth ------------------------------------------------------------------------------


def test_known_truth_flips_found_when_the_model_reads_the_attribute_never_when_not() -> None:
    (trial,) = [t for t in TRIALS if t.name.startswith("CF")]
    result = run_trial(trial, range(20))
    assert result.power >= 0.9
    assert result.false_finding_rate <= 0.05
    # A model that reads neither the attribute nor its proxy cannot flip: every null seed rules
    # flips out (0 flips among ~540 people: Wilson upper end 3.84 / (n + 3.84) < 1%).
    assert set(result.null_statuses) == {"no_finding"}


# --- the figures, by hand -----------------------------------------------------------------------


def test_flip_counts_equal_the_model_called_by_hand_and_wilson_matches_statsmodels() -> None:
    people = _people("h1_steering", 6000)
    model = _model("h1_steering", STEERED)
    outcome = _one(FLIPS, _ctx(people, model))
    assert isinstance(model, PipelineModel)
    # By hand: the pipeline on the people as they are and with the flag negated.
    flipped = people.copy()
    flipped["mental_health_history"] = ~people["mental_health_history"]
    x0 = prepare_inputs(model.expected_columns, people)
    x1 = prepare_inputs(model.expected_columns, flipped)
    changed = model.pipeline.predict(x0) != model.pipeline.predict(x1)
    history = people["mental_health_history"].to_numpy()
    by_level = {e.level: e for e in outcome.evidence}
    assert set(by_level) == {"True", "False"}
    for level, rows in (("True", history), ("False", ~history)):
        e = by_level[level]
        assert e.measure == "flip_rate" and e.n == rows.sum()
        assert e.details["changed"] == changed[rows].sum()
        assert e.reference == ("False" if level == "True" else "True")
        low, high = proportion_confint(changed[rows].sum(), rows.sum(), 0.05, method="wilson")
        assert e.ci_low == pytest.approx(low, abs=1e-12)
        assert e.ci_high == pytest.approx(high, abs=1e-12)
    assert outcome.status == "finding"
    assert by_level["True"].status == "finding" and by_level["True"].ci_low > 0.01
    _intervals_hold(outcome)


def test_a_model_without_the_attribute_never_flips_and_says_so() -> None:
    people = _people("h1_steering", 6000)
    outcome = _one(FLIPS, _ctx(people, _model("h1_steering", FLIP_FEATURES)))
    assert outcome.status == "no_finding"
    assert all(e.estimate == 0 and e.status == "no_finding" for e in outcome.evidence)
    # Theory: 0 of n people gives the Wilson upper end z^2 / (n + z^2).
    e = next(e for e in outcome.evidence if e.level == "True")
    assert e.ci_high == pytest.approx(1.959964**2 / (e.n + 1.959964**2), rel=1e-5)
    assert outcome.notes == (
        "the model does not read 'mental_health_history': changing it alone cannot change "
        "its output",
    )
    assert "at most 0.7% of any group compared: within the tolerated 1.0%" in outcome.sentence
    _intervals_hold(outcome)


def test_few_people_cannot_tell_and_too_few_cannot_decide() -> None:
    people = _people("h1_steering", 600)  # ~55 people with a history
    model = _model("h1_steering", FLIP_FEATURES)
    outcome = _one(FLIPS, _ctx(people, model))
    # 0 flips among ~55: the interval reaches ~6.5%, above the 1% margin: the data cannot tell.
    history = next(e for e in outcome.evidence if e.level == "True")
    assert history.estimate == 0 and history.status == "inconclusive"
    assert history.ci_high is not None and history.ci_high > 0.01
    assert history.detectable is not None and history.detectable > 0.01
    assert outcome.status == "inconclusive" and "cannot be ruled out" in outcome.sentence
    small = _one(FLIPS, _ctx(people, model, min_group_size=1000))
    assert small.status == "not_evaluable" and small.reason == "no group large enough to compare"
    assert {e.status for e in small.evidence} == {"unreliable"}
    assert all(e.p_adjusted is None for e in small.evidence)


def test_proxies_flip_a_model_that_reads_only_the_proxy() -> None:
    """Trained on steered recommendations without the flag, the model learns it through housing:
    changing the flag alone changes nothing, changing housing with it does."""
    people = _people("h1_steering", 6000)
    model = _model("h1_steering", (*FLIP_FEATURES, "housing_status"))
    params = replace_params(FLIPS, proxies=["housing_status"], cases=True)
    outcome = _one(params, _ctx(people, model))
    alone = [e for e in outcome.evidence if e.measure == "flip_rate"]
    proxied = [e for e in outcome.evidence if e.measure == "flip_rate_with_proxies"]
    assert len(alone) == len(proxied) == 2
    assert all(e.estimate == 0 for e in alone)
    assert sum(int(e.details["changed"]) for e in proxied) > 0
    assert {c.reason for c in outcome.cases} == {"CF_FLIP_WITH_PROXIES"}
    assert all("housing_status" in str(c.evidence["changed"]) for c in outcome.cases)
    # The same seed draws the same proxies; another seed others.
    again = _one(params, _ctx(people, model))
    assert [e.estimate for e in again.evidence] == [e.estimate for e in outcome.evidence]
    _intervals_hold(outcome)


class _Spy:
    """A real model that keeps the frames it was given (to see what the check changed)."""

    def __init__(self, model: AuditableModel) -> None:
        self.model = model
        self.seen: list[pd.DataFrame] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        self.seen.append(df)
        return self.model.predict_proba(df)


def test_only_the_attribute_and_the_proxies_change_and_the_callers_data_does_not() -> None:
    people = _people("h1_steering", 3000).copy()
    before = people.copy(deep=True)
    spy = _Spy(_model("h1_steering", STEERED))
    params = replace_params(FLIPS, proxies=["housing_status"], proxy_values="typical")
    _one(params, _ctx(people, spy))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(people, before)  # values and dtypes
    original, alone, proxied = spy.seen
    assert original is not people and alone is not people
    pd.testing.assert_frame_equal(original, before)
    history = before["mental_health_history"].to_numpy()
    np.testing.assert_array_equal(alone["mental_health_history"].to_numpy(), ~history)
    unchanged = [c for c in before.columns if c != "mental_health_history"]
    pd.testing.assert_frame_equal(alone[unchanged], before[unchanged])
    # "typical": the mode of the level moved to, for everyone moved there.
    housing = proxied["housing_status"]
    assert housing.dtype == before["housing_status"].dtype
    for moved_to, rows in ((False, history), (True, ~history)):
        mode = before["housing_status"][history == moved_to].mode().iloc[0]
        assert (housing[rows] == mode).all()
    rest = [c for c in unchanged if c != "housing_status"]
    pd.testing.assert_frame_equal(proxied[rest], before[rest])


def replace_params(params: FlipParams, **changes: Any) -> FlipParams:
    return params.model_copy(update=changes)


# --- the decision rule, several levels, cases -----------------------------------------------


def test_a_profiling_decision_flips_with_the_specs_threshold() -> None:
    people = _people("h1_steering", 4000)
    features = ["pes_score", "education", "mental_health_history"]
    train = generate_population(3000, scenario="h1_steering", seed=9).people
    inputs = infer_input_columns(train, features)
    # A label that reads the flag directly: the flag must move the score across the threshold.
    y = (train["pes_score"] - 0.15 * train["mental_health_history"] > 0.45).astype(int)
    pipe = build_pipeline(inputs, algorithm="logistic", seed=0).fit(
        prepare_inputs(inputs, train), y
    )
    model = PipelineModel(pipe, ModelIdentity(kind="skops", uri="t", sha256=""), inputs)
    rule = DecisionSpec(threshold=0.3)
    outcome = _one(replace_params(FLIPS, cases=True), _ctx(people, model, decision=rule))
    flipped = people.copy()
    flipped["mental_health_history"] = ~people["mental_health_history"]
    d0 = pipe.predict_proba(prepare_inputs(inputs, people))[:, 1] >= 0.3
    d1 = pipe.predict_proba(prepare_inputs(inputs, flipped))[:, 1] >= 0.3
    assert sorted(c.row for c in outcome.cases) == np.flatnonzero(d0 != d1).tolist()
    assert "decision" in outcome.sentence and outcome.status == "finding"
    case = outcome.cases[0]
    assert set(case.evidence) == {
        "changed", "decision_before", "decision_after", "score_before", "score_after",
    }  # fmt: skip
    assert case.evidence["changed"] == "mental_health_history"  # the column, never its value
    assert case.evidence["decision_before"] != case.evidence["decision_after"]
    shifts = [-c.score for c in outcome.cases]
    assert shifts == sorted(shifts, reverse=True)  # the largest score change first
    # Published: a count, no row.
    published = json.loads(checks_json([outcome], 10))["checks"][0]
    assert published["flagged"] == len(outcome.cases) and "cases" not in published


def test_a_several_level_attribute_moves_everyone_to_the_reference() -> None:
    people = _people("h1_steering", 4000)
    model = _model("h1_steering", STEERED)
    params = FlipParams(check="CF", attribute="housing_status")
    ctx = replace(_ctx(people, model), attributes=(Attribute("housing_status", "stable"),))
    outcome = _one(params, ctx)
    assert {(e.level, e.reference) for e in outcome.evidence} == {
        ("homeless", "stable"), ("unstable", "stable"),
    }  # fmt: skip
    to = _one(replace_params(params, to="homeless"), ctx)
    assert {(e.level, e.reference) for e in to.evidence} == {
        ("stable", "homeless"), ("unstable", "homeless"),
    }  # fmt: skip


# --- the gate: "flip rate at most x" ----------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "features", "status"),
    [
        (6000, STEERED, "fail"),  # ~28% of people with a history flip: beyond 2%
        (6000, FLIP_FEATURES, "pass"),  # no flip, 540 people: at most 0.7%
        (600, FLIP_FEATURES, "inconclusive"),  # no flip, but 55 people reach 6.5%
    ],
)
def test_gate_bounds_the_flip_rate(n: int, features: tuple[str, ...], status: str) -> None:
    outcome = _one(FLIPS, _ctx(_people("h1_steering", n), _model("h1_steering", features)))
    rule = HarmCheckRule(id="few-flips", harm_check="flips", max=0.02)
    (result,) = harm_rule_outcomes([rule], [outcome])
    assert result.status == status
    assert result.description == "harm check 'flips' at most 0.02"
    unbounded = HarmCheckRule(id="no-flips", harm_check="flips")
    (plain,) = harm_rule_outcomes([unbounded], [outcome])
    assert plain.status == {"fail": "fail", "pass": "pass"}.get(status, "inconclusive")


# --- refusals: skipped with a reason, the others still run ----------------------------------


def test_missing_column_unknown_level_no_model_and_a_model_that_fails_are_skipped() -> None:
    people = _people("h1_steering", 3000)
    model = _model("h1_steering", STEERED)
    steering = SteeringParams(check="steering", track="sheltered")
    entries = [
        FlipParams(check="flips", attribute="mental_health", id="typo"),
        FlipParams(check="flips", attribute="mental_health_history", to="Tru", id="level"),
        steering,
        FLIPS,
    ]
    table = pd.DataFrame({"_track": people["recommended_track"]})
    ctx = replace(_ctx(people, model), table=table)
    typo, level, h1, ok = run_checks(entries, ctx)
    assert typo.status == "skipped" and "'mental_health' (closest: 'mental_health_history')" in (
        typo.reason or ""
    )
    assert level.status == "skipped" and level.reason == (
        "'to: Tru': expected a level of 'mental_health_history' among ['False', 'True']; found "
        "none by that name (did you mean 'True'?). Fix: spell the level as the data does"
    )
    assert h1.status not in ("skipped", "not_evaluable") and ok.status == "finding"
    (no_model,) = run_checks([FLIPS], replace(ctx, model=None))
    assert no_model.status == "skipped" and "needs the model" in (no_model.reason or "")
    assert "a file of decisions cannot be re-scored" in (no_model.reason or "")
    # The model reads pes_score, which these people lack.
    (broken,) = run_checks([FLIPS], replace(ctx, people=people.drop(columns="pes_score")))
    assert broken.status == "skipped"
    assert (broken.reason or "").startswith(
        "the model: expected it to score the people with 'mental_health_history' changed; "
        "found AuditInputError"
    )
    assert "pes_score" in (broken.reason or "")


# --- a table we did not make ------------------------------------------------------------------


def _dossiers(n: int = 400, seed: int = 5) -> pd.DataFrame:
    """A service's files in Dutch: the advice ("advies", 1 = intensive support) is given less
    often to people with a psychiatric history ("psy": ja/nee), whatever their experience."""
    rng = np.random.default_rng(seed)
    psy = rng.choice(["ja", "nee"], n, p=[0.25, 0.75])
    woon = rng.choice(["eigen", "huur", "dakloos"], n, p=[0.5, 0.4, 0.1])
    jaren = rng.integers(0, 30, n)
    logit = -0.5 + 0.08 * jaren - 2.5 * (psy == "ja")
    advies = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {"dossier": np.arange(n), "psy": psy, "woon": woon, "jaren": jaren, "advies": advies}
    )


def _dossier_model(table: pd.DataFrame) -> PipelineModel:
    inputs = infer_input_columns(table, ["psy", "woon", "jaren"])
    pipe = build_pipeline(inputs, algorithm="logistic", seed=0)
    pipe.fit(prepare_inputs(inputs, table), table["advies"])
    return PipelineModel(pipe, ModelIdentity(kind="skops", uri="dossiers", sha256=""), inputs)


def test_a_table_we_did_not_make_through_run_checks() -> None:
    table = _dossiers()
    model = _dossier_model(table)
    ctx = CheckContext(
        people=table,
        table=pd.DataFrame(index=table.index),
        model=model,
        attributes=(Attribute("psy", "nee"),),
        factors=(),
        factor_bins={},
    )
    params = FlipParams(check="flips", attribute="psy", proxies=["woon"], cases=True)
    outcome = _one(params, ctx)
    assert outcome.status == "finding"
    assert {(e.level, e.reference) for e in outcome.evidence} == {("ja", "nee"), ("nee", "ja")}
    flipped = table.assign(psy=np.where(table["psy"] == "ja", "nee", "ja"))
    d0 = model.pipeline.predict(prepare_inputs(model.expected_columns, table))
    d1 = model.pipeline.predict(prepare_inputs(model.expected_columns, flipped))
    psy = table["psy"].to_numpy() == "ja"
    ja = next(e for e in outcome.evidence if e.level == "ja" and e.measure == "flip_rate")
    assert ja.details["changed"] == (d0 != d1)[psy].sum() and ja.n == psy.sum()
    _intervals_hold(outcome)


def test_a_table_we_did_not_make_through_audit_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _dossiers()
    data = tmp_path / "dossiers.csv"
    table.to_csv(data, index=False)
    model = save_skops(_dossier_model(table).pipeline, tmp_path / "advies.skops")
    spec = {
        "name": "dossiers",
        "data": {"file": str(data), "schema": "none"},
        "model": {"uri": str(model)},
        "attributes": [{"column": "psy", "reference": "nee"}],
        "statistics": {"n_boot": 0, "seed": 1},
        "checks": [{"check": "flips", "attribute": "psy", "id": "psy-flips"}],
        "policy": {"rules": [{"id": "few-flips", "harm_check": "psy-flips", "max": 0.05}]},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "out"), "junit": False},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    # The `audit` command itself, in this process (as the console script calls it).
    monkeypatch.setattr(sys, "argv", ["audit", "run", str(path)])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 1  # the flips fail the gate
    written = json.loads((tmp_path / "out" / "checks.json").read_text())
    (check,) = written["checks"]
    assert check["code"] == "CF" and check["status"] == "finding"
    ja = next(r for r in check["evidence"] if r["level"] == "ja")
    assert ja["ci_low"] > 0.05 and ja["measure"] == "flip_rate"


# --- the margin, on a model with a known flip rate --------------------------------------------


class _EveryKth:
    """A model whose decision reads the group for every k-th person only: changing the group
    flips exactly 1/k of each group (a known answer, not a stand-in for a model)."""

    kind = "skops"
    identity = ModelIdentity(kind="skops", uri="every-kth", sha256="")
    expected_columns = (InputColumn("grp", "string"), InputColumn("key", "numeric"))
    classes = ("0", "1")
    task = "profiling"

    def __init__(self, k: int) -> None:
        self.k = k

    def check(self, df: pd.DataFrame) -> Any:
        return check_input_columns(self.expected_columns, df)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        reads = (df["key"].to_numpy() % self.k == 0) & (df["grp"].to_numpy() == "b")
        p = np.where(reads, 0.9, 0.1)
        return np.column_stack([1 - p, p])

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(df)[:, 1] >= 0.5).astype(np.int64)


@pytest.mark.parametrize(
    ("k", "status"),
    [
        (20, "finding"),  # 5% flip: far above the 1% margin
        (90, "inconclusive"),  # 1.1%: the interval straddles 1%
        (200, "no_finding"),  # 0.5%: flips, but the interval stays below 1%
    ],
)
def test_the_margin_decides_on_a_known_flip_rate(k: int, status: str) -> None:
    n = 20_000
    people = pd.DataFrame({"grp": np.repeat(["a", "b"], n // 2), "key": np.arange(n) // 2})
    ctx = replace(_ctx(people, _EveryKth(k)), attributes=(Attribute("grp", "a"),))  # type: ignore[arg-type]
    outcome = _one(FlipParams(check="flips", attribute="grp"), ctx)
    assert outcome.status == status
    m = 0.01
    for e in outcome.evidence:
        assert e.status == status and e.n == n // 2
        rate = ((np.arange(n // 2) % k) == 0).mean()
        assert e.estimate == pytest.approx(rate)
        # By hand: the score test of rate = margin, two-sided, then Holm over the 2 groups.
        z = (rate - m) / math.sqrt(m * (1 - m) / e.n)
        p = math.erfc(abs(z) / math.sqrt(2))
        assert e.p_value == pytest.approx(p, rel=1e-9)
        assert e.p_adjusted == pytest.approx(min(1.0, 2 * p), rel=1e-9)
    _intervals_hold(outcome)


def test_drawn_proxies_come_from_people_of_the_level_moved_to() -> None:
    """With each person's id as the "proxy", every moved person must carry the id of someone
    of the level they were moved to (the draw's donors)."""
    people = _people("h1_steering", 2000)
    spy = _Spy(_model("h1_steering", STEERED))
    params = replace_params(FLIPS, proxies=["person_id"])
    _one(params, _ctx(people, spy))  # type: ignore[arg-type]
    proxied = spy.seen[-1]
    history = people["mental_health_history"].to_numpy()
    ids = people["person_id"].to_numpy()
    drawn = proxied["person_id"].to_numpy()
    assert set(drawn[history]) <= set(ids[~history])
    assert set(drawn[~history]) <= set(ids[history])
    assert len(set(drawn[history])) > 0.5 * history.sum()  # a draw, not one person copied
