"""MLflow metric names of an assessment, written out by hand, and accepted by MLflow itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.utils.validation import _validate_metric_name

from audit.stats.assess import assess
from audit.tracking.naming import flatten_metrics, group_path


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
    # The names of the module docstring, spelled out: `<` and `+` are not allowed by MLflow.
    assert keys["selection_rate/age._25"] == pytest.approx(rate["<25"])
    assert keys["selection_rate/age.50_"] == pytest.approx(rate["50+"])
    assert keys["selection_rate/age.25-49"] == pytest.approx(rate["25-49"])
    assert keys["selection_rate.difference/age.50_"] == pytest.approx(rate["50+"] - rate["25-49"])
    assert keys["selection_rate.ratio/age._25"] == pytest.approx(rate["<25"] / rate["25-49"])
    for stem in ("selection_rate.difference.ci_low", "selection_rate.difference.ci_high"):
        assert f"{stem}/age.50_" in keys
    assert "selection_rate.difference.p_adjusted/age.50_" in keys
    assert keys["demographic_parity_difference/age"] == pytest.approx(rate.max() - rate.min())
    both = frame[(frame["age"] == "50+") & (frame["sex"] == "f")]
    assert keys["tpr/age.50_/sex.f"] == pytest.approx(both.loc[both["y"] == 1, "d"].mean())
    assert "demographic_parity_difference/age/sex" in keys
    for key in keys:
        _validate_metric_name(key)  # raises on a name MLflow would refuse


def test_group_path_makes_attributes_and_levels_safe() -> None:
    path = group_path(["age band", "origin"], ["<25", "Côte d'Ivoire"])
    assert path.split("/")[0] == "age band._25"
    _validate_metric_name(f"tpr/{path}")
    assert "'" not in path and "<" not in path
