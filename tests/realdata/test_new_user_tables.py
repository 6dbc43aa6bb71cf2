"""`audit assess` and the release gate on tables a new user brings (see `tables.py`).

Each test states what the tool must conclude on the table. Tests marked xfail(strict) record a
bug found by trying the tool as a new user would; they pass once it is fixed.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.gate import Verdict, evaluate_policy
from audit.models.public_data import load_nsw
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment
from tests.realdata.tables import (
    COMPOSITION_GAP,
    determined_by_factor,
    dutch_table,
    explained_by_education,
    region_without_positives,
    tiny_reference_cell,
    two_groups,
)


def _policy(*rules: dict[str, Any], **extra: Any) -> PolicySpec:
    return PolicySpec.model_validate({"rules": list(rules), **extra})


def _rule(verdict: Verdict, rule_id: str):  # type: ignore[no-untyped-def]
    return next(r for r in verdict.rules if r.rule_id == rule_id)


def _outside(doc: dict[str, Any]) -> list[str]:
    """Every record of a result document whose interval does not hold its estimate."""
    value = ("value", "ci_low", "ci_high")
    triples = {
        "metrics": [value],
        "overall": [value],
        "disparities": [value],
        "summaries": [value],
        "conditional": [value, ("explained_share", "explained_share_low", "explained_share_high")],
        "within_strata": [value, ("difference", "difference_ci_low", "difference_ci_high")],
    }
    bad = []
    for section, keys in triples.items():
        for rec in doc.get(section) or []:
            for v, lo, hi in keys:
                x, low, high = rec.get(v), rec.get(lo), rec.get(hi)
                if None not in (x, low, high) and not low - 1e-12 <= x <= high + 1e-12:
                    bad.append(f"{section} {v}: {rec}")
    return bad


def _doc(result: Assessment, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "result.json"
    result.to_json(out)
    return json.loads(out.read_text())


# --- codings ----------------------------------------------------------------------------------


def test_pos_label_zero_with_weights_equals_fairlearn() -> None:
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    frame = dutch_table()
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies01",
        groups=["woonsituatie"],
        weight="gewicht",
        pos_label=0,
        n_boot=0,
    )
    p = functools.partial
    metrics = {
        "selection_rate": p(selection_rate, pos_label=0),
        "tpr": p(true_positive_rate, pos_label=0),
        "fpr": p(false_positive_rate, pos_label=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = MetricFrame(
            metrics=metrics,
            y_true=frame.werk01,
            y_pred=frame.advies01,
            sensitive_features=frame.woonsituatie,
            sample_params={k: {"sample_weight": frame.gewicht} for k in metrics},
        )
    ours = {(m.levels[0], m.metric): m.value for m in result.metrics}
    overall = {m.metric: m.value for m in result.overall}
    for name in metrics:
        for level in ("eigen", "huur", "dakloos"):
            assert ours[(level, name)] == pytest.approx(mf.by_group.loc[level, name], abs=1e-9)
        assert overall[name] == pytest.approx(mf.overall[name], abs=1e-9)


def test_text_decision_with_pos_label_and_numeric_outcome_match_pandas() -> None:
    """advies "ja"/"nee" named by pos_label, the outcome 0/1 as numbers (1 positive)."""
    frame = dutch_table()
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies",
        groups=["psy_voorgeschiedenis"],
        pos_label="ja",
        n_boot=0,
    )
    ours = {(m.levels[0], m.metric): m.value for m in result.metrics}
    for level, sub in frame.groupby("psy_voorgeschiedenis"):
        chosen = sub.advies == "ja"
        assert ours[(level, "selection_rate")] == pytest.approx(chosen.mean(), abs=1e-12)
        assert ours[(level, "tpr")] == pytest.approx(chosen[sub.werk01 == 1].mean(), abs=1e-12)
        assert ours[(level, "fpr")] == pytest.approx(chosen[sub.werk01 == 0].mean(), abs=1e-12)


def test_outcome_coded_as_text_one_zero_reads_as_zero_one() -> None:
    frame = dutch_table()
    as_text = assess(frame, y_true="werk_na_6m", y_pred="advies01", groups=["Geslacht"], n_boot=0)
    as_numbers = assess(frame, y_true="werk01", y_pred="advies01", groups=["Geslacht"], n_boot=0)
    assert [m.value for m in as_text.metrics] == [m.value for m in as_numbers.metrics]


# --- the gate on tables with a known answer ---------------------------------------------------

GAP_RULE = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.05}
GATE_GROUPS = ["psy_voorgeschiedenis", "woonsituatie", "Geslacht"]
GATE_REFERENCE = {"psy_voorgeschiedenis": "nee", "woonsituatie": "eigen", "Geslacht": "man"}


def _gate_on(frame: pd.DataFrame, policy: PolicySpec, **kwargs: Any) -> Verdict:
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies01",
        groups=kwargs.pop("groups", GATE_GROUPS),
        reference=kwargs.pop("reference", GATE_REFERENCE),
        n_boot=kwargs.pop("n_boot", 200),
        seed=2,
        **kwargs,
    )
    return evaluate_policy(policy, result)


def test_no_gap_at_20000_people_passes_a_5_point_bound() -> None:
    frame = dutch_table(20000, seed=5, gap_psy=0.0, gap_home=0.0)
    frame = frame[frame.Geslacht != "x"]  # 600 people: too few to place inside +-0.05
    verdict = _gate_on(frame, _policy(GAP_RULE))
    assert verdict.status == "pass"
    assert all(g.status == "pass" for g in _rule(verdict, "sr").groups)


def test_injected_gaps_at_20000_people_fail_and_only_those_groups() -> None:
    verdict = _gate_on(dutch_table(20000, seed=6), _policy(GAP_RULE))
    assert verdict.status == "fail"
    failed = {(g.attributes, g.levels) for g in _rule(verdict, "sr").groups if g.status == "fail"}
    assert failed == {(("psy_voorgeschiedenis",), ("ja",)), (("woonsituatie",), ("dakloos",))}


def test_400_people_are_inconclusive_on_a_5_point_bound_not_pass() -> None:
    verdict = _gate_on(dutch_table(400, seed=1, gap_psy=0.0, gap_home=0.0), _policy(GAP_RULE))
    assert verdict.status == "inconclusive"
    rule = _rule(verdict, "sr")
    assert rule.status == "inconclusive"
    assert all(
        g.detectable is not None and g.detectable > 0.05
        for g in rule.groups
        if g.status == "inconclusive"
    )


def test_nsw_job_training_is_inconclusive_and_intersections_compose_references() -> None:
    nsw = load_nsw()
    result = assess(
        nsw,
        y_true="employed_1978",
        y_pred="training_assigned",
        groups=["no_degree", "race_ethnicity"],
        reference={"no_degree": "False"},
        intersections=2,
        n_boot=300,
        seed=1,
    )
    refs = {r.attributes: (r.levels, r.how) for r in result.references}
    assert refs[("no_degree", "race_ethnicity")] == (("False", "black"), "composed")
    verdict = evaluate_policy(_policy(GAP_RULE), result)
    # The diploma gap (-0.118, 159 vs 563 men) straddles -0.05: the data cannot tell.
    assert verdict.status == "inconclusive"
    no_degree = next(g for g in _rule(verdict, "sr").groups if g.attributes == ("no_degree",))
    assert no_degree.value == pytest.approx(
        nsw[nsw.no_degree].training_assigned.mean() - nsw[~nsw.no_degree].training_assigned.mean()
    )
    assert no_degree.status == "inconclusive"


def test_a_gap_the_size_of_the_printed_detectable_gap_fails_the_rule_80_percent() -> None:
    policy = _policy(GAP_RULE)

    def run(gap: float, seed: int) -> tuple[str, float]:
        result = assess(
            two_groups(300, gap, seed),
            y_true="y",
            y_pred="d",
            groups=["g"],
            reference={"g": "a"},
            n_boot=0,
        )
        rule = _rule(evaluate_policy(policy, result), "sr")
        return rule.status, rule.groups[0].detectable  # type: ignore[return-value]

    # The printed figure is how far beyond the bound the true gap must lie to be found with 80%
    # power: a true gap of 0.05 + that (b's rate lower by it) must fail about 80% of audits.
    _, detectable = run(0.0, 0)
    statuses = [run(0.05 + detectable, seed)[0] for seed in range(1, 151)]
    # Power 80%: the binomial 99.9% lower limit for 150 audits is about 0.70.
    assert statuses.count("fail") / len(statuses) >= 0.70
    assert statuses.count("fail") / len(statuses) <= 0.92  # and not a far more generous figure
    # With 300 people per group the interval (about ±0.08) cannot fit inside ±0.05: say so.
    result = assess(two_groups(300, 0.0, 0), y_true="y", y_pred="d", groups=["g"],
                    reference={"g": "a"}, n_boot=0)
    (group,) = _rule(evaluate_policy(policy, result), "sr").groups
    assert group.can_pass is False


# --- small, undefined and uncomparable groups -------------------------------------------------


def test_tiny_third_level_is_reported_small_and_never_headlines(tmp_path: Path) -> None:
    frame = dutch_table()
    frame.loc[frame.Geslacht == "x", ["advies01", "werk01"]] = [0, 1]  # 10 people, none advised
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies01",
        groups=["Geslacht"],
        correction="none",
        n_boot=300,
        seed=1,
    )
    x = [d for d in result.disparities if d.levels == ("x",)]
    assert x and all(not d.reliable and d.significant is None for d in x)
    assert all(w.levels != ("x",) for w in result.worst_groups)
    assert _outside(_doc(result, tmp_path)) == []


def test_a_large_group_with_an_undefined_metric_is_reported_not_silently_skipped() -> None:
    result = assess(
        region_without_positives(),
        y_true="y",
        y_pred="d",
        groups=["regio"],
        reference={"regio": "A"},
        n_boot=200,
        seed=1,
    )
    verdict = evaluate_policy(
        _policy({"id": "eo", "metric": "tpr", "kind": "difference", "max_abs": 0.1}), result
    )
    rule = _rule(verdict, "eo")
    assert any(f.levels == ("C",) for f in rule.findings)


def test_conditional_rule_cannot_pass_a_group_that_no_stratum_compares() -> None:
    result = assess(
        determined_by_factor(),
        y_true="y",
        y_pred="d",
        groups=["diploma", "regio"],
        reference={"diploma": "ja"},
        legitimate_factors=["opleidingsjaren"],
        n_boot=200,
        seed=1,
    )
    diploma = next(
        c
        for c in result.conditional
        if c.attributes == ("diploma",) and c.metric == "selection_rate"
    )
    assert diploma.value is None and diploma.coverage == 0.0
    verdict = evaluate_policy(
        _policy(
            {
                "id": "c",
                "metric": "selection_rate",
                "kind": "difference",
                "max_abs": 0.5,
                "conditional": True,
            }
        ),
        result,
    )
    assert _rule(verdict, "c").status != "pass"


def test_a_conditional_comparison_without_shared_strata_is_not_reliable() -> None:
    result = assess(
        determined_by_factor(),
        y_true="y",
        y_pred="d",
        groups=["diploma"],
        reference={"diploma": "ja"},
        legitimate_factors=["opleidingsjaren"],
        n_boot=0,
    )
    assert all(not c.reliable for c in result.conditional if c.coverage == 0.0)


# --- references, factors, explained share -----------------------------------------------------


def test_tiny_reference_cell_falls_back_and_says_so() -> None:
    result = assess(
        tiny_reference_cell(),
        y_true="y",
        y_pred="d",
        groups=["woonplaats", "herkomst"],
        intersections=2,
        reference={"woonplaats": "stad", "herkomst": "NL"},
        n_boot=0,
    )
    ref = next(r for r in result.references if len(r.attributes) == 2)
    assert ref.intended == ("stad", "NL") and ref.how == "fallback"
    assert ref.levels in {("platteland", "NL"), ("stad", "EU")}  # one attribute at its reference
    assert ref.reason and "5 people" in ref.reason
    assert any("instead of stad × NL" in note for note in result.notes)


@pytest.mark.parametrize(("direct", "seed"), [(0.0, 1), (0.0, 2), (0.1, 1), (0.1, 2)])
def test_explained_share_matches_the_injected_composition(direct: float, seed: int) -> None:
    result = assess(
        explained_by_education(4000, seed, direct),
        y_true="y",
        y_pred="d",
        groups=["herkomst"],
        reference={"herkomst": "niet"},
        legitimate_factors=["opleiding"],
        n_boot=400,
        seed=seed,
    )
    c = next(c for c in result.conditional if c.metric == "selection_rate")
    share = COMPOSITION_GAP / (COMPOSITION_GAP - direct)
    assert c.ci_low is not None and c.ci_high is not None
    assert c.explained_share_low is not None and c.explained_share_high is not None
    assert c.explained_share_low <= share <= c.explained_share_high
    assert c.ci_low <= -direct <= c.ci_high
    if direct:
        assert c.ci_high < 0  # the direct effect is found among equals


def test_attribute_that_is_also_a_factor_and_numeric_factor_binned(tmp_path: Path) -> None:
    frame = dutch_table()
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies01",
        groups=GATE_GROUPS,
        reference=GATE_REFERENCE,
        weight="gewicht",
        legitimate_factors=["leeftijd", "woonsituatie"],
        n_boot=300,
        seed=2,
    )
    factors = {c.attributes: c.factors for c in result.conditional}
    assert factors[("woonsituatie",)] == ("leeftijd",)
    assert factors[("psy_voorgeschiedenis",)] == ("leeftijd", "woonsituatie")
    assert any("cut at its quantiles into 5 bins" in n for n in result.notes)
    # The pooled conditional gap by hand: standardised to the group's own strata.
    # The tool's bins are [q0, q1), ..., [q4, q5] at the quintiles (see its note).
    edges = np.quantile(frame.leeftijd, [0.2, 0.4, 0.6, 0.8])
    bins = np.searchsorted(edges, frame.leeftijd, side="right")
    c = next(
        c
        for c in result.conditional
        if c.attributes == ("psy_voorgeschiedenis",) and c.metric == "selection_rate"
    )
    total = weight = 0.0
    for _, s in frame.assign(b=bins).groupby(["b", "woonsituatie"], observed=True):
        a, r = s[s.psy_voorgeschiedenis == "ja"], s[s.psy_voorgeschiedenis == "nee"]
        if len(a) and len(r):
            wa = a.gewicht.sum()
            total += wa * (
                np.average(a.advies01, weights=a.gewicht)
                - np.average(r.advies01, weights=r.gewicht)
            )
            weight += wa
    assert c.value == pytest.approx(total / weight, abs=1e-9)
    assert _outside(_doc(result, tmp_path)) == []


def test_within_strata_rates_equal_pandas() -> None:
    frame = dutch_table()
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies01",
        groups=["psy_voorgeschiedenis"],
        reference={"psy_voorgeschiedenis": "nee"},
        legitimate_factors=["woonsituatie"],
        n_boot=0,
    )
    rows = {
        (w.levels[0], w.factor_level): w
        for w in result.within_strata
        if w.metric == "selection_rate"
    }
    for (level, stratum), s in frame.groupby(["psy_voorgeschiedenis", "woonsituatie"]):
        assert rows[(level, stratum)].value == pytest.approx(s.advies01.mean(), abs=1e-12)
        assert rows[(level, stratum)].n_rows == len(s)
    for stratum in ("eigen", "huur", "dakloos"):
        s = frame[frame.woonsituatie == stratum]
        gap = (
            s[s.psy_voorgeschiedenis == "ja"].advies01.mean()
            - s[s.psy_voorgeschiedenis == "nee"].advies01.mean()
        )
        assert rows[("ja", stratum)].difference == pytest.approx(gap, abs=1e-12)


def test_aif360_named_disparities_with_weights() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import ClassificationMetric
    frame = dutch_table()
    result = assess(
        frame,
        y_true="werk01",
        y_pred="advies01",
        groups=["psy_voorgeschiedenis"],
        reference={"psy_voorgeschiedenis": "nee"},
        weight="gewicht",
        n_boot=200,
        seed=1,
    )
    table = pd.DataFrame(
        {
            "y": frame.werk01.astype(float),
            "nee": (frame.psy_voorgeschiedenis == "nee").astype(float),
        }
    )
    truth = BinaryLabelDataset(df=table, label_names=["y"], protected_attribute_names=["nee"])
    truth.instance_weights = frame.gewicht.to_numpy(dtype=float)
    pred = truth.copy()
    pred.labels = frame.advies01.to_numpy(dtype=float).reshape(-1, 1)
    m = ClassificationMetric(
        truth, pred, unprivileged_groups=[{"nee": 0}], privileged_groups=[{"nee": 1}]
    )
    ours = {
        d.metric: d for d in result.disparities if d.levels == ("ja",) and d.kind == "difference"
    }
    for name in (
        "average_odds_difference",
        "average_abs_odds_difference",
        "average_predictive_value_difference",
    ):
        d = ours[name]
        assert d.value == pytest.approx(getattr(m, name)(), abs=1e-9)
        assert d.ci_low is not None and d.ci_high is not None and d.ci_low <= d.value <= d.ci_high


# --- non-regression ---------------------------------------------------------------------------


def test_unchanged_candidate_passes_non_regression_group_by_group() -> None:
    result = assess(
        dutch_table(),
        y_true="werk01",
        y_pred="advies01",
        groups=["psy_voorgeschiedenis", "woonsituatie"],
        reference={"psy_voorgeschiedenis": "nee", "woonsituatie": "eigen"},
        n_boot=300,
        seed=2,
    )
    rule = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.5}
    verdict = evaluate_policy(_policy(rule), result, baseline=result)
    nr = _rule(verdict, "sr.non_regression")
    assert nr.status == "pass"
    assert [g.status for g in nr.groups] == ["pass"] * len(nr.groups)


def test_worsened_candidate_fails_non_regression_with_figures() -> None:
    frame = dutch_table()
    kwargs: dict[str, Any] = dict(
        y_true="werk01",
        y_pred="advies01",
        groups=["psy_voorgeschiedenis"],
        reference={"psy_voorgeschiedenis": "nee"},
        n_boot=300,
        seed=2,
    )
    baseline = assess(frame, **kwargs)
    worse = frame.copy()
    advised = np.flatnonzero((worse.psy_voorgeschiedenis == "ja") & (worse.advies01 == 1))
    worse.loc[advised[: len(advised) * 3 // 4], "advies01"] = 0  # the gap widens by about 0.2
    candidate = assess(worse, **kwargs)
    rule = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.5}
    nr = _rule(evaluate_policy(_policy(rule), candidate, baseline=baseline), "sr.non_regression")
    assert nr.status == "fail"
    (g,) = nr.groups
    assert g.baseline_value == pytest.approx(
        next(
            d.value
            for d in baseline.disparities
            if d.metric == "selection_rate" and d.kind == "difference" and d.levels == ("ja",)
        )
    )
    assert g.change is not None and g.change_ci_low is not None and g.change_ci_low > 0
    assert g.change_ci_low <= g.change <= (g.change_ci_high or math.inf)


# --- the significance rule's message ----------------------------------------------------------


def _exact_gap_table() -> pd.DataFrame:
    """300 people in group a (150 advised) and 100 in b (36 advised); half of each found work.
    The selection-rate gap is -0.14, p = 0.015 by the pooled two-proportion test."""
    group = np.repeat(["a", "b"], [300, 100])
    advised = np.r_[np.ones(150), np.zeros(150), np.ones(36), np.zeros(64)].astype(int)
    work = np.r_[np.tile([0, 1], 150), np.tile([0, 1], 50)]
    return pd.DataFrame({"g": group, "d": advised, "y": work})


def test_a_significance_rule_alone_fails_on_a_clear_gap() -> None:
    result = assess(
        _exact_gap_table(),
        y_true="y",
        y_pred="d",
        groups=["g"],
        reference={"g": "a"},
        n_boot=300,
        seed=1,
    )
    sig = {"id": "sig", "no_significant_disparity": ["selection_rate"]}
    assert _rule(evaluate_policy(_policy(sig), result), "sig").status == "fail"


def test_a_disparity_the_correction_leaves_in_doubt_is_inconclusive_not_pass() -> None:
    result = assess(
        _exact_gap_table(),
        y_true="y",
        y_pred="d",
        groups=["g"],
        reference={"g": "a"},
        n_boot=300,
        seed=1,
    )
    sig = {"id": "sig", "no_significant_disparity": ["selection_rate"]}
    others = [
        {"id": f"loose-{m}", "metric": m, "kind": "difference", "max_abs": 0.9}
        for m in ("tpr", "fpr", "ppv", "npv", "accuracy")
    ]
    verdict = evaluate_policy(_policy(sig, *others), result)
    assert all(_rule(verdict, r["id"]).status == "pass" for r in others)
    rule = _rule(verdict, "sig")
    assert rule.status in ("fail", "inconclusive")
    if rule.status == "inconclusive":  # then it must say why, with the p-values
        (finding,) = rule.findings
        assert "0.015" in finding.sentence
