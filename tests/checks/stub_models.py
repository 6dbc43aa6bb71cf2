"""A check's context and a stand-in model, for the tests that call one check function on a
small hand-made table (the by-hand tests of issue 14)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from audit.checks.base import CheckContext


def context(people: pd.DataFrame, model: Any = None, **changes: Any) -> CheckContext:
    """A check's context over `people`, no attribute or factor unless `changes` name them."""
    settings: dict[str, Any] = {
        "people": people,
        "table": pd.DataFrame(index=people.index),
        "model": model,
        "attributes": (),
        "factors": (),
        "factor_bins": {},
    }
    settings.update(changes)
    return CheckContext(**settings)


def stub_model(proba: Any = None, error: Exception | None = None, task: str = "profiling") -> Any:
    """A model that returns the given probabilities (or a function of the people's table),
    or raises `error`; classes "0" and "1", known as 'stub.skops'."""

    def predict_proba(people: pd.DataFrame) -> np.ndarray:
        if error is not None:
            raise error
        return np.asarray(proba(people) if callable(proba) else proba, dtype=np.float64)

    return SimpleNamespace(
        predict_proba=predict_proba,
        classes=("0", "1"),
        task=task,
        identity=SimpleNamespace(uri="stub.skops"),
        expected_columns=(),
    )
