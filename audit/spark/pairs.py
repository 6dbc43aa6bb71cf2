"""The exact AUC on Spark by pair counts between cells: one pass over the rows sorted by score.

As the NumPy engine's `_pair_auc` (`audit.stats.exact_auc`): pairs[c, d] is the weight of the
(positive in cell c, negative in cell d) pairs where the positive scores higher, plus half of
those with equal scores, and a group's AUC is the sum of pairs[c, d] over its cells c and d,
over its positives' weight times its negatives' weight. The cells are those of a few "bases":
the finest cells (every attribute crossed) when there are at most `MAX_PAIR_CELLS` of them,
else the widest groupings asked for (with pairwise intersections of four attributes, the six
pairs), each read for itself and for the groupings inside it. A grouping inside none of them
(more than `MAX_PAIR_CELLS` cells of its own) is left to `SparkAuc`'s windows.

On the cluster: the rows aggregated to (attribute codes, score) with their positive and negative
weights, range-partitioned by score and sorted within each partition. Range partitioning puts
equal scores in one partition (Spark's `RangePartitioner.getPartition` places a row by its key
alone, a search among the sampled bounds; adaptive execution only merges neighbouring ranges),
so every negative of a partition with lower scores scores strictly lower, which `combine`
checks: partition k adds its own pairs and its positives times the negatives of the partitions
before it, which the driver adds from each partition's totals. Each partition is read in
chunks of rows, so its memory stays at a chunk whatever its size; a chunk ends before its last
score, so that equal scores stay in one chunk too (they are at most one row per cell: the
aggregation merged the rest).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from audit.stats.exact_auc import MAX_PAIR_CELLS, _ordered_pairs, _score_order, _tied_pairs

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

CHUNK = 1 << 17  # aggregated rows per chunk of a partition (each becomes a positive and a negative)
SCORE, POS, NEG = "__s", "__p", "__q"
_SCHEMA = "lo double, hi double, pairs array<double>, pos array<double>, neg array<double>"


def code(a: int) -> str:
    """The column of attribute `a`'s codes (positions in `counts.levels[a]`)."""
    return f"__c{a}"


def pair_bases(keeps: Sequence[tuple[int, ...]], shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The groupings whose cells the pair counts run over; keeps inside none: another method.

    The finest cells if they are at most `MAX_PAIR_CELLS`; else the widest groupings of `keeps`
    (in no other one) with at most `MAX_PAIR_CELLS` cells, while their pair tables together
    hold no more than the finest one allowed (`MAX_PAIR_CELLS` squared).
    """
    if prod(shape) <= MAX_PAIR_CELLS:
        return [tuple(range(len(shape)))]
    bases: list[tuple[int, ...]] = []
    room = MAX_PAIR_CELLS**2
    for keep in dict.fromkeys(keeps):
        if any(set(keep) < set(other) for other in keeps):
            continue
        size = prod(shape[a] for a in keep)
        if size <= MAX_PAIR_CELLS and size * size <= room:
            bases.append(keep)
            room -= size * size
    return bases


def base_of(keep: tuple[int, ...], bases: Sequence[tuple[int, ...]]) -> tuple[int, ...] | None:
    """A base whose cells make up the groups of `keep`, or None."""
    return next((b for b in bases if set(keep) <= set(b)), None)


@dataclass(frozen=True)
class Pairs:
    """The pair table of one base, and the positive and negative weight of each of its cells."""

    base: tuple[int, ...]
    shape: tuple[int, ...]  # the base's levels per attribute
    pairs: np.ndarray  # cells × cells
    pos: np.ndarray
    neg: np.ndarray

    def auc(self, keep: tuple[int, ...]) -> np.ndarray:
        """The AUC of each group of `keep` (attributes of the base), over its levels; NaN where
        a group has no positive or no negative weight."""
        n_cells = prod(self.shape)
        sub = tuple(self.shape[self.base.index(a)] for a in keep)
        cells = np.indices(self.shape).reshape(len(self.shape), -1)
        group = (
            np.ravel_multi_index(tuple(cells[self.base.index(a)] for a in keep), sub) if keep else 0
        )
        member = np.zeros((n_cells, prod(sub)))
        member[np.arange(n_cells), group] = 1.0
        within = np.einsum("cg,cd,dg->g", member, self.pairs, member)
        wp, wn = self.pos @ member, self.neg @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = np.where((wp > 0) & (wn > 0), within / (wp * wn), np.nan)
        return auc.reshape(sub)


def pair_counts(
    rows: DataFrame,
    bases: Sequence[tuple[int, ...]],
    shape: tuple[int, ...],
    *,
    partitions: int | None = None,
) -> list[Pairs]:
    """The pair table of every base, from `rows` (columns `code(a)`, SCORE, POS, NEG).

    `partitions`: how many ranges of scores (Spark's spark.sql.shuffle.partitions if None).
    """
    ranged = by_score(rows, sorted({a for b in bases for a in b}), partitions)
    bases, shape = list(bases), tuple(shape)

    def count(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        yield from partition_pairs(batches, bases, shape)

    parts = ranged.mapInPandas(count, _SCHEMA).toPandas()
    return combine(parts, bases, shape)


def by_score(rows: DataFrame, attributes: Sequence[int], partitions: int | None) -> DataFrame:
    """`rows` summed per (codes of `attributes`, score), in ranges of scores, sorted in each."""
    from pyspark.sql import functions as F

    by = [code(a) for a in attributes]
    merged = rows.groupBy(*by, SCORE).agg(F.sum(POS).alias(POS), F.sum(NEG).alias(NEG))
    if partitions is None:
        return merged.repartitionByRange(SCORE).sortWithinPartitions(SCORE)
    return merged.repartitionByRange(partitions, SCORE).sortWithinPartitions(SCORE)


def partition_pairs(
    batches: Iterator[pd.DataFrame],
    bases: Sequence[tuple[int, ...]],
    shape: tuple[int, ...],
    chunk: int = CHUNK,
) -> Iterator[pd.DataFrame]:
    """One partition's pairs per base (negatives in earlier partitions left out), its positive
    and negative totals per cell, and its lowest and highest score: one row, none if empty."""
    sizes = [prod(shape[a] for a in b) for b in bases]
    state = _State(
        pairs=[np.zeros((n, n)) for n in sizes],
        pos=[np.zeros(n) for n in sizes],
        neg=[np.zeros(n) for n in sizes],
    )
    pending: list[pd.DataFrame] = []
    held = 0
    with threadpool_limits(1, user_api="blas"):  # small products: threads only wait (exact_auc)
        for batch in batches:
            if batch.empty:
                continue
            pending.append(batch)
            held += len(batch)
            if held < chunk:
                continue
            rows = pd.concat(pending, ignore_index=True)
            score = rows[SCORE].to_numpy()
            cut = int(np.searchsorted(score, score[-1], side="left"))  # the last score waits
            if cut:
                _add_chunk(state, rows.iloc[:cut], bases, shape)
            pending, held = [rows.iloc[cut:]], len(rows) - cut
        if held:
            _add_chunk(state, pd.concat(pending, ignore_index=True), bases, shape)
    if state.lo is None:
        return
    yield pd.DataFrame(
        {
            "lo": [state.lo],
            "hi": [state.hi],
            "pairs": [np.concatenate([p.ravel() for p in state.pairs])],
            "pos": [np.concatenate(state.pos)],
            "neg": [np.concatenate(state.neg)],
        }
    )


@dataclass
class _State:
    """What a partition has counted so far: per base, its pairs and its totals per cell."""

    pairs: list[np.ndarray]
    pos: list[np.ndarray]
    neg: list[np.ndarray]
    lo: float | None = None
    hi: float | None = None


def _add_chunk(
    state: _State, rows: pd.DataFrame, bases: Sequence[tuple[int, ...]], shape: tuple[int, ...]
) -> None:
    """Adds the pairs of a chunk of rows in score order, whose scores are all above the chunks
    before (so their negatives all count whole)."""
    score = rows[SCORE].to_numpy(dtype=np.float64)
    # Sorted by Spark: checked, since the counts below would silently be wrong otherwise.
    if np.any(score[1:] < score[:-1]) or (state.hi is not None and not score[0] > state.hi):
        raise RuntimeError("the exact AUC's rows did not come sorted by score in their partition")
    state.lo = float(score[0]) if state.lo is None else state.lo
    state.hi = float(score[-1])
    # Each row as a positive and a negative: `_score_order` puts the positives of equal scores
    # first (so `_ordered_pairs` counts none of their pairs) and finds them for `_tied_pairs`.
    weight = np.column_stack([rows[POS].to_numpy(np.float64), rows[NEG].to_numpy(np.float64)])
    kept = weight.ravel() > 0
    weight = weight.ravel()[kept]
    if not weight.size:  # weights of 0 only: no pairs
        return
    y = np.tile(np.array([1, 0], dtype=np.int8), len(rows))[kept]
    order, ties = _score_order(np.repeat(score, 2)[kept], y)
    y, weight = y[order], weight[order]
    pos = weight * y
    neg = weight - pos
    for i, base in enumerate(bases):
        n_cells = prod(shape[a] for a in base)
        cell = np.zeros(len(rows), dtype=np.intp)
        for a in base:
            cell *= shape[a]
            cell += rows[code(a)].to_numpy(dtype=np.intp)
        cell = np.repeat(cell, 2)[kept][order]
        pairs = _ordered_pairs(cell, pos, neg, n_cells)
        if ties is not None:
            tied, block = ties
            pairs += _tied_pairs(cell[tied], block, pos[tied], neg[tied], n_cells)
        chunk_pos = np.bincount(cell, weights=pos, minlength=n_cells)
        pairs += np.outer(chunk_pos, state.neg[i])  # the earlier chunks' negatives: lower scores
        state.pairs[i] += pairs
        state.pos[i] += chunk_pos
        state.neg[i] += np.bincount(cell, weights=neg, minlength=n_cells)


def combine(
    parts: pd.DataFrame, bases: Sequence[tuple[int, ...]], shape: tuple[int, ...]
) -> list[Pairs]:
    """The partitions' counts added up in score order, each partition's positives paired with
    the negatives of the partitions below it."""
    sizes = [prod(shape[a] for a in b) for b in bases]
    parts = parts.sort_values("lo", kind="stable")
    lo, hi = parts["lo"].to_numpy(), parts["hi"].to_numpy()
    if np.any(lo[1:] <= hi[:-1]):  # equal scores in two partitions: their ties would be lost
        raise RuntimeError("the exact AUC's score ranges overlap between partitions")
    pair_ends = np.cumsum([0, *(n * n for n in sizes)])
    cell_ends = np.cumsum([0, *sizes])
    total_pairs = [np.zeros((n, n)) for n in sizes]
    total_pos = [np.zeros(n) for n in sizes]
    total_neg = [np.zeros(n) for n in sizes]
    for pairs, pos, neg in zip(parts["pairs"], parts["pos"], parts["neg"], strict=True):
        pairs, pos, neg = (np.asarray(x, dtype=np.float64) for x in (pairs, pos, neg))
        for i, n in enumerate(sizes):
            p = pos[cell_ends[i] : cell_ends[i + 1]]
            total_pairs[i] += pairs[pair_ends[i] : pair_ends[i + 1]].reshape(n, n)
            total_pairs[i] += np.outer(p, total_neg[i])
            total_pos[i] += p
            total_neg[i] += neg[cell_ends[i] : cell_ends[i + 1]]
    return [
        Pairs(
            base=b,
            shape=tuple(shape[a] for a in b),
            pairs=total_pairs[i],
            pos=total_pos[i],
            neg=total_neg[i],
        )
        for i, b in enumerate(bases)
    ]
