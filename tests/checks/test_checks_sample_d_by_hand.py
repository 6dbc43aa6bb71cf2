"""Harm checks by hand (issue 14, sample D): label choice's records and refusals, the
missing-papers sentence, the score column of a track recommender, and the columns the training
check reads.

Every expected value is worked out from the check's definition in its module docstring and
parameter descriptions, on tables small enough to count by hand.
"""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from typing import Any

import pandas as pd
import pytest
from scipy.stats import norm

from audit.checks import label_choice, missing_papers, training
from audit.checks.base import Attribute, CannotRun, Evidence
from audit.checks.label_choice import LabelChoiceParams
from audit.checks.missing_papers import MissingPapersParams
from audit.checks.rescore import score_index
from audit.checks.training import Eligibility, TrainingParams
from tests.checks.stub_models import context, stub_model

Z = norm.ppf(0.975)  # the two-sided 95% quantile


def _p(estimate: float, se: float) -> float:
    """Two-sided normal p-value of estimate / se."""
    return float(2 * norm.sf(abs(estimate) / se))


def _detectable(se: float, tests: int) -> float:
    """(z_{1 - 0.05 / 2m} + z_0.8) * se: the smallest effect the corrected test finds at 80%."""
    return float((norm.ppf(1 - 0.05 / (2 * tests)) + norm.ppf(0.8)) * se)


def _approx(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: pytest.approx(v, abs=1e-9) if isinstance(v, float) else v for k, v in fields.items()}


# --- label choice: the whole outcome on sixteen people ---------------------------------------

# Rows 0-7 group a (the reference), 8-15 group b. Judged likely: score >= 0.5 (0.5 counts).
#            S (sustainable)     L (training label)   judged
#   a        1 1 1 1 0 0 0 0     as S                 1 1 0 0 1 0 0 0
#   b        1 1 1 1 0 0 0 0     1 1 0 0 1 1 0 0      1 0 0 0 1 1 0 0
# On S: FPR a 1/4, b 2/4 (gap +1/4); TPR a 2/4, b 1/4 (gap -1/4); both se sqrt(.1875/4 + .25/4).
# On L: FPR a 1/4, b 0/4 (gap -1/4, se sqrt(.1875/4)); TPR a 2/4, b 3/4 (gap +1/4).
LABEL_PEOPLE = pd.DataFrame(
    {"g": ["a"] * 8 + ["b"] * 8, "sustainable_12m": [1, 1, 1, 1, 0, 0, 0, 0] * 2}
)
LABEL_TABLE = pd.DataFrame(
    {
        "_score": [0.5, 0.9, 0.49, 0.1, 0.7, 0.2, 0.3, 0.0,
                   0.6, 0.4, 0.1, 0.2, 0.5, 0.8, 0.3, 0.0],
        "_outcome": [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0],
    }
)  # fmt: skip


def _label_ctx(table: pd.DataFrame = LABEL_TABLE) -> Any:
    return context(
        LABEL_PEOPLE, None, table=table, attributes=(Attribute("g", "a"),), min_group_size=2
    )


def test_label_choice_records_every_figure_with_the_detectable_gap_on_the_harmful_side() -> None:
    """Both comparisons are reliable (every denominator holds 4 >= 2 people, every rate has a
    spread), so each is tested (Holm over the two, per label) and neither is significant nor
    within the 3-point margin: inconclusive. The detectable gap is the power analysis's shift
    on the harmful side: positive for the FPR (harm is a higher rate), negative for the TPR."""
    outcome = label_choice.run(LabelChoiceParams(check="label_choice"), _label_ctx())
    se = math.sqrt(0.1875 / 4 + 0.25 / 4)
    se_label_fpr = math.sqrt(0.1875 / 4)
    p = _p(0.25, se)  # both sustainable gaps have the same size and error
    p_label_fpr, p_label_tpr = _p(0.25, se_label_fpr), _p(0.25, se)
    q_label_fpr = 2 * p_label_fpr  # the smaller p first
    q_label_tpr = max(q_label_fpr, p_label_tpr)
    assert p_label_fpr < p_label_tpr

    def record(measure: str, gap: float, rates: tuple[float, float], label: dict[str, Any],
               detectable: float) -> dict[str, Any]:  # fmt: skip
        return _approx(
            dict(
                attribute="g", level="b", reference="a", measure=f"sustainable_{measure}_gap",
                estimate=gap, ci_low=gap - Z * se, ci_high=gap + Z * se, p_value=p,
                p_adjusted=min(1.0, 2 * p), detectable=detectable, n=8, n_reference=8,
                status="inconclusive",
                details=_approx({
                    "measure": measure, "label": "_outcome", "sustainable": "sustainable_12m",
                    "rate": rates[0], "reference_rate": rates[1], "denominator": 4,
                    "reference_denominator": 4, **label, "label_status": "inconclusive",
                    "label_denominator": 4, "label_reference_denominator": 4,
                }),
            )
        )  # fmt: skip

    expected = [
        record("fpr", 0.25, (0.5, 0.25), {
            "label_gap": -0.25, "label_ci_low": -0.25 - Z * se_label_fpr,
            "label_ci_high": -0.25 + Z * se_label_fpr, "label_p_adjusted": q_label_fpr,
            "label_rate": 0.0, "label_reference_rate": 0.25,
        }, _detectable(se, 2)),
        record("tpr", -0.25, (0.25, 0.5), {
            "label_gap": 0.25, "label_ci_low": 0.25 - Z * se, "label_ci_high": 0.25 + Z * se,
            "label_p_adjusted": q_label_tpr, "label_rate": 0.75, "label_reference_rate": 0.5,
        }, -_detectable(se, 2)),
    ]  # fmt: skip
    assert [asdict(e) for e in outcome.evidence] == expected
    assert (outcome.code, outcome.name, outcome.status) == ("H5", "label_choice", "inconclusive")
    assert outcome.sentence == (
        "Whether the label '_outcome' hides a disparity on 'sustainable_12m' cannot be told for 2 "
        "comparison(s): their intervals on 'sustainable_12m' reach beyond ±3.0% without the "
        "label looking fair and the gap significant."
    )
    assert outcome.needs == ("g", "sustainable_12m") and outcome.margin == 0.03


def test_a_gap_only_the_sustainable_label_shows_is_a_finding_named_in_the_sentence() -> None:
    """FPR only. a: 2000 people without sustained work, 400 judged likely; b: 2000, 1000
    judged likely: a gap of +30 points (se sqrt(.25/2000 + .16/2000)), far beyond the 3-point
    margin and significant. On the training label both groups have an FPR of 0.2 over 2000
    people: gap 0, interval +-1.96 * sqrt(.32/2000) = +-2.5 points, within the margin (label
    status no_finding). So a finding, and the sentence names b's rate against a's."""
    # (S, L, judged, people): a's labels agree; b's L differs from S for 900 people.
    counts = {
        "a": [(0, 0, 1, 400), (0, 0, 0, 1600), (1, 1, 1, 1000), (1, 1, 0, 1000)],
        "b": [(0, 0, 1, 400), (0, 1, 1, 600), (0, 0, 0, 1000), (1, 0, 0, 600), (1, 1, 1, 400)],
    }
    rows = [
        (g, s, lab, j) for g, cells in counts.items() for s, lab, j, n in cells for _ in range(n)
    ]
    frame = pd.DataFrame(rows, columns=["g", "s", "l", "j"])
    people = pd.DataFrame({"g": frame["g"], "sustainable_12m": frame["s"]})
    table = pd.DataFrame({"_score": frame["j"] * 0.9, "_outcome": frame["l"]})
    ctx = context(people, None, table=table, attributes=(Attribute("g", "a"),), min_group_size=2)
    outcome = label_choice.run(LabelChoiceParams(check="label_choice", measures=["fpr"]), ctx)
    se, se_label = math.sqrt(0.41 / 2000), math.sqrt(0.32 / 2000)
    (record,) = outcome.evidence
    assert (record.status, record.estimate, record.p_adjusted) == (
        "finding",
        pytest.approx(0.3),
        pytest.approx(_p(0.3, se), rel=1e-6),
    )
    assert record.details["label_gap"] == pytest.approx(0.0, abs=1e-12)
    assert record.details["label_status"] == "no_finding"
    assert record.details["label_ci_high"] == pytest.approx(Z * se_label)
    assert outcome.status == "finding"
    assert outcome.sentence == (
        "Fair on its label '_outcome' but not on 'sustainable_12m': g=b are judged likely to "
        "find work among people who did not at a rate +30.0% from g=a on 'sustainable_12m' "
        f"(interval {0.3 - Z * se:+.1%} to {0.3 + Z * se:+.1%}, corrected p = "
        f"{_p(0.3, se):.2g}), against +0.0% on '_outcome' (within ±3.0%); 1 comparison(s) in all."
    )


def test_label_choice_without_a_score_or_a_decision_says_which_output_is_missing() -> None:
    """predicted: score needs the score column and names the three ways to lack one;
    predicted: decision needs the decision column."""
    no_score = LABEL_TABLE.drop(columns="_score")
    with pytest.raises(CannotRun) as err:
        label_choice.run(LabelChoiceParams(check="label_choice"), _label_ctx(no_score))
    assert str(err.value) == (
        "predicted: score: expected the model's score; found outputs without one (a track "
        "recommender without decision:, a decisions file without a score column, or "
        "decision.use_score off). Fix: name the score column or the decision "
        "(decision: {label: ...}), or set predicted: decision in the check's entry"
    )
    with pytest.raises(CannotRun) as err:
        params = LabelChoiceParams(check="label_choice", predicted="decision")
        label_choice.run(params, _label_ctx())
    assert str(err.value) == (
        "predicted: decision: expected a binary decision; found outputs without one. Fix: "
        "add decision: {label: ...} or a threshold to the spec, or set predicted: score"
    )


# --- missing papers: the sentence -------------------------------------------------------------


def _cost(measure: str, estimate: float, status: str, level: str = "a") -> Evidence:
    overall = measure == "score_loss"
    return Evidence(
        attribute="missing_documents" if overall else "g",
        level="some_missing" if overall else level,
        reference="none_missing" if overall else "b",
        measure=measure, estimate=estimate, ci_low=estimate - 0.01, ci_high=estimate + 0.01,
        p_value=0.001, p_adjusted=0.002, detectable=0.01, n=40, n_reference=60, status=status,
    )  # fmt: skip


def _papers_sentence(status: str, evidence: list[Evidence], model: Any = "stub") -> str:
    params = MissingPapersParams(check="missing_papers", documents=["diploma"])
    ctx = context(pd.DataFrame({"g": ["a", "b"]}), stub_model() if model == "stub" else model)
    return missing_papers._sentence(status, evidence, params, ctx)


def test_the_missing_papers_sentence_adds_what_everyone_missing_a_document_loses() -> None:
    """A group's finding, and a check without one, add the cost for everyone missing a
    document (the score_loss record) to three decimals; without that record they do not."""
    overall = _cost("score_loss", 0.0123, "no_finding")
    gap = _cost("score_loss_gap", 0.0456, "finding")
    assert _papers_sentence("finding", [overall, gap]) == (
        "Missing documents lower the score of g=a: they lose 0.046 more of it than g=b when "
        "missing documents are imputed (interval 0.036–0.056, corrected p = 0.002); people "
        "missing any document lose 0.012 of their score on average; 1 comparison(s) in all."
    )
    assert _papers_sentence("no_finding", [overall, replace(gap, status="no_finding")]) == (
        "Missing documents cost no group more than 0.02 of the score against its reference, "
        "nor the people missing them; people missing any document lose 0.012 of their score "
        "on average."
    )
    assert _papers_sentence("no_finding", [replace(gap, status="no_finding")]) == (
        "Missing documents cost no group more than 0.02 of the score against its reference, "
        "nor the people missing them."
    )


def test_the_missing_papers_sentence_names_the_worst_cost_or_why_none_was_measured() -> None:
    """A finding names the largest cost found (here everyone's, 0.0456, over a group's 0.03)
    with its interval and corrected p; inconclusive comparisons are counted with the highest
    end of their intervals against the margin; without a model, or without a group large
    enough, the sentence says which."""
    overall = _cost("score_loss", 0.0456, "finding")
    gap = _cost("score_loss_gap", 0.03, "finding")
    assert _papers_sentence("finding", [gap, overall]) == (
        "Missing documents lower the score: people missing any document lose 0.046 of it on "
        "average when their documents are imputed (interval 0.036–0.056, corrected p = "
        "0.002); 2 comparison(s) in all."
    )
    unsure = [replace(gap, status="inconclusive"), _cost("score_loss_gap", 0.05, "inconclusive",
                                                        "c"), replace(overall, status="no_finding")]  # fmt: skip
    assert _papers_sentence("inconclusive", unsure) == (
        "A score cost of missing documents cannot be ruled out for 2 comparison(s): their "
        "intervals reach 0.060, above the margin 0.02, without a significant cost."
    )
    assert _papers_sentence("not_evaluable", [], model=None) == (
        "The score gap of missing documents needs the model to re-score people; who lacks "
        "documents and the error rates by missingness are reported."
    )
    assert _papers_sentence("not_evaluable", []) == (
        "The score gap of missing documents could not be assessed: no group large enough."
    )


# --- rescore: the score of a track recommender ------------------------------------------------


def test_a_track_recommender_without_a_score_class_is_refused_with_an_example() -> None:
    """A track recommender has no last class that is 'the' score: the check asks for one,
    naming the model and its classes and showing the entry to write."""
    with pytest.raises(CannotRun) as err:
        score_index(stub_model(task="track"), None)
    assert str(err.value) == (
        "score of model 'stub.skops': expected the class whose probability is the score; found "
        "a track recommender with classes ['0', '1']. Fix: name it in the check's entry, e.g. "
        "score_class: regular"
    )
    assert score_index(stub_model(task="track"), "0") == 0
    assert score_index(stub_model(task="track"), "1") == 1
    assert score_index(stub_model(), None) == 1  # a two-class model: its last class
    with pytest.raises(CannotRun) as err:
        score_index(stub_model(), "regular")
    assert str(err.value) == (
        "score_class 'regular': expected one of the model's classes ['0', '1']; found none by "
        "that name. Fix: spell the class as the model does"
    )


# --- training: the columns it reads ---------------------------------------------------------


def test_the_training_check_reads_its_own_attributes_the_eligibility_column_and_factors() -> None:
    """Its own attribute list if given (else every audited attribute), the eligibility
    column, then its own factors (else the spec's; [] none)."""
    ctx = context(
        pd.DataFrame({"g": ["a"]}), attributes=(Attribute("g", "a"), Attribute("h", "x")),
        factors=("edu",),
    )  # fmt: skip
    rule = Eligibility(column="wish", values=["yes"])
    own = TrainingParams(check="training", track="cursus", eligible=rule, attributes=["h"])
    assert training.needs(own, ctx) == ["h", "wish", "edu"]
    every = TrainingParams(check="training", track="cursus", eligible=rule, factors=["age"])
    assert training.needs(every, ctx) == ["g", "h", "wish", "age"]
    none = own.model_copy(update={"factors": []})
    assert training.needs(none, ctx) == ["h", "wish"]
