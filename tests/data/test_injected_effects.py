"""Each harm is present at its stated strength in its scenario, and absent in no_bias.

Estimates are made the way an auditor would: from the published columns, by regression at equal
score or capacity, or by comparing with the same people generated without the harm (same seed,
common random numbers). Intervals are 99%.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.preprocessing import SplineTransformer

from audit.data import digital_trace_index, generate_population, group_mask, rank_vacancies
from audit.data.scenarios import SCENARIOS

Z99 = 2.576


def _logistic(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpenalised logistic regression by Newton-Raphson: coefficients and standard errors."""
    beta = np.zeros(X.shape[1])
    for _ in range(50):
        p = expit(X @ beta)
        w = p * (1 - p)
        hessian = X.T @ (X * w[:, None])
        step = np.linalg.solve(hessian, X.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    cov = np.linalg.inv(hessian)
    return beta, np.sqrt(np.diag(cov))


def _odds_ratio_at_equal_score(people: pd.DataFrame, track: str, group: np.ndarray
                               ) -> tuple[float, float, float]:
    """Odds ratio of a track recommendation for the group, adjusted by a spline in the score."""
    eta = np.log(people["pes_score"] / (1 - people["pes_score"])).to_numpy()[:, None]
    basis = SplineTransformer(n_knots=12, degree=3).fit_transform(eta)  # sums to 1: intercept
    X = np.column_stack([group.astype(float), basis])
    y = (people["recommended_track"] == track).to_numpy(dtype=float)
    beta, se = _logistic(X, y)
    return math.exp(beta[0]), math.exp(beta[0] - Z99 * se[0]), math.exp(beta[0] + Z99 * se[0])


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sigma2 = resid @ resid / max(len(y) - X.shape[1], 1)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    return beta, se


def _logit(p: pd.Series) -> np.ndarray:
    v = p.to_numpy(dtype=float)
    return np.log(v / (1 - v))


# --- H1 steering and H2 training refusal: odds ratios at equal PES score ---

@pytest.mark.parametrize(("scenario", "track", "knob", "group_knob"), [
    ("h1_steering", "sheltered", "sheltered_odds_ratio", "steering_group"),
    ("h2_training_access", "training", "training_odds_ratio", "training_group"),
])
def test_track_odds_ratio_at_stated_strength(population, scenario, track, knob, group_knob):
    pop = population(scenario)
    stated = float(pop.truth.knob(knob))
    group = group_mask(pop.people, str(pop.truth.knob(group_knob)))
    odds_ratio, low, high = _odds_ratio_at_equal_score(pop.people, track, group)
    assert low <= stated <= high, (odds_ratio, low, high, stated)
    assert stated != 1.0 and not low <= 1.0 <= high


@pytest.mark.parametrize(("track", "group_knob"), [
    ("sheltered", "steering_group"), ("training", "training_group"),
])
def test_track_odds_ratio_is_one_without_bias(population, track, group_knob):
    pop = population("no_bias")
    group = group_mask(pop.people, str(pop.truth.knob(group_knob)))
    _, low, high = _odds_ratio_at_equal_score(pop.people, track, group)
    assert low <= 1.0 <= high


def test_h1_stronger_knob_gives_stronger_steering():
    pop = generate_population(100_000, scenario="h1_steering", seed=3, sheltered_odds_ratio=8)
    group = group_mask(pop.people, "mental_health_history=True")
    _, low, high = _odds_ratio_at_equal_score(pop.people, "sheltered", group)
    assert low <= 8.0 <= high and low > 3.0


def test_h1_counterfactual_flips_only_the_steering_group(population):
    people = population("h1_steering").people
    changed = (people["recommended_track"] != people["recommended_track_fair"]).to_numpy()
    mh = people["mental_health_history"].to_numpy()
    assert changed[mh].mean() > 0.02
    assert not changed[~mh].any()
    flipped_to = people.loc[changed, "recommended_track"]
    assert (flipped_to == "sheltered").all()


def test_no_bias_recommendation_equals_fair_recommendation(population):
    people = population("no_bias").people
    assert (people["recommended_track"] == people["recommended_track_fair"]).all()


# --- H3 missing documents and H4 digital traces: the score at equal capacity ---

def _score_regression(people: pd.DataFrame, extra: np.ndarray) -> tuple[float, float]:
    cap = _logit(people["latent_work_capacity"].clip(1e-9, 1 - 1e-9))
    X = np.column_stack([np.ones(len(people)), cap, extra])
    beta, se = _ols(X, _logit(people["pes_score"]))
    return float(beta[2]), float(se[2])


def _missing_documents(people: pd.DataFrame) -> np.ndarray:
    return 3 - people[["diploma_on_file", "address_on_file", "id_on_file"]].sum(axis=1).to_numpy()


@pytest.mark.parametrize(("scenario", "expected_sign"), [
    ("h3_missing_documents", -1.0), ("no_bias", 0.0),
])
def test_missing_document_penalty(population, scenario, expected_sign):
    pop = population(scenario)
    coef, se = _score_regression(pop.people, _missing_documents(pop.people))
    stated = float(pop.truth.knob("missing_document_penalty"))
    assert coef == pytest.approx(expected_sign * stated, abs=max(Z99 * se, 1e-6))
    assert (stated > 0) == (scenario != "no_bias")


@pytest.mark.parametrize("scenario", ["h4_digital_proxy", "no_bias"])
def test_trace_weight(population, scenario):
    pop = population(scenario)
    coef, se = _score_regression(pop.people, digital_trace_index(pop.people))
    assert coef == pytest.approx(float(pop.truth.knob("trace_weight")), abs=max(Z99 * se, 1e-6))


def test_h4_lowers_score_of_low_digital_literacy_at_equal_capacity(population):
    gaps = {}
    for scenario in ("no_bias", "h4_digital_proxy"):
        people = population(scenario).people
        low = (people["digital_literacy"] == "low").to_numpy(dtype=float)
        gaps[scenario], _ = _score_regression(people, low)
    assert abs(gaps["no_bias"]) < 1e-6
    assert gaps["h4_digital_proxy"] < -0.3


def test_h4_traces_proxy_digital_literacy_not_capacity(population):
    # The traces exist in every scenario; they follow digital literacy, not work capacity.
    people = population("no_bias").people
    index = digital_trace_index(people)
    digital = people["digital_literacy"].cat.codes.to_numpy()
    cap = people["latent_work_capacity"].to_numpy()
    edu_low = (people["education"] == "low").to_numpy()
    assert np.corrcoef(index, digital)[0, 1] > 0.4
    # Within one education level digital literacy is independent of capacity, so is the index
    # except through motivation, which is independent of capacity too.
    assert abs(np.corrcoef(index[edu_low], cap[edu_low])[0, 1]) < 0.05


# --- H5: sustainable work lower for the label group, 6-month label untouched ---

def test_h5_sustainable_ratio_against_no_bias_twin(population):
    biased, fair = population("h5_label"), population("no_bias")
    group = group_mask(biased.people, str(biased.truth.knob("label_group")))
    assert (biased.people["job_28d_6m"] == fair.people["job_28d_6m"]).all()
    b = biased.people["sustainable_12m"].to_numpy()
    f = fair.people["sustainable_12m"].to_numpy()
    assert (b[~group] == f[~group]).all()
    kept, base = int(b[group].sum()), int(f[group].sum())
    ratio = kept / base
    se = math.sqrt(ratio * (1 - ratio) / base)
    assert abs(ratio - float(biased.truth.knob("sustainable_ratio"))) <= Z99 * se


def test_h5_gap_shows_on_sustainable_label_only(population):
    people = population("h5_label").people
    group = group_mask(people, "origin=non_eu")
    job = people["job_28d_6m"].to_numpy()
    sust = people["sustainable_12m"].to_numpy()
    job_ratio = job[group].mean() / job[~group].mean()
    sust_ratio = sust[group].mean() / sust[~group].mean()
    assert sust_ratio < job_ratio - 0.2


# --- H6 mobility and H7 under-matching: the ranked vacancies ---

N_RANK = 40_000


@pytest.fixture(scope="module")
def rankings():
    out = {}
    for scenario in ("no_bias", "h6_mobility", "h7_undermatching", "all_harms"):
        pop = generate_population(N_RANK, scenario=scenario, seed=11)
        out[scenario] = (pop, pop.rank_vacancies(k=10, people=pop.people.iloc[:8_000]))
    return out


def _per_person(ranked: pd.DataFrame, column: str) -> pd.Series:
    return ranked.groupby("person_id", sort=False)[column].mean()


def test_h6_far_jobs_for_people_without_car(rankings):
    pop, biased = rankings["h6_mobility"]
    _, fair = rankings["no_bias"]
    people = pop.people.iloc[:8_000].set_index("person_id")
    no_car = ~people["has_car"]
    d_biased, d_fair = _per_person(biased, "distance_km"), _per_person(fair, "distance_km")
    assert d_biased[no_car[no_car].index].mean() > 1.5 * d_fair[no_car[no_car].index].mean()
    with_car = people.index[people["has_car"]]
    pd.testing.assert_series_equal(d_biased[with_car], d_fair[with_car])


def test_h7_jobs_below_qualification_for_group(rankings):
    pop, biased = rankings["h7_undermatching"]
    _, fair = rankings["no_bias"]
    people = pop.people.iloc[:8_000].set_index("person_id")
    group = people.index[people["mental_health_history"] & (people["education"] != "low")]
    below_b = (biased.set_index("person_id")["skill_gap"] < 0).groupby(level=0).mean()
    below_f = (fair.set_index("person_id")["skill_gap"] < 0).groupby(level=0).mean()
    assert below_b[group].mean() > below_f[group].mean() + 0.3
    others = people.index[~people["mental_health_history"]]
    pd.testing.assert_series_equal(below_b[others], below_f[others])


def test_fair_matcher_ignores_sensitive_attributes(rankings):
    pop, fair = rankings["no_bias"]
    people = pop.people.iloc[:2_000].copy()
    people["mental_health_history"] = ~people["mental_health_history"]
    people["origin"] = people["origin"].cat.codes.map({0: "non_eu", 1: "belgian", 2: "eu"})
    people["housing_status"] = "homeless"
    again = rank_vacancies(people, pop.vacancies, k=10)
    expected = fair[fair["person_id"].isin(people["person_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected)


def test_ranking_shape_and_order(rankings):
    pop, ranked = rankings["all_harms"]
    assert len(ranked) == 8_000 * 10
    assert (ranked.groupby("person_id")["rank"].apply(list).map(len) == 10).all()
    diffs = ranked["score"].to_numpy().reshape(-1, 10)
    assert (np.diff(diffs, axis=1) <= 0).all()
    assert ranked["vacancy_id"].isin(pop.vacancies["vacancy_id"]).all()


# --- all_harms and the truth record ---

def test_all_harms_injects_every_harm_and_no_bias_none(population):
    assert population("all_harms").truth.harms == ("H1", "H2", "H3", "H4", "H5", "H6", "H7")
    assert population("no_bias").truth.effects == ()
    for scenario, harms in SCENARIOS.items():
        if scenario not in ("no_bias", "all_harms"):
            truth = generate_population(200, scenario=scenario, seed=0).truth
            assert truth.harms == harms


def test_all_harms_steering_still_detected(population):
    pop = population("all_harms")
    group = group_mask(pop.people, "mental_health_history=True")
    _, low, high = _odds_ratio_at_equal_score(pop.people, "sheltered", group)
    assert low <= 3.0 <= high
