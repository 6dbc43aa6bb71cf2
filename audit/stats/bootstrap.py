"""Bootstrap on counts, not rows.

Resampling n rows with replacement gives cell counts distributed multinomial(n, cell shares), so
drawing that multinomial directly is the row bootstrap in distribution for every count-based
metric, at a cost that depends on the number of cells, not rows. The stratified variant draws each
joint group's cells from its own multinomial, keeping every group (and intersection) size fixed.

With sample weights, a cell's replicate weight is its replicate row count times the cell's mean
weight: exact for constant weights within a cell, and close otherwise (weight variance within a
cell is not resampled).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

BootstrapKind = Literal["multinomial", "stratified"]


def resample(
    n: np.ndarray,
    w: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    kind: BootstrapKind = "multinomial",
    group_axes: int,
) -> np.ndarray:
    """Replicate weighted counts with shape (n_boot, *n.shape).

    `group_axes` leading axes of `n` index the joint groups; the rest are cells within a group.
    """
    shape = n.shape
    n_cells = int(np.prod(shape[group_axes:]))
    counts = n.reshape(-1, n_cells).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_weight = np.where(counts > 0, w.reshape(-1, n_cells) / counts, 0.0)
    out = np.zeros((n_boot, *counts.shape), dtype=np.float64)
    if kind == "multinomial":
        flat = counts.ravel()
        live = np.flatnonzero(flat)  # empty cells stay empty in every replicate
        total = int(flat.sum())
        draws = rng.multinomial(total, flat[live] / total, size=n_boot)
        out.reshape(n_boot, -1)[:, live] = draws * mean_weight.ravel()[live]
    elif kind == "stratified":
        sizes = counts.sum(axis=1)
        live = np.flatnonzero(sizes)
        shares = counts[live] / sizes[live, None]
        draws = rng.multinomial(sizes[live], shares, size=(n_boot, live.size))
        out[:, live, :] = draws * mean_weight[live]
    else:
        raise ValueError(f"unknown bootstrap kind {kind!r}")
    return out.reshape((n_boot, *shape))


def percentile_interval(
    replicates: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring undefined replicates; also their share.

    Same numbers as `np.nanpercentile` (linear interpolation), but from one sort of all columns:
    numpy falls back to a slow column-by-column loop as soon as any replicate is NaN.
    """
    n_boot = replicates.shape[0]
    rest = replicates.shape[1:]
    if n_boot == 0:
        empty = np.full(rest, np.nan)
        return empty, empty.copy(), np.zeros(rest)
    flat = replicates.reshape(n_boot, -1)
    ordered = np.sort(flat, axis=0)  # NaN sorts last
    valid = np.count_nonzero(~np.isnan(flat), axis=0)
    columns = np.arange(flat.shape[1])

    def quantile(q: float) -> np.ndarray:
        position = q * np.maximum(valid - 1, 0)
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, np.maximum(valid - 1, 0))
        fraction = position - below
        low, high = ordered[below, columns], ordered[above, columns]
        with np.errstate(invalid="ignore"):
            value = np.where(fraction == 0, low, low + (high - low) * fraction)
        return np.where(valid > 0, value, np.nan).reshape(rest)

    tail = (1 - level) / 2
    share_undefined = (1 - valid / n_boot).reshape(rest)
    return quantile(tail), quantile(1 - tail), share_undefined
