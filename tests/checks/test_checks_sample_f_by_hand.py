"""Harm checks by hand (issue 14, sample F): how the flips check reads a model's outputs (and
refuses a failing one), a known-truth trial's false-finding rate, the sentences of the label
choice and the digital proxies, the proxies without a model, the standardised ratio's delta-
method error, a thresholds record, the training check's reason, and the harm_check rules.

Every expected value is worked out from the check's definition in its module docstring and
parameter descriptions, on tables small enough to count by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from audit.checks import flips, label_choice, proxies, ranked, thresholds, training
from audit.checks.base import Attribute, CannotRun, CheckOutcome, Evidence
from audit.checks.flips import FlipParams
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.label_choice import LabelChoiceParams
from audit.checks.proportions import RateGap
from audit.checks.proxies import ProxyParams
from audit.checks.thresholds import ThresholdParams
from audit.checks.training import Eligibility, TrainingParams
from audit.gate import Finding
from audit.harm_rules import finding_sentence, harm_rule_outcomes
from audit.spec import DecisionSpec, HarmCheckRule
from tests.checks.stub_models import context, stub_model
from tests.formulas import wilson

Z = norm.ppf(0.975)  # the two-sided 95% quantile
FIX = ". Fix: check the model against the data (audit model check)"


def _ev(**changes: Any) -> Evidence:
    """A finding of g=b against g=a with an interval 0.05 to 0.15 around 0.1."""
    fields: dict[str, Any] = {
        "attribute": "g", "level": "b", "reference": "a", "measure": "flip_rate",
        "estimate": 0.1, "ci_low": 0.05, "ci_high": 0.15, "p_value": 0.01,
        "p_adjusted": 0.02, "detectable": 0.07, "n": 40, "n_reference": 50,
        "status": "finding", "details": {},
    }  # fmt: skip
    fields.update(changes)
    return Evidence(**fields)


# --- flips: reading the model's outputs ---------------------------------------------------


def _two_groups() -> pd.DataFrame:
    return pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10})


def _flips_ctx(model: Any) -> Any:
    return context(_two_groups(), model, attributes=(Attribute("g", "a"),), min_group_size=5)


PARAMS = FlipParams(check="flips", attribute="g", max_flip_rate=0.2)


def test_a_model_failing_without_a_message_cannot_run_and_names_the_error_type() -> None:
    """An exception with an empty message still gives CannotRun (the other checks go on),
    naming its type and nothing after the colon."""
    with pytest.raises(CannotRun) as err:
        flips.run(PARAMS, _flips_ctx(stub_model(error=ValueError(""))))
    assert str(err.value) == (
        "the model: expected it to score the people with 'g' changed; found ValueError: " + FIX
    )


def test_a_model_failure_is_told_by_its_first_line_cut_at_400_characters() -> None:
    """Only the first line of a long traceback-like message; the told part (the expectation,
    the type, the line) is cut at 400 characters, the fix always follows."""
    with pytest.raises(CannotRun) as err:
        flips.run(PARAMS, _flips_ctx(stub_model(error=RuntimeError("bad column\nin row 3"))))
    assert str(err.value) == (
        "the model: expected it to score the people with 'g' changed; found RuntimeError: "
        "bad column" + FIX
    )
    with pytest.raises(CannotRun) as err:
        flips.run(PARAMS, _flips_ctx(stub_model(error=KeyError("x" * 1000))))
    told = "the model: expected it to score the people with 'g' changed; found KeyError: '"
    assert str(err.value) == (told + "x" * (400 - len(told)) + FIX)


def test_a_model_output_of_the_wrong_shape_or_with_nan_rows_cannot_run() -> None:
    """Three columns for two classes is refused with the shape; NaN or infinite scores are
    counted by row (a row with both counts once), never read as the first class."""
    with pytest.raises(CannotRun) as err:
        flips.run(PARAMS, _flips_ctx(stub_model(lambda p: np.full((len(p), 3), 1 / 3))))
    assert str(err.value) == (
        "the model: expected one probability per class ['0', '1'] for each of the 20 people; "
        "found an output of shape (20, 3). Fix: check the model's output (audit model check)"
    )

    def gaps(p: pd.DataFrame) -> np.ndarray:
        out = np.tile([0.5, 0.5], (len(p), 1))
        out[0] = [math.nan, math.inf]
        out[1, 1] = -math.inf
        out[2, 0] = math.nan
        return out

    with pytest.raises(CannotRun) as err:
        flips.run(PARAMS, _flips_ctx(stub_model(gaps)))
    assert str(err.value) == (
        "the model: expected finite probabilities for the people with 'g' changed; found 3 of "
        "20 rows with NaN or infinite values" + FIX
    )


def test_flips_without_a_model_cannot_run_and_says_to_audit_the_model() -> None:
    with pytest.raises(CannotRun) as err:
        flips.run(PARAMS, _flips_ctx(None))
    assert str(err.value) == "it re-scores people, so it needs the model. Fix: audit the model"


def _model(proba: list[list[float]], classes: tuple[Any, ...], task: str) -> Any:
    return SimpleNamespace(
        predict_proba=lambda people: np.array(proba), classes=classes, task=task,
        expected_columns=(),
    )  # fmt: skip


PROBA = [[0.3, 0.7], [0.6, 0.4], [0.5, 0.5], [0.75, 0.25], [0.34, 0.66]]


def _out(model: Any, rule: Any = None) -> tuple[Any, Any, list[float]]:
    people = pd.DataFrame({"g": ["a"] * len(model.predict_proba(None))})
    got = flips._outputs(model, people, rule, PARAMS)
    track = None if got.track is None else got.track.tolist()
    decision = None if got.decision is None else got.decision.tolist()
    return track, decision, got.score.tolist()


def test_a_scoring_models_decision_is_its_label_1_or_the_rule_it_is_given() -> None:
    """Without a rule a profiling model decides on its predicted label "1" (a tie is the first
    class, as argmax and every backend take it), the score is the last class's probability.
    A threshold decides on score >= threshold; bands on the band examined (score >= high is
    high, < low is low); a label on the predicted label, scored on that label's probability."""
    profiling = _model(PROBA, (0, 1), "profiling")  # integer classes are read as text
    score = [0.7, 0.4, 0.5, 0.25, 0.66]
    assert _out(profiling) == (None, [True, False, False, False, True], score)
    at = DecisionSpec(threshold=0.5)
    assert _out(profiling, at) == (None, [True, False, True, False, True], score)
    medium = DecisionSpec(bands={"high": 0.66, "low": 0.25}, examined=["medium"])
    assert _out(profiling, medium) == (None, [False, True, True, True, False], score)
    high = DecisionSpec(bands={"high": 0.5}, examined=["high", "low"])  # low: default 0.25
    assert _out(profiling, high) == (None, [True, False, True, False, True], score)
    zero = DecisionSpec(label="0")
    assert _out(profiling, zero) == (
        None,
        [False, True, True, True, False],
        [0.3, 0.6, 0.5, 0.75, 0.34],
    )
    unknown = DecisionSpec(label="2")  # not a class: the last class's score, nobody decided
    assert _out(profiling, unknown) == (None, [False] * 5, score)
    # a profiling model without a class "1" decides on its last class
    named = _model(PROBA, ("no", "yes"), "profiling")
    assert _out(named) == (None, [True, False, False, False, True], score)


def test_a_recommenders_output_is_its_track_and_a_decision_only_with_a_rule() -> None:
    """A track recommender gives the track of highest probability; without a rule no
    binary decision (its task is not profiling); with a label, the decision is that track."""
    proba = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]
    recommender = _model(proba, ("care", "regular", "sheltered"), "track")
    tracks = ["regular", "care", "sheltered"]
    assert _out(recommender) == (tracks, None, [0.3, 0.3, 0.8])
    assert _out(recommender, DecisionSpec(label="regular")) == (
        tracks, [True, False, False], [0.5, 0.1, 0.1]
    )  # fmt: skip
    out = flips._outputs(recommender, pd.DataFrame({"g": ["a"] * 3}), None, PARAMS)
    assert out.what == "track"


# --- known truth: the false-finding rate --------------------------------------------------


def test_a_trials_false_finding_rate_is_the_share_of_null_seeds_with_a_finding() -> None:
    """The training access trial turned round, on 2,000 people: its "harm" scenario is no_bias
    (no finding) and its "null" one injects the harm at its default odds x0.4 (a finding).
    The null seed's finding is a false-finding rate of 1; the harm seed's none a power of 0."""
    trial = replace(
        TRIALS[3], scenario="no_bias", knobs={}, null_scenario="h2_training_access", n=2000
    )
    result = run_trial(trial, [0])
    # 2,000 people without a harm: no finding (not necessarily ruled out at this size)
    assert len(result.harm_statuses) == 1 and result.harm_statuses[0] != "finding"
    assert result.null_statuses == ("finding",)
    assert (result.power, result.false_finding_rate) == (0.0, 1.0)
    assert (result.precision, result.recall, result.seeds) == (None, None, 1)


# --- label choice: the sentences ------------------------------------------------------------


def test_the_label_choice_sentences_for_each_status() -> None:
    """A finding names the largest gap (in absolute value) with its interval and the label's
    own gap; no finding lists each measure once in the order given; inconclusive counts the
    inconclusive comparisons and those already significant on the label; not evaluable says
    no group had people with and without each outcome."""
    params = LabelChoiceParams(check="label_choice", measures=["tpr", "fpr", "tpr"], max_gap=0.04)
    small = _ev(estimate=0.05, details={"measure": "tpr", "label_gap": 0.0})
    large = _ev(estimate=-0.12, ci_low=-0.2, ci_high=-0.04, p_adjusted=0.003,
                details={"measure": "fpr", "label_gap": 0.01})  # fmt: skip
    unsure = _ev(status="inconclusive", estimate=-0.3, details={"measure": "tpr"})
    assert label_choice._sentence("finding", [small, unsure, large], params, "job_6m") == (
        "Fair on its label 'job_6m' but not on 'sustainable_12m': g=b are judged likely to "
        "find work among people who did not at a rate -12.0% from g=a on 'sustainable_12m' "
        "(interval -20.0% to -4.0%, corrected p = 0.003), against +1.0% on 'job_6m' (within "
        "±4.0%); 2 comparison(s) in all."
    )
    assert label_choice._sentence("no_finding", [], params, "job_6m") == (
        "No disparity beyond 4.0% on 'sustainable_12m' in the rates (tpr, fpr) of any group "
        "compared: the label 'job_6m' hides none."
    )
    unsure = [
        _ev(status="inconclusive", details={"label_status": "finding"}),
        _ev(status="inconclusive", details={"label_status": "no_finding"}),
        _ev(status="inconclusive", details={}),
        _ev(details={"label_status": "finding"}),  # a finding is not counted
    ]
    assert label_choice._sentence("inconclusive", unsure, params, "job_6m") == (
        "Whether the label 'job_6m' hides a disparity on 'sustainable_12m' cannot be told for "
        "3 comparison(s): their intervals on 'sustainable_12m' reach beyond ±4.0% without the "
        "label looking fair and the gap significant; 1 of them already show a significant gap "
        "on 'job_6m' itself."
    )
    assert label_choice._sentence("inconclusive", unsure[1:3], params, "job_6m") == (
        "Whether the label 'job_6m' hides a disparity on 'sustainable_12m' cannot be told for "
        "2 comparison(s): their intervals on 'sustainable_12m' reach beyond ±4.0% without the "
        "label looking fair and the gap significant."
    )
    assert label_choice._sentence("not_evaluable", [], params, "job_6m") == (
        "The labels 'job_6m' and 'sustainable_12m' could not be compared: no group with enough "
        "people with and without each outcome."
    )


# --- digital proxies: sentences and the check without a model -----------------------------


def _traces() -> pd.DataFrame:
    """20 people, 10 of low literacy: no online CV for the low, one for the high; 8 of the low
    and 2 of the high came to the desk."""
    low = [True] * 10 + [False] * 10
    return pd.DataFrame(
        {
            "lit": np.where(low, "low", "high"),
            "cv": np.where(low, 0.0, 1.0),
            "kanaal": ["balie"] * 8 + ["web"] * 2 + ["balie"] * 2 + ["web"] * 8,
        }
    )


def _gap(**changes: Any) -> Evidence:
    return _ev(attribute="lit", level="low", reference="high",
               measure="score_gap_from_traces", **changes)  # fmt: skip


def test_the_proxies_sentences_for_each_status() -> None:
    """A finding names the largest narrowing, its share of the gap and the trace that alone
    best tells the group apart (AUC 0.2 separates as well as 0.8); inconclusive gives the
    widest reach of the inconclusive gaps only; no finding names the traces and the margin."""
    params = ProxyParams(check="digital_proxies", features=["cv", "kanaal"], max_score_gap=0.03)
    ctx = context(_traces(), stub_model([[0.5, 0.5]] * 20))
    auc = {"measure": "proxy_auc", "status": "descriptive", "p_adjusted": None}
    evidence = [
        _gap(estimate=0.04, details={"share_of_gap": 0.5}),
        _gap(estimate=0.1, ci_low=0.06, ci_high=0.14, p_adjusted=0.004,
             details={"share_of_gap": 0.25}),
        _ev(attribute="lit", level="low", estimate=0.2, details={"feature": "cv"}, **auc),
        _ev(attribute="lit", level="low", estimate=0.6, details={"feature": "kanaal"}, **auc),
        _ev(attribute="lit", level="mid", estimate=0.99, details={"feature": "kanaal"}, **auc),
    ]  # fmt: skip
    assert proxies._sentence("finding", evidence, params, ctx) == (
        "Digital traces stand in for lit=low: neutralising cv, kanaal narrows its score gap to "
        "lit=high by 0.100 (interval 0.060–0.140, corrected p = 0.004, 25% of its gap); cv "
        "alone tells the group from the others with an AUC of 0.80 (0.5: not at all); 2 "
        "group(s) in all."
    )
    unsure = [
        _gap(status="inconclusive", ci_high=0.05),
        _gap(status="inconclusive", ci_high=0.08),
        _gap(ci_high=0.5),  # a finding: not among the inconclusive
        _ev(measure="proxy_auc", status="inconclusive", ci_high=0.9),  # not a score gap
    ]
    assert proxies._sentence("inconclusive", unsure, params, ctx) == (
        "A score gap from the digital traces cannot be ruled out for 2 group(s): their "
        "intervals reach 0.080, above the margin 0.03, without a significant gap."
    )
    assert proxies._sentence("no_finding", [], params, ctx) == (
        "The digital traces (cv, kanaal) cost no group more than 0.03 of the score against its "
        "reference."
    )
    assert proxies._sentence("not_evaluable", [], params, ctx) == (
        "The score gap of the digital traces could not be assessed: no group large enough."
    )


def test_the_proxies_check_without_a_model_is_not_evaluable_saying_it_needs_the_model() -> None:
    """Without a model the traces' AUCs are descriptive only (nothing decides): not evaluable,
    the reason and a note saying the score gap needs the model. With a model but groups
    below the minimum size: no group large enough, and a note on the traces it does not read."""
    params = ProxyParams(
        check="digital_proxies", features=["cv"], attributes=["lit"], reconstruct=False
    )
    ctx = context(_traces(), attributes=(Attribute("lit", "high"),), min_group_size=5)
    outcome = proxies.run(params, ctx)
    assert [(e.measure, e.status, e.n, e.n_reference) for e in outcome.evidence] == [
        ("proxy_auc", "descriptive", 10, 10)
    ]
    assert (outcome.code, outcome.name, outcome.status) == ("H4", "digital_proxies",
                                                            "not_evaluable")  # fmt: skip
    assert outcome.reason == (
        "the score gap of the digital traces needs the model (a file of decisions cannot be "
        "re-scored)"
    )
    assert outcome.notes == (
        "the score gap of the traces and their weight in the score need the model, to re-score "
        "people with the traces neutralised; a file of decisions cannot be re-scored",
    )
    assert outcome.sentence == (
        "The score gap of the digital traces needs the model to re-score people; how strongly "
        "the traces predict each group is reported."
    )
    assert (outcome.needs, outcome.margin) == (("cv", "lit"), 0.02)
    flat = stub_model(lambda p: np.tile([0.5, 0.5], (len(p), 1)))
    too_small = replace(ctx, model=flat, min_group_size=11)
    outcome = proxies.run(params, too_small)
    assert {e.status for e in outcome.evidence} == {"unreliable"}
    assert (outcome.status, outcome.reason) == ("not_evaluable", "no group large enough to compare")
    assert outcome.notes == ("the model does not read cv: neutralising them changes nothing",)


# --- ranked: the standardised comparison --------------------------------------------------


def test_the_standardised_ratio_and_difference_with_their_errors_by_hand() -> None:
    """Group: stratum 0 holds 1, 3 (mean 2, variance 2), stratum 1 holds 2, 4, 6 (mean 4,
    variance 4), stratum 2 one person, stratum 3 two. Reference: 1, 2, 3 in strata 0 and 1
    (mean 2, variance 1), two people in stratum 2, one in stratum 3. Strata 2 and 3 lack two
    people on one side and are left out. Weights by the group's people 2/5, 3/5: group mean
    3.2, reference 2; var_g = 0.16 x 2/2 + 0.36 x 4/3 = 0.64, var_r = (0.16 + 0.36) x 1/3.
    Coverage: 5 of the group's 8, 2 strata. Ratio 1.6 with the delta-method error of its log
    sqrt(var_g / 3.2^2 + var_r / 2^2); difference 1.2 with sqrt(var_g + var_r)."""
    group, reference = [1, 3, 2, 4, 6, 5, 7, 9], [1, 2, 3, 1, 2, 3, 1, 1, 4]
    values = np.array(group + reference, dtype=np.float64)
    strata = np.array([0, 0, 1, 1, 1, 2, 3, 3] + [0, 0, 0, 1, 1, 1, 2, 2, 3])
    in_group = np.arange(17) < 8
    var_g, var_r = 0.64, 0.52 / 3
    got = ranked.standardised(values, in_group, ~in_group, strata, "ratio")
    assert got == pytest.approx((1.6, math.sqrt(var_g / 3.2**2 + var_r / 4), 3.2, 2.0, 5 / 8, 2))
    assert got[-1] == 2 and isinstance(got[-1], int)
    got = ranked.standardised(values, in_group, ~in_group, strata, "difference")
    assert got == pytest.approx((1.2, math.sqrt(var_g + var_r), 3.2, 2.0, 5 / 8, 2))


def test_a_ratio_against_a_mean_of_zero_or_without_a_shared_stratum_has_no_estimate() -> None:
    """A reference (or group) mean of 0 leaves no ratio, the means and coverage still told;
    no stratum with two people on both sides leaves nothing compared."""
    strata = np.zeros(4, dtype=np.int64)
    in_group = np.array([True, True, False, False])
    for values, means in (([1.0, 3.0, 0.0, 0.0], (2.0, 0.0)), ([0.0, 0.0, 1.0, 3.0], (0.0, 2.0))):
        got = ranked.standardised(np.array(values), in_group, ~in_group, strata, "ratio")
        assert math.isnan(got[0]) and math.isnan(got[1])
        assert got[2:] == (*means, 1.0, 1)
        # on the difference scale a zero mean is a difference like any other
        diff = ranked.standardised(np.array(values), in_group, ~in_group, strata, "difference")
        assert diff[0] == means[0] - means[1] and diff[1] == pytest.approx(math.sqrt(2 / 2))
    lone = np.array([True, False, False, False])
    got = ranked.standardised(np.array([1.0, 2.0, 3.0, 4.0]), lone, ~lone, strata, "ratio")
    assert [math.isnan(x) for x in got[:4]] == [True] * 4 and got[4:] == (0.0, 0)


# --- thresholds: one record ---------------------------------------------------------------


def test_a_thresholds_record_holds_every_figure_and_both_sizes() -> None:
    """6 of 10 of the group wrongly judged high chance against 2 of 10 of the reference: a
    difference of 0.4 with Newcombe's interval from the two Wilson intervals; the pooled null
    error sqrt(0.4 x 0.6 x (1/10 + 1/10)) gives the detectable gap over 3 tests. Tested with a
    corrected p of 0.03 it is a finding, of 0.06 (uncorrected 0.01) not; untested, unreliable without p. The sizes are the
    people of the rate (10, 10) and of the whole group (14, 16)."""
    params = ThresholdParams(check="thresholds", max_difference=0.05)
    ctx = context(pd.DataFrame({"g": ["a"]}))
    gap = RateGap(events=6, n=10, reference_events=2, n_reference=10)
    c = thresholds._Comparison("g", "b", "a", 0.66, "wrongly_high_chance", gap, 14, 16)
    (l1, u1), (l0, u0) = wilson(6 / 10, 10), wilson(2 / 10, 10)
    low = 0.4 - math.sqrt((0.6 - l1) ** 2 + (u0 - 0.2) ** 2)
    high = 0.4 + math.sqrt((u1 - 0.6) ** 2 + (0.2 - l0) ** 2)
    detectable = (norm.ppf(1 - 0.05 / 6) + norm.ppf(0.8)) * math.sqrt(0.24 * 0.2)
    e = thresholds._record(c, (0.01, 0.03), params, ctx, 3)
    assert e == Evidence(
        attribute="g", level="b", reference="a", measure="wrongly_high_chance",
        estimate=pytest.approx(0.4), ci_low=pytest.approx(low), ci_high=pytest.approx(high),
        p_value=0.01, p_adjusted=0.03, detectable=pytest.approx(detectable), n=10,
        n_reference=10, status="finding",
        details={"threshold": 0.66, "rate": 0.6, "reference_rate": 0.2, "group_size": 14,
                 "reference_size": 16},
    )  # fmt: skip
    assert thresholds._record(c, (0.01, 0.06), params, ctx, 3).status == "inconclusive"
    untested = thresholds._record(c, None, params, ctx, 3)
    assert (untested.status, untested.p_value, untested.p_adjusted) == ("unreliable", None, None)
    # fewer errors than the reference, the interval's upper end within the margin: ruled out
    fewer = replace(c, gap=RateGap(events=0, n=20, reference_events=10, n_reference=20))
    assert thresholds._record(fewer, (0.001, 0.002), params, ctx, 3).status == "no_finding"
    nobody = replace(c, gap=RateGap(events=0, n=0, reference_events=2, n_reference=10))
    e = thresholds._record(nobody, None, params, ctx, 3)
    assert (e.estimate, e.ci_low, e.ci_high, e.detectable, e.n) == (None, None, None, None, 0)
    assert e.details == {"threshold": 0.66, "rate": None, "reference_rate": 0.2,
                         "group_size": 14, "reference_size": 16}  # fmt: skip


# --- training: the outcome's reason -------------------------------------------------------


def test_a_training_check_that_decides_gives_no_reason_one_that_cannot_says_why() -> None:
    """10 eligible people in each group (10 needed), 5 of each trained: a difference of 0
    whose interval reaches below -5 points, inconclusive, with no reason (the check could
    compare); the margin is minus the shortfall. Two people of a without a wish are not
    eligible and the value 'ja' is not in the column: both noted. With 11 needed per group
    nothing decides: no group large enough."""
    wish = ["yes"] * 10 + [None, None] + ["yes"] * 10
    people = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 10, "wish": wish})
    tracks = ["cursus"] * 5 + ["werk"] * 5 + ["cursus"] * 2 + ["cursus"] * 5 + ["werk"] * 5
    table = pd.DataFrame({"_track": pd.Categorical(tracks)}, index=people.index)
    rule = Eligibility(column="wish", values=["yes", "ja"])
    params = TrainingParams(check="training", track="cursus", eligible=rule, factors=[])
    ctx = context(people, table=table, attributes=(Attribute("g", "a"),), min_group_size=10)
    outcome = training.run(params, ctx)
    (e,) = outcome.evidence
    assert (e.measure, e.estimate, e.n, e.n_reference, e.status) == (
        "rate_difference", 0.0, 10, 10, "inconclusive"
    )  # fmt: skip
    assert (outcome.status, outcome.reason, outcome.margin) == ("inconclusive", None, -0.05)
    assert (outcome.needs, outcome.cases) == (("g", "wish"), ())
    assert outcome.notes == (
        "2 people without a value of 'wish' count as not eligible",
        "eligible values not in 'wish': ['ja']",
    )
    assert outcome.sentence == (
        "Less access to 'cursus' cannot be ruled out for 1 group(s) among people eligible for "
        "'cursus' (wish in ['yes', 'ja']): their intervals reach more than 5 percentage points below "
        "the reference, without a significant gap."
    )
    outcome = training.run(params, replace(ctx, min_group_size=11))
    assert (outcome.status, outcome.reason) == ("not_evaluable", "no group large enough to compare")


# --- harm_check rules ---------------------------------------------------------------------


def _outcome(*evidence: Evidence, status: str = "finding", reason: str | None = None) -> Any:
    return CheckOutcome(
        code="CF", name="flips", check_id="flips", status=status,  # type: ignore[arg-type]
        sentence="", needs=(), evidence=evidence, margin=0.01, reason=reason,
    )  # fmt: skip


def test_a_harm_rule_reads_the_checks_verdict_an_inconclusive_group_never_decides() -> None:
    """A finding fails the rule and decides; an inconclusive record is reported but does not
    decide (decides is False, not merely falsy); a no-finding passes silently; unreliable and
    descriptive records are not read."""
    rule = HarmCheckRule(id="r", harm_check="flips")
    unsure = _ev(status="inconclusive", level="c")
    records = (_ev(), unsure, _ev(status="no_finding", level="d"),
               _ev(status="unreliable", level="e"), _ev(status="descriptive", level="f"))  # fmt: skip
    (out,) = harm_rule_outcomes([rule], [_outcome(*records)])
    assert (out.rule_id, out.status, out.evaluated, out.reason) == ("r", "fail", 3, None)
    assert out.description == "no harm found by check 'flips'"
    found, doubt = out.findings
    assert (found.code, found.decides, found.levels) == ("HARM_FOUND", True, ("b",))
    assert (doubt.code, doubt.levels, doubt.bound, doubt.position) == (
        "HARM_INCONCLUSIVE", ("c",), 0.01, None
    )  # fmt: skip
    assert doubt.decides is False
    assert doubt.sentence == (
        "g=c vs a: flip rate 0.1 (interval 0.05 to 0.15): not significant, but the interval "
        "reaches beyond the check's margin 0.01; the data cannot rule the harm out."
    )
    (out,) = harm_rule_outcomes([rule], [_outcome(*records[1:], status="inconclusive")])
    assert (out.status, out.evaluated, len(out.findings)) == ("inconclusive", 2, 1)
    assert out.findings[0].decides is False
    (out,) = harm_rule_outcomes([rule], [_outcome(*records[2:], status="no_finding")])
    assert (out.status, out.evaluated, out.findings, out.reason) == ("pass", 1, (), None)
    # a check that ran with only records that do not decide: nothing read
    (out,) = harm_rule_outcomes([rule], [_outcome(*records[3:], status="no_finding")])
    assert (out.status, out.evaluated, out.findings) == ("not_evaluable", 0, ())
    assert out.reason == "no group large enough to compare"


def test_a_harm_rule_without_its_check_or_with_a_check_not_comparing_is_not_evaluable() -> None:
    """No outcome: the check did not run; skipped or not evaluable: its status and reason.
    The one finding says so and does not decide."""
    rule = HarmCheckRule(id="r", harm_check="flips", description="no flips")
    (out,) = harm_rule_outcomes([rule], [])
    assert (out.status, out.evaluated, out.reason, out.description) == (
        "not_evaluable", 0, "the check did not run", "no flips"
    )  # fmt: skip
    (f,) = out.findings
    assert (f.code, f.decides, f.metric, f.attributes, f.bound) == (
        "NOT_EVALUABLE", False, "harm_check", (), None
    )  # fmt: skip
    assert f.sentence == "Rule 'r' could not be evaluated: the check did not run."
    skipped = _outcome(status="not_evaluable", reason="no group large enough to compare")
    (out,) = harm_rule_outcomes([rule], [skipped])
    assert out.reason == "check 'flips' not evaluable: no group large enough to compare"
    assert out.findings[0].bound == 0.01  # the check's margin, though nothing was read
    (out,) = harm_rule_outcomes([rule], [_outcome(_ev(), status="skipped", reason="no model")])
    assert (out.status, out.reason) == ("not_evaluable", "check 'flips' skipped: no model")


def test_a_bounded_harm_rule_needs_one_scale_or_the_measure_named() -> None:
    """A bound cannot read a ratio and a share at once: without `measure:` it is not
    evaluable, naming the measures; a measure named that the check has no record on neither.
    Named, only that measure is read."""
    share = _ev(measure="share_below_qualification", ci_low=0.06, ci_high=0.15)
    ratio = _ev(measure="exposure_ratio", estimate=0.6, ci_low=0.4, ci_high=0.8)
    both = _outcome(share, ratio)
    (out,) = harm_rule_outcomes([HarmCheckRule(id="r", harm_check="flips", max=0.05)], [both])
    assert (out.status, out.reason) == (
        "not_evaluable",
        "the bound needs one scale, and check 'flips' has records on exposure_ratio, "
        "share_below_qualification: name the measure bounded with `measure:`",
    )
    assert out.description == "harm check 'flips' at most 0.05"
    absent = HarmCheckRule(id="r", harm_check="flips", max=0.05, measure="mean_distance_km")
    (out,) = harm_rule_outcomes([absent], [both])
    assert out.status == "not_evaluable" and "records on exposure_ratio, share_below" in (
        out.reason or ""
    )
    named = HarmCheckRule(id="r", harm_check="flips", min=0.9, measure="exposure_ratio")
    (out,) = harm_rule_outcomes([named], [both])
    assert (out.status, out.evaluated, out.description) == (
        "fail", 1, "harm check 'flips' at least 0.9"
    )  # fmt: skip
    (f,) = out.findings
    assert (f.code, f.decides, f.bound, f.position, f.metric) == (
        "HARM_FOUND", True, 0.9, "interval_beyond", "exposure_ratio"
    )  # fmt: skip
    # one scale (a share and a plain rate): no measure needed; 0.06-0.15 lies beyond 0.05
    rate = _ev(ci_low=0.0, ci_high=0.04)
    (out,) = harm_rule_outcomes(
        [HarmCheckRule(id="r", harm_check="flips", max=0.05)], [_outcome(share, rate)]
    )
    assert (out.status, out.evaluated, [f.levels for f in out.findings]) == ("fail", 2, [("b",)])


def test_a_harm_finding_whose_attributes_and_levels_do_not_pair_up_is_refused() -> None:
    """The group is told attribute by attribute: a finding with two attributes and one level
    cannot name its group and is refused, never told as the first attribute's group."""
    (out,) = harm_rule_outcomes([HarmCheckRule(id="r", harm_check="flips")], [_outcome(_ev())])
    (f,) = out.findings
    broken: Finding = replace(f, attributes=("g", "h"))
    with pytest.raises(ValueError, match="zip"):
        finding_sentence(broken)
