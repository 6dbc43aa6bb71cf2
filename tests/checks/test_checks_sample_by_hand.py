"""The harm checks' pieces a mutation sample found unpinned, on hand-made inputs, answers by hand.

Flips' levels, model outputs and sentence; the score-logit stand-in model; label choice's
numbers; the matcher's attention; missing papers' imputation and cost records; mobility's and
the rankings' refusals; proxies' strengths, gaps and sentences; the re-scoring helpers; the
published counts of flagged cases; steering's records, cases and sentence; the track indicator;
training eligibility; and the gate's harm_check findings. Every model is a stub or a logistic
regression with weights set by hand, so each score below is a number worked out on paper.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.checks import flips, label_choice, missing_papers, proxies, steering
from audit.checks.base import Attribute, CannotRun, CaseFlag, CheckContext, CheckOutcome, Evidence
from audit.checks.flips import FlipParams
from audit.checks.known_truth import ScoreLogit
from audit.checks.matching import candidate_attention
from audit.checks.missing_papers import MissingPapersParams
from audit.checks.mobility import MobilityParams, _reach
from audit.checks.proportions import RateGap
from audit.checks.proxies import ProxyParams
from audit.checks.ranked import _people_rows
from audit.checks.rescore import probabilities, rescore, score_index
from audit.checks.result import published_checks
from audit.checks.steering import SteeringParams
from audit.checks.tracks import track_indicator
from audit.checks.training import Eligibility, eligible_mask
from audit.harm_rules import finding_sentence, harm_rule_outcomes
from audit.spec import HarmCheckRule
from tests.checks.papers_and_traces import weighted_model
from tests.checks.stub_models import context, stub_model
from tests.formulas import wilson

LOG3 = math.log(3.0)  # sigmoid(0) = 1/2, sigmoid(log 3) = 3/4, sigmoid(-log 3) = 1/4


def _record(status: str, high: float | None, **details: Any) -> Evidence:
    return Evidence(
        attribute="mh",
        level="yes",
        reference="no",
        measure="flip_rate",
        estimate=0.002,
        ci_low=0.0,
        ci_high=high,
        p_value=None,
        p_adjusted=None,
        detectable=None,
        n=500,
        n_reference=500,
        status=status,  # type: ignore[arg-type]
        details=details,
    )


# --- flips --------------------------------------------------------------------------------


def test_a_to_level_not_in_the_data_is_refused_with_a_hint_only_when_one_is_close() -> None:
    """`to: yess` suggests 'yes'; `to: zzz` resembles no level and gets no hint at all."""
    labels = np.array(["no", "yes", "no"], dtype=object)
    with pytest.raises(CannotRun) as err:
        flips._targets(labels, "no", FlipParams(check="flips", attribute="mh", to="zzz"))
    assert str(err.value) == (
        "'to: zzz': expected a level of 'mh' among ['no', 'yes']; found none by that name. "
        "Fix: spell the level as the data does"
    )
    with pytest.raises(CannotRun) as err:
        flips._targets(labels, "no", FlipParams(check="flips", attribute="mh", to="yess"))
    assert "found none by that name (did you mean 'yes'?). Fix:" in str(err.value)


def test_people_move_to_the_other_level_the_to_level_or_the_reference() -> None:
    """Two levels swap; `to` moves everyone else to it; with three levels everyone outside the
    reference moves to it; "" marks who stays. One level alone cannot be changed."""
    two = np.array(["no", "yes", "no"], dtype=object)
    assert flips._targets(two, "no", FLIPS).tolist() == ["yes", "no", "yes"]
    three = np.array(["a", "b", "c", "b"], dtype=object)
    assert flips._targets(three, "b", FLIPS).tolist() == ["b", "", "b", ""]
    to_c = FlipParams(check="flips", attribute="mh", to="c")
    assert flips._targets(three, "b", to_c).tolist() == ["c", "c", "", "c"]
    with pytest.raises(CannotRun) as err:
        flips._targets(np.array(["a", "a"], dtype=object), "a", FLIPS)
    assert str(err.value) == (
        "attribute 'mh': expected at least two levels to move people between; found only "
        "['a']. Fix: audit data with more than one group"
    )


def test_a_model_that_fails_on_the_changed_people_is_reported_with_its_first_line() -> None:
    """The error's type and first line, then the fix, capitalised as every message's."""
    model = stub_model(error=ValueError("column 'mh' unknown\ntraceback detail"))
    people = pd.DataFrame({"mh": ["yes", "no"]})
    with pytest.raises(CannotRun) as err:
        flips._outputs(model, people, None, FlipParams(check="flips", attribute="mh"))
    assert str(err.value) == (
        "the model: expected it to score the people with 'mh' changed; found ValueError: "
        "column 'mh' unknown. Fix: check the model against the data (audit model check)"
    )


def test_a_banded_decision_is_being_in_an_examined_band() -> None:
    """Bands high >= 0.66 and low < 0.25 around medium: with `examined: [high, low]` the
    decision is true for the scores 0.1 and 0.9, false for 0.5; the score is class 1's."""
    p1 = np.array([0.1, 0.5, 0.9])
    model = stub_model(np.column_stack([1 - p1, p1]))
    rule = SimpleNamespace(
        bands={"high": 0.66, "low": 0.25}, examined=["high", "low"], threshold=None, label=None
    )
    out = flips._outputs(model, pd.DataFrame({"mh": [0, 1, 0]}), rule, FLIPS)
    assert out.decision is not None and out.decision.tolist() == [True, False, True]
    assert out.score.tolist() == [0.1, 0.5, 0.9] and out.track is None


FLIPS = FlipParams(check="flips", attribute="mh")


def test_no_flip_sentence_reads_the_reliable_groups_and_names_the_proxies_if_any() -> None:
    """The reach is the largest upper end among the groups compared (an unreliable group's
    0.5 is not one of them); the proxies are named only when the check changed some."""
    evidence = [_record("no_finding", 0.008), _record("unreliable", 0.5)]
    assert flips._sentence("no_finding", evidence, FLIPS, "track") == (
        "Changing only mh changes the model's track for at most 0.8% of any group compared: "
        "within the tolerated 1.0%."
    )
    with_proxies = FlipParams(check="flips", attribute="mh", proxies=["housing", "region"])
    assert flips._sentence("no_finding", evidence, with_proxies, "decision") == (
        "Changing only mh (also with its proxies housing, region) changes the model's decision "
        "for at most 0.8% of any group compared: within the tolerated 1.0%."
    )


# --- the score-logit model of the known-truth trials ----------------------------------------


def test_the_score_logit_model_reads_scores_of_exactly_0_and_1_as_near_certain() -> None:
    """Scores 0, 1/2 and 1 at x = 0, 1, 2: the logits of 1e-12, 1/2 and 1 - 1e-12 lie on a
    line, so the model gives back 1e-12, 1/2 and 1 - 1e-12 (never an infinite logit)."""
    x = np.array([[0.0], [1.0], [2.0]])
    model = ScoreLogit().fit(x, np.array([0.0, 0.5, 1.0]))
    proba = model.predict_proba(x)
    # 1 - 1e-12 carries float rounding (its logit is 27.631 rather than 27.631021...)
    assert proba[:, 1] == pytest.approx([1e-12, 0.5, 1 - 1e-12], abs=1e-5)
    assert np.isfinite(model.regression_.coef_).all() and proba[0, 1] < 1e-9
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert model.classes_.tolist() == [0, 1]


# --- label choice -------------------------------------------------------------------------


def test_a_label_gap_is_read_as_a_number_and_anything_else_as_undefined() -> None:
    """A record's number (int or float) is itself; text or nothing is NaN."""
    assert label_choice._number(0.015) == 0.015
    assert label_choice._number(-2) == -2.0 and isinstance(label_choice._number(-2), float)
    assert math.isnan(label_choice._number("0.015"))
    assert math.isnan(label_choice._number(None))


# --- a rate against its reference ---------------------------------------------------------


def test_a_rate_gap_has_newcombes_interval_and_none_without_people_on_either_side() -> None:
    """6 of 10 against 2 of 10: the difference 0.4 with Newcombe's hybrid interval built from
    the two Wilson intervals (z = 1.959964); an empty group or reference has no interval."""
    z = 1.959963984540054
    (l1, u1), (l2, u2) = wilson(6 / 10, 10, z), wilson(2 / 10, 10, z)
    expected = (
        0.4 - math.sqrt((0.6 - l1) ** 2 + (u2 - 0.2) ** 2),
        0.4 + math.sqrt((u1 - 0.6) ** 2 + (0.2 - l2) ** 2),
    )
    gap = RateGap(events=6, n=10, reference_events=2, n_reference=10)
    assert gap.difference == pytest.approx(0.4)
    assert gap.interval(0.05) == pytest.approx(expected, abs=1e-9)
    for empty in (RateGap(0, 0, 2, 10), RateGap(6, 10, 0, 0)):
        assert all(math.isnan(x) for x in empty.interval(0.05))


# --- matching -----------------------------------------------------------------------------


def test_attention_is_one_over_log2_of_one_plus_the_place_ties_sharing_the_better() -> None:
    """Vacancy A: scores 0.9, 0.5, 0.5 take places 1, 2, 2; vacancy B's only candidate place 1."""
    ranked = pd.DataFrame({"vacancy_id": ["A", "A", "A", "B"], "score": [0.9, 0.5, 0.5, 0.1]})
    assert candidate_attention(ranked) == pytest.approx(
        [1.0, 1 / math.log2(3), 1 / math.log2(3), 1.0]
    )


def test_attention_without_every_score_is_refused_counting_the_missing() -> None:
    ranked = pd.DataFrame({"vacancy_id": ["A", "A", "B"], "score": [0.9, None, "n/a"]})
    with pytest.raises(CannotRun) as err:
        candidate_attention(ranked)
    assert str(err.value) == (
        "expected the matcher's score of every recommendation, to rank each vacancy's "
        "candidates; found 2 missing. Fix: complete the score column, or leave exposure_ratio "
        "out of measures"
    )


# --- missing papers -----------------------------------------------------------------------


def _papers() -> pd.DataFrame:
    """40 people: 20 eigen (12 with a diploma), 12 dakloos (2), 8 huur (2); nobody has the
    `kaart` or the `pas` on file, so everyone misses some document."""
    housing = ["eigen"] * 20 + ["dakloos"] * 12 + ["huur"] * 8
    diploma = [1.0] * 12 + [0.0] * 8 + [1.0] * 2 + [0.0] * 10 + [1.0] * 2 + [0.0] * 6
    return pd.DataFrame(
        {"woon": housing, "diploma": diploma, "kaart": [0.0] * 40, "pas": ["nee"] * 40}
    )


PAPERS = MissingPapersParams(
    check="missing_papers",
    documents=["diploma", "kaart", "pas"],
    attributes=["woon"],
    factors=[],
    impute="on_file",
)


def test_imputing_as_on_file_costs_what_the_diploma_weighs_for_whoever_lacks_it() -> None:
    """The score is sigmoid(log 3 * diploma): 1/2 without, 3/4 with. Imputed as on file (though
    only 16 of 40 hold it), each of the 24 without gains 1/4: the 40 people missing something
    lose 24 * 0.25 / 40 = 0.15 on average, and their label turns from 0 (a tie of 1/2 reads
    the first class) to 1. Against huur (8 people, fewer than 10) no group is
    tested, while the overall comparison needs no reference size; the documents nobody holds
    are named in the note, in order."""
    people = _papers()
    model = weighted_model(people, {"diploma": LOG3}, 0.0)
    ctx = context(people, model, attributes=(Attribute("woon", "huur"),), min_group_size=10)
    outcome = missing_papers.run(PAPERS, ctx)
    assert outcome.notes[0] == (
        "missing documents imputed as on file; not imputed (no one has them on file): kaart, pas"
    )
    costs = {e.level: e for e in outcome.evidence if e.measure.startswith("score_loss")}
    overall = costs["some_missing"]
    assert (overall.n, overall.n_reference) == (40, 0)
    assert overall.estimate == pytest.approx(0.15)
    assert overall.p_adjusted is not None and overall.status != "unreliable"
    assert dict(overall.details) == pytest.approx(
        {"label_changed_share": 0.6, "score_before": 0.6, "score_after": 0.75}
    )
    eigen, dakloos = costs["eigen"], costs["dakloos"]
    for e in (eigen, dakloos):
        assert e.status == "unreliable" and e.p_value is None and e.p_adjusted is None
    # eigen: cost 8 * 0.25 / 20 = 0.1, huur 6 * 0.25 / 8 = 0.1875
    assert eigen.estimate == pytest.approx(0.1 - 0.1875)
    assert eigen.details["score_gap_observed"] == pytest.approx(0.65 - 0.5625)
    assert eigen.details["score_gap_imputed"] == pytest.approx(0.0)
    assert dakloos.details["score_gap_observed"] == pytest.approx(6.5 / 12 - 0.5625)
    assert dakloos.details["score_gap_imputed"] == pytest.approx(0.0)


def test_imputing_from_comparable_people_leaves_a_document_most_lack_missing() -> None:
    """By default a missing document becomes what most comparable people have: 24 of 40 lack
    the diploma, so nobody is given one and nobody's score changes."""
    people = _papers()
    model = weighted_model(people, {"diploma": LOG3}, 0.0)
    ctx = context(people, model, attributes=(Attribute("woon", "huur"),), min_group_size=10)
    comparable = PAPERS.model_copy(update={"impute": "comparable"})
    outcome = missing_papers.run(comparable, ctx)
    overall = next(e for e in outcome.evidence if e.measure == "score_loss")
    assert overall.estimate == 0.0
    assert outcome.notes[0].endswith("; not imputed (no one has them on file): kaart, pas")


def test_without_a_model_the_missing_papers_sentence_says_what_is_still_reported() -> None:
    people = _papers()
    ctx = context(people, None, attributes=(Attribute("woon", "huur"),), min_group_size=10)
    outcome = missing_papers.run(PAPERS, ctx)
    assert outcome.status == "not_evaluable"
    assert outcome.sentence == (
        "The score gap of missing documents needs the model to re-score people; who lacks "
        "documents and the error rates by missingness are reported."
    )


# --- mobility and the rankings ------------------------------------------------------------


def test_a_car_column_of_words_is_refused_with_its_values_and_the_fix() -> None:
    people = pd.DataFrame({"auto": ["ja", "nee", None], "halte": [0.5, 2.0, 1.0]})
    params = MobilityParams(check="mobility", reach_by_transport=True, car="auto", transit="halte")
    with pytest.raises(CannotRun) as err:
        _reach(params, context(people))
    assert str(err.value) == (
        "car column 'auto': expected true/false (or 0/1) for having a car; found values such as "
        "['ja', 'nee']. Fix: recode the column to true/false"
    )


def test_rankings_without_person_ids_are_refused_with_the_fix() -> None:
    with pytest.raises(CannotRun) as err:
        _people_rows(context(pd.DataFrame({"x": [1]})), pd.DataFrame({"vacancy_id": ["V"]}))
    assert str(err.value) == (
        "expected a person_id column in both the people and the rankings, to join them; "
        "found none. Fix: name the id column (data.rankings.id_column)"
    )


# --- proxies ------------------------------------------------------------------------------


def _traces() -> pd.DataFrame:
    """20 people, 10 of low literacy: the low have no online CV (0), the high have one (1);
    8 of the low and 2 of the high came to the desk (`kanaal`), the rest used the web."""
    low = [True] * 10 + [False] * 10
    channel = ["balie"] * 8 + ["web"] * 2 + ["balie"] * 2 + ["web"] * 8
    return pd.DataFrame(
        {
            "lit": np.where(low, "low", "high"),
            "cv": np.where(low, 0.0, 1.0),
            "kanaal": channel,
        }
    )


def _proxy_ctx(model: Any = None) -> CheckContext:
    return context(_traces(), model, attributes=(Attribute("lit", "high"),), min_group_size=5)


def test_a_category_trace_predicts_the_group_by_the_groups_share_of_each_value() -> None:
    """The desk holds 8 low of 10, the web 2 of 10: scores 0.8 and 0.2, and of the 100 pairs
    (low, high) 64 are ordered right and 32 tied, an AUC of (64 + 16) / 100 = 0.8. The numeric
    CV is its own score: every low person below every high one, AUC 0."""
    params = ProxyParams(check="digital_proxies", features=["kanaal", "cv"], attributes=["lit"])
    ctx = _proxy_ctx()
    records = proxies._strengths(params, ctx, proxies._groups(params, ctx), {"cv": 0.25})
    by_feature = {e.details["feature"]: e for e in records}
    assert by_feature["kanaal"].estimate == pytest.approx(0.8)
    assert by_feature["cv"].estimate == pytest.approx(0.0)
    assert by_feature["kanaal"].details["score_weight"] is None
    assert by_feature["cv"].details["score_weight"] == 0.25
    assert {(e.n, e.n_reference) for e in records} == {(10, 10)}


def test_neutralising_a_trace_the_score_reads_closes_the_gap_it_made() -> None:
    """Score sigmoid(2 log 3 * cv - log 3): 1/4 for the low, 3/4 for the high. The neutral CV
    is the median 0.5, scoring everyone 1/2: the gap of -0.5 becomes 0, the low gain 1/4 and
    the high lose 1/4, a narrowing of 0.5, all of the gap."""
    people = _traces()
    model = weighted_model(people, {"cv": 2 * LOG3}, -LOG3)
    params = ProxyParams(
        check="digital_proxies", features=["cv"], attributes=["lit"], reconstruct=False
    )
    outcome = proxies.run(params, _proxy_ctx(model))
    gap = next(e for e in outcome.evidence if e.measure == "score_gap_from_traces")
    assert gap.estimate == pytest.approx(0.5)
    assert dict(gap.details) == pytest.approx(
        {"score_gap": -0.5, "score_gap_neutralised": 0.0, "share_of_gap": 1.0}
    )
    assert (gap.n, gap.n_reference) == (10, 10)


def test_the_proxies_sentence_without_a_gap_share_or_without_a_model() -> None:
    """A finding without a share of gap says none; without a model the sentence says the
    re-scoring needs it and what is reported instead."""
    found = Evidence(
        attribute="lit",
        level="low",
        reference="high",
        measure="score_gap_from_traces",
        estimate=0.1,
        ci_low=0.05,
        ci_high=0.15,
        p_value=0.01,
        p_adjusted=0.01,
        detectable=None,
        n=50,
        n_reference=50,
        status="finding",
        details={"share_of_gap": 0.25},
    )
    params = ProxyParams(check="digital_proxies", features=["cv"], attributes=["lit"])
    ctx = _proxy_ctx()
    assert "(interval 0.050–0.150, corrected p = 0.01, 25% of its gap); 1 group(s)" in (
        proxies._sentence("finding", [found], params, ctx)
    )
    shareless = Evidence(**{**found.__dict__, "details": {"share_of_gap": None}})
    assert "corrected p = 0.01); 1 group(s) in all." in (
        proxies._sentence("finding", [shareless], params, ctx)
    )
    assert proxies._sentence("not_evaluable", [], params, ctx) == (
        "The score gap of the digital traces needs the model to re-score people; how strongly "
        "the traces predict each group is reported."
    )


# --- re-scoring ---------------------------------------------------------------------------


def test_an_unknown_score_class_is_refused_with_the_models_classes() -> None:
    with pytest.raises(CannotRun) as err:
        score_index(stub_model(), "yes")
    assert str(err.value) == (
        "score_class 'yes': expected one of the model's classes ['0', '1']; found none by that "
        "name. Fix: spell the class as the model does"
    )
    assert score_index(stub_model(), "0") == 0 and score_index(stub_model(), None) == 1


def test_a_model_failing_without_a_message_is_reported_by_its_type() -> None:
    with pytest.raises(CannotRun) as err:
        probabilities(stub_model(error=RuntimeError()), pd.DataFrame({"x": [1]}))
    assert str(err.value) == (
        "model 'stub.skops': expected it to score the audited people with changed inputs; "
        "found RuntimeError: . Fix: check the model against the data with "
        "`audit model check stub.skops --data FILE`"
    )


def test_rescoring_keeps_each_persons_score_and_label_before_and_after() -> None:
    """Person by person: class 1's probability, and the class of highest probability; only
    the second person's label changes (0.4 -> 0.7)."""
    people = pd.DataFrame({"x": [0.0, 0.0, 0.0]})
    changed = pd.DataFrame({"x": [1.0, 1.0, 1.0]})
    model = stub_model(
        lambda p: (
            [[0.8, 0.2], [0.6, 0.4], [0.1, 0.9]]
            if p["x"].iloc[0] == 0
            else [[0.7, 0.3], [0.3, 0.7], [0.05, 0.95]]
        )
    )
    scores = rescore(model, people, changed, 1)
    assert scores.before.tolist() == [0.2, 0.4, 0.9]
    assert scores.after.tolist() == [0.3, 0.7, 0.95]
    assert scores.label_before.tolist() == [0, 0, 1]
    assert scores.label_after.tolist() == [0, 1, 1]
    assert scores.label_changed.tolist() == [False, True, False]


# --- the published outcome ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cases", "flagged", "fewer_than"), [(0, 0, None), (2, None, 3), (3, 3, None), (4, 4, None)]
)
def test_the_count_of_flagged_cases_is_published_only_from_the_cell_size(
    cases: int, flagged: int | None, fewer_than: int | None
) -> None:
    """With a minimum cell of 3: none is 0; 1 or 2 reads "fewer than 3"; 3 or more is shown."""
    outcome = CheckOutcome(
        code="H1",
        name="steering",
        check_id="steering",
        status="finding",
        sentence="",
        needs=(),
        cases=tuple(CaseFlag(row=i, reason="R", score=0.0, evidence={}) for i in range(cases)),
    )
    (published,) = published_checks([outcome], 3)
    assert published["flagged"] == flagged
    assert published["flagged_fewer_than"] == fewer_than


# --- steering -----------------------------------------------------------------------------


def _sent(levels: list[str], sent: list[bool]) -> CheckContext:
    tracks = pd.Categorical(np.where(sent, "atelier", "emploi"), categories=["atelier", "emploi"])
    people = pd.DataFrame({"g": levels})
    return context(
        people,
        None,
        table=pd.DataFrame({"_track": tracks}, index=people.index),
        attributes=(Attribute("g", "b"),),
    )


STEER = SteeringParams(check="steering", track="atelier", factors=[])


def test_steering_without_factors_is_the_raw_odds_ratio_and_says_the_factors_explain_none() -> None:
    """a: 60 of 80 sent (odds 3), b: 20 of 80 (odds 1/3): an odds ratio of 9, far above 1.25.
    With one stratum the adjusted difference is the raw one, 0.5, so none of it is explained."""
    ctx = _sent(["a"] * 80 + ["b"] * 80, [True] * 60 + [False] * 20 + [True] * 20 + [False] * 60)
    outcome = steering.run(STEER, ctx)
    (e,) = outcome.evidence
    assert e.measure == "adjusted_odds_ratio" and e.estimate == pytest.approx(9.0)
    assert e.status == "finding" and outcome.status == "finding" and outcome.reason is None
    assert dict(e.details) == pytest.approx(
        {
            "raw_odds_ratio": 9.0,
            "rate": 0.75,
            "reference_rate": 0.25,
            "adjusted_difference": 0.5,
            "share_explained": 0.0,
            "coverage": 1.0,
            "strata": 1,
        }
    )
    assert "; the factors explain 0% of the raw gap; 1 group(s) in all." in outcome.sentence
    assert outcome.sentence.startswith(
        "Steering toward 'atelier': g=a are sent there with 9.00 times the odds of g=b among "
        "people without legitimate factors to compare on"
    )


def test_steering_with_too_few_people_says_why_and_only_then() -> None:
    """10 people a group, under the 30 needed: not evaluable, and the reason says so."""
    ctx = _sent(["a"] * 10 + ["b"] * 10, [True, False] * 10)
    outcome = steering.run(STEER, ctx)
    assert outcome.status == "not_evaluable"
    assert outcome.reason == "no group large enough to compare"


def test_a_steering_finding_without_a_share_explained_leaves_it_out() -> None:
    worst = Evidence(
        attribute="g",
        level="a",
        reference="b",
        measure="adjusted_odds_ratio",
        estimate=2.0,
        ci_low=1.5,
        ci_high=2.5,
        p_value=0.001,
        p_adjusted=0.002,
        detectable=None,
        n=80,
        n_reference=80,
        status="finding",
        details={"share_explained": None},
    )
    assert steering._sentence("finding", [worst], STEER, ["capacity"]) == (
        "Steering toward 'atelier': g=a are sent there with 2.00 times the odds of g=b among "
        "people alike in capacity (interval 1.50–2.50, corrected p = 0.002); 1 group(s) in all."
    )


def test_steering_cases_carry_the_tracks_share_among_people_alike() -> None:
    """Stratum 0 (5 people, 1 sent: share 0.2) and stratum 1 (4 people, all sent): with
    `case_below: 0.25` only the one sent in stratum 0 is flagged, with the share rounded."""
    sent = np.array([True, False, False, False, False, True, True, True, True])
    strata = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    read = pd.DataFrame({"capacity": [1] * 5 + [4] * 4})
    params = SteeringParams(check="steering", track="atelier", cases=True, case_below=0.25)
    (flag,) = steering._cases(sent, strata, read, params)
    assert flag.row == 0 and flag.score == pytest.approx(0.2)
    assert dict(flag.evidence) == {
        "track": "atelier",
        "track_share_among_comparable": 0.2,
        "comparable_people": 5,
        "factor.capacity": "1",
    }


def test_an_unknown_track_is_refused_without_a_hint_when_none_is_close() -> None:
    """No hint when no track resembles the name; a close one is suggested; an audit without
    tracks at all says so."""
    table = pd.DataFrame({"_track": pd.Categorical(["emploi", "soins"])})
    with pytest.raises(CannotRun) as err:
        track_indicator(table, "xyz")
    assert str(err.value) == (
        "track 'xyz': expected one of the model's tracks ['emploi', 'soins']; found none by that "
        "name. Fix: spell the track as the model does"
    )
    assert track_indicator(table, "soins").tolist() == [False, True]
    with pytest.raises(CannotRun) as err:
        track_indicator(table, "soin")
    assert "found none by that name (did you mean 'soins'?). Fix:" in str(err.value)
    with pytest.raises(CannotRun) as err:
        track_indicator(pd.DataFrame({"_decision": [1, 0]}), "soins")
    assert str(err.value).startswith(
        "track 'soins': expected a model or decisions file with tracks; found decisions "
        "without a track."
    )


# --- training eligibility -----------------------------------------------------------------


def test_a_missing_value_of_a_nullable_boolean_column_is_not_eligible() -> None:
    """True is eligible; False and a missing value are not (and the missing one is noted)."""
    people = pd.DataFrame({"ok": pd.array([True, None, False], dtype="boolean")})
    mask, notes = eligible_mask(people, Eligibility(column="ok"))
    assert mask.tolist() == [True, False, False]
    assert notes == ["1 people without a value of 'ok' count as not eligible"]


# --- the gate's harm_check findings -------------------------------------------------------


def _flip_outcome(low: float, high: float, status: str) -> CheckOutcome:
    e = Evidence(
        attribute="mh",
        level="True",
        reference="False",
        measure="flip_rate",
        estimate=(low + high) / 2,
        ci_low=low,
        ci_high=high,
        p_value=0.001,
        p_adjusted=0.001,
        detectable=None,
        n=100,
        n_reference=100,
        status=status,  # type: ignore[arg-type]
    )
    return CheckOutcome(
        code="CF",
        name="flips",
        check_id="flips",
        status=status,  # type: ignore[arg-type]
        sentence="",
        needs=(),
        evidence=(e,),
        margin=0.01,
    )


def test_a_bounded_rules_finding_places_the_interval_beyond_the_bound() -> None:
    """A rule with its own bound reads the whole interval against it: the finding carries the
    bound and says the interval lies beyond it. A rule without one reads the check's verdict:
    its finding carries the check's margin and no position."""
    bounded = HarmCheckRule(id="r", harm_check="flips", max=0.25)
    (outcome,) = harm_rule_outcomes([bounded], [_flip_outcome(0.375, 0.5, "finding")])
    (finding,) = outcome.findings
    assert finding.code == "HARM_FOUND" and finding.bound == 0.25
    assert finding.position == "interval_beyond"
    assert finding.sentence == (
        "mh=True vs False: flip rate 0.438 (interval 0.375 to 0.5): the interval lies beyond "
        "the bound 0.25."
    )
    plain = HarmCheckRule(id="r", harm_check="flips")
    (outcome,) = harm_rule_outcomes([plain], [_flip_outcome(0.375, 0.5, "finding")])
    (finding,) = outcome.findings
    assert finding.code == "HARM_FOUND" and finding.bound == 0.01 and finding.position is None
    assert finding.sentence == (
        "mh=True vs False: flip rate 0.438 (interval 0.375 to 0.5): a significant harm after "
        "correction (p = 0.001)."
    )


def test_a_significant_harm_whose_p_value_is_withheld_still_has_a_sentence() -> None:
    """The published verdict withholds a small group's figures, its corrected p-value too: the
    sentence then says so instead of failing to format a missing number."""
    plain = HarmCheckRule(id="r", harm_check="flips")
    (outcome,) = harm_rule_outcomes([plain], [_flip_outcome(0.375, 0.5, "finding")])
    (finding,) = outcome.findings
    withheld = replace(finding, p_adjusted=None, value=None, ci_low=None, ci_high=None)
    assert finding_sentence(withheld) == (
        "mh=True vs False: flip rate withheld or undefined: a significant harm after "
        "correction (p = withheld)."
    )
