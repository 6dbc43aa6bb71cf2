"""A grouping: one attribute alone or an intersection, cut out of the joint count table.

Each grouping keeps only its live groups (an empty intersection is not a group) and carries the
arrays every later step reads: counts, bootstrap replicates, score histograms, metric values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from audit.stats.counts import GroupCounts


@dataclass
class Grouping:
    """One attribute or intersection: its live groups and their count arrays."""

    attributes: tuple[str, ...]
    levels: list[tuple[str, ...]]
    n: np.ndarray  # (G, 2, 2) rows
    w: np.ndarray  # (G, 2, 2) weights
    w2: np.ndarray | None
    boot: np.ndarray | None  # (B, G, 2, 2)
    hist: np.ndarray | None = None  # (G, 2, bins)
    hist_n: np.ndarray | None = None  # (G, 2, bins) rows (unweighted), for disclosure control
    score_sum: np.ndarray | None = None
    boot_hist: np.ndarray | None = None  # (B, G, 2, coarse bins)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    boot_values: dict[str, np.ndarray] = field(default_factory=dict)
    ref: int = 0

    @property
    def n_rows(self) -> np.ndarray:
        return self.n.sum(axis=(1, 2))


def groupings(counts: GroupCounts, order: int) -> list[tuple[int, ...]]:
    k = len(counts.attributes)
    return [c for r in range(1, order + 1) for c in itertools.combinations(range(k), r)]


def slice_grouping(
    counts: GroupCounts,
    keep: tuple[int, ...],
    boot: np.ndarray | None,
    boot_hist: np.ndarray | None,
) -> Grouping:
    n = counts.marginal(counts.n, keep)
    group_shape = n.shape[: len(keep)]
    flat = int(np.prod(group_shape))
    n = n.reshape(flat, 2, 2)
    live = np.flatnonzero(n.sum(axis=(1, 2)) > 0)  # an empty intersection is not a group

    def cut(array: np.ndarray | None, lead: int = 0) -> np.ndarray | None:
        if array is None:
            return None
        out = counts.marginal(array, keep, lead=lead)
        out = out.reshape((*out.shape[:lead], flat, *out.shape[lead + len(keep) :]))
        if live.size == flat:  # every group has people: a view, not a copy (37 MB of replicates)
            return out
        return out[(slice(None),) * lead + (live,)]

    all_levels = list(itertools.product(*(counts.levels[a] for a in keep)))
    return Grouping(
        attributes=tuple(counts.attributes[a] for a in keep),
        levels=[all_levels[i] for i in live],
        n=n[live],
        w=cut(counts.w),  # type: ignore[arg-type]
        w2=cut(counts.w2),
        boot=cut(boot, lead=1),
        hist=cut(counts.score_hist),
        hist_n=cut(counts.score_hist_n),
        score_sum=cut(counts.score_sum),
        boot_hist=cut(boot_hist, lead=1),
    )


@dataclass(frozen=True)
class GroupTable:
    """Every group of every grouping stacked on one axis, each with the index of its reference.

    Metrics, intervals and tests are elementwise, so computing them once over this table costs
    one NumPy call per metric instead of one per metric and grouping.
    """

    attributes: list[tuple[str, ...]]
    levels: list[tuple[str, ...]]
    ref: np.ndarray  # (G,) index of each group's reference group in this table
    n: np.ndarray  # (G, 2, 2)
    w: np.ndarray
    w2: np.ndarray | None
    values: dict[str, np.ndarray]  # (G,)
    boot_values: dict[str, np.ndarray]  # (B, G)

    @property
    def n_rows(self) -> np.ndarray:
        return self.n.sum(axis=(1, 2))


def stack(parts: list[Grouping]) -> GroupTable:
    offsets = np.cumsum([0] + [len(g.levels) for g in parts])
    names = list(parts[0].values)
    boot_names = list(parts[0].boot_values)
    return GroupTable(
        attributes=[g.attributes for g in parts for _ in g.levels],
        levels=[lv for g in parts for lv in g.levels],
        ref=np.concatenate(
            [np.full(len(g.levels), off + g.ref) for g, off in zip(parts, offsets, strict=False)]
        ),
        n=np.concatenate([g.n for g in parts]),
        w=np.concatenate([g.w for g in parts]),
        w2=None if parts[0].w2 is None else np.concatenate([g.w2 for g in parts]),
        values={k: np.concatenate([g.values[k] for g in parts]) for k in names},
        boot_values={
            k: np.concatenate([g.boot_values[k] for g in parts], axis=1) for k in boot_names
        },
    )
