"""An assessment without an outcome: the metrics of the decisions alone, and only those."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.metrics import significance
from audit.metrics.definitions import DECISION_METRICS, RATE_METRICS, needs_outcome
from audit.stats.assess import assess


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n)
    edu = rng.choice(["low", "high"], n)
    return pd.DataFrame(
        {
            "g": g,
            "edu": edu,
            "d": (rng.random(n) < np.where(g == "a", 0.5, 0.4)).astype(int),
            "y": rng.integers(0, 2, n),
        }
    )


def test_only_the_selection_rate_reads_no_outcome() -> None:
    assert DECISION_METRICS == ("selection_rate",)
    assert all(needs_outcome(m.name) for m in RATE_METRICS if m.name != "selection_rate")
    assert needs_outcome("auc") and needs_outcome("balanced_accuracy")
    assert needs_outcome("average_odds_difference")


def test_decision_figures_are_those_of_the_same_table_with_an_outcome() -> None:
    data = _table()
    with_y = assess(data, y_true="y", y_pred="d", groups=["g"], n_boot=0)
    without = assess(data, y_true=None, y_pred="d", groups=["g"], n_boot=0)
    assert {m.metric for m in without.metrics} == {"selection_rate"}
    assert {d.metric for d in without.disparities} == {"selection_rate"}
    for d in without.disparities:
        twin = with_y.disparity("selection_rate", d.attributes, d.levels, d.kind)
        assert (d.value, d.ci_low, d.ci_high, d.p_value, d.detectable) == (
            twin.value, twin.ci_low, twin.ci_high, twin.p_value, twin.detectable,
        )  # fmt: skip
    # The family of corrected tests holds the selection-rate tests alone: an FPR read off a
    # constant outcome (equal to the selection rate) would have entered it a second time.
    tests = [d for d in without.disparities if d.kind == "difference"]
    holm = significance.adjust(np.array([d.p_value for d in tests]), "holm")
    assert [d.p_adjusted for d in tests] == pytest.approx(holm.tolist())


def test_conditional_comparisons_without_an_outcome() -> None:
    result = assess(
        _table(6000), y_true=None, y_pred="d", groups=["g"], reference={"g": "a"},
        legitimate_factors=["edu"], n_boot=50,
    )  # fmt: skip
    assert {c.metric for c in result.conditional} == {"selection_rate"}
    assert {w.metric for w in result.within_strata} == {"selection_rate"}
    gap = next(c for c in result.conditional if c.levels == ("b",))
    # The injected gap (edu has no effect); 0.05 is over 3 standard errors at 2,000 a group.
    assert gap.value == pytest.approx(-0.1, abs=0.05)
    assert gap.significant


def test_a_score_without_an_outcome_is_refused() -> None:
    data = _table().assign(s=0.5)
    with pytest.raises(AuditInputError) as err:
        assess(data, y_true=None, y_pred="d", groups=["g"], score="s", n_boot=0)
    assert str(err.value) == (
        "score column 's': expected an outcome column to assess the score against (AUC, "
        "calibration); found a score and no outcome.\nHint: name the outcome column "
        "(--y-true), or leave the score out: without an outcome only the decisions are audited"
    )
    assert assess(data, y_true="y", y_pred="d", groups=["g"], score="s", n_boot=0).cross_auc
