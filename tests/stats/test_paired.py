"""Paired non-regression, validated on simulated pairs of models with a known change.

Each simulation scores two models on the same people: a baseline, and a candidate that is the
baseline with a small independent perturbation (some people's decisions re-drawn at their
group's rate, which changes no rate in expectation) and, when a change is injected, a share of
one group's decisions turned down (worsening) or up (improvement).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.errors import AuditInputError
from audit.metrics.definitions import METRIC_NAMES
from audit.stats.assess import assess
from audit.stats.paired import (
    PairedDisparities,
    badness,
    paired_disparities,
    references_from,
    regression_changes,
)

N_REF, N_GROUP = 3000, 600
REFERENCES = {("g",): ("ref",)}
SELECTION = [("selection_rate", "difference")]
AT_MOST_LOWER = (-0.1, math.inf)  # a rule "selection-rate difference >= -0.1"


def simulate_pair(
    seed: int,
    *,
    change: float = 0.0,
    metric: str = "selection_rate",
    noise: float = 0.1,
    gap: float = -0.1,
) -> pd.DataFrame:
    """Baseline and candidate decisions for a large reference group and a group of 600.

    The baseline selects 60% / 30% of those with / without the outcome in the reference group
    and `gap` less in the group (a selection-rate gap of about `gap`). The candidate re-draws a
    share `noise` of everyone's decisions at the same rates, then moves the group's selection
    rate (or, for metric "tpr", its true positive rate) by `change` in expectation.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(["ref", "grp"], [N_REF, N_GROUP])
    y = rng.random(g.size) < 0.4
    in_group = g == "grp"
    rate = np.where(y, 0.6, 0.3) + gap * in_group
    base = rng.random(g.size) < rate
    cand = np.where(rng.random(g.size) < noise, rng.random(g.size) < rate, base)
    among = in_group & (y if metric == "tpr" else True)
    current = rate[among].mean()  # the subset's expected rate before the change
    u = rng.random(g.size)
    if change < 0:  # turn down a share of the selected: the rate drops by |change|
        cand = np.where(among & cand & (u < -change / current), False, cand)
    elif change > 0:  # select a share of the others: the rate rises by change
        cand = np.where(among & ~cand & (u < change / (1 - current)), True, cand)
    return pd.DataFrame({"g": g, "y": y.astype(int), "cand": cand, "base": base})


def paired(frame: pd.DataFrame, metrics=SELECTION, **options) -> PairedDisparities:
    settings = dict(
        y_true="y",
        candidate="cand",
        baseline="base",
        groups=["g"],
        references=REFERENCES,
        metrics=metrics,
        n_boot=200,
        seed=1,
    )
    return paired_disparities(frame, **(settings | options))


def group_change(frame, metric="selection_rate", bounds=AT_MOST_LOWER, **options):
    (change,) = regression_changes(
        paired(frame, [(metric, "difference")], **options), metric, "difference", *bounds
    )
    return change


def unpaired_p(p: PairedDisparities, metric: str, low: float, high: float) -> float:
    """The test of today's gate: each model's standard error from its own replicates, added as
    if the two were measured on independent samples."""
    e = p.get(metric, "difference", ("g",))
    i = 1 - e.reference
    bad_c, bad_b = badness(e.candidate, low, high)[i], badness(e.baseline, low, high)[i]
    se_c = np.std(badness(e.candidate_boot[:, i], low, high), ddof=1)
    se_b = np.std(badness(e.baseline_boot[:, i], low, high), ddof=1)
    return float(stats.norm.sf((bad_c - bad_b) / math.hypot(se_c, se_b)))


# --- known answers: power, level, improvements ------------------------------------------------


@pytest.mark.parametrize(
    "metric, bootstrap, bounds, gap, noise",
    [
        ("selection_rate", "multinomial", AT_MOST_LOWER, -0.1, 0.1),
        ("selection_rate", "stratified", AT_MOST_LOWER, -0.1, 0.1),
        ("tpr", "multinomial", AT_MOST_LOWER, -0.1, 0.1),
        ("selection_rate", "multinomial", (-0.1, 0.1), 0.0, 0.1),  # from the range's centre
        ("selection_rate", "multinomial", AT_MOST_LOWER, -0.1, 0.5),  # models far apart
    ],
)
def test_a_worsening_of_ten_points_at_600_people_is_found(metric, bootstrap, bounds, gap, noise):
    # A gap of -0.1 -> -0.2 (or 0 -> -0.1): the change in badness is +0.1. The paired SE is
    # about 0.015 (only the ~12% of people whose decision changed vary between the models; 0.023
    # when half the decisions are re-drawn), so the power of the one-sided test at 5% is
    # essentially 1; the issue asks for at least 80%.
    sims = 100
    found = 0
    for seed in range(sims):
        frame = simulate_pair(seed, change=-0.1, metric=metric, gap=gap, noise=noise)
        c = group_change(frame, metric, bounds, bootstrap=bootstrap)
        assert c.reliable and c.change is not None and c.p_value is not None
        found += c.p_value < 0.05
    assert found / sims >= 0.8


@pytest.mark.parametrize(
    "bounds, bootstrap, gap, noise",
    [
        (AT_MOST_LOWER, "multinomial", -0.1, 0.1),
        (AT_MOST_LOWER, "stratified", -0.1, 0.1),
        ((-0.1, 0.1), "multinomial", -0.1, 0.1),  # two-sided: |gap| from the centre
        ((-0.1, 0.1), "multinomial", 0.0, 0.1),  # at the centre, where |.| folds
        (AT_MOST_LOWER, "multinomial", -0.1, 0.5),  # models that disagree on many people
    ],
)
def test_an_unchanged_model_is_called_a_regression_at_most_five_percent_of_the_time(
    bounds, bootstrap, gap, noise
):
    # The candidate has the baseline's distribution (re-drawn decisions keep every rate), so the
    # change is 0 in expectation and a test at 5% may call it a regression 5% of the time. With
    # 400 simulations the share's SE at 5% is 0.011: the limit 0.05 + 2.33 SE = 0.075 is passed
    # by a correct test 99% of the time, and failed 95% of the time by a test twice too liberal
    # (at 10%, SE 0.015, the limit is 1.64 SE below its rate). (At the centre of a two-sided
    # range the test is conservative: |gap| of either model is biased up alike.)
    sims = 400
    limit = 0.05 + 2.33 * math.sqrt(0.05 * 0.95 / sims)
    assert 0.10 - 1.64 * math.sqrt(0.10 * 0.90 / sims) >= limit - 1e-3
    called = 0
    for seed in range(sims):
        frame = simulate_pair(10_000 + seed, gap=gap, noise=noise)
        c = group_change(frame, bounds=bounds, bootstrap=bootstrap)
        assert c.p_value is not None
        called += c.p_value < 0.05
    assert called / sims <= limit


def test_an_improvement_is_never_a_regression():
    for seed in range(100):
        c = group_change(simulate_pair(20_000 + seed, change=0.1))
        assert c.change is not None and c.change < 0
        assert c.p_value is not None and c.p_value > 0.5


def test_pairing_is_why_a_five_point_worsening_is_found_and_the_unpaired_test_misses_it():
    # Same data, same replicates: the paired test reads the spread of the replicate-wise change
    # (SE ~0.011), the unpaired one adds the two models' own spreads (SE ~0.03) as if they were
    # independent. For 5 points that is z ~4.5 against z ~1.6: power ~1 against ~0.5.
    sims = 100
    paired_found = unpaired_found = 0
    for seed in range(sims):
        p = paired(simulate_pair(30_000 + seed, change=-0.05))
        (c,) = regression_changes(p, "selection_rate", "difference", *AT_MOST_LOWER)
        assert c.p_value is not None
        paired_found += c.p_value < 0.05
        unpaired_found += unpaired_p(p, "selection_rate", *AT_MOST_LOWER) < 0.05
    assert paired_found / sims >= 0.95
    assert unpaired_found / sims <= 0.75
    assert paired_found - unpaired_found >= 0.3 * sims


def test_a_margin_tolerates_a_worsening_within_it():
    frame = simulate_pair(5, change=-0.1)
    strict = group_change(frame)
    p = paired(frame)
    (lenient,) = regression_changes(p, "selection_rate", "difference", *AT_MOST_LOWER, margin=0.2)
    assert lenient.change == strict.change
    assert strict.p_value is not None and strict.p_value < 1e-4
    assert lenient.p_value is not None and lenient.p_value > 0.99


# --- the numbers themselves -------------------------------------------------------------------


def small_table(seed: int, n: int = 400, weighted: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n, p=[0.4, 0.6]),
            "age": rng.choice(["young", "mid", "old"], n, p=[0.3, 0.5, 0.2]),
            "y": (rng.random(n) < 0.4).astype(int),
        }
    )
    frame["base"] = (rng.random(n) < 0.3 + 0.3 * frame["y"]).astype(int)
    frame["cand"] = np.where(rng.random(n) < 0.3, rng.random(n) < 0.5, frame["base"]).astype(int)
    if weighted:
        frame["w"] = rng.gamma(2.0, 1.0, n)
    return frame


def direct_metrics(frame: pd.DataFrame, model: str, attrs: list[str]) -> pd.DataFrame:
    """Each group's weighted rates, straight from the rows with pandas."""
    w = frame["w"] if "w" in frame else pd.Series(1.0, index=frame.index)
    d, y = frame[model], frame["y"]
    parts = pd.DataFrame(
        {
            "w": w,
            "sel": w * d,
            "pos": w * y,
            "tp": w * d * y,
            "neg": w * (1 - y),
            "fp": w * d * (1 - y),
            "right": w * (d == y),
        }
    )
    s = parts.groupby([frame[a] for a in attrs]).sum()
    out = pd.DataFrame(
        {
            "selection_rate": s["sel"] / s["w"],
            "tpr": s["tp"] / s["pos"],
            "fpr": s["fp"] / s["neg"],
            "ppv": s["tp"] / s["sel"],
            "accuracy": s["right"] / s["w"],
        }
    )
    out["balanced_accuracy"] = (out["tpr"] + 1 - out["fpr"]) / 2
    out.index = [k if isinstance(k, tuple) else (k,) for k in out.index]
    return out


DIRECT = ["selection_rate", "tpr", "fpr", "ppv", "accuracy", "balanced_accuracy"]
SMALL_REFERENCES = {
    ("sex",): ("m",),
    ("age",): ("mid",),
    ("sex", "age"): ("m", "mid"),
}


@pytest.mark.parametrize("weighted", [False, True])
def test_estimates_equal_a_direct_calculation_from_each_models_decisions(weighted):
    frame = small_table(3, weighted=weighted)
    metrics = [(m, k) for m in DIRECT for k in ("difference", "ratio")]
    p = paired_disparities(
        frame,
        y_true="y",
        candidate="cand",
        baseline="base",
        groups=["sex", "age"],
        intersections=2,
        references=SMALL_REFERENCES,
        metrics=metrics,
        weight="w" if weighted else None,
        n_boot=50,
    )
    assert p.weighted == weighted
    assert len(p.entries) == len(metrics) * 3
    for attrs in (["sex"], ["age"], ["sex", "age"]):
        ref = SMALL_REFERENCES[tuple(attrs)]
        for model, field in (("cand", "candidate"), ("base", "baseline")):
            expected = direct_metrics(frame, model, attrs)
            for metric, kind in metrics:
                e = p.get(metric, kind, attrs)
                assert e.reference_levels == ref
                got = pd.Series(getattr(e, f"{field}_metric"), index=list(e.levels))
                pd.testing.assert_series_equal(
                    got, expected[metric].loc[list(e.levels)], check_names=False
                )
                value = expected[metric]
                want = value - value[ref] if kind == "difference" else value / value[ref]
                got = pd.Series(getattr(e, field), index=list(e.levels))
                pd.testing.assert_series_equal(got, want.loc[list(e.levels)], check_names=False)
        rows = frame.groupby(attrs).size()
        e = p.get("tpr", "difference", attrs)
        assert e.n_rows.tolist() == [rows[lv if len(lv) > 1 else lv[0]] for lv in e.levels]


def test_the_candidates_disparities_are_those_of_its_own_assessment():
    frame = small_table(4, n=600)
    result = assess(
        frame, y_true="y", y_pred="cand", groups=["sex", "age"], intersections=2, n_boot=0
    )
    refs = references_from(result)
    assert refs[("sex",)] == ("m",)
    p = paired_disparities(
        frame,
        y_true="y",
        candidate="cand",
        baseline="base",
        groups=["sex", "age"],
        intersections=2,
        references=refs,
        metrics=[("selection_rate", "ratio"), ("fpr", "difference")],
        n_boot=20,
    )
    for e in p.entries:
        for i, levels in enumerate(e.levels):
            if i != e.reference:
                d = result.disparity(e.metric, e.attributes, levels, e.kind)
                assert d.value == pytest.approx(e.candidate[i], abs=1e-12)
                assert d.reference_levels == e.reference_levels


def test_replicates_are_paired_and_identical_models_show_no_change():
    frame = small_table(5).assign(cand=lambda f: f["base"])
    p = paired_disparities(
        frame,
        y_true="y",
        candidate="cand",
        baseline="base",
        groups=["sex", "age"],
        intersections=2,
        references=SMALL_REFERENCES,
        metrics=[("tpr", "difference"), ("ppv", "ratio")],
        n_boot=100,
    )
    for e in p.entries:
        np.testing.assert_array_equal(e.candidate_boot, e.baseline_boot)
    changes = regression_changes(p, "tpr", "difference", -0.1, 0.1)
    assert len(changes) == 1 + 2 + 5  # every group but the reference, in each grouping
    for c in changes:
        assert (c.change, c.ci_low, c.ci_high, c.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_the_same_seed_gives_the_same_result_and_another_seed_other_replicates():
    frame = simulate_pair(1, change=-0.05)
    a, b, c = (paired(frame, seed=s) for s in (7, 7, 8))
    assert regression_changes(a, "selection_rate", "difference", -0.1, math.inf) == (
        regression_changes(b, "selection_rate", "difference", -0.1, math.inf)
    )
    assert not np.array_equal(a.entries[0].candidate_boot, c.entries[0].candidate_boot)


def test_the_attributes_filter_keeps_the_groupings_asked():
    p = paired_disparities(
        small_table(6),
        y_true="y",
        candidate="cand",
        baseline="base",
        groups=["sex", "age"],
        intersections=2,
        references=SMALL_REFERENCES,
        metrics=SELECTION,
        n_boot=20,
    )
    changes = regression_changes(
        p, "selection_rate", "difference", -0.1, 0.1, attributes=[["sex", "age"]]
    )
    assert {c.attributes for c in changes} == {("sex", "age")}
    assert regression_changes(p, "selection_rate", "difference", -0.1, 0.1, attributes=[]) == []
    with pytest.raises(KeyError, match="tpr difference"):  # not computed: a caller's mistake
        regression_changes(p, "tpr", "difference", -0.1, 0.1)


# --- every record: intervals hold their estimate, no NaN ----------------------------------------


def random_table(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Small, lopsided audits: groups of 1-5 people, rates of 0 and 1, empty cells, weights."""
    n = int(rng.integers(8, 120))
    sizes = rng.integers(1, 6, size=2)
    a = np.r_[np.repeat(["x", "y"], sizes), rng.choice(["x", "y", "z"], n)]
    b = rng.choice(["p", "q"], a.size, p=[0.8, 0.2])
    p_pos = rng.choice([0.0, 0.3, 1.0], p=[0.15, 0.7, 0.15])
    y = (rng.random(a.size) < p_pos).astype(int)
    base = (rng.random(a.size) < rng.choice([0.0, 0.4, 1.0], p=[0.2, 0.6, 0.2])).astype(int)
    cand = np.where(rng.random(a.size) < 0.3, 1 - base, base)
    frame = pd.DataFrame({"a": a, "b": b, "y": y, "base": base, "cand": cand})
    if rng.random() < 0.5:
        frame["w"] = rng.choice([0.5, 1.0, 3.0], a.size)
    refs = {("a",): ("z",), ("b",): ("p",)}
    present = set(zip(a, b, strict=True))
    refs[("a", "b")] = ("z", "p") if ("z", "p") in present else sorted(present)[0]
    return frame, refs


def test_every_interval_contains_its_estimate_and_nothing_is_nan():
    rng = np.random.default_rng(2024)
    metrics = [(m, k) for m in METRIC_NAMES for k in ("difference", "ratio")]
    bounds = [(-0.1, 0.1), (0.8, math.inf), (-math.inf, 0.05)]
    checked = 0
    for case in range(60):
        frame, refs = random_table(rng)
        if frame["a"].nunique() < 2 or frame["b"].nunique() < 2:
            continue
        p = paired_disparities(
            frame,
            y_true="y",
            candidate="cand",
            baseline="base",
            groups=["a", "b"],
            intersections=2,
            references=refs,
            metrics=metrics,
            weight="w" if "w" in frame else None,
            n_boot=40,
            bootstrap="stratified" if case % 2 else "multinomial",
            seed=case,
            min_group_size=10,
        )
        sizes = _sizes(frame)
        for (metric, kind), (low, high) in itertools.product(metrics, bounds):
            for c in regression_changes(p, metric, kind, low, high):
                numbers = (c.candidate, c.baseline, c.change, c.ci_low, c.ci_high, c.p_value)
                assert all(x is None or math.isfinite(x) for x in numbers)
                if c.change is None:
                    assert c.ci_low is c.ci_high is c.p_value is None
                    continue
                assert c.candidate is not None and c.baseline is not None
                if c.ci_low is not None:
                    assert c.ci_high is not None and c.ci_low <= c.change <= c.ci_high
                    checked += 1
                if c.p_value is not None:
                    assert 0.0 <= c.p_value <= 1.0
                assert c.n_rows == sizes[c.attributes, c.levels]
                assert c.reliable == (
                    c.n_rows >= 10 and sizes[c.attributes, c.reference_levels] >= 10
                )
    assert checked > 5000


def _sizes(frame: pd.DataFrame) -> dict[tuple[tuple[str, ...], tuple[str, ...]], int]:
    """Rows of every group of every grouping, straight from the table."""
    sizes = {}
    for attrs in (["a"], ["b"], ["a", "b"]):
        for key, rows in frame.groupby(attrs).size().items():
            sizes[tuple(attrs), key if isinstance(key, tuple) else (key,)] = int(rows)
    return sizes


def test_without_replicates_the_change_has_no_interval_and_no_p_value():
    c = group_change(simulate_pair(2, change=-0.1), n_boot=0)
    assert c.candidate is not None and c.baseline is not None
    assert c.change == pytest.approx(c.baseline - c.candidate)  # badness of ">= low" is -value
    assert c.ci_low is None and c.ci_high is None and c.p_value is None


# --- input ------------------------------------------------------------------------------------


def test_a_baseline_that_decides_the_same_for_everyone_is_compared():
    frame = simulate_pair(3).assign(base=False)
    c = group_change(frame)
    assert c.baseline == 0.0 and c.candidate is not None
    assert c.change == pytest.approx(-c.candidate)


def test_labels_of_any_coding_with_the_positive_label():
    frame = simulate_pair(4, change=-0.1)
    coded = frame.assign(
        y=np.where(frame["y"] == 1, "hired", "not"),
        cand=np.where(frame["cand"], "yes", "no"),
        base=np.where(frame["base"], "yes", "no"),
    )
    with pytest.raises(AuditInputError, match="positive class"):
        group_change(coded)
    # Outcome and decisions share one positive label in this engine, as in `assess`.
    coded = coded.assign(y=np.where(frame["y"] == 1, "yes", "no"))
    assert group_change(coded, pos_label="yes") == group_change(frame)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(baseline="nope"), "baseline decision column 'nope': expected a column"),
        (dict(metrics=[("auc", "difference")]), "score metrics"),
        (dict(metrics=[("tpr", "odds")]), "kind 'odds'"),
        (dict(references={}), "reference of g: expected a reference group"),
        (dict(references={("g",): ("other",)}), "reference group 'other' of g"),
        (dict(intersections=2), "option intersections"),
        (dict(baseline="g"), "decision columns other than the group columns"),
        (dict(n_boot=-1), "n_boot >= 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(options, message):
    with pytest.raises(AuditInputError, match=message):
        paired(simulate_pair(0), **options)


def test_a_rule_without_a_finite_bound_is_refused():
    p = paired(simulate_pair(0))
    with pytest.raises(AuditInputError, match="a finite lower or upper bound"):
        regression_changes(p, "selection_rate", "difference", -math.inf, math.inf)
