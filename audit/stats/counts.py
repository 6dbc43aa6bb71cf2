"""Sufficient statistics: the per-group count arrays that every metric is computed from.

One pass over the rows fills a *joint* table over all sensitive attributes at once
(level of attribute 1 × ... × level of attribute k × y_true × y_pred). Any single attribute or
intersection is then a marginal of that table, so asking for 2-way and 3-way intersections costs
no further pass over the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import numpy as np

from audit.errors import AuditInputError
from audit.stats.encoding import EncodedInput

# Above this many joint cells the table no longer fits comfortably in memory next to the
# bootstrap replicates; nobody can read that many groups anyway.
MAX_JOINT_CELLS = 20_000_000
DEFAULT_SCORE_BINS = 1000


@dataclass(frozen=True)
class GroupCounts:
    """Joint counts over all attributes; the core type of the audit.

    Arrays have one axis per attribute (in `attributes` order), then the outcome axes:
    `n`, `w`, `w2`: (..., y_true, y_pred) row counts, weight sums and squared-weight sums;
    `score_hist`: (..., y_true, bin) weight sums; `score_sum`: (..., bin) weighted score sums.
    Without weights, `w` equals `n` and `w2` is None.
    """

    attributes: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    n: np.ndarray
    w: np.ndarray
    w2: np.ndarray | None = None
    score_hist: np.ndarray | None = None
    score_hist_n: np.ndarray | None = None
    score_sum: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.n.sum())

    @property
    def weighted(self) -> bool:
        return self.w2 is not None

    @property
    def score_bins(self) -> int:
        return 0 if self.score_hist is None else int(self.score_hist.shape[-1])

    def marginal(self, array: np.ndarray, keep: Sequence[int], *, lead: int = 0) -> np.ndarray:
        """Sums `array` over every attribute axis not in `keep`; outcome axes are kept.

        Attribute axes start after `lead` extra leading axes (1 for bootstrap replicates).
        """
        drop = tuple(lead + a for a in range(len(self.attributes)) if a not in keep)
        return array.sum(axis=drop) if drop else array


def _smallest_int(upper: int) -> type[np.signedinteger]:
    for dtype in (np.int16, np.int32):
        if upper < np.iinfo(dtype).max:
            return dtype
    return np.int64


def count_groups(data: EncodedInput, *, score_bins: int = DEFAULT_SCORE_BINS) -> GroupCounts:
    """Fills the joint count arrays in one pass of integer arithmetic and one `bincount` each.

    Codes are combined in the smallest integer type that holds the joint index: the combining
    passes are memory-bound, so int16 codes make them about four times cheaper than int64.
    """
    shape = tuple(len(a.levels) for a in data.attributes)
    n_groups = prod(shape)
    if n_groups * 4 > MAX_JOINT_CELLS:
        raise AuditInputError(
            "group columns",
            expected=f"at most {MAX_JOINT_CELLS // 4:,} combinations of group levels",
            found=f"{n_groups:,} ({' × '.join(map(str, shape))} levels)",
            fix="audit fewer attributes at once, or merge rare levels",
        )
    group = np.asarray(data.attributes[0].codes).astype(_smallest_int(n_groups * 4), copy=True)
    for attr, size in zip(data.attributes[1:], shape[1:], strict=True):
        group *= size
        group += attr.codes
    cell = group * 4 if n_groups * 4 < np.iinfo(group.dtype).max else group.astype(np.int64) * 4
    cell += data.y_true * np.uint8(2)
    cell += data.y_pred
    full = (*shape, 2, 2)
    n: np.ndarray = np.bincount(cell, minlength=n_groups * 4).reshape(full)
    w: np.ndarray
    if data.weight is None:
        w = n.astype(np.float64)
        w2 = None
    else:
        w = np.bincount(cell, weights=data.weight, minlength=n_groups * 4).reshape(full)
        w2 = np.bincount(cell, weights=data.weight**2, minlength=n_groups * 4).reshape(full)
    del cell

    score_hist = score_hist_n = score_sum = None
    if data.score is not None:
        bins = np.minimum((data.score * score_bins).astype(np.int64), score_bins - 1)
        gb = group.astype(np.int64) * score_bins + bins
        hist_index = (group.astype(np.int64) * 2 + data.y_true) * score_bins + bins
        size = n_groups * 2 * score_bins
        score_hist_n = np.bincount(hist_index, minlength=size).reshape((*shape, 2, score_bins))
        weights = data.weight
        score_hist = (
            score_hist_n.astype(np.float64)
            if weights is None
            else np.bincount(hist_index, weights=weights, minlength=size).reshape(
                (*shape, 2, score_bins)
            )
        )
        score_weights = data.score if weights is None else data.score * weights
        score_sum = np.bincount(gb, weights=score_weights, minlength=n_groups * score_bins)
        score_sum = score_sum.reshape((*shape, score_bins))
    return GroupCounts(
        attributes=tuple(a.name for a in data.attributes),
        levels=tuple(a.levels for a in data.attributes),
        n=n,
        w=w,
        w2=w2,
        score_hist=score_hist,
        score_hist_n=score_hist_n,
        score_sum=score_sum,
    )
