"""Which interval a record gets, by hand (issue 14, sample D): the bootstrap only for a defined
estimate, and the analytic interval whenever a compared rate is exactly 0 or 1 (the reference's
as much as the group's), since every bootstrap replicate then repeats it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.stats.assess import assess


def _frame() -> pd.DataFrame:
    """Reference r: 100 people, 50 with the outcome, nobody selected (selection rate 0, TPR 0).
    Group a: 100 people, 30 selected, nobody with the outcome (TPR undefined: 0 / 0)."""
    r = pd.DataFrame({"g": "r", "y": np.arange(100) % 2, "d": 0})
    a = pd.DataFrame({"g": "a", "y": 0, "d": (np.arange(100) < 30).astype(int)})
    return pd.concat([r, a], ignore_index=True)


RESULT = assess(_frame(), y_true="y", y_pred="d", groups=["g"], reference={"g": "r"},
                n_boot=200, seed=3)  # fmt: skip


def test_an_undefined_rate_has_no_interval_even_with_replicates() -> None:
    """a's TPR is 0 / 0: no value, no interval and no method, although 200 replicates were
    drawn; so are its TPR comparisons with r."""
    tpr = RESULT.metric("tpr", ("g",), ("a",))
    assert (tpr.value, tpr.ci_low, tpr.ci_high, tpr.ci_method) == (None, None, None, "none")
    for kind in ("difference", "ratio"):
        d = next(x for x in RESULT.disparities
                 if (x.metric, x.levels, x.kind) == ("tpr", ("a",), kind))  # fmt: skip
        assert (d.value, d.ci_low, d.ci_high, d.ci_method) == (None, None, None, "none")


def test_a_reference_rate_of_zero_makes_the_difference_analytic() -> None:
    """r selects nobody (rate 0) and a selects 30 of 100: every replicate of r's rate is 0, so
    the difference 0.30 takes Newcombe's interval, not the bootstrap's, although both groups
    have 100 people (above the minimum of 30) and a's rate is not 0 or 1."""
    d = next(x for x in RESULT.disparities
             if (x.metric, x.levels, x.kind) == ("selection_rate", ("a",), "difference"))  # fmt: skip
    assert d.value is not None and abs(d.value - 0.30) < 1e-12
    assert d.ci_method == "newcombe"
    assert d.ci_low is not None and d.ci_high is not None and d.ci_low < 0.30 < d.ci_high
