"""Metric keys: readable for ordinary labels, distinct for distinct labels, always valid in MLflow,
and decodable from a real store back to the records they came from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, _validate_metric_name

from audit.disclosure import suppress
from audit.stats.assess import assess
from audit.tracking.naming import (
    COMPONENT_CHARS,
    KEY_FILE,
    decode_key,
    encode_name,
    flatten_metrics,
    metric_key,
    metric_key_document,
)

# Labels that collided or broke logging before: `<25`/`>25` and `a/b`/`a_b`/`a|b` shared a key,
# `..` and a 5,000-character level made MLflow refuse the batch.
HOSTILE = ["<25", ">25", "a/b", "a_b", "a|b", "..", ".", "x" * 5000, "x" * 4999 + "y", "", " "]
STEMS = ["tpr", "selection_rate.difference.ci_low", "average_abs_odds_difference.ratio.p_adjusted"]


def valid(key: str) -> None:
    _validate_metric_name(key)  # MLflow's own check: characters, path segments
    assert len(key) <= MAX_ENTITY_KEY_LENGTH
    assert ":" not in key  # refused by MLflow on Windows


def test_ordinary_labels_keep_their_readable_keys() -> None:
    assert metric_key("tpr", ("housing_status",), ("homeless",)) == "tpr/housing_status.homeless"
    assert metric_key("tpr", ("age band", "x"), ("25-44", "1.5")) == "tpr/age band.25-44/x.1.5"
    assert [encode_name(t) for t in ("<25", ">25", "45+", "a/b", "a_b", "a|b")] == [
        "_x3c25",
        "_x3e25",
        "45_x2b",
        "a_x2fb",
        "a_b",
        "a_x7cb",
    ]


def test_hostile_labels_get_distinct_valid_keys() -> None:
    keys = [metric_key(stem, ("a", ".."), (v, v)) for stem in STEMS for v in HOSTILE]
    assert len(set(keys)) == len(keys)
    for key in keys:
        valid(key)


labels = st.text(st.characters(codec=None), max_size=300)


def fits(text: str, *, attribute: bool = False) -> bool:
    """Short enough to be spelled out in a key rather than shortened with a hash."""
    return len(encode_name(text, attribute=attribute, budget=10**9)) <= COMPONENT_CHARS


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(labels, labels), min_size=2, max_size=8, unique=True))
def test_encoding_is_injective_and_every_key_is_accepted_by_mlflow(
    pairs: list[tuple[str, str]],
) -> None:
    keys = [metric_key("tpr.difference", (a,), (v,)) for a, v in pairs]
    assert len(set(keys)) == len(keys)
    for key, (a, v) in zip(keys, pairs, strict=True):
        valid(key)
        decoded = decode_key(key)
        assert decoded is not None
        stem, ((attribute, level),) = decoded
        assert stem == "tpr.difference"
        # A shortened name decodes to None (metric_keys.json has it); any other to itself.
        assert attribute in (a, None) and level in (v, None)
        if fits(a, attribute=True) and fits(v):
            assert (attribute, level) == (a, v)


@settings(max_examples=100, deadline=None)
@given(st.lists(labels, min_size=1, max_size=3), st.lists(labels, min_size=3, max_size=3))
def test_intersection_keys_stay_within_250_characters(
    attributes: list[str], levels: list[str]
) -> None:
    key = metric_key(STEMS[2], tuple(attributes), tuple(levels[: len(attributes)]))
    valid(key)
    summary = metric_key("demographic_parity_difference", tuple(attributes), None)
    valid(summary)
    assert summary != key


def test_the_separators_cannot_be_spelled_by_a_label() -> None:
    # An attribute with a dot, or a level with a slash, would otherwise read as another split.
    assert metric_key("m", ("a.b",), ("c",)) != metric_key("m", ("a",), ("b.c",))
    assert metric_key("m", ("a", "b"), ("c", "d")) != metric_key("m", ("a",), ("c/b.d",))
    # A label spelling an escape is escaped itself.
    assert metric_key("m", ("a",), ("_x3c",)) != metric_key("m", ("a",), ("<",))
    assert decode_key(metric_key("m", ("a",), ("_x3c",))) == ("m", (("a", "_x3c"),))


@pytest.fixture
def hostile_assessment():
    rng = np.random.default_rng(4)
    n = 3000
    levels = ["<25", ">25", "a/b", "a_b", "a|b", "..", "[red]", "Zürich", "q" * 5000]
    frame = pd.DataFrame(
        {
            "..": rng.choice(levels, n),
            "x/y": rng.choice(["p", "q"], n),
            "y": rng.integers(0, 2, n),
            "d": rng.integers(0, 2, n),
        }
    )
    result = assess(frame, y_true="y", y_pred="d", groups=["..", "x/y"], intersections=2, n_boot=20)
    return suppress(result)


def test_logged_keys_decode_back_to_their_records_in_a_real_store(
    tmp_path: Path, hostile_assessment
) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    run_id = client.create_run(client.create_experiment("keys")).info.run_id
    metrics = flatten_metrics(hostile_assessment)
    entries = [Metric(k, v, 0, 0) for k, v in metrics.items()]
    for start in range(0, len(entries), 1000):
        client.log_batch(run_id, metrics=entries[start : start + 1000])
    (tmp_path / KEY_FILE).write_text(metric_key_document(hostile_assessment), encoding="utf-8")
    client.log_artifact(run_id, str(tmp_path / KEY_FILE))

    stored = client.get_run(run_id).data.metrics
    assert len(stored) == len(metrics)  # nothing lost to a shared key
    local = client.download_artifacts(run_id, KEY_FILE, str(tmp_path / "down"))
    mapping = json.loads(Path(local).read_text(encoding="utf-8"))["keys"]
    assert set(mapping) == set(stored)
    tables = {
        "metrics": {
            (m.metric, None, m.attributes, m.levels): m for m in hostile_assessment.metrics
        },
        "disparities": {
            (d.metric, d.kind, d.attributes, d.levels): d for d in hostile_assessment.disparities
        },
        "summaries": {
            (s.measure, None, s.attributes, None): s for s in hostile_assessment.summaries
        },
    }
    for key, value in stored.items():
        entry = mapping[key]
        levels = None if entry["levels"] is None else tuple(entry["levels"])
        record = tables[entry["table"]][
            (entry["metric"], entry["kind"], tuple(entry["attributes"]), levels)
        ]
        assert getattr(record, entry["field"]) == pytest.approx(value)
        decoded = decode_key(key)
        assert decoded is not None
        attrs = tuple(a for a, _ in decoded[1])
        if None not in attrs:  # names short enough to decode from the key alone
            assert attrs == tuple(entry["attributes"])
    long_level = next(k for k in stored if "qqqq" in k)
    assert len(long_level) <= MAX_ENTITY_KEY_LENGTH


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 900
    return pd.DataFrame(
        {
            "age": rng.choice(["<25", "25-49", "50+"], n),
            "sex": rng.choice(["f", "m"], n),
            "y": rng.integers(0, 2, n),
            "d": rng.integers(0, 2, n),
        }
    )


def test_keys_are_the_documented_names_with_unsafe_characters_replaced() -> None:
    frame = _frame()
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["age", "sex"],
        intersections=2,
        reference={"age": "25-49", "sex": "m"},
        n_boot=0,
    )
    keys = flatten_metrics(result)
    rate = frame.groupby("age")["d"].mean()
    # The names of the module docstring, spelled out: `<` and `+` are escaped as _xHH.
    assert keys["selection_rate/age._x3c25"] == pytest.approx(rate["<25"])
    assert keys["selection_rate/age.50_x2b"] == pytest.approx(rate["50+"])
    assert keys["selection_rate/age.25-49"] == pytest.approx(rate["25-49"])
    assert keys["selection_rate.difference/age.50_x2b"] == pytest.approx(rate["50+"] - rate["25-49"])
    assert keys["selection_rate.ratio/age._x3c25"] == pytest.approx(rate["<25"] / rate["25-49"])
    for stem in ("selection_rate.difference.ci_low", "selection_rate.difference.ci_high"):
        assert f"{stem}/age.50_x2b" in keys
    assert "selection_rate.difference.p_adjusted/age.50_x2b" in keys
    assert keys["demographic_parity_difference/age"] == pytest.approx(rate.max() - rate.min())
    both = frame[(frame["age"] == "50+") & (frame["sex"] == "f")]
    assert keys["tpr/age.50_x2b/sex.f"] == pytest.approx(both.loc[both["y"] == 1, "d"].mean())
    assert "demographic_parity_difference/age/sex" in keys
    for key in keys:
        _validate_metric_name(key)  # raises on a name MLflow would refuse
