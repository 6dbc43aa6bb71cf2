"""Gate rules on data whose answer is known exactly (tests/MUTANTS.md lists the bugs they catch)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.gate import evaluate_policy
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment, Disparity


def _groups(spec: dict[str, tuple[int, int]], seed: int = 0) -> pd.DataFrame:
    """Group -> (rows, rows given the decision), exactly; outcomes at random."""
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame({"g": name, "d": [1] * k + [0] * (n - k)}) for name, (n, k) in spec.items()
    ]
    frame = pd.concat(parts, ignore_index=True)
    return frame.assign(y=rng.integers(0, 2, len(frame)))


def _assess(spec: dict[str, tuple[int, int]], **kw: object) -> Assessment:
    return assess(
        _groups(spec), y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0, **kw  # type: ignore[arg-type]
    )


def _policy(*rules: dict[str, object]) -> PolicySpec:
    return PolicySpec.model_validate({"rules": list(rules)})


def test_a_tiny_group_never_decides_a_significance_rule() -> None:
    # t: 12 people, none selected, against 50% (two-proportion p about 5e-4): reported as
    # unreliable, not a significant disparity. a: 49% against 50%, nowhere near significant.
    result = _assess({"r": (2000, 1000), "a": (400, 196), "t": (12, 0)})
    tiny = result.disparity("selection_rate", ("g",), ("t",))
    assert tiny.p_value is not None and tiny.p_value < 0.01 and not tiny.reliable
    rule = {"id": "sig", "no_significant_disparity": ["selection_rate"]}
    verdict = evaluate_policy(_policy(rule), result)
    status = {g.levels: g.status for g in verdict.rules[0].groups}
    assert status == {("a",): "pass", ("t",): "unreliable"}
    assert verdict.status == "pass" and verdict.confirmatory_tests == 1


@pytest.mark.parametrize(
    ("rule", "before", "after"),
    [
        # lower bound only: -0.15 -> 0.00 moves away from the bound -0.2
        ({"id": "sr", "metric": "selection_rate", "min": -0.2}, 210, 300),
        # upper bound only: +0.15 -> 0.00 moves away from the bound 0.2
        ({"id": "sr", "metric": "selection_rate", "max": 0.2}, 390, 300),
    ],
)
def test_one_sided_non_regression_tells_an_improvement_from_a_worsening(
    rule: dict[str, object], before: int, after: int
) -> None:
    # Reference 50% of 2000; the group's selection count out of 600 changes from `before` to
    # `after` (better), or by as much the other way (worse: 0.15 further toward the bound).
    baseline = _assess({"r": (2000, 1000), "a": (600, before)})
    better = _assess({"r": (2000, 1000), "a": (600, after)})
    worse = _assess({"r": (2000, 1000), "a": (600, 2 * before - after)})
    improved = evaluate_policy(_policy(rule), better, baseline).rules[1]
    worsened = evaluate_policy(_policy(rule), worse, baseline).rules[1]
    assert improved.rule_id == "sr.non_regression" and improved.status == "pass"
    assert improved.groups[0].change == pytest.approx(-0.15)
    # Worse by 0.15 with independent SEs of about 0.029 each: z about 3.7, p about 1e-4.
    assert worsened.status == "fail"
    assert worsened.groups[0].change == pytest.approx(0.15)


# --- the confirmatory correction, with a known family-wise error --------------------------------

M, SIMS = 10, 4000


def _at_the_bound(base: Assessment, rng: np.random.Generator) -> Assessment:
    """M independent difference estimates drawn exactly at the bound 0.1, SE 0.02, Wald intervals."""
    se, z = 0.02, stats.norm.ppf(0.975)
    values = 0.1 + se * rng.standard_normal(M)
    template = base.disparities[0]
    records = tuple(
        replace(
            template,
            levels=(f"g{i + 1}",),
            value=float(v),
            ci_low=float(v - z * se),
            ci_high=float(v + z * se),
            reliable=True,
        )
        for i, v in enumerate(values)
    )
    return replace(base, disparities=records)


def test_the_confirmatory_family_holds_the_family_wise_error_and_no_more() -> None:
    # Each of M = 10 independent comparisons sits exactly at the bound: its breach p-value
    # (two-sided equivalent, 2 * P(Z > z_hat)) is below t with probability t / 2. Holm rejects
    # something iff the smallest p is below alpha / M, so the family-wise error is exactly
    # 1 - (1 - alpha / (2M))^M = 0.02471; a correction twice too weak gives
    # 1 - (1 - alpha / M)^M = 0.04889, and none 1 - 0.975^10 = 0.224.
    # Over 4000 audits the SE at 0.0247 is sqrt(0.0247 * 0.9753 / 4000) = 0.00245: the limit
    # 0.0247 + 3 SE = 0.032 sits 5 SE (of 0.0034) below the rate of the too weak correction.
    base = _assess({"r": (2000, 1000), "g1": (400, 200)})
    assert isinstance(base.disparities[0], Disparity)
    base = replace(base, disparities=(base.disparity("selection_rate", ("g",), ("g1",)),))
    rule = {"id": "sr", "metric": "selection_rate", "max_abs": 0.1}
    rng = np.random.default_rng(11)
    fails = sum(
        evaluate_policy(_policy(rule), _at_the_bound(base, rng)).status == "fail"
        for _ in range(SIMS)
    )
    exact = 1 - (1 - 0.05 / (2 * M)) ** M
    se = math.sqrt(exact * (1 - exact) / SIMS)
    assert fails / SIMS <= exact + 3 * se
    assert fails / SIMS >= exact - 3 * se  # not conservative beyond what Holm is
