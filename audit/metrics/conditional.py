"""Conditional disparities: group gaps among people with the same legitimate factors.

A gap in selection rate between two groups may partly come from factors that legitimately affect
the decision (education, region). The conditional comparison standardises to the group's own
distribution over the strata s of those factors (the cross of all of them), an effect "on the
treated", as in a Kitagawa / Oaxaca–Blinder decomposition:

    conditional(a) = Σ_s w_s · (rate(a, s) − rate(r, s)),   w_s = weight of a in s / Σ weight of a,

over the strata where both rates are defined (the weights are renormalised to those strata, and
`coverage` is the share of group a's weight they hold). The weight is the metric's denominator:
everyone for the selection rate, those with the outcome for the TPR, those without for the FPR,
so that conditional + composition = the unconditional difference exactly when coverage is 1.

Arrays are count tables (..., groups, strata, y_true, y_pred); any leading axes (bootstrap
replicates) are carried through, so replicates cost one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.metrics.definitions import RATES
from audit.metrics.intervals import effective_n

CONDITIONAL_METRICS: tuple[str, ...] = ("selection_rate", "tpr", "fpr")


@dataclass(frozen=True)
class ConditionalEstimate:
    """Per group (last axis): conditional and unconditional difference against the reference.

    The reference's own entry is 0 with coverage 1. NaN where no stratum has both rates defined.
    """

    value: np.ndarray
    unconditional: np.ndarray
    coverage: np.ndarray


def _parts(counts: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    return RATES[metric].parts(counts)


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _standardising_weights(den: np.ndarray, ref: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's weights w_s over the strata shared with the reference, and its coverage."""
    both = (den > 0) & (den[..., ref : ref + 1, :] > 0)
    covered_den = np.where(both, den, 0.0)
    covered = covered_den.sum(axis=-1)
    total = den.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = np.where(covered[..., None] > 0, covered_den / covered[..., None], 0.0)
        coverage = np.where(total > 0, covered / total, np.nan)
    return weights, coverage


def conditional_difference(counts: np.ndarray, ref: int, metric: str) -> ConditionalEstimate:
    """Conditional and unconditional difference of `metric` for every group against `ref`.

    `counts` has shape (..., G, S, 2, 2) and holds weights (or row counts) per cell.

    >>> counts = np.zeros((2, 2, 2, 2))
    >>> counts[0, :, 0, :] = [[5, 5], [1, 9]]   # group 0: half selected in s0, 90% in s1
    >>> counts[1, :, 0, :] = [[16, 4], [2, 8]]  # group 1 (reference): 20% in s0, 80% in s1
    >>> est = conditional_difference(counts, 1, "selection_rate")
    >>> round(float(est.value[0]), 6), round(float(est.unconditional[0]), 6)
    (0.2, 0.3)
    """
    num, den = _parts(counts, metric)
    rate = _rate(num, den)
    weights, coverage = _standardising_weights(den, ref)
    gap = np.nan_to_num(rate - rate[..., ref : ref + 1, :])  # weight 0 wherever undefined
    value = np.where(coverage > 0, (weights * gap).sum(axis=-1), np.nan)
    overall = _rate(num.sum(axis=-1), den.sum(axis=-1))
    return ConditionalEstimate(
        value=value,
        unconditional=overall - overall[..., ref : ref + 1],
        coverage=coverage,
    )


def delta_standard_error(w: np.ndarray, w2: np.ndarray | None, ref: int, metric: str) -> np.ndarray:
    """Standard error of the conditional difference with the weights w_s held fixed.

    Var = Σ_s w_s² (p_a(1 − p_a)/n_a + p_r(1 − p_r)/n_r), with each cell's Kish effective size
    as n when there are sample weights. Arrays as in `conditional_difference`.
    """
    num, den = _parts(w, metric)
    n_eff = effective_n(den, None if w2 is None else _parts(w2, metric)[1])
    rate = _rate(num, den)
    weights, coverage = _standardising_weights(den, ref)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_var = rate * (1 - rate) / n_eff  # NaN in empty cells
    ref_var = np.broadcast_to(cell_var[..., ref : ref + 1, :], cell_var.shape)
    used = weights > 0  # both cells are non-empty there, so both variances are defined
    var = (weights**2 * np.where(used, cell_var + ref_var, 0.0)).sum(axis=-1)
    return np.where(coverage > 0, np.sqrt(var), np.nan)
