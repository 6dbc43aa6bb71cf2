"""Group metrics as functions of the confusion counts, declared once in a table.

Every rate metric is a ratio of sums of confusion cells, so one table (`RATE_METRICS`) defines
them all, like fairlearn's METRICS_SPEC: adding a metric is adding a row. Arrays may carry any
leading axes (groups, bootstrap replicates); the last two axes are (y_true, y_pred).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Cell = tuple[int, int]  # (y_true, y_pred)
TN: Cell = (0, 0)
FP: Cell = (0, 1)
FN: Cell = (1, 0)
TP: Cell = (1, 1)
ALL: tuple[Cell, ...] = (TN, FP, FN, TP)


@dataclass(frozen=True)
class RateMetric:
    """A share: weight of the `numerator` cells over weight of the `denominator` cells."""

    name: str
    description: str
    numerator: tuple[Cell, ...]
    denominator: tuple[Cell, ...]
    undefined_reason: str
    # Complementary metrics (FNR = 1 - TPR) carry the same evidence; only one of each pair is
    # tested for disparities so that the multiple-comparison family is not inflated twice.
    tested: bool = True

    @property
    def needs_outcome(self) -> bool:
        """Whether the metric reads the outcome: its cells differ once y_true is forgotten.

        A share whose numerator and denominator each take both outcome classes of a decision
        together (the selection rate) is a function of the decisions alone.
        """
        return any(
            {(0, d) for _, d in cells} | {(1, d) for _, d in cells} != set(cells)
            for cells in (self.numerator, self.denominator)
        )

    def parts(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        num = sum(counts[..., i, j] for i, j in self.numerator)
        den = sum(counts[..., i, j] for i, j in self.denominator)
        return np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)

    def value(self, counts: np.ndarray) -> np.ndarray:
        num, den = self.parts(counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


RATE_METRICS: tuple[RateMetric, ...] = (
    RateMetric(
        "selection_rate", "share of the group given the decision", (FP, TP), ALL, "empty group"
    ),
    RateMetric(
        "base_rate",
        "share of the group with the outcome",
        (FN, TP),
        ALL,
        "empty group",
        tested=False,
    ),
    RateMetric(
        "tpr",
        "true positive rate: share of those with the outcome given the decision",
        (TP,),
        (FN, TP),
        "no one in the group has the outcome",
    ),
    RateMetric(
        "fpr",
        "false positive rate: share of those without the outcome given the decision",
        (FP,),
        (TN, FP),
        "everyone in the group has the outcome",
    ),
    RateMetric(
        "fnr",
        "false negative rate: share of those with the outcome denied the decision",
        (FN,),
        (FN, TP),
        "no one in the group has the outcome",
        tested=False,
    ),
    RateMetric(
        "tnr",
        "true negative rate: share of those without the outcome denied the decision",
        (TN,),
        (TN, FP),
        "everyone in the group has the outcome",
        tested=False,
    ),
    RateMetric(
        "ppv",
        "precision: share of decisions that were right",
        (TP,),
        (FP, TP),
        "no one in the group was given the decision",
    ),
    RateMetric(
        "npv",
        "share of refusals that were right",
        (TN,),
        (TN, FN),
        "everyone in the group was given the decision",
    ),
    RateMetric(
        "fdr",
        "share of decisions that were wrong",
        (FP,),
        (FP, TP),
        "no one in the group was given the decision",
        tested=False,
    ),
    RateMetric(
        "for",
        "share of refusals that were wrong",
        (FN,),
        (TN, FN),
        "everyone in the group was given the decision",
        tested=False,
    ),
    RateMetric("accuracy", "share of right decisions", (TN, TP), ALL, "empty group"),
)
RATES: dict[str, RateMetric] = {m.name: m for m in RATE_METRICS}


@dataclass(frozen=True)
class DerivedMetric:
    """A metric computed from other metrics' values rather than from cells directly."""

    name: str
    description: str
    compute: Callable[[dict[str, np.ndarray]], np.ndarray]
    undefined_reason: str
    tested: bool = True


DERIVED_METRICS: tuple[DerivedMetric, ...] = (
    DerivedMetric(
        "balanced_accuracy",
        "mean of the true positive and true negative rates",
        lambda v: (v["tpr"] + v["tnr"]) / 2,
        "the group lacks people with or without the outcome",
    ),
)

METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in RATE_METRICS) + tuple(
    m.name for m in DERIVED_METRICS
)
UNDEFINED_REASONS: dict[str, str] = {m.name: m.undefined_reason for m in RATE_METRICS} | {
    m.name: m.undefined_reason for m in DERIVED_METRICS
}
TESTED_METRICS: tuple[str, ...] = tuple(m.name for m in RATE_METRICS if m.tested) + tuple(
    m.name for m in DERIVED_METRICS if m.tested
)
# The metrics an audit without an observed outcome computes: those of the decisions alone.
# Derived metrics combine outcome rates, and the score metrics (AUC, calibration) compare the
# score with the outcome, so every other metric needs one.
DECISION_METRICS: tuple[str, ...] = tuple(m.name for m in RATE_METRICS if not m.needs_outcome)


def needs_outcome(metric: str) -> bool:
    """Whether `metric` (a rate, derived, score or named metric) reads the observed outcome."""
    return metric not in DECISION_METRICS


def confusion_metrics(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every registered metric for every leading index of `counts` (NaN where undefined)."""
    values = {m.name: m.value(counts) for m in RATE_METRICS}
    for d in DERIVED_METRICS:
        values[d.name] = d.compute(values)
    return values
