"""`assess` of an aggregated table (`Tally`) equals `assess` of its rows (no Spark needed).

Another engine hands the NumPy engine one row per combination of the values the audit reads,
with the rows it stands for and their sums (`audit.spark.counting.aggregate`). The same
aggregation is made here with pandas, so that what the multiplicities change (counts, weights,
squared weights, score sums, quantile bins, factor checks, tracks) is held to the rows' result
in a second, without a JVM. Spark's own aggregation is held to it in tests/spark.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess
from audit.stats.encoding import Tally
from audit.stats.factors import quantile_bins

ROWS, WEIGHT_SQ, SCORE_SUM = "__rows", "__w2", "__s"
BINS = 1000


def _people(n: int = 8000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    work = rng.random(n) < 0.45
    return pd.DataFrame(
        {
            "huisvesting": rng.choice(
                np.array(["dakloos", "stabiel", None], dtype=object), n, p=[0.15, 0.75, 0.1]
            ),
            "leeftijd": rng.choice(np.arange(18, 66, 4), n),
            "opleiding": rng.choice(["laag", "midden", "hoog"], n),
            "werk": work.astype(int),
            "besluit": (rng.random(n) < np.where(work, 0.6, 0.3)).astype(int),
            # on the score grid (steps of 0.05), so the histogram's AUC is exact on both sides
            "kans": np.round(np.clip(0.3 + 0.3 * work + rng.normal(0, 0.2, n), 0, 1) * 20) / 20,
            "gewicht": rng.gamma(2.0, 0.5, n),
            "traject": rng.choice(["werk", "opleiding", "zorg"], n),
        }
    )


def _aggregated(
    people: pd.DataFrame, by: list[str], *, score: bool, weighted: bool
) -> pd.DataFrame:
    table = people.assign(__point=np.rint(people["kans"] * BINS).astype(int)) if score else people
    keys = [*by, "__point"] if score else by
    sums: dict[str, Any] = {ROWS: ("werk", "size")}
    if weighted:
        table = table.assign(__w2=table["gewicht"] ** 2)
        sums |= {"gewicht": ("gewicht", "sum"), WEIGHT_SQ: ("__w2", "sum")}
    if score:
        table = table.assign(__sw=table["kans"] * (table["gewicht"] if weighted else 1.0))
        sums |= {SCORE_SUM: ("__sw", "sum")}
    out = table.groupby(keys, dropna=False, observed=True).agg(**sums).reset_index()
    if score:
        out["kans"] = out.pop("__point") / BINS
    return out


@pytest.mark.parametrize("weighted", [False, True], ids=["counts", "weights"])
def test_an_aggregated_table_is_assessed_as_its_rows(weighted: bool) -> None:
    people = _people()
    options: dict[str, Any] = dict(
        y_true="werk",
        y_pred="besluit",
        score="kans",
        weight="gewicht" if weighted else None,
        groups=["huisvesting", "leeftijd"],
        group_bins={"leeftijd": 3},
        legitimate_factors=["opleiding"],
        intersections=2,
        track="traject",
        n_boot=60,
    )
    by = ["huisvesting", "leeftijd", "opleiding", "traject", "werk", "besluit"]
    table = _aggregated(people, by, score=True, weighted=weighted)
    assert len(table) < len(people) and table[ROWS].max() > 3  # an aggregate, not the rows
    tally = Tally(rows=ROWS, weight_sq=WEIGHT_SQ if weighted else None, score_sum=SCORE_SUM)
    a = assess(people, **options).to_dict()
    b = assess(table, tally=tally, **options).to_dict()
    assert _close(a, b)


def test_a_track_only_log_aggregated_is_assessed_as_its_rows() -> None:
    people = _people(seed=12)
    options: dict[str, Any] = dict(
        y_true=None,
        y_pred=None,
        track="traject",
        groups=["huisvesting"],
        legitimate_factors=["opleiding"],
        n_boot=40,
    )
    table = _aggregated(
        people, ["huisvesting", "opleiding", "traject"], score=False, weighted=False
    )
    a = assess(people, **options).to_dict()
    b = assess(table, tally=Tally(rows=ROWS), **options).to_dict()
    assert _close(a, b)


def test_an_identifier_as_a_factor_is_still_refused_when_aggregated() -> None:
    """The factor check counts people, not rows of the aggregate: one person per value."""
    people = _people(400).assign(dossier=[f"d{i}" for i in range(400)])
    table = _aggregated(
        people, ["huisvesting", "dossier", "werk", "besluit"], score=False, weighted=False
    )
    options: dict[str, Any] = dict(
        y_true="werk",
        y_pred="besluit",
        groups=["huisvesting"],
        legitimate_factors=["dossier"],
        n_boot=0,
    )
    messages = []
    for frame, tally in ((people, None), (table, Tally(rows=ROWS))):
        with pytest.raises(Exception) as caught:
            assess(frame, tally=tally, **options)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "a different value in each of the 400 rows" in messages[1]


def test_quantile_bins_of_values_with_their_multiplicities() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        values = rng.choice(np.arange(30.0), size=rng.integers(2, 20), replace=False)
        rows = rng.integers(0, 6, values.size)
        rows[0] += 1
        expanded = pd.Series(np.repeat(values, rows), name="x")
        for count in (2, 3, 4, 5):
            whole = quantile_bins(expanded, count)
            weighted = quantile_bins(pd.Series(values, name="x"), count, rows)
            assert list(whole.cat.categories) == list(weighted.cat.categories)
            assert list(np.repeat(weighted.astype(str).to_numpy(), rows)) == list(whole.astype(str))


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return set(a) == set(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return bool(
            a == b or (np.isnan(a) and np.isnan(b)) or np.isclose(a, b, rtol=1e-9, atol=1e-12)
        )
    return bool(a == b)


def test_a_factor_level_held_by_one_aggregated_row_is_many_people() -> None:
    """Each level of the factor is one row of the aggregate, standing for 40 people: a factor
    shared by many, not an identifier."""
    people = pd.DataFrame(
        {
            "groep": ["a", "b", "a", "b"] * 40,
            "regio": ["noord", "zuid", "oost", "west"] * 40,
            "werk": [1, 0, 0, 1] * 40,
            "besluit": [1, 1, 0, 0] * 40,
        }
    )
    table = _aggregated(people, ["groep", "regio", "werk", "besluit"], score=False, weighted=False)
    assert len(table) == 4 and set(table[ROWS]) == {40}
    options: dict[str, Any] = dict(
        y_true="werk",
        y_pred="besluit",
        groups=["groep"],
        legitimate_factors=["regio"],
        n_boot=0,
        min_group_size=10,
    )
    a = assess(people, **options).to_dict()
    b = assess(table, tally=Tally(rows=ROWS), **options).to_dict()
    assert _close(a, b)
