"""The exact AUC's pair counts when the last finest cell is empty, and the result's lookups,
dictionary, empty tables and schema file, each against an expectation written out by hand (or
scikit-learn's `roc_auc_score`, as the exact-AUC tests already cross-check)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from audit.stats import exact_auc as module
from audit.stats.assess import assess
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_table
from audit.stats.paired import PairedDisparities
from audit.stats.result import SCHEMA_VERSION, Assessment, json_schema

SCHEMA_FILE = Path(__file__).parents[2] / "audit" / "schemas" / f"assessment-{SCHEMA_VERSION}.json"


@pytest.fixture(scope="module")
def empty_last_cell() -> pd.DataFrame:
    """Two attributes, 3 × 2 finest cells; the last one, (c, y), has nobody. Group b has no
    positive at all. Scores at full precision, so the pair counts compute the exact AUC."""
    rng = np.random.default_rng(14)
    n = 400
    a = rng.choice(["a", "b", "c"], n)
    b = rng.choice(["x", "y"], n)
    b[a == "c"] = "x"  # the last finest cell (c, y) stays empty
    y = (rng.random(n) < 0.45).astype(int)
    y[a == "b"] = 0
    score = np.clip(0.3 + 0.25 * y + rng.normal(0, 0.2, n), 0, 1)
    return pd.DataFrame({"A": a, "B": b, "y": y, "d": 0, "s": score})


def _exact(data: pd.DataFrame) -> dict[tuple[str, ...], np.ndarray] | None:
    encoded = encode_table(data, y_true="y", y_pred="d", groups=["A", "B"], score="s")
    counts = count_groups(encoded)
    assert counts.levels == (("a", "b", "c"), ("x", "y"))  # the empty cell is the last one
    assert len(counts.levels[0]) * len(counts.levels[1]) <= module.MAX_PAIR_CELLS
    return module.exact_auc(encoded, counts, [(), (0,), (1,), (0, 1)])


def _sklearn(part: pd.DataFrame) -> float:
    if part["y"].nunique() < 2:
        return float("nan")
    return float(roc_auc_score(part["y"], part["s"]))


def test_exact_auc_with_an_empty_last_cell_equals_sklearn_for_every_grouping(empty_last_cell):
    """Every grouping's exact AUC is scikit-learn's over the group's rows, also when the last
    finest cell has no row (the per-cell positive and negative weights must still cover every
    cell), and a group without positives, or an empty intersection, has none (NaN)."""
    data = empty_last_cell
    out = _exact(data)
    assert out is not None
    assert set(out) == {(), ("A",), ("B",), ("A", "B")}
    np.testing.assert_allclose(out[()], _sklearn(data), rtol=0, atol=1e-12)
    for level, expected in zip("abc", out[("A",)], strict=True):
        np.testing.assert_allclose(
            expected, _sklearn(data[data["A"] == level]), rtol=0, atol=1e-12, equal_nan=True
        )
    assert np.isnan(out[("A",)][1])  # b: no positive
    for level, expected in zip("xy", out[("B",)], strict=True):
        np.testing.assert_allclose(expected, _sklearn(data[data["B"] == level]), atol=1e-12)
    assert out[("A", "B")].shape == (3, 2)
    for i, a in enumerate("abc"):
        for j, b in enumerate("xy"):
            part = data[(data["A"] == a) & (data["B"] == b)]
            np.testing.assert_allclose(
                out[("A", "B")][i, j], _sklearn(part), rtol=0, atol=1e-12, equal_nan=True
            )
    assert np.isnan(out[("A", "B")][2, 1])  # (c, y): nobody


def test_an_undefined_exact_auc_is_nan_without_a_numpy_warning(empty_last_cell):
    """A group without positives has no AUC; computing it (0 pairs over 0) must not print
    numpy's 'invalid value encountered' warning to the user."""
    encoded = encode_table(empty_last_cell, y_true="y", y_pred="d", groups=["A", "B"], score="s")
    counts = count_groups(encoded)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = module.exact_auc(encoded, counts, [(0,)])
    assert out is not None
    assert np.isnan(out[("A",)][1])


@pytest.fixture(scope="module")
def small() -> Assessment:
    """A small unscored audit of two groups: no cross-AUC records."""
    data = pd.DataFrame(
        {
            "g": ["f"] * 40 + ["m"] * 60,
            "y": ([1, 0] * 20) + ([1, 1, 0] * 20),
            "d": ([1, 0, 0, 1] * 10) + ([1, 0, 1] * 20),
        }
    )
    return assess(data, y_true="y", y_pred="d", groups=["g"], n_boot=0, min_group_size=10)


def test_lookups_name_what_was_missing_in_the_key_error(small):
    """A lookup of a row that is not there raises KeyError holding what was asked, so that the
    traceback says which metric, grouping and levels were missing."""
    assert small.metric("selection_rate", ("g",), ("f",)).value == pytest.approx(0.5)
    with pytest.raises(KeyError) as err:
        small.metric("selection_rate", ("g",), ("x",))
    assert err.value.args == (("selection_rate", ("g",), ("x",)),)
    assert small.overall_metric("selection_rate").value == pytest.approx(0.6)
    with pytest.raises(KeyError) as err:
        small.overall_metric("no_such_metric")
    assert err.value.args == ("no_such_metric",)
    with pytest.raises(KeyError) as err:
        small.summary("no_such_measure", ("g",))
    assert err.value.args == (("no_such_measure", ("g",)),)
    with pytest.raises(KeyError) as err:
        small.track_share("job", ("g",), ("f",))
    assert err.value.args == (("job", ("g",), ("f",)),)
    paired = PairedDisparities(
        entries=(), n_boot=0, bootstrap="multinomial", min_group_size=30, weighted=False
    )
    with pytest.raises(KeyError) as err:
        paired.get("tpr", "difference", ["g"])
    assert err.value.args == (("tpr", "difference", ("g",)),)


def test_to_dict_is_the_json_document_as_python_values(small):
    """`to_dict()` is the JSON document read back: lists, not tuples; None, not NaN."""
    as_dict = small.to_dict()
    assert as_dict == json.loads(small.to_json())
    assert as_dict["schema_version"] == SCHEMA_VERSION
    assert as_dict["settings"]["groups"] == ["g"]
    assert isinstance(as_dict["metrics"][0]["levels"], list)


def test_an_empty_table_keeps_its_columns(small):
    """A table without records (no score: no cross-AUC) is an empty frame with its columns,
    so that code selecting them works on every audit."""
    frame = small.to_frame("cross_auc")
    assert frame.empty
    assert list(frame.columns) == [
        "attributes",
        "positive_levels",
        "negative_levels",
        "value",
        "suppressed",
    ]


def test_the_schema_file_is_byte_for_byte_what_its_command_prints():
    """`python -m audit.stats.result > audit/schemas/assessment-1.0.json` regenerates the
    shipped schema: the committed file must be that output exactly (indent 1, a final newline),
    or regenerating it makes a diff of every line."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema() + "\n"
    assert json_schema().startswith('{\n "$defs": {\n  "')
