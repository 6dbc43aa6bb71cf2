"""Harm checks by hand (issue 14, sample E): the flips record's detectable rate, the precision
of a known-truth trial's flags, the sentences of under-matching, mobility and thresholds, the
mobility check without a group large enough, and the error rates by missingness when nobody of
one side is there.

Every expected value is worked out from the check's definition in its module docstring and
parameter descriptions, on tables small enough to count by hand.
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from audit.checks import flips, matching, missing_papers, mobility, thresholds
from audit.checks.base import Attribute, CannotRun, Evidence
from audit.checks.flips import FlipParams
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.known_truth import context as trial_context
from audit.checks.matching import MatchingParams
from audit.checks.missing_papers import MissingPapersParams
from audit.checks.mobility import MobilityParams
from audit.checks.run import run_checks
from audit.checks.thresholds import ThresholdParams
from audit.data import generate_population
from tests.checks.stub_models import context, stub_model

Z = norm.ppf(0.975)  # the two-sided 95% quantile


def _approx(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: pytest.approx(v, abs=1e-9) if isinstance(v, float) else v for k, v in fields.items()}


def _record(measure: str, estimate: float, p_adjusted: float | None, **changes: Any) -> Evidence:
    """A finding of group g=b against g=a, interval estimate -/+ 0.1 x estimate."""
    fields: dict[str, Any] = {
        "attribute": "g",
        "level": "b",
        "reference": "a",
        "measure": measure,
        "estimate": estimate,
        "ci_low": 0.5 * estimate,
        "ci_high": 1.5 * estimate,
        "p_value": p_adjusted,
        "p_adjusted": p_adjusted,
        "detectable": None,
        "n": 40,
        "n_reference": 50,
        "status": "finding",
        "details": {},
    }
    fields.update(changes)
    return Evidence(**fields)


# --- flips: every figure of a record, with the detectable flip rate -----------------------


def test_a_flip_record_holds_the_wilson_interval_the_score_test_and_the_detectable_rate() -> None:
    """Two groups of 10, a model that reads nothing: no one flips (rate 0). With a margin of
    0.2: the Wilson upper end is z^2 / (n + z^2); the score test of rate = 0.2 has
    se0 = sqrt(0.2 x 0.8 / 10), p = 2 Phi(-0.2 / se0), Holm over the two groups doubles it;
    the detectable rate is the margin plus (z_{1 - 0.05/4} + z_0.8) x se0. Neither bound is
    settled: inconclusive, and the sentence gives the interval's reach against the margin."""
    people = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10})
    flat = stub_model(lambda p: np.tile([0.5, 0.5], (len(p), 1)))
    ctx = context(people, flat, attributes=(Attribute("g", "a"),), min_group_size=5)
    outcome = flips.run(FlipParams(check="flips", attribute="g", max_flip_rate=0.2), ctx)
    se0 = math.sqrt(0.2 * 0.8 / 10)
    p = 2 * norm.cdf(-0.2 / se0)
    high = Z**2 / (10 + Z**2)
    detectable = 0.2 + (norm.ppf(1 - 0.05 / 4) + norm.ppf(0.8)) * se0
    for e, level, to in zip(outcome.evidence, ("a", "b"), ("b", "a"), strict=True):
        assert _approx(asdict(e)) == _approx(
            {
                "attribute": "g",
                "level": level,
                "reference": to,
                "measure": "flip_rate",
                "estimate": 0.0,
                "ci_low": 0.0,
                "ci_high": high,
                "p_value": p,
                "p_adjusted": 2 * p,
                "detectable": detectable,
                "n": 10,
                "n_reference": 10,
                "status": "inconclusive",
                "details": {
                    "variant": "attribute",
                    "moved_to": to,
                    "changed": 0,
                    "proxies": "",
                    "mean_score_change": 0.0,
                },
            }
        )
    assert outcome.status == "inconclusive" and outcome.margin == 0.2
    assert outcome.sentence == (
        "Flips of the model's decision when g changes cannot be ruled out for 2 group(s): their "
        f"intervals reach {100 * high:.1f}%, above the tolerated 20.0%, without a rate "
        "significantly above it."
    )


def test_flip_groups_too_small_are_unreliable_with_the_detectable_rate_capped_at_one() -> None:
    """Groups of 10 and 3 with at least 5 needed on both sides: neither decides (each is
    compared with the other), so neither is tested (no p) and the check is not evaluable.
    With no test the detectable rate uses one test: 0.4 + (z_0.975 + z_0.8) x sqrt(0.4 x 0.6
    / n), 0.834 for 10 people and above 1 for 3, so capped at 1 (a rate cannot exceed it)."""
    people = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 3})
    flat = stub_model(lambda p: np.tile([0.5, 0.5], (len(p), 1)))
    ctx = context(people, flat, attributes=(Attribute("g", "a"),), min_group_size=5)
    outcome = flips.run(FlipParams(check="flips", attribute="g", max_flip_rate=0.4), ctx)
    shift = norm.ppf(0.975) + norm.ppf(0.8)
    assert 0.4 + shift * math.sqrt(0.24 / 3) > 1
    got = [
        (e.level, e.n, e.n_reference, e.status, e.p_value, e.p_adjusted, e.ci_high, e.detectable)
        for e in outcome.evidence
    ]
    assert got == [
        ("a", 10, 3, "unreliable", None, None, pytest.approx(Z**2 / (10 + Z**2)),
         pytest.approx(0.4 + shift * math.sqrt(0.024))),
        ("b", 3, 10, "unreliable", None, None, pytest.approx(Z**2 / (3 + Z**2)), 1.0),
    ]  # fmt: skip
    assert (outcome.status, outcome.reason) == ("not_evaluable", "no group large enough to compare")
    assert outcome.sentence == "Flips when g changes could not be assessed: no group large enough."


def test_a_model_reading_the_attribute_flips_everyone_a_finding_with_its_figures() -> None:
    """The model scores 0.9 for g=b and 0.1 for g=a: moved to the other level, all 10 of each
    group change decision. Rate 1, Wilson interval from n / (n + z^2) to 1, score test
    p = 2 Phi(-0.8 / sqrt(0.2 x 0.8 / 10)), doubled by Holm; a's score rises 0.8, b's falls."""
    people = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10})
    reads = stub_model(
        lambda p: np.where((p["g"] == "b").to_numpy()[:, None], [[0.1, 0.9]], [[0.9, 0.1]])
    )
    ctx = context(people, reads, attributes=(Attribute("g", "a"),), min_group_size=5)
    outcome = flips.run(FlipParams(check="flips", attribute="g", max_flip_rate=0.2), ctx)
    p = 2 * norm.cdf(-0.8 / math.sqrt(0.016))
    got = [
        (e.level, e.estimate, e.ci_low, e.ci_high, e.p_value, e.p_adjusted, e.status,
         e.details["changed"], e.details["mean_score_change"])
        for e in outcome.evidence
    ]  # fmt: skip
    low = pytest.approx(10 / (10 + Z**2))
    assert got == [
        ("a", 1.0, low, 1.0, pytest.approx(p), pytest.approx(2 * p), "finding", 10,
         pytest.approx(0.8)),
        ("b", 1.0, low, 1.0, pytest.approx(p), pytest.approx(2 * p), "finding", 10,
         pytest.approx(-0.8)),
    ]  # fmt: skip
    assert outcome.status == "finding" and outcome.reason is None
    assert outcome.sentence == (
        "Changing only g changes the model's decision for 100.0% of g=a moved to b (interval "
        f"{100 * 10 / (10 + Z**2):.1f}%–100.0%, above the tolerated 20.0%; corrected p = "
        f"{2 * p:.2g}); 2 group(s) and variant(s) in all."
    )


# --- known truth: the precision of the flags -----------------------------------------------


def test_a_trials_precision_is_the_share_of_flagged_people_truly_harmed() -> None:
    """The H1 steering trial on 3,000 people, one seed: precision is the flagged people who
    were truly steered below their capacity over all flagged (a share, at most 1), recall
    over all truly steered; counted here from the check's own cases on the same population."""
    trial = TRIALS[0]
    assert trial.truth is not None
    result = run_trial(trial, [0], n=3000)
    people = generate_population(3000, scenario=trial.scenario, seed=0, **trial.knobs).people
    (outcome,) = run_checks([trial.check], trial_context(trial, people, 0))
    truth = trial.truth(people)
    rows = np.array([c.row for c in outcome.cases], dtype=np.int64)
    assert rows.size >= 2  # so that a product and a share of the counts differ
    assert result.precision == pytest.approx(truth[rows].sum() / rows.size)
    assert result.recall == pytest.approx(truth[rows].sum() / truth.sum())
    assert 0 <= result.precision <= 1 and result.seeds == 1
    assert result.harm_statuses == (outcome.status,)
    null_people = generate_population(3000, scenario=trial.null_scenario, seed=0).people
    (null,) = run_checks([trial.check], trial_context(trial, null_people, 0))
    assert result.null_statuses == (null.status,)
    assert result.power == float(outcome.status == "finding")
    assert result.false_finding_rate == float(null.status == "finding")


# --- under-matching and mobility: the sentences -------------------------------------------


def test_the_under_matching_finding_names_the_smallest_corrected_p_not_the_first() -> None:
    """Two findings: the exposure ratio (p 0.04) listed before the share below qualification
    (p 0.001). The sentence names the smallest corrected p: the share, in points, with its
    interval; alone, the exposure ratio is told as times the exposure."""
    exposure = _record("exposure_ratio", 0.6, 0.04)
    share = _record("share_below_qualification", 0.12, 0.001)
    params = MatchingParams(check="undermatching")
    assert matching._sentence("finding", [exposure, share], params) == (
        "Under-matching: 12 points more of the jobs recommended to g=b are below their "
        "qualification than for g=a (interval 6 to 18 points, corrected p = 0.001); "
        "2 comparison(s) in all."
    )
    assert matching._sentence("finding", [exposure], params) == (
        "Under-matching: g=b get 0.60 times the exposure of g=a among the candidates of jobs "
        "at their level (interval 0.30 to 0.90, corrected p = 0.04); 1 comparison(s) in all."
    )


def test_the_under_matching_no_finding_names_each_bound_it_rules_out() -> None:
    """No finding rules out each measure's margin: 5 points more jobs below the qualification,
    exposure below 0.8 times; with one measure only that one."""
    both = MatchingParams(check="undermatching")
    assert matching._sentence("no_finding", [], both) == (
        "No group is recommended more than 5 points more jobs below its qualification, nor "
        "shown below 0.8 times the exposure of its reference."
    )
    share = MatchingParams(check="undermatching", measures=["share_below_qualification"])
    assert matching._sentence("no_finding", [], share) == (
        "No group is recommended more than 5 points more jobs below its qualification of its "
        "reference."
    )
    exposure = MatchingParams(check="undermatching", measures=["exposure_ratio"])
    assert matching._sentence("no_finding", [], exposure) == (
        "No group is shown below 0.8 times the exposure of its reference."
    )


def test_the_mobility_finding_names_the_smallest_corrected_p_not_the_first() -> None:
    """Two findings: 3 km farther (p 0.03) listed before 20 points more often beyond reach
    (p 0.002): the sentence names the share beyond reach; alone, the distance in km."""
    km = _record("mean_distance_km", 3.0, 0.03)
    share = _record("share_beyond_reach", 0.2, 0.002)
    params = MobilityParams(check="mobility")
    assert mobility._sentence("finding", [km, share], params) == (
        "Mobility: the jobs recommended to g=b are 20 points more often beyond reach than "
        "those of g=a (interval 10 points to 30 points, corrected p = 0.002); 2 comparison(s) "
        "in all."
    )
    assert mobility._sentence("finding", [km], params) == (
        "Mobility: the jobs recommended to g=b are 3.0 km farther on average than those of "
        "g=a (interval 1.5 km to 4.5 km, corrected p = 0.03); 1 comparison(s) in all."
    )


def test_the_mobility_no_finding_names_each_bound_it_rules_out() -> None:
    """No finding rules out 2 km farther and 5 points more often beyond reach; with one
    measure only that one."""
    both = MobilityParams(check="mobility")
    assert mobility._sentence("no_finding", [], both) == (
        "No group is recommended jobs more than 2 km farther or 5 points more often beyond "
        "reach than its reference."
    )
    share = MobilityParams(check="mobility", measures=["share_beyond_reach"], max_share=0.1)
    assert mobility._sentence("no_finding", [], share) == (
        "No group is recommended jobs 10 points more often beyond reach than its reference."
    )


def test_the_undecided_sentences_count_the_inconclusive_comparisons() -> None:
    """Inconclusive: the number of inconclusive comparisons (findings not counted); not
    evaluable: no group large enough. For under-matching and mobility alike."""
    unsure = [
        _record("exposure_ratio", 0.7, 0.3, status="inconclusive"),
        _record("share_below_qualification", 0.04, 0.5, status="inconclusive"),
        _record("share_below_qualification", 0.2, 0.001),
    ]
    params = MatchingParams(check="undermatching")
    assert matching._sentence("inconclusive", unsure, params) == (
        "Under-matching cannot be ruled out for 2 comparison(s): their intervals reach beyond "
        "the margin without a significant gap."
    )
    assert matching._sentence("not_evaluable", [], params) == (
        "Under-matching could not be assessed: no group large enough."
    )
    far = MobilityParams(check="mobility")
    assert mobility._sentence("inconclusive", unsure, far) == (
        "Mobility cannot be ruled out for 2 comparison(s): their intervals reach beyond the "
        "margin without a significant gap."
    )


def test_a_mobility_finding_without_an_interval_shows_a_question_mark() -> None:
    """An interval end the check could not compute is shown as '?', never as 0 km."""
    km = _record("mean_distance_km", 3.0, 0.01, ci_low=None, ci_high=None)
    assert mobility._sentence("finding", [km], MobilityParams(check="mobility")) == (
        "Mobility: the jobs recommended to g=b are 3.0 km farther on average than those of "
        "g=a (interval ? to ?, corrected p = 0.01); 1 comparison(s) in all."
    )


def test_mobility_without_a_group_large_enough_says_so_with_its_figures() -> None:
    """Groups of 2 (below the 30 a comparison needs): one recommendation each, a at 4 and
    6 km, b at 8 and 14 km (reach 10 km: one of b's beyond). b is 11 - 5 = 6 km farther and
    0.5 more often beyond reach, both unreliable: not evaluable, with the reason."""
    people = pd.DataFrame({"person_id": ["p0", "p1", "p2", "p3"], "g": ["a", "a", "b", "b"]})
    rankings = pd.DataFrame(
        {"person_id": ["p0", "p1", "p2", "p3"], "rank": 1, "distance_km": [4.0, 6.0, 8.0, 14.0]}
    )
    ctx = context(people, attributes=(Attribute("g", "a"),), rankings=rankings)
    outcome = mobility.run(MobilityParams(check="mobility"), ctx)
    got = [
        (e.measure, e.level, e.reference, e.estimate, e.n, e.n_reference, e.status,
         e.details["group_mean"], e.details["reference_mean"])
        for e in outcome.evidence
    ]  # fmt: skip
    assert got == [
        ("mean_distance_km", "b", "a", 6.0, 2, 2, "unreliable", 11.0, 5.0),
        ("share_beyond_reach", "b", "a", 0.5, 2, 2, "unreliable", 0.5, 0.0),
    ]
    assert (outcome.code, outcome.name, outcome.status) == ("H6", "mobility", "not_evaluable")
    assert outcome.reason == "no group large enough to compare"
    assert outcome.sentence == "Mobility could not be assessed: no group large enough."
    assert (outcome.margin, outcome.needs, outcome.notes) == (2.0, ("g",), ())


def test_mobility_notes_the_unranked_refuses_missing_distances_and_names_its_columns() -> None:
    """A fifth person without any recommendation is noted (1 audited person not compared);
    with the per-person reach the check also needs the car and transit columns; a missing
    distance is refused with the count of missing ones and the fix."""
    people = pd.DataFrame(
        {"person_id": ["p0", "p1", "p2", "p3", "p4"], "g": ["a", "a", "b", "b", "b"],
         "has_car": [True, False, False, True, False],
         "distance_public_transport_km": [0.5, 0.5, 2.0, 2.0, 0.1]}
    )  # fmt: skip
    rankings = pd.DataFrame(
        {"person_id": ["p0", "p1", "p2", "p3"], "rank": 1, "distance_km": [4.0, 6.0, 8.0, 9.0]}
    )
    ctx = context(people, attributes=(Attribute("g", "a"),), rankings=rankings)
    by_transport = MobilityParams(check="mobility", reach_by_transport=True)
    outcome = mobility.run(by_transport, ctx)
    assert outcome.notes == ("1 audited people have no recommendation and are not compared",)
    assert outcome.needs == ("g", "has_car", "distance_public_transport_km")
    # reach 30 (car), 10 (stop within 1 km), 5 (no car, stop 2 km), 30: only p2's 8 km beyond
    # (with one reach of 10 km for all, nobody would be)
    share = next(e for e in outcome.evidence if e.measure == "share_beyond_reach")
    assert (share.details["group_mean"], share.details["reference_mean"]) == (0.5, 0.0)
    gaps = rankings.assign(distance_km=[4.0, math.nan, 8.0, 9.0])
    with pytest.raises(CannotRun) as err:
        mobility.run(by_transport, replace(ctx, rankings=gaps))
    assert str(err.value) == (
        "expected a distance in km for every recommendation; found 1 missing. Fix: complete "
        "distance_km"
    )


# --- thresholds: the cuts in the sentence -------------------------------------------------


def test_the_thresholds_sentence_lists_the_cuts_in_order_with_the_margin() -> None:
    """The cuts are listed in increasing order, separated by a comma, in every sentence
    without a finding; the margin in percentage points."""
    params = ThresholdParams(check="thresholds", thresholds=[0.7, 0.3], max_difference=0.04)
    assert thresholds._sentence("no_finding", [], params) == (
        "At the thresholds 0.3, 0.7, no group is wrongly judged high or low chance more often "
        "than its reference by more than 4 percentage points."
    )
    unsure = [_record("wrongly_high_chance", 0.06, 0.2, status="inconclusive")]
    assert thresholds._sentence("inconclusive", unsure, params) == (
        "At the thresholds 0.3, 0.7, more errors for 1 comparison(s) cannot be ruled out: their "
        "intervals reach beyond 4 percentage points, without a significant gap."
    )
    assert thresholds._sentence("not_evaluable", [], params) == (
        "Errors at the thresholds 0.3, 0.7 could not be assessed: no group large enough."
    )


def test_the_thresholds_finding_names_the_largest_gap_with_both_rates() -> None:
    """Two findings: wrongly judged low chance 8 points more often (at 0.3), and wrongly
    judged high chance 15 points more often (at 0.7): the sentence names the larger, with the
    group's and the reference's rates in percent and the interval to three decimals."""
    params = ThresholdParams(check="thresholds", thresholds=[0.3, 0.7])
    low = _record("wrongly_low_chance", 0.08, 0.01,
                  details={"threshold": 0.3, "rate": 0.28, "reference_rate": 0.2})  # fmt: skip
    high = _record("wrongly_high_chance", 0.15, 0.02,
                   details={"threshold": 0.7, "rate": 0.4, "reference_rate": 0.25})  # fmt: skip
    assert thresholds._sentence("finding", [low, high], params) == (
        "At threshold 0.7, g=b without the outcome are wrongly judged high chance 15.0 "
        "percentage points more often than g=a (40% against 25%; interval 0.075 to 0.225, "
        "corrected p = 0.02); 2 comparison(s) in all."
    )
    assert thresholds._sentence("finding", [low], params) == (
        "At threshold 0.3, g=b with the outcome are wrongly judged low chance 8.0 "
        "percentage points more often than g=a (28% against 20%; interval 0.040 to 0.120, "
        "corrected p = 0.01); 1 comparison(s) in all."
    )


# --- missing papers: error rates with nobody on one side ----------------------------------


def test_error_rates_with_nobody_on_one_side_have_no_estimate_and_no_warning() -> None:
    """Four people, decisions 1 0 1 0, outcomes 1 1 0 0; the two with the outcome have their
    diploma, the two without lack it. FNR: nobody with the outcome misses a document (n 0),
    the others' FNR is 1/2; FPR: everyone without the outcome misses one (reference n 0), their
    FPR 1/2. No difference can be formed: no estimate nor interval, unreliable, and no
    RuntimeWarning from the empty side (it is an error under the test configuration)."""
    people = pd.DataFrame({"g": ["a"] * 4, "diploma_on_file": [True, True, False, False]})
    table = pd.DataFrame({"_decision": [1, 0, 1, 0], "_outcome": [1, 1, 0, 0]})
    params = MissingPapersParams(check="missing_papers", documents=["diploma_on_file"])
    outcome = missing_papers.run(params, context(people, table=table))
    blank = {"estimate": None, "ci_low": None, "ci_high": None, "p_value": None}
    fnr, fpr = (
        {k: v for k, v in asdict(e).items() if k not in ("attribute", "level", "reference")}
        for e in outcome.evidence
    )
    assert fnr == {**blank, "measure": "fnr_difference", "p_adjusted": None, "detectable": None,
                   "n": 0, "n_reference": 2, "status": "unreliable",
                   "details": {"rate": None, "reference_rate": 0.5, "decision": "decision"}}  # fmt: skip
    assert fpr == {**blank, "measure": "fpr_difference", "p_adjusted": None, "detectable": None,
                   "n": 2, "n_reference": 0, "status": "unreliable",
                   "details": {"rate": 0.5, "reference_rate": None, "decision": "decision"}}  # fmt: skip
    assert {(e.attribute, e.level, e.reference) for e in outcome.evidence} == {
        ("missing_documents", "some_missing", "none_missing")
    }
    assert outcome.status == "not_evaluable"


def test_the_difference_of_two_rates_has_no_error_when_either_side_is_empty() -> None:
    """The standard error of p1 - p0 is sqrt(p1(1-p1)/n1 + p0(1-p0)/n0), undefined (NaN)
    when either side has nobody; a side's rate over nobody is NaN too."""
    assert missing_papers._diff_se(0.5, 4, 0.25, 3) == pytest.approx(
        math.sqrt(0.25 / 4 + 0.1875 / 3)
    )
    assert math.isnan(missing_papers._diff_se(0.5, 0, 0.25, 3))
    assert math.isnan(missing_papers._diff_se(0.5, 4, 0.25, 0))
    assert math.isnan(missing_papers._diff_se(0.5, 0, 0.25, 0))
    flags = np.array([True, False, True])
    assert missing_papers._rate(flags, np.array([True, True, False])) == 0.5
    assert math.isnan(missing_papers._rate(flags, np.zeros(3, dtype=bool)))
