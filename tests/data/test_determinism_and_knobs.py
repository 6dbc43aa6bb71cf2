"""Same seed, same population; bad scenarios and knobs are refused with the valid choices."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from audit.data import InjectedTruth, generate_population
from audit.data.scenarios import KNOBS, SCENARIOS
from audit.errors import AuditInputError


def test_same_seed_same_population():
    a = generate_population(5_000, scenario="all_harms", seed=12)
    b = generate_population(5_000, scenario="all_harms", seed=12)
    pd.testing.assert_frame_equal(a.people, b.people)
    pd.testing.assert_frame_equal(a.vacancies, b.vacancies)
    assert a.truth == b.truth
    pd.testing.assert_frame_equal(a.rank_vacancies(k=5), b.rank_vacancies(k=5))


def test_other_seed_other_population():
    a = generate_population(5_000, seed=1).people
    b = generate_population(5_000, seed=2).people
    assert not a["latent_work_capacity"].equals(b["latent_work_capacity"])
    assert not a["person_id"].isin(b["person_id"]).all()


def test_scenarios_share_the_people_they_do_not_harm():
    # Common random numbers: a harm changes only what it acts on.
    fair = generate_population(5_000, scenario="no_bias", seed=5).people
    for scenario in SCENARIOS:
        harmed = generate_population(5_000, scenario=scenario, seed=5).people
        for column in ("person_id", "latent_work_capacity", "digital_literacy", "housing_status",
                       "warranted_track", "recommended_track_fair"):
            pd.testing.assert_series_equal(harmed[column], fair[column])


def test_truth_is_json_and_round_trips():
    truth = generate_population(100, scenario="all_harms", seed=3, trace_weight=1.5).truth
    data = json.loads(truth.to_json())
    assert InjectedTruth.from_dict(data) == truth
    assert data["knobs"]["trace_weight"] == 1.5
    assert {e["harm"] for e in data["effects"]} == {f"H{i}" for i in range(1, 8)}


def test_no_bias_knobs_are_neutral():
    truth = generate_population(100, scenario="no_bias").truth
    assert truth.knobs["sheltered_odds_ratio"] == 1.0
    assert truth.knobs["missing_document_penalty"] == 0.0
    assert truth.effects == ()


def test_unknown_scenario_lists_the_valid_ones():
    with pytest.raises(AuditInputError) as info:
        generate_population(100, scenario="h9_magic")
    assert info.value.args[0] == (
        "scenario: expected one of " + ", ".join(SCENARIOS) + "; found 'h9_magic'.\n"
        "Hint: run `audit data scenarios` to list them"
    )


def test_out_of_range_knob_states_the_range():
    with pytest.raises(AuditInputError) as info:
        generate_population(100, scenario="h1_steering", sheltered_odds_ratio=0.5)
    assert info.value.args[0] == (
        "knob 'sheltered_odds_ratio': expected a number in [1, 50]; found 0.5.\n"
        "Hint: pass a value between 1 and 50"
    )


@pytest.mark.parametrize(("scenario", "knobs", "fragment"), [
    ("h1_steering", {"trace_weight": 1.0}, "a knob of harm H4, which this scenario does not"),
    ("h1_steering", {"no_such_knob": 1.0}, "found 'no_such_knob'"),
    ("no_bias", {"trace_weight": 1.0}, "a knob of harm H4"),
    ("h1_steering", {"steering_group": "planet=mars"}, "use a column among region"),
    ("h1_steering", {"steering_group": "origin=martian"}, "use one of belgian, eu, non_eu"),
    ("h1_steering", {"steering_group": "has_car=maybe"}, "has_car=True or has_car=False"),
    ("h4_digital_proxy", {"trace_weight": "nan"}, "a number in [0, 5]"),
    ("h4_digital_proxy", {"trace_weight": "strong"}, "found 'strong'"),
])
def test_bad_knobs(scenario, knobs, fragment):
    with pytest.raises(AuditInputError) as info:
        generate_population(100, scenario=scenario, **knobs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("kwargs", "subject"), [
    ({"n": 0}, "n:"), ({"n": 2.5}, "n:"), ({"n": 10, "seed": -1}, "seed:"),
    ({"n": 10, "n_vacancies": 0}, "n_vacancies:"),
])
def test_bad_sizes(kwargs, subject):
    with pytest.raises(AuditInputError) as info:
        generate_population(**kwargs)
    assert str(info.value).startswith(subject)


def test_every_knob_belongs_to_a_scenario():
    harms = {h for hs in SCENARIOS.values() for h in hs}
    assert {k.harm for k in KNOBS} == harms
