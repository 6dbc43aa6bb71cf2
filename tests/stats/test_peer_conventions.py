"""Conventions shared with fairlearn, aif360 and scikit-learn, cross-checked against them.

- `pos_label` names the positive class of both label columns whatever their coding.
- Bounds are compared with a tolerance for floating-point representation (exactly 4/5 passes).
- The point-estimate AUC is the exact Mann–Whitney AUC of the scores, off the histogram grid too.
- Every metric has a whole-population value (`Assessment.overall`), like `MetricFrame.overall`.
- aif360's average odds, average absolute odds and average predictive value differences.
"""

from __future__ import annotations

import functools
import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from audit.errors import AuditInputError
from audit.metrics import bounds
from audit.metrics.disparities import four_fifths
from audit.stats.assess import assess, assess_counts, make_settings
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_table
from audit.stats.exact_auc import exact_auc, on_grid
from audit.stats.result import Assessment

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")
logging.getLogger().setLevel(logging.ERROR)  # aif360 logs a warning per missing optional extra
aif360_datasets = pytest.importorskip("aif360.datasets")
aif360_metrics = pytest.importorskip("aif360.metrics")

MetricFrame = fairlearn_metrics.MetricFrame
TOL = 1e-9


def table(seed: int, n: int = 3000, *, weighted: bool = False, decimals: int | None = 4):
    """Two attributes, rates differing by group, scores rounded to `decimals` (None: not at all)."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    age = rng.choice(["<25", "25-49", "50+"], n, p=[0.2, 0.5, 0.3])
    effect = {"north": 0.0, "south": 0.4, "east": -0.3, "west": 0.2}
    logit = np.array([effect[r] for r in region]) + (age == "50+") * -0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    latent = 0.8 * y + 0.6 * logit + rng.normal(0, 1, n)
    score = 1 / (1 + np.exp(-latent))
    if decimals is not None:
        score = np.round(score, decimals)
    frame = pd.DataFrame(
        {
            "region": region,
            "age": age,
            "y": y,
            "d": ((score > 0.55) ^ (rng.random(n) < 0.15)).astype(int),
            "score": score,
        }
    )
    if weighted:
        frame["w"] = rng.lognormal(0, 0.6, n)
    return frame


# -- pos_label -------------------------------------------------------------------------------
FAIRLEARN_RATES = {
    "selection_rate": fairlearn_metrics.selection_rate,
    "tpr": fairlearn_metrics.true_positive_rate,
    "fpr": fairlearn_metrics.false_positive_rate,
    "tnr": fairlearn_metrics.true_negative_rate,
    "fnr": fairlearn_metrics.false_negative_rate,
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_pos_label_0_on_01_labels_matches_fairlearn(weighted):
    """fairlearn's rates with pos_label=0 are ours with pos_label=0, by group and overall."""
    frame = table(0, weighted=weighted)
    weight = "w" if weighted else None
    result = assess(
        frame, y_true="y", y_pred="d", groups=["region"], weight=weight, pos_label=0, n_boot=0
    )
    metrics = {name: functools.partial(fn, pos_label=0) for name, fn in FAIRLEARN_RATES.items()}
    sample = None if weight is None else {m: {"sample_weight": frame["w"]} for m in metrics}
    fair = MetricFrame(
        metrics=metrics,
        y_true=frame["y"],
        y_pred=frame["d"],
        sensitive_features=frame["region"],
        sample_params=sample,
    )
    plain = assess(frame, y_true="y", y_pred="d", groups=["region"], weight=weight, n_boot=0)
    for name in metrics:
        for level, theirs in fair.by_group[name].items():
            mine = result.metric(name, ("region",), (level,)).value
            assert mine == pytest.approx(theirs, abs=TOL), (name, level)
            # The positive class really changed: label 0's TPR is label 1's TNR.
            flipped = {"tpr": "tnr", "tnr": "tpr", "fpr": "fnr", "fnr": "fpr"}.get(name)
            if flipped is not None:
                other = plain.metric(flipped, ("region",), (level,)).value
                assert mine == pytest.approx(other, abs=TOL)
        assert result.overall_metric(name).value == pytest.approx(fair.overall[name], abs=TOL)
    sample_weight = None if weight is None else frame["w"]
    tpr0 = fairlearn_metrics.true_positive_rate(
        frame["y"], frame["d"], pos_label=0, sample_weight=sample_weight
    )
    tpr1 = fairlearn_metrics.true_positive_rate(frame["y"], frame["d"], sample_weight=sample_weight)
    assert abs(tpr0 - tpr1) > 0.05  # the data tells the two codings apart
    assert result.overall_metric("tpr").value == pytest.approx(tpr0, abs=TOL)


@pytest.mark.parametrize(
    ("coding", "positive"),
    [
        (lambda v: v.astype(bool), False),  # booleans, False positive
        (lambda v: v.astype(bool), "false"),  # ... typed on a command line
        (lambda v: v, "0"),  # 0/1 integers, "0" typed on a command line
        (lambda v: v.astype(float), 0.0),  # 0/1 floats
        (lambda v: np.where(v == 1, "hired", "not hired"), "not hired"),  # text
    ],
    ids=["bool", "bool-text", "int-text", "float", "text"],
)
def test_pos_label_is_honoured_for_every_coding(coding, positive):
    """The same people, coded five ways, with class 0 positive: the same rates as recoding."""
    frame = table(1, n=800)
    recoded = frame.assign(y=1 - frame["y"], d=1 - frame["d"])
    expected = assess(recoded, y_true="y", y_pred="d", groups=["region"], n_boot=0)
    coded = frame.assign(y=coding(frame["y"].to_numpy()), d=coding(frame["d"].to_numpy()))
    result = assess(coded, y_true="y", y_pred="d", groups=["region"], n_boot=0, pos_label=positive)
    assert [m.value for m in result.metrics] == [m.value for m in expected.metrics]
    assert [m.value for m in result.overall] == [m.value for m in expected.overall]


def test_pos_label_1_and_true_are_the_default_coding():
    frame = table(2, n=500)
    default = assess(frame, y_true="y", y_pred="d", groups=["region"], n_boot=0)
    for label in (1, True, "1", "True"):
        result = assess(frame, y_true="y", y_pred="d", groups=["region"], n_boot=0, pos_label=label)
        assert [m.value for m in result.metrics] == [m.value for m in default.metrics]


def test_pos_label_that_names_no_value_is_an_input_error():
    frame = table(3, n=200)
    for label in (2, "job"):
        with pytest.raises(AuditInputError) as err:
            assess(frame, y_true="y", y_pred="d", groups=["region"], n_boot=0, pos_label=label)
        assert str(err.value) == (
            "positive label: expected a value of the outcome or decision column; "
            f"found {label!r}, but both columns are coded 0/1 (or True/False).\n"
            "Hint: pass 1 (or 0) as the positive label, or leave it out"
        )
    # A coded column on its own (encode_binary) names the values it has.
    from audit.stats.encoding import encode_binary

    with pytest.raises(AuditInputError) as err:
        encode_binary(frame["y"], "outcome", 2)
    assert str(err.value) == (
        "outcome column 'y': expected the positive label 2 among its values; "
        "found the values 0, 1.\nHint: check the positive label's spelling"
    )
    with pytest.raises(AuditInputError, match="among its values; found the values True, False"):
        encode_binary(frame["y"].astype(bool), "outcome", "yes")
    text = frame.assign(y=np.where(frame["y"] == 1, "job", "no job"))
    with pytest.raises(AuditInputError, match="expected the positive label 'jobs' among its"):
        assess(text, y_true="y", y_pred="d", groups=["region"], n_boot=0, pos_label="jobs")


def test_a_text_label_leaves_a_01_decision_as_it_is():
    """A text outcome with a 0/1 decision: `pos_label` names the outcome's class only."""
    frame = table(4, n=600)
    text = frame.assign(y=np.where(frame["y"] == 1, "job", "no job"))
    result = assess(text, y_true="y", y_pred="d", groups=["region"], n_boot=0, pos_label="job")
    expected = assess(frame, y_true="y", y_pred="d", groups=["region"], n_boot=0)
    assert [m.value for m in result.metrics] == [m.value for m in expected.metrics]


# -- bounds ----------------------------------------------------------------------------------
def test_four_fifths_passes_at_exactly_four_fifths():
    """5 of 9 against 4 of 9 selected: the ratio is 4/5, computed as 0.7999999999999999."""
    ratio, below = four_fifths(np.array([5 / 9, 4 / 9]))
    assert ratio < 0.8  # the floating-point edge this is about
    assert not below.any()
    frame = pd.DataFrame(
        {"g": ["a"] * 9 + ["b"] * 9, "y": [1, 0] * 9, "d": [1] * 5 + [0] * 4 + [1] * 4 + [0] * 5}
    )
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0, min_group_size=1)
    summary = result.summary("four_fifths_rule", ("g",))
    assert summary.passed is True and summary.detail is None
    ratio, below = four_fifths(np.array([1.0, 0.79]))
    assert below.tolist() == [False, True]
    low = pd.DataFrame(
        {"g": ["a"] * 100 + ["b"] * 100, "y": [1, 0] * 100, "d": [1] * 100 + [1] * 79 + [0] * 21}
    )
    summary = assess(low, y_true="y", y_pred="d", groups=["g"], n_boot=0).summary(
        "four_fifths_rule", ("g",)
    )
    assert summary.value == pytest.approx(0.79)
    assert summary.passed is False
    assert summary.detail == "below 4/5 of the highest selection rate: b"


def test_bounds_tolerate_rounding_only():
    assert not bounds.below(0.7999999999999999, 0.8) and bounds.below(0.79, 0.8)
    assert not bounds.above(0.1 + 0.2, 0.3) and bounds.above(0.30001, 0.3)
    assert bounds.below(0.8 - 1e-6, 0.8)  # a real gap, however small an audit can see, counts
    values = np.array([np.nan, -np.inf, 0.5, 1.0, np.inf])
    assert bounds.below(values, 0.8).tolist() == [False, True, True, False, False]
    assert bounds.above(values, 0.8).tolist() == [False, False, False, True, True]
    assert bounds.below(values, np.inf).tolist() == [False, True, True, True, False]
    assert not bounds.below(values, -np.inf).any() and not bounds.above(values, np.inf).any()
    assert bounds.below(-1.0, -0.05) and not bounds.below(-0.05 + 1e-17, -0.05)
    assert isinstance(bounds.below(0.5, 0.8), bool)


# -- exact AUC -------------------------------------------------------------------------------
def _sklearn_auc(frame: pd.DataFrame, weight: str | None) -> float:
    if frame["y"].nunique() < 2 or (
        weight is not None
        and not (
            frame.loc[frame["y"] == 1, weight].sum() > 0
            and frame.loc[frame["y"] == 0, weight].sum() > 0
        )
    ):
        return np.nan
    w = None if weight is None else frame[weight]
    return float(skm.roc_auc_score(frame["y"], frame["score"], sample_weight=w))


def test_auc_is_exact_for_scores_off_the_grid():
    """Positives at 0.1234, negatives at 0.1231: one grid point, but the exact AUC is 1."""
    frame = pd.DataFrame(
        {"g": ["a", "b"] * 10, "y": [1, 1, 0, 0] * 5, "d": 0, "score": [0.1234] * 2 * 10}
    )
    frame.loc[frame["y"] == 0, "score"] = 0.1231
    result = assess(
        frame, y_true="y", y_pred="d", groups=["g"], score="score", n_boot=200, min_group_size=1
    )
    for level in ("a", "b"):
        auc = result.metric("auc", ("g",), (level,))
        assert auc.value == 1.0
        assert auc.ci_low is not None and auc.ci_high is not None
        assert auc.ci_low <= auc.value <= auc.ci_high  # replicates are shifted onto it
    assert result.overall_metric("auc").value == 1.0
    # The engine boundary: counts alone give the histogram's AUC, rounded to the grid.
    encoded = encode_table(frame, y_true="y", y_pred="d", groups=["g"], score="score")
    settings = make_settings(**{**result.settings.model_dump(), "n_boot": 0})
    from_counts = assess_counts(count_groups(encoded), settings)
    assert from_counts.metric("auc", ("g",), ("a",)).value == 0.5


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "scores",
    ["raw", "raw-with-ties", "5-decimals", "2-decimals"],
)
def test_exact_auc_equals_sklearn_for_every_group_and_intersection(weighted, scores):
    """Every way to the AUC, against scikit-learn with weights, for attributes and their pairs:
    raw floats (sorted rows), raw floats with many ties (sorted rows, ties counted half), five
    decimals (a finer exact histogram) and two decimals (the histogram of the counts)."""
    frame = table(5, n=4000, weighted=weighted, decimals=None)
    if scores == "raw-with-ties":  # half the rows on 20 values shared across classes and groups
        frame.loc[::2, "score"] = np.round(frame.loc[::2, "score"] * 20) / 20
    elif scores == "5-decimals":
        frame["score"] = np.round(frame["score"], 4)
        frame.loc[:200, "score"] = 0.12345  # a large block of ties
    elif scores == "2-decimals":
        frame["score"] = np.round(frame["score"], 2)
    weight = "w" if weighted else None
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["region", "age"],
        score="score",
        weight=weight,
        intersections=2,
        n_boot=0,
    )
    compared = 0
    for attributes in [("region",), ("age",), ("region", "age")]:
        for levels, part in frame.groupby(list(attributes)):
            key = levels if isinstance(levels, tuple) else (levels,)
            mine = result.metric("auc", attributes, tuple(map(str, key))).value
            theirs = _sklearn_auc(part, weight)
            assert mine == pytest.approx(theirs, abs=TOL), (attributes, key)
            compared += 1
    assert compared == 4 + 3 + 12
    assert result.overall_metric("auc").value == pytest.approx(_sklearn_auc(frame, weight), abs=TOL)


def test_exact_auc_handles_one_class_groups_and_unused_levels():
    frame = table(6, n=300, decimals=None)
    frame["region"] = pd.Categorical(
        frame["region"], categories=["zzz", *sorted(frame["region"].unique())]
    )
    frame.loc[frame["region"] == "west", "y"] = 0  # no positives: AUC undefined
    result = assess(
        frame, y_true="y", y_pred="d", groups=["region"], score="score", n_boot=0, min_group_size=1
    )
    assert result.metric("auc", ("region",), ("west",)).value is None
    for level in ("north", "south", "east"):
        theirs = _sklearn_auc(frame[frame["region"] == level], None)
        assert result.metric("auc", ("region",), (level,)).value == pytest.approx(theirs, abs=TOL)


def test_auc_by_group_on_random_sorted_rows_with_ties():
    """The row algorithm alone: small groups, runs of ties inside and across groups, weights."""
    from audit.metrics.scores import auc_by_group

    rng = np.random.default_rng(12)
    for trial in range(40):
        n = int(rng.integers(2, 60))
        group = np.sort(rng.integers(0, 4, n))
        score = rng.integers(0, 6, n).astype(float)  # few values: many ties
        order = np.lexsort((score, group))
        group, score = group[order], score[order]
        ties = np.unique(score, return_inverse=True)[1]
        y = rng.integers(0, 2, n)
        w = rng.integers(1, 5, n) / 2 if trial % 2 else None
        positive = y.astype(np.uint8) if w is None else w * y
        negative = (1 - y).astype(np.uint8) if w is None else w * (1 - y)
        mine = auc_by_group(group, ties, positive, negative, 4)
        for g in range(4):
            rows = group == g
            if len(set(y[rows])) < 2:
                assert np.isnan(mine[g])
                continue
            sw = None if w is None else w[rows]
            theirs = skm.roc_auc_score(y[rows], score[rows], sample_weight=sw)
            assert mine[g] == pytest.approx(theirs, abs=TOL), (trial, g)


def test_scores_on_the_grid_skip_the_exact_pass():
    frame = table(7, n=500, decimals=3)
    encoded = encode_table(frame, y_true="y", y_pred="d", groups=["region"], score="score")
    counts = count_groups(encoded)
    assert on_grid(encoded.score, counts.score_bins)
    assert exact_auc(encoded, counts, [(), (0,)]) is None  # the histogram is exact there
    assert not on_grid(np.array([0.5, 0.1234]), 1000)


# -- overall ---------------------------------------------------------------------------------
OVERALL_VS_FAIRLEARN = {
    "selection_rate": fairlearn_metrics.selection_rate,
    "tpr": functools.partial(skm.recall_score, zero_division=0),
    "fpr": fairlearn_metrics.false_positive_rate,
    "tnr": fairlearn_metrics.true_negative_rate,
    "fnr": fairlearn_metrics.false_negative_rate,
    "ppv": functools.partial(skm.precision_score, zero_division=0),
    "npv": functools.partial(skm.precision_score, pos_label=0, zero_division=0),
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_overall_equals_fairlearn_metricframe_overall(weighted):
    frame = table(8, weighted=weighted, decimals=None)
    weight = "w" if weighted else None
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["region", "age"],
        score="score",
        weight=weight,
        intersections=2,
        n_boot=100,
    )
    sample = (
        None if weight is None else {m: {"sample_weight": frame["w"]} for m in OVERALL_VS_FAIRLEARN}
    )
    fair = MetricFrame(
        metrics=OVERALL_VS_FAIRLEARN,
        y_true=frame["y"],
        y_pred=frame["d"],
        sensitive_features=frame["region"],
        sample_params=sample,
    )
    for name in OVERALL_VS_FAIRLEARN:
        mine = result.overall_metric(name)
        assert mine.attributes == () and mine.levels == ()
        assert mine.value == pytest.approx(fair.overall[name], abs=TOL), name
        assert mine.ci_low is not None and mine.ci_high is not None
        assert mine.ci_low <= mine.value <= mine.ci_high
        assert mine.reliable and mine.ci_method == "bootstrap"
    sw = None if weight is None else frame["w"]
    assert result.overall_metric("auc").value == pytest.approx(
        skm.roc_auc_score(frame["y"], frame["score"], sample_weight=sw), abs=TOL
    )
    names = [m.metric for m in result.overall]
    assert names == list(dict.fromkeys(m.metric for m in result.metrics))  # every metric, once
    assert len(result.to_frame("overall")) == len(names)
    assert Assessment.from_json(result.to_json()).overall == result.overall


@pytest.mark.parametrize("n_boot", [0, 200])
def test_overall_intervals_are_made_as_a_groups_are(n_boot):
    """The whole population of one table is a group of the same table stacked twice: its
    records, intervals included, are the same (counts in cells are what both are made from)."""
    frame = table(9, n=400, weighted=True)
    twice = pd.concat([frame.assign(copy="a"), frame.assign(copy="b")], ignore_index=True)
    kw = dict(
        y_true="y", y_pred="d", score="score", weight="w", n_boot=n_boot, bootstrap="stratified"
    )
    one = assess(frame, groups=["region"], **kw)  # type: ignore[arg-type]
    two = assess(twice, groups=["copy"], **kw)  # type: ignore[arg-type]
    for overall in one.overall:
        group = two.metric(overall.metric, ("copy",), ("a",))
        if n_boot == 0 or overall.ci_method != "bootstrap":
            assert (
                overall.value,
                overall.ci_low,
                overall.ci_high,
                overall.ci_method,
            ) == pytest.approx(
                (group.value, group.ci_low, group.ci_high, group.ci_method), abs=TOL
            ), overall.metric
        else:  # different resamples, same method
            assert overall.ci_method == group.ci_method
        assert overall.denominator_rows == group.denominator_rows


# -- aif360's named disparities ------------------------------------------------------------
def _aif360_metric(frame, privileged, unprivileged, weight):  # type: ignore[no-untyped-def]
    """aif360 on numeric codes of our text levels; groups are dicts of attribute -> level."""
    attributes = list(privileged)
    codes = {
        a: {lv: float(i) for i, lv in enumerate(sorted(frame[a].unique()))} for a in attributes
    }
    data = pd.DataFrame({a: frame[a].map(codes[a]) for a in attributes})
    data["y"] = frame["y"].astype(float)
    if weight is not None:
        data["w"] = frame[weight]
    truth = aif360_datasets.BinaryLabelDataset(
        df=data,
        label_names=["y"],
        protected_attribute_names=attributes,
        instance_weights_name=weight and "w",
        favorable_label=1.0,
        unfavorable_label=0.0,
    )
    decided = truth.copy()
    decided.labels = frame["d"].to_numpy(dtype=float).reshape(-1, 1)

    def group(levels: dict[str, str]) -> list[dict[str, float]]:
        return [{a: codes[a][lv] for a, lv in levels.items()}]

    return aif360_metrics.ClassificationMetric(
        truth, decided, unprivileged_groups=group(unprivileged), privileged_groups=group(privileged)
    )


NAMED = (
    "average_odds_difference",
    "average_abs_odds_difference",
    "average_predictive_value_difference",
)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_named_disparities_equal_aif360_with_a_privileged_group_chosen_by_hand(weighted):
    """aif360's privileged group is picked here (the smallest region, and a small cell), and
    passed to us as the reference; every other group is aif360's unprivileged group in turn."""
    frame = table(10, weighted=weighted)
    weight = "w" if weighted else None
    privileged = {"region": "west", "age": "<25"}
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["region", "age"],
        weight=weight,
        intersections=2,
        reference=privileged,
        n_boot=0,
    )
    compared = 0
    for attributes in [("region",), ("region", "age")]:
        ref = {a: privileged[a] for a in attributes}
        for levels, _ in frame.groupby(list(attributes)):
            key = tuple(map(str, levels if isinstance(levels, tuple) else (levels,)))
            if key == tuple(ref.values()):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                metric = _aif360_metric(frame, ref, dict(zip(attributes, key, strict=True)), weight)
                theirs = {
                    "average_odds_difference": metric.average_odds_difference(),
                    "average_abs_odds_difference": metric.average_abs_odds_difference(),
                    "average_predictive_value_difference": metric.average_predictive_value_difference(),
                }
            for name in NAMED:
                mine = result.disparity(name, attributes, key)
                assert mine.reference_levels == tuple(ref.values())
                assert mine.kind == "difference" and mine.p_value is None
                assert mine.ci_method == "none"  # n_boot=0
                assert mine.value == pytest.approx(theirs[name], abs=TOL), (name, key)
                compared += 1
    assert compared == 3 * (3 + 11)


def test_named_disparities_are_undefined_with_their_components():
    frame = table(11, n=600)
    frame.loc[frame["region"] == "east", "d"] = 0  # no one decided: PPV undefined
    result = assess(
        frame, y_true="y", y_pred="d", groups=["region"], reference={"region": "north"}, n_boot=50
    )
    d = result.disparity("average_predictive_value_difference", ("region",), ("east",))
    assert d.value is None and d.ci_low is None and d.ci_method == "none"
    assert d.undefined_reason == "no one in the group was given the decision"
    assert result.disparity("average_odds_difference", ("region",), ("east",)).value is not None


def test_named_disparity_intervals_find_an_injected_gap_and_contain_their_estimate():
    """A TPR and FPR gap of -0.15 for one group is found (the interval excludes 0); without it
    the interval covers 0 at about its level; every interval contains its estimate."""
    from audit.stats.simulate import simulate_decisions

    found = covered = 0
    runs = 30
    for seed in range(runs):
        kw = dict(
            y_true="y",
            y_pred="d",
            groups=["housing"],
            reference={"housing": "stable"},
            n_boot=200,
            seed=seed,
        )
        biased = assess(simulate_decisions(3000, seed, shift={"housing=unstable": -0.15}), **kw)  # type: ignore[arg-type]
        fair = assess(simulate_decisions(3000, seed), **kw)  # type: ignore[arg-type]
        gap = biased.disparity("average_odds_difference", ("housing",), ("unstable",))
        assert gap.ci_high is not None and gap.ci_method == "bootstrap"
        found += gap.ci_high < 0
        null = fair.disparity("average_odds_difference", ("housing",), ("unstable",))
        assert null.ci_low is not None and null.ci_high is not None
        covered += null.ci_low <= 0 <= null.ci_high
        for result in (biased, fair):
            for d in result.disparities:
                if d.metric in NAMED and d.value is not None:
                    assert d.ci_low is not None and d.ci_high is not None
                    assert d.ci_low <= d.value <= d.ci_high, (seed, d)
            absolute = result.disparity("average_abs_odds_difference", ("housing",), ("homeless",))
            assert absolute.ci_low is not None and absolute.ci_low >= 0
    assert found == runs  # the gap is about 4 standard errors
    assert covered >= runs - 5  # 95% intervals: at most ~1.5 misses expected in 30
