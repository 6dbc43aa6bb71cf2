"""Exact per-group AUC from the rows, for scores the histogram grid would blur.

The score histograms of `count_groups` read scores on the grid 0, 1/R, ..., 1, which makes the
AUC exact for scores already on that grid and cheap to bootstrap. A score with more decimals is
rounded there, so a positive at 0.1234 and a negative at 0.1231 share a grid point and count
as a tie: the AUC of a group can move far from the scores' own. The point estimate is then
computed here from the rows (rank-based, ties counted half, weighted), for every grouping the
assessment examines; the bootstrap keeps the histogram, shifted onto this estimate.

Cost: scores on the histogram's grid need nothing more. Scores on a finer decimal grid (four to
six decimals) are counted once more on that grid, when the histogram stays small: it is exact
there. Any other scores are sorted once; with at most `MAX_PAIR_CELLS` finest cells (the groups
of all attributes crossed), one pass over the sorted rows counts the (positive, negative) pairs
between every two cells, and every grouping's AUC is read from those pair counts. With more cells,
each grouping takes one stable sort of its small integer group codes (a radix sort) and running
sums.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from math import prod

import numpy as np
from threadpoolctl import threadpool_limits

from audit.metrics import scores
from audit.metrics.scores import auc_by_group
from audit.stats.counts import GroupCounts
from audit.stats.encoding import EncodedInput

CHUNK = 1 << 20
FINE_GRIDS = (10_000, 100_000, 1_000_000)
MAX_FINE_CELLS = 4_000_000  # groups × 2 classes × grid points of a finer histogram
MAX_PAIR_CELLS = 256  # finest cells for the pair counts: a cell × cell table per block of rows
BLOCK = 16  # rows per block of the pair counts: pairs inside a block are counted one by one
PAIR_CHUNK = BLOCK << 14  # rows per chunk of the pair counts (a multiple of BLOCK)

# How an engine computes the exact AUC of every grouping (`exact_auc` reads the rows in memory).
ExactAuc = Callable[
    [EncodedInput, GroupCounts, Sequence[tuple[int, ...]]], dict[tuple[str, ...], np.ndarray] | None
]


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
            fine = _score_histogram(data, counts, bins)
            return {
                name: scores.auc(counts.marginal(fine, keep))
                for name, keep in zip(names, keeps, strict=True)
            }
    if n_groups <= MAX_PAIR_CELLS:
        return _pair_auc(data, counts, keeps, names)
    return _sorted_auc(data, counts, keeps, names)


def _score_histogram(data: EncodedInput, counts: GroupCounts, bins: int) -> np.ndarray:
    """The score histogram of `count_groups` on a grid of `bins`, alone: (*groups, y_true, point).

    Weighted like `counts.score_hist`, over `counts.levels`; one bincount per chunk of rows,
    where a second `count_groups` would also count the decisions and sum the scores.
    """
    assert data.score is not None
    shape = tuple(len(levels) for levels in counts.levels)
    points = bins + 1
    size = prod(shape) * 2 * points
    everything = tuple(range(len(shape)))
    codes = [_recode(data, counts, a, slice(None)) for a in everything]
    hist = np.zeros(size)
    for start in range(0, data.n_rows, CHUNK):
        rows = slice(start, start + CHUNK)
        index = _joint_code([c[rows] for c in codes], everything, shape).astype(np.intp)
        index *= 2
        index += data.y_true[rows]
        index *= points
        index += np.rint(data.score[rows] * bins).astype(np.intp)
        weight = None if data.weight is None else data.weight[rows]
        hist += np.bincount(index, weights=weight, minlength=size)
    return hist.reshape((*shape, 2, points))


def _pair_auc(
    data: EncodedInput,
    counts: GroupCounts,
    keeps: Sequence[tuple[int, ...]],
    names: list[tuple[str, ...]],
) -> dict[tuple[str, ...], np.ndarray]:
    """Exact AUC per grouping from the pair counts between the finest cells (one pass).

    pairs[c, d] is the weight of the (positive in cell c, negative in cell d) pairs where the
    positive scores higher, plus half of those with equal scores. A group is a union of cells,
    so its AUC is the sum of pairs[c, d] over its cells c and d, over its positives' weight times
    its negatives' weight: the same Mann–Whitney count as `auc_by_group`, for every grouping.
    """
    assert data.score is not None
    order, ties = _score_order(data.score, data.y_true)
    shape = tuple(len(levels) for levels in counts.levels)
    everything = tuple(range(len(shape)))
    # The finest cell of each row, then in score order: one gather instead of one per attribute.
    unsorted = slice(None)
    cell = _joint_code([_recode(data, counts, a, unsorted) for a in everything], everything, shape)
    # Without weights, the positives and negatives stay 0/1 bytes (bincount reads them as
    # weights chunk by chunk): 10^7 rows then take 20 MB instead of 160 MB.
    cell = cell[order]
    y = data.y_true[order]
    weight = None if data.weight is None else data.weight[order]
    pos = y if weight is None else weight * y
    neg = 1 - y if weight is None else weight - pos
    del y, weight
    n_cells = prod(shape)
    # The products are small (cells × cells): threads only wait on each other there, and on a
    # busy machine a threaded BLAS made them ten times slower.
    with threadpool_limits(1, user_api="blas"):
        pairs = _ordered_pairs(cell, pos, neg, n_cells)
        if ties is not None:
            rows, block = ties
            pairs += _tied_pairs(cell[rows], block, pos[rows], neg[rows], n_cells)
    n_pos = np.bincount(cell, weights=pos, minlength=n_cells)
    n_neg = np.bincount(cell, weights=neg, minlength=n_cells)
    cells = np.indices(shape).reshape(len(shape), -1)  # each finest cell's level per attribute
    out = {}
    for name, keep in zip(names, keeps, strict=True):
        sub = tuple(shape[a] for a in keep)
        group = np.ravel_multi_index(tuple(cells[a] for a in keep), sub) if keep else None
        member = np.zeros((n_cells, prod(sub)))
        member[np.arange(n_cells), 0 if group is None else group] = 1.0
        within = np.einsum("cg,cd,dg->g", member, pairs, member)
        wp, wn = n_pos @ member, n_neg @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = np.where((wp > 0) & (wn > 0), within / (wp * wn), np.nan)
        out[name] = auc.reshape(sub)
    return out


def _score_order(
    score: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Rows by score, positives first among equal scores; and where the ties are (or None).

    The ties are the sorted positions of the rows whose score another row shares, and each
    one's block of equal scores (numbered 0, 1, ... in score order). Putting a block's
    positives before its negatives means `_ordered_pairs` counts none of its pairs:
    `_tied_pairs` adds half of each. Only those rows are sorted again: few for a model's score.
    """
    order = _argsort(score)
    ordered = score[order]
    same = ordered[1:] == ordered[:-1]  # a row and the next share their score
    del ordered
    if not same.any():
        return order, None
    tied = np.zeros(order.size, dtype=bool)
    tied[1:] = same
    tied[:-1] |= same
    rows = np.flatnonzero(tied)
    del tied
    opens = np.ones(rows.size, dtype=bool)  # a tied row whose score differs from the row before
    inner = rows[rows > 0]
    opens[rows.size - inner.size :] = ~same[inner - 1]
    block = np.cumsum(opens) - 1
    key = 2 * block + (1 - y[order[rows]])  # rows are in block order already: stable suffices
    order[rows] = order[rows][np.argsort(key, kind="stable")]
    return order, (rows, block)


def _argsort(score: np.ndarray) -> np.ndarray:
    """The order of the scores, twice as fast as `np.argsort` on millions of rows.

    A radix sort by 2^16 buckets of the score's range first (a stable sort of 16-bit codes),
    then a merge sort (timsort), which finds the buckets already in order and sorts little more
    than inside them. Exact for any scores: the buckets only presort.
    """
    low, high = float(score.min()), float(score.max())
    if not high > low:
        return np.arange(score.size)
    bucket = ((score - low) * (65535 / (high - low))).astype(np.uint16)  # monotone in the score
    first = np.argsort(bucket, kind="stable")
    del bucket
    return first[np.argsort(score[first], kind="stable")]


def _ordered_pairs(cell: np.ndarray, pos: np.ndarray, neg: np.ndarray, n_cells: int) -> np.ndarray:
    """pairs[c, d]: weight of (positive in c, negative in d) pairs, the negative in an earlier row.

    Rows are taken in blocks of `BLOCK`: a negative in an earlier block is counted through the
    running negatives per cell at the block's start (one small matrix product per chunk of rows),
    a negative earlier in the same block pair by pair (one weighted bincount per offset). Memory
    stays at a few chunk-sized arrays whatever the number of rows.
    """
    pairs = np.zeros((n_cells, n_cells))
    flat = pairs.reshape(-1)
    before = np.zeros(n_cells)  # negatives per cell in the chunks already done
    for start in range(0, cell.size, PAIR_CHUNK):
        c, p, v = (_padded(x[start : start + PAIR_CHUNK]) for x in (cell, pos, neg))
        c = c.astype(np.intp)  # the cell codes come in the smallest integer type
        n_blocks = c.size // BLOCK
        slot = np.arange(n_blocks).repeat(BLOCK) * n_cells + c
        block_pos = np.bincount(slot, weights=p, minlength=n_blocks * n_cells)
        block_neg = np.bincount(slot, weights=v, minlength=n_blocks * n_cells)
        block_pos = block_pos.reshape(n_blocks, n_cells)
        block_neg = block_neg.reshape(n_blocks, n_cells)
        earlier = np.cumsum(block_neg, axis=0, dtype=np.float64)
        earlier -= block_neg
        earlier += before
        pairs += block_pos.T @ earlier
        before = earlier[-1] + block_neg[-1]
        # Offset within the block first, so that the rows k: and :-k are contiguous.
        c, p, v = (np.ascontiguousarray(x.reshape(n_blocks, BLOCK).T) for x in (c, p, v))
        later = c * n_cells
        for k in range(1, BLOCK):
            key = later[k:] + c[:-k]
            flat += np.bincount(key.ravel(), weights=(p[k:] * v[:-k]).ravel(), minlength=flat.size)
    return pairs


def _padded(part: np.ndarray) -> np.ndarray:
    """`part` with zeros appended to a whole number of blocks (zero weight: no pairs)."""
    extra = -part.size % BLOCK
    return part if not extra else np.concatenate([part, np.zeros(extra, dtype=part.dtype)])


def _tied_pairs(
    cell: np.ndarray, block: np.ndarray, pos: np.ndarray, neg: np.ndarray, n_cells: int
) -> np.ndarray:
    """Half of each (positive in c, negative in d) pair with equal scores, per cell pair.

    The arguments are the tied rows only, in block order (`block` numbers their blocks of equal
    scores 0, 1, ...).
    """
    pairs = np.zeros((n_cells, n_cells))
    # Blocks in ranges, so that blocks × cells stays small.
    span = max(1, CHUNK // n_cells)
    bounds = np.searchsorted(block, np.arange(0, int(block[-1]) + 1 + span, span))
    for lo, hi in itertools.pairwise(bounds):
        if lo == hi:
            continue
        first = int(block[lo])
        size = (int(block[hi - 1]) - first + 1) * n_cells
        slot = (block[lo:hi] - first) * n_cells + cell[lo:hi]
        tied_pos = np.bincount(slot, weights=pos[lo:hi], minlength=size).reshape(-1, n_cells)
        tied_neg = np.bincount(slot, weights=neg[lo:hi], minlength=size).reshape(-1, n_cells)
        pairs += tied_pos.T @ tied_neg
    return pairs * 0.5


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


def _recode(
    data: EncodedInput, counts: GroupCounts, a: int, order: np.ndarray | slice
) -> np.ndarray:
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
