"""Vectorised draws used by the generator.

Why a module of its own: every conditional draw of the causal model is "pick a category with
probabilities that depend on the person's parents". Doing it as K-1 comparisons of one uniform
against a cumulative table keeps memory at O(n) for 10^7 rows, where an (n, K) probability matrix
would not, and makes the draw a deterministic function of the uniform (common random numbers:
two scenarios with the same seed share every draw that the harm does not touch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def probabilities(shares: Mapping[str, float], categories: Sequence[str]) -> np.ndarray:
    """Shares in category order, normalised (a dict -> vector the draw functions take)."""
    p = np.array([shares[c] for c in categories], dtype=float)
    return p / p.sum()


def draw_categorical(
    u: np.ndarray, probs: np.ndarray, parent: np.ndarray | None = None
) -> np.ndarray:
    """Category codes (int8) from uniforms ``u``.

    ``probs`` is a vector (no parent) or a table with one row per parent code.
    """
    table = np.atleast_2d(np.asarray(probs, dtype=float))
    cum = np.cumsum(table, axis=1)
    cum /= cum[:, -1:]
    codes = np.zeros(u.shape, dtype=np.int8)
    for k in range(table.shape[1] - 1):
        threshold = cum[0, k] if parent is None else cum[:, k][parent]
        codes += u >= threshold
    return codes


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, in float64."""
    return 1.0 / (1.0 + np.exp(-z))


def logit(p: np.ndarray) -> np.ndarray:
    """Inverse of :func:`sigmoid`; callers keep p inside (0, 1)."""
    return np.log(p) - np.log1p(-p)
