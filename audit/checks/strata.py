"""Groups and strata as integer codes, the way every check reads them.

A missing group value is a group of its own, `unknown`, as in the rest of the audit: people whose
attribute was not recorded are often the ones a service fails. A numeric legitimate factor with
many values is cut at its quantiles (`audit.stats.factors`), so strata hold enough people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from audit.checks.base import CheckContext
from audit.stats.factors import prepare_factors

UNKNOWN = "unknown"


def group_labels(column: pd.Series) -> pd.Series:
    """A group column as strings, missing values as `unknown` (booleans read "True"/"False")."""
    codes, names = _codes(column)
    # object, not pandas' string dtype: building that from a million strings takes a second
    return pd.Series(names[codes], index=column.index, dtype=object)


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (missing: the last code) and the level names they stand for.

    Factorising first and naming each level once is what keeps a million rows fast: turning
    every value into a string takes a second there.
    """
    codes, uniques = pd.factorize(column, sort=True)
    names = np.array([str(u) for u in uniques] + [UNKNOWN], dtype=object)
    return np.where(codes < 0, len(uniques), codes), names


def strata_codes(
    people: pd.DataFrame, factors: Sequence[str], bins: Mapping[str, int]
) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """One code per person for the combination of the factors, the factors as read (binned),
    and the notes on binning. Without factors everyone is in one stratum."""
    if not factors:
        return np.zeros(len(people), dtype=np.int64), pd.DataFrame(index=people.index), []
    prepared, notes = prepare_factors(people[list(factors)], factors, bins, groups=())
    parts = [_codes(prepared[f]) for f in factors]
    flat = np.ravel_multi_index([c for c, _ in parts], [len(n) for _, n in parts])
    _, codes = np.unique(flat, return_inverse=True)
    read = pd.DataFrame(
        {f: n[c] for f, (c, n) in zip(factors, parts, strict=True)}, index=people.index
    )
    return codes.astype(np.int64).ravel(), read, notes


def reference_level(ctx: CheckContext, column: str, labels: np.ndarray) -> str:
    """The spec's reference of an attribute, or its largest group (the audit's default)."""
    for a in ctx.attributes:
        if a.column == column and a.reference is not None:
            return a.reference
    values, counts = np.unique(labels, return_counts=True)
    return str(values[int(np.argmax(counts))])
