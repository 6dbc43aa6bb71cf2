"""The harm checks' pieces a second mutation sample found unpinned, on hand-made inputs.

The detectable shift's formula; flips' reference from the spec and its records' variant; the
matcher's note on people without recommendations; the proxies' record when no AUC can be
fitted; the rankings' refusal; filling a category column for everyone; the published checks'
layout and keys; a threshold score that is not a number; training eligibility on a nullable
count and the training sentence's factors; the gate's not-evaluable finding. Every expected
value is worked out by hand (normal quantiles from a table, counts by counting).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.checks import flips, proxies, thresholds, training
from audit.checks.base import Attribute, CannotRun, CheckOutcome, detectable_shift
from audit.checks.flips import FlipParams
from audit.checks.matching import MatchingParams
from audit.checks.proxies import ProxyParams
from audit.checks.ranked import ranked_rows
from audit.checks.rescore import filled
from audit.checks.result import checks_json
from audit.checks.run import run_checks
from audit.checks.training import Eligibility, TrainingParams, eligible_mask
from audit.harm_rules import harm_rule_outcomes
from audit.spec import HarmCheckRule
from tests.checks.ranking_tables import RANKING_NAMES, matcher_log
from tests.checks.stub_models import context, stub_model

# Standard normal quantiles, from a printed table: z_0.975, z_0.995 and z_0.8.
Z975, Z995, Z80 = 1.959964, 2.575829, 0.841621


def _flat_model() -> Any:
    """A model scoring everyone 1/2 whatever their inputs: nobody's decision ever flips."""
    return stub_model(lambda people: np.tile([0.5, 0.5], (len(people), 1)))


# --- the detectable shift -----------------------------------------------------------------


def test_the_detectable_shift_adds_the_corrected_quantile_and_the_powers_quantile() -> None:
    """(z_{1-alpha/2m} + z_power) * se: the textbook 2.8 standard errors for one test at 5%
    and 80% power; with 5 tests the quantile is z_0.995; no standard error gives NaN."""
    assert detectable_shift(1.0, alpha=0.05, tests=1, power=0.8) == pytest.approx(
        Z975 + Z80, abs=1e-5
    )
    assert detectable_shift(0.5, alpha=0.05, tests=5, power=0.8) == pytest.approx(
        0.5 * (Z995 + Z80), abs=1e-5
    )
    # No test at all is read as one.
    assert detectable_shift(2.0, alpha=0.05, tests=0, power=0.8) == pytest.approx(
        2 * (Z975 + Z80), abs=1e-5
    )
    for se in (0.0, -1.0, math.nan, math.inf):
        assert math.isnan(detectable_shift(se, alpha=0.05, tests=1, power=0.8))


# --- flips --------------------------------------------------------------------------------


def test_flips_move_everyone_to_the_specs_reference_not_the_largest_group() -> None:
    """Three levels a (3 people), b (2), c (1), the spec's reference c: a and b move to c,
    which itself stays. Each record names its variant, and with a proxy both variants are
    reported, the second naming the proxy."""
    people = pd.DataFrame({"g": ["a", "a", "a", "b", "b", "c"], "p": [1, 2, 3, 4, 5, 6]})
    ctx = context(people, _flat_model(), attributes=(Attribute("g", "c"),))
    outcome = flips.run(FlipParams(check="flips", attribute="g", proxies=["p"]), ctx)
    got = [
        (e.details["variant"], e.level, e.reference, e.n, e.n_reference, e.details["proxies"])
        for e in outcome.evidence
    ]
    assert got == [
        ("attribute", "a", "c", 3, 1, ""),
        ("attribute", "b", "c", 2, 1, ""),
        ("attribute_and_proxies", "a", "c", 3, 1, "p"),
        ("attribute_and_proxies", "b", "c", 2, 1, "p"),
    ]
    assert all(e.details["moved_to"] == "c" and e.details["changed"] == 0 for e in outcome.evidence)


# --- matching -----------------------------------------------------------------------------


def test_matching_notes_the_people_without_any_recommendation() -> None:
    """The rankings of the first 7 of 400 people are dropped: the outcome says 7 audited
    people have no recommendation and are not compared."""
    people, rankings = matcher_log(400, seed=1)
    dropped = set(people["dossier"][:7])
    rankings = rankings[~rankings["dossier"].isin(dropped)]
    rankings = rankings.rename(columns={v: k for k, v in RANKING_NAMES.items()})
    ctx = context(
        people.assign(person_id=people["dossier"]),
        attributes=(Attribute("psy", "nee"),),
        factors=("opleiding",),
        rankings=rankings,
    )
    (outcome,) = run_checks([MatchingParams(check="undermatching")], ctx)
    assert "7 audited people have no recommendation and are not compared" in outcome.notes


# --- the rankings' refusal ----------------------------------------------------------------


def test_a_check_reading_rankings_without_any_is_refused_with_what_it_expected() -> None:
    with pytest.raises(CannotRun) as err:
        ranked_rows(context(pd.DataFrame({"x": [1]})), ["skill_gap"], 5)
    assert str(err.value).startswith(
        "expected ranked vacancies per person (the matcher's recommendations); found none. "
    )


# --- proxies ------------------------------------------------------------------------------


def test_a_group_with_no_other_input_gets_an_empty_reconstruction_record() -> None:
    """The group's own column never predicts itself: with it as the only input nothing is
    fitted, and the record is a reconstruction AUC with no estimate, on 10 of 20 people."""
    low = [True] * 10 + [False] * 10
    people = pd.DataFrame({"lit": np.where(low, "low", "high"), "cv": np.where(low, 0.0, 1.0)})
    ctx = context(people, attributes=(Attribute("lit", "high"),), min_group_size=5)
    params = ProxyParams(check="digital_proxies", features=["cv"], attributes=["lit"])
    (record,) = proxies._reconstruction(params, ctx, proxies._groups(params, ctx), ["lit"])
    assert record.measure == "reconstruction_auc"
    assert (record.level, record.reference, record.n, record.n_reference) == ("low", "high", 10, 10)
    assert record.estimate is None
    assert record.details["inputs"] == 0 and record.details["rows"] == 20


# --- re-scoring helpers -------------------------------------------------------------------


def test_filling_a_category_column_for_everyone_keeps_its_categories() -> None:
    column = pd.Series(pd.Categorical(["x", "y", "x"], categories=["x", "y", "z"]), name="c")
    out = filled(column, "z")
    assert out.tolist() == ["z", "z", "z"]
    assert list(out.cat.categories) == ["x", "y", "z"]
    assert out.name == "c" and out.index.equals(column.index)


# --- the published checks -----------------------------------------------------------------


def test_the_checks_document_is_indented_one_space_and_names_each_check() -> None:
    """checks.json is a readable file: one space per level, a check's code, name and id."""
    outcome = CheckOutcome(
        code="H9",
        name="some check",
        check_id="h9",
        status="not_evaluable",
        sentence="s",
        needs=(),
        evidence=(),
        margin=None,
    )
    text = checks_json([outcome], 10)
    document = json.loads(text)
    (check,) = document["checks"]
    assert (check["code"], check["name"], check["id"]) == ("H9", "some check", "h9")
    assert text.endswith("}\n")
    assert '\n "min_cell_size": 10,\n' in text
    assert '\n  {\n   "code": "H9",\n   "name": "some check",\n' in text


# --- thresholds ---------------------------------------------------------------------------


def test_a_threshold_score_that_is_not_a_number_leaves_the_person_out_with_a_note() -> None:
    table = pd.DataFrame(
        {thresholds.SCORE: ["0.25", "n/a", "0.75"], thresholds.OUTCOME: [1, 0, float("nan")]}
    )
    score, outcome, kept, notes = thresholds._score_and_outcome(table)
    assert score[0] == 0.25 and math.isnan(score[1]) and score[2] == 0.75
    assert outcome.tolist() == [True, False, False]
    assert kept.tolist() == [True, False, False]
    assert notes == ["2 people without a score or an outcome are left out"]


# --- training -----------------------------------------------------------------------------


def test_a_missing_value_of_a_nullable_count_is_not_eligible() -> None:
    """at_least 2 on a nullable integer column: 3 is eligible, 1 and a missing value are not."""
    people = pd.DataFrame({"years": pd.array([3, None, 1], dtype="Int64")})
    mask, notes = eligible_mask(people, Eligibility(column="years", at_least=2))
    assert mask.tolist() == [True, False, False]
    assert notes == ["1 people without a value of 'years' count as not eligible"]


def test_the_training_sentence_lists_the_factors_people_are_alike_in() -> None:
    params = TrainingParams(
        check="training", track="cursus", eligible=Eligibility(column="years", at_least=2)
    )
    sentence = training._sentence("no_finding", [], params, ["age", "region"])
    assert sentence == (
        "Access to 'cursus' among people eligible for 'cursus' (years >= 2), alike in age, "
        "region: no group's odds of it fall below 0.67 times its reference's."
    )


# --- the gate -----------------------------------------------------------------------------


def test_a_bound_on_a_measure_the_check_lacks_is_a_not_evaluable_harm_check_finding() -> None:
    """A rule bounding exposure_ratio on a check with only flip rates cannot be read: its one
    finding is NOT_EVALUABLE, on no group, with the generic harm_check metric and the reason."""
    rule = HarmCheckRule(id="r", harm_check="flips", max=0.25, measure="exposure_ratio")
    outcome = CheckOutcome(
        code="CF",
        name="flips",
        check_id="flips",
        status="no_finding",
        sentence="",
        needs=(),
        evidence=(),
        margin=0.01,
    )
    (rule_outcome,) = harm_rule_outcomes([rule], [outcome])
    assert rule_outcome.status == "not_evaluable"
    (finding,) = rule_outcome.findings
    assert finding.code == "NOT_EVALUABLE" and finding.metric == "harm_check"
    assert finding.kind == "harm_check" and finding.attributes == () and finding.value is None
    assert finding.reason == (
        "the bound needs one scale, and check 'flips' has records on none: name the measure "
        "bounded with `measure:`"
    )
