"""The counting pass on Spark: one aggregation to a table of value combinations, and the exact AUC.

`aggregate` groups the rows by every column the audit reads (groups, legitimate factors, track,
outcome, decision) and by the score's point on the histogram grid, and sums what the count
tables need: rows, weights, squared weights, scores. Its result has one row per combination
that occurs, so its size depends on the number of groups and grid points, never on the rows.
The same aggregation counts the scores and weights the audit would refuse, and the scores off
the grid, so that validation takes no second pass.

Scores off the grid (a model's probabilities, with all their decimals) need the exact AUC from
the rows, as the NumPy engine computes it (`audit.stats.exact_auc`): `SparkAuc` does it on the
cluster, with one sort of the rows by score for every grouping at once (`audit.spark.pairs`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from audit.errors import AuditInputError
from audit.spark import pairs
from audit.stats.counts import GroupCounts
from audit.stats.encoding import EncodedInput, Tally, bad_scores, bad_weights

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

ROWS, WEIGHT_SQ, SCORE_SUM = "__audit_rows", "__audit_weight_sq", "__audit_score_sum"
_BIN, _BAD_SCORE, _BAD_WEIGHT, _OFF_GRID = (
    "__audit_bin",
    "__audit_bad_score",
    "__audit_bad_w",
    "__audit_off",
)
_NULL_KEY = "\x00null"  # the key of a missing value: no text cast from a value looks like it
# Above this many combinations of values the aggregated table would no longer be small.
MAX_COMBINATIONS = 2_000_000


@dataclass(frozen=True)
class Aggregated:
    """The aggregated table and what the aggregation found on the way."""

    table: pd.DataFrame  # the columns read, the score as its grid point, and the Tally's sums
    tally: Tally
    keys: dict[str, np.ndarray]  # per group column (and the outcome): each row's value as text
    off_grid: int  # rows whose score is not on the histogram grid


def _key(column: str) -> str:
    return f"__audit_key_{column}"


def _text_key(column: str) -> Column:
    """A column's values as text, a missing value as a key of its own: how the cluster's rows
    are matched to the groups the driver made of the aggregated table (`SparkAuc`)."""
    from pyspark.sql import functions as F

    return F.coalesce(F.col(column).cast("string"), F.lit(_NULL_KEY))


def aggregate(
    frame: DataFrame,
    columns: Sequence[str],
    *,
    score: str | None,
    weight: str | None,
    score_bins: int,
    keyed: Sequence[str],
    max_combinations: int = MAX_COMBINATIONS,
) -> Aggregated:
    """One aggregation of `frame` over `columns` (and the score's grid point), collected.

    `keyed` columns also get their values as text (for `SparkAuc`, which matches the rows on
    the cluster to the groups the NumPy side makes of them).
    """
    from pyspark.sql import functions as F

    by: list[Column] = [F.col(c) for c in columns]
    by += [_text_key(c).alias(_key(c)) for c in keyed]
    sums: list[Column] = [F.count(F.lit(1)).alias(ROWS)]
    w = None
    if weight is not None:
        w = F.col(weight).cast("double")
        bad_w = w.isNull() | F.isnan(w) | (w < 0) | (w == float("inf"))
        sums += [
            F.sum(w).alias(weight),
            F.sum(w * w).alias(WEIGHT_SQ),
            F.sum(bad_w.cast("long")).alias(_BAD_WEIGHT),
        ]
    if score is not None:
        s = F.col(score).cast("double")
        bad_s = s.isNull() | F.isnan(s) | (s < 0) | (s > 1)
        point = F.rint(s * score_bins)
        by.append(F.when(bad_s, F.lit(-1)).otherwise(point.cast("int")).alias(_BIN))
        sums += [
            F.sum(s if w is None else s * w).alias(SCORE_SUM),
            F.sum(bad_s.cast("long")).alias(_BAD_SCORE),
            # As `exact_auc.on_grid` reads it: rint(s * R) / R == s.
            F.sum((point / score_bins != s).cast("long")).alias(_OFF_GRID),
        ]
    table = frame.groupBy(*by).agg(*sums).limit(max_combinations + 1).toPandas()
    if len(table) > max_combinations:
        raise _too_many(frame, columns, max_combinations)
    if weight is not None and int(table[_BAD_WEIGHT].sum()):
        raise bad_weights(weight, int(table[_BAD_WEIGHT].sum()), _examples(frame, weight, bad_w))
    off_grid = 0
    if score is not None:
        if int(table[_BAD_SCORE].sum()):
            raise bad_scores(score, int(table[_BAD_SCORE].sum()), _examples(frame, score, bad_s))
        off_grid = int(table[_OFF_GRID].sum())
        table[score] = table.pop(_BIN) / score_bins
    keys = {c: table.pop(_key(c)).to_numpy(dtype=object) for c in keyed}
    table = table.drop(columns=[c for c in (_BAD_SCORE, _BAD_WEIGHT, _OFF_GRID) if c in table])
    tally = Tally(
        rows=ROWS,
        weight_sq=WEIGHT_SQ if weight is not None else None,
        score_sum=SCORE_SUM if score is not None else None,
    )
    return Aggregated(table=table, tally=tally, keys=keys, off_grid=off_grid)


def _examples(frame: DataFrame, column: str, bad: Column) -> list[object]:
    """A few of the values refused, read only when there are some."""
    return [row[0] for row in frame.filter(bad).select(column).limit(3).collect()]


def _too_many(frame: DataFrame, columns: Sequence[str], limit: int) -> AuditInputError:
    from pyspark.sql import functions as F

    distinct = frame.agg(*[F.approx_count_distinct(c).alias(c) for c in columns]).first()
    assert distinct is not None
    widest = sorted(columns, key=lambda c: -int(distinct[c]))[:3]
    return AuditInputError(
        "columns of the audit",
        expected=f"at most {limit:,} combinations of group, factor, track, outcome and "
        "decision values (and score grid points)",
        found="more; the columns with the most values are "
        + ", ".join(f"{c!r} (about {int(distinct[c]):,})" for c in widest),
        fix="cut a measurement into bands before the audit (an income, an identifier is not "
        "a group), or list fewer legitimate factors",
    )


class SparkAuc:
    """The exact AUC of every grouping, computed on the cluster: `ExactAuc` for `assess`.

    The rows are matched to the groups `assess` made of the aggregated table through each
    group value's text (`Aggregated.keys`), so binned or recoded values fall in the same group
    on both sides. Ties count one half and weights multiply, as in `audit.stats.exact_auc`.

    As the NumPy engine's pair counts: one sort of the rows by score (aggregated to cell and
    score first) counts the (positive, negative) pairs between every two cells of the finest
    groups, or of the widest groupings when the finest cells are more than `MAX_PAIR_CELLS`,
    and every grouping's AUC is read from them (`audit.spark.pairs`). A grouping inside none of
    those (its own cells more than `MAX_PAIR_CELLS`) takes the fallback: one window over the
    sorted scores per group, each grouping a copy of the rows.
    `partitions`: the number of score ranges of the pair counts (None: the shuffle partitions).
    """

    def __init__(
        self,
        frame: DataFrame,
        aggregated: Aggregated,
        *,
        groups: Sequence[str],
        y_true: str,
        score: str,
        weight: str | None,
        partitions: int | None = None,
    ) -> None:
        self.frame = frame
        self.keys = aggregated.keys
        self.groups = list(groups)
        self.y_true = y_true
        self.score = score
        self.weight = weight
        self.partitions = partitions

    def __call__(
        self, audited: EncodedInput, counts: GroupCounts, keeps: Sequence[tuple[int, ...]]
    ) -> dict[tuple[str, ...], np.ndarray]:
        from pyspark.sql import functions as F

        positive = sorted(
            {k for k, y in zip(self.keys[self.y_true], audited.y_true, strict=True) if y}
        )
        codes = [self._codes(audited, counts, a) for a in range(len(self.groups))]
        w = F.lit(1.0) if self.weight is None else F.col(self.weight).cast("double")
        is_pos = _text_key(self.y_true).isin(positive)
        base = self.frame.select(
            *[c.alias(pairs.code(a)) for a, c in enumerate(codes)],
            F.col(self.score).cast("double").alias(pairs.SCORE),
            F.when(is_pos, w).otherwise(F.lit(0.0)).alias(pairs.POS),
            F.when(is_pos, F.lit(0.0)).otherwise(w).alias(pairs.NEG),
        )
        shape = tuple(len(levels) for levels in counts.levels)
        bases = pairs.pair_bases(keeps, shape)
        covered = {keep: pairs.base_of(keep, bases) for keep in keeps}
        out: dict[tuple[str, ...], np.ndarray] = {}
        if bases:
            tables = pairs.pair_counts(base, bases, shape, partitions=self.partitions)
            by_base = {t.base: t for t in tables}
            for keep, b in covered.items():
                if b is not None:
                    out[tuple(counts.attributes[a] for a in keep)] = by_base[b].auc(keep)
        rest = [keep for keep, b in covered.items() if b is None]
        if rest:
            out.update(self._windows(base, counts, rest))
        return out

    def _windows(
        self, base: DataFrame, counts: GroupCounts, keeps: Sequence[tuple[int, ...]]
    ) -> dict[tuple[str, ...], np.ndarray]:
        """The fallback: each grouping a copy of the rows, one window over the scores per group."""
        from pyspark.sql import DataFrame, Window
        from pyspark.sql import functions as F

        parts = []
        for g, keep in enumerate(keeps):
            joint: Column = F.lit(0)
            for a in keep:
                joint = joint * len(counts.levels[a]) + F.col(pairs.code(a))
            parts.append(
                base.select(
                    F.lit(g).alias("__g"), joint.alias("__j"), pairs.SCORE, pairs.POS, pairs.NEG
                )
            )
        rows = functools.reduce(DataFrame.unionByName, parts)
        per_score = rows.groupBy("__g", "__j", pairs.SCORE).agg(
            F.sum(pairs.POS).alias("p"), F.sum(pairs.NEG).alias("q")
        )
        before = Window.partitionBy("__g", "__j").orderBy(pairs.SCORE)
        below = F.coalesce(
            F.sum("q").over(before.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0.0)
        )
        counted = per_score.withColumn("u", F.col("p") * (below + 0.5 * F.col("q")))
        result = counted.groupBy("__g", "__j").agg(
            F.sum("u").alias("u"), F.sum("p").alias("p"), F.sum("q").alias("q")
        )
        out = {}
        shapes = [tuple(len(counts.levels[a]) for a in keep) for keep in keeps]
        flat = [np.full(int(np.prod(shape)), np.nan) for shape in shapes]
        for row in result.collect():
            if row["p"] > 0 and row["q"] > 0:
                flat[row["__g"]][row["__j"]] = row["u"] / (row["p"] * row["q"])
        for keep, shape, values in zip(keeps, shapes, flat, strict=True):
            out[tuple(counts.attributes[a] for a in keep)] = values.reshape(shape)
        return out

    def _codes(self, audited: EncodedInput, counts: GroupCounts, a: int) -> Column:
        """Attribute `a` of each row as its position in `counts.levels[a]`, by its value's text."""
        from pyspark.sql import functions as F

        attribute = audited.attributes[a]
        position = {level: i for i, level in enumerate(counts.levels[a])}
        lookup = {
            key: position[attribute.levels[code]]
            for key, code in zip(self.keys[self.groups[a]], attribute.codes, strict=True)
        }
        pairs = [F.lit(x) for item in lookup.items() for x in item]
        return F.create_map(*pairs)[_text_key(self.groups[a])]
