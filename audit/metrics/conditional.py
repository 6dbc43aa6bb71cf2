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

from audit.metrics.definitions import RATES, needs_outcome
from audit.metrics.intervals import effective_n

CONDITIONAL_METRICS: tuple[str, ...] = ("selection_rate", "tpr", "fpr")


def conditional_metrics(with_outcome: bool) -> tuple[str, ...]:
    """The conditional metrics of an assessment: without an outcome, the decisions' alone."""
    if with_outcome:
        return CONDITIONAL_METRICS
    return tuple(m for m in CONDITIONAL_METRICS if not needs_outcome(m))


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


@dataclass(frozen=True)
class ExplainedShare:
    """Per group: the share of the plain gap the factors explain, and its interval (NaN: none)."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


# A plain gap smaller than this is no gap at all: its share would be noise divided by noise.
NO_GAP = 1e-12


def explained_share(
    unconditional: np.ndarray,
    conditional: np.ndarray,
    boot_unconditional: np.ndarray | None,
    boot_conditional: np.ndarray | None,
    z: float,
) -> ExplainedShare:
    """(U − C) / U per group (last axis), with Fieller's interval from joint replicates.

    The share is a ratio θ = D / U with D = U − C, the part of the gap due to composition. The
    Fieller interval is the set of θ with (D − θU)² ≤ z² Var(D − θU), the variances and the
    covariance taken from the bootstrap replicates of U and C drawn on the same resamples. It
    holds the estimate by construction (D − θ̂U = 0), and it is a bounded interval exactly when
    U is distinguishable from 0 (U² > z² Var U); otherwise the share has no interval (NaN).

    >>> share = explained_share(np.array([-0.1]), np.array([-0.02]), None, None, 1.96)
    >>> round(float(share.value[0]), 6)
    0.8
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(np.abs(unconditional) > NO_GAP, 1 - conditional / unconditional, np.nan)
    nan = np.full(value.shape, np.nan)
    if boot_unconditional is None or boot_conditional is None:
        return ExplainedShare(value, nan, nan.copy())
    u, d = unconditional, unconditional - conditional
    bu, bd = boot_unconditional, boot_unconditional - boot_conditional
    both = np.isfinite(bu) & np.isfinite(bd)  # replicates where both are defined
    m = both.sum(axis=0)
    bu, bd = np.where(both, bu, 0.0), np.where(both, bd, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_u, mean_d = bu.sum(axis=0) / m, bd.sum(axis=0) / m
        cu, cd = np.where(both, bu - mean_u, 0.0), np.where(both, bd - mean_d, 0.0)
        v_uu = (cu * cu).sum(axis=0) / (m - 1)
        v_dd = (cd * cd).sum(axis=0) / (m - 1)
        v_du = (cd * cu).sum(axis=0) / (m - 1)
        # (a − θb)² ≤ z²(v_dd − 2θ v_du + θ² v_uu), as A θ² − 2 B θ + C ≤ 0.
        a_ = u**2 - z**2 * v_uu
        b_ = d * u - z**2 * v_du
        c_ = d**2 - z**2 * v_dd
        root = np.sqrt(np.maximum(b_**2 - a_ * c_, 0.0))
        bounded = (a_ > 0) & np.isfinite(value) & (m > 1)
        # The estimate is inside in exact arithmetic; min/max only absorb rounding when Var ≈ 0.
        low = np.where(bounded, np.minimum((b_ - root) / a_, value), np.nan)
        high = np.where(bounded, np.maximum((b_ + root) / a_, value), np.nan)
    return ExplainedShare(value, low, high)
