"""`audit.disclosure`: the published form of an assessment and a verdict, record by record.

The scan over every sink is in test_every_sink.py; these tests pin each rule of the module on
small hand-made tables, and check that the gate's decisions never change.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import merge_bins, publish_verdict, suppress
from audit.gate import evaluate_policy
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment, ReliabilityBin

MINIMUM = 10


def frame(
    sizes: dict[str, int], seed: int = 0, factor: dict[str, int] | None = None
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = [g for g, n in sizes.items() for _ in range(n)]
    n = len(groups)
    out = pd.DataFrame(
        {
            "g": groups,
            "h": rng.choice(["p", "q"], n),
            "y": rng.integers(0, 2, n),
            "d": rng.integers(0, 2, n),
            "s": rng.uniform(0, 1, n),
        }
    )
    if factor is not None:
        out["f"] = rng.permutation([lv for lv, k in factor.items() for _ in range(k)])
    return out


def assessed(data: pd.DataFrame, **kw: object) -> Assessment:
    options: dict[str, object] = dict(
        y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=30, seed=1
    )
    options.update(kw)
    return assess(data, **options)  # type: ignore[arg-type]


def test_a_small_group_publishes_no_figure_and_says_why() -> None:
    full = assessed(frame({"big": 400, "mid": 300, "tiny": 3}), score="s")
    published = suppress(full)
    tiny = [g for g in published.groups if g.levels == ("tiny",)]
    assert tiny[0].suppressed and tiny[0].n_rows is None and tiny[0].weight is None
    for m in (m for m in published.metrics if m.levels == ("tiny",)):
        assert m.suppressed and m.value is None and m.ci_low is None
        assert (
            m.denominator_rows is None and m.undefined_reason == "suppressed: fewer than 10 people"
        )
    for d in (d for d in published.disparities if d.levels == ("tiny",)):
        assert d.suppressed and (d.value, d.p_value, d.p_adjusted, d.detectable) == (None,) * 4
    assert [b.suppressed for b in published.reliability if b.levels == ("tiny",)] == [True]
    assert all(
        x.suppressed
        for x in published.cross_auc
        if "tiny" in (*x.positive_levels, *x.negative_levels)
    )
    # A spread over the groups reads the tiny group's rate: suppressed too.
    parity = published.summary("demographic_parity_difference", ("g",))
    assert parity.suppressed and parity.value is None
    # The big groups keep every figure, exactly.
    for m in (m for m in published.metrics if m.levels == ("big",)):
        assert m == full.metric(m.metric, m.attributes, m.levels)


def test_a_metric_over_too_few_people_is_suppressed_in_a_large_group() -> None:
    data = frame({"big": 400, "mid": 300})
    data.loc[data["g"] == "mid", "y"] = 0
    data.loc[data.index[data["g"] == "mid"][:4], "y"] = 1  # 4 people with the outcome
    published = suppress(assessed(data))
    mid = {m.metric: m for m in published.metrics if m.levels == ("mid",)}
    assert mid["tpr"].suppressed and mid["fnr"].suppressed and mid["tpr"].value is None
    assert not mid["selection_rate"].suppressed and mid["selection_rate"].value is not None
    tpr_gap = published.disparity("tpr", ("g",), ("mid",))
    assert tpr_gap.suppressed and tpr_gap.value is None
    # aif360's average odds difference averages the TPR gap in: suppressed with it.
    odds = published.disparity("average_odds_difference", ("g",), ("mid",))
    assert odds.suppressed


def test_exactly_one_suppressed_size_is_protected_by_a_second() -> None:
    published = suppress(assessed(frame({"big": 400, "mid": 300, "small": 50, "tiny": 4})))
    sizes = {g.levels[0]: g.n_rows for g in published.groups}
    # The total minus big, mid and small would give tiny's 4: small's size is withheld too,
    # and only its size (its rates rest on 50 people).
    assert sizes == {"big": 400, "mid": 300, "small": None, "tiny": None}
    small = {m.metric: m for m in published.metrics if m.levels == ("small",)}
    assert not small["selection_rate"].suppressed and small["selection_rate"].value is not None
    assert small["selection_rate"].denominator_rows is None  # it equals the size
    assert "1 more group sizes are withheld" in published.notes[-1]


def test_intersection_cells_cannot_be_recovered_from_their_margins() -> None:
    data = frame({"big": 400, "mid": 60})
    data.loc[data.index[data["g"] == "mid"][:5], "h"] = "r"  # mid × r: 5 people
    data.loc[data.index[data["g"] == "big"][:30], "h"] = "r"
    published = suppress(assessed(data, groups=["g", "h"], intersections=2, reference={}))
    sizes = {(g.attributes, g.levels): g.n_rows for g in published.groups}
    relations = []
    for (attrs, levels), _ in sizes.items():
        if len(attrs) == 2:
            for keep in (0, 1):
                parent = ((attrs[keep],), (levels[keep],))
                row = [n for (a, lv), n in sizes.items() if a == attrs and lv[keep] == levels[keep]]
                relations.append([sizes[parent], *row])
    for attrs in {a for a, _ in sizes if len(a) == 1}:
        relations.append([n for (a, _), n in sizes.items() if a == attrs])
    assert sizes[(("g", "h"), ("mid", "r"))] is None
    assert all(r.count(None) != 1 for r in relations)


def test_reliability_bins_merge_until_each_holds_the_minimum() -> None:
    rng = np.random.default_rng(3)
    data = frame({"big": 300, "mid": 200})
    data["s"] = rng.beta(2, 5, len(data))  # the top bins hold a handful of people each
    full = assessed(data, score="s")
    published = suppress(full)
    for level in ("big", "mid"):
        before = sorted(
            (b for b in full.reliability if b.levels == (level,)), key=lambda b: b.bin_low
        )
        after = sorted(
            (b for b in published.reliability if b.levels == (level,)), key=lambda b: b.bin_low
        )
        assert len(after) < len(before)
        assert all(b.n_rows is not None and b.n_rows >= MINIMUM for b in after)
        assert after[0].bin_low == 0.0 and after[-1].bin_high == 1.0
        assert all(a.bin_high == b.bin_low for a, b in itertools.pairwise(after))
        assert sum(b.n_rows or 0 for b in after) == sum(b.n_rows or 0 for b in before)
        # The merged mean score is the mean over its people, as the rows give it.
        rows = data[data["g"] == level]
        for b in after:
            grid = np.minimum(np.rint(rows["s"] * 1000).astype(int) * 10 // 1000, 9)
            inside = rows[(grid >= round(b.bin_low * 10)) & (grid < round(b.bin_high * 10))]
            assert b.n_rows == len(inside)
            assert b.mean_score == pytest.approx(inside["s"].mean())
            assert b.observed_rate == pytest.approx(inside["y"].mean())


def test_merge_bins_by_hand() -> None:
    def b(low: float, n: int, mean: float | None) -> ReliabilityBin:
        return ReliabilityBin(
            attributes=("g",), levels=("a",), bin_low=low, bin_high=round(low + 0.2, 1),
            weight=float(n), mean_score=mean, observed_rate=None if mean is None else 0.5,
            n_rows=n,
        )  # fmt: skip

    bins = [b(0, 12, 0.1), b(0.2, 0, None), b(0.4, 3, 0.5), b(0.6, 8, 0.7), b(0.8, 1, 0.9)]
    merged = merge_bins(bins, 10)
    # 12 | 0 + 3 + 8 = 11, and the last person joins the bin before rather than standing alone.
    assert [(m.bin_low, m.bin_high, m.n_rows) for m in merged] == [(0, 0.2, 12), (0.2, 1.0, 12)]
    assert merged[1].mean_score == pytest.approx((3 * 0.5 + 8 * 0.7 + 0.9) / 12)
    assert merged[0] == bins[0]
    edge = merge_bins([b(0, 9, 0.1), b(0.2, 5, 0.3), b(0.4, 10, 0.5)], 10)
    assert [(m.bin_low, m.bin_high, m.n_rows) for m in edge] == [(0, 0.4, 14), (0.4, 0.6, 10)]
    # A group whose bins cannot reach the minimum together is one bin (suppress empties it).
    assert len(merge_bins([b(0, 2, 0.1), b(0.2, 3, 0.3)], 10)) == 1


def test_a_pooled_conditional_gap_cannot_give_back_a_suppressed_stratum() -> None:
    data = frame({"big": 600, "mid": 400}, factor={"e1": 500, "e2": 500})
    data.loc[data.index[data["g"] == "mid"][:3], "f"] = "rare"  # 3 of mid in the rare level
    data.loc[data.index[data["g"] == "big"][:40], "f"] = "rare"
    published = suppress(assessed(data, legitimate_factors=["f"]))
    mid = {
        w.factor_level: w
        for w in published.within_strata
        if w.levels == ("mid",) and w.metric == "selection_rate"
    }
    assert mid["rare"].suppressed and mid["rare"].difference is None
    # The pooled gap minus the published terms would give rare's back: the smaller other level
    # loses its difference too (its own rate, over ~200 people, stays).
    smaller = min(("e1", "e2"), key=lambda lv: mid[lv].n_rows or 0)
    assert sorted(lv for lv, w in mid.items() if w.difference is None) == sorted([smaller, "rare"])
    assert mid[smaller].value is not None and "withheld" in (mid[smaller].undefined_reason or "")
    (conditional,) = [
        c for c in published.conditional if c.levels == ("mid",) and c.metric == "selection_rate"
    ]
    assert not conditional.suppressed and conditional.value is not None


def test_a_conditional_gap_made_of_one_suppressed_term_is_suppressed() -> None:
    data = frame({"big": 600, "mid": 400}, factor={"e1": 500, "e2": 500})
    data["f"] = np.where(data["g"] == "mid", "e1", "e2")
    data.loc[data.index[data["g"] == "big"][:5], "f"] = "e1"  # the reference has 5 in e1
    published = suppress(assessed(data, legitimate_factors=["f"]))
    (conditional,) = [
        c for c in published.conditional if c.levels == ("mid",) and c.metric == "selection_rate"
    ]
    assert conditional.suppressed and conditional.value is None


def test_the_published_form_reads_back_and_is_idempotent() -> None:
    full = assessed(frame({"big": 400, "mid": 300, "tiny": 3}), score="s")
    published = suppress(full)
    assert suppress(published) is published
    assert Assessment.from_json(published.to_json()) == published
    assert not full.disclosure_controlled and published.disclosure_controlled
    # A document written before these fields existed still reads, as not yet controlled.
    old = json.loads(full.to_json())
    del old["disclosure_controlled"]
    del old["settings"]["min_cell_size"]
    for g in old["groups"]:
        del g["suppressed"]
    read = Assessment.from_json(json.dumps(old))
    assert not read.disclosure_controlled and read.settings.min_cell_size == MINIMUM


def test_the_minimum_is_configurable() -> None:
    data = frame({"big": 400, "mid": 300, "small": 25})
    assert not any(g.suppressed for g in suppress(assessed(data)).groups)
    strict = suppress(assessed(data, min_cell_size=30))
    assert [g.levels for g in strict.groups if g.suppressed] == [("small",)]


@pytest.mark.parametrize("seed", range(4))
def test_the_gate_decides_on_full_precision_and_publication_changes_no_decision(seed: int) -> None:
    data = frame({"big": 700, "mid": 250, "eight": 8, "three": 3}, seed=seed)
    data.loc[data["g"] == "mid", "d"] = (np.random.default_rng(seed).random(250) < 0.2).astype(int)
    policy = PolicySpec.model_validate(
        {
            "rules": [
                {"id": "eo", "metric": "tpr", "kind": "difference", "max_abs": 0.1},
                {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.1},
                {"id": "sig", "no_significant_disparity": ["fpr"]},
            ]
        }
    )
    # min_group_size 5: the group of 8 counts for the gate although it is never published.
    full = assessed(data, min_group_size=5)
    verdict = evaluate_policy(policy, full)
    published = suppress(full)
    shown = publish_verdict(verdict, published)
    assert shown.status == verdict.status and shown.release_allowed == verdict.release_allowed
    for before, after in zip(verdict.rules, shown.rules, strict=True):
        assert (after.status, after.evaluated, after.reason) == (
            before.status,
            before.evaluated,
            before.reason,
        )
        assert [g.status for g in after.groups] == [g.status for g in before.groups]
        assert [f for f in after.findings if f.decides] != [] or not any(
            f.decides for f in before.findings
        )
        for g in after.groups:
            if g.levels in (("eight",), ("three",)):
                assert g.value is None and g.ci_low is None and g.detectable is None
        for f in after.findings:
            assert f.decides or f.levels not in (("eight",), ("three",))
            if f.levels == ("eight",):
                assert f.value is None and "figures are not published" in f.sentence
    # The gate on the published form would not see the small groups: that is why it never does.
    assert replace(full, disclosure_controlled=False) == full


def test_long_labels_are_bounded_in_sentences_only() -> None:
    long = "x" * 5000
    data = frame({"big": 400, long: 300})
    data.loc[data["g"] == long, "d"] = 1
    full = assessed(data)
    policy = PolicySpec.model_validate(
        {"rules": [{"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.1}]}
    )
    shown = publish_verdict(evaluate_policy(policy, full), suppress(full))
    (finding,) = shown.rules[0].findings
    assert finding.levels == (long,)  # the record keeps the exact label
    assert len(finding.sentence) < 400 and "…" in finding.sentence
