"""Invariances over every registered metric: row order, group labels, duplicated rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.metrics.definitions import METRIC_NAMES
from audit.stats.assess import assess

GROUPS = ["mh", "housing", "digital"]


def _run(frame: pd.DataFrame, **kw):
    return assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=GROUPS,
        score="s",
        intersections=2,
        n_boot=0,
        reference={"housing": "stable", "mh": "no", "digital": "high"},
        **kw,
    )


def _values(result, table: str) -> pd.Series:
    frame = result.to_frame(table)
    keys = ["grouping", "group", "metric"] + (["kind"] if table == "disparities" else [])
    return frame.set_index(keys)["value"].astype(float).sort_index()


@pytest.fixture
def baseline(decisions):
    return _run(decisions)


def test_every_metric_is_covered(baseline):
    assert set(baseline.to_frame()["metric"]) == set(METRIC_NAMES) | {"auc", "ece"}


def test_row_order_does_not_matter(decisions, baseline):
    shuffled = decisions.sample(frac=1.0, random_state=3).reset_index(drop=True)
    for table in ("metrics", "disparities"):
        pd.testing.assert_series_equal(
            _values(_run(shuffled), table), _values(baseline, table), rtol=1e-12, atol=1e-12
        )


def test_duplicating_every_row_does_not_change_any_value(decisions, baseline):
    doubled = pd.concat([decisions, decisions], ignore_index=True)
    for table in ("metrics", "disparities"):
        pd.testing.assert_series_equal(
            _values(_run(doubled), table), _values(baseline, table), rtol=1e-12, atol=1e-12
        )


def test_renaming_group_labels_only_renames(decisions, baseline):
    names = {"stable": "S", "unstable": "U", "homeless": "H"}
    renamed = decisions.assign(housing=decisions["housing"].map(names))
    result = assess(
        renamed,
        y_true="y",
        y_pred="d",
        groups=["housing"],
        score="s",
        n_boot=0,
        reference={"housing": "S"},
    )
    for old, new in names.items():
        for metric in METRIC_NAMES:
            a = baseline.metric(metric, ("housing",), (old,)).value
            b = result.metric(metric, ("housing",), (new,)).value
            assert a == pytest.approx(b, abs=1e-12)


def test_categorical_and_text_columns_give_the_same_result(decisions, baseline):
    as_cat = decisions.astype({c: "category" for c in GROUPS})
    pd.testing.assert_series_equal(_values(_run(as_cat), "metrics"), _values(baseline, "metrics"))


def test_the_callers_frame_is_not_modified(decisions):
    before = decisions.copy(deep=True)
    with_missing = decisions.assign(
        housing=decisions["housing"].where(np.arange(len(decisions)) % 7 > 0)
    )
    snapshot = with_missing.copy(deep=True)
    _run(decisions)
    _run(with_missing)
    pd.testing.assert_frame_equal(decisions, before)
    pd.testing.assert_frame_equal(with_missing, snapshot)


def test_same_seed_same_intervals_other_seed_other_intervals(decisions):
    a = assess(decisions, y_true="y", y_pred="d", groups=["housing"], n_boot=200, seed=5)
    b = assess(decisions, y_true="y", y_pred="d", groups=["housing"], n_boot=200, seed=5)
    c = assess(decisions, y_true="y", y_pred="d", groups=["housing"], n_boot=200, seed=6)
    assert a == b
    assert (
        a.to_frame("disparities")["ci_low"].tolist() != c.to_frame("disparities")["ci_low"].tolist()
    )
