"""A group's odds of an outcome against a reference group's, among people alike in other factors.

Each stratum k (one combination of the legitimate factors) gives a 2x2 table: a_k people of the
group with the outcome, b_k without, c_k and d_k in the reference group. The Mantel–Haenszel
odds ratio pools them,

    OR_MH = sum(a_k d_k / n_k) / sum(b_k c_k / n_k),

and its log has the Robins–Breslow–Greenland variance, valid both for many small strata and for
few large ones (Robins, Breslow & Greenland 1986, Biometrics 42:311). A stratum holding only one
of the two groups tells nothing about the comparison and adds nothing to either sum.

The same tables give the part of the raw gap the factors explain: the group's rate minus the rate
the reference would have at the group's own mix of strata (standardised to the group, as in
`audit.metrics.conditional`), against the raw difference of rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StratifiedOdds:
    odds_ratio: float  # Mantel–Haenszel; nan when undefined, inf when no reference has it
    log_se: float  # RGB standard error of log(odds_ratio)
    raw_odds_ratio: float  # from the tables added together, factors ignored
    raw_log_se: float
    rate: float  # the group's rate
    reference_rate: float
    adjusted_difference: float  # group rate - reference rate at the group's mix of strata
    coverage: float  # share of the group in strata that hold the reference too
    strata: int  # strata that hold both groups


def stratified_odds(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> StratifiedOdds:
    """From per-stratum counts (group with / without, reference with / without the outcome)."""
    a, b, c, d = (np.asarray(x, dtype=np.float64) for x in (a, b, c, d))
    # The raw comparison reads everyone; the stratified one only the strata holding both groups.
    cells = tuple(float(x.sum()) for x in (a, b, c, d))
    total_a, total_b, total_c, total_d = cells
    raw = _ratio(total_a * total_d, total_b * total_c)
    raw_se = math.sqrt(sum(1 / x for x in cells)) if min(cells) > 0 else math.nan
    rate = _ratio(total_a, total_a + total_b)
    reference_rate = _ratio(total_c, total_c + total_d)
    n1, n0 = a + b, c + d
    both = (n1 > 0) & (n0 > 0)
    a, b, c, d, n1, n0 = (x[both] for x in (a, b, c, d, n1, n0))
    n = n1 + n0
    r, s = a * d / n, b * c / n
    p, q = (a + d) / n, (b + c) / n
    sr, ss = float(r.sum()), float(s.sum())
    if sr > 0 and ss > 0:
        var = (
            float((p * r).sum()) / (2 * sr**2)
            + float((p * s + q * r).sum()) / (2 * sr * ss)
            + float((q * s).sum()) / (2 * ss**2)
        )
        log_se = math.sqrt(var)
    else:
        log_se = math.nan
    shared_n1 = float(n1.sum())
    if shared_n1 > 0:
        # the group's own rate and the reference's at the group's mix, over the same strata
        adjusted = float(a.sum()) / shared_n1 - float((n1 * c / n0).sum()) / shared_n1
    else:
        adjusted = math.nan
    return StratifiedOdds(
        odds_ratio=_ratio(sr, ss),
        log_se=log_se,
        raw_odds_ratio=raw,
        raw_log_se=raw_se,
        rate=rate,
        reference_rate=reference_rate,
        adjusted_difference=adjusted,
        coverage=_ratio(shared_n1, total_a + total_b),
        strata=int(both.sum()),
    )


def stratified_tables(
    outcome: np.ndarray, in_group: np.ndarray, in_reference: np.ndarray, stratum: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four count vectors over strata (codes 0..k-1) for `stratified_odds`."""
    k = int(stratum.max()) + 1 if stratum.size else 0
    y = outcome.astype(bool)
    return tuple(  # type: ignore[return-value]
        np.bincount(stratum[mask], minlength=k)
        for mask in (in_group & y, in_group & ~y, in_reference & y, in_reference & ~y)
    )


def _ratio(num: float, den: float) -> float:
    """num / den; inf for a positive numerator over 0, nan for 0 / 0."""
    if den > 0:
        return num / den
    return math.inf if num > 0 else math.nan
