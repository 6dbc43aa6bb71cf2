"""The share of a gap the legitimate factors explain: Fieller by hand, known answers, coverage."""

from __future__ import annotations

import json
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from audit.metrics.conditional import explained_share
from audit.stats.assess import assess
from audit.stats.result import Assessment, ConditionalDisparity

Z95 = NormalDist().inv_cdf(0.975)
METRICS = ("selection_rate", "tpr", "fpr")
EDUCATION = ["low", "mid", "high"]
STABLE_MIX = np.array([0.2, 0.4, 0.4])
HOMELESS_MIX = np.array([0.6, 0.3, 0.1])  # less education: a composition difference
OUTCOME = np.array([0.3, 0.45, 0.6])  # P(outcome | education), the same in both groups
SHIFT = np.array([0.0, 0.1, 0.25])  # education raises the chance of the decision


def simulate(n: int, seed: int, mix: np.ndarray, gap: float) -> pd.DataFrame:
    """Homeless people (a quarter) have education mix `mix`, and `gap` less chance of the
    decision than stably housed people of the same education, with or without the outcome."""
    rng = np.random.default_rng(seed)
    homeless = rng.random(n) < 0.25
    edu = np.where(homeless, rng.choice(3, n, p=mix), rng.choice(3, n, p=STABLE_MIX))
    y = rng.random(n) < OUTCOME[edu]
    p = np.where(y, 0.5, 0.15) + SHIFT[edu] + gap * homeless
    return pd.DataFrame(
        {
            "housing": np.where(homeless, "homeless", "stable"),
            "edu": np.asarray(EDUCATION)[edu],
            "y": y.astype(int),
            "d": (rng.random(n) < p).astype(int),
        }
    )


def true_share(metric: str, mix: np.ndarray, gap: float) -> float:
    """(U − C) / U of the population the simulation draws from."""
    tpr, fpr = 0.5 + SHIFT, 0.15 + SHIFT
    rate = {
        "selection_rate": OUTCOME * tpr + (1 - OUTCOME) * fpr,
        "tpr": tpr,
        "fpr": fpr,
    }[metric]
    among = {"selection_rate": np.ones(3), "tpr": OUTCOME, "fpr": 1 - OUTCOME}[metric]
    own = mix * among / np.sum(mix * among)  # the metric's denominator, stratum by stratum
    ref = STABLE_MIX * among / np.sum(STABLE_MIX * among)
    unconditional = own @ (rate + gap) - ref @ rate
    return float((unconditional - gap) / unconditional)  # the conditional gap is `gap`


def run(frame: pd.DataFrame, n_boot: int = 200, seed: int = 0) -> Assessment:
    return assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["housing"],
        legitimate_factors=["edu"],
        n_boot=n_boot,
        seed=seed,
    )


def homeless(result: Assessment, metric: str) -> ConditionalDisparity:
    return next(c for c in result.conditional if c.metric == metric and c.levels == ("homeless",))


# -- Fieller's interval by hand ---------------------------------------------------------------
def test_fieller_interval_solves_its_defining_equation():
    rng = np.random.default_rng(3)
    u, c = np.array([-0.12, 0.2, 0.01]), np.array([-0.03, 0.25, 0.0])
    cov = [[0.02**2, 0.6 * 0.02 * 0.015], [0.6 * 0.02 * 0.015, 0.015**2]]
    boot = rng.multivariate_normal([0, 0], cov, size=(4000, 3))
    bu, bc = u + boot[..., 0], c + boot[..., 1]
    share = explained_share(u, c, bu, bc, Z95)
    assert share.value[:2] == pytest.approx([0.75, -0.25])
    for i in range(2):  # both ends: (D − θU)² = z² Var(D − θU), Var from the replicates
        for theta in (share.low[i], share.high[i]):
            d, bd = u[i] - c[i], bu[:, i] - bc[:, i]
            var = np.var(bd - theta * bu[:, i], ddof=1)
            assert (d - theta * u[i]) ** 2 == pytest.approx(Z95**2 * var, rel=1e-9)
        assert share.low[i] < share.value[i] < share.high[i]
    # A plain gap of 0.01 with a standard error of 0.02: no bounded interval, and no invention.
    assert np.isnan(share.low[2]) and np.isnan(share.high[2]) and np.isfinite(share.value[2])
    # Without replicates there is a share and no interval.
    plain = explained_share(u, c, None, None, Z95)
    assert plain.value == pytest.approx(share.value, nan_ok=True)
    assert np.isnan(plain.low).all() and np.isnan(plain.high).all()


# -- known answers ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mix", "gap", "truth"),
    [
        pytest.param(HOMELESS_MIX, 0.0, 1.0, id="fully-explained-by-education"),
        pytest.param(STABLE_MIX, -0.1, 0.0, id="same-mix-gap-within-strata"),
    ],
)
def test_known_shares(mix, gap, truth):
    for metric in METRICS:
        assert true_share(metric, mix, gap) == pytest.approx(truth, abs=1e-12)
    seeds = range(20)
    shares: dict[str, list[float]] = {m: [] for m in METRICS}
    covered = 0
    for seed in seeds:
        result = run(simulate(20_000, seed, mix, gap), seed=seed)
        for metric in METRICS:
            c = homeless(result, metric)
            assert c.explained_share is not None, c.explained_share_note
            assert c.explained_share_low is not None and c.explained_share_high is not None
            assert c.explained_share_low <= c.explained_share <= c.explained_share_high
            assert c.explained_share_note is None
            shares[metric].append(c.explained_share)
            covered += c.explained_share_low <= truth <= c.explained_share_high
    # The share's standard error here is about 0.08 (selection rate) to 0.25 (TPR) per audit:
    # the mean of 20 audits is within 3.5 of its standard errors of the truth.
    for metric, limit in (("selection_rate", 0.07), ("tpr", 0.2), ("fpr", 0.15)):
        assert np.mean(shares[metric]) == pytest.approx(truth, abs=limit), metric
    # 95% intervals: 60 of them miss the truth 3 times on average; 9 misses is p < 0.002.
    assert covered >= 3 * len(seeds) - 9


def test_partial_share_interval_covers_the_truth_near_nominal():
    truths = {m: true_share(m, HOMELESS_MIX, -0.1) for m in METRICS}
    assert 0.4 < min(truths.values()) < max(truths.values()) < 0.6  # about half explained
    hits = trials = unbounded = 0
    for seed in range(150):
        result = run(simulate(2000, 500 + seed, HOMELESS_MIX, -0.1), seed=seed)
        for metric in METRICS:
            c = homeless(result, metric)
            if c.explained_share is None:  # the plain gap is not established: no claim made
                continue
            trials += 1
            if c.explained_share_low is None or c.explained_share_high is None:
                unbounded += 1  # counted as a miss: the audit gave no range for the truth
                continue
            hits += c.explained_share_low <= truths[metric] <= c.explained_share_high
    # About 450 intervals (three per audit, correlated): binomial sd of the rate about 0.01.
    assert trials >= 400 and unbounded <= 0.02 * trials
    assert 0.92 <= hits / trials <= 0.985


def test_no_share_without_an_established_plain_gap():
    missing = 0
    for seed in range(30):
        result = run(simulate(3000, seed, STABLE_MIX, 0.0), n_boot=100, seed=seed)
        for metric in METRICS:
            c = homeless(result, metric)
            d = result.disparity(metric, ("housing",), ("homeless",))
            assert d.ci_low is not None and d.ci_high is not None
            if d.ci_low <= 0 <= d.ci_high:  # the interval people see includes "no gap"
                assert c.explained_share is None and c.explained_share_low is None
                assert c.explained_share_note == (
                    f"the plain gap's interval [{d.ci_low:+.3f}, {d.ci_high:+.3f}] includes 0: "
                    "there is no established gap to explain"
                )
                missing += 1
            else:
                assert c.explained_share is not None
    assert missing >= 0.8 * 30 * 3  # no gap is injected: the plain interval mostly covers 0


def test_share_without_bootstrap_has_no_interval_and_says_why():
    c = homeless(run(simulate(20_000, 1, HOMELESS_MIX, 0.0), n_boot=0), "selection_rate")
    assert c.unconditional is not None and c.value is not None
    assert c.explained_share == pytest.approx(1 - c.value / c.unconditional, abs=1e-12)
    assert (c.explained_share_low, c.explained_share_high) == (None, None)
    assert c.explained_share_note == "no interval without bootstrap replicates (n_boot = 0)"


def test_old_documents_without_the_share_still_read():
    result = run(simulate(3000, 0, HOMELESS_MIX, 0.0), n_boot=50)
    assert Assessment.from_json(result.to_json()) == result
    old = json.loads(result.to_json())
    for record in old["conditional"]:
        for key in [k for k in record if k.startswith("explained_share")]:
            del record[key]
    del old["within_strata"]
    del old["settings"]["factor_bins"]
    read = Assessment.from_json(json.dumps(old))
    assert read.within_strata == () and read.settings.factor_bins == {}
    assert all(c.explained_share is None for c in read.conditional)
