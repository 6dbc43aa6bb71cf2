"""Step 4, statistics and metrics: the decisions table assessed as the spec says."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from audit.spec import AuditSpec
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.steps.decisions import DECISION, OUTCOME, SCORE, TRACK


def assess_decisions(spec: AuditSpec, table: pd.DataFrame) -> Assessment:
    return assess(table, **statistics_options(spec, table.columns))


def statistics_options(spec: AuditSpec, columns: Iterable[str]) -> dict[str, Any]:
    """`assess`'s arguments for a decisions table with `columns`, on either engine."""
    present = set(columns)
    s = spec.statistics
    return dict(
        y_true=OUTCOME if OUTCOME in present else None,
        y_pred=DECISION if DECISION in present else None,
        score=SCORE if SCORE in present else None,
        groups=spec.groups,
        intersections=spec.intersections,
        reference=spec.references,
        reference_rule=s.reference_rule,
        n_boot=s.n_boot,
        bootstrap=s.bootstrap,
        seed=s.seed,
        alpha=s.alpha,
        correction=s.correction,
        test_margin=s.test_margin,
        min_group_size=s.min_group_size,
        min_denominator=s.min_denominator,
        legitimate_factors=spec.legitimate_factors,
        factor_bins=spec.factor_bins,
        min_cell_size=s.min_cell_size,
        max_levels=s.max_levels,
        group_bins=spec.group_bins,
        max_numeric_levels=s.max_numeric_levels,
        track=TRACK if TRACK in present else None,
    )
