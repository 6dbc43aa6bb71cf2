"""H4 digital proxies: known truth over seeds, AUCs as scikit-learn's and DeLong's by hand, the
shipped models with and without traces, every verdict both ways, a table we did not make, and
skipped checks with reasons."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.tree import DecisionTreeClassifier

from audit.checks.auc import auc_with_se
from audit.checks.base import Attribute, CheckOutcome
from audit.checks.known_truth import TRIALS, pes_table, run_trial
from audit.checks.proxies import ProxyParams, feature_score
from audit.checks.run import run_checks
from audit.data import generate_population
from audit.models.importing import ModelIdentity, PipelineModel, load_model
from audit.models.inputs import infer_input_columns, prepare_inputs
from audit.models.training import build_pipeline
from tests.checks.papers_and_traces import (
    FEATURES,
    TRACES,
    dutch_people,
    every_interval_holds_its_estimate,
    fitted_model,
    weighted_model,
)
from tests.checks.papers_and_traces import context as ctx_of

TRIAL = next(t for t in TRIALS if t.name.startswith("H4"))
LITERACY = Attribute("digital_literacy", "high")
SKILLS = Attribute("digitale_vaardigheid", "goed")
FAST = dict(reconstruct=False)


def _one(params: ProxyParams, ctx: object) -> CheckOutcome:
    (outcome,) = run_checks([params], ctx)  # type: ignore[arg-type]
    return outcome


@pytest.fixture(scope="module")
def no_bias() -> pd.DataFrame:
    return generate_population(3000, scenario="no_bias", seed=2).people


# --- known truth ---------------------------------------------------------------------------


def test_known_truth_power_and_false_findings_over_20_seeds() -> None:
    # The reconstruction part is descriptive (it never decides): left out here for speed.
    trial = replace(TRIAL, check=TRIAL.check.model_copy(update=FAST))
    result = run_trial(trial, range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses
    assert set(result.null_statuses) == {"no_finding"}


def test_shipped_model_with_traces_shows_the_gap_and_without_them_none(
    no_bias: pd.DataFrame,
) -> None:
    """profiling_reference reads the traces: neutralising them narrows the gap of people with
    few computer skills; profiling_no_digital_traces does not read them: no change at all."""
    params = ProxyParams(check="H4", cv_rows=1500, folds=3)
    table = pes_table(no_bias)
    with_traces = _one(
        params,
        ctx_of(no_bias, load_model("models/profiling_reference.skops"), [LITERACY], table=table),
    )
    low = next(
        e for e in with_traces.evidence if e.measure == "score_gap_from_traces" and e.level == "low"
    )
    assert with_traces.status == "finding" and low.status == "finding"
    assert low.ci_low is not None and low.ci_low > 0
    without = _one(
        params,
        ctx_of(
            no_bias, load_model("models/profiling_no_digital_traces.skops"), [LITERACY], table=table
        ),
    )
    assert without.status == "no_finding"
    gaps = [e for e in without.evidence if e.measure == "score_gap_from_traces"]
    assert all(e.estimate == 0 and e.ci_low == 0 and e.ci_high == 0 for e in gaps)
    assert any("does not read online_cv_updated" in n for n in without.notes)
    weights = {
        e.details["feature"]: e.details["score_weight"]
        for e in without.evidence
        if e.measure == "proxy_auc"
    }
    assert set(weights.values()) == {0.0}
    # The model's other inputs still reconstruct low digital literacy well (education, ...).
    rebuilt = next(
        e for e in without.evidence if e.measure == "reconstruction_auc" and e.level == "low"
    )
    assert rebuilt.estimate is not None and rebuilt.estimate > 0.6
    assert every_interval_holds_its_estimate([*with_traces.evidence, *without.evidence])


# --- numbers shared with scikit-learn, and DeLong by hand ----------------------------------


def test_delong_by_hand() -> None:
    """Positives 0.9, 0.8, 0.4 and negatives 0.5, 0.3: placements 1, 1, 1/2 and 2/3, 1, so
    AUC 5/6 and variance var(1, 1, 1/2)/3 + var(2/3, 1)/2 = 1/36 + 1/36."""
    r = auc_with_se(np.array([1, 1, 1, 0, 0], bool), np.array([0.9, 0.8, 0.4, 0.5, 0.3]))
    assert r.auc == pytest.approx(5 / 6)
    assert r.se == pytest.approx(np.sqrt(2 / 36))
    # Ties count half: a tie between one positive and one negative.
    t = auc_with_se(np.array([1, 0], bool), np.array([0.5, 0.5]))
    assert t.auc == 0.5


def test_proxy_aucs_are_sklearns(no_bias: pd.DataFrame) -> None:
    outcome = _one(ProxyParams(check="H4", **FAST), ctx_of(no_bias, None, [LITERACY]))
    labels = no_bias["digital_literacy"].astype(str).to_numpy()
    records = [e for e in outcome.evidence if e.measure == "proxy_auc"]
    assert len(records) == 2 * 4  # low and medium, each against everyone else, 4 traces
    for e in records:
        y = labels == e.level
        x = no_bias[str(e.details["feature"])].to_numpy(dtype=float)
        assert e.estimate == pytest.approx(roc_auc_score(y, x), abs=1e-12)
        assert e.reference == "others" and e.status == "descriptive"
        assert e.n == int(y.sum()) and e.n_reference == int((~y).sum())
    # The traces follow digital literacy: few computer skills, few logins.
    logins = next(e for e in records if e.level == "low" and e.details["feature"] == "logins_90d")
    assert logins.ci_high is not None and logins.ci_high < 0.2
    assert outcome.status == "not_evaluable" and "needs the model" in (outcome.reason or "")


def test_a_category_feature_is_scored_by_its_share_of_the_group() -> None:
    values = pd.Series(["a", "a", "b", "b", "c", None])
    positive = np.array([1, 0, 1, 1, 0, 0], bool)
    share = feature_score(values, positive)
    assert share.tolist() == [0.5, 0.5, 1.0, 1.0, 0.0, 0.0]
    assert auc_with_se(positive, share).auc == pytest.approx(roc_auc_score(positive, share))


def test_reconstruction_auc_is_sklearns_and_a_random_label_is_not_reconstructed(
    no_bias: pd.DataFrame,
) -> None:
    people = no_bias.assign(coin=np.random.default_rng(0).choice(["heads", "tails"], len(no_bias)))
    params = ProxyParams(check="H4", attributes=["digital_literacy", "coin"], cv_rows=1200, folds=3)
    ctx = ctx_of(people, None, [LITERACY, Attribute("coin", "tails")], seed=7)
    outcome = _one(params, ctx)
    rebuilt = {e.level: e for e in outcome.evidence if e.measure == "reconstruction_auc"}
    # By hand with scikit-learn: the same sample, folds and pipeline.
    rows = np.sort(np.random.default_rng(7).choice(len(people), 1200, replace=False))
    sample = people.iloc[rows]
    typed = infer_input_columns(sample, list(params.features))
    x = prepare_inputs(typed, sample)
    y = sample["digital_literacy"].astype(str).to_numpy() == "low"
    proba = cross_val_predict(
        build_pipeline(typed, algorithm="logistic", seed=7),
        x,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=7),
        method="predict_proba",
    )[:, 1]
    assert rebuilt["low"].estimate == pytest.approx(roc_auc_score(y, proba), abs=1e-12)
    assert rebuilt["low"].estimate > 0.9  # the traces give low digital literacy away
    coin = rebuilt["heads"]
    assert coin.ci_low is not None and coin.ci_high is not None and coin.ci_low < 0.5 < coin.ci_high


# --- each verdict both ways ----------------------------------------------------------------


def test_finding_and_no_finding_with_known_weights() -> None:
    people = dutch_people(600)
    weighted = weighted_model(people, {"capaciteit": 1.0, "aanmeldingen_90d": 0.3}, 0.0)
    params = ProxyParams(check="H4", features=TRACES, **FAST)
    found = _one(params, ctx_of(people, weighted, [SKILLS]))
    assert found.status == "finding" and "stand in for digitale_vaardigheid=laag" in found.sentence
    # By hand: logins set to their median, everyone re-scored.
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    cap = people["capaciteit"].to_numpy(dtype=np.float32).astype(float)
    logins = people["aanmeldingen_90d"].to_numpy(float)
    change = sig(cap + 0.3 * np.median(logins)) - sig(cap + 0.3 * logins)
    skills = people["digitale_vaardigheid"].to_numpy()
    low = next(
        e for e in found.evidence if e.level == "laag" and e.measure == "score_gap_from_traces"
    )
    assert low.estimate == pytest.approx(
        change[skills == "laag"].mean() - change[skills == "goed"].mean(), rel=1e-9
    )
    ignoring = weighted_model(people, {"capaciteit": 1.0}, 0.0)
    assert _one(params, ctx_of(people, ignoring, [SKILLS])).status == "no_finding"
    # Traces that favour the group are no harm to it; read the other way they are.
    favouring = weighted_model(people, {"capaciteit": 1.0, "aanmeldingen_90d": -0.3}, 0.0)
    assert _one(params, ctx_of(people, favouring, [SKILLS])).status == "no_finding"
    higher = params.model_copy(update={"harmful_when": "higher"})
    assert _one(higher, ctx_of(people, favouring, [SKILLS])).status == "finding"


def test_inconclusive_when_few_people_and_the_traces_cut_both_ways() -> None:
    rng = np.random.default_rng(3)
    n = 70
    people = pd.DataFrame(
        {
            "g": rng.choice(["a", "b"], n),
            "cv": rng.random(n) < 0.5,
            "x": rng.standard_normal(n),
        }
    )
    label = np.where(people["x"] > 0, people["cv"], ~people["cv"]).astype(int)
    inputs = infer_input_columns(people, ["cv", "x"])
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(
        prepare_inputs(inputs, people), label
    )
    model = PipelineModel(tree, ModelIdentity(kind="skops", uri="tree", sha256=""), inputs)
    params = ProxyParams(check="H4", features=["cv"], **FAST)
    outcome = _one(params, ctx_of(people, model, [Attribute("g", "a")]))
    assert outcome.status == "inconclusive", [
        (e.measure, e.estimate, e.ci_low, e.ci_high) for e in outcome.evidence
    ]
    gap = next(e for e in outcome.evidence if e.measure == "score_gap_from_traces")
    assert gap.detectable is not None and gap.ci_high is not None and gap.ci_high > 0.02


def test_small_groups_are_unreliable_and_none_large_enough_is_not_evaluable() -> None:
    people = dutch_people(60)
    model = weighted_model(people, {"aanmeldingen_90d": 0.3}, 0.0)
    outcome = _one(
        ProxyParams(check="H4", features=TRACES, **FAST), ctx_of(people, model, [SKILLS])
    )
    assert (
        outcome.status == "not_evaluable" and outcome.reason == "no group large enough to compare"
    )
    assert {e.status for e in outcome.evidence} == {"unreliable"}


# --- a table we did not make ---------------------------------------------------------------


def test_dutch_table_with_a_learnt_model_and_without_a_model() -> None:
    people = dutch_people()
    model = fitted_model(people, FEATURES, "uitstroom")
    params = ProxyParams(
        check="digital_proxies", features=TRACES, references={"digitale_vaardigheid": "goed"}
    )
    ctx = ctx_of(people, model, [Attribute("woonsituatie", "eigen")])
    outcome = _one(params.model_copy(update={"attributes": ["digitale_vaardigheid"]}), ctx)
    gaps = {e.level: e for e in outcome.evidence if e.measure == "score_gap_from_traces"}
    assert set(gaps) == {"laag", "gemiddeld"} and all(e.reference == "goed" for e in gaps.values())
    assert outcome.status == "finding"  # the model learnt the online CV's weight
    assert every_interval_holds_its_estimate(outcome.evidence)
    # Without a model: the proxy strengths and the reconstruction from the traces, no gap.
    blind = _one(
        params.model_copy(update={"attributes": ["digitale_vaardigheid"]}), ctx_of(people, None, [])
    )
    assert blind.status == "not_evaluable"
    assert {e.measure for e in blind.evidence} == {"proxy_auc", "reconstruction_auc"}
    assert any("from the digital traces (no model)" in n for n in blind.notes)


def test_default_groups_add_digital_literacy_with_high_as_reference(no_bias: pd.DataFrame) -> None:
    outcome = _one(
        ProxyParams(check="H4", **FAST),
        ctx_of(no_bias, None, [Attribute("mental_health_history", "False")]),
    )
    pairs = {(e.attribute, e.level, e.reference) for e in outcome.evidence}
    assert ("digital_literacy", "low", "others") in pairs
    assert ("mental_health_history", "True", "False") in pairs


# --- bad input ---------------------------------------------------------------------------


def test_missing_feature_and_track_model_without_score_class_are_skipped() -> None:
    people = generate_population(1500, scenario="no_bias", seed=1).people
    track = load_model("models/track_reference.skops")
    ctx = ctx_of(people, track, [LITERACY])
    typo, no_class, named = run_checks(
        [
            ProxyParams(check="H4", features=["logins_90"], **FAST),
            ProxyParams(check="H4", **FAST),
            ProxyParams(check="H4", score_class="regular", **FAST),
        ],
        ctx,
    )
    assert typo.status == "skipped" and "'logins_90' (closest: 'logins_90d')" in (typo.reason or "")
    assert no_class.status == "skipped" and "score_class: regular" in (no_class.reason or "")
    assert named.status in ("finding", "no_finding", "inconclusive")


def test_an_unknown_reference_level_is_skipped_naming_the_levels() -> None:
    people = dutch_people()
    params = ProxyParams(
        check="H4",
        attributes=["digitale_vaardigheid"],
        references={"digitale_vaardigheid": "goede"},
        features=TRACES,
        **FAST,
    )
    (outcome,) = run_checks([params], ctx_of(people, None, []))
    assert outcome.status == "skipped"
    assert "did you mean 'goed'?" in (outcome.reason or "")
