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

import warnings
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
    """Percentile interval over axis 0, ignoring undefined replicates; also their share."""
    tail = (1 - level) / 2 * 100
    undefined = np.isnan(replicates)
    share_undefined = (
        undefined.mean(axis=0) if replicates.shape[0] else np.zeros(replicates.shape[1:])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices -> NaN, on purpose
        low, high = np.nanpercentile(replicates, [tail, 100 - tail], axis=0)
    return low, high, share_undefined
