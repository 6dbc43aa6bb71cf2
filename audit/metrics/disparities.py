"""Reference groups and the summary measures users know from fairlearn and the EEOC.

Differences and ratios are always "group minus (or over) its reference group", which is how
aif360 states statistical parity difference, disparate impact, equal opportunity difference and
average odds difference with the reference as the privileged group. The between-group summaries
(max minus min, min over max) follow fairlearn's `demographic_parity_difference` and friends.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from audit.errors import AuditInputError
from audit.metrics import bounds

ReferenceRule = Literal["largest", "most_advantaged"]
FOUR_FIFTHS = 0.8


def choose_reference(
    levels: Sequence[tuple[str, ...]],
    weight: np.ndarray,
    selection_rate: np.ndarray,
    reliable: np.ndarray,
    *,
    rule: ReferenceRule,
    explicit: tuple[str, ...] | None = None,
) -> int:
    """Index of the reference group among `levels`.

    An explicit reference wins. Otherwise "largest" takes the group with the most weight, and
    "most_advantaged" the reliable group most often given the decision (ties: the larger one).
    """
    if explicit is not None:
        if explicit in levels:
            return list(levels).index(explicit)
        known = ", ".join(_label(lv) for lv in levels[:20])
        raise AuditInputError(
            f"reference group {_label(explicit)!r}",
            expected="one of the groups present in the data",
            found=f"no such group (groups are: {known})",
            fix="name a level that occurs in the group column, spelled as it is in the data",
        )
    if rule == "largest":
        return int(np.argmax(weight))
    candidates = np.flatnonzero(reliable & np.isfinite(selection_rate))
    if candidates.size == 0:
        return int(np.argmax(weight))
    best = np.lexsort((-weight[candidates], -selection_rate[candidates]))[0]
    return int(candidates[best])


def _label(levels: tuple[str, ...]) -> str:
    return " × ".join(levels)


@dataclass(frozen=True)
class SummaryMeasure:
    name: str
    compute: Callable[[dict[str, np.ndarray]], np.ndarray]
    needs_outcome: bool = True  # False: a summary of selection rates, the decisions alone


def _spread(values: np.ndarray) -> np.ndarray:
    """max - min over the last axis, ignoring undefined groups."""
    with np.errstate(invalid="ignore"):
        return _nan_reduce(np.nanmax, values) - _nan_reduce(np.nanmin, values)


def _ratio(values: np.ndarray) -> np.ndarray:
    """min / max over the last axis, ignoring undefined groups; 1 when no group gets any."""
    lo, hi = _nan_reduce(np.nanmin, values), _nan_reduce(np.nanmax, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), np.where(hi == 0, 1.0, np.nan))


def _nan_reduce(fn: Callable[..., np.ndarray], values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all groups undefined -> NaN, on purpose
        return np.asarray(fn(values, axis=-1))


SUMMARY_MEASURES: tuple[SummaryMeasure, ...] = (
    SummaryMeasure(
        "demographic_parity_difference", lambda v: _spread(v["selection_rate"]), False
    ),
    SummaryMeasure("demographic_parity_ratio", lambda v: _ratio(v["selection_rate"]), False),
    SummaryMeasure(
        "equalized_odds_difference", lambda v: np.fmax(_spread(v["tpr"]), _spread(v["fpr"]))
    ),
    SummaryMeasure("equalized_odds_ratio", lambda v: np.fmin(_ratio(v["tpr"]), _ratio(v["fpr"]))),
    SummaryMeasure("equal_opportunity_difference", lambda v: _spread(v["tpr"])),
    SummaryMeasure("equal_opportunity_ratio", lambda v: _ratio(v["tpr"])),
)
SCORE_SUMMARY_MEASURES: tuple[SummaryMeasure, ...] = (
    SummaryMeasure("auc_difference", lambda v: _spread(v["auc"])),
    SummaryMeasure("ece_max", lambda v: _nan_reduce(np.nanmax, v["ece"])),
)


def four_fifths(selection_rate: np.ndarray) -> tuple[float, np.ndarray]:
    """The EEOC four-fifths rule: each group's selection rate over the highest group's rate.

    Returns the smallest such ratio (the demographic parity ratio) and a mask of the groups under
    4/5 of the highest rate. A ratio of exactly 4/5 passes, also when floating-point division
    lands just under it (4/9 over 5/9 is 0.7999999999999999): see `audit.metrics.bounds`.
    """
    top = _nan_reduce(np.nanmax, selection_rate)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = bounds.below(selection_rate / top, FOUR_FIFTHS)
    return float(_ratio(selection_rate)), below


@dataclass(frozen=True)
class NamedDisparity:
    """A mean of several metrics' gaps to the reference (or of their absolute values), as in aif360.

    `gaps` and `value` take per-group metric arrays (groups on the last axis, any leading axes
    such as bootstrap replicates) and the index of each group's reference group.
    """

    name: str
    description: str
    components: tuple[str, ...]
    absolute: bool = False

    def gaps(self, values: dict[str, np.ndarray], ref: np.ndarray) -> list[np.ndarray]:
        return [values[c] - values[c][..., ref] for c in self.components]

    def value(self, values: dict[str, np.ndarray], ref: np.ndarray) -> np.ndarray:
        gaps = self.gaps(values, ref)
        return sum(np.abs(g) if self.absolute else g for g in gaps) / len(gaps)  # type: ignore[return-value]


# aif360's ClassificationMetric with the reference as the privileged group; its definitions are
# followed to the letter, including FOR (not NPV) in the average predictive value difference.
NAMED_DISPARITIES: tuple[NamedDisparity, ...] = (
    NamedDisparity(
        "average_odds_difference",
        "mean of the FPR and TPR differences to the reference",
        ("fpr", "tpr"),
    ),
    NamedDisparity(
        "average_abs_odds_difference",
        "mean of the absolute FPR and TPR differences to the reference",
        ("fpr", "tpr"),
        absolute=True,
    ),
    NamedDisparity(
        "average_predictive_value_difference",
        "mean of the PPV and false omission rate differences to the reference",
        ("ppv", "for"),
    ),
)
NAMED_DISPARITY_NAMES: tuple[str, ...] = tuple(d.name for d in NAMED_DISPARITIES)
