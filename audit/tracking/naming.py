"""Stable MLflow metric names for every figure of an `Assessment`.

Names are built so that the same group and metric get the same key in every audit, which is what
lets the MLflow UI chart a model's audit history and compare runs:

    tpr/housing_status.homeless                          group metric
    tpr.difference/housing_status.homeless               disparity against the reference group
    tpr.difference.ci_low/housing_status.homeless        its interval bounds
    tpr.conditional_difference/housing_status.homeless   the same, within legitimate factors
    demographic_parity_difference/housing_status         summary over an attribute's groups

Intersections add one path segment per attribute. MLflow accepts only letters, digits, `_ - . /`
and spaces in a key, so other characters in a level (`50+`, `<25`) become `_`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from audit.stats.result import Assessment, ConditionalDisparity, Disparity, MetricValue, Summary

Estimate = MetricValue | Disparity | ConditionalDisparity | Summary

_UNSAFE = re.compile(r"[^\w.\- ]")


def safe(text: str) -> str:
    """A level or attribute name as MLflow accepts it in a key."""
    return _UNSAFE.sub("_", text).strip() or "_"


def group_path(attributes: Iterable[str], levels: Iterable[str]) -> str:
    return "/".join(f"{safe(a)}.{safe(v)}" for a, v in zip(attributes, levels, strict=True))


def flatten_metrics(assessment: Assessment) -> dict[str, float]:
    """Every defined figure with its interval bounds, keyed by its stable name.

    Undefined values (empty denominators) are left out rather than logged as NaN: MLflow would
    chart a NaN as a gap anyway, and the JSON result keeps the reason.
    """
    out: dict[str, float] = {}

    def put(key: str, value: float | None) -> None:
        if value is not None and math.isfinite(value):
            out[key] = float(value)

    def put_estimate(stem: str, path: str, record: Estimate) -> None:
        put(f"{stem}/{path}", record.value)
        put(f"{stem}.ci_low/{path}", record.ci_low)
        put(f"{stem}.ci_high/{path}", record.ci_high)

    for m in assessment.metrics:
        put_estimate(m.metric, group_path(m.attributes, m.levels), m)
    for d in assessment.disparities:
        path = group_path(d.attributes, d.levels)
        put_estimate(f"{d.metric}.{d.kind}", path, d)
        put(f"{d.metric}.{d.kind}.p_adjusted/{path}", d.p_adjusted)
    for c in assessment.conditional:
        put_estimate(f"{c.metric}.conditional_difference", group_path(c.attributes, c.levels), c)
    for s in assessment.summaries:
        put_estimate(s.measure, "/".join(safe(a) for a in s.attributes), s)
    return out
