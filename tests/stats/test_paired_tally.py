"""Paired comparisons from an aggregated table (`Tally`), as the Spark engine hands it over.

One row per combination of group values, outcome and both models' decisions, with the rows it
stands for (and their weight sums): `paired_disparities` must give what it gives on the rows,
for every metric, group, replicate and the paired changes read from them. The aggregation is
made here with pandas, as `audit.spark.counting.aggregate` makes it on the cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.stats.encoding import Tally
from audit.stats.paired import PairedDisparities, paired_disparities, regression_changes

ROWS, WEIGHT_SQ = "__rows", "__weight_sq"
METRICS = [("selection_rate", "difference"), ("tpr", "ratio"), ("fpr", "difference")]
REFERENCES = {("sector",): ("zorg",), ("band",): ("b",), ("sector", "band"): ("zorg", "b")}


def _people(seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 1500
    sector = rng.choice(np.array(["zorg", "bouw", "horeca", None], dtype=object), n,
                        p=[0.45, 0.3, 0.2, 0.05])  # fmt: skip
    y = rng.random(n) < 0.4
    base = rng.random(n) < np.where(y, 0.6, 0.3)
    # The candidate turns down a third of the selected in construction: a paired worsening.
    cand = np.where(rng.random(n) < 0.1, rng.random(n) < 0.45, base)
    cand = np.where((sector == "bouw") & cand & (rng.random(n) < 0.33), False, cand)
    return pd.DataFrame(
        {
            "sector": sector,
            "band": rng.choice(["a", "b", "c"], n),
            "y": y.astype(int),
            "cand": cand.astype(np.int8),
            "base": base.astype(np.int8),
            "w": rng.gamma(2.0, 1.0, n),
        }
    )


def _aggregated(people: pd.DataFrame, weighted: bool) -> pd.DataFrame:
    by = ["sector", "band", "y", "cand", "base"]
    sums = {ROWS: ("y", "size")}
    if weighted:
        sums |= {"w": ("w", "sum"), WEIGHT_SQ: ("w", lambda w: float((w**2).sum()))}
    return people.groupby(by, dropna=False).agg(**sums).reset_index()


def _paired(table: pd.DataFrame, weighted: bool, tally: Tally | None) -> PairedDisparities:
    return paired_disparities(
        table, y_true="y", candidate="cand", baseline="base", groups=["sector", "band"],
        intersections=2, references=REFERENCES, metrics=METRICS,
        weight="w" if weighted else None, n_boot=150, seed=9, tally=tally,
    )  # fmt: skip


@pytest.mark.parametrize("weighted", [False, True])
def test_the_aggregated_table_gives_the_paired_disparities_of_the_rows(weighted: bool) -> None:
    people = _people()
    table = _aggregated(people, weighted)
    assert len(table) < len(people) / 4  # the point: far fewer rows than people
    tally = Tally(rows=ROWS, weight_sq=WEIGHT_SQ if weighted else None)
    rows, counted = _paired(people, weighted, None), _paired(table, weighted, tally)
    assert counted.weighted is weighted
    assert len(counted.entries) == len(rows.entries) == 3 * len(METRICS)
    for a, b in zip(rows.entries, counted.entries, strict=True):
        assert (a.attributes, a.levels, a.reference, a.metric, a.kind) == (
            b.attributes, b.levels, b.reference, b.metric, b.kind,
        )  # fmt: skip
        np.testing.assert_array_equal(a.n_rows, b.n_rows)
        for field in ("weight", "candidate", "baseline", "candidate_boot", "baseline_boot"):
            x, y = getattr(a, field), getattr(b, field)
            if weighted:  # sums of weights added in another order
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)
            else:
                np.testing.assert_array_equal(x, y)
    # The missing sector is a group of its own, and the worsening in construction is found.
    assert ("unknown",) in counted.get("selection_rate", "difference", ["sector"]).levels
    changes = regression_changes(
        counted, "selection_rate", "difference", -0.1, np.inf, margin=0.0, alpha=0.05,
        attributes=[["sector"]],
    )  # fmt: skip
    (bouw,) = [c for c in changes if c.levels == ("bouw",)]
    assert bouw.change is not None and bouw.change > 0.05
    assert bouw.p_value is not None and bouw.p_value < 0.01


def test_a_baseline_that_decides_alike_for_everyone_counts_from_the_aggregated_table() -> None:
    """The baseline axis is added by hand when it has one value (`count_groups` refuses one):
    the rows each row stands for must be kept there too."""
    people = _people().assign(base=np.int8(1))
    table = _aggregated(people, weighted=False)
    counted = _paired(table, False, Tally(rows=ROWS))
    rows = _paired(people, False, None)
    for a, b in zip(rows.entries, counted.entries, strict=True):
        np.testing.assert_array_equal(a.n_rows, b.n_rows)
        np.testing.assert_array_equal(a.baseline_boot, b.baseline_boot)
