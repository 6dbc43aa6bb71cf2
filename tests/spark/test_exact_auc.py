"""The exact AUC on Spark (`SparkAuc`, pair counts between cells) against the NumPy engine's
`exact_auc` on the same rows: many ties, weights (zeros too), missing values, a group without
positives, equal scores on many partitions, and more than `MAX_PAIR_CELLS` cells (the windows).

The per-partition count (`pairs.partition_pairs`) is plain pandas: it is also checked here on
the driver, with chunks of a few rows, so that equal scores reaching the end of a chunk are
carried into the next one.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.spark import pairs
from audit.spark.assess import count_on_spark
from audit.spark.counting import SparkAuc
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_table
from audit.stats.exact_auc import MAX_PAIR_CELLS, exact_auc

pytestmark = pytest.mark.xdist_group("spark")

TOL = 1e-10  # sums over the rows in another order; 0 may come out as 1e-13 (running sums)


def _table(
    n: int, seed: int, *, levels: tuple[int, int] = (4, 3), ties: float = 0.6
) -> pd.DataFrame:
    """A table we did not make: Portuguese names, text labels, a missing value in a group, a
    region with no hire, scores of which `ties` sit on 9 shared values off the 1/1000 grid."""
    rng = np.random.default_rng(seed)
    regiao = rng.choice([f"R{i}" for i in range(levels[0])], n).astype(object)
    escolaridade = rng.choice([f"nivel {i}" for i in range(levels[1])], n).astype(object)
    escolaridade[rng.random(n) < 0.08] = None  # missing: the level "unknown"
    hired = rng.random(n) < np.where(regiao == "R1", 0.55, 0.35)
    hired[regiao == "R0"] = False  # no positives: NaN in every grouping of R0
    nota = np.clip(0.4 + 0.2 * hired + rng.normal(0, 0.2, n), 0, 1)
    tied = rng.random(n) < ties
    nota[tied] = rng.choice(np.arange(1, 10) / 11, tied.sum())  # k/11: off the grid
    peso = rng.gamma(2.0, 0.5, n)
    peso[rng.random(n) < 0.05] = 0.0
    return pd.DataFrame(
        {
            "regiao": regiao,
            "escolaridade": escolaridade,
            "contratado": np.where(hired, "sim", "nao"),
            "selecionado": np.where(nota > 0.5, "sim", "nao"),
            "nota": nota,
            "peso": peso,
        }
    )


GROUPS = ["regiao", "escolaridade"]
OPTIONS = dict(y_true="contratado", y_pred="selecionado", pos_label="sim")


def _in_memory(table: pd.DataFrame, weight: str | None, keeps: list[tuple[int, ...]]) -> Any:
    encoded = encode_table(
        table,
        groups=GROUPS,
        score="nota",
        weight=weight,
        **OPTIONS,  # type: ignore[arg-type]
    )
    counts = count_groups(encoded)
    return counts, exact_auc(encoded, counts, keeps)


def _on_spark(
    spark: Any,
    table: pd.DataFrame,
    tmp_path: Path,
    weight: str | None,
    keeps: list[tuple[int, ...]],
    partitions: int | None = None,
) -> Any:
    """SparkAuc as `assess` calls it: on the aggregated table's encoding and counts."""
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    counted = count_on_spark(
        spark.read.parquet(str(path)),
        y_true="contratado",
        y_pred="selecionado",
        groups=GROUPS,
        score="nota",
        weight=weight,
    )
    assert isinstance(counted.exact, SparkAuc)
    exact = SparkAuc(
        spark.read.parquet(str(path)),
        counted.aggregated,
        groups=GROUPS,
        y_true="contratado",
        score="nota",
        weight=weight,
        partitions=partitions,
    )
    encoded = encode_table(
        counted.table,
        groups=GROUPS,
        score="nota",
        weight=weight,
        tally=counted.aggregated.tally,
        **OPTIONS,
    )
    counts = count_groups(encoded)
    return counts, exact(encoded, counts, keeps)


def _same(a: Any, b: Any) -> None:
    (counts_a, auc_a), (counts_b, auc_b) = a, b
    assert counts_a.levels == counts_b.levels and set(auc_a) == set(auc_b)
    for name in auc_a:
        np.testing.assert_allclose(auc_b[name], auc_a[name], rtol=TOL, atol=1e-12, equal_nan=True)


KEEPS = [(), (0,), (1,), (0, 1)]


@pytest.mark.parametrize("weight", [None, "peso"])
def test_ties_weights_and_a_group_without_positives_on_seven_partitions(
    spark: Any, tmp_path: Path, weight: str | None
) -> None:
    table = _table(3000, 1)
    expected = _in_memory(table, weight, KEEPS)
    _same(expected, _on_spark(spark, table, tmp_path, weight, KEEPS, partitions=7))
    counts, auc = expected
    r0 = counts.levels[0].index("R0")
    assert np.isnan(auc[("regiao",)][r0]) and np.isnan(auc[("regiao", "escolaridade")][r0]).all()
    assert "unknown" in counts.levels[1]
    assert np.isfinite(auc[()]).all() and 0.5 < float(auc[()]) < 1


def test_equal_scores_are_never_split_between_partitions(spark: Any) -> None:
    """Nine scores shared by 600 rows over 7 ranges: each score in one partition, the ranges
    in order (what `combine` relies on, and checks)."""
    rng = np.random.default_rng(2)
    frame = spark.createDataFrame(
        pd.DataFrame(
            {
                pairs.code(0): rng.integers(0, 3, 600),
                pairs.SCORE: rng.choice(np.arange(1, 10) / 11, 600),
                pairs.POS: rng.random(600),
                pairs.NEG: rng.random(600),
            }
        )
    )
    ranged = pairs.by_score(frame, [0], 7)
    spans = ranged.rdd.mapPartitions(
        lambda rows: [sorted({r[pairs.SCORE] for r in rows})]
    ).collect()
    spans = [s for s in spans if s]
    assert len(spans) > 2  # the scores are spread over several partitions
    flat = [x for s in spans for x in s]
    assert flat == sorted(flat) and len(flat) == len(set(flat)) == 9


def test_more_cells_than_the_pair_counts_take_the_windows(spark: Any, tmp_path: Path) -> None:
    """17 × 17 = 289 finest cells > 256: the intersection by windows, the attributes alone by
    pair counts of their own cells; all equal to the NumPy engine's."""
    assert MAX_PAIR_CELLS < 17 * 17
    table = _table(2500, 3, levels=(17, 16))  # 16 levels and "unknown"
    keeps = KEEPS
    expected = _in_memory(table, "peso", keeps)
    shape = tuple(len(levels) for levels in expected[0].levels)
    assert shape == (17, 17)
    assert pairs.pair_bases(keeps, shape) == []  # the widest grouping is too wide
    assert pairs.pair_bases([(), (0,), (1,)], shape) == [(0,), (1,)]
    _same(expected, _on_spark(spark, table, tmp_path, "peso", keeps))
    alone = [(), (0,), (1,)]
    _same(_in_memory(table, "peso", alone), _on_spark(spark, table, tmp_path, "peso", alone))


def test_a_partition_read_in_chunks_of_a_few_rows() -> None:
    """`partition_pairs` on the driver, rows in score order cut into batches and chunks of 5
    to 40 rows: ties reaching a chunk's end wait for the next; same as one chunk and as NumPy."""
    table = _table(1500, 4, ties=0.8)
    encoded = encode_table(table, groups=GROUPS, score="nota", weight="peso", **OPTIONS)  # type: ignore[arg-type]
    counts = count_groups(encoded)
    shape = tuple(len(levels) for levels in counts.levels)
    rows = pd.DataFrame(
        {
            pairs.code(0): encoded.attributes[0].codes,
            pairs.code(1): encoded.attributes[1].codes,
            pairs.SCORE: encoded.score,
            pairs.POS: encoded.weight * encoded.y_true,
            pairs.NEG: encoded.weight * (1 - encoded.y_true),
        }
    )
    assert all(len(a.levels) == n for a, n in zip(encoded.attributes, shape, strict=True))
    rows = rows.groupby([pairs.code(0), pairs.code(1), pairs.SCORE], as_index=False).sum()
    rows = rows.sort_values(pairs.SCORE, kind="stable", ignore_index=True)
    bases = [(0, 1), (0,)]
    expected = exact_auc(encoded, counts, KEEPS)
    assert expected is not None
    cuts = [0, *np.searchsorted(rows[pairs.SCORE], [0.3, 0.6]), len(rows)]  # three partitions
    for batch, chunk in [(len(rows), pairs.CHUNK), (7, 5), (13, 40)]:
        parts = [
            part
            for lo, hi in itertools.pairwise(cuts)
            for part in pairs.partition_pairs(_batches(rows, lo, hi, batch), bases, shape, chunk)
        ]
        # The partitions in reverse: `combine` puts them in score order.
        tables = pairs.combine(pd.concat(parts[::-1], ignore_index=True), bases, shape)
        for keep in KEEPS:
            name = tuple(counts.attributes[a] for a in keep)
            got = tables[0].auc(keep)
            np.testing.assert_allclose(got, expected[name], rtol=TOL, atol=1e-12, equal_nan=True)
        got = tables[1].auc((0,))
        np.testing.assert_allclose(got, expected[("regiao",)], rtol=TOL, atol=1e-12, equal_nan=True)


def _batches(rows: pd.DataFrame, lo: int, hi: int, size: int) -> Any:
    return (rows.iloc[i : min(i + size, hi)] for i in range(lo, hi, size))


def test_overlapping_score_ranges_are_refused() -> None:
    parts = pd.DataFrame(
        {"lo": [0.1, 0.5], "hi": [0.5, 0.9], "pairs": [[0.0], [0.0]], "pos": [[1.0], [1.0]],
         "neg": [[1.0], [1.0]]}
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="overlap"):
        pairs.combine(parts, [()], ())
