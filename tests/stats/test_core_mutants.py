"""Known answers for bugs that once survived the suite (tests/MUTANTS.md lists them).

Each expected value is worked out here by hand, from the data or from the textbook formula,
never from the function under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.metrics import intervals
from audit.metrics.disparities import choose_reference
from audit.stats.assess import assess
from audit.stats.bootstrap import resample
from audit.stats.simulate import simulate_decisions


def _groups(spec: dict[str, tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    """Group -> (rows, rows given the decision), exactly; outcomes at random."""
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame({"g": name, "d": [1] * k + [0] * (n - k)}) for name, (n, k) in spec.items()
    ]
    frame = pd.concat(parts, ignore_index=True)
    return frame.assign(y=rng.integers(0, 2, len(frame)))


# --- reference groups ---------------------------------------------------------------------------


def test_most_advantaged_reference_is_the_reliable_group_selected_most_often() -> None:
    # Rates by hand: a 0.30, b 0.60, c 0.90 (but 20 rows, under the minimum of 30), d 0.40.
    frame = _groups({"a": (500, 150), "b": (300, 180), "c": (20, 18), "d": (1000, 400)})
    result = assess(
        frame, y_true="y", y_pred="d", groups=["g"], reference_rule="most_advantaged", n_boot=0
    )
    assert [g.levels for g in result.groups if g.is_reference] == [("b",)]
    assert {d.reference_levels for d in result.disparities} == {("b",)}
    largest = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0)
    assert [g.levels for g in largest.groups if g.is_reference] == [("d",)]


def test_most_advantaged_ties_go_to_the_larger_group() -> None:
    levels = [("a",), ("b",), ("c",)]
    index = choose_reference(
        levels,
        np.array([100.0, 400.0, 50.0]),
        np.array([0.5, 0.5, 0.2]),
        np.array([True, True, True]),
        rule="most_advantaged",
    )
    assert levels[index] == ("b",)


# --- Katz ratio interval with a zero count --------------------------------------------------------


def test_katz_with_no_event_in_the_group_keeps_a_corrected_upper_end() -> None:
    # 0 of 40 against 30 of 100: the 0.5 correction on every count of the 2x2 table, by hand.
    k1, n1, k2, n2 = 0.0, 40.0, 30.0, 100.0
    z = stats.norm.ppf(0.975)
    log_rr = math.log((0.5 / 40.5) / (30.5 / 100.5))
    se = math.sqrt(1 / 0.5 - 1 / 40.5 + 1 / 30.5 - 1 / 100.5)
    low, high = intervals.katz(
        np.array([k1 / n1]), np.array([n1]), np.array([k2 / n2]), np.array([n2]), 0.95
    )
    assert low[0] == 0.0  # the estimate is 0 and so is the lower end
    assert high[0] == pytest.approx(math.exp(log_rr + z * se), rel=1e-12)
    # No event in the reference group: the corrected ratio still has both ends.
    low, high = intervals.katz(
        np.array([0.3]), np.array([100.0]), np.array([0.0]), np.array([40.0]), 0.95
    )
    centre = math.log((30.5 / 100.5) / (0.5 / 40.5))
    assert (low[0], high[0]) == pytest.approx(
        (math.exp(centre - z * se), math.exp(centre + z * se)), rel=1e-12
    )


# --- the count bootstrap with unequal weights ---------------------------------------------------


@pytest.mark.parametrize("kind", ["multinomial", "stratified"])
def test_weighted_bootstrap_draws_rows_by_count_not_by_weight(kind: str) -> None:
    # One group, 90 rows of weight 10 and 10 rows of weight 100: the weighted share of the second
    # cell is 1000 / 1900 = 0.526. The row bootstrap draws rows, so the second cell's row count is
    # Binomial(100, 0.1): mean 10, variance 9. Drawing by weight would make it about 53.
    n = np.array([[90.0, 10.0]])
    w = np.array([[900.0, 1000.0]])
    boot = 4000
    out = resample(n, w, n_boot=boot, rng=np.random.default_rng(1), kind=kind, group_axes=1)  # type: ignore[arg-type]
    rows = out[:, 0, 1] / 100.0  # constant weight within the cell: weight = rows * 100
    assert np.allclose(rows, np.round(rows))
    # Mean within 4 SE (sqrt(9 / 4000) = 0.047) of 10; variance within 15% of 9 (its SE is
    # 9 * sqrt(2 / 4000) = 0.2, about 2.2%).
    assert abs(rows.mean() - 10) < 4 * math.sqrt(9 / boot)
    assert rows.var() == pytest.approx(9.0, rel=0.15)
    share = out[:, 0, 1] / out[:, 0].sum(axis=1)
    # The median replicate has the median row count, 10: exactly the weighted estimate.
    assert np.median(share) == pytest.approx(1000 / 1900, abs=0.01)
    if kind == "stratified":
        assert np.allclose(out[:, 0, 0] / 10 + out[:, 0, 1] / 100, 100)  # group size is fixed


# --- which metrics are tested -------------------------------------------------------------------


def test_only_one_of_each_complementary_pair_is_tested() -> None:
    result = assess(simulate_decisions(3000, seed=2), y_true="y", y_pred="d", groups=["housing"])
    tested = {d.metric for d in result.disparities if d.kind == "difference" and d.p_value is not None}
    untested = {d.metric for d in result.disparities if d.kind == "difference" and d.p_value is None}
    # FNR = 1 - TPR, TNR = 1 - FPR, FDR = 1 - PPV, FOR = 1 - NPV carry the same evidence as their
    # complements; the base rate is not about the decision. aif360's composites carry no test.
    assert tested == {"selection_rate", "tpr", "fpr", "ppv", "npv", "accuracy", "balanced_accuracy"}
    assert {"fnr", "tnr", "fdr", "for", "base_rate"} <= untested
    assert all(d.p_adjusted is None for d in result.disparities if d.metric in untested)


# --- the worst group ----------------------------------------------------------------------------


def test_the_worst_group_is_never_one_too_small_to_be_reliable() -> None:
    # Reference r at 0.50; a at 0.40 and b at 0.45 (gaps -0.10, -0.05) are large enough; t, 12
    # rows never selected (gap -0.50), is under the minimum size and must not be put forward.
    frame = _groups({"r": (2000, 1000), "a": (400, 160), "b": (400, 180), "t": (12, 0)})
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0)
    worst = {w.metric: w for w in result.worst_groups}
    assert worst["selection_rate"].levels == ("a",)
    assert worst["selection_rate"].difference == pytest.approx(-0.10)
    assert all(w.levels != ("t",) and w.reliable for w in result.worst_groups)


def test_no_worst_group_against_a_reference_too_small_to_be_reliable() -> None:
    frame = _groups({"r": (2000, 1000), "a": (400, 160), "t": (12, 0)})
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "t"}, n_boot=0)
    assert result.worst_groups == ()
