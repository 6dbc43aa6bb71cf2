"""Group rates within each level of each legitimate factor: fairlearn's `control_features` view.

The conditional comparison pools the strata into one number per group; this table shows what
it pools: for each attribute and each factor alone, every group's selection rate, TPR and FPR
among the people with one level of the factor (Wilson intervals), and its difference to the
attribute's reference group in that level (Newcombe intervals). fairlearn's
`MetricFrame(..., control_features=factor).by_group` gives the same rates, and its
`difference()` is the largest minus the smallest rate of each level.
"""

from __future__ import annotations

import numpy as np

from audit.metrics.conditional import conditional_metrics
from audit.metrics.definitions import RATES
from audit.metrics.intervals import effective_n, newcombe, wilson
from audit.stats.counts import GroupCounts
from audit.stats.factors import factor_axes, marginal_in_order
from audit.stats.result import Assessment, WithinStratum


def within_strata(strata: GroupCounts, result: Assessment) -> tuple[WithinStratum, ...]:
    """Records for every attribute × factor × metric × factor level × group with people there.

    `strata` holds the attributes of `result` and the legitimate factors (as for
    `conditional_comparisons`); a group column that is also a factor is used as a factor for
    the other attributes only. Cells without anyone are left out.
    """
    s = result.settings
    level = 1 - s.alpha
    records: list[WithinStratum] = []
    for j, name in enumerate(s.groups):
        ref_levels = next(
            g.levels for g in result.groups if g.attributes == (name,) and g.is_reference
        )
        ref = strata.levels[j].index(ref_levels[0])
        for f in factor_axes(strata, s.legitimate_factors, name):

            def cut(array: np.ndarray, keep: tuple[int, int] = (j, f)) -> np.ndarray:
                return marginal_in_order(strata, array, keep)  # (groups, factor levels, 2, 2)

            n, w = cut(strata.n), cut(strata.w)
            w2 = None if strata.w2 is None else cut(strata.w2)
            rows = n.sum(axis=(2, 3))
            reliable = (rows >= s.min_group_size) & (rows[ref] >= s.min_group_size)
            for metric in conditional_metrics(s.y_true is not None):
                records += _metric_records(
                    (name, strata.levels[j], ref),
                    (strata.attributes[f], strata.levels[f]),
                    metric,
                    (n, w, w2),
                    reliable,
                    level,
                )
    return tuple(records)


def _metric_records(
    attribute: tuple[str, tuple[str, ...], int],
    factor_and_levels: tuple[str, tuple[str, ...]],
    metric: str,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    reliable: np.ndarray,
    level: float,
) -> list[WithinStratum]:
    """One metric's records for one attribute (name, levels, reference index) and one factor
    (name, levels); the count arrays are (groups, factor levels, 2, 2)."""
    name, levels, ref = attribute
    factor, factor_levels = factor_and_levels
    n, w, w2 = arrays
    rows = n.sum(axis=(2, 3))
    rate = RATES[metric]
    _, den_rows = rate.parts(n)
    num, den = rate.parts(w)
    n_eff = effective_n(den, None if w2 is None else rate.parts(w2)[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    low, high = wilson(value, n_eff, level)
    diff = value - value[ref]
    d_low, d_high = newcombe(value, n_eff, value[ref], n_eff[ref], level)
    records = []
    for f, g in zip(*np.nonzero(rows.T > 0), strict=True):  # level by level, as fairlearn
        own = g == ref
        v = _number(value[g, f])
        d = None if own else _number(diff[g, f])
        reason = None
        if v is None:
            reason = rate.undefined_reason + " in this factor level"
        elif d is None and not own:
            reason = f"reference group: {rate.undefined_reason} in this factor level"
        records.append(
            WithinStratum(
                attributes=(name,),
                levels=(levels[g],),
                reference_levels=(levels[ref],),
                factor=factor,
                factor_level=factor_levels[f],
                metric=metric,
                value=v,
                undefined_reason=reason,
                ci_low=None if v is None else _number(low[g, f]),
                ci_high=None if v is None else _number(high[g, f]),
                n_rows=int(rows[g, f]),
                denominator_rows=int(den_rows[g, f]),
                reference_n_rows=int(rows[ref, f]),
                is_reference=bool(own),
                difference=d,
                difference_ci_low=None if d is None else _number(d_low[g, f]),
                difference_ci_high=None if d is None else _number(d_high[g, f]),
                reliable=bool(reliable[g, f]),
            )
        )
    return records


def _number(x: float | np.floating) -> float | None:
    return float(x) if np.isfinite(x) else None
