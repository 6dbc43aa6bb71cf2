"""A threshold rule can bound aif360's named disparities, on data with a known answer."""

from __future__ import annotations

from audit.gate import evaluate_policy
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.simulate import simulate_decisions

RULE = {"id": "aod", "metric": "average_odds_difference", "max_abs": 0.05}


def test_average_odds_rule_fails_an_injected_gap_and_passes_none() -> None:
    """A -0.2 shift of one group's decisions moves its TPR and FPR, so its average odds
    difference by -0.2: the rule fails on that group alone. A fair table never fails, and
    passes once it is large enough for the intervals to lie inside ±0.05 (60,000 people)."""
    policy = PolicySpec.model_validate({"rules": [RULE]})
    passed = failed = fair_failed = 0
    for seed in range(10):
        kw = dict(
            y_true="y",
            y_pred="d",
            groups=["housing"],
            reference={"housing": "stable"},
            n_boot=200,
            seed=seed,
        )
        fair = evaluate_policy(policy, assess(simulate_decisions(6000, seed), **kw))  # type: ignore[arg-type]
        fair_failed += fair.status == "fail"
        large = evaluate_policy(policy, assess(simulate_decisions(60000, seed), **kw))  # type: ignore[arg-type]
        passed += large.status == "pass"
        biased = assess(simulate_decisions(6000, seed, shift={"housing=homeless": -0.2}), **kw)  # type: ignore[arg-type]
        verdict = evaluate_policy(policy, biased)
        failed += verdict.status == "fail"
        assert verdict.rules[0].evaluated == 2  # unstable and homeless against stable
        assert {f.levels for f in verdict.failures} <= {("homeless",)}
        assert all(f.metric == "average_odds_difference" for f in verdict.failures)
    assert fair_failed == 0  # with interval evidence, noise alone does not fail the rule here
    assert passed == 10
    assert failed == 10
