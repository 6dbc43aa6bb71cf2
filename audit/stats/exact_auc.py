"""Exact per-group AUC from the rows, for scores the histogram grid would blur.

The score histograms of `count_groups` read scores on the grid 0, 1/R, ..., 1, which makes the
AUC exact for scores already on that grid and cheap to bootstrap. A score with more decimals is
rounded there, so a positive at 0.1234 and a negative at 0.1231 share a grid point and count
as a tie: the AUC of a group can move far from the scores' own. The point estimate is then
computed here from the rows (rank-based, ties counted half, weighted), for every grouping the
assessment examines; the bootstrap keeps the histogram, shifted onto this estimate.

Cost: scores on the histogram's grid need nothing more. Scores on a finer decimal grid (four to
six decimals) are counted once more on that grid, when the histogram stays small: it is exact
there. Any other scores are sorted once, then each grouping takes one stable sort of its small
integer group codes (a radix sort) and running sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np

from audit.metrics import scores
from audit.metrics.scores import auc_by_group
from audit.stats.counts import GroupCounts, count_groups
from audit.stats.encoding import EncodedInput

CHUNK = 1 << 20
FINE_GRIDS = (10_000, 100_000, 1_000_000)
MAX_FINE_CELLS = 4_000_000  # groups × 2 classes × grid points of a finer histogram


def on_grid(score: np.ndarray, bins: int) -> bool:
    """Every score is a point k / bins of the histogram grid (so its AUC is exact already)."""
    for start in range(0, score.size, CHUNK):
        part = score[start : start + CHUNK]
        if not np.array_equal(np.rint(part * bins) / bins, part):
            return False
    return True


def exact_auc(
    data: EncodedInput, counts: GroupCounts, keeps: Sequence[tuple[int, ...]]
) -> dict[tuple[str, ...], np.ndarray] | None:
    """Exact AUC per group of each grouping in `keeps`, or None when the histogram is exact.

    A grouping is a tuple of attribute positions (`()` is the whole population). Its entry,
    keyed by the attributes' names, has one axis per attribute, over `counts.levels`; NaN where
    a group lacks people with or without the outcome (or is empty).
    """
    if data.score is None or on_grid(data.score, counts.score_bins):
        return None
    names = [tuple(counts.attributes[a] for a in keep) for keep in keeps]
    n_groups = prod(len(a.levels) for a in data.attributes)
    for bins in FINE_GRIDS:
        if n_groups * 2 * (bins + 1) > MAX_FINE_CELLS:
            break
        if on_grid(data.score, bins):
            fine = count_groups(data, score_bins=bins)
            assert fine.score_hist is not None and fine.levels == counts.levels
            return {
                name: scores.auc(fine.marginal(fine.score_hist, keep))
                for name, keep in zip(names, keeps, strict=True)
            }
    return _sorted_auc(data, counts, keeps, names)


def _sorted_auc(
    data: EncodedInput,
    counts: GroupCounts,
    keeps: Sequence[tuple[int, ...]],
    names: list[tuple[str, ...]],
) -> dict[tuple[str, ...], np.ndarray]:
    """Exact AUC per grouping from the rows sorted by score, then by group."""
    assert data.score is not None
    # Any order of equal scores will do (they are one tie block): the default sort is faster.
    order = np.argsort(data.score)
    ordered = data.score[order]
    distinct = ordered[1:] != ordered[:-1]
    ties = None
    if not distinct.all():
        ties = np.zeros(ordered.size, dtype=np.int32 if ordered.size < 2**31 else np.int64)
        np.cumsum(distinct, out=ties[1:])
    del ordered, distinct
    y = data.y_true[order]
    weight = None if data.weight is None else data.weight[order]
    # Codes in the counts' levels: `count_groups` drops levels no row has.
    codes = [_recode(data, counts, a, order) for a in range(len(counts.attributes))]
    out = {}
    for name, keep in zip(names, keeps, strict=True):
        shape = tuple(len(counts.levels[a]) for a in keep)
        n_groups = prod(shape)
        if not keep:
            group = np.zeros(y.size, dtype=np.int8)
            yy, tie, w = y, ties, weight
        else:
            code = _joint_code(codes, keep, shape)
            perm = np.argsort(code, kind="stable")  # a radix sort for 8- and 16-bit codes
            sizes = np.bincount(code, minlength=n_groups)
            group = np.repeat(np.arange(n_groups, dtype=code.dtype), sizes)  # code[perm]
            yy = y[perm]
            tie = None if ties is None else ties[perm]
            w = None if weight is None else weight[perm]
        pos = yy if w is None else w * yy
        neg = 1 - yy if w is None else w - pos
        out[name] = auc_by_group(group, tie, pos, neg, n_groups).reshape(shape)
    return out


def _recode(data: EncodedInput, counts: GroupCounts, a: int, order: np.ndarray) -> np.ndarray:
    """Attribute `a`'s codes, in score order, as positions in `counts.levels[a]`."""
    attribute = data.attributes[a]
    position = {level: i for i, level in enumerate(counts.levels[a])}
    lookup = np.array([position.get(level, -1) for level in attribute.levels], dtype=np.int32)
    codes = attribute.codes[order]
    if np.array_equal(lookup, np.arange(len(lookup))):
        return codes
    return lookup[codes]  # unused levels have no rows, so no -1 is ever read


def _joint_code(
    codes: list[np.ndarray], keep: tuple[int, ...], shape: tuple[int, ...]
) -> np.ndarray:
    """Row-major code of each row's group over the attributes in `keep`, in the smallest dtype."""
    size = int(np.prod(shape))
    dtype = next(t for t in (np.int8, np.int16, np.int32, np.int64) if size <= np.iinfo(t).max)
    group: np.ndarray = codes[keep[0]].astype(dtype)
    for a, levels in zip(keep[1:], shape[1:], strict=True):
        group *= levels
        group += codes[a].astype(dtype, copy=False)
    return group
