"""What every harm check shares: its inputs, its evidence records and how it concludes.

A check answers one question people raised (`docs/harm_checks.md`) with evidence both ways:

- **finding**: a test corrected over the check's comparisons (Holm) rejects "no harm", and the
  estimate lies on the harmful side. The interval then excludes "no harm" too (same Wald test);
- **no finding**: not significant, and the interval's harmful end stays within the check's
  margin: the data rule out a harm larger than the margin;
- **inconclusive**: neither; the record says how large an effect the check could have detected.

A group smaller than `statistics.min_group_size` (or its reference) is `unreliable`: reported,
never deciding. A check is `not_evaluable` when no group could decide and `skipped` when it
could not run at all (a column it needs, a model it must call); "not evaluable" is never a pass.

A `descriptive` record is context for the reader (who lacks documents, how well a feature
predicts a group): reported with its interval, never deciding, never in the Holm family.

Records hold aggregates only. Flagged cases (`CaseFlag`) stay in memory for the review file
(`audit.checks.cases`); the result carries how many there are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from audit.metrics.normal import ndtr, ndtri
from audit.metrics.significance import adjust

if TYPE_CHECKING:
    from audit.models.importing import AuditableModel

CheckStatus = Literal["finding", "no_finding", "inconclusive", "not_evaluable", "skipped"]
RecordStatus = Literal["finding", "no_finding", "inconclusive", "unreliable", "descriptive"]
NOT_DECIDING: tuple[RecordStatus, ...] = ("unreliable", "descriptive")
Harmful = Literal["above", "below"]  # which side of "no harm" the harm lies on


class CheckParams(BaseModel):
    """A check's entry in the spec's `checks:` list; each check adds its own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    check: str  # each check narrows it to Literal[its code, its name]
    id: str | None = None  # default: the check's name as written
    description: str | None = None

    @property
    def check_id(self) -> str:
        return self.id or self.check


class CannotRun(Exception):
    """A check that cannot run on this audit's inputs; the message says why and how to fix it.

    The runner records the check as skipped with this reason and goes on with the others.
    """


@dataclass(frozen=True)
class Attribute:
    """A group column of the audit and its reference level (None: its largest group)."""

    column: str
    reference: str | None


class DecisionRule(Protocol):
    """What a re-scoring check reads of the spec's `decision:` (`audit.spec.DecisionSpec`, not
    imported: the spec imports the checks)."""

    @property
    def bands(self) -> Mapping[Any, float] | None: ...
    @property
    def examined(self) -> Sequence[str] | None: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def label(self) -> str | None: ...


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may read. Nothing in it is modified by a check.

    `people` are the audited rows with all their columns; `table` is the outputs step's table
    (`_track`, `_decision`, `_score`, `_outcome` and the group columns), row-aligned with
    `people`. `model` is None when only a file of decisions is available.
    """

    people: pd.DataFrame
    table: pd.DataFrame
    model: AuditableModel | None
    attributes: tuple[Attribute, ...]
    factors: tuple[str, ...]
    factor_bins: Mapping[str, int]
    alpha: float = 0.05
    power: float = 0.8
    min_group_size: int = 30
    seed: int = 0
    outcome: str | None = None  # the spec's outcome column
    rankings: pd.DataFrame | None = None  # ranked vacancies per person (H6, H7)
    # How the model's output becomes the audited decision, for checks that re-score (flips);
    # None: the model's own label (a binary model's class 1), and the track of a recommender.
    decision: DecisionRule | None = None

    def attribute_columns(self, asked: Sequence[str] | None) -> list[str]:
        """The group columns a check compares: its own list, or every audited attribute."""
        return list(asked) if asked else [a.column for a in self.attributes]

    def factor_columns(self, asked: Sequence[str] | None) -> list[str]:
        """The legitimate factors a check reads: its own list (`[]`: none), or the spec's."""
        return list(asked if asked is not None else self.factors)


@dataclass(frozen=True)
class Evidence:
    """One comparison of a check: a group against its reference on one measure."""

    attribute: str
    level: str
    reference: str
    measure: str  # e.g. "adjusted_odds_ratio"
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    detectable: float | None  # the effect the check could detect at its size (same scale)
    n: int  # people in the group
    n_reference: int
    status: RecordStatus
    details: Mapping[str, float | int | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseFlag:
    """One person flagged for a counsellor to look at again; never leaves the process as is."""

    row: int  # position in `CheckContext.people`
    reason: str  # stable code, e.g. "H1_UNLIKELY_TRACK"
    score: float  # the ranking key: lower is more unusual
    evidence: Mapping[str, str | float | int]


@dataclass(frozen=True)
class CheckOutcome:
    code: str  # "H1"
    name: str  # "steering"
    check_id: str  # the spec's id for it
    status: CheckStatus
    sentence: str
    needs: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    reason: str | None = None  # why skipped or not evaluable
    margin: float | None = None
    cases: tuple[CaseFlag, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """A registered check: its stable code, name, parameters, and how it runs.

    `needs` lists the people columns the check reads (a missing one skips it, saying which);
    `needs_model` marks a check that must call the model (re-scoring), which a decisions file
    cannot do. `needs_rankings` marks a check that reads `CheckContext.rankings` (the audit
    generates or loads them only when such a check is asked for).
    """

    code: str
    name: str
    params: type[CheckParams]
    question: str
    needs: Callable[[Any, CheckContext], list[str]]
    run: Callable[[Any, CheckContext], CheckOutcome]
    needs_model: bool = False
    needs_rankings: bool = False


def conclude(
    estimate: float,
    low: float,
    high: float,
    p_adjusted: float,
    *,
    alpha: float,
    null: float,
    margin: float,
    harmful: Harmful,
) -> RecordStatus:
    """finding / no_finding / inconclusive for one reliable comparison (module docstring)."""
    beyond = estimate > null if harmful == "above" else estimate < null
    if math.isfinite(p_adjusted) and p_adjusted < alpha and beyond:
        return "finding"
    within = high <= margin if harmful == "above" else low >= margin
    return "no_finding" if within else "inconclusive"


def check_status(records: Sequence[Evidence]) -> CheckStatus:
    """The check's status from its records: any finding decides, unreliable and descriptive
    ones never do."""
    deciding = [r.status for r in records if r.status not in NOT_DECIDING]
    if not deciding:
        return "not_evaluable"
    if "finding" in deciding:
        return "finding"
    if "inconclusive" in deciding:
        return "inconclusive"
    return "no_finding"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values over one check's comparisons (NaN stays NaN)."""
    if not p_values:
        return []
    return [float(q) for q in adjust(np.asarray(p_values, dtype=np.float64), "holm")]


def wald_p(estimate: float, se: float, null: float = 0.0) -> float:
    """Two-sided p-value of a Wald test of estimate = null."""
    if not (math.isfinite(estimate) and math.isfinite(se)) or se <= 0:
        return math.nan
    return float(2 * ndtr(-abs(estimate - null) / se))


def z_of(alpha: float) -> float:
    """The two-sided normal quantile of a (1 - alpha) interval."""
    return float(ndtri(1 - alpha / 2))


def detectable_shift(se: float, *, alpha: float, tests: int, power: float) -> float:
    """The smallest true effect (on the test's scale) a corrected two-sided test finds with
    the stated power: (z_{1-alpha/2m} + z_power) * se."""
    if not math.isfinite(se) or se <= 0:
        return math.nan
    return float((ndtri(1 - alpha / (2 * max(tests, 1))) + ndtri(power)) * se)


def finite(x: float) -> float | None:
    """A float for a record, or None where it is not defined."""
    return float(x) if x is not None and math.isfinite(x) else None


def missing_columns(data: pd.DataFrame, needed: Sequence[str]) -> list[str]:
    return [c for c in needed if c not in data.columns]
