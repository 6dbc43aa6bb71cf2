"""Rates within each level of a legitimate factor: fairlearn's control_features, by hand, known answers."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from audit.stats.assess import assess
from audit.stats.result import Assessment, WithinStratum
from tests.formulas import wilson

Z95 = NormalDist().inv_cdf(0.975)
FAIRLEARN = {
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
}


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
            "b": rng.choice(["p", "q"], n),
            "edu": rng.choice(["low", "mid", "high"], n),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "y": rng.integers(0, 2, n),
            "wt": rng.gamma(2.0, 1.0, n),
        }
    )
    frame["d"] = (rng.random(n) < 0.2 + 0.3 * frame["y"] + 0.1 * (frame["edu"] == "high")).astype(
        int
    )
    # No one of group z in the south, and no one of group y with the outcome in the east.
    frame.loc[(frame["a"] == "z") & (frame["region"] == "south"), "a"] = "x"
    frame.loc[(frame["a"] == "y") & (frame["region"] == "east"), "y"] = 0
    return frame


def run(frame: pd.DataFrame, weight: str | None = None, **options: object) -> Assessment:
    args: dict[str, object] = dict(
        y_true="y",
        y_pred="d",
        groups=["a", "b"],
        weight=weight,
        reference={"a": "y"},
        legitimate_factors=["edu", "region"],
        n_boot=0,
    )
    args.update(options)
    return assess(frame, **args)  # type: ignore[arg-type]


def records(result: Assessment, attribute: str, factor: str) -> list[WithinStratum]:
    return [w for w in result.within_strata if w.attributes == (attribute,) and w.factor == factor]


@pytest.mark.parametrize("weight", [None, "wt"])
def test_matches_fairlearn_control_features(weight):
    frame = table(3000, 1)
    result = run(frame, weight)
    checked = 0
    for attribute in ("a", "b"):
        for factor in ("edu", "region"):
            params = None if weight is None else {"sample_weight": frame[weight].to_numpy()}
            mf = MetricFrame(
                metrics=FAIRLEARN,
                y_true=frame["y"],
                y_pred=frame["d"],
                sensitive_features=frame[attribute],
                control_features=frame[factor],
                sample_params=None if params is None else {m: params for m in FAIRLEARN},
            )
            ours = records(result, attribute, factor)
            for metric in FAIRLEARN:
                by_group = mf.by_group[metric]
                mine = {(w.factor_level, w.levels[0]): w for w in ours if w.metric == metric}
                for (level, group), expected in by_group.items():
                    record = mine.get((level, group))
                    if record is None:  # nobody of that group in that level: no record
                        assert not ((frame[factor] == level) & (frame[attribute] == group)).any()
                        assert np.isnan(expected)
                        continue
                    if record.value is None:
                        # Nobody with the outcome: undefined here; sklearn's recall says 0.
                        assert record.denominator_rows == 0 and record.undefined_reason
                        assert expected == 0.0
                    else:
                        assert record.value == pytest.approx(expected, abs=1e-12)
                    checked += 1
                # fairlearn's difference(): the largest minus the smallest rate of each level
                # (where it counts an undefined rate as 0).
                for level, expected in mf.difference()[metric].items():
                    values = [
                        w.value for w in ours if w.metric == metric and w.factor_level == level
                    ]
                    values = [0.0 if v is None else v for v in values]
                    assert max(values) - min(values) == pytest.approx(expected, abs=1e-12)
    assert checked == len(result.within_strata)
    assert any(w.value is None for w in result.within_strata)  # y has no outcome in the east


def test_intervals_sizes_and_flags_by_hand():
    frame = table(3000, 2)
    result = run(frame, min_group_size=250)
    cell = frame[(frame["a"] == "z") & (frame["edu"] == "mid")]
    ref = frame[(frame["a"] == "y") & (frame["edu"] == "mid")]
    (record,) = [
        w
        for w in records(result, "a", "edu")
        if w.metric == "tpr" and w.levels == ("z",) and w.factor_level == "mid"
    ]
    k1, n1 = cell["d"][cell["y"] == 1].sum(), (cell["y"] == 1).sum()
    k2, n2 = ref["d"][ref["y"] == 1].sum(), (ref["y"] == 1).sum()
    p1, p2 = k1 / n1, k2 / n2
    assert record.value == pytest.approx(p1, abs=1e-12)
    assert (record.ci_low, record.ci_high) == pytest.approx(wilson(k1 / n1, n1), abs=1e-12)
    assert record.difference == pytest.approx(p1 - p2, abs=1e-12)
    (l1, u1), (l2, u2) = wilson(k1 / n1, n1), wilson(k2 / n2, n2)  # Newcombe's method 10
    assert record.difference_ci_low == pytest.approx(
        p1 - p2 - np.hypot(p1 - l1, u2 - p2), abs=1e-12
    )
    assert record.difference_ci_high == pytest.approx(
        p1 - p2 + np.hypot(u1 - p1, p2 - l2), abs=1e-12
    )
    assert (record.n_rows, record.denominator_rows) == (len(cell), n1)
    assert record.reference_n_rows == len(ref) and record.reference_levels == ("y",)
    assert record.reliable == (len(cell) >= 250 and len(ref) >= 250)
    # The reference group is listed with its rates, and is not compared with itself.
    own = [w for w in records(result, "a", "edu") if w.is_reference]
    assert own and all(w.levels == ("y",) and w.difference is None for w in own)
    assert all(w.difference_ci_low is None for w in own)
    # Small cells are flagged, on either side of the comparison.
    for w in result.within_strata:
        assert w.reliable == (w.n_rows >= 250 and w.reference_n_rows >= 250)
    assert {w.reliable for w in result.within_strata} == {True, False}
    assert any(not w.reliable and w.n_rows >= 250 for w in result.within_strata)  # small ref


def test_undefined_rates_say_why():
    result = run(table(3000, 3))
    east = [w for w in records(result, "a", "region") if w.factor_level == "east"]
    tpr_y = next(w for w in east if w.metric == "tpr" and w.levels == ("y",))
    assert tpr_y.value is None
    assert tpr_y.undefined_reason == "no one in the group has the outcome in this factor level"
    tpr_x = next(w for w in east if w.metric == "tpr" and w.levels == ("x",))
    assert tpr_x.value is not None and tpr_x.difference is None
    assert tpr_x.undefined_reason == (
        "reference group: no one in the group has the outcome in this factor level"
    )
    south = [w for w in records(result, "a", "region") if w.factor_level == "south"]
    assert {w.levels for w in south} == {("x",), ("y",)}  # nobody of z there: no record


def test_json_and_tidy_table():
    result = run(table(2000, 4), weight="wt")
    assert Assessment.from_json(result.to_json()) == result
    frame = result.to_frame("within_strata")
    assert len(frame) == len(result.within_strata)
    assert {"grouping", "group", "factor", "factor_level", "difference"} <= set(frame.columns)
    assert run(table(2000, 4), legitimate_factors=[]).to_frame("within_strata").empty


def test_a_gap_in_one_level_only_is_found_there():
    """The decision is 15 points less likely for group z among highly educated people only."""
    found = false_alarms = 0
    seeds = range(20)
    for seed in seeds:
        frame = table(20_000, 100 + seed)
        z_high = ((frame["a"] == "z") & (frame["edu"] == "high")).to_numpy()
        drop = np.random.default_rng(seed).random(len(frame)) < 1 / 3  # 0.45 becomes 0.30
        frame.loc[z_high & drop & (frame["d"] == 1).to_numpy(), "d"] = 0
        result = run(frame)
        for w in records(result, "a", "edu"):
            if w.metric != "selection_rate" or w.levels != ("z",):
                continue
            assert w.difference_ci_low is not None and w.difference_ci_high is not None
            excludes_zero = not (w.difference_ci_low <= 0 <= w.difference_ci_high)
            if w.factor_level == "high":
                found += excludes_zero and w.difference_ci_high < 0
            else:
                false_alarms += excludes_zero
    # About 1,000 z people per level: a 15-point gap is found every time (power > 0.999);
    # the two untouched levels each raise a false alarm 5% of the time, 2 in 40 on average.
    assert found == len(seeds)
    assert false_alarms <= 6
