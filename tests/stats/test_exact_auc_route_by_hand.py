"""The memory bound of the exact AUC's finer histogram, at its edge (issue 14, sample D).

Scores on the 1/10 000 grid but off the histogram's 1/1000 grid get their exact AUC from a
finer histogram while it has at most MAX_FINE_CELLS cells (groups x 2 classes x 10 001 grid
points), and from the pair counts beyond. Every route gives the same exact AUC, so the test
watches which one is taken: `_score_histogram` is wrapped (still run), and the bound is set at
the table's own size, then one cell under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from audit.stats import exact_auc as module
from audit.stats.assess import assess


def _frame() -> pd.DataFrame:
    """3 groups of 40; scores k / 10 000 with odd k, so none is on the 1/1000 grid."""
    rng = np.random.default_rng(5)
    score = (2 * rng.integers(0, 5000, 120) + 1) / 10_000
    y = (rng.random(120) < score).astype(int)
    return pd.DataFrame({"g": np.repeat(["a", "b", "c"], 40), "s": score, "y": y})


def _fine_calls(monkeypatch: pytest.MonkeyPatch, limit: int) -> tuple[list[int], float | None]:
    calls: list[int] = []
    real: Callable[..., Any] = module._score_histogram

    def watched(data: Any, counts: Any, bins: int) -> Any:
        calls.append(bins)
        return real(data, counts, bins)

    monkeypatch.setattr(module, "_score_histogram", watched)
    monkeypatch.setattr(module, "MAX_FINE_CELLS", limit)
    frame = _frame()
    frame["d"] = (frame["s"] >= 0.5).astype(int)
    result = assess(frame, y_true="y", y_pred="d", score="s", groups=["g"], reference={},
                    n_boot=0)  # fmt: skip
    return calls, result.metric("auc", ("g",), ("a",)).value


@pytest.mark.parametrize(("limit", "fine"), [(3 * 2 * 10_001, True), (3 * 2 * 10_001 - 1, False)])
def test_the_finer_histogram_is_used_exactly_while_it_fits(
    monkeypatch: pytest.MonkeyPatch, limit: int, fine: bool
) -> None:
    """At a bound of 3 x 2 x 10 001 cells the 1/10 000 histogram fits and is used; one cell
    less and it is not (the pair counts take over). The AUC is sklearn's either way."""
    calls, auc = _fine_calls(monkeypatch, limit)
    assert calls == ([10_000] if fine else [])
    frame = _frame().query("g == 'a'")
    assert auc == pytest.approx(roc_auc_score(frame["y"], frame["s"]), abs=1e-12)
