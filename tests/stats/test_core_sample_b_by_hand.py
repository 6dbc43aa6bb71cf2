"""The statistical core on inputs small enough to check by hand (issue 14, sample B).

Disclosure control of a small group's calibration bins, of a worst group against a suppressed
reference and of a group whose size is withheld; the gate's reading of an interval that straddles
a bound, its detectable gaps, its rule descriptions and its reasons for an undefined conditional
comparison; the messages of refused inputs (no group column, decision columns that are group
columns, too many track cells, a single track, an option below its minimum); rates over a single
person (a track group of one row, a stratum's denominator of one); the table-size estimate of a
weighted scored table; the reason a disparity is undefined because of its reference; and the
simulated scores' range. Every expected figure, set and message comes from a definition or a
docstring, not from the code's output.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.gate import Comparison, _describe, _Detectable, evaluate_policy
from audit.metrics.conditional import explained_share
from audit.spec import PolicySpec, SignificanceRule, ThresholdRule
from audit.stats.assess import assess
from audit.stats.counts import estimate_table_bytes
from audit.stats.encoding import EncodedAttribute
from audit.stats.paired import paired_disparities
from audit.stats.result import Assessment, ConditionalDisparity
from audit.stats.simulate import simulate_decisions
from audit.stats.tracks import MAX_TRACK_CELLS, count_tracks
from audit.stats.within_strata import _metric_records

WHY = "suppressed: fewer than 10 people"
Z = float(stats.norm.ppf(0.975))


def _audit(frame: pd.DataFrame, **options: object) -> Assessment:
    settings: dict[str, object] = {
        "y_true": "y", "y_pred": "d", "groups": ["g"], "n_boot": 0, "min_group_size": 3,
        "min_denominator": 1,
    }  # fmt: skip
    return assess(frame, **{**settings, **options})  # type: ignore[arg-type]


def _message(call: object) -> str:
    with pytest.raises(AuditInputError) as err:
        call()  # type: ignore[operator]
    return str(err.value)


# --- disclosure control ------------------------------------------------------------------------


def test_a_small_groups_calibration_is_one_suppressed_bin_over_the_whole_score_range() -> None:
    """tiny (4 < 10 people) has one score in each of the deciles 0, 3, 6 and 9. Published, its
    reliability curve is a single bin from the first bin's low end (0.0) to the last bin's high
    end (1.0), with no weight, mean score, observed rate or row count: it is suppressed."""
    rng = np.random.default_rng(0)
    s = np.r_[rng.random(200), [0.05, 0.35, 0.65, 0.95]]
    frame = pd.DataFrame({
        "g": ["big"] * 200 + ["tiny"] * 4, "y": np.r_[rng.integers(0, 2, 200), [0, 1, 0, 1]],
        "s": s, "d": (s > 0.5).astype(int),
    })  # fmt: skip
    published = suppress(_audit(frame, score="s", reference={"g": "big"}))
    (tiny,) = [b for b in published.reliability if b.levels == ("tiny",)]
    assert (tiny.bin_low, tiny.bin_high) == (0.0, 1.0)
    assert (tiny.weight, tiny.mean_score, tiny.observed_rate, tiny.n_rows) == (None,) * 4
    assert tiny.suppressed
    assert all(not b.suppressed for b in published.reliability if b.levels == ("big",))


def test_the_worst_group_is_suppressed_when_its_references_metric_is() -> None:
    """The reference r (600 people) has only 3 with the outcome: its TPR (and FNR) rest on 3 <
    10 people and are suppressed. Group a is fine on its own, but its TPR gap to r would give
    r's TPR back: the worst group on the TPR is published without its difference. On the
    selection rate (600 and 300 people) nothing is withheld."""
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(3, int), np.zeros(597, int), rng.integers(0, 2, 300)]
    frame = pd.DataFrame({"g": ["r"] * 600 + ["a"] * 300, "y": y, "d": rng.integers(0, 2, 900)})
    full = _audit(frame, reference={"g": "r"})
    assert any(w.metric == "tpr" and w.difference is not None for w in full.worst_groups)
    worst = {w.metric: w for w in suppress(full).worst_groups}
    assert worst["tpr"].suppressed and worst["tpr"].difference is None
    assert not worst["selection_rate"].suppressed
    assert worst["selection_rate"].difference is not None


def test_a_withheld_size_costs_no_denominator_of_its_own_group() -> None:
    """tiny (4 people) is suppressed; a (100), the smallest other group, has its size withheld
    so that tiny's cannot be found by subtraction from the population. A group whose size is
    withheld publishes none of its denominators, so none has to be withheld on top: the note
    counts 1 more group size and no denominator, and b and c keep theirs."""
    rng = np.random.default_rng(1)
    sizes = {"a": 100, "b": 600, "c": 400, "t": 4}
    g = [name for name, n in sizes.items() for _ in range(n)]
    frame = pd.DataFrame({"g": g, "y": rng.integers(0, 2, len(g)), "d": rng.integers(0, 2, len(g))})
    published = suppress(_audit(frame, reference={"g": "b"}))
    assert {x.levels[0]: x.n_rows for x in published.groups} == {
        "a": None, "b": 600, "c": 400, "t": None,
    }  # fmt: skip
    (note,) = [n for n in published.notes if n.startswith("disclosure control")]
    assert "; 1 more group sizes are withheld so that none can be recovered by subtraction;" in note
    assert "denominators are withheld" not in note
    for m in published.metrics:
        if m.levels in (("b",), ("c",)) and m.value is not None:
            assert m.denominator_rows is not None, m


def test_a_withheld_balanced_accuracy_publishes_no_interval() -> None:
    """Group a's TPR is suppressed (3 with the outcome); its balanced accuracy, (TPR + TNR) / 2,
    would give it back with the TNR, so it is withheld: value, both interval ends and the row
    count go and the method is 'none', even when the assessment carried an interval (set here
    by hand) and no row count that would hide it for its own sake."""
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(97, int), np.ones(3, int), rng.integers(0, 2, 600)]
    frame = pd.DataFrame({"g": ["a"] * 100 + ["b"] * 600, "y": y, "d": rng.integers(0, 2, 700)})
    full = _audit(frame, reference={"g": "b"})
    metrics = tuple(
        replace(m, denominator_rows=None, ci_low=0.4, ci_high=0.6, ci_method="bootstrap")
        if (m.metric, m.levels) == ("balanced_accuracy", ("a",))
        else m
        for m in full.metrics
    )
    published = suppress(replace(full, metrics=metrics))
    (ba,) = [m for m in published.metrics if (m.metric, m.levels) == ("balanced_accuracy", ("a",))]
    assert ba.suppressed and ba.value is None
    assert (ba.ci_low, ba.ci_high, ba.ci_method, ba.denominator_rows) == (None, None, "none", None)


def test_two_groups_each_with_few_people_with_the_outcome_can_be_published() -> None:
    """a: 100 people, 5 with the outcome, 50 of the others selected; b: 600 people, 3 with the
    outcome, 300 of the others selected. Both TPRs rest on fewer than 10 people and must be
    suppressed; disclosure control must still publish the rest. 8 people overall have the
    outcome, so the overall base rate (8 / 700 with the population's size) must go, never the
    population's size (it raised ValueError "need at least one array to concatenate" when the
    size was withheld with everything that rests on it)."""
    parts = []
    for name, n, positives, selected in (("a", 100, 5, 50), ("b", 600, 3, 300)):
        y = np.r_[np.ones(positives, int), np.zeros(n - positives, int)]
        d = np.zeros(n, int)
        d[positives : positives + selected] = 1
        parts.append(pd.DataFrame({"g": name, "y": y, "d": d}))
    full = _audit(pd.concat(parts, ignore_index=True), reference={"g": "a"})
    published = suppress(full)
    tpr = {m.levels[0]: m for m in published.metrics if m.metric == "tpr"}
    assert tpr["a"].suppressed and tpr["b"].suppressed
    overall = {m.metric: m for m in published.overall}
    assert published.n_rows == 700
    assert overall["base_rate"].value is None and overall["base_rate"].suppressed
    assert overall["selection_rate"].value == 0.5


# --- the gate ----------------------------------------------------------------------------------


def _gate_base() -> Assessment:
    """Groups r (reference, 1000 people) and a (400), decisions alternating 0/1."""
    rng = np.random.default_rng(0)
    g = ["r"] * 1000 + ["a"] * 400
    frame = pd.DataFrame({"g": g, "d": np.arange(len(g)) % 2, "y": rng.integers(0, 2, len(g))})
    return assess(frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0)


GATE = _gate_base()
DIFF = GATE.disparity("selection_rate", ("g",), ("a",))


def test_an_interval_across_a_bound_says_on_which_side_the_estimate_lies() -> None:
    """Rule: selection-rate difference within [-0.1, 0.1], read on intervals. An estimate of
    0.15 with interval (0.05, 0.25) lies beyond the upper bound but its interval reaches inside:
    inconclusive, "estimate_beyond", bound 0.1. An estimate of 0.05 with (-0.05, 0.15) lies
    inside but its interval reaches beyond: inconclusive, "estimate_within", nearest bound 0.1."""
    policy = PolicySpec.model_validate({"rules": [
        {"id": "sr", "metric": "selection_rate", "kind": "difference", "min": -0.1, "max": 0.1,
         "evidence": "interval"},
    ]})  # fmt: skip
    for value, ci, position in ((0.15, (0.05, 0.25), "estimate_beyond"),
                                (0.05, (-0.05, 0.15), "estimate_within")):  # fmt: skip
        d = replace(DIFF, value=value, ci_low=ci[0], ci_high=ci[1], reliable=True)
        verdict = evaluate_policy(policy, replace(GATE, disparities=(d,)))
        (rule,) = verdict.rules
        (finding,) = rule.findings
        assert [g.status for g in rule.groups] == ["inconclusive"]
        assert (finding.position, finding.bound) == (position, 0.1), value


def test_a_significance_rule_reports_the_assessments_detectable_gap() -> None:
    """For a difference, the smallest gap the test detects is the one the assessment worked out
    (its two-proportion power figure, set here to 0.0123 by hand), not one guessed from the
    interval's width."""
    d = replace(DIFF, detectable=0.0123, ci_low=-0.05, ci_high=0.05)
    assessment = replace(GATE, disparities=(d,))
    rule = SignificanceRule(id="sig", no_significant_disparity=["selection_rate"])
    gap, can_pass = _Detectable(assessment).of(Comparison.of(d), rule)
    assert (gap, can_pass) == (0.0123, None)


def test_a_track_rules_description_names_the_metric_and_its_track() -> None:
    """A rule without a description is described from its fields: the metric, the track (or
    every track), the kind and the bound."""
    one = ThresholdRule(id="t", metric="track_share", track="sheltered", max_abs=0.1)
    every = ThresholdRule(id="t", metric="track_share", min=-0.2, max=0.2)
    assert _describe(one) == (
        "|track_share of track 'sheltered' difference of each group to its reference| <= 0.1"
    )
    assert _describe(every) == (
        "track_share of every track difference of each group to its reference >= -0.2 and <= 0.2"
    )


def test_an_undefined_conditional_comparison_says_why() -> None:
    """Coverage 0: no stratum holds both the group and its reference, and the reason says so.
    Some coverage but no value: the conditional difference is undefined."""
    c = ConditionalDisparity(
        attributes=("g",), levels=("a",), reference_levels=("r",), factors=("f",),
        metric="selection_rate", value=None, coverage=0.0, reliable=False,
    )  # fmt: skip
    assert Comparison.of(c).undefined_reason == (
        "no stratum of the legitimate factors holds both the group and its reference"
    )
    for coverage in (1.0, 0.5):
        assert Comparison.of(replace(c, coverage=coverage)).undefined_reason == (
            "the conditional difference is undefined"
        )


# --- refused inputs ----------------------------------------------------------------------------


def test_an_audit_without_group_columns_is_refused_saying_it_found_none() -> None:
    frame = pd.DataFrame({"g": ["a", "b"], "y": [0, 1], "d": [1, 0]})
    assert _message(lambda: _audit(frame, groups=[])) == (
        "group columns: expected at least one sensitive attribute to compare groups by; found "
        "none.\nHint: name one or more group columns (--group COL)"
    )


def test_decision_columns_that_are_group_columns_are_refused_naming_all_three() -> None:
    frame = pd.DataFrame({"g": ["a", "b"] * 10, "y": [0, 1] * 10, "c": [1, 0] * 10})
    message = _message(lambda: paired_disparities(
        frame, y_true="y", candidate="c", baseline="g", groups=["g"],
        references={("g",): ("a",)}, metrics=[("selection_rate", "difference")], n_boot=0,
    ))  # fmt: skip
    assert message == (
        "decision columns: expected decision columns other than the group columns; found "
        "candidate 'c' and baseline 'g', groups ['g'].\nHint: name the columns that hold the "
        "two models' decisions"
    )


def test_a_track_table_too_large_is_refused_with_its_size_and_shape() -> None:
    """5000 x 4001 group levels and 2 tracks: 40,010,000 cells, above the 20,000,000 allowed."""
    assert MAX_TRACK_CELLS == 20_000_000
    first = EncodedAttribute("a", tuple(map(str, range(5000))), np.zeros(1, np.int64))
    second = EncodedAttribute("b", tuple(map(str, range(4001))), np.zeros(1, np.int64))
    track = EncodedAttribute("t", ("x", "y"), np.zeros(1, np.int64))
    message = _message(lambda: count_tracks([first, second], track))
    assert message.startswith(
        "group columns and tracks: expected at most 20,000,000 combinations of group levels and "
        "tracks; found 40,010,000 (5000 × 4001 × 2).\nHint: audit fewer attributes"
    )


def test_a_track_log_with_one_track_is_refused_saying_a_constant_decision_shows_nothing() -> None:
    frame = pd.DataFrame({"g": ["a", "b"] * 10, "t": ["x"] * 20})
    message = _message(lambda: _audit(frame, y_true=None, y_pred=None, track="t"))
    assert message == (
        "track column 't': expected at least two different tracks; found the single track 'x'."
        "\nHint: a decision that is the same for everyone cannot show a disparity"
    )


def test_an_aggregate_with_a_single_group_value_says_how_to_fix_it() -> None:
    frame = pd.DataFrame({"g": ["a", "b", "a", "b"], "t": ["x", "x", "y", "y"], "n": [0, 0, 3, 0]})
    from audit.stats.encoding import Tally

    message = _message(
        lambda: _audit(frame, y_true=None, y_pred=None, track="t", tally=Tally(rows="n"))
    )
    assert message == (
        "group column 'g': expected at least two groups to compare; found a single value.\n"
        "Hint: choose a column whose values differ between people, or drop it"
    )


def test_max_numeric_levels_below_2_is_refused() -> None:
    frame = pd.DataFrame({"g": ["a", "b"] * 10, "y": [0, 1] * 10, "d": [1, 0] * 10})
    assert _message(lambda: _audit(frame, max_numeric_levels=1)) == (
        "option max_numeric_levels: expected at least 2; found 1.\n"
        "Hint: pass a valid max_numeric_levels"
    )


# --- rates over very few people ----------------------------------------------------------------


def test_a_decision_only_audit_reads_text_decisions_with_their_positive_label() -> None:
    """No outcome column; decisions "yes"/"no" with positive label "yes": a selects 3 of 4,
    b 1 of 4, so the selection rates are 3/4 and 1/4, and b's difference to a is -1/2."""
    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
                          "d": ["yes", "yes", "yes", "no", "yes", "no", "no", "no"]})  # fmt: skip
    result = _audit(frame, y_true=None, pos_label="yes", reference={"g": "a"}, min_denominator=1)
    rates = {m.levels[0]: m.value for m in result.metrics if m.metric == "selection_rate"}
    assert rates == {"a": 0.75, "b": 0.25}
    assert result.disparity("selection_rate", ("g",), ("b",)).value == pytest.approx(-0.5)


def test_a_group_of_one_person_keeps_its_track_shares() -> None:
    """Group c has one person, on track x: its shares are 1 on x and 0 on y, and it is
    compared like the others (a group with anyone in it is a group)."""
    frame = pd.DataFrame({"g": ["a"] * 20 + ["b"] * 20 + ["c"], "t": ["x", "y"] * 20 + ["x"]})
    result = _audit(frame, y_true=None, y_pred=None, track="t", min_group_size=1)
    shares = {t.track: t.share for t in result.tracks if t.levels == ("c",)}
    assert shares == {"x": 1.0, "y": 0.0}


def test_a_strata_rate_over_one_person_is_that_persons_outcome() -> None:
    """Within one factor level, the reference r has 4 people (2 selected), group a one person,
    selected: a's selection rate is 1/1 = 1, r's 2/4, the difference 1/2."""
    n = np.zeros((2, 1, 2, 2))  # (group, factor level, y_true, y_pred)
    n[0, 0, 0, 0], n[0, 0, 1, 1], n[0, 0, 0, 1], n[0, 0, 1, 0] = 1, 1, 1, 1
    n[1, 0, 0, 1] = 1
    records = _metric_records(
        ("g", ("r", "a"), 0), ("f", ("u",)), "selection_rate", (n, n, None),
        np.array([[True], [True]]), 0.95,
    )  # fmt: skip
    by_level = {r.levels[0]: r for r in records}
    assert by_level["r"].value == 0.5
    assert by_level["a"].value == 1.0
    assert by_level["a"].difference == pytest.approx(0.5)


def test_a_disparity_undefined_because_of_its_reference_says_so() -> None:
    """The reference r has no one with the outcome: its TPR is undefined, a's is not. a's TPR
    comparison is undefined, and the reason names the reference group."""
    frame = pd.DataFrame({
        "g": ["r"] * 20 + ["a"] * 20, "y": [0] * 20 + [0, 1] * 10, "d": [0, 1] * 20,
    })  # fmt: skip
    result = _audit(frame, reference={"g": "r"})
    d = result.disparity("tpr", ("g",), ("a",))
    assert d.value is None
    assert d.undefined_reason is not None and d.undefined_reason.startswith("reference group: ")


# --- sizes, warnings and simulations -----------------------------------------------------------


def test_a_weighted_scored_table_counts_its_weighted_histograms() -> None:
    """3 cells, no replicates, 9 score bins (10 grid points). Per cell and (y_true, y_pred):
    n and w (and w2 when weighted), 4 bytes each, then the histograms, 2 x 10 points for
    counts (and as many for weights) plus 10 score sums; 8 bytes per unit. Unweighted:
    8 x 3 x (8 + 20 + 10) = 912; weighted: 8 x 3 x (12 + 40 + 10) = 1488."""
    common = {"n_rows": 100, "n_boot": 0, "score_bins": 9, "scored": True}
    assert estimate_table_bytes([3], weighted=False, **common) == 912  # type: ignore[arg-type]
    assert estimate_table_bytes([3], weighted=True, **common) == 1488  # type: ignore[arg-type]


def test_a_gap_of_zero_has_no_explained_share_and_no_warning() -> None:
    """(U - C) / U: with U = 0 (and C = 0) the share is undefined, silently; with U = -0.1,
    C = -0.02 it is 0.8 (the docstring's example)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        share = explained_share(np.array([0.0, -0.1]), np.array([0.0, -0.02]), None, None, Z)
    assert math.isnan(share.value[0]) and share.value[1] == pytest.approx(0.8)


def test_bootstrap_ratios_against_a_reference_selecting_no_one_warn_nothing() -> None:
    """The reference r selects no one: every replicate's ratio to it divides by 0. The ratio
    is undefined (None), and the audit raises no warning on the way."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({
        "g": ["r"] * 40 + ["a"] * 40, "y": rng.integers(0, 2, 80), "d": [0] * 40 + [0, 1] * 20,
    })  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _audit(frame, reference={"g": "r"}, n_boot=20)
    assert result.disparity("selection_rate", ("g",), ("a",), kind="ratio").value is None


def test_simulated_scores_are_0_3_y_plus_0_7_beta() -> None:
    """s = 0.3 y + 0.7 Beta(2, 3): within [0, 0.7] without the outcome, [0.3, 1] with it, and
    the mean of 0.7 Beta(2, 3) is 0.7 x 2/5 = 0.28."""
    frame = simulate_decisions(4000, 0, score=True)
    negatives, positives = frame.loc[frame.y == 0, "s"], frame.loc[frame.y == 1, "s"]
    assert negatives.between(0, 0.7).all() and positives.between(0.3, 1).all()
    assert negatives.mean() == pytest.approx(0.28, abs=0.01)
    assert (positives - 0.3).mean() == pytest.approx(0.28, abs=0.01)
