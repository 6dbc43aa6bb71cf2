"""Property tests on random inputs: the count arrays and rates obey their definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.metrics.definitions import RATE_METRICS, confusion_metrics
from audit.stats.counts import count_groups
from audit.stats.encoding import encode_arrays

rows = st.integers(min_value=2, max_value=60)


@st.composite
def decision_tables(draw):
    n = draw(rows)
    ints = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    labels = st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)
    weights = st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n)
    frame = pd.DataFrame({"g": draw(labels), "h": draw(labels)})
    # At least two levels per attribute, as the audit requires.
    frame.loc[0, ["g", "h"]] = "a"
    frame.loc[1, ["g", "h"]] = "b"
    w = np.array(draw(weights))
    w[0] = max(w[0], 0.5)
    return np.array(draw(ints)), np.array(draw(ints)), frame, w


@settings(max_examples=150, deadline=None)
@given(decision_tables())
def test_counts_sum_to_rows_and_weights(table):
    y, d, groups, w = table
    counts = count_groups(encode_arrays(y, d, groups, weight=w))
    assert counts.n.sum() == len(y)
    assert np.isclose(counts.w.sum(), w.sum())
    # Each row sits in exactly its own cell.
    assert counts.n[..., 1, 1].sum() == int(((y == 1) & (d == 1)).sum())
    assert counts.n[..., 0, 1].sum() == int(((y == 0) & (d == 1)).sum())


@settings(max_examples=150, deadline=None)
@given(decision_tables())
def test_rates_are_shares_or_undefined_exactly_when_the_denominator_is_zero(table):
    y, d, groups, w = table
    counts = count_groups(encode_arrays(y, d, groups, weight=w))
    values = confusion_metrics(counts.w)
    for metric in RATE_METRICS:
        _, den = metric.parts(counts.w)
        v = values[metric.name]
        assert np.array_equal(np.isnan(v), den == 0)
        assert np.all((v[~np.isnan(v)] >= 0) & (v[~np.isnan(v)] <= 1 + 1e-12))
