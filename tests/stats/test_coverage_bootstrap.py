"""Coverage of the bootstrap intervals `assess` gives large groups, by simulation.

Audits are simulated with a known selection rate per group; the rate interval of every group
and the difference interval of every group against the reference must hold the true value 95%
of the time, for the multinomial and the stratified bootstrap and with sample weights.

Limits come from the binomial standard error of the number of checks: 95% ± 3 SE. The groups of
an audit are drawn independently, so their rate checks are independent. Their differences share
the reference group: with sizes n (group) and r (reference) two differences correlate by
rho = n / (n + r), and their coverage indicators (even functions of nearly normal errors) by at
most rho² (Mehler's expansion has only even terms); the SE is inflated by that design effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess
from audit.stats.bootstrap import resample

REFERENCE, GROUP = 3000, 1000
TRUE_RATES = {"ref": 0.3, "a": 0.3, "b": 0.25, "c": 0.35, "d": 0.45}
AUDITS = 300
N_BOOT = 400
# Weights from a bounded set with CV² = 0.52: a weighted rate's variance is 1.52 times the
# unweighted one, so a bootstrap that ignored the weights' spread would cover about 89%.
WEIGHTS = np.array([0.5, 1.0, 3.0])


def _audit(rng: np.random.Generator, weighted: bool) -> pd.DataFrame:
    levels = list(TRUE_RATES)
    sizes = [REFERENCE] + [GROUP] * (len(levels) - 1)
    g = np.repeat(levels, sizes)
    p = np.repeat(list(TRUE_RATES.values()), sizes)
    frame = pd.DataFrame(
        {
            "g": g,
            "y": (rng.random(g.size) < 0.4).astype(int),
            "d": (rng.random(g.size) < p).astype(int),
        }
    )
    if weighted:  # independent of the decision: the weighted population rate is still p
        frame["w"] = rng.choice(WEIGHTS, g.size)
    return frame


def _band(checks: int, design_effect: float = 1.0) -> tuple[float, float]:
    se = np.sqrt(0.95 * 0.05 * design_effect / checks)
    return 0.95 - 3 * se, 0.95 + 3 * se


@pytest.mark.parametrize(
    ("kind", "weighted"),
    [("multinomial", False), ("multinomial", True), ("stratified", False)],
)
def test_bootstrap_intervals_of_large_groups_cover_95_percent(kind: str, weighted: bool):
    rng = np.random.default_rng(2024)
    rate_hits, diff_hits = [], []
    for seed in range(AUDITS):
        result = assess(
            _audit(rng, weighted),
            y_true="y",
            y_pred="d",
            groups=["g"],
            weight="w" if weighted else None,
            n_boot=N_BOOT,
            bootstrap=kind,  # type: ignore[arg-type]
            seed=seed,
            reference={"g": "ref"},
        )
        for level, truth in TRUE_RATES.items():
            m = result.metric("selection_rate", ("g",), (level,))
            assert m.ci_method == "bootstrap"
            rate_hits.append(m.ci_low <= truth <= m.ci_high)
            if level != "ref":
                d = result.disparity("selection_rate", ("g",), (level,))
                assert d.ci_method == "bootstrap"
                diff_hits.append(d.ci_low <= truth - TRUE_RATES["ref"] <= d.ci_high)
    rho = GROUP / (GROUP + REFERENCE)
    groups = len(TRUE_RATES) - 1
    low, high = _band(len(rate_hits))
    assert low <= np.mean(rate_hits) <= high
    low, high = _band(len(diff_hits), design_effect=1 + (groups - 1) * rho**2)
    assert low <= np.mean(diff_hits) <= high
    assert low >= 0.925 and high <= 0.975  # enough audits for the band to mean something


def test_weighted_count_bootstrap_spreads_like_the_weighted_row_bootstrap():
    # One group's weighted selection rate: replicates from the cell counts (with the squared
    # weights) against replicates from resampled rows. Same mean, same standard deviation.
    rng = np.random.default_rng(8)
    n = 2000
    d = (rng.random(n) < 0.3).astype(int)
    w = rng.choice(WEIGHTS, n)
    counts = np.array([[(d == 0).sum(), (d == 1).sum()]])
    sums = np.array([[w[d == 0].sum(), w[d == 1].sum()]])
    squares = np.array([[(w[d == 0] ** 2).sum(), (w[d == 1] ** 2).sum()]])
    boot = resample(counts, sums, n_boot=4000, rng=rng, group_axes=1, w2=squares)
    ours = boot[:, 0, 1] / boot[:, 0].sum(axis=1)
    rows = rng.integers(0, n, size=(4000, n))
    theirs = (w[rows] * d[rows]).sum(axis=1) / w[rows].sum(axis=1)
    # 4000 replicates: the SD of a standard deviation estimate is about 1.1%; allow 4%.
    assert ours.std() == pytest.approx(theirs.std(), rel=0.04)
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.1 * theirs.std())
    without = resample(counts, sums, n_boot=4000, rng=rng, group_axes=1)
    assert (without[:, 0, 1] / without[:, 0].sum(axis=1)).std() < 0.9 * theirs.std()
