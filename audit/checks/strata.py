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
    labels = column.astype("string").astype(object)
    return labels.where(column.notna(), UNKNOWN).astype(str)


def strata_codes(
    people: pd.DataFrame, factors: Sequence[str], bins: Mapping[str, int]
) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """One code per person for the combination of the factors, the factors as read (binned),
    and the notes on binning. Without factors everyone is in one stratum."""
    if not factors:
        return np.zeros(len(people), dtype=np.int64), pd.DataFrame(index=people.index), []
    prepared, notes = prepare_factors(people[list(factors)], factors, bins, groups=())
    read = pd.DataFrame({f: group_labels(prepared[f]) for f in factors}, index=people.index)
    codes = read.groupby(list(factors), sort=True, observed=True).ngroup().to_numpy()
    return codes.astype(np.int64), read, notes


def reference_level(ctx: CheckContext, column: str, labels: np.ndarray) -> str:
    """The spec's reference of an attribute, or its largest group (the audit's default)."""
    for a in ctx.attributes:
        if a.column == column and a.reference is not None:
            return a.reference
    values, counts = np.unique(labels, return_counts=True)
    return str(values[int(np.argmax(counts))])
