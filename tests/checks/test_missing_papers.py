"""H3 missing papers: known truth over seeds, hand-computed costs, every verdict both ways, a
table we did not make (through `run_checks` and `audit run`), and skipped checks with reasons."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from sklearn.tree import DecisionTreeClassifier

from audit.checks.base import Attribute
from audit.checks.known_truth import TRIALS, context, pes_score_model, run_trial
from audit.checks.missing_papers import MissingPapersParams, on_file
from audit.checks.proxies import ProxyParams
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.data import generate_population
from audit.models.importing import ModelIdentity, PipelineModel
from audit.models.inputs import infer_input_columns, prepare_inputs
from audit.models.skops_io import save_skops
from audit.models.training import build_pipeline
from tests.checks.papers_and_traces import (
    DOCS,
    FEATURES,
    TRACES,
    dutch_people,
    every_interval_holds_its_estimate,
    fitted_model,
    weighted_model,
)
from tests.checks.papers_and_traces import context as ctx_of

H3 = MissingPapersParams(check="H3")
TRIAL = next(t for t in TRIALS if t.name.startswith("H3"))


def _one(params: MissingPapersParams, ctx: object) -> object:
    (outcome,) = run_checks([params], ctx)  # type: ignore[arg-type]
    return outcome


# --- known truth ---------------------------------------------------------------------------


def test_known_truth_power_and_false_findings_over_20_seeds() -> None:
    result = run_trial(TRIAL, range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses
    # Nothing injected, nothing to find: the learnt model has no document weight, so the
    # evidence rules the cost out rather than failing to tell.
    assert set(result.null_statuses) == {"no_finding"}


def test_the_injected_penalty_is_recovered_person_by_person() -> None:
    """In h3 the score's logit drops by 0.7 per missing document, so imputing a person's k
    missing documents moves their score from sigmoid(eta) to sigmoid(eta + 0.7 k)."""
    people = generate_population(4000, scenario="h3_missing_documents", seed=3).people
    outcome = _one(H3, context(TRIAL, people, 3, model=pes_score_model(people)))
    docs = people[["diploma_on_file", "address_on_file", "id_on_file"]].to_numpy()
    k = 3 - docs.sum(axis=1)
    s = people["pes_score"].to_numpy()
    eta = np.log(s / (1 - s))
    expected = 1 / (1 + np.exp(-(eta + 0.7 * k))) - s
    overall = next(e for e in outcome.evidence if e.measure == "score_loss")
    assert overall.estimate == pytest.approx(expected[k > 0].mean(), abs=1e-4)
    assert overall.status == "finding" and outcome.status == "finding"
    homeless = next(
        e for e in outcome.evidence if e.level == "homeless" and e.measure == "score_loss_gap"
    )
    housing = people["housing_status"].to_numpy()
    gap = expected[housing == "homeless"].mean() - expected[housing == "stable"].mean()
    assert homeless.estimate == pytest.approx(gap, abs=1e-4)
    assert "H3" in outcome.code and every_interval_holds_its_estimate(outcome.evidence)


# --- hand-computed, cross-checked with scipy -----------------------------------------------


def _hand_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.5, 0.5])
    diploma = rng.random(n) < np.where(g == "b", 0.5, 0.9)
    return pd.DataFrame({"g": g, "diploma": diploma, "x": rng.standard_normal(n).round(2)})


def test_costs_by_hand_and_welch_interval_as_scipy() -> None:
    people = _hand_table()
    model = weighted_model(people, {"diploma": 2.0, "x": 0.5}, -1.0)
    params = MissingPapersParams(check="H3", documents=["diploma"], impute="on_file")
    outcome = _one(params, ctx_of(people, model, [Attribute("g", "a")]))
    x, has = people["x"].to_numpy(dtype=np.float32).astype(float), people["diploma"].to_numpy()
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    cost = np.where(has, 0.0, sig(-1 + 2 + 0.5 * x) - sig(-1 + 0.5 * x))
    g = people["g"].to_numpy()
    b, a = cost[g == "b"], cost[g == "a"]
    rec = next(e for e in outcome.evidence if e.measure == "score_loss_gap")
    assert (rec.level, rec.reference) == ("b", "a")
    assert rec.estimate == pytest.approx(b.mean() - a.mean(), rel=1e-9)
    welch = stats.ttest_ind(b, a, equal_var=False)
    se = (b.mean() - a.mean()) / welch.statistic
    z = stats.norm.ppf(0.975)
    assert rec.ci_low == pytest.approx(rec.estimate - z * se, rel=1e-9)
    assert rec.ci_high == pytest.approx(rec.estimate + z * se, rel=1e-9)
    overall = next(e for e in outcome.evidence if e.measure == "score_loss")
    assert overall.estimate == pytest.approx(cost[~has].mean(), rel=1e-9)
    assert overall.n == int((~has).sum()) and overall.n_reference == int(has.sum())
    # The missingness part, by hand.
    miss = next(e for e in outcome.evidence if e.measure == "missing_rate_difference.diploma")
    assert miss.estimate == pytest.approx((~has[g == "b"]).mean() - (~has[g == "a"]).mean())
    assert miss.status == "descriptive" and miss.p_adjusted is None


def test_comparable_imputation_keeps_a_document_most_comparable_people_lack() -> None:
    """Among people alike in the factor `k`, the most common value is imputed: where most lack
    the diploma (k = 1) nothing changes; where most have it (k = 0), the missing get it."""
    rng = np.random.default_rng(1)
    k = np.repeat([0, 1], 200)
    diploma = rng.random(400) < np.where(k == 0, 0.9, 0.2)
    people = pd.DataFrame({"k": k, "g": rng.choice(["a", "b"], 400), "diploma": diploma})
    model = weighted_model(people, {"diploma": 1.0}, 0.0)
    params = MissingPapersParams(check="H3", documents=["diploma"], factors=["k"])
    outcome = _one(params, ctx_of(people, model, [Attribute("g", "a")]))
    overall = next(e for e in outcome.evidence if e.measure == "score_loss")
    lift = 1 / (1 + math.exp(-1.0)) - 0.5
    missing = ~diploma
    expected = np.where(k[missing] == 0, lift, 0.0).mean()
    assert overall.estimate == pytest.approx(expected, rel=1e-6)
    assert any("alike in k" in n for n in outcome.notes)


# --- each verdict both ways ----------------------------------------------------------------


def test_no_finding_when_the_model_ignores_the_documents() -> None:
    people = _hand_table()
    model = weighted_model(people, {"x": 1.0}, 0.0)
    outcome = _one(
        MissingPapersParams(check="H3", documents=["diploma"]),
        ctx_of(people, model, [Attribute("g", "a")]),
    )
    assert outcome.status == "no_finding"
    costs = [e for e in outcome.evidence if e.measure.startswith("score_loss")]
    assert costs and all(e.estimate == 0 and e.ci_high == 0 for e in costs)


def test_documents_that_raise_the_score_are_no_harm_when_harm_is_lower() -> None:
    people = _hand_table()
    model = weighted_model(people, {"diploma": -0.02, "x": 1.0}, 0.0)
    params = MissingPapersParams(check="H3", documents=["diploma"])
    assert _one(params, ctx_of(people, model, [Attribute("g", "a")])).status == "no_finding"
    # The same model read the other way: a higher score is the harm (e.g. a risk score).
    other = params.model_copy(update={"harmful_when": "higher"})
    assert _one(other, ctx_of(people, model, [Attribute("g", "a")])).status == "finding"


def test_inconclusive_when_few_people_and_the_cost_varies_in_sign() -> None:
    """A tree that penalises a missing diploma where x > 0 and rewards it where x < 0: among 80
    people the mean cost is near 0 with a wide interval, so the data cannot tell."""
    rng = np.random.default_rng(4)
    n = 80
    people = pd.DataFrame(
        {
            "g": rng.choice(["a", "b"], n),
            "diploma": rng.random(n) < 0.5,
            "x": rng.standard_normal(n),
        }
    )
    label = np.where(people["x"] > 0, people["diploma"], ~people["diploma"]).astype(int)
    inputs = infer_input_columns(people, ["diploma", "x"])
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(
        prepare_inputs(inputs, people), label
    )
    model = PipelineModel(tree, ModelIdentity(kind="skops", uri="tree", sha256=""), inputs)
    params = MissingPapersParams(check="H3", documents=["diploma"], impute="on_file")
    outcome = _one(params, ctx_of(people, model, [Attribute("g", "a")]))
    assert outcome.status == "inconclusive", [
        (e.measure, e.estimate, e.ci_low, e.ci_high, e.status) for e in outcome.evidence
    ]
    assert "cannot be ruled out" in outcome.sentence
    deciding = [e for e in outcome.evidence if e.status in ("inconclusive", "no_finding")]
    assert all(e.detectable is not None and e.detectable > 0 for e in deciding)


def test_small_groups_are_unreliable_and_none_large_enough_is_not_evaluable() -> None:
    people = _hand_table(n=50)
    model = weighted_model(people, {"diploma": 2.0}, 0.0)
    params = MissingPapersParams(check="H3", documents=["diploma"])
    outcome = _one(params, ctx_of(people, model, [Attribute("g", "a")]))
    assert outcome.status == "not_evaluable"
    assert outcome.reason == "no group large enough to compare"
    assert {e.status for e in outcome.evidence} == {"unreliable"}


# --- a table we did not make ---------------------------------------------------------------


def test_dutch_table_with_a_model_finds_the_learnt_penalty() -> None:
    people = dutch_people()
    model = fitted_model(people, FEATURES, "uitstroom")
    params = MissingPapersParams(check="missing_papers", documents=DOCS)
    outcome = _one(params, ctx_of(people, model, [Attribute("woonsituatie", "eigen")]))
    assert outcome.status == "finding", outcome.sentence
    homeless = next(
        e for e in outcome.evidence if e.level == "dakloos" and e.measure == "score_loss_gap"
    )
    assert homeless.estimate is not None and homeless.estimate > 0.02
    # A missing address (NaN) counts as missing, as "nee" does for the diploma.
    address = next(
        e for e in outcome.evidence if e.level == "dakloos" and e.measure.endswith("adres_gekend")
    )
    h = people["woonsituatie"] == "dakloos"
    e = people["woonsituatie"] == "eigen"
    lacks = people["adres_gekend"].ne(1.0)
    assert address.estimate == pytest.approx(lacks[h].mean() - lacks[e].mean())
    assert every_interval_holds_its_estimate(outcome.evidence)


def test_dutch_table_without_a_model_reports_who_lacks_documents() -> None:
    people = dutch_people()
    table = pd.DataFrame(
        {"_decision": (people["capaciteit"] > 0).astype(np.int8), "_outcome": people["uitstroom"]}
    )
    outcome = _one(
        MissingPapersParams(check="H3", documents=DOCS),
        ctx_of(people, None, [Attribute("woonsituatie", "eigen")], table=table),
    )
    assert outcome.status == "not_evaluable"
    assert "needs the model" in (outcome.reason or "")
    assert not any(e.measure.startswith("score_loss") for e in outcome.evidence)
    # Error rates by missingness pattern, by hand.
    some = ~(
        people["diploma_aanwezig"].eq("ja")
        & people["adres_gekend"].eq(1.0)
        & people["identiteitskaart"]
    )
    y, d = people["uitstroom"].eq(1), people["capaciteit"] > 0
    fnr = lambda rows: float((~d[rows & y]).mean())  # noqa: E731
    rec = next(e for e in outcome.evidence if e.measure == "fnr_difference")
    assert rec.estimate == pytest.approx(fnr(some) - fnr(~some))
    assert rec.status == "descriptive"


def test_audit_run_with_both_checks_on_the_dutch_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audit.cli import main

    people = dutch_people()
    data = tmp_path / "mensen.csv"
    people.drop(columns=["uitstroom"]).to_csv(data, index=False)  # no outcome in the file
    inputs = infer_input_columns(people, FEATURES)
    pipeline = build_pipeline(inputs, algorithm="logistic", seed=0)
    pipeline.fit(prepare_inputs(inputs, people), people["uitstroom"].to_numpy())
    save_skops(pipeline, tmp_path / "model.skops")
    spec = {
        "name": "papieren",
        "data": {"file": str(data), "schema": "none"},
        "model": {"uri": str(tmp_path / "model.skops")},
        "attributes": [
            {"column": "woonsituatie", "reference": "eigen"},
            {"column": "digitale_vaardigheid", "reference": "goed"},
        ],
        "statistics": {"n_boot": 100, "seed": 1},
        "checks": [
            {"check": "missing_papers", "documents": DOCS},
            {"check": "digital_proxies", "features": TRACES, "cv_rows": 400},
            {"check": "H1", "track": "sheltered"},  # no tracks here: skipped, the others run
        ],
        "policy": {"rules": [{"id": "papers", "harm_check": "missing_papers"}]},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "rapport"), "junit": False},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.setattr(sys, "argv", ["audit", "run", str(path)])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 1  # the learnt document penalty fails the harm_check rule
    checks = json.loads((tmp_path / "rapport" / "checks.json").read_text())["checks"]
    status = {c["id"]: c["status"] for c in checks}
    assert status["missing_papers"] == "finding"
    assert status["digital_proxies"] in ("finding", "no_finding", "inconclusive")
    assert status["H1"] == "skipped"
    h3 = next(c for c in checks if c["id"] == "missing_papers")
    kinds = {r["status"] for r in h3["evidence"]}
    assert "descriptive" in kinds and "finding" in kinds


# --- bad input: skipped with a reason, the others still run --------------------------------


def test_missing_column_bad_coding_and_bad_score_class_are_skipped_with_reasons() -> None:
    people = dutch_people()
    model = fitted_model(people, FEATURES, "uitstroom")
    ctx = ctx_of(people, model, [Attribute("woonsituatie", "eigen")])
    entries = [
        MissingPapersParams(check="H3", id="typo", documents=["diploma_aanwezg"]),
        MissingPapersParams(check="H3", id="coded", documents=["woonsituatie"]),
        MissingPapersParams(check="H3", id="class", documents=DOCS, score_class="2"),
        MissingPapersParams(check="H3", id="ok", documents=DOCS),
        ProxyParams(check="H4", features=TRACES, reconstruct=False),
        SteeringParams(check="H1", track="sheltered"),
    ]
    typo, coded, bad_class, ok, h4, h1 = run_checks(entries, ctx)
    assert typo.status == "skipped" and "'diploma_aanwezg' (closest: 'diploma_aanwezig')" in (
        typo.reason or ""
    )
    assert coded.status == "skipped" and "on_file: [...]" in (coded.reason or "")
    assert bad_class.status == "skipped" and "expected one of the model's classes" in (
        bad_class.reason or ""
    )
    assert ok.status == "finding" and h4.status != "skipped" and h1.status == "skipped"


def test_on_file_reads_the_usual_codings_and_named_values() -> None:
    assert on_file(pd.Series([True, False, None], dtype=object)).tolist() == [True, False, False]
    assert on_file(pd.Series([1.0, 0.0, np.nan])).tolist() == [True, False, False]
    assert on_file(pd.Series(["Yes", "no", "ja"])).tolist() == [True, False, True]
    assert on_file(pd.Series(["aanwezig", "afwezig"]), ["aanwezig"]).tolist() == [True, False]
    cat = pd.Series(pd.Categorical(["true", None, "false"]))
    assert on_file(cat).tolist() == [True, False, False]


def test_descriptive_records_never_decide_a_harm_check_rule() -> None:
    """Homeless people lack documents far more often (a descriptive record with a large
    estimate), yet a model that ignores the documents passes, bounded or not; without a model
    the rule is not evaluable, never a pass."""
    from audit.harm_rules import harm_rule_outcomes
    from audit.spec import HarmCheckRule

    people = dutch_people()
    model = weighted_model(people, {"capaciteit": 1.0}, 0.0)
    params = MissingPapersParams(check="H3", documents=DOCS)
    ignoring = _one(params, ctx_of(people, model, [Attribute("woonsituatie", "eigen")]))
    big = [e for e in ignoring.evidence if e.status == "descriptive" and (e.estimate or 0) > 0.2]
    assert ignoring.status == "no_finding" and big
    rules = [
        HarmCheckRule(id="plain", harm_check="H3"),
        HarmCheckRule(id="bounded", harm_check="H3", max=0.1),
    ]
    plain, bounded = harm_rule_outcomes(rules, [ignoring])
    assert plain.status == "pass" and bounded.status == "pass"
    assert plain.evaluated == bounded.evaluated == 3  # the cost records only
    blind = _one(params, ctx_of(people, None, [Attribute("woonsituatie", "eigen")]))
    (rule,) = harm_rule_outcomes(rules[:1], [blind])
    assert rule.status == "not_evaluable" and "needs the model" in (rule.reason or "")


def test_a_model_that_cannot_score_the_people_is_skipped_with_its_error() -> None:
    people = _hand_table()
    model = weighted_model(people.assign(extra=1.0), {"diploma": 1.0, "extra": 0.5}, 0.0)
    (outcome,) = run_checks(
        [MissingPapersParams(check="H3", documents=["diploma"])],
        ctx_of(people, model, [Attribute("g", "a")]),
    )
    assert outcome.status == "skipped"
    assert "expected it to score the audited people with changed inputs" in (outcome.reason or "")
    assert "'extra'" in (outcome.reason or "") and "audit model check" in (outcome.reason or "")
