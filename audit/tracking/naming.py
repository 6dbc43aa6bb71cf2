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

from audit.stats.result import Assessment

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

    for m in assessment.metrics:
        path = group_path(m.attributes, m.levels)
        put(f"{m.metric}/{path}", m.value)
        put(f"{m.metric}.ci_low/{path}", m.ci_low)
        put(f"{m.metric}.ci_high/{path}", m.ci_high)
    for d in assessment.disparities:
        path = group_path(d.attributes, d.levels)
        stem = f"{d.metric}.{d.kind}"
        put(f"{stem}/{path}", d.value)
        put(f"{stem}.ci_low/{path}", d.ci_low)
        put(f"{stem}.ci_high/{path}", d.ci_high)
        put(f"{stem}.p_adjusted/{path}", d.p_adjusted)
    for c in assessment.conditional:
        path = group_path(c.attributes, c.levels)
        stem = f"{c.metric}.conditional_difference"
        put(f"{stem}/{path}", c.value)
        put(f"{stem}.ci_low/{path}", c.ci_low)
        put(f"{stem}.ci_high/{path}", c.ci_high)
    for s in assessment.summaries:
        path = "/".join(safe(a) for a in s.attributes)
        put(f"{s.measure}/{path}", s.value)
        put(f"{s.measure}.ci_low/{path}", s.ci_low)
        put(f"{s.measure}.ci_high/{path}", s.ci_high)
    return out
