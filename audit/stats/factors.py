"""Legitimate factors as strata: numeric columns cut at quantiles, and the axes each attribute uses.

A numeric factor (age, income, months unemployed) compared level by level would put every
distinct value in a stratum of its own: dozens of strata of a few people each, most of them
without anyone of the reference group, so the conditional comparison would quietly drop most of
the data. Such a factor is cut into quantile bins instead: as many as asked (`factor_bins`), or
`DEFAULT_BINS` when it has more than `MAX_EXACT_LEVELS` distinct values, and a note says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from audit.errors import AuditInputError
from audit.stats.counts import GroupCounts

MAX_EXACT_LEVELS = 20  # a numeric factor with more distinct values than this is binned
DEFAULT_BINS = 5
_MAX_DECIMALS = 10


def prepare_factors(
    data: pd.DataFrame,
    factors: Sequence[str],
    bins: Mapping[str, int],
    groups: Sequence[str],
    rows: np.ndarray | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """`data` with each numeric factor to bin replaced by its quantile bins, and notes saying so.

    The binned columns go into a shallow copy: the caller's frame is never modified. A factor
    that is also a group column keeps its group levels (its axis is shared), so it takes no bins.
    `rows`: the rows each row of an aggregated table stands for (`Tally`), for its quantiles.
    """
    out: pd.DataFrame | None = None
    notes: list[str] = []
    for name in factors:
        column = data[name]
        asked = bins.get(name)
        if name in groups:
            if asked is not None:
                raise AuditInputError(
                    f"factor bins for {name!r}",
                    expected="bins for a factor that is not also a group column",
                    found=f"{name!r} is a group column too, and as a factor it keeps its groups",
                    fix="bin the column before the audit, or drop its bins",
                )
            continue
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if asked is None:
            distinct = int(column.nunique())
            if not numeric or distinct <= MAX_EXACT_LEVELS:
                continue
            count = DEFAULT_BINS
            why = (
                f"has {distinct} distinct numeric values, too many to compare people value by "
                f"value: cut at its quantiles into"
            )
        elif not numeric:
            raise AuditInputError(
                f"factor bins for {name!r}",
                expected="a numeric column to cut at its quantiles",
                found=f"a column of type {column.dtype}",
                fix="drop the bins for it: its own values are the strata",
            )
        else:
            count, why = asked, "cut at its quantiles into"
        binned = quantile_bins(column, count, rows)
        levels = list(binned.cat.categories)
        notes.append(
            f"legitimate factor {name!r} {why} {len(levels)} bins {', '.join(levels)}"
            + ("" if asked is not None else "; factor_bins sets another number")
            + (
                ""
                if len(levels) == count
                else f"; {count} were asked, tied values merged the others"
            )
        )
        if out is None:
            out = data.copy(deep=False)  # new columns only; the caller's columns are shared
        out[name] = binned
    return (data if out is None else out), notes


def bin_groups(
    data: pd.DataFrame, bins: Mapping[str, int], rows: np.ndarray | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """`data` with each group column in `bins` cut at its quantiles, and notes saying so.

    A numeric attribute (an age, an amount) has a group per value; cut into a few quantile bins
    it has groups of a size that can be compared. A shallow copy: the caller's frame is kept.
    """
    if not bins:
        return data, []
    out = data.copy(deep=False)
    notes = []
    for name, count in bins.items():
        column = data[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise AuditInputError(
                f"bins of the attribute {name!r}",
                expected="a numeric column to cut at its quantiles",
                found=f"a column of type {column.dtype}",
                fix="drop its bins: its own values are the groups (merge rare ones before "
                "the audit)",
            )
        out[name] = quantile_bins(column, count, rows)
        levels = list(out[name].cat.categories)
        merged = "" if len(levels) == count else f"; {count} were asked, tied values merged others"
        notes.append(
            f"attribute {name!r} cut at its quantiles into {len(levels)} groups "
            f"{', '.join(levels)}{merged}"
        )
    return out, notes


def quantile_bins(values: pd.Series, count: int, rows: np.ndarray | None = None) -> pd.Series:
    """Ordered categories "[low, high)" cut at the `count`-quantiles; the last bin is closed.

    Edges are observed values (the "higher" quantile, so that each bin [low, high) holds its
    share), so integer data gets integer labels; tied edges are merged, so there may be fewer
    bins. Missing values stay missing. With `rows`, value i stands for rows[i] rows (an
    aggregated table): the edges are those of the table the rows make.

    >>> quantile_bins(pd.Series([20, 25, 30, 35, 40, 45, 50, 55], name="age"), 2).tolist()
    ['[20, 40)', '[20, 40)', '[20, 40)', '[20, 40)', '[40, 55]', '[40, 55]', '[40, 55]', '[40, 55]']
    """
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(x)
    if not present.any():
        return values.copy()
    q = np.linspace(0, 1, count + 1)
    if rows is None:
        edges = np.unique(np.quantile(x[present], q, method="higher"))
    else:
        edges = np.unique(_higher_quantiles(x[present], rows[present], q))
    text = _edge_labels(edges)
    if len(edges) == 1:
        labels = [f"[{text[0]}, {text[0]}]"]
    else:
        labels = [f"[{a}, {b})" for a, b in pairwise(text[:-1])]
        labels.append(f"[{text[-2]}, {text[-1]}]")
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(labels) - 1)
    codes = np.where(present, codes, -1)  # -1: missing, the "unknown" level after encoding
    binned = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(labels, ordered=True))
    return pd.Series(binned, index=values.index, name=values.name)


def _higher_quantiles(values: np.ndarray, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """`np.quantile(np.repeat(values, rows), q, method="higher")` without repeating: NumPy's
    "higher" takes the sorted element at index ceil((N - 1) q)."""
    order = np.argsort(values, kind="stable")
    ends = np.cumsum(rows[order])  # the last index + 1 each value fills in the sorted table
    index = np.ceil((int(ends[-1]) - 1) * q).astype(np.intp)
    return values[order][np.searchsorted(ends, index, side="right")]


def _edge_labels(edges: np.ndarray) -> list[str]:
    """Edges as short text: exact when a few decimals write them (ages, counts, amounts in
    cents), else rounded to about 4 significant digits, with more when two would look alike."""
    largest = float(np.max(np.abs(edges)))
    magnitude = int(np.floor(np.log10(largest))) if largest > 0 else 0
    enough = max(0, 3 - magnitude)  # decimals for 4 significant digits of the largest edge
    for decimals in range(_MAX_DECIMALS + 1):
        text = [_trimmed(f"{e + 0.0:.{decimals}f}") for e in edges]
        exact = bool(np.all(np.abs(np.round(edges, decimals) - edges) <= 1e-9 * np.abs(edges)))
        if len(set(text)) == len(text) and (exact or decimals >= enough):
            return text
    return [repr(float(e)) for e in edges]


def _trimmed(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return "0" if number == "-0" else number


def factor_axes(counts: GroupCounts, factors: Sequence[str], attribute: str) -> list[int]:
    """The axes of `counts` holding the factors that stratify `attribute`: all but itself.

    A column that is both a group and a factor has one axis, used either way; it cannot
    stratify its own groups, so it is left out of its own comparisons.
    """
    return [counts.attributes.index(f) for f in factors if f != attribute]


def marginal_in_order(counts: GroupCounts, array: np.ndarray, keep: Sequence[int]) -> np.ndarray:
    """`counts.marginal(array, keep)` with the kept axes in the order of `keep`.

    The marginal keeps axes in their stored order; a group column used as a factor may sit
    before the attribute compared, so the axes are put back in the order asked.
    """
    out = counts.marginal(array, keep)
    stored = sorted(keep)
    order = [stored.index(a) for a in keep]
    rest = list(range(len(keep), out.ndim))
    return out.transpose([*order, *rest]) if order != sorted(order) else out
