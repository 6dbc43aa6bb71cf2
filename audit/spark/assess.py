"""`assess_spark`: `audit.stats.assess.assess` for a Spark DataFrame.

The rows stay on the cluster. One aggregation brings back a table with a row per combination of
values (`counting.aggregate`); `assess` counts it with each row's multiplicity, so every metric,
interval, test, note and error is the NumPy engine's own. Only the exact AUC of scores off the
histogram grid needs the rows again, and is computed on the cluster (`counting.SparkAuc`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from audit.spark.counting import MAX_COMBINATIONS, Aggregated, SparkAuc, aggregate
from audit.spark.tables import require_columns
from audit.stats.assess import assess, check_roles
from audit.stats.counts import DEFAULT_SCORE_BINS
from audit.stats.encoding import bad_scores
from audit.stats.exact_auc import ExactAuc
from audit.stats.exact_auc import exact_auc as auc_from_rows
from audit.stats.result import Assessment

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


# The arguments of `assess` that name columns: the cluster reads them (`count_on_spark`).
COLUMN_ARGUMENTS = (
    "y_true", "y_pred", "groups", "score", "weight", "legitimate_factors", "track", "score_bins",
)  # fmt: skip


def split_arguments(arguments: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`assess`'s arguments as (those that name columns, the others)."""
    columns = {k: v for k, v in arguments.items() if k in COLUMN_ARGUMENTS}
    return columns, {k: v for k, v in arguments.items() if k not in COLUMN_ARGUMENTS}


def assess_spark(
    frame: DataFrame,
    *,
    max_combinations: int = MAX_COMBINATIONS,
    dtypes: Mapping[str, Any] | None = None,
    **arguments: Any,
) -> Assessment:
    """The assessment `assess(rows, **arguments)` makes of the same rows.

    `dtypes` are the pandas types of columns that Spark does not keep (`count_on_spark`).
    """
    columns, options = split_arguments(arguments)
    counted = count_on_spark(frame, **columns, max_combinations=max_combinations, dtypes=dtypes)
    return assess_counted(counted, **options)


@dataclass(frozen=True)
class Counted:
    """What the cluster hands to `assess`: the aggregated table, and the columns it read."""

    aggregated: Aggregated
    exact: ExactAuc
    columns: dict[str, Any]  # assess's column arguments (y_true, y_pred, groups, ...)

    @property
    def table(self) -> pd.DataFrame:
        return self.aggregated.table


def count_on_spark(
    frame: DataFrame,
    *,
    y_true: str | None,
    y_pred: str | None,
    groups: Sequence[str],
    score: str | None = None,
    weight: str | None = None,
    legitimate_factors: Sequence[str] = (),
    track: str | None = None,
    score_bins: int = DEFAULT_SCORE_BINS,
    max_combinations: int = MAX_COMBINATIONS,
    dtypes: Mapping[str, Any] | None = None,
) -> Counted:
    """The counting pass on the cluster: columns checked, one aggregation collected.

    `dtypes` are the pandas types of columns whose values Spark keeps but whose type it does
    not (`tables.pandas_dtypes`, or a pandas frame's own): categories in their declared order,
    integers with missing values.
    """
    check_roles(y_true=y_true, y_pred=y_pred, score=score, track=track)
    roles = {
        **{g: "group" for g in groups},
        **{f: "legitimate factor" for f in legitimate_factors if f not in groups},
        **({track: "track"} if track else {}),
        **({y_true: "outcome"} if y_true else {}),
        **({y_pred: "decision"} if y_pred else {}),
    }
    require_columns(frame, roles)
    numbers = {c: role for c, role in (("score", score), ("weight", weight)) if role}
    require_columns(frame, {name: role for role, name in numbers.items()})
    aggregated = aggregate(
        frame,
        list(roles),
        score=score,
        weight=weight,
        score_bins=score_bins,
        keyed=[*groups, y_true] if score is not None and y_true is not None else [],
        max_combinations=max_combinations,
    )
    with_dtypes(aggregated.table, dtypes)
    exact: ExactAuc = auc_from_rows  # finds the aggregated scores on the grid: nothing to do
    if aggregated.off_grid and score is not None and y_true is not None:
        exact = SparkAuc(
            frame, aggregated, groups=groups, y_true=y_true, score=score, weight=weight
        )
    columns = dict(
        y_true=y_true,
        y_pred=y_pred,
        groups=groups,
        score=score,
        weight=weight,
        legitimate_factors=legitimate_factors,
        track=track,
        score_bins=score_bins,
    )
    return Counted(aggregated=aggregated, exact=exact, columns=columns)


def with_dtypes(table: pd.DataFrame, dtypes: Mapping[str, Any] | None) -> pd.DataFrame:
    """`table` (changed in place) with each column of `dtypes` of that pandas type."""
    for name, dtype in (dtypes or {}).items():
        if name in table:
            table[name] = table[name].astype(dtype)
    return table


def assess_counted(counted: Counted, **options: Any) -> Assessment:
    """`assess` of the aggregated table: the NumPy engine's code from here on."""
    return assess(
        counted.table,
        **counted.columns,
        tally=counted.aggregated.tally,
        exact=counted.exact,
        **options,
    )


def with_threshold_decision(
    frame: DataFrame, score: str, threshold: float, name: str, *, check: bool
) -> DataFrame:
    """`frame` with the decision `score >= threshold` as the 0/1 column `name` (`audit assess
    --threshold`); `check`: refuse scores that are not probabilities, as the NumPy engine does
    (without it, the aggregation that reads the score checks them)."""
    from pyspark.sql import functions as F

    require_columns(frame, {score: "score"})
    s = F.col(score).cast("double")
    if check:
        bad = s.isNull() | F.isnan(s) | (s < 0) | (s > 1)
        found = frame.agg(F.sum(bad.cast("long")).alias("bad")).first()
        count = int(found["bad"] or 0) if found is not None else 0
        if count:
            examples = [row[0] for row in frame.filter(bad).select(score).limit(3).collect()]
            raise bad_scores(score, count, examples)
    return frame.withColumn(name, (s >= F.lit(threshold)).cast("byte"))
