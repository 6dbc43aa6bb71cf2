"""Coverage of every interval `assess` reports, by simulation with a known truth (issue 14).

Each simulated audit has a large reference group and 20 groups; a legitimate factor with three
levels whose mix differs by group; an outcome y (half the people); and decisions drawn with
P(d = 1) = base(level) + gap(group) + 0.2 y. The gaps are drawn anew in every audit (uniform on
±0.1), so the coverage measured is the mean over a range of true rates, not one point of the
binomial's oscillating coverage curve (Brown, Cai & DasGupta 2001). Sample weights, where used,
are independent of everything else, so the weighted population values are the same as the
unweighted ones. The true values follow from the design:

- selection rate of a group: Σ_l mix(l) base(l) + gap + 0.1; its TPR: the same + 0.1;
- difference and ratio against the reference: of those true rates;
- within one factor level: base(level) + gap + 0.1, and the difference gap - 0 = gap;
- conditional difference: the gap is the same in every level, so it is the gap whatever the
  standardising weights.

The criterion: the share of intervals holding the truth lies in 93–97%, with enough checks that
3 binomial standard errors of that share (inflated by the design effect where checks share the
reference group) are at most 2 points, so a nominal 95% interval passes with probability above
99.7% and an interval one and a half times too narrow (about 86%) cannot. Rates of different
groups or cells are independent; differences share the reference, which correlates two of them
by rho = n / (n + R) (sizes of group and reference), and their coverage indicators by at most
rho² (see test_coverage_bootstrap.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess

BASE = np.array([0.15, 0.3, 0.45])  # selection chance at y = 0 in each factor level
LEVELS = np.array(["low", "mid", "high"])
LIFT = 0.2  # added for people with the outcome
GROUPS = 20
WEIGHTS = np.array([0.5, 1.0, 3.0])  # CV² = 0.52: the Kish size is n / 1.52


@dataclass(frozen=True)
class Design:
    n: int  # people per group
    reference: int  # people in the reference group
    weighted: bool
    n_boot: int
    bootstrap: str = "multinomial"


def _audit(rng: np.random.Generator, design: Design) -> tuple[pd.DataFrame, dict[str, dict]]:
    names = ["ref"] + [f"g{k:02d}" for k in range(GROUPS)]
    sizes = np.array([design.reference] + [design.n] * GROUPS)
    gaps = np.r_[0.0, rng.uniform(-0.1, 0.1, GROUPS)]
    mix = rng.dirichlet([2.0, 2.0, 2.0], GROUPS + 1)
    g = np.repeat(np.arange(GROUPS + 1), sizes)
    # Each person's factor level from their group's mix, by inverting its cumulative shares.
    level = (rng.random(g.size)[:, None] > np.cumsum(mix, axis=1)[g, :2]).sum(axis=1)
    y = rng.random(g.size) < 0.5
    d = rng.random(g.size) < BASE[level] + gaps[g] + LIFT * y
    frame = pd.DataFrame(
        {"g": np.array(names)[g], "f": LEVELS[level], "y": y.astype(int), "d": d.astype(int)}
    )
    if design.weighted:
        frame["w"] = rng.choice(WEIGHTS, g.size)
    rate = mix @ BASE + gaps + LIFT / 2
    truth = {
        "selection_rate": dict(zip(names, rate, strict=True)),
        "tpr": dict(zip(names, rate + LIFT / 2, strict=True)),
        "difference": {m: r - rate[0] for m, r in zip(names, rate, strict=True)},
        "ratio": {m: r / rate[0] for m, r in zip(names, rate, strict=True)},
        "gap": dict(zip(names, gaps, strict=True)),
        "within": {
            (m, str(LEVELS[j])): BASE[j] + gap + LIFT / 2
            for m, gap in zip(names, gaps, strict=True)
            for j in range(3)
        },
    }
    return frame, truth


def _coverage(design: Design, audits: int, seed: int) -> tuple[dict[str, list[bool]], set]:
    """Interval checks by kind of interval, and the (kind, method) pairs met."""
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = defaultdict(list)
    methods = set()
    for a in range(audits):
        frame, truth = _audit(rng, design)
        result = assess(
            frame,
            y_true="y",
            y_pred="d",
            groups=["g"],
            weight="w" if design.weighted else None,
            n_boot=design.n_boot,
            bootstrap=design.bootstrap,  # type: ignore[arg-type]
            seed=a,
            reference={"g": "ref"},
            legitimate_factors=["f"],
        )
        for m in result.metrics:
            if m.attributes == ("g",) and m.metric in ("selection_rate", "tpr"):
                hits[m.metric].append(m.ci_low <= truth[m.metric][m.levels[0]] <= m.ci_high)
                methods.add((m.metric, m.ci_method))
        for d in result.disparities:
            if d.attributes == ("g",) and d.metric == "selection_rate":
                hits[d.kind].append(d.ci_low <= truth[d.kind][d.levels[0]] <= d.ci_high)
                methods.add((d.kind, d.ci_method))
        for w in result.within_strata:
            if w.metric != "selection_rate" or w.value is None:
                continue
            held = w.ci_low <= truth["within"][(w.levels[0], w.factor_level)] <= w.ci_high
            hits["within rate"].append(held)
            if not w.is_reference and w.difference is not None:
                gap = truth["gap"][w.levels[0]]
                hits["within difference"].append(w.difference_ci_low <= gap <= w.difference_ci_high)
        for c in result.conditional:
            if c.metric == "selection_rate" and c.attributes == ("g",):
                assert c.ci_low is not None and c.ci_high is not None
                hits["conditional"].append(c.ci_low <= truth["gap"][c.levels[0]] <= c.ci_high)
                methods.add(("conditional", c.ci_method))
    return hits, methods


def _check(hits: dict[str, list[bool]], design: Design) -> None:
    rho = design.n / (design.n + design.reference)
    shared = 1 + (GROUPS - 1) * rho**2  # checks that share the reference group
    cell_rho = rho  # the same in each factor level, on average
    effects = {"difference": shared, "ratio": shared, "conditional": shared,
               "within difference": 1 + (GROUPS - 1) * cell_rho**2}  # fmt: skip
    for kind, checks in hits.items():
        share = float(np.mean(checks))
        three_se = 3 * np.sqrt(0.95 * 0.05 * effects.get(kind, 1.0) / len(checks))
        assert three_se <= 0.02, (kind, len(checks))  # enough checks for the band to mean it
        assert 0.93 <= share <= 0.97, (kind, share, len(checks))


def test_score_intervals_of_small_weighted_groups_cover_95_percent():
    # Groups of 60 (Kish size about 40, cells of about 13): Wilson with the Kish size, Newcombe
    # and Katz. The conditional difference is left out here: its normal interval on cells of
    # about 20 people covers only about 93-94% (the Wald interval's known small-sample
    # behaviour); it is checked on larger groups below.
    design = Design(n=60, reference=2000, weighted=True, n_boot=0)
    hits, methods = _coverage(design, audits=60, seed=1)
    assert methods >= {("selection_rate", "wilson"), ("tpr", "wilson"),
                       ("difference", "newcombe"), ("ratio", "katz")}  # fmt: skip
    del hits["conditional"]
    assert set(hits) == {"selection_rate", "tpr", "difference", "ratio", "within rate",
                         "within difference"}  # fmt: skip
    _check(hits, design)


def test_score_and_normal_intervals_of_larger_groups_cover_95_percent():
    design = Design(n=240, reference=3000, weighted=False, n_boot=0)
    hits, methods = _coverage(design, audits=60, seed=2)
    assert methods == {("selection_rate", "wilson"), ("tpr", "wilson"),
                       ("difference", "newcombe"), ("ratio", "katz"),
                       ("conditional", "normal")}  # fmt: skip
    _check(hits, design)


@pytest.mark.parametrize(("kind", "weighted"), [("multinomial", True), ("stratified", False)])
def test_bootstrap_intervals_cover_95_percent(kind: str, weighted: bool):
    # Every group is large enough for the bootstrap: rates, differences, ratios and the
    # conditional difference all come from the replicates. The default 1000 replicates: with
    # 200, the 2.5% tail rests on five replicates and the coverage drops to about 93.5%.
    design = Design(n=240, reference=3000, weighted=weighted, n_boot=1000, bootstrap=kind)
    hits, methods = _coverage(design, audits=60, seed=3)
    assert methods == {("selection_rate", "bootstrap"), ("tpr", "bootstrap"),
                       ("difference", "bootstrap"), ("ratio", "bootstrap"),
                       ("conditional", "bootstrap")}  # fmt: skip
    _check(hits, design)
