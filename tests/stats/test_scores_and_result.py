"""Score metrics against brute force and scikit-learn; the result's JSON and schema."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from audit.stats.assess import assess
from audit.stats.result import SCHEMA_VERSION, Assessment, json_schema
from audit.stats.simulate import simulate_decisions

SCHEMA_FILE = Path(__file__).parents[2] / "audit" / "schemas" / f"assessment-{SCHEMA_VERSION}.json"


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    frame = simulate_decisions(4000, seed=3, score=True)
    frame["s"] = np.round(frame["s"], 3)  # on the 1/1000 grid the histogram AUC is exact
    return frame


@pytest.fixture(scope="module")
def result(scored) -> Assessment:
    return assess(
        scored,
        y_true="y",
        y_pred="d",
        groups=["housing", "mh"],
        score="s",
        intersections=2,
        n_boot=200,
        seed=1,
    )


def test_auc_per_group_equals_sklearn(scored, result):
    for level, part in scored.groupby("housing"):
        expected = roc_auc_score(part["y"], part["s"])
        assert result.metric("auc", ("housing",), (str(level),)).value == pytest.approx(
            expected, abs=1e-12
        )


def test_cross_auc_equals_brute_force_pair_count(scored, result):
    a = scored[scored["housing"] == "homeless"]
    b = scored[scored["housing"] == "stable"]
    pos, neg = a.loc[a["y"] == 1, "s"].to_numpy(), b.loc[b["y"] == 0, "s"].to_numpy()
    above = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    row = next(
        x
        for x in result.cross_auc
        if x.positive_levels == ("homeless",) and x.negative_levels == ("stable",)
    )
    assert row.value == pytest.approx(above, abs=1e-12)


def test_calibration_error_and_reliability_table(scored, result):
    part = scored[scored["mh"] == "yes"]
    bins = np.minimum((part["s"] * 10).astype(int), 9)
    table = part.groupby(bins).agg(w=("y", "size"), score=("s", "mean"), rate=("y", "mean"))
    ece = float((table["w"] * (table["score"] - table["rate"]).abs()).sum() / table["w"].sum())
    assert result.metric("ece", ("mh",), ("yes",)).value == pytest.approx(ece, abs=1e-9)
    rows = {r.bin_low: r for r in result.reliability if r.levels == ("yes",)}
    for b, expected in table.iterrows():
        got = rows[float(np.linspace(0, 1, 11)[b])]
        assert got.weight == expected["w"]
        assert got.mean_score == pytest.approx(expected["score"])
        assert got.observed_rate == pytest.approx(expected["rate"])


def test_auc_intervals_contain_the_estimate(result):
    for m in result.metrics:
        if m.metric == "auc" and m.value is not None and m.ci_low is not None:
            assert m.ci_low <= m.value + 1e-9 and m.value - 1e-9 <= m.ci_high


def test_json_round_trip_is_lossless(result, tmp_path):
    path = tmp_path / "result.json"
    result.to_json(path)
    again = Assessment.from_json(path.read_text())
    assert again == result
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_result_holds_only_aggregates(scored, result):
    # No row-level values: the JSON is the same size whatever the number of rows.
    bigger = pd.concat([scored] * 3, ignore_index=True)
    other = assess(
        bigger,
        y_true="y",
        y_pred="d",
        groups=["housing", "mh"],
        score="s",
        intersections=2,
        n_boot=200,
        seed=1,
    )
    assert len(other.metrics) == len(result.metrics)
    assert abs(len(other.to_json()) - len(result.to_json())) < 0.02 * len(result.to_json())


def test_result_is_immutable(result):
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.n_rows = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.metrics[0].value = 0.5  # type: ignore[misc]


def test_published_schema_file_is_current():
    # The schema shipped with the package documents version SCHEMA_VERSION of the JSON result;
    # regenerate it with `python -m audit.stats.result > audit/schemas/...` when models change.
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(json_schema())


def test_to_frame_gives_tidy_tables(result):
    frame = result.to_frame("disparities")
    assert {
        "grouping",
        "group",
        "metric",
        "kind",
        "value",
        "ci_low",
        "ci_high",
        "p_adjusted",
        "significant",
        "detectable",
    } <= set(frame.columns)
    assert set(frame["grouping"]) == {"housing", "mh", "housing × mh"}
    assert result.to_frame("cross_auc").shape[0] == 3 * 3 + 2 * 2
