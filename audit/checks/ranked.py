"""What the checks on ranked vacancies (H6 mobility, H7 under-matching) share.

`CheckContext.rankings` holds each person's recommended vacancies, best first, in the columns of
`audit.data.schema.RANKING_COLUMNS` (person_id, rank, vacancy_id, score, distance_km, skill_gap).
A person is found in `people` by the `_row` column when the audit step joined them (by the
spec's id column), else by `person_id` against the people's `person_id`.

The unit is the person, not the recommendation: each person's top-k recommendations are
summarised into one number (their mean distance, their share of jobs below their
qualification, ...), and groups are compared on the mean of those numbers. The k rows of one
person are not independent; summarising them first makes the intervals clustered by person.

A comparison is standardised over the strata of the legitimate factors (the recommended track,
the qualification, ...): within each stratum the group's mean minus the reference's, weighted
by the group's people in that stratum (the group's own composition). Without factors it is the
plain difference of means (Welch's standard error). Strata lacking two people on either side
are left out; `coverage` says what share of the group was compared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from audit.checks.base import (
    CannotRun,
    CheckContext,
    Evidence,
    Harmful,
    RecordStatus,
    conclude,
    detectable_shift,
    finite,
    holm,
    wald_p,
    z_of,
)
from audit.checks.strata import group_labels, reference_level, strata_codes

Scale = Literal["difference", "ratio"]

FIX_RANKINGS = (
    "Fix: give the recommendations as `data.rankings: FILE` (a CSV or Parquet file with the "
    "columns person_id, rank, vacancy_id, score, distance_km, skill_gap; `columns:` renames "
    "them), or audit a synthetic population, whose rankings are generated"
)


def ranked_rows(ctx: CheckContext, columns: Sequence[str], top_k: int) -> pd.DataFrame:
    """The recommendations of rank <= top_k with `_row`, the person's position in `people`."""
    rankings = ctx.rankings
    if rankings is None:
        raise CannotRun(
            "expected ranked vacancies per person (the matcher's recommendations); found "
            f"none. {FIX_RANKINGS}"
        )
    absent = [c for c in ("rank", *columns) if c not in rankings.columns]
    if absent:
        raise CannotRun(
            f"expected the rankings column(s) {', '.join(map(repr, absent))}; the rankings have "
            f"{', '.join(map(repr, map(str, rankings.columns)))}. Fix: add them to the rankings "
            "file, or name them under data.rankings.columns"
        )
    rows = _people_rows(ctx, rankings)
    rank = pd.to_numeric(rankings["rank"], errors="coerce").to_numpy(dtype=np.float64)
    keep = (rows >= 0) & (rank <= top_k)
    if not keep.any():
        raise CannotRun(
            f"expected recommendations of rank 1..{top_k} for the audited people; found none "
            "(no ranking names an audited person). Fix: check that the rankings' person ids "
            "are those of the data (data.rankings.id_column)"
        )
    out = rankings.loc[keep, list(dict.fromkeys(["rank", *columns]))].reset_index(drop=True)
    out["_row"] = rows[keep]
    return out


def _people_rows(ctx: CheckContext, rankings: pd.DataFrame) -> np.ndarray:
    if "_row" in rankings.columns:
        return rankings["_row"].to_numpy(dtype=np.int64)
    if "person_id" not in rankings.columns or "person_id" not in ctx.people.columns:
        raise CannotRun(
            "expected a person_id column in both the people and the rankings, to join them; "
            "found none. Fix: name the id column (data.rankings.id_column)"
        )
    ids = pd.Index(ctx.people["person_id"].astype(str))
    return np.asarray(ids.get_indexer(pd.Index(rankings["person_id"].astype(str))), dtype=np.int64)


def per_person(
    rows: np.ndarray, values: np.ndarray, n_people: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each person's mean of `values` over their rows, and whether they have any row."""
    count = np.bincount(rows, minlength=n_people)
    total = np.bincount(rows, weights=values.astype(np.float64), minlength=n_people)
    has = count > 0
    return np.where(has, total / np.maximum(count, 1), np.nan), has


def per_person_sum(rows: np.ndarray, values: np.ndarray, n_people: int) -> np.ndarray:
    return np.bincount(rows, weights=values.astype(np.float64), minlength=n_people)


@dataclass(frozen=True)
class Comparison:
    """One group against its reference on one per-person measure, standardised over strata."""

    attribute: str
    level: str
    reference: str
    measure: str
    scale: Scale
    estimate: float  # difference, or ratio
    se: float  # of the difference, or of the log ratio
    group_mean: float
    reference_mean: float
    n: int  # people of the group with recommendations
    n_reference: int
    coverage: float  # share of the group's people in strata compared
    strata: int

    @property
    def test_value(self) -> float:
        """The estimate on the scale of the Wald test (log for a ratio)."""
        if self.scale == "difference":
            return self.estimate
        return math.log(self.estimate) if self.estimate > 0 else math.nan


ROUNDING = 1e-12  # relative size of a floating-point rounding error in a mean


def standardised(
    values: np.ndarray,
    in_group: np.ndarray,
    in_reference: np.ndarray,
    strata: np.ndarray,
    scale: Scale,
) -> tuple[float, float, float, float, float, int]:
    """(estimate, se, group mean, reference mean, coverage, strata compared); see module doc."""
    k = int(strata.max()) + 1 if strata.size else 1
    g = _moments(values, in_group, strata, k)
    r = _moments(values, in_reference, strata, k)
    usable = (g[0] >= 2) & (r[0] >= 2)
    n_group = g[0].sum()
    if not usable.any() or n_group == 0:
        return math.nan, math.nan, math.nan, math.nan, 0.0, 0
    w = g[0][usable] / g[0][usable].sum()
    mean_g, mean_r = float(w @ g[1][usable]), float(w @ r[1][usable])
    var_g = float(w**2 @ (g[2][usable] / g[0][usable]))
    var_r = float(w**2 @ (r[2][usable] / r[0][usable]))
    coverage = float(g[0][usable].sum() / n_group)
    if scale == "difference":
        return (
            mean_g - mean_r,
            math.sqrt(var_g + var_r),
            mean_g,
            mean_r,
            coverage,
            int(usable.sum()),
        )
    if mean_g <= 0 or mean_r <= 0:
        return math.nan, math.nan, mean_g, mean_r, coverage, int(usable.sum())
    # The delta method on the log of the ratio of the two standardised means.
    se = math.sqrt(var_g / mean_g**2 + var_r / mean_r**2)
    return mean_g / mean_r, se, mean_g, mean_r, coverage, int(usable.sum())


def _moments(
    values: np.ndarray, member: np.ndarray, strata: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stratum: people, mean and sample variance (ddof 1) of `values` among members."""
    s, v = strata[member], values[member]
    n = np.bincount(s, minlength=k).astype(np.float64)
    mean = np.bincount(s, weights=v, minlength=k) / np.maximum(n, 1)
    # Equal values (everyone's share 1/3) leave rounding in the mean: a variance of 1e-33 whose
    # "standard error" made a difference of 1e-16 significant. A deviation at rounding size
    # is none, so equal values have no variance, as exact zeros already have.
    deviation = v - mean[s]
    deviation[np.abs(deviation) <= ROUNDING * np.maximum(1.0, np.abs(mean[s]))] = 0.0
    squares = np.bincount(s, weights=deviation**2, minlength=k)
    return n, mean, squares / np.maximum(n - 1, 1)


@dataclass(frozen=True)
class Measure:
    """A per-person measure a check compares, its scale, harmful side and margin."""

    name: str
    values: np.ndarray  # per person of `people` (NaN where the person has no value)
    scale: Scale
    harmful: Harmful
    margin: float


def compare(
    ctx: CheckContext,
    attributes: Sequence[str],
    measures: Sequence[Measure],
    factors: Sequence[str],
) -> tuple[list[Comparison], list[str]]:
    """Every group level against its reference on every measure, and the binning notes."""
    strata, _, notes = strata_codes(ctx.people, factors, ctx.factor_bins)
    comparisons: list[Comparison] = []
    for column in attributes:
        labels = group_labels(ctx.people[column]).to_numpy()
        for m in measures:
            has = np.isfinite(m.values)
            reference = reference_level(ctx, column, labels[has] if has.any() else labels)
            in_reference = has & (labels == reference)
            for level in sorted(set(labels[has]) - {reference}):
                in_group = has & (labels == level)
                est, se, mg, mr, cov, k = standardised(
                    np.where(has, m.values, 0.0), in_group, in_reference, strata, m.scale
                )
                comparisons.append(
                    Comparison(
                        column,
                        level,
                        reference,
                        m.name,
                        m.scale,
                        est,
                        se,
                        mg,
                        mr,
                        int(in_group.sum()),
                        int(in_reference.sum()),
                        cov,
                        k,
                    )
                )
    return comparisons, notes


def decide(
    comparisons: Sequence[Comparison], measures: Sequence[Measure], ctx: CheckContext
) -> list[Evidence]:
    """Records, with Holm over the comparisons that can decide (both sides large enough)."""
    by_name = {m.name: m for m in measures}
    deciding = [
        c
        for c in comparisons
        if min(c.n, c.n_reference) >= ctx.min_group_size
        and math.isfinite(c.se)
        and c.se > 0
        and math.isfinite(c.test_value)
    ]
    # "No harm" is 0 on the test's scale for both (a difference, or the log of a ratio).
    p_values = [wald_p(c.test_value, c.se) for c in deciding]
    tested = {id(c): (p, q) for c, p, q in zip(deciding, p_values, holm(p_values), strict=True)}
    return [
        _record(c, by_name[c.measure], tested.get(id(c)), ctx, len(deciding)) for c in comparisons
    ]


def _record(
    c: Comparison,
    m: Measure,
    tested: tuple[float, float] | None,
    ctx: CheckContext,
    tests: int,
) -> Evidence:
    z = z_of(ctx.alpha)
    t, se = c.test_value, c.se
    low, high = t - z * se, t + z * se
    shift = detectable_shift(se, alpha=ctx.alpha, tests=tests, power=ctx.power)
    sign = 1.0 if m.harmful == "above" else -1.0
    detectable = sign * shift
    if c.scale == "ratio":
        low, high, detectable = math.exp(low), math.exp(high), math.exp(detectable)
    null = 0.0 if c.scale == "difference" else 1.0
    status: RecordStatus = "unreliable"
    if tested is not None:
        status = conclude(
            c.estimate,
            low,
            high,
            tested[1],
            alpha=ctx.alpha,
            null=null,
            margin=m.margin,
            harmful=m.harmful,
        )
    return Evidence(
        attribute=c.attribute,
        level=c.level,
        reference=c.reference,
        measure=c.measure,
        estimate=finite(c.estimate),
        ci_low=finite(low),
        ci_high=finite(high),
        p_value=finite(tested[0]) if tested else None,
        p_adjusted=finite(tested[1]) if tested else None,
        detectable=finite(detectable),
        n=c.n,
        n_reference=c.n_reference,
        status=status,
        details={
            "group_mean": finite(c.group_mean),
            "reference_mean": finite(c.reference_mean),
            "coverage": finite(c.coverage),
            "strata": c.strata,
        },
    )


def with_housing(attributes: list[str], housing: str | None, people: pd.DataFrame) -> list[str]:
    """The attributes, and the housing column where the data has it (people without a fixed
    address are the ones a matcher's distances fail first)."""
    if housing and housing in people.columns and housing not in attributes:
        return [*attributes, housing]
    return attributes
