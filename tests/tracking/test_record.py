"""The lean MLflow record: the figures charted over time, named as documented, nothing lost.

The expected keys are written out by hand from the documented scheme (audit.tracking.record), for
a two-group audit with one threshold and one significance rule.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, _validate_metric_name

from audit.disclosure import suppress
from audit.gate import Verdict, evaluate_policy
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.tracking.naming import decode_key, flatten_metrics
from audit.tracking.record import key_document, tracked_entries, tracked_metrics

SIG = {"id": "sig", "no_significant_disparity": ["tpr"]}


def _frame(levels: list[str], n: int = 400, gap: float = 0.2, seed: int = 1) -> pd.DataFrame:
    """Hiring decisions for `n` people per level; the first level is selected `gap` more often."""
    rng = np.random.default_rng(seed)
    team = np.repeat(levels, n)
    rate = np.where(team == levels[0], 0.5, 0.5 - gap)
    return pd.DataFrame(
        {
            "team": team,
            "hired": (rng.random(len(team)) < 0.5).astype(int),
            "offer": (rng.random(len(team)) < rate).astype(int),
        }
    )


def _assessment(frame: pd.DataFrame, reference: str = "a") -> Assessment:
    return suppress(
        assess(
            frame,
            y_true="hired",
            y_pred="offer",
            groups=["team"],
            reference={"team": reference},
            n_boot=50,
            seed=1,
        )
    )


def _verdict(assessment: Assessment, *rules: dict[str, object], **policy: object) -> Verdict:
    return evaluate_policy(PolicySpec.model_validate({"rules": list(rules), **policy}), assessment)


@pytest.fixture(scope="module")
def two_teams() -> Assessment:
    return _assessment(_frame(["a", "b"]))


def _three(stem: str, path: str = "") -> list[str]:
    """A figure with its interval: the documented `.ci_low` / `.ci_high` suffixes of the stem."""
    return [f"{stem}{s}{path}" for s in ("", ".ci_low", ".ci_high")]


GROUP_COUNTS = ["pass", "fail", "inconclusive", "unreliable", "undefined", "not_compared"]
EXPECTED_LEAN = sorted(
    [
        *_three("gate.parity.selection_rate.difference", "/team.b"),
        *[f"gate.parity.groups_{s}" for s in GROUP_COUNTS],
        *_three("gate.sig.tpr.difference", "/team.b"),
        *[f"gate.sig.groups_{s}" for s in GROUP_COUNTS],
        "gate.rules_pass",
        "gate.rules_fail",
        "gate.rules_inconclusive",
        "gate.rules_not_evaluable",
        "gate.release_allowed",
        *_three("overall.selection_rate"),
        *_three("overall.base_rate"),
        *_three("overall.tpr"),
        *_three("overall.fpr"),
        *_three("overall.fnr"),
        *_three("overall.tnr"),
        *_three("overall.ppv"),
        *_three("overall.npv"),
        *_three("overall.fdr"),
        *_three("overall.for"),
        *_three("overall.accuracy"),
        *_three("overall.balanced_accuracy"),
        "worst.selection_rate/team",
        "worst.tpr/team",
        "worst.fpr/team",
        "worst.ppv/team",
        "worst.npv/team",
        "worst.accuracy/team",
        "worst.balanced_accuracy/team",
        *_three("demographic_parity_difference", "/team"),
        *_three("demographic_parity_ratio", "/team"),
        *_three("equalized_odds_difference", "/team"),
        *_three("equalized_odds_ratio", "/team"),
        *_three("equal_opportunity_difference", "/team"),
        *_three("equal_opportunity_ratio", "/team"),
        "four_fifths_rule/team",
    ]
)
PARITY = {"id": "parity", "metric": "selection_rate", "kind": "difference", "max_abs": 0.5}


def test_lean_record_is_the_documented_key_list(two_teams: Assessment) -> None:
    verdict = _verdict(two_teams, PARITY, SIG)
    assert sorted(tracked_metrics(two_teams, verdict)) == EXPECTED_LEAN
    # Every figure of the same audit: more than twice as many already for two groups, and the
    # per-group figures grow with groups x metrics x intervals while the lean record does not.
    assert len(tracked_metrics(two_teams, verdict, "all")) > 2 * len(EXPECTED_LEAN)


def test_all_keeps_every_flattened_figure_and_adds_the_lean_ones(two_teams: Assessment) -> None:
    verdict = _verdict(two_teams, PARITY, SIG)
    lean = tracked_metrics(two_teams, verdict, "lean")
    every = tracked_metrics(two_teams, verdict, "all")
    flat = flatten_metrics(two_teams)
    assert every == {**flat, **lean}  # today's figures, unchanged, and the charted ones
    assert set(flat) - set(lean)  # lean leaves the per-group figures to assessment.json


def test_gate_figures_are_what_the_gate_decided_on(two_teams: Assessment) -> None:
    metrics = tracked_metrics(two_teams, _verdict(two_teams, PARITY, SIG))
    (d,) = [
        d
        for d in two_teams.disparities
        if (d.metric, d.kind, d.levels) == ("selection_rate", "difference", ("b",))
    ]
    assert d.value is not None and d.value < -0.1  # the injected gap of -0.2
    assert metrics["gate.parity.selection_rate.difference/team.b"] == d.value
    assert metrics["gate.parity.selection_rate.difference.ci_low/team.b"] == d.ci_low
    assert metrics["gate.parity.selection_rate.difference.ci_high/team.b"] == d.ci_high
    overall = two_teams.overall_metric("selection_rate")
    assert metrics["overall.selection_rate"] == overall.value
    (worst,) = [w for w in two_teams.worst_groups if w.metric == "selection_rate"]
    assert metrics["worst.selection_rate/team"] == worst.difference == d.value


@pytest.mark.parametrize(
    ("max_abs", "status"),
    [(0.6, "pass"), (0.02, "fail"), (None, "inconclusive")],
    ids=["inside", "beyond", "straddling"],
)
def test_verdict_counts_follow_the_gate_every_way(
    two_teams: Assessment, max_abs: float | None, status: str
) -> None:
    if max_abs is None:  # a bound at the estimate itself: the interval reaches both sides
        (d,) = [
            d
            for d in two_teams.disparities
            if d.metric == "selection_rate" and d.levels == ("b",) and d.kind == "difference"
        ]
        assert d.value is not None
        max_abs = abs(d.value)
    rule = {**PARITY, "max_abs": max_abs}
    verdict = _verdict(two_teams, rule)
    assert [g.status for g in verdict.rules[0].groups] == [status]
    metrics = tracked_metrics(two_teams, verdict)
    counts = {s: metrics[f"gate.parity.groups_{s}"] for s in GROUP_COUNTS}
    assert counts == {s: float(s == status) for s in GROUP_COUNTS}
    rules = {s: metrics[f"gate.rules_{s}"] for s in ("pass", "fail", "inconclusive")}
    assert rules == {s: float(s == status) for s in rules}
    assert metrics["gate.release_allowed"] == float(status == "pass")


def test_non_regression_logs_the_change_against_the_baseline(two_teams: Assessment) -> None:
    fair = _assessment(_frame(["a", "b"], gap=0.0, seed=2))
    policy = PolicySpec.model_validate({"rules": [PARITY]})
    verdict = evaluate_policy(policy, two_teams, baseline=fair)
    assert [r.rule_id for r in verdict.rules] == ["parity", "parity.non_regression"]
    (group,) = verdict.rules[1].groups
    assert group.status == "fail" and group.change is not None and group.change > 0.1
    metrics = tracked_metrics(two_teams, verdict)
    # The rule id's `.` is escaped: the stem's dots stay separators, the key stays reversible.
    stem = "gate.parity_x2enon_regression.selection_rate.difference"
    assert metrics[f"{stem}/team.b"] == group.change
    assert metrics[f"{stem}.ci_low/team.b"] == group.change_ci_low
    assert metrics[f"{stem}.ci_high/team.b"] == group.change_ci_high
    assert metrics["gate.parity_x2enon_regression.groups_fail"] == 1.0
    assert metrics["gate.rules_fail"] == 1.0


# Labels that shared a key before, or spell what an encoding produces.
HOSTILE = ["a", "<25", "_x3c25", "45+", "45_", "a/b", "a_b", "a.b", " a", "a ", "Zürich", "x" * 300]


def test_distinct_levels_and_rules_never_share_a_key() -> None:
    assessment = _assessment(_frame(HOSTILE, n=60))
    rules = [
        {**PARITY, "id": rule_id, "max_abs": 0.9}
        for rule_id in ("r.1", "r_x2e1", "r/1", "r 1", "r" * 100, "r" * 99 + "s")
    ]
    verdict = _verdict(assessment, *rules, SIG)
    entries = tracked_entries(assessment, verdict, "lean")
    keys = [key for key, _, _ in entries]
    assert len(keys) == len(set(keys))
    for key in keys:
        _validate_metric_name(key)
        assert len(key) <= MAX_ENTITY_KEY_LENGTH and ":" not in key
    document = json.loads(key_document(entries))["keys"]
    gate = {k: v for k, v in document.items() if v["table"] == "gate"}
    # Every rule has a figure for every group but the reference, each under its own key.
    seen = {
        (v["rule"], v["metric"], tuple(v["levels"])) for v in gate.values() if v["field"] == "value"
    }
    expected = {(r["id"], "selection_rate", (level,)) for r in rules for level in HOSTILE[1:]}
    assert expected <= seen
    for key, what in gate.items():
        decoded = decode_key(key)
        if decoded is not None and decoded[1][0][1] is not None:  # not shortened with a hash
            assert decoded[1] == (("team", what["levels"][0]),)
