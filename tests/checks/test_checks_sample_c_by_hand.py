"""The harm checks' pieces a third mutation sample (session 13) found unpinned, on hand-made inputs.

DeLong's AUC and its standard error, and the AUC without both classes; the learnt PES score
model recovering the score; the training label's messages in the label-choice check; the
matcher's columns; the missing-papers check's whole outcome on eight people; the mobility
check's whole outcome on seven; the rankings' refusal and rows; the published outcome's keys;
the proxies' reference and its hint; the steering sentence; the training cases. Every expected
value is worked out by hand (means and variances by counting, the normal distribution's
quantiles and tail from scipy), never read off the code's own output.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from audit.checks import (
    label_choice,
    matching,
    missing_papers,
    mobility,
    proxies,
    steering,
    training,
)
from audit.checks.auc import Auc, auc_with_se
from audit.checks.base import Attribute, CannotRun, CaseFlag, CheckOutcome, Evidence
from audit.checks.label_choice import LabelChoiceParams
from audit.checks.matching import MatchingParams
from audit.checks.missing_papers import MissingPapersParams
from audit.checks.mobility import MobilityParams
from audit.checks.proxies import ProxyParams
from audit.checks.ranked import ranked_rows
from audit.checks.result import published_checks
from audit.checks.steering import SteeringParams
from audit.checks.training import Eligibility, TrainingParams
from tests.checks.stub_models import context, stub_model

Z = norm.ppf(0.975)  # the two-sided 95% quantile


def _p(estimate: float, se: float) -> float:
    """Two-sided normal p-value of estimate / se."""
    return float(2 * norm.sf(abs(estimate) / se))


def _detectable(se: float, tests: int) -> float:
    """(z_{1 - 0.05 / 2m} + z_0.8) * se: the smallest effect the corrected test finds at 80%."""
    return float((norm.ppf(1 - 0.05 / (2 * tests)) + norm.ppf(0.8)) * se)


# --- the AUC ------------------------------------------------------------------------------


def test_the_auc_and_delongs_standard_error_from_the_placements() -> None:
    """Positives scored 3 and 1, negatives 2 and 0: the positives beat 2 of 2 and 1 of 2
    negatives (placements 1, 1/2), the negatives are beaten by 1 of 2 and 2 of 2 positives
    (1/2, 1). AUC 3/4 (as scikit-learn's); variance var(1, 1/2)/2 + var(1/2, 1)/2 = 1/8."""
    got = auc_with_se([True, True, False, False], [3.0, 1.0, 2.0, 0.0])
    assert got.auc == pytest.approx(roc_auc_score([1, 1, 0, 0], [3, 1, 2, 0]))
    assert got == Auc(pytest.approx(0.75), pytest.approx(math.sqrt(1 / 8)), 2, 2)


def test_ties_count_half_in_the_auc_and_its_standard_error() -> None:
    """Positives both 1, negatives 1 and 0: each positive beats one negative and ties the other
    (placement 3/4, no spread); the negative at 1 ties both positives (1/2), the one at 0 is
    beaten by both (1). AUC 3/4; variance 0 + var(1/2, 1)/2 = 1/16, so se 1/4."""
    got = auc_with_se(np.array([True, True, False, False]), np.array([1, 1, 1, 0]))
    assert got.auc == pytest.approx(roc_auc_score([1, 1, 0, 0], [1, 1, 1, 0]))
    assert got == Auc(pytest.approx(0.75), pytest.approx(0.25), 2, 2)


def test_a_single_person_of_a_class_gives_the_auc_without_a_standard_error() -> None:
    """One positive (scored 2) against 0, 1, 3: it beats 2 of 3; one placement has no
    variance, so the standard error is NaN while the AUC is 2/3."""
    got = auc_with_se([True, False, False, False], [2.0, 0.0, 1.0, 3.0])
    assert got.auc == pytest.approx(2 / 3)
    assert math.isnan(got.se) and (got.positives, got.negatives) == (1, 3)
    # The same with one negative.
    got = auc_with_se([True, True, True, False], [2.0, 0.0, 1.0, 3.0])
    assert got.auc == pytest.approx(0.0)
    assert math.isnan(got.se) and (got.positives, got.negatives) == (3, 1)


@pytest.mark.parametrize("positive", [[True, True, True], [False, False, False]])
def test_without_both_classes_the_auc_and_its_error_are_nan_with_the_counts(
    positive: list[bool],
) -> None:
    """No negative (or no positive): no AUC, no standard error, and the counts as they are."""
    got = auc_with_se(positive, [0.1, 0.5, 0.9])
    assert isinstance(got, Auc)
    assert math.isnan(got.auc) and math.isnan(got.se)
    assert (got.positives, got.negatives) == (sum(positive), 3 - sum(positive))


# --- the learnt PES score (known-truth trials) --------------------------------------------


@pytest.mark.parametrize("scenario", ["h4_digital_proxy", "no_bias"])
def test_the_learnt_pes_score_model_gives_back_the_score_person_by_person(scenario: str) -> None:
    """The score's logit is linear in logit(capacity), the documents, the traces and
    log(1 + logins): the regression recovers it to rounding, here within 1e-6 for everyone
    (the H4 trials' model must carry the injected trace weight and nothing else)."""
    from audit.checks.known_truth import pes_score_model
    from audit.data import generate_population

    people = generate_population(800, scenario=scenario, seed=7).people
    model = pes_score_model(people)
    proba = model.predict_proba(people)
    assert proba.shape == (800, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], people["pes_score"].to_numpy(), atol=1e-6, rtol=0)


# --- label choice: the training label -----------------------------------------------------


def _label_choice_ctx(outcome: list[Any]) -> Any:
    people = pd.DataFrame({"g": ["a", "b"] * 2, "sustainable_12m": [1, 0, 1, 0]})
    table = pd.DataFrame({"_score": [0.9, 0.1, 0.8, 0.2], "_outcome": outcome})
    return context(people, None, table=table, attributes=(Attribute("g", "a"),))


def test_a_training_label_with_a_missing_value_is_refused_naming_it_as_the_training_label() -> None:
    ctx = _label_choice_ctx([1, None, 0, 1])
    with pytest.raises(CannotRun) as err:
        label_choice.run(LabelChoiceParams(check="label_choice"), ctx)
    assert str(err.value) == (
        "the training label '_outcome': expected it observed for everyone; found 1 missing "
        "value(s). Fix: audit the people whose outcome is known (drop the others from the data)"
    )


def test_a_training_label_coded_in_words_is_refused_naming_the_training_label_column() -> None:
    ctx = _label_choice_ctx(["ja", "nee", "misschien", "ja"])
    with pytest.raises(CannotRun) as err:
        label_choice.run(LabelChoiceParams(check="label_choice"), ctx)
    message = str(err.value)
    assert message.startswith("training label column '_outcome': expected ")
    assert message.endswith("Fix: name the value of sustained work (sustainable_positive)")


def test_without_an_outcome_the_label_choice_check_asks_for_the_training_label() -> None:
    people = pd.DataFrame({"g": ["a", "b"], "sustainable_12m": [1, 0]})
    ctx = context(people, None, table=pd.DataFrame({"_score": [0.9, 0.1]}))
    with pytest.raises(CannotRun, match=r"found no outcome\. Fix: name it in the spec"):
        label_choice.run(LabelChoiceParams(check="label_choice"), ctx)


# --- under-matching: the columns it reads ---------------------------------------------------


def test_the_matcher_reads_its_own_factors_else_the_specs_and_none_for_an_empty_list() -> None:
    people = pd.DataFrame({"g": [1], "h": [1], "edu": [1], "track": [1]})
    ctx = context(people, attributes=(Attribute("g", None),), factors=("track",))
    own = MatchingParams(check="undermatching", factors=["edu", "g"])
    assert matching.needs(own, ctx) == ["g", "edu"]
    assert matching.needs(MatchingParams(check="undermatching"), ctx) == ["g", "track"]
    assert matching.needs(MatchingParams(check="undermatching", factors=[]), ctx) == ["g"]
    asked = MatchingParams(check="undermatching", attributes=["h"], factors=["edu"])
    assert matching.needs(asked, ctx) == ["h", "edu"]


# --- missing papers: the whole outcome on eight people -----------------------------------

# Group a (rows 0-3) and its reference b (rows 4-7). The model's score is
# 0.25 + diploma * (0.2 + 0.1 w): a diploma is worth 0.2, 0.3 or 0.4 by w.
#   row  g  diploma w  before after cost  label before/after   _outcome _score decided
#   0    a  no      0  .25    .45   .2    0 / 0                1        .2     no
#   1    a  no      2  .25    .65   .4    0 / 1 (changed)      0        .7     yes
#   2    a  yes     1  .55    .55   0     1 / 1                1        .9     yes
#   3    a  yes     0  .45    .45   0     0 / 0                0        .5     yes (at 0.5)
#   4    b  no      0  .25    .45   .2    0 / 0                1        .6     yes
#   5    b  yes     0  .45    .45   0     0 / 0                1        .55    yes
#   6    b  yes     1  .55    .55   0     1 / 1                0        .8     yes
#   7    b  yes     2  .65    .65   0     1 / 1                0        .4     no
PAPERS = pd.DataFrame(
    {
        "g": ["a"] * 4 + ["b"] * 4,
        "diploma": [False, False, True, True, False, True, True, True],
        "w": [0, 2, 1, 0, 0, 0, 1, 2],
    }
)
PAPERS_TABLE = pd.DataFrame(
    {
        "_outcome": [1, 0, 1, 0, 1, 1, 0, 0],
        "_score": [0.2, 0.7, 0.9, 0.5, 0.6, 0.55, 0.8, 0.4],
    }
)


def _diploma_model() -> Any:
    def proba(people: pd.DataFrame) -> np.ndarray:
        d = people["diploma"].to_numpy(dtype=np.float64)
        p = 0.25 + d * (0.2 + 0.1 * people["w"].to_numpy(dtype=np.float64))
        return np.column_stack([1 - p, p])

    return stub_model(proba)


def _papers(model: Any, table: pd.DataFrame = PAPERS_TABLE) -> CheckOutcome:
    ctx = context(PAPERS, model, table=table, attributes=(Attribute("g", "b"),), min_group_size=3)
    params = MissingPapersParams(check="missing_papers", documents=["diploma"], impute="on_file")
    return missing_papers.run(params, ctx)


def _approx(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields, their floats compared to 1e-9."""
    return {k: pytest.approx(v, abs=1e-9) if isinstance(v, float) else v for k, v in fields.items()}


def _record(**fields: Any) -> dict[str, Any]:
    """An evidence record as `asdict` gives it, its floats compared to 1e-9."""
    return _approx(fields)


def test_missing_papers_whole_outcome_with_the_model_on_eight_people() -> None:
    """The cost of the missing diploma for the three people missing it (0.2, 0.4, 0.2: mean
    0.2667, se 0.0667, z = 4: a finding), the gap between a's mean cost (0.15) and b's (0.05)
    with its Welch error, who lacks the diploma, and the error rates of `score >= 0.5` for the
    people missing it against the others, each with every figure and detail."""
    outcome = _papers(_diploma_model())
    overall_se = math.sqrt(((0.2 - 0.8 / 3) ** 2 * 2 + (0.4 - 0.8 / 3) ** 2) / 2 / 3)
    assert overall_se == pytest.approx(1 / 15)
    gap_se = math.sqrt(0.11 / 3 / 4 + 0.03 / 3 / 4)
    p_overall, p_gap = _p(0.8 / 3, overall_se), _p(0.1, gap_se)
    q_overall, q_gap = 2 * p_overall, max(2 * p_overall, p_gap)  # Holm over the two
    missing_se = math.sqrt(0.5 * 0.5 / 4 + 0.25 * 0.75 / 4)
    fnr_se, fpr_se = math.sqrt(0.5 * 0.5 / 2), math.sqrt((2 / 3) * (1 / 3) / 3)
    expected = [
        _record(
            attribute="missing_documents", level="some_missing", reference="none_missing",
            measure="score_loss", estimate=0.8 / 3, ci_low=0.8 / 3 - Z * overall_se,
            ci_high=0.8 / 3 + Z * overall_se, p_value=p_overall, p_adjusted=q_overall,
            detectable=_detectable(overall_se, 2), n=3, n_reference=5, status="finding",
            details=_approx(
                {"label_changed_share": 1 / 3, "score_before": 0.25, "score_after": 1.55 / 3}
            ),
        ),
        _record(
            attribute="g", level="a", reference="b", measure="score_loss_gap", estimate=0.1,
            ci_low=0.1 - Z * gap_se, ci_high=0.1 + Z * gap_se, p_value=p_gap, p_adjusted=q_gap,
            detectable=_detectable(gap_se, 2), n=4, n_reference=4, status="inconclusive",
            details=_approx(
                {
                    "missing_share": 0.5,
                    "reference_missing_share": 0.25,
                    "loss_when_missing": 0.3,
                    "label_changed_share": 0.25,
                    "reference_label_changed_share": 0.0,
                    "score_gap_observed": 0.375 - 0.475,
                    "score_gap_imputed": 0.0,
                }
            ),
        ),
        *(
            _record(
                attribute="g", level="a", reference="b",
                measure=f"missing_rate_difference.{name}", estimate=0.25,
                ci_low=0.25 - Z * missing_se, ci_high=0.25 + Z * missing_se, p_value=None,
                p_adjusted=None, detectable=None, n=4, n_reference=4, status="descriptive",
                details=_approx({"document": name, "rate": 0.5, "reference_rate": 0.25}),
            )
            for name in ("diploma", "any_document")
        ),
        # FNR: missing 1 of 2 (row 0 of rows 0, 4) against 0 of 2 (rows 2, 5).
        _record(
            attribute="missing_documents", level="some_missing", reference="none_missing",
            measure="fnr_difference", estimate=0.5, ci_low=0.5 - Z * fnr_se,
            ci_high=0.5 + Z * fnr_se, p_value=None, p_adjusted=None, detectable=None, n=2,
            n_reference=2, status="unreliable",
            details=_approx({"rate": 0.5, "reference_rate": 0.0, "decision": "score >= 0.5"}),
        ),
        # FPR: missing 1 of 1 (row 1) against 2 of 3 (rows 3 at exactly 0.5, and 6; not 7).
        _record(
            attribute="missing_documents", level="some_missing", reference="none_missing",
            measure="fpr_difference", estimate=1 / 3, ci_low=1 / 3 - Z * fpr_se,
            ci_high=1 / 3 + Z * fpr_se, p_value=None, p_adjusted=None, detectable=None, n=1,
            n_reference=3, status="unreliable",
            details=_approx({"rate": 1.0, "reference_rate": 2 / 3, "decision": "score >= 0.5"}),
        ),
    ]  # fmt: skip
    assert [asdict(e) for e in outcome.evidence] == expected
    low, high = 0.8 / 3 - Z * overall_se, 0.8 / 3 + Z * overall_se
    assert (outcome.code, outcome.name, outcome.status) == ("H3", "missing_papers", "finding")
    assert outcome.sentence == (
        "Missing documents lower the score: people missing any document lose "
        f"{0.8 / 3:.3f} of it on average when their documents are imputed (interval "
        f"{low:.3f}–{high:.3f}, corrected p = {q_overall:.2g}); 1 comparison(s) in all."
    )
    assert outcome.needs == ("diploma", "g")
    assert outcome.margin == 0.02 and outcome.reason is None and outcome.cases == ()
    assert outcome.notes == ("missing documents imputed as on file",)


def test_missing_papers_error_rates_read_the_decision_where_there_is_one() -> None:
    """With a decision column the rates are of the decision (here its opposite of the score's
    reading for row 3), and the records say so; without the model the cost is not measured."""
    table = PAPERS_TABLE.assign(_decision=[0, 1, 1, 0, 1, 1, 1, 0])
    outcome = _papers(None, table)
    rates = {e.measure: e for e in outcome.evidence if e.measure.endswith("_difference")}
    fpr = rates["fpr_difference"]
    # FPR among people without work: missing 1 of 1, the others 1 of 3 (row 6 only).
    assert (fpr.estimate, fpr.n, fpr.n_reference) == (pytest.approx(2 / 3), 1, 3)
    assert dict(fpr.details) == _approx(
        {"rate": 1.0, "reference_rate": 1 / 3, "decision": "decision"}
    )
    assert not any(e.measure.startswith("score_loss") for e in outcome.evidence)
    assert outcome.status == "not_evaluable"
    assert outcome.reason == (
        "the score gap of missing documents needs the model (a file of decisions cannot be "
        "re-scored)"
    )


# --- mobility: the whole outcome on seven people -----------------------------------------

# Rows 0-2 group a, 3-5 the reference b, row 6 (a) has no recommendation. Each person's two
# best jobs (km); the third ranked job of row 0 (100 km) is beyond top_k = 2. Reach 10 km:
# a job at exactly 10 km is within reach.
#   row  km          mean  beyond 10
#   0    4, 12       8     1/2
#   1    6, 10       8     0
#   2    14, 16      15    1
#   3    2, 4        3     0
#   4    5, 7        6     0
#   5    11, 3       7     1/2
MOBILITY_RANKS = pd.DataFrame(
    {
        "_row": [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
        "rank": [1, 2, 3, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
        "distance_km": [4, 12, 100, 6, 10, 14, 16, 2, 4, 5, 7, 11, 3],
    }
)


def test_mobility_whole_outcome_with_one_person_unranked() -> None:
    """a's means (8, 8, 15) against b's (3, 6, 7): 5 km farther, Welch se sqrt(49/9 + 13/9);
    shares beyond reach (1/2, 0, 1) against (0, 0, 1/2): 1/3 more, se 1/3. Neither significant
    after Holm, both intervals beyond their margins: inconclusive. The person without any
    recommendation is said so and not compared."""
    people = pd.DataFrame({"g": ["a", "a", "a", "b", "b", "b", "a"]})
    ctx = context(
        people, attributes=(Attribute("g", "b"),), rankings=MOBILITY_RANKS, min_group_size=2
    )
    outcome = mobility.run(MobilityParams(check="mobility", top_k=2, factors=[]), ctx)
    km_se = math.sqrt((98 / 3) / 2 / 3 + (26 / 3) / 2 / 3)  # squares 98/3 and 26/3
    share_se = math.sqrt(0.25 / 3 + (1 / 12) / 3)
    assert share_se == pytest.approx(1 / 3)
    p_km, p_share = _p(5.0, km_se), _p(1 / 3, share_se)
    q_km, q_share = 2 * p_km, max(2 * p_km, p_share)  # p_km is the smaller

    def record(measure: str, est: float, se: float, p: float, q: float, means: Any) -> Any:
        return _record(
            attribute="g", level="a", reference="b", measure=measure, estimate=est,
            ci_low=est - Z * se, ci_high=est + Z * se, p_value=p, p_adjusted=q,
            detectable=_detectable(se, 2), n=3, n_reference=3, status="inconclusive",
            details=_approx(
                {"group_mean": means[0], "reference_mean": means[1], "coverage": 1.0, "strata": 1}
            ),
        )  # fmt: skip

    assert [asdict(e) for e in outcome.evidence] == [
        record("mean_distance_km", 5.0, km_se, p_km, q_km, (31 / 3, 16 / 3)),
        record("share_beyond_reach", 1 / 3, share_se, p_share, q_share, (1 / 2, 1 / 6)),
    ]
    assert (outcome.code, outcome.name, outcome.status) == ("H6", "mobility", "inconclusive")
    assert outcome.sentence == (
        "Mobility cannot be ruled out for 2 comparison(s): their intervals reach beyond the "
        "margin without a significant gap."
    )
    assert outcome.notes == ("1 audited people have no recommendation and are not compared",)
    assert outcome.needs == ("g",) and outcome.margin == 2.0 and outcome.reason is None


def test_mobility_notes_nobody_unranked_when_everyone_has_recommendations() -> None:
    people = pd.DataFrame({"g": ["a", "a", "a", "b", "b", "b"]})
    ctx = context(
        people, attributes=(Attribute("g", "b"),), rankings=MOBILITY_RANKS, min_group_size=2
    )
    outcome = mobility.run(MobilityParams(check="mobility", top_k=2, factors=[]), ctx)
    assert outcome.notes == ()
    assert [e.n for e in outcome.evidence] == [3, 3]


# --- the rankings' rows -------------------------------------------------------------------


def test_rankings_that_name_no_audited_person_are_refused_pointing_to_the_id_column() -> None:
    people = pd.DataFrame({"person_id": ["p1", "p2"]})
    rankings = pd.DataFrame({"person_id": ["x1", "x2"], "rank": [1, 1], "distance_km": [1, 2]})
    ctx = context(people, rankings=rankings)
    with pytest.raises(CannotRun) as err:
        ranked_rows(ctx, ["distance_km"], 3)
    assert str(err.value) == (
        "expected recommendations of rank 1..3 for the audited people; found none (no ranking "
        "names an audited person). Fix: check that the rankings' person ids are those of the "
        "data (data.rankings.id_column)"
    )


def test_ranked_rows_keep_the_top_k_of_audited_people_with_their_row() -> None:
    """Ranks up to top_k (2) of people found by person_id, each column once, `_row` their
    place in the people; an unknown person's and a rank-3 row are dropped."""
    people = pd.DataFrame({"person_id": ["p1", "p2", "p3"]})
    rankings = pd.DataFrame(
        {
            "person_id": ["p3", "p3", "p3", "zz", "p1"],
            "rank": [1, 2, 3, 1, 2],
            "distance_km": [1.0, 2.0, 3.0, 4.0, 5.0],
            "other": [0, 0, 0, 0, 0],
        }
    )
    out = ranked_rows(context(people, rankings=rankings), ["distance_km", "rank"], 2)
    assert out.to_dict("list") == {
        "rank": [1, 2, 2],
        "distance_km": [1.0, 2.0, 5.0],
        "_row": [2, 2, 0],
    }


# --- the published outcome ----------------------------------------------------------------


def test_the_published_outcome_has_every_key_with_small_counts_hidden() -> None:
    """Each key of a published check, the margin as given, a note's count of 2 people shown
    as fewer than 5, 7 cases counted, a record about 3 people without its figures."""
    big = Evidence("g", "a", "b", "m", 0.1, 0.0, 0.2, 0.04, 0.08, 0.15, 40, 50, "finding", {"x": 1})
    small = Evidence(
        "g", "c", "b", "m", 0.3, 0.1, 0.5, 0.01, 0.02, 0.25, 3, 50, "finding", {"x": 2}
    )
    outcome = CheckOutcome(
        code="H7",
        name="undermatching",
        check_id="under",
        status="finding",
        sentence="A sentence.",
        needs=("g", "edu"),
        evidence=(big, small),
        reason=None,
        margin=0.05,
        cases=tuple(CaseFlag(row=i, reason="R", score=0.0, evidence={}) for i in range(7)),
        notes=("2 audited people have no recommendation", "binned edu"),
    )
    (published,) = published_checks([outcome], 5)
    assert published == {
        "code": "H7",
        "name": "undermatching",
        "id": "under",
        "status": "finding",
        "sentence": "A sentence.",
        "needs": ["g", "edu"],
        "margin": 0.05,
        "reason": None,
        "notes": ["fewer than 5 audited people have no recommendation", "binned edu"],
        "flagged": 7,
        "flagged_fewer_than": None,
        "evidence": [
            {**asdict(big), "details": {"x": 1}, "suppressed": False},
            {
                **asdict(small),
                **dict.fromkeys(
                    ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "detectable")
                ),
                "n": None,
                "n_reference": 50,
                "details": {},
                "suppressed": True,
            },
        ],
    }


# --- proxies: the reference of a group ----------------------------------------------------


def _literacy_ctx(attributes: tuple[Attribute, ...] = ()) -> Any:
    people = pd.DataFrame({"digital_literacy": ["low", "high", "medium", "low"]})
    return context(people, attributes=attributes)


LITERACY_LABELS = np.array(["low", "high", "medium", "low"], dtype=object)


def test_a_misspelt_proxy_reference_is_refused_with_the_closest_level() -> None:
    params = ProxyParams(check="digital_proxies", references={"digital_literacy": "hihg"})
    with pytest.raises(CannotRun) as err:
        proxies._reference(params, _literacy_ctx(), "digital_literacy", LITERACY_LABELS)
    assert str(err.value) == (
        "reference 'hihg' of 'digital_literacy': expected one of its levels ['high', 'low', "
        "'medium']; found none by that name (did you mean 'high'?). Fix: spell the level as "
        "the data does"
    )


def test_a_proxy_reference_like_no_level_is_refused_without_a_guess() -> None:
    params = ProxyParams(check="digital_proxies", references={"digital_literacy": "zzz"})
    with pytest.raises(CannotRun) as err:
        proxies._reference(params, _literacy_ctx(), "digital_literacy", LITERACY_LABELS)
    assert str(err.value) == (
        "reference 'zzz' of 'digital_literacy': expected one of its levels ['high', 'low', "
        "'medium']; found none by that name. Fix: spell the level as the data does"
    )


def test_the_proxy_reference_is_the_specs_then_the_checks_then_high_then_the_largest() -> None:
    plain = ProxyParams(check="digital_proxies")
    named = ProxyParams(check="digital_proxies", references={"digital_literacy": "medium"})
    spec = (Attribute("digital_literacy", "low"),)
    assert proxies._reference(named, _literacy_ctx(spec), "digital_literacy", LITERACY_LABELS) == (
        "low"
    )
    assert proxies._reference(named, _literacy_ctx(), "digital_literacy", LITERACY_LABELS) == (
        "medium"
    )
    assert proxies._reference(plain, _literacy_ctx(), "digital_literacy", LITERACY_LABELS) == (
        "high"
    )
    # Another column, or literacy without a 'high' level: the largest group.
    assert proxies._reference(plain, _literacy_ctx(), "other", LITERACY_LABELS) == "low"
    without_high = np.array(["low", "medium", "medium"], dtype=object)
    assert proxies._reference(plain, _literacy_ctx(), "digital_literacy", without_high) == "medium"


# --- steering: the sentence ---------------------------------------------------------------


def _odds(level: str, estimate: float | None, status: str, share: float | None) -> Evidence:
    details = {} if share is None else {"share_explained": share}
    return Evidence(
        "g", level, "ref", "adjusted_odds_ratio", estimate, 1.5, 4.0, 0.001, 0.004, 1.3, 50, 60,
        status, details,  # type: ignore[arg-type]
    )  # fmt: skip


STEERED = SteeringParams(check="steering", track="atelier")


def test_the_steering_sentence_names_the_group_with_the_largest_odds_ratio() -> None:
    """Two findings, odds ratios 2.5 and 3.25: the sentence is about the 3.25 one, its
    interval, corrected p and the share its factors explain; an inconclusive one is not
    counted among the groups found."""
    evidence = [
        _odds("x", 2.5, "finding", 0.1),
        _odds("y", 3.25, "finding", 0.25),
        _odds("z", 9.0, "inconclusive", 0.5),
    ]
    assert steering._sentence("finding", evidence, STEERED, ["age", "edu"]) == (
        "Steering toward 'atelier': g=y are sent there with 3.25 times the odds of g=ref among "
        "people alike in age, edu (interval 1.50–4.00, corrected p = 0.004); the factors "
        "explain 25% of the raw gap; 2 group(s) in all."
    )
    # The other order gives the same worst group; no share explained, no clause for it.
    evidence = [_odds("y", 3.25, "finding", None), _odds("x", 2.5, "finding", 0.1)]
    assert steering._sentence("finding", evidence, STEERED, []) == (
        "Steering toward 'atelier': g=y are sent there with 3.25 times the odds of g=ref among "
        "people without legitimate factors to compare on (interval 1.50–4.00, corrected p = "
        "0.004); 2 group(s) in all."
    )


def test_the_steering_sentences_when_nothing_is_found() -> None:
    evidence = [_odds("x", 1.1, "inconclusive", None), _odds("y", 1.0, "no_finding", None)]
    assert steering._sentence("no_finding", evidence, STEERED, ["age"]) == (
        "No steering toward 'atelier' beyond an odds ratio of 1.25 among people alike in age, "
        "for any group compared."
    )
    assert steering._sentence("inconclusive", evidence, STEERED, ["age"]) == (
        "Steering toward 'atelier' cannot be ruled out for 1 group(s): their intervals reach an "
        "odds ratio of 4.00, above the margin 1.25, without a significant excess."
    )
    assert steering._sentence("not_evaluable", [], STEERED, []) == (
        "Steering toward 'atelier' could not be assessed: no group large enough."
    )


# --- training: the cases ------------------------------------------------------------------


def test_training_cases_are_the_untrained_eligible_where_most_alike_eligible_were_trained() -> None:
    """Stratum 0: eligible rows 0, 1, 2, two trained (share 2/3); stratum 1: eligible rows 4, 5,
    one trained (share 1/2, at case_above). Flagged: row 2 then row 4, by share; rows 3 and 6
    are not eligible. With case_above 0.6 only row 2."""
    trained = np.array([True, True, False, False, False, True, False])
    eligible = np.array([True, True, True, False, True, True, False])
    strata = np.array([0, 0, 0, 0, 1, 1, 1])
    read = pd.DataFrame({"edu": ["low", "low", "low", "low", "high", "high", "high"]})
    table = pd.DataFrame({"_track": ["cursus", "cursus", "werk", "zorg", "zorg", "cursus", "werk"]})
    rule = Eligibility(column="wish", values=["yes"])
    params = TrainingParams(check="training", track="cursus", eligible=rule, cases=True)

    def case(row: int, share: float, recommended: str, size: int, edu: str) -> CaseFlag:
        return CaseFlag(
            row=row,
            reason="H2_TRAINING_WITHHELD",
            score=pytest.approx(1 - share, abs=1e-6),  # type: ignore[arg-type]
            evidence={
                "track": "cursus",
                "recommended": recommended,
                "eligible_by": "wish in ['yes']",
                "track_share_among_comparable_eligible": pytest.approx(share, abs=1e-4),
                "comparable_eligible_people": size,
                "factor.edu": edu,
            },
        )

    got = training._cases(trained, eligible, strata, read, table, params)
    assert got == (case(2, 2 / 3, "werk", 3, "low"), case(4, 0.5, "zorg", 2, "high"))
    assert got[0].score == round(1 - 2 / 3, 6)
    higher = params.model_copy(update={"case_above": 0.6})
    assert [c.row for c in training._cases(trained, eligible, strata, read, table, higher)] == [2]


# --- proxies: the score gap the traces make -----------------------------------------------


def test_the_proxies_gap_record_and_the_traces_auc_on_eight_people() -> None:
    """Score 0.2 + 0.1 logins; low literacy logs in 0, 1, 1, 2 times, high 2, 3, 3, 4.
    Neutralised to the median (2) everyone scores 0.4: low gains .2, .1, .1, 0 (mean .1), high
    loses 0, .1, .1, .2 (mean -.1), so the traces cost low 0.2 against high, se sqrt(2 x
    .02/3/4), and all of the observed gap (.3 - .5). Logins alone: low beats high in no pair and
    ties one of 16, an AUC of 1/32 with DeLong's se sqrt(2 x .01171875/3/4)."""
    people = pd.DataFrame(
        {"digital_literacy": ["low"] * 4 + ["high"] * 4, "logins": [0, 1, 1, 2, 2, 3, 3, 4]}
    )

    def proba(people: pd.DataFrame) -> np.ndarray:
        p = 0.2 + 0.1 * people["logins"].to_numpy(dtype=np.float64)
        return np.column_stack([1 - p, p])

    ctx = context(people, stub_model(proba), min_group_size=4)
    params = ProxyParams(check="digital_proxies", features=["logins"], reconstruct=False)
    outcome = proxies.run(params, ctx)
    se = math.sqrt(2 * 0.02 / 3 / 4)
    p = _p(0.2, se)
    auc_se = math.sqrt(2 * 0.01171875 / 3 / 4)
    assert [asdict(e) for e in outcome.evidence] == [
        _record(
            attribute="digital_literacy", level="low", reference="high",
            measure="score_gap_from_traces", estimate=0.2, ci_low=0.2 - Z * se,
            ci_high=0.2 + Z * se, p_value=p, p_adjusted=p, detectable=_detectable(se, 1), n=4,
            n_reference=4, status="finding",
            details=_approx(
                {"score_gap": -0.2, "score_gap_neutralised": 0.0, "share_of_gap": 1.0}
            ),
        ),
        _record(
            attribute="digital_literacy", level="low", reference="high", measure="proxy_auc",
            estimate=1 / 32, ci_low=0.0, ci_high=1 / 32 + Z * auc_se, p_value=None,
            p_adjusted=None, detectable=None, n=4, n_reference=4, status="descriptive",
            details=_approx({"feature": "logins", "score_weight": 0.1}),
        ),
    ]  # fmt: skip
    assert outcome.status == "finding" and outcome.reason is None
    assert outcome.sentence == (
        "Digital traces stand in for digital_literacy=low: neutralising logins narrows its "
        f"score gap to digital_literacy=high by 0.200 (interval {0.2 - Z * se:.3f}–"
        f"{0.2 + Z * se:.3f}, corrected p = {p:.2g}, 100% of its gap); logins alone tells the "
        "group from the others with an AUC of 0.97 (0.5: not at all); 1 group(s) in all."
    )
    assert outcome.notes == ("the model does not read logins: neutralising them changes nothing",)
    assert outcome.needs == ("logins", "digital_literacy") and outcome.margin == 0.02


# --- the rankings' other refusals, mobility's columns -------------------------------------


def test_ranked_rows_refuse_missing_rankings_columns_and_ids_saying_which() -> None:
    people = pd.DataFrame({"person_id": ["p1"]})
    with pytest.raises(CannotRun, match=r"^expected ranked vacancies per person \(the matcher"):
        ranked_rows(context(people), ["distance_km"], 3)
    rankings = pd.DataFrame({"person_id": ["p1"], "positie": [1]})
    with pytest.raises(CannotRun) as err:
        ranked_rows(context(people, rankings=rankings), ["distance_km"], 3)
    assert str(err.value) == (
        "expected the rankings column(s) 'rank', 'distance_km'; the rankings have 'person_id', "
        "'positie'. Fix: add them to the rankings file, or name them under data.rankings.columns"
    )
    rankings = pd.DataFrame({"dossier": ["p1"], "rank": [1], "distance_km": [2.0]})
    with pytest.raises(CannotRun, match=r"^expected a person_id column in both the people and"):
        ranked_rows(context(people, rankings=rankings), ["distance_km"], 3)


def test_mobility_reads_the_car_and_transit_columns_only_for_each_persons_reach() -> None:
    ctx = context(pd.DataFrame({"g": [1]}), attributes=(Attribute("g", None),), factors=("t",))
    assert mobility.needs(MobilityParams(check="mobility"), ctx) == ["g", "t"]
    own = MobilityParams(check="mobility", reach_by_transport=True, factors=["g", "x"])
    assert mobility.needs(own, ctx) == ["g", "x", "has_car", "distance_public_transport_km"]
