"""`audit.disclosure` and `audit.linear_disclosure` on tables built by hand.

Each test builds a small frame whose small cells are known by construction (a group of 4, a
group with 4 people who have the outcome, a reference cell of 5), runs `assess`, and checks
exactly which published figures are suppressed or withheld, which are kept unchanged, and what
the reason strings say. The expected sets are derived from the rules of the module docstring
and from counts taken on the frame itself, never from the module's output.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import merge_bins, publish_verdict, suppress
from audit.gate import evaluate_policy
from audit.linear_disclosure import in_row_space
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment, ReliabilityBin

MINIMUM = 10
WHY = "suppressed: fewer than 10 people"


def _frame(sizes: dict[str, int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = [g for g, n in sizes.items() for _ in range(n)]
    n = len(groups)
    return pd.DataFrame(
        {
            "g": groups,
            "y": rng.integers(0, 2, n),
            "d": rng.integers(0, 2, n),
            "s": rng.uniform(0, 1, n),
            "t": rng.choice(["a", "b", "c"], n),
            "f": rng.choice(["e1", "e2"], n),
        }
    )


def _tracks(data: pd.DataFrame, **kw: object) -> Assessment:
    options: dict[str, object] = dict(
        y_true=None, y_pred=None, groups=["g"], track="t", reference={"g": "big"}, n_boot=20,
        seed=1,
    )  # fmt: skip
    options.update(kw)
    return assess(data, **options)  # type: ignore[arg-type]


def _pooled_frame() -> pd.DataFrame:
    """mid (400) lies wholly in level e1, where the reference big has only 5 people: mid's
    conditional comparison is its e1 gap alone, and the reference's e1 cell is too small."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": ["big"] * 600 + ["mid"] * 400, "y": rng.integers(0, 2, 1000)})
    data["f"] = np.where(data["g"] == "mid", "e1", "e2")
    data.loc[data.index[data["g"] == "big"][:5], "f"] = "e1"
    mid = data["g"] == "mid"
    data["d"] = np.where(mid, rng.random(1000) < 0.8, rng.random(1000) < 0.2).astype(int)
    data["t"] = np.where(
        mid, rng.choice(["a", "b"], 1000, p=[0.8, 0.2]), rng.choice(["a", "b"], 1000)
    )
    data.loc[data.index[data["g"] == "big"][:5], ["d", "t"]] = [0, "b"]
    return data


# --- cross-AUC ---------------------------------------------------------------------------------


def test_cross_auc_cells_are_suppressed_exactly_where_positives_or_negatives_are_few() -> None:
    """A cross-AUC cell (positives of P against negatives of N) is withheld when P has fewer
    than 10 people with the outcome, N fewer than 10 without it, or either group is small;
    every other cell keeps its value."""
    data = _frame({"big": 300, "fewpos": 200, "fewneg": 200, "tiny": 4}, seed=2)
    data.loc[data["g"] == "fewpos", "y"] = 0
    data.loc[data.index[data["g"] == "fewpos"][:4], "y"] = 1  # 4 positives
    data.loc[data["g"] == "fewneg", "y"] = 1
    data.loc[data.index[data["g"] == "fewneg"][:4], "y"] = 0  # 4 negatives
    full = assess(
        data, y_true="y", y_pred="d", score="s", groups=["g"], reference={"g": "big"}, n_boot=20,
        seed=1,
    )  # fmt: skip
    published = suppress(full)
    positives = data[data["y"] == 1].groupby("g").size().to_dict()
    negatives = data[data["y"] == 0].groupby("g").size().to_dict()
    sizes = data.groupby("g").size().to_dict()
    assert len(published.cross_auc) == len(full.cross_auc) > 0
    seen = set()
    for before, after in zip(full.cross_auc, published.cross_auc, strict=True):
        (p,), (n,) = after.positive_levels, after.negative_levels
        few = (
            positives.get(p, 0) < MINIMUM
            or negatives.get(n, 0) < MINIMUM
            or sizes[p] < MINIMUM
            or sizes[n] < MINIMUM
        )
        seen.add((p, n, few))
        if few:
            assert after.suppressed and after.value is None, (p, n)
        else:
            assert not after.suppressed and after.value == before.value is not None, (p, n)
    # The frame holds each kind of cell: one judged by positives only, by negatives only, by
    # size only (tiny has positives and negatives under 10 anyway), and cells that are kept.
    assert ("fewpos", "big", True) in seen and ("big", "fewneg", True) in seen
    assert ("fewneg", "fewpos", False) in seen and ("big", "big", False) in seen
    assert ("fewneg", "big", False) in seen and ("big", "fewpos", False) in seen


# --- track shares ------------------------------------------------------------------------------


def test_a_small_groups_track_shares_publish_nothing_and_say_why() -> None:
    """Every figure of a track share of a group of 4 is withheld, its intervals' methods are
    'none', and the reason names the minimum; a large group keeps its shares, but its count
    and size go when its size is withheld (400 + 200 + 4: the total minus big would give mid)."""
    # min_group_size 3: the group of 4 is compared (and corrected) in memory, never published.
    full = _tracks(_frame({"big": 300, "mid": 200, "tiny": 4}), min_group_size=3,
                   min_denominator=3)  # fmt: skip
    published = suppress(full)
    for before, after in zip(full.tracks, published.tracks, strict=True):
        (level,) = after.levels
        if level == "tiny":
            assert after.suppressed and after.undefined_reason == WHY
            assert (after.n_rows, after.count, after.share, after.ci_low, after.ci_high) == (
                (None,) * 5
            )
            assert after.ci_method == "none"
            assert (after.difference, after.ratio, after.p_value, after.p_adjusted) == (None,) * 4
            assert (after.significant, after.detectable) == (None, None)
            assert after.difference_ci_method == after.ratio_ci_method == "none"
        elif level == "mid":
            assert not after.suppressed and after.undefined_reason is None
            assert after.n_rows is None and after.count is None  # count / share = size
            assert after.share == before.share is not None
            assert after.difference == before.difference is not None
            assert after.difference_ci_method == before.difference_ci_method != "none"
        else:
            assert after == before and after.n_rows == 300
    # The tiny group's full record had figures to lose (the suppression is not a no-op).
    tiny = [t for t in full.tracks if t.levels == ("tiny",)]
    assert all(t.n_rows == 4 and t.share is not None for t in tiny)
    assert all(t.p_adjusted is not None and t.significant is not None for t in tiny)
    assert any(t.difference_ci_method != "none" for t in tiny)


def test_a_small_reference_withholds_every_track_comparison_but_not_the_shares() -> None:
    """With the group of 4 as the reference, the other groups' shares stay but their
    differences, ratios and tests are withheld (with the share they would give the
    reference's back), and the reason says it is the reference that is small."""
    full = _tracks(_frame({"big": 300, "mid": 200, "tiny": 4}), reference={"g": "tiny"},
                   min_group_size=3, min_denominator=3)  # fmt: skip
    published = suppress(full)
    compared = 0
    for before, after in zip(full.tracks, published.tracks, strict=True):
        if after.levels == ("tiny",):
            assert after.suppressed and after.share is None
            continue
        assert before.reference_levels == ("tiny",) and before.difference is not None
        assert before.p_adjusted is not None and before.significant is not None
        compared += 1
        assert not after.suppressed and after.share == before.share
        assert after.undefined_reason == f"reference group: {WHY}"
        assert (after.difference, after.ratio, after.p_value, after.significant) == (None,) * 4
        assert after.p_adjusted is None and after.detectable is None
        assert after.difference_ci_method == after.ratio_ci_method == "none"
    assert compared == 6  # big and mid, three tracks each


# --- conditional track comparisons -------------------------------------------------------------


def test_conditional_track_comparisons_of_a_small_group_or_reference_are_suppressed() -> None:
    """A conditional track comparison of a group of 4, or against a reference of 4, is
    suppressed; a large group against a large reference keeps its comparison exactly."""
    data = _frame({"big": 300, "mid": 200, "tiny": 4})
    full = _tracks(data, legitimate_factors=["f"])
    published = suppress(full)
    kept = 0
    for before, after in zip(full.track_conditional, published.track_conditional, strict=True):
        if after.levels == ("tiny",):
            assert after.suppressed and after.value is None and after.coverage is None
        else:
            assert after == before and not after.suppressed and after.value is not None
            kept += 1
    assert kept == 3
    against_tiny = _tracks(data, legitimate_factors=["f"], reference={"g": "tiny"},
                           min_group_size=3)  # fmt: skip
    rows = [c for c in against_tiny.track_conditional if c.reference_levels == ("tiny",)]
    assert rows and any(c.value is not None for c in rows)
    assert all(
        c.suppressed and c.value is None
        for c in suppress(against_tiny).track_conditional
        if c.reference_levels == ("tiny",)
    )


def test_a_conditional_track_comparison_made_of_one_withheld_term_is_suppressed() -> None:
    """mid's conditional share gap is its gap in level e1 alone, where the reference has 5
    people: publishing it would give back the withheld within-level gap, so every figure of
    it goes, although mid (400) and big (600) are both large."""
    full = _tracks(_pooled_frame(), legitimate_factors=["f"])
    published = suppress(full)
    by_track = {
        c.track: (c, p)
        for c, p in zip(full.track_conditional, published.track_conditional, strict=True)
    }
    assert set(by_track) == {"a", "b"}
    for before, after in by_track.values():
        assert before.value is not None and before.ci_method != "none"
        assert before.p_value is not None and before.coverage is not None
        assert after.suppressed and not before.suppressed
        assert (after.value, after.unconditional, after.ci_low, after.ci_high) == (None,) * 4
        assert (after.p_value, after.p_adjusted, after.significant, after.coverage) == (None,) * 4
        assert after.ci_method == "none"
        assert (after.attributes, after.levels, after.track) == (
            before.attributes, before.levels, before.track,
        )  # fmt: skip


# --- the published verdict ---------------------------------------------------------------------


def _eight() -> Assessment:
    """A group of 8 everyone of whom is selected, against groups selected 1 time in 5:
    with min_group_size 5 it decides a selection-rate rule but is never published."""
    data = _frame({"big": 400, "mid": 300, "eight": 8})
    data.loc[data["g"] == "big", "d"] = (np.arange(400) % 5 == 0).astype(int)
    data.loc[data["g"] == "mid", "d"] = (np.arange(300) % 5 == 0).astype(int)
    data.loc[data["g"] == "eight", "d"] = 1
    return assess(
        data, y_true="y", y_pred="d", groups=["g"], reference={"g": "big"}, n_boot=30, seed=1,
        min_group_size=5, min_denominator=5,
    )  # fmt: skip


SELECTION = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.1}


def test_a_deciding_finding_on_an_unpublished_group_keeps_its_code_without_figures() -> None:
    """The group of 8 breaches the bound and decides the rule: the published verdict keeps
    the finding, its code and the failure, and writes a sentence naming the comparison and
    the minimum, with no figure; mid's outcome keeps every figure."""
    full = _eight()
    verdict = evaluate_policy(PolicySpec.model_validate({"rules": [SELECTION]}), full)
    (before,) = [f for f in verdict.rules[0].findings if f.levels == ("eight",)]
    assert before.decides and before.value is not None and before.p_adjusted is not None
    shown = publish_verdict(verdict, suppress(full))
    assert shown.status == verdict.status == "fail"
    (after,) = [f for f in shown.rules[0].findings if f.levels == ("eight",)]
    assert after.decides and after.code == before.code and after.rule_id == "sr"
    assert (after.value, after.ci_low, after.ci_high, after.p_adjusted) == (None,) * 4
    assert (after.detectable, after.baseline_value, after.position) == (None,) * 3
    assert after.sentence == (
        f"selection_rate difference for g=eight vs big: {before.code} (decides the rule); "
        "its figures are not published: fewer than 10 people"
    )
    groups = {g.levels: g for g in shown.rules[0].groups}
    eight, mid = groups[("eight",)], groups[("mid",)]
    assert eight.status == "fail"
    assert (eight.value, eight.ci_low, eight.ci_high, eight.detectable) == (None,) * 4
    assert eight.p_confirmatory is None
    (mid_before,) = [g for g in verdict.rules[0].groups if g.levels == ("mid",)]
    assert mid == mid_before and mid.value is not None and mid.p_confirmatory is not None


def test_a_hidden_group_outcome_loses_every_figure_a_non_regression_rule_adds() -> None:
    """The baseline value, the change and its interval of a hidden group's outcome are
    figures too: all are withheld (set here on the gate's record, as a non-regression rule
    writes them)."""
    full = _eight()
    verdict = evaluate_policy(PolicySpec.model_validate({"rules": [SELECTION]}), full)
    rule = verdict.rules[0]
    figures = dict(baseline_value=0.5, change=0.3, change_ci_low=0.1, change_ci_high=0.5,
                   p_confirmatory=0.01)  # fmt: skip
    groups = tuple(replace(g, **figures) for g in rule.groups)  # type: ignore[arg-type]
    findings = tuple(replace(f, baseline_value=0.5) for f in rule.findings)
    verdict = replace(verdict, rules=(replace(rule, groups=groups, findings=findings),))
    published = publish_verdict(verdict, suppress(full)).rules[0]
    (finding,) = [f for f in published.findings if f.levels == ("eight",)]
    assert finding.baseline_value is None and finding.decides
    shown = {g.levels: g for g in published.groups}
    eight = shown[("eight",)]
    assert (eight.baseline_value, eight.change, eight.change_ci_low, eight.change_ci_high) == (
        (None,) * 4
    )
    assert eight.p_confirmatory is None and eight.ci_high is None
    mid = shown[("mid",)]
    assert (mid.baseline_value, mid.change, mid.change_ci_low, mid.change_ci_high) == (
        0.5, 0.3, 0.1, 0.5,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("options", "rule", "label"),
    [
        (
            dict(y_true="y", y_pred="d"),
            {"id": "c", "metric": "selection_rate", "max": 0.05, "conditional": True},
            "selection_rate",
        ),
        (
            dict(y_true=None, y_pred=None, track="t"),
            {"id": "c", "metric": "track_share", "track": "a", "max": 0.05, "conditional": True},
            "track_share of track 'a'",
        ),
    ],
)
def test_a_suppressed_conditional_comparison_is_withheld_from_the_verdict(
    options: dict[str, object], rule: dict[str, object], label: str
) -> None:
    """mid's conditional gap (binary or of a track) is suppressed in the publication (one
    withheld term): the conditional rule still fails on it, but the published finding and
    group outcome carry no figure."""
    full = assess(
        _pooled_frame(), groups=["g"], reference={"g": "big"}, n_boot=30, seed=1,
        legitimate_factors=["f"], **options,  # type: ignore[arg-type]
    )  # fmt: skip
    verdict = evaluate_policy(PolicySpec.model_validate({"rules": [rule]}), full)
    (before,) = verdict.rules[0].findings
    assert (
        before.value is not None
        and before.value > 0.5
        and before.decides
        and before.kind == "conditional_difference"
    )
    shown = publish_verdict(verdict, suppress(full))
    assert shown.status == "fail"
    (after,) = shown.rules[0].findings
    assert after.value is None and after.ci_low is None and after.code == before.code
    assert after.sentence.startswith(f"{label} conditional difference for g=mid vs big: ")
    assert f"{before.value:.3f}" not in after.sentence
    (group,) = shown.rules[0].groups
    assert group.status == "fail" and group.value is None and group.ci_low is None


def test_published_sentences_bound_long_attribute_names_and_reference_labels() -> None:
    """A sentence names the attribute, the group and the reference with labels bounded for
    display: none of a 5000-character attribute name or reference label appears whole."""
    attribute, ref = "a" * 5000, "r" * 5000
    data = _frame({ref: 400, "mid": 300}).rename(columns={"g": attribute})
    data.loc[data[attribute] == "mid", "d"] = 1
    full = assess(data, y_true="y", y_pred="d", groups=[attribute], reference={attribute: ref},
                  n_boot=20, seed=1)  # fmt: skip
    policy = PolicySpec.model_validate({"rules": [SELECTION]})
    (finding,) = publish_verdict(evaluate_policy(policy, full), suppress(full)).rules[0].findings
    assert finding.attributes == (attribute,) and finding.reference_levels == (ref,)
    assert len(finding.sentence) < 400
    assert "a" * 400 not in finding.sentence and "r" * 400 not in finding.sentence
    assert "…" in finding.sentence


# --- references --------------------------------------------------------------------------------


def test_a_small_references_size_leaves_the_fallback_note() -> None:
    """The reference named is a group of 4: the reference record, its reason and the note
    that repeats it say 'fewer than 10 people' instead of the size."""
    full = assess(_frame({"big": 300, "mid": 200, "tiny": 4}), y_true="y", y_pred="d",
                  groups=["g"], reference={"g": "tiny"}, n_boot=20, seed=1)  # fmt: skip
    assert any("has 4 people" in n for n in full.notes)  # the fixture has a note to rewrite
    published = suppress(full)
    (choice,) = published.references
    assert choice.n_rows is None and "has fewer than 10 people" in (choice.reason or "")
    assert not any("4 people" in n for n in published.notes)
    notes = [n for n in published.notes if n.startswith("g: reference ")]
    assert len(notes) == 1 and "fewer than 10 people" in notes[0]
    assert notes[0] == (
        "g: reference tiny kept, though the reference group has fewer than 10 people, below the "
        "minimum size"
    )


# --- reliability bins by hand ------------------------------------------------------------------


def _bin(low: float, n: int | None, weight: float | None, mean: float | None) -> ReliabilityBin:
    return ReliabilityBin(
        attributes=("g",), levels=("a",), bin_low=low, bin_high=round(low + 0.2, 1),
        weight=weight, mean_score=mean, observed_rate=mean, n_rows=n,
    )  # fmt: skip


def test_bins_are_counted_by_rows_when_rows_are_known() -> None:
    """With sample weights of 0.5 a bin of 6 people weighs 3: the minimum counts people, so
    two such bins (12 people) already make one published bin."""
    bins = [_bin(0.0, 6, 3.0, 0.1), _bin(0.2, 6, 3.0, 0.3), _bin(0.4, 12, 6.0, 0.5)]
    merged = merge_bins(bins, MINIMUM)
    assert [(m.bin_low, m.bin_high, m.n_rows) for m in merged] == [(0.0, 0.4, 12), (0.4, 0.6, 12)]
    assert merged[0].weight == 6.0
    assert merged[0].mean_score == pytest.approx(0.2)


def test_bins_without_rows_are_counted_by_weight_and_an_empty_bin_counts_nothing() -> None:
    """Older documents carry no row counts: bins are then counted by weight, and a bin of
    weight 0 adds nothing (9 + 0 is still short of 10, 9 + 0 + 1 reaches it)."""
    bins = [_bin(0.0, None, 9.0, 0.1), _bin(0.2, None, 0.0, None), _bin(0.4, None, 1.0, 0.5),
            _bin(0.6, None, 10.0, 0.7)]  # fmt: skip
    merged = merge_bins(bins, MINIMUM)
    assert [(m.bin_low, m.bin_high) for m in merged] == [(0.0, 0.6), (0.6, 0.8)]
    assert merged[0].weight == 10.0 and merged[0].n_rows is None
    assert merged[0].mean_score == pytest.approx((9 * 0.1 + 1 * 0.5) / 10)
    missing = [_bin(0.0, None, None, 0.2), _bin(0.2, None, 10.0, 0.4)]
    (one,) = merge_bins(missing, MINIMUM)  # a bin without weight counts 0, not 1
    assert (one.bin_low, one.bin_high, one.weight) == (0.0, 0.4, 10.0)


def test_a_merged_bin_with_a_bin_of_unknown_rows_has_unknown_rows() -> None:
    """The merged bin's row count is the sum of its bins' only when every one is known."""
    (one,) = merge_bins([_bin(0.0, 4, 4.0, 0.1), _bin(0.2, None, 8.0, 0.3)], MINIMUM)
    assert one.n_rows is None and one.weight == 12.0
    (known,) = merge_bins([_bin(0.0, 4, 4.0, 0.1), _bin(0.2, 8, 8.0, 0.3)], MINIMUM)
    assert known.n_rows == 12


def test_merged_means_skip_bins_without_a_mean_and_empty_runs_have_none() -> None:
    """A bin without a mean score adds nothing to the merged mean, not even its weight; a run
    of bins with no weight has no mean (not a division by zero); light bins (weights 0.4
    each, rows known) still have a mean."""
    (one,) = merge_bins([_bin(0.0, 5, 5.0, 0.2), _bin(0.2, 6, 6.0, None)], MINIMUM)
    assert one.mean_score == pytest.approx(0.2) and one.weight == 11.0
    (empty,) = merge_bins([_bin(0.0, 0, 0.0, None), _bin(0.2, 0, 0.0, None)], MINIMUM)
    assert empty.mean_score is None and empty.observed_rate is None and empty.weight == 0.0
    (light,) = merge_bins([_bin(0.0, 6, 0.4, 0.2), _bin(0.2, 6, 0.4, 0.6)], MINIMUM)
    assert light.mean_score == pytest.approx(0.4) and light.weight == pytest.approx(0.8)


# --- linear algebra ----------------------------------------------------------------------------


def test_in_row_space_by_hand() -> None:
    """Whether a target is a linear combination of the rows: a row, a sum and a scaled row
    are; a vector off their span is not; with no rows nothing is implied."""
    rows = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    assert in_row_space(rows, np.array([1.0, 1.0, 0.0]))
    assert in_row_space(rows, np.array([1.0, 2.0, 1.0]))  # the sum
    assert in_row_space(rows, np.array([1.0, 0.0, -1.0]))  # the difference
    assert not in_row_space(rows, np.array([1.0, 0.0, 0.0]))
    assert not in_row_space(np.zeros((0, 3)), np.array([1.0, 0.0, 0.0]))
    assert in_row_space(np.array([[1.0]]), np.array([2.0]))  # a one-element system


def test_in_row_space_tolerance_is_relative_to_the_target_above_norm_one() -> None:
    """The tolerance is 1e-9 times the target's norm, and never less than 1e-9: a residual of
    1e-7 on a target of norm 1000 is rounding (implied); 1.5e-9 on a target of norm 0.5 is
    not."""
    rows = np.array([[1.0, 0.0]])
    assert in_row_space(rows, np.array([1000.0, 1e-7]))
    assert not in_row_space(rows, np.array([1000.0, 1e-5]))
    assert not in_row_space(rows, np.array([0.5, 1.5e-9]))
    assert in_row_space(rows, np.array([0.5, 0.5e-9]))
