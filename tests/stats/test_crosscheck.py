"""Our point estimates against fairlearn's `MetricFrame` and aif360's `ClassificationMetric`.

Where the libraries compute the same thing, the numbers must agree to 1e-9 on randomised data:
every attribute alone and every intersection, with and without sample weights. Where they do not
compute the same thing, the difference is stated and asserted here, so that it stays deliberate:

- A rate whose denominator is empty (TPR in a group where no one has the outcome) is undefined.
  We report `value=None` with an `undefined_reason`; fairlearn (via scikit-learn) reports 0 and
  aif360 reports NaN. Because fairlearn's 0 is a number, its between-group summaries count that
  group; ours leave it out, as they leave out any undefined group.
- An empty intersection (no rows) is not a group for us; fairlearn lists it with NaN.
"""

from __future__ import annotations

import functools
import itertools
import logging
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.stats.assess import assess
from audit.stats.result import Assessment, MetricValue

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")
logging.getLogger().setLevel(logging.ERROR)  # aif360 logs a warning per missing optional extra
aif360_datasets = pytest.importorskip("aif360.datasets")
aif360_metrics = pytest.importorskip("aif360.metrics")

MetricFrame = fairlearn_metrics.MetricFrame
TOL = 1e-9
ATTRIBUTES = ("region", "age_band", "disability")
GROUPINGS = [c for r in (1, 2, 3) for c in itertools.combinations(ATTRIBUTES, r)]
REGIONS = ["north", "south", "east", "west", "centre"]
AGE_BANDS = ["<25", "25-49", "50+"]


# -- data ------------------------------------------------------------------------------------
def make_table(
    seed: int,
    n: int = 3000,
    *,
    weighted: bool = False,
    missing: bool = False,
) -> pd.DataFrame:
    """Decisions whose base and selection rates differ by group, so disparities are not all 0.

    Three attributes of 5, 3 and 3 levels: text, a pandas categorical, and integers (whose levels
    are the text of the numbers). Scores lie on the 1/1000 grid, its ends included.
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    age = rng.choice(AGE_BANDS, n, p=[0.2, 0.5, 0.3])
    disability = rng.choice([0, 1, 2], n, p=[0.7, 0.2, 0.1])
    effect = rng.normal(0, 0.6, (5, 3, 3))
    r_code = np.searchsorted(sorted(REGIONS), region)
    a_code = np.searchsorted(sorted(AGE_BANDS), age)
    logit = effect[r_code, a_code, disability]
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit - 0.3)))).astype(int)
    latent = 1.2 * y + 0.5 * logit + rng.normal(0, 1, n)
    # The score histogram holds every point of the grid 0, 0.001, ..., 1 apart, so AUC on
    # grid-valued scores is exact; the ends of the grid are seeded on purpose.
    score = np.round(1 / (1 + np.exp(-latent)), 3)
    score[rng.choice(n, 10, replace=False)] = rng.choice([0.0, 0.001, 0.999, 1.0], 10)
    table = pd.DataFrame(
        {
            "region": region.astype(object),
            "age_band": pd.Categorical(age, categories=AGE_BANDS),
            "disability": disability,
            "y": y,
            "d": (score > 0.5).astype(int) ^ (rng.random(n) < 0.1),
            "score": score,
        }
    )
    if weighted:
        table["w"] = rng.lognormal(0, 0.7, n)
    if missing:
        table.loc[rng.random(n) < 0.03, "region"] = None
    return table


def fairlearn_features(table: pd.DataFrame, attributes: tuple[str, ...]) -> pd.DataFrame:
    """The same groups as ours: a missing value is the level "unknown" (fairlearn rejects NaN)."""
    return table[list(attributes)].apply(
        lambda c: c.astype(object).where(c.notna(), "unknown") if c.isna().any() else c
    )


def level_key(index_value: object) -> tuple[str, ...]:
    if isinstance(index_value, tuple):
        return tuple(map(str, index_value))
    return (str(index_value),)


def metric_index(
    result: Assessment,
) -> dict[tuple[str, tuple[str, ...], tuple[str, ...]], MetricValue]:
    return {(m.metric, m.attributes, m.levels): m for m in result.metrics}


# -- fairlearn / scikit-learn equivalents of our metrics -------------------------------------
def _base_rate(y_true, y_pred, sample_weight=None):  # type: ignore[no-untyped-def]
    return fairlearn_metrics.selection_rate(y_true, y_true, sample_weight=sample_weight)


def _total_weight(y_true, y_pred, sample_weight):  # type: ignore[no-untyped-def]
    return float(np.sum(sample_weight))


def _roc_auc(y_true, y_score, sample_weight=None):  # type: ignore[no-untyped-def]
    if len(np.unique(y_true)) < 2:
        return np.nan  # scikit-learn raises; both classes are needed
    return skm.roc_auc_score(y_true, y_score, sample_weight=sample_weight)


# Ours -> a function of (y_true, y_pred, sample_weight) from fairlearn or scikit-learn.
# precision with pos_label=0 is the negative predictive value.
EQUIVALENTS: dict[str, Callable[..., float]] = {
    "selection_rate": fairlearn_metrics.selection_rate,
    "base_rate": _base_rate,
    "tpr": functools.partial(skm.recall_score, zero_division=0),
    "fpr": fairlearn_metrics.false_positive_rate,
    "fnr": fairlearn_metrics.false_negative_rate,
    "tnr": fairlearn_metrics.true_negative_rate,
    "ppv": functools.partial(skm.precision_score, zero_division=0),
    "npv": functools.partial(skm.precision_score, pos_label=0, zero_division=0),
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}
# Where our value is undefined, what fairlearn / scikit-learn report instead.
UNDEFINED_IN_FAIRLEARN: dict[str, float | None] = {
    name: 0.0 for name in ("selection_rate", "base_rate", "tpr", "fpr", "fnr", "tnr", "ppv", "npv")
} | {"accuracy": 0.0, "balanced_accuracy": None}  # None: some other number, with a warning


def fairlearn_frames(
    table: pd.DataFrame, attributes: tuple[str, ...], weight: str | None
) -> tuple[pd.DataFrame, pd.Series]:
    """fairlearn's by-group table for our metrics (plus counts), and its by-group AUC."""
    features = fairlearn_features(table, attributes)
    metrics: dict[str, Callable[..., float]] = dict(EQUIVALENTS)
    metrics["count"] = fairlearn_metrics.count
    params = None
    if weight is not None:
        metrics["weight"] = _total_weight
        params = {
            name: {"sample_weight": table[weight].to_numpy()} for name in metrics if name != "count"
        }
    auc_params = None if weight is None else {"sample_weight": table[weight].to_numpy()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns on one-class groups; checked below
        frame = MetricFrame(
            metrics=metrics,
            y_true=table["y"],
            y_pred=table["d"],
            sensitive_features=features,
            sample_params=params,
        ).by_group
        auc = MetricFrame(
            metrics=_roc_auc,
            y_true=table["y"],
            y_pred=table["score"],
            sensitive_features=features,
            sample_params=auc_params,
        ).by_group
    return frame, auc


def assert_matches_fairlearn(
    result: Assessment, table: pd.DataFrame, attributes: tuple[str, ...], weight: str | None
) -> int:
    """Compares every group of one grouping; returns how many values were compared."""
    ours = metric_index(result)
    groups = {g.levels: g for g in result.groups if g.attributes == attributes}
    frame, auc = fairlearn_frames(table, attributes, weight)
    fair_groups = set()
    compared = 0
    for index_value, row in frame.iterrows():
        key = level_key(index_value)
        if not row["count"] > 0:
            assert key not in groups, f"empty intersection {key} reported as a group"
            continue
        fair_groups.add(key)
        assert groups[key].n_rows == row["count"]
        if weight is not None:
            assert groups[key].weight == pytest.approx(row["weight"], rel=TOL, abs=TOL)
        for name in EQUIVALENTS:
            mine = ours[(name, attributes, key)]
            if mine.value is None:
                assert mine.undefined_reason, (name, key)
                fair = UNDEFINED_IN_FAIRLEARN[name]
                if fair is not None:
                    assert row[name] == fair, (name, key, row[name])
                continue
            assert mine.undefined_reason is None
            assert abs(mine.value - row[name]) <= TOL, (name, key, mine.value, row[name])
            compared += 1
        mine_auc = ours[("auc", attributes, key)]
        fair_auc = auc[index_value]
        if mine_auc.value is None:
            assert np.isnan(fair_auc) and mine_auc.undefined_reason
        else:
            assert abs(mine_auc.value - fair_auc) <= TOL, ("auc", key, mine_auc.value, fair_auc)
            compared += 1
    assert fair_groups == set(groups)
    return compared


# -- fairlearn: group metrics ----------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_group_metrics_equal_fairlearn_for_every_intersection(seed, weighted):
    """Each attribute, each pair and the triple: every metric of every group equals fairlearn's."""
    table = make_table(seed, n=2500 if seed else 400, weighted=weighted, missing=seed == 2)
    weight = "w" if weighted else None
    result = assess(
        table,
        y_true="y",
        y_pred="d",
        groups=list(ATTRIBUTES),
        score="score",
        weight=weight,
        intersections=3,
        n_boot=0,
    )
    compared = sum(assert_matches_fairlearn(result, table, g, weight) for g in GROUPINGS)
    assert compared > 500  # the comparison is not vacuous


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    n=st.integers(min_value=2, max_value=60),
    weighted=st.booleans(),
)
def test_group_metrics_equal_fairlearn_on_small_random_tables(data, n, weighted):
    """Tiny tables hit the edge cases: one-class groups, groups of one row, all-0 decisions."""
    draw = data.draw
    levels = st.sampled_from(["a", "b", "c"])
    table = pd.DataFrame(
        {
            "g": draw(st.lists(levels, min_size=n, max_size=n)),
            "h": draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n)),
            "y": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "d": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "score": draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)),
        }
    )
    table["score"] = table["score"] / 1000  # the whole grid 0..1, ends included
    if weighted:
        table["w"] = draw(st.lists(st.integers(1, 20), min_size=n, max_size=n))
        table["w"] = table["w"] / 4
    if table["g"].nunique() < 2 or table["h"].nunique() < 2:
        return  # a single-level attribute is an input error, tested elsewhere
    weight = "w" if weighted else None
    result = assess(
        table,
        y_true="y",
        y_pred="d",
        groups=["g", "h"],
        score="score",
        weight=weight,
        intersections=2,
        n_boot=0,
        min_group_size=1,
    )
    for attributes in [("g",), ("h",), ("g", "h")]:
        assert_matches_fairlearn(result, table, attributes, weight)


# -- fairlearn: summaries --------------------------------------------------------------------
SUMMARIES_VS_FAIRLEARN = {
    "demographic_parity_difference": fairlearn_metrics.demographic_parity_difference,
    "demographic_parity_ratio": fairlearn_metrics.demographic_parity_ratio,
    "equalized_odds_difference": fairlearn_metrics.equalized_odds_difference,
    "equalized_odds_ratio": fairlearn_metrics.equalized_odds_ratio,
    "equal_opportunity_difference": fairlearn_metrics.equal_opportunity_difference,
    "equal_opportunity_ratio": fairlearn_metrics.equal_opportunity_ratio,
    # The four-fifths rule's value is the lowest selection rate over the highest.
    "four_fifths_rule": fairlearn_metrics.demographic_parity_ratio,
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("seed", [3, 4])
def test_summaries_equal_fairlearn(seed, weighted):
    table = make_table(seed, n=6000, weighted=weighted)
    weight = "w" if weighted else None
    sample_weight = None if weight is None else table[weight].to_numpy()
    result = assess(
        table,
        y_true="y",
        y_pred="d",
        groups=list(ATTRIBUTES),
        score="score",
        weight=weight,
        intersections=3,
        n_boot=0,
    )
    # fairlearn counts an undefined TPR or FPR as 0, we leave the group out (see
    # test_undefined_rates_are_none_not_zero); on this data every rate is defined.
    assert all(
        m.value is not None for m in result.metrics if m.metric in ("tpr", "fpr", "selection_rate")
    )
    for attributes in GROUPINGS:
        features = fairlearn_features(table, attributes)
        for measure, fair_fn in SUMMARIES_VS_FAIRLEARN.items():
            fair = fair_fn(
                table["y"], table["d"], sensitive_features=features, sample_weight=sample_weight
            )
            mine = result.summary(measure, attributes).value
            assert mine is not None
            assert abs(mine - fair) <= TOL, (measure, attributes, mine, fair)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc = MetricFrame(
                metrics=_roc_auc,
                y_true=table["y"],
                y_pred=table["score"],
                sensitive_features=features,
                sample_params=None if weight is None else {"sample_weight": sample_weight},
            )
        mine = result.summary("auc_difference", attributes).value
        assert mine is not None
        assert abs(mine - auc.difference()) <= TOL, (attributes, mine, auc.difference())


# -- aif360 ----------------------------------------------------------------------------------
def aif360_datasets_for(table: pd.DataFrame, attributes: tuple[str, ...], weight: str | None):  # type: ignore[no-untyped-def]
    """aif360 needs numeric protected attributes: code each level by its rank in our level order."""
    codes = {}
    frame = pd.DataFrame(index=table.index)
    features = fairlearn_features(table, attributes)
    for attribute in attributes:
        text = features[attribute].astype(str)
        levels = sorted(text.unique())
        codes[attribute] = {level: float(i) for i, level in enumerate(levels)}
        frame[attribute] = text.map(codes[attribute]).astype(float)
    frame["y"] = table["y"].astype(float)
    if weight is not None:
        frame["w"] = table[weight].astype(float)
    truth = aif360_datasets.BinaryLabelDataset(
        df=frame,
        label_names=["y"],
        protected_attribute_names=list(attributes),
        instance_weights_name="w" if weight is not None else None,
        favorable_label=1.0,
        unfavorable_label=0.0,
    )
    decided = truth.copy()
    decided.labels = table["d"].to_numpy(dtype=float).reshape(-1, 1)
    return truth, decided, codes


def assert_matches_aif360(
    result: Assessment,
    table: pd.DataFrame,
    attributes: tuple[str, ...],
    weight: str | None,
    privileged: tuple[str, ...] | None = None,
) -> int:
    """Our disparities against aif360's; `privileged`, when given, is chosen by the caller."""
    truth, decided, codes = aif360_datasets_for(table, attributes, weight)
    groups = [g for g in result.groups if g.attributes == attributes]
    (reference,) = [g.levels for g in groups if g.is_reference]
    if privileged is not None:
        assert reference == privileged, (attributes, reference, privileged)
        reference = privileged

    def as_condition(levels: tuple[str, ...]) -> list[dict[str, float]]:
        return [{a: codes[a][lv] for a, lv in zip(attributes, levels, strict=True)}]

    compared = 0
    for group in groups:
        if group.is_reference:
            continue
        levels = group.levels
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # aif360 divides by zero -> NaN
            metric = aif360_metrics.ClassificationMetric(
                truth,
                decided,
                unprivileged_groups=as_condition(levels),
                privileged_groups=as_condition(reference),
            )
            theirs = {
                ("selection_rate", "ratio"): metric.disparate_impact(),
                ("selection_rate", "difference"): metric.statistical_parity_difference(),
                ("tpr", "difference"): metric.equal_opportunity_difference(),
                ("fpr", "difference"): metric.false_positive_rate_difference(),
            }
            average_odds = metric.average_odds_difference()
        for (name, kind), value in theirs.items():
            mine = result.disparity(name, attributes, levels, kind)
            assert mine.reference_levels == reference
            if mine.value is None:
                assert mine.undefined_reason and not np.isfinite(value), (name, kind, levels)
                continue
            assert abs(mine.value - value) <= TOL, (name, kind, levels, mine.value, value)
            compared += 1
        tpr = result.disparity("tpr", attributes, levels).value
        fpr = result.disparity("fpr", attributes, levels).value
        if tpr is None or fpr is None:
            assert np.isnan(average_odds)
        else:
            assert abs((tpr + fpr) / 2 - average_odds) <= TOL, (levels, average_odds)
            compared += 1
    return compared


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reference_rule", ["largest", "most_advantaged"])
def test_disparities_equal_aif360_with_our_reference_as_privileged(weighted, reference_rule):
    """Disparate impact, statistical parity, equal opportunity and average odds differences.

    The privileged group is our reference group; intersections are aif360 group dicts with two
    (and three) attributes.
    """
    table = make_table(5, n=3000, weighted=weighted, missing=True)
    weight = "w" if weighted else None
    result = assess(
        table,
        y_true="y",
        y_pred="d",
        groups=list(ATTRIBUTES),
        weight=weight,
        intersections=3,
        reference_rule=reference_rule,
        n_boot=0,
    )
    groupings = [("region",), ("age_band",), ("disability",), ("region", "age_band"), ATTRIBUTES]
    compared = sum(assert_matches_aif360(result, table, g, weight) for g in groupings)
    assert compared > 100


def _by_hand(table: pd.DataFrame, column: str, rule: str, weight: str) -> tuple[str, ...]:
    """The reference level by the rule's definition, from the table with pandas."""
    stats_ = table.assign(wd=table[weight] * table["d"]).groupby(column, observed=True).agg(
        rows=("d", "size"), w=(weight, "sum"), wd=("wd", "sum")
    )
    if rule == "largest":
        return (str(stats_["w"].idxmax()),)
    eligible = stats_[stats_["rows"] >= 30]  # the default minimum group size
    rate = eligible["wd"] / eligible["w"]
    best = eligible[rate == rate.max()]
    return (str(best["w"].idxmax()),)  # ties: the larger group


@pytest.mark.parametrize("reference_rule", ["largest", "most_advantaged"])
def test_disparities_equal_aif360_with_a_privileged_group_chosen_by_hand(reference_rule):
    # The privileged group is worked out from the data (most weight, or highest weighted
    # selection rate among groups of 30 rows or more), not read from our result; the reference
    # of an intersection is the one made of its attributes' references.
    table = make_table(7, n=3000, weighted=True)
    result = assess(
        table,
        y_true="y",
        y_pred="d",
        groups=["region", "age_band"],
        weight="w",
        intersections=2,
        reference_rule=reference_rule,
        n_boot=0,
    )
    region = _by_hand(table, "region", reference_rule, "w")
    age = _by_hand(table, "age_band", reference_rule, "w")
    compared = assert_matches_aif360(result, table, ("region",), "w", region)
    compared += assert_matches_aif360(result, table, ("age_band",), "w", age)
    compared += assert_matches_aif360(result, table, ("region", "age_band"), "w", region + age)
    assert compared > 40


def test_explicit_reference_is_aif360_privileged_group_for_an_intersection():
    table = make_table(6, n=3000, weighted=True)
    result = assess(
        table,
        y_true="y",
        y_pred="d",
        groups=["region", "age_band"],
        weight="w",
        intersections=2,
        reference={"region": "south", "age_band": "50+"},
        n_boot=0,
    )
    (reference,) = [
        g.levels for g in result.groups if g.attributes == ("region", "age_band") and g.is_reference
    ]
    assert reference == ("south", "50+")
    assert assert_matches_aif360(result, table, ("region", "age_band"), "w") > 0


# -- undefined rates -------------------------------------------------------------------------
def test_undefined_rates_are_none_not_zero():
    """Group "c": no one has the outcome, so TPR and FNR are undefined, and so is its TPR gap.

    fairlearn reports TPR 0 for that group, aif360 NaN; we report no value, with the reason.
    fairlearn's equal opportunity difference therefore counts a TPR of 0 for "c" (max - 0),
    while ours is the spread over the groups where TPR is defined.
    """
    table = pd.DataFrame(
        {
            "g": ["a"] * 6 + ["b"] * 6 + ["c"] * 4,
            "y": [1, 1, 1, 0, 0, 0] + [1, 1, 0, 0, 0, 0] + [0, 0, 0, 0],
            "d": [1, 1, 0, 1, 0, 0] + [1, 0, 0, 1, 0, 0] + [1, 0, 0, 0],
        }
    )
    result = assess(table, y_true="y", y_pred="d", groups=["g"], n_boot=0, reference={"g": "a"})
    for name in ("tpr", "fnr"):
        mine = result.metric(name, ("g",), ("c",))
        assert mine.value is None
        assert mine.undefined_reason == "no one in the group has the outcome"
    assert result.metric("balanced_accuracy", ("g",), ("c",)).value is None
    gap = result.disparity("tpr", ("g",), ("c",))
    assert gap.value is None
    assert gap.undefined_reason == "no one in the group has the outcome"

    frame = MetricFrame(
        metrics={
            "tpr": fairlearn_metrics.true_positive_rate,
            "fnr": fairlearn_metrics.false_negative_rate,
        },
        y_true=table["y"],
        y_pred=table["d"],
        sensitive_features=table["g"],
    ).by_group
    assert frame.loc["c", "tpr"] == 0.0
    assert frame.loc["c", "fnr"] == 0.0

    fair_eod = fairlearn_metrics.equal_opportunity_difference(
        table["y"], table["d"], sensitive_features=table["g"]
    )
    assert fair_eod == pytest.approx(2 / 3)  # a: 2/3, b: 1/2, c: "0"
    assert result.summary("equal_opportunity_difference", ("g",)).value == pytest.approx(1 / 6)

    truth, decided, codes = aif360_datasets_for(table, ("g",), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        metric = aif360_metrics.ClassificationMetric(
            truth,
            decided,
            unprivileged_groups=[{"g": codes["g"]["c"]}],
            privileged_groups=[{"g": codes["g"]["a"]}],
        )
        assert np.isnan(metric.equal_opportunity_difference())


# -- the top of the score grid -------------------------------------------------------------
def test_auc_separates_scores_0999_and_1():
    """The grid 0, 0.001, ..., 1 has 1001 points, one histogram cell each: a positive at 1.0 ranks
    above a negative at 0.999, as in scikit-learn (0.75 here; a 1000-bin histogram gave 0.625)."""
    table = pd.DataFrame(
        {
            "g": ["a"] * 4 + ["b"] * 4,
            "y": [1, 0, 1, 0] * 2,
            "d": [1, 1, 0, 0] * 2,
            "score": [1.0, 0.999, 0.5, 0.2] * 2,
        }
    )
    result = assess(
        table, y_true="y", y_pred="d", groups=["g"], score="score", n_boot=0, min_group_size=1
    )
    expected = skm.roc_auc_score(table["y"][:4], table["score"][:4])
    assert expected == 0.75
    assert result.metric("auc", ("g",), ("a",)).value == pytest.approx(expected, abs=TOL)
