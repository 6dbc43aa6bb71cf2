"""The Spark engine's assessment is the NumPy engine's, on the same rows (issue 11).

Each table here is written to Parquet once; the NumPy engine reads it with pandas and the Spark
engine with Spark, as an analyst's two runs would. Every record must agree: groups, levels and
their order, counts, reliability flags, references, notes exactly; every figure to 1e-9
relative (weighted sums are added in another order on the cluster). The tables are ones we did
not make: Dutch and French names, text labels, missing values, 400 rows, weights, numeric
factors and attributes cut at quantiles, tracks, no outcome, and scores on the edges of the
histogram's bins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.spark.assess import assess_spark
from audit.spark.tables import pandas_dtypes
from audit.spark.tables import read_table as read_spark_table
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.tables import read_table as read_csv_table

pytestmark = pytest.mark.xdist_group("spark")


def _both(
    spark: Any, table: pd.DataFrame, tmp_path: Path, **options: Any
) -> tuple[Assessment, Assessment]:
    path = tmp_path / "table.parquet"
    table.to_parquet(path)
    columns = [*options["groups"], *options.get("legitimate_factors", ())]
    in_memory = assess(pd.read_parquet(path), **options)
    on_spark = assess_spark(
        spark.read.parquet(str(path)), dtypes=pandas_dtypes(path, columns), **options
    )
    return in_memory, on_spark


def _dutch(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    history = rng.choice(["ja", "nee", None], n, p=[0.25, 0.65, 0.10])
    housing = rng.choice(["dakloos", "stabiel", "onzeker"], n, p=[0.1, 0.7, 0.2])
    work = rng.random(n) < 0.5
    score = np.clip(0.35 + 0.3 * work - 0.1 * (history == "ja") + rng.normal(0, 0.2, n), 0, 1)
    return pd.DataFrame(
        {
            "psychische_voorgeschiedenis": history,
            "woonsituatie": housing,
            "werk_binnen_6m": work,  # booleans
            "begeleiding": np.where(score > 0.5, "ja", "nee"),  # text labels
            "kans": score,  # full decimals: the exact AUC runs on the cluster
            "leeftijd": rng.integers(18, 66, n),
        }
    )


def test_a_dutch_table_of_400_rows_with_missing_values_and_intersections(
    spark: Any, tmp_path: Path, differences: Any
) -> None:
    table = _dutch(400, 1)
    a, b = _both(
        spark,
        table,
        tmp_path,
        y_true="werk_binnen_6m",
        y_pred="begeleiding",
        score="kans",
        pos_label="ja",
        groups=["psychische_voorgeschiedenis", "woonsituatie"],
        intersections=2,
        n_boot=100,
        min_group_size=20,
    )
    assert differences(a.to_dict(), b.to_dict()) == []
    assert "unknown" in {
        g.levels[0] for g in b.groups if g.attributes == ("psychische_voorgeschiedenis",)
    }
    aucs = [m.value for m in b.metrics if m.metric == "auc" and m.value is not None]
    assert aucs and all(0 <= v <= 1 for v in aucs)  # the exact AUC was computed, not left out


def test_weights_numeric_factors_binned_attributes_and_declared_level_order(
    spark: Any, tmp_path: Path, differences: Any
) -> None:
    rng = np.random.default_rng(2)
    n = 3000
    table = _dutch(n, 2)
    # A category order that is not alphabetical, as pandas writes it to Parquet.
    table["digitale_vaardigheid"] = pd.Categorical(
        rng.choice(["laag", "midden", "hoog"], n), categories=["laag", "midden", "hoog"]
    )
    table["opleiding"] = rng.choice(["lager", "secundair", "hoger"], n)
    table["gewicht"] = rng.gamma(2.0, 0.5, n)
    options: dict[str, Any] = dict(
        y_true="werk_binnen_6m",
        y_pred="begeleiding",
        score="kans",
        weight="gewicht",
        pos_label="ja",
        groups=["digitale_vaardigheid", "woonsituatie", "leeftijd"],
        group_bins={"leeftijd": 3},
        legitimate_factors=["opleiding", "leeftijd"],
        intersections=3,
        n_boot=100,
    )
    # `leeftijd` is also a group, so it keeps its groups as a factor: use a copy as the factor.
    table["leeftijd_factor"] = table["leeftijd"]
    options["legitimate_factors"] = ["opleiding", "leeftijd_factor"]
    a, b = _both(spark, table, tmp_path, **options)
    assert differences(a.to_dict(), b.to_dict()) == []
    levels = [g.levels[0] for g in b.groups if g.attributes == ("digitale_vaardigheid",)]
    assert levels == ["laag", "midden", "hoog"]  # declared order, not sorted
    assert any("cut at its quantiles" in note for note in b.notes)
    assert b.conditional and b.within_strata  # the factors were used


@pytest.mark.parametrize("grid", [True, False], ids=["on the grid", "half-way between points"])
def test_scores_on_the_edges_of_the_histogram_bins(
    spark: Any, tmp_path: Path, differences: Any, grid: bool
) -> None:
    """Scores exactly on k/1000 (the histogram is exact), and half-way between two points,
    where rounding goes to the even point on both engines (and the exact AUC takes over)."""
    rng = np.random.default_rng(3)
    n = 2000
    k = rng.integers(0, 1000, n)
    score = k / 1000 if grid else (k + 0.5) / 1000
    score[:4] = [0.0, 1.0, 0.0005, 0.9995] if not grid else [0.0, 1.0, 0.001, 0.999]
    y = (rng.random(n) < score).astype(int)
    table = pd.DataFrame(
        {
            "situation": rng.choice(["sans-abri", "logé", "locataire"], n),
            "issue": y,
            "orienté": (score > 0.6).astype(int),
            "note": score,
        }
    )
    a, b = _both(
        spark,
        table,
        tmp_path,
        y_true="issue",
        y_pred="orienté",
        score="note",
        groups=["situation"],
        n_boot=50,
    )
    assert differences(a.to_dict(), b.to_dict()) == []


def test_a_log_of_tracks_with_no_outcome_and_no_binary_decision(
    spark: Any, tmp_path: Path, differences: Any
) -> None:
    rng = np.random.default_rng(4)
    n = 1500
    table = pd.DataFrame(
        {
            "antécédents_psy": rng.choice(["oui", "non"], n, p=[0.3, 0.7]),
            "logement": rng.choice(["stable", "instable", None], n),
            "parcours": rng.choice(["emploi", "formation", "atelier protégé", "soins"], n),
            "niveau": rng.choice(["bas", "moyen", "haut"], n),
        }
    )
    a, b = _both(
        spark,
        table,
        tmp_path,
        y_true=None,
        y_pred=None,
        track="parcours",
        groups=["antécédents_psy", "logement"],
        intersections=2,
        legitimate_factors=["niveau"],
        n_boot=50,
    )
    assert differences(a.to_dict(), b.to_dict()) == []
    assert b.tracks and b.track_conditional


def test_decisions_without_outcome_with_tracks_beside_them(
    spark: Any, tmp_path: Path, differences: Any
) -> None:
    rng = np.random.default_rng(5)
    n = 800
    table = pd.DataFrame(
        {
            "sans_abri": rng.choice([True, False], n, p=[0.2, 0.8]),
            "orientation": rng.choice(["emploi", "atelier"], n),
            "retenu": rng.integers(0, 2, n),
            # An "unknown" level already there, and missing values: one group, on both engines.
            "numérique": rng.choice(["faible", "fort", "unknown", None], n),
            # Integers with missing values: pandas keeps them integers, Spark makes them floats.
            "année": pd.array(rng.choice([2023, 2024, None], n), dtype="Int64"),
        }
    )
    a, b = _both(
        spark,
        table,
        tmp_path,
        y_true=None,
        y_pred="retenu",
        track="orientation",
        groups=["sans_abri", "numérique", "année"],
        intersections=2,
        n_boot=50,
    )
    assert differences(a.to_dict(), b.to_dict()) == []
    assert sum(g.levels == ("unknown",) for g in b.groups if g.attributes == ("numérique",)) == 1
    assert [g.levels[0] for g in b.groups if g.attributes == ("année",)] == [
        "2023",
        "2024",
        "unknown",
    ]


def test_a_csv_file_read_by_each_engine_s_own_reader(
    spark: Any, tmp_path: Path, differences: Any
) -> None:
    """CSV has no types: pandas and Spark each infer theirs (integers with gaps, booleans, text)."""
    table = _dutch(600, 7)
    table.loc[::7, "leeftijd"] = None
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    options: dict[str, Any] = dict(
        y_true="werk_binnen_6m",
        y_pred="begeleiding",
        score="kans",
        pos_label="ja",
        groups=["woonsituatie", "leeftijd"],
        group_bins={"leeftijd": 4},
        n_boot=50,
    )
    a = assess(read_csv_table(path, subject="data"), **options)
    b = assess_spark(read_spark_table(spark, path), **options)
    assert differences(a.to_dict(), b.to_dict()) == []


def test_the_comparison_would_see_a_difference(
    spark: Any, tmp_path: Path, differences: Any
) -> None:
    """The check above is not blind: one person's decision changed on one side shows."""
    table = _dutch(400, 6)
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    options: dict[str, Any] = dict(
        y_true="werk_binnen_6m",
        y_pred="begeleiding",
        pos_label="ja",
        groups=["woonsituatie"],
        n_boot=0,
    )
    changed = table.copy()
    changed.loc[0, "begeleiding"] = "nee" if table.loc[0, "begeleiding"] == "ja" else "ja"
    a = assess(changed, **options)
    b = assess_spark(spark.read.parquet(str(path)), **options)
    assert differences(a.to_dict(), b.to_dict()) != []
