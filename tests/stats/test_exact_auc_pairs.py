"""The exact AUC from pair counts between the finest cells, against the per-grouping row method
and scikit-learn: ties across classes and cells, weights (zeros too), empty cells, groups without
positives, every intersection; with chunks and tie ranges made small so that the carries between
chunks, the padding of the last block and the ranges of tie blocks are all exercised."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from audit.stats import exact_auc as module
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_table

TOL = 1e-12
GROUPS = ["region", "band", "flag"]
KEEPS = [k for r in range(4) for k in itertools.combinations(range(3), r)]


def frame(seed: int, n: int, *, weighted: bool, tie_share: float) -> pd.DataFrame:
    """Three attributes (4 × 3 × 2 cells, one combination never occurs, one region without
    positives), full-precision scores of which `tie_share` sit on 7 shared values."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["r1", "r2", "r3", "r4"], n, p=[0.4, 0.3, 0.2, 0.1])
    band = rng.choice(["lo", "mid", "hi"], n)
    flag = rng.choice(["yes", "no"], n)
    flag[(region == "r2") & (band == "hi")] = "no"  # an empty finest cell
    y = (rng.random(n) < np.where(band == "hi", 0.6, 0.35)).astype(int)
    y[region == "r4"] = 0  # a group (and its intersections) without positives: NaN
    score = np.clip(0.35 + 0.2 * y + rng.normal(0, 0.2, n), 0, 1)
    tied = rng.random(n) < tie_share
    score[tied] = rng.choice(np.linspace(0.1, 0.9, 7), tied.sum())
    data = pd.DataFrame(
        {"region": region, "band": band, "flag": flag, "y": y, "d": 0, "score": score}
    )
    if weighted:
        w = rng.lognormal(0, 0.7, n)
        w[rng.random(n) < 0.05] = 0.0  # zero weights count for nothing
        data["w"] = w
    return data


def both_ways(data: pd.DataFrame, weight: str | None):
    encoded = encode_table(
        data, y_true="y", y_pred="d", groups=GROUPS, score="score", weight=weight
    )
    counts = count_groups(encoded)
    names = [tuple(counts.attributes[a] for a in keep) for keep in KEEPS]
    pairs = module._pair_auc(encoded, counts, KEEPS, names)
    rows = module._sorted_auc(encoded, counts, KEEPS, names)
    return counts, names, pairs, rows


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(module, "PAIR_CHUNK", module.BLOCK * 7)  # 112 rows: many chunks
    monkeypatch.setattr(module, "CHUNK", 48)  # two tie blocks per range at 24 cells


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("tie_share", [0.0, 0.02, 0.5])
@pytest.mark.parametrize("n", [997, 3001])  # neither a whole number of blocks nor of chunks
def test_pair_counts_equal_the_row_method_and_sklearn(small_chunks, weighted, tie_share, n):
    data = frame(n + int(tie_share * 100), n, weighted=weighted, tie_share=tie_share)
    weight = "w" if weighted else None
    counts, names, pairs, rows = both_ways(data, weight)
    for name, keep in zip(names, KEEPS, strict=True):
        assert pairs[name].shape == rows[name].shape
        np.testing.assert_allclose(pairs[name], rows[name], rtol=0, atol=TOL, equal_nan=True)
        for index in itertools.product(*(range(len(counts.levels[a])) for a in keep)):
            levels = [counts.levels[a][i] for a, i in zip(keep, index, strict=True)]
            rows_in = np.ones(len(data), dtype=bool)
            for column, level in zip(name, levels, strict=True):
                rows_in &= (data[column] == level).to_numpy()
            part = data[rows_in]
            sw = None if weight is None else part[weight]
            mine = pairs[name][index]
            has_both = part["y"].nunique() == 2 and (
                sw is None or (sw[part["y"] == 1].sum() > 0 and sw[part["y"] == 0].sum() > 0)
            )
            if not has_both:  # empty cell, no positives (r4), or weights only on one class
                assert np.isnan(mine), (name, levels)
                continue
            theirs = skm.roc_auc_score(part["y"], part["score"], sample_weight=sw)
            assert mine == pytest.approx(theirs, abs=TOL), (name, levels)
    assert np.isnan(pairs[("region",)][counts.levels[0].index("r4")])
    assert np.isnan(pairs[("region", "band", "flag")]).any()  # the empty cell


def test_exact_auc_takes_the_pair_counts_and_falls_back_beyond_the_cell_limit(monkeypatch):
    data = frame(5, 2000, weighted=True, tie_share=0.1)
    encoded = encode_table(data, y_true="y", y_pred="d", groups=GROUPS, score="score", weight="w")
    counts = count_groups(encoded)
    calls = []
    for path in ("_pair_auc", "_sorted_auc"):
        real = getattr(module, path)
        monkeypatch.setattr(
            module, path, lambda *a, _real=real, _path=path: calls.append(_path) or _real(*a)
        )
    fast = module.exact_auc(encoded, counts, KEEPS)
    monkeypatch.setattr(module, "MAX_PAIR_CELLS", 23)  # 24 cells: one too many
    slow = module.exact_auc(encoded, counts, KEEPS)
    assert calls == ["_pair_auc", "_sorted_auc"]
    assert fast is not None and slow is not None
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=0, atol=TOL, equal_nan=True)


@pytest.mark.parametrize(
    "score",
    [
        np.random.default_rng(1).random(5000),
        0.3 + 1e-9 * np.random.default_rng(2).random(5000),  # all in one bucket of the range
        np.round(np.random.default_rng(3).random(5000), 2),  # ties
        np.full(10, 0.25),
    ],
    ids=["spread", "narrow", "ties", "constant"],
)
def test_score_order_sorts_and_puts_positives_first_among_ties(score):
    y = (np.random.default_rng(4).random(score.size) < 0.4).astype(np.uint8)
    order, ties = module._score_order(score, y)
    assert np.array_equal(np.sort(order), np.arange(score.size))
    ordered = score[order]
    assert np.all(ordered[1:] >= ordered[:-1])
    key = np.lexsort((1 - y, score))  # by score, then positives first
    assert np.array_equal(ordered, score[key]) and np.array_equal(y[order], y[key])
    values, sizes = np.unique(score, return_counts=True)
    if ties is None:
        assert sizes.max() == 1
        return
    rows, block = ties
    assert np.array_equal(rows, np.flatnonzero(np.repeat(sizes > 1, sizes)))
    assert np.array_equal(ordered[rows], values[sizes > 1][block])
