"""The AUC of a score for one group against the others, with DeLong's standard error.

Rank-based (ties count half, as in scikit-learn's `roc_auc_score`); the variance is DeLong's
from the placement values (DeLong, DeLong & Clarke-Pearson 1988), computed with mid-ranks so
that a boolean or count feature with many ties is handled exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


@dataclass(frozen=True)
class Auc:
    auc: float
    se: float
    positives: int
    negatives: int


def auc_with_se(positive: np.ndarray, score: np.ndarray) -> Auc:
    """AUC of `score` for `positive` rows against the rest; NaN without both classes."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n1 = int(positive.sum())
    n0 = positive.size - n1
    if n1 == 0 or n0 == 0:
        return Auc(math.nan, math.nan, n1, n0)
    ranks = rankdata(score)
    within_pos = rankdata(score[positive])
    within_neg = rankdata(score[~positive])
    # Placements: the share of the other class a person's score beats (ties half).
    v10 = (ranks[positive] - within_pos) / n0
    v01 = 1.0 - (ranks[~positive] - within_neg) / n1
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / n1 if n1 > 1 else math.nan) + (
        v01.var(ddof=1) / n0 if n0 > 1 else math.nan
    )
    return Auc(auc, math.sqrt(var) if math.isfinite(var) else math.nan, n1, n0)
