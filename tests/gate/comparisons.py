"""Comparison records set by hand for the gate's by-hand tests: a record of an assessment with
its figures replaced, and a policy from plain rules."""

from __future__ import annotations

from dataclasses import replace

from scipy import stats

from audit.spec import PolicySpec
from audit.stats.result import Assessment, Disparity

Z = float(stats.norm.ppf(0.975))  # the audit's alpha is 0.05


def comparison(
    template: Disparity,
    level: str,
    value: float | None,
    se: float | None = None,
    *,
    kind: str,
    ci: tuple[float | None, float | None] | None = None,
    reliable: bool = True,
    p_value: float | None = None,
    detectable: float | None = None,
    why: str | None = None,
) -> Disparity:
    """`template` (a comparison with the reference r) for group g=level, with a Wald interval
    value -/+ Z se unless `ci` is given."""
    if ci is None:
        ci = (None, None) if se is None or value is None else (value - Z * se, value + Z * se)
    return replace(
        template,
        levels=(level,),
        kind=kind,  # type: ignore[arg-type]
        value=value,
        ci_low=ci[0],
        ci_high=ci[1],
        reliable=reliable,
        p_value=p_value,
        detectable=detectable,
        undefined_reason=why,
    )


def with_records(base: Assessment, *records: Disparity) -> Assessment:
    return replace(base, disparities=records)


def policy(*rules: dict[str, object], margin: float = 0.0) -> PolicySpec:
    return PolicySpec.model_validate({"rules": list(rules), "regression_margin": margin})
