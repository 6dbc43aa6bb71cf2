"""Exact words of every finding the gate can print: readers of a report see nothing else."""

from __future__ import annotations

import pytest

from audit.gate import Finding, sentence

BASE = dict(
    attributes=("housing_status",),
    levels=("homeless",),
    reference_levels=("stable",),
    metric="selection_rate",
    kind="difference",
    value=-0.104,
    ci_low=-0.221,
    ci_high=0.017,
    rule_id="sr",
    decides=False,
    sentence="",
)
WHAT = "selection_rate difference for housing_status=homeless vs stable is -0.104 (95% CI -0.221 to 0.017)"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            dict(code="BOUND_BREACHED", bound=-0.05, p_adjusted=0.003, decides=True),
            f"{WHAT}: beyond the bound -0.05 (corrected p = 0.003).",
        ),
        (
            dict(code="BOUND_BREACHED", bound=-0.05, p_adjusted=1e-300, decides=True),
            f"{WHAT}: beyond the bound -0.05 (corrected p < 1e-16).",
        ),
        (
            dict(
                code="BOUND_INCONCLUSIVE",
                bound=-0.05,
                detectable=0.187,
                position="estimate_beyond",
                can_pass=False,
            ),
            f"{WHAT}: the estimate is beyond the bound -0.05 but the interval reaches both sides "
            "of it; the data cannot tell; at this size a breach is found (80% power) only when "
            "the true value lies 0.187 or more beyond the bound, and the group is too small to be "
            "shown inside the range even if it had no gap at all.",
        ),
        (
            dict(
                code="BOUND_INCONCLUSIVE",
                bound=0.05,
                detectable=0.187,
                position="estimate_within",
                value=0.03,
            ),
            "selection_rate difference for housing_status=homeless vs stable is 0.030 (95% CI "
            "-0.221 to 0.017): the estimate is within the bound 0.05 but the interval reaches both "
            "sides of it; the data cannot tell; at this size a breach is found (80% power) only "
            "when the true value lies 0.187 or more beyond the bound.",
        ),
        (
            dict(
                code="BOUND_INCONCLUSIVE",
                bound=-0.05,
                p_adjusted=0.08,
                detectable=0.06,
                position="interval_beyond",
                family=12,
            ),
            f"{WHAT}: the interval lies beyond the bound -0.05, but not clearly enough once "
            "corrected for the 12 comparisons the gate decides on (corrected p = 0.08); not "
            "decisive; at this size a breach is found (80% power) only when the true value lies "
            "0.060 or more beyond the bound.",
        ),
        (
            dict(code="UNCONFIRMED", p_value=0.015, p_adjusted=0.09, family=6, detectable=0.12),
            f"{WHAT}: significant on its own (p = 0.015) but not once corrected for the 6 "
            "comparisons the gate decides on (corrected p = 0.09); the data cannot tell; at this "
            "size the audit detects gaps of 0.120 or more.",
        ),
        (
            dict(code="NOT_COMPARED", value=None, reason="no one in the group has the outcome"),
            "selection_rate difference for housing_status=homeless vs stable could not be "
            "compared (no one in the group has the outcome); the rule cannot pass while a group "
            "of this size is left out.",
        ),
        (
            dict(
                code="BOUND_BREACHED",
                bound=-0.05,
                kind="conditional_difference",
                coverage=0.21,
                decides=True,
            ),
            "selection_rate conditional difference for housing_status=homeless vs stable is "
            "-0.104 (95% CI -0.221 to 0.017), measured on 21% of the group (the strata its "
            "reference shares): beyond the bound -0.05.",
        ),
        (
            dict(code="SMALL_GROUP", bound=-0.05),
            f"{WHAT}: beyond -0.05, but the group is below the minimum size; reported only.",
        ),
        (
            dict(code="SIGNIFICANT_DISPARITY", p_adjusted=0.01, decides=True),
            f"{WHAT}: significant after the confirmatory correction (corrected p = 0.01).",
        ),
        (
            dict(code="UNDERPOWERED", detectable=0.2),
            f"{WHAT}: not significant, but the audit could not see the gap asked for; at this "
            "size the audit detects gaps of 0.200 or more.",
        ),
        (
            dict(code="REGRESSION", baseline_value=-0.02, p_adjusted=0.001, decides=True),
            f"{WHAT}: significantly worse than the baseline's -0.020 (corrected p = 0.001).",
        ),
        (
            dict(
                code="BOUND_BREACHED",
                bound=0.8,
                kind="ratio",
                value=-0.0001,
                ci_low=None,
                ci_high=None,
                decides=True,
            ),
            "selection_rate ratio for housing_status=homeless vs stable is 0.000 (no interval): "
            "beyond the bound 0.8.",
        ),
    ],
)
def test_each_finding_reads_as_one_plain_sentence(fields: dict[str, object], words: str) -> None:
    finding = Finding(**{**BASE, **fields})  # type: ignore[arg-type]
    assert sentence(finding, alpha=0.05) == words
