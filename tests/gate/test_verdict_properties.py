"""The verdict's derived answers, on outcomes written out by hand (issue 14).

`release_allowed`, `failures`, `worst` and `largest_detectable` are properties: mutation tools
that mutate only plain functions (mutmut) never reach them, so each is pinned here directly.
"""

from __future__ import annotations

import pytest

from audit.gate import Finding, GroupOutcome, RuleOutcome, Verdict

KEY = {"attributes": ("g",), "reference_levels": ("r",), "metric": "selection_rate",
       "kind": "ratio", "ci_low": None, "ci_high": None}  # fmt: skip


def _finding(level: str, value: float | None, bound: float | None, decides: bool) -> Finding:
    return Finding(**KEY, levels=(level,), value=value, code="BOUND_BREACHED", rule_id="r1",
                   bound=bound, decides=decides, sentence=level)  # fmt: skip


def _group(level: str, status: str, detectable: float | None) -> GroupOutcome:
    return GroupOutcome(**KEY, levels=(level,), value=0.5, status=status,  # type: ignore[arg-type]
                        detectable=detectable)  # fmt: skip


def _verdict(status: str, on_inconclusive: str = "fail", *findings: Finding) -> Verdict:
    rule = RuleOutcome(rule_id="r1", description="d", status="fail", evaluated=1,
                       findings=findings)  # fmt: skip
    return Verdict(status=status, rules=(rule,), on_inconclusive=on_inconclusive)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "on_inconclusive", "allowed"),
    [("pass", "fail", True), ("pass", "pass", True), ("fail", "fail", False),
     ("fail", "pass", False), ("inconclusive", "fail", False), ("inconclusive", "pass", True)],
)  # fmt: skip
def test_release_is_allowed_on_a_pass_or_an_inconclusive_gate_the_policy_lets_by(
    status: str, on_inconclusive: str, allowed: bool
) -> None:
    verdict = _verdict(status, on_inconclusive)
    assert verdict.release_allowed is allowed
    assert verdict.passed is (status == "pass") and verdict.label == status


def test_failures_are_the_deciding_findings_and_the_worst_is_furthest_beyond_its_bound() -> None:
    near = _finding("near", 0.75, 0.8, decides=True)  # 0.05 beyond
    far = _finding("far", 0.5, 0.8, decides=True)  # 0.30 beyond
    farther_but_not_deciding = _finding("info", 0.1, 0.8, decides=False)
    verdict = _verdict("fail", "fail", near, farther_but_not_deciding, far)
    assert verdict.failures == (near, far)
    assert verdict.worst == far
    # Without a deciding finding, the worst of all findings; a finding without a bound counts 0.
    unbounded = _finding("none", 0.2, None, decides=False)
    only_info = _verdict("pass", "fail", unbounded, farther_but_not_deciding)
    assert only_info.failures == () and only_info.worst == farther_but_not_deciding
    assert _verdict("pass").worst is None


def test_largest_detectable_gap_is_among_the_groups_that_count() -> None:
    groups = (_group("a", "pass", 0.04), _group("b", "inconclusive", 0.09),
              _group("c", "fail", 0.02), _group("d", "unreliable", 0.5),
              _group("e", "not_compared", 0.7), _group("f", "pass", None))  # fmt: skip
    rule = RuleOutcome(rule_id="r1", description="d", status="pass", evaluated=3, findings=(),
                       groups=groups)  # fmt: skip
    assert rule.largest_detectable == 0.09
    assert RuleOutcome(rule_id="r", description="d", status="pass", evaluated=0, findings=(),
                       groups=groups[3:]).largest_detectable is None  # fmt: skip
