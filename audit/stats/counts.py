"""Sufficient statistics: the per-group count arrays that every metric is computed from.

One pass over the rows fills a *joint* table over all sensitive attributes at once
(level of attribute 1 × ... × level of attribute k × y_true × y_pred). Any single attribute or
intersection is then a marginal of that table, so asking for 2-way and 3-way intersections costs
no further pass over the rows.
"""

from __future__ import annotations

import itertools
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
# The count tables and bootstrap replicates of one assessment may take this much memory; a
# larger audit is refused up front with what to change, rather than failing on a MemoryError.
MAX_TABLE_BYTES = 4 << 30
# What `assess` holds per group and replicate at its peak: the resampled cells (4), each of the
# 14 metrics' replicates with its copy in the stacked table and a temporary (3 × 14), and, with a
# score, the coarse histogram (2 × 50 bins) with the AUC's and calibration's temporaries (4 × 50).
# Measured against tracemalloc's peak in tests/stats/test_cardinality.py.
_REPLICATE_METRICS = 14
_COARSE_SCORE_BINS = 50


def estimate_table_bytes(
    shape: Sequence[int],
    *,
    n_rows: int,
    n_boot: int,
    score_bins: int = DEFAULT_SCORE_BINS,
    scored: bool = False,
    weighted: bool = False,
) -> int:
    """Bytes of the joint count table, its bootstrap replicates and the groupings' replicates.

    `shape` is the number of levels of each attribute. The groupings are every attribute alone
    and every intersection, as `assess` makes them at most (an intersection has at most as many
    groups as rows), so this is an upper bound for the orders asked.
    """
    cells = prod(shape)
    points = score_bins + 1
    per_cell = 4 * (2 + weighted)  # n, w (and w2) per (y_true, y_pred)
    if scored:
        per_cell += 2 * points * (1 + weighted) + points  # histograms and score sums
    coarse = 2 * _COARSE_SCORE_BINS if scored else 0
    groups = sum(
        min(prod(shape[i] for i in combo), n_rows)
        for r in range(1, len(shape) + 1)
        for combo in itertools.combinations(range(len(shape)), r)
    )
    per_group = 4 + 3 * _REPLICATE_METRICS + 3 * coarse
    replicates = n_boot * (cells * (4 + coarse) + groups * per_group)
    return 8 * (cells * per_cell + replicates)


def check_table_size(
    data: EncodedInput,
    *,
    n_boot: int,
    score_bins: int = DEFAULT_SCORE_BINS,
    limit: int = MAX_TABLE_BYTES,
) -> None:
    """Refuses, before anything is allocated, an audit whose tables would not fit in `limit`."""
    shape = [len(a.levels) for a in data.attributes]
    size = estimate_table_bytes(
        shape,
        n_rows=data.n_rows,
        n_boot=n_boot,
        score_bins=score_bins,
        scored=data.score is not None,
        weighted=data.weight is not None,
    )
    if size <= limit:
        return
    what = (
        f"{prod(shape):,} joint cells ({' × '.join(map(str, shape))} levels), {n_boot} replicates"
    )
    raise AuditInputError(
        "group columns",
        expected=f"count tables and bootstrap replicates within {limit / 2**30:.1f} GiB of memory",
        found=f"about {size / 2**30:.1f} GiB for {what}"
        + (" and a score" if data.score is not None else ""),
        fix="audit fewer attributes at once, merge rare levels into broader groups, or lower "
        "statistics.n_boot (--n-boot)",
    )


@dataclass(frozen=True)
class GroupCounts:
    """Joint counts over all attributes; the core type of the audit.

    Arrays have one axis per attribute (in `attributes` order), then the outcome axes:
    `n`, `w`, `w2`: (..., y_true, y_pred) row counts, weight sums and squared-weight sums;
    `score_hist`: (..., y_true, point) weight sums and `score_sum`: (..., point) weighted score
    sums, where point k holds the scores that round to k / score_bins (score_bins + 1 points).
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
        return 0 if self.score_hist is None else int(self.score_hist.shape[-1]) - 1

    def marginal(self, array: np.ndarray, keep: Sequence[int], *, lead: int = 0) -> np.ndarray:
        """Sums `array` over every attribute axis not in `keep`; outcome axes are kept.

        Attribute axes start after `lead` extra leading axes (1 for bootstrap replicates).
        """
        drop = tuple(lead + a for a in range(len(self.attributes)) if a not in keep)
        return array.sum(axis=drop) if drop else array


def count_groups(data: EncodedInput, *, score_bins: int = DEFAULT_SCORE_BINS) -> GroupCounts:
    """Fills the joint count arrays in one pass over the rows.

    The rows are taken in chunks small enough to stay in the processor's cache: each chunk's
    joint cell index is built in place in one reused buffer and counted with `bincount`. This
    costs less than two `bincount` calls over the whole table (see benchmarks/bench_stats.py).
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
    cells = n_groups * 4
    n = np.zeros(cells, dtype=np.int64)
    weighted = data.weight is not None
    w = np.zeros(cells) if weighted else None
    w2 = np.zeros(cells) if weighted else None
    scored = data.score is not None
    # Scores are read on the grid 0, 1/score_bins, ..., 1: score_bins + 1 points, so that 0.999
    # and 1.0 stay apart and the AUC of grid-valued scores is exact.
    points = score_bins + 1
    hist_size = n_groups * 2 * points
    hist_n = np.zeros(hist_size, dtype=np.int64) if scored else None
    hist_w = np.zeros(hist_size) if scored and weighted else None
    sums = np.zeros(n_groups * points) if scored else None

    buffer = np.empty(min(CHUNK_ROWS, data.n_rows), dtype=np.intp)
    for start in range(0, data.n_rows, CHUNK_ROWS):
        rows = slice(start, min(start + CHUNK_ROWS, data.n_rows))
        cell = buffer[: rows.stop - start]
        _joint_cell(data, rows, shape, out=cell)
        # An aggregated table (`Tally`): each row counts as the rows it stands for.
        times = None if data.rows is None else data.rows[rows]
        n += _tally(cell, times, cells)
        weight = None if data.weight is None else data.weight[rows]
        if weight is not None and w is not None and w2 is not None:
            w += np.bincount(cell, weights=weight, minlength=cells)
            squares = weight**2 if data.weight_sq is None else data.weight_sq[rows]
            w2 += np.bincount(cell, weights=squares, minlength=cells)
        if data.score is not None and hist_n is not None and sums is not None:
            score = data.score[rows]
            bins = np.rint(score * score_bins).astype(np.intp)
            group = cell >> 2
            hist_index = (group * 2 + data.y_true[rows]) * points + bins
            hist_n += _tally(hist_index, times, hist_size)
            if hist_w is not None:
                hist_w += np.bincount(hist_index, weights=weight, minlength=hist_size)
            if data.score_sum is not None:
                score_weights = data.score_sum[rows]
            else:
                score_weights = score if weight is None else score * weight
            sums += np.bincount(
                group * points + bins, weights=score_weights, minlength=n_groups * points
            )

    full = (*shape, 2, 2)
    hist_shape = (*shape, 2, points)
    counts = GroupCounts(
        attributes=tuple(a.name for a in data.attributes),
        levels=tuple(a.levels for a in data.attributes),
        n=n.reshape(full),
        w=(n.astype(np.float64) if w is None else w).reshape(full),
        w2=None if w2 is None else w2.reshape(full),
        score_hist=None
        if hist_n is None
        else (hist_n.astype(np.float64) if hist_w is None else hist_w).reshape(hist_shape),
        score_hist_n=None if hist_n is None else hist_n.reshape(hist_shape),
        score_sum=None if sums is None else sums.reshape((*shape, points)),
    )
    return drop_empty_levels(counts)


CHUNK_ROWS = 1 << 16


def _tally(index: np.ndarray, times: np.ndarray | None, size: int) -> np.ndarray:
    """Rows per cell: one per row, or each row's multiplicity (exact in float64 below 2^53)."""
    if times is None:
        return np.bincount(index, minlength=size)
    return np.bincount(index, weights=times, minlength=size).astype(np.int64)


def _joint_cell(
    data: EncodedInput, rows: slice, shape: tuple[int, ...], *, out: np.ndarray
) -> None:
    """Writes ((code_1 * L_2 + code_2) * ... ) * 4 + y_true * 2 + y_pred into `out`, in place."""
    attrs = data.attributes
    out[:] = attrs[0].codes[rows]
    for attr, size in zip(attrs[1:], shape[1:], strict=True):
        out *= size
        out += attr.codes[rows]
    out <<= 1
    out += data.y_true[rows]
    out <<= 1
    out += data.y_pred[rows]


def drop_empty_levels(counts: GroupCounts) -> GroupCounts:
    """Removes levels no row has (unused categories), and refuses an attribute with one level."""
    arrays = {
        name: getattr(counts, name)
        for name in ("n", "w", "w2", "score_hist", "score_hist_n", "score_sum")
    }
    levels = list(counts.levels)
    for axis, name in enumerate(counts.attributes):
        rows = counts.n.sum(axis=tuple(a for a in range(counts.n.ndim) if a != axis))
        present = rows > 0
        if present.sum() < 2:
            only = [lv for lv, p in zip(levels[axis], present, strict=True) if p]
            raise AuditInputError(
                f"group column {name!r}",
                expected="at least two groups to compare",
                found=f"a single value {only[0]!r}" if only else "no values",
                fix="choose a column whose values differ between people, or drop it from the groups",
            )
        if present.all():
            continue
        keep = np.flatnonzero(present)
        levels[axis] = tuple(levels[axis][i] for i in keep)
        for key, array in arrays.items():
            if array is not None:
                arrays[key] = np.take(array, keep, axis=axis)
    if all(len(lv) == len(old) for lv, old in zip(levels, counts.levels, strict=True)):
        return counts
    return GroupCounts(attributes=counts.attributes, levels=tuple(levels), **arrays)
