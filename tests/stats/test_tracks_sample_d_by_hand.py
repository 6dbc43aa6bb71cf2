"""Track columns, factor names, empty levels and the last record fields, by hand (issue 14,
sample D of the mutation survivors).

- `_encode_track`: each refusal's whole message (a missing column with the columns there are,
  at most 20; missing values counted; tracks outside the model's labels, sorted, at most six;
  a single track named, or no rows), and the coding of a column over the labels given (every
  label a track, in the order given, numbers read as their text);
- `_check_factor_names`: a missing factor column and a factor named twice, full messages;
- `_drop_empty_levels` (through `count_tracks`): a level no one has is dropped on every
  attribute axis, not only up to the first attribute that has none to drop;
- `_grouping_records`: a share of exactly 0 or 1 takes the Wilson interval (every replicate
  would repeat it) even when bootstrap replicates are drawn and the group is large, and its gap
  the Newcombe one;
- `_score_values`: a score histogram with empty coarse bins, resampled, raises no warning;
- `_share_fields`: every branch of the explained share, whole dicts (an interval wholly below
  0 is an established gap; one from a negative bound to a positive one is not, both bounds signed);
- `RecordBuilder.finish`: the notes of a decision-only and of a weighted audit word for word,
  rows and total weight, and the correction of the p-values over the reliable comparisons only.

Every expected figure and message comes from a definition or a docstring, not from the code's
output.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.errors import AuditInputError
from audit.metrics.conditional import ExplainedShare
from audit.stats.assess import _check_factor_names, _encode_track, _share_fields, assess
from audit.stats.encoding import EncodedAttribute
from audit.stats.result import Assessment, Disparity, TrackShare
from audit.stats.tracks import count_tracks
from tests.formulas import wilson

Z = stats.norm.ppf(0.975)


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(AuditInputError) as err:
        call()
    return str(err.value)


def _error(subject: str, expected: str, found: str, fix: str) -> str:
    """The text of an AuditInputError, as its docstring lays it out."""
    return f"{subject}: expected {expected}; found {found}.\nHint: {fix}"


# --- _encode_track: refusals --------------------------------------------------------------------


def test_a_missing_track_column_is_refused_listing_the_columns_there_are() -> None:
    """The message names the column asked for and lists the table's columns, comma-separated."""
    frame = pd.DataFrame({"g": ["a", "b"], "advice": ["x", "y"]})
    assert _message(lambda: _encode_track(frame, "track", None)) == _error(
        "track column 'track'",
        "a column of the data",
        "no such column (columns are: g, advice)",
        "name the column of recommended tracks",
    )


def test_a_missing_track_column_lists_only_the_first_twenty_columns() -> None:
    """A wide table: the list stops after 20 columns."""
    frame = pd.DataFrame({f"c{i}": [0] for i in range(25)})
    listed = ", ".join(f"c{i}" for i in range(20))
    message = _message(lambda: _encode_track(frame, "t", None))
    assert f"found no such column (columns are: {listed})." in message


def test_missing_tracks_are_refused_with_their_count() -> None:
    """Two rows without a track: the message counts them."""
    frame = pd.DataFrame({"t": ["x", None, "y", None, "x"]})
    assert _message(lambda: _encode_track(frame, "t", ["x", "y"])) == _error(
        "track column 't'",
        "a recommended track in every row",
        "2 missing values",
        "fill in the track of every person, or leave those rows out of the audit",
    )


def test_tracks_the_model_cannot_give_are_refused_sorted_and_named() -> None:
    """Tracks outside the labels are listed sorted; the labels are listed in their given order."""
    frame = pd.DataFrame({"t": ["y", "z", "x", "w", "z"]})
    assert _message(lambda: _encode_track(frame, "t", ["y", "x"])) == _error(
        "track column 't'",
        "tracks among y, x",
        "w, z",
        "check the labels the model gives",
    )


def test_at_most_six_unknown_tracks_are_listed() -> None:
    """Eight unknown tracks: the first six in sorted order are shown."""
    frame = pd.DataFrame({"t": ["x", *"hgfedcba"]})
    message = _message(lambda: _encode_track(frame, "t", ["x"]))
    assert "; found a, b, c, d, e, f.\n" in message


def test_a_single_track_is_refused_naming_it() -> None:
    """Everyone on one track (without labels, or with labels where only the second is used)."""
    expected = _error(
        "track column 't'",
        "at least two different tracks",
        "the single track 'y'",
        "a decision that is the same for everyone cannot show a disparity",
    )
    frame = pd.DataFrame({"t": ["y", "y", "y"]})
    assert _message(lambda: _encode_track(frame, "t", None)) == expected
    assert _message(lambda: _encode_track(frame, "t", ["x", "y", "z"])) == expected


def test_a_track_column_without_rows_is_refused_as_no_rows() -> None:
    frame = pd.DataFrame({"t": pd.Series([], dtype=object)})
    assert _message(lambda: _encode_track(frame, "t", None)) == _error(
        "track column 't'",
        "at least two different tracks",
        "no rows",
        "a decision that is the same for everyone cannot show a disparity",
    )


def test_labels_make_every_label_a_track_in_their_order_and_read_numbers_as_text() -> None:
    """Labels ("3", "1", "2"): numbers 1 and 2 in the column are tracks "1" and "2"; "3" is a
    track no one got, kept first as listed."""
    frame = pd.DataFrame({"t": [1, 2, 1, 1]})
    encoded = _encode_track(frame, "t", ["3", "1", "2"])
    assert encoded.name == "t"
    assert encoded.levels == ("3", "1", "2")
    np.testing.assert_array_equal(encoded.codes, [1, 2, 1, 1])


def test_without_labels_the_tracks_are_the_column_values() -> None:
    encoded = _encode_track(pd.DataFrame({"t": ["y", "x", "y"]}), "t", None)
    assert encoded.name == "t"
    assert sorted(encoded.levels) == ["x", "y"]
    assert [encoded.levels[c] for c in encoded.codes] == ["y", "x", "y"]


# --- _check_factor_names -------------------------------------------------------------------------


def test_a_missing_factor_column_is_refused_with_the_columns_there_are() -> None:
    data = pd.DataFrame({"g": [0], "f": [1]})
    assert _message(lambda: _check_factor_names(data, ["g"], ["f", "h"])) == _error(
        "legitimate factor 'h'",
        "a column of the data",
        "no such column (columns are: g, f)",
        "name a column of the decisions table, or remove it from legitimate_factors",
    )


def test_a_factor_named_twice_is_refused_with_the_list_given() -> None:
    """The first naming is fine; the repeat is refused, showing the whole list."""
    data = pd.DataFrame({"g": [0], "f": [1], "h": [2]})
    _check_factor_names(data, ["g"], ["f", "h"])  # distinct names pass
    assert _message(lambda: _check_factor_names(data, ["g"], ["f", "h", "f"])) == _error(
        "legitimate factors",
        "each factor named once",
        "['f', 'h', 'f']",
        "remove the repeated name",
    )


def test_a_repeated_factor_is_refused_through_assess_too() -> None:
    frame = pd.DataFrame({"g": list("aabb"), "p": [1, 0, 1, 0], "f": list("uvuv")})
    message = _message(
        lambda: assess(
            frame, y_true=None, y_pred="p", groups=["g"], legitimate_factors=["f", "f"], n_boot=0
        )
    )
    assert message.endswith("found ['f', 'f'].\nHint: remove the repeated name")


# --- _drop_empty_levels ----------------------------------------------------------------------------


def _attribute(name: str, levels: tuple[str, ...], codes: list[int]) -> EncodedAttribute:
    return EncodedAttribute(name, levels, np.asarray(codes, dtype=np.int64))


def test_an_empty_level_is_dropped_on_a_later_axis_after_a_full_one() -> None:
    """g has both levels in use; h declares v, which no one has: v goes, on h's axis only, and
    the weights and squared weights lose the same slice."""
    g = _attribute("g", ("a", "b"), [0, 0, 1, 1])
    h = _attribute("h", ("u", "v", "w"), [0, 2, 2, 0])
    t = _attribute("t", ("x", "y"), [0, 1, 1, 1])
    weight = np.array([1.0, 2.0, 3.0, 4.0])
    counts = count_tracks([g, h], t, weight)
    assert counts.levels == (("a", "b"), ("u", "w"))
    # cells (g, h, t): (a,u,x)=row0, (a,w,y)=row1, (b,w,y)=row2, (b,u,y)=row3
    np.testing.assert_array_equal(counts.n, [[[1, 0], [0, 1]], [[0, 1], [0, 1]]])
    np.testing.assert_array_equal(counts.w, [[[1.0, 0], [0, 2.0]], [[0, 4.0], [0, 3.0]]])
    assert counts.w2 is not None
    np.testing.assert_array_equal(counts.w2, [[[1.0, 0], [0, 4.0]], [[0, 16.0], [0, 9.0]]])


def test_empty_levels_are_dropped_on_every_axis() -> None:
    """Both attributes have a level no one has: both go."""
    g = _attribute("g", ("a", "b", "c"), [0, 2, 2])
    h = _attribute("h", ("u", "v", "w"), [1, 1, 2])
    t = _attribute("t", ("x", "y"), [0, 1, 0])
    counts = count_tracks([g, h], t)
    assert counts.levels == (("a", "c"), ("v", "w"))
    np.testing.assert_array_equal(counts.n, [[[1, 0], [0, 0]], [[0, 1], [1, 0]]])
    np.testing.assert_array_equal(counts.w, counts.n)
    assert counts.w2 is None


def test_a_group_column_left_with_one_level_is_refused() -> None:
    """After the empty levels go, an attribute with a single level cannot be compared."""
    g = _attribute("g", ("a", "b"), [0, 1, 1])
    h = _attribute("h", ("u", "v"), [1, 1, 1])
    t = _attribute("t", ("x", "y"), [0, 1, 0])
    assert _message(lambda: count_tracks([g, h], t)) == _error(
        "group column 'h'",
        "at least two groups to compare",
        "a single value",
        "choose a column whose values differ between people, or drop it",
    )


# --- _grouping_records: edge shares keep the Wilson interval ---------------------------------------


def _share(result: Assessment, level: str, track: str) -> TrackShare:
    return next(r for r in result.tracks if r.levels == (level,) and r.track == track)


def test_a_share_of_zero_or_one_keeps_the_wilson_interval_when_replicates_are_drawn() -> None:
    """a: 12 people, 6 on x and 6 on y (the reference, the largest); b: 10 people all on x.
    With 200 replicates and groups above the minimum size, a's shares take bootstrap intervals
    but b's shares of 1 (x) and 0 (y) keep Wilson's: [10/(10+z²), 1] and [0, z²/(10+z²)]. Their
    gaps to a involve an edge share, so Newcombe's."""
    frame = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 10, "t": ["x", "y"] * 6 + ["x"] * 10})
    result = assess(
        frame, y_true=None, y_pred=None, groups=["g"], track="t", n_boot=200, min_group_size=5,
        min_denominator=5,
    )  # fmt: skip
    for track in ("x", "y"):
        assert _share(result, "a", track).ci_method == "bootstrap"
    one, zero = _share(result, "b", "x"), _share(result, "b", "y")
    assert (one.share, zero.share) == (1.0, 0.0)
    assert (one.ci_method, zero.ci_method) == ("wilson", "wilson")
    assert one.ci_low == pytest.approx(10 / (10 + Z**2))
    assert one.ci_high == pytest.approx(1.0)
    assert zero.ci_low == pytest.approx(0.0, abs=1e-12)
    assert zero.ci_high == pytest.approx(Z**2 / (10 + Z**2))
    assert wilson(0.0, 10)[1] == pytest.approx(zero.ci_high)
    assert (one.difference_ci_method, zero.difference_ci_method) == ("newcombe", "newcombe")
    assert (one.difference, zero.difference) == (pytest.approx(0.5), pytest.approx(-0.5))


# --- _score_values: empty coarse bins --------------------------------------------------------------


def test_resampled_scores_with_empty_bins_raise_no_warning() -> None:
    """Scores only near 0.1 and 0.9: most bins of the coarse grid are empty, their mean score
    undefined (0/0). The audit still runs without a RuntimeWarning and gives AUC and calibration
    error for both groups, with bootstrap intervals that resample each bin with its mean score."""
    n = 40
    frame = pd.DataFrame(
        {
            "g": ["a"] * n + ["b"] * n,
            "y": [1, 0] * n,
            "p": [1, 0] * n,
            "s": [0.9, 0.1] * n,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = assess(
            frame, y_true="y", y_pred="p", groups=["g"], score="s", n_boot=30, min_group_size=5
        )
    aucs = [m for m in result.metrics if m.metric == "auc"]
    eces = [m for m in result.metrics if m.metric == "ece"]
    assert len(aucs) == len(eces) == 2
    # Perfect ranking: AUC 1; calibration error |0.9 - 1| and |0.1 - 0| weighted = 0.1.
    assert all(m.value == pytest.approx(1.0) for m in aucs)
    assert all(m.value == pytest.approx(0.1) for m in eces)
    # Every replicate keeps the perfect ranking and each bin's mean score (0.9 with outcome 1,
    # 0.1 with outcome 0): AUC 1 and calibration error 0.1 in each, so the intervals are points.
    for m, value in [*((a, 1.0) for a in aucs), *((e, 0.1) for e in eces)]:
        assert m.ci_method == "bootstrap"
        assert (m.ci_low, m.ci_high) == (pytest.approx(value), pytest.approx(value))


# --- _share_fields: every branch ----------------------------------------------------------------


def _plain(value: float | None, low: float | None, high: float | None) -> Disparity:
    return Disparity(
        attributes=("g",), levels=("b",), reference_levels=("a",), metric="selection_rate",
        kind="difference", value=value, ci_low=low, ci_high=high, ci_method="wilson",
        reliable=True,
    )  # fmt: skip


NAN = float("nan")


def test_the_explained_share_or_the_reason_there_is_none_branch_by_branch() -> None:
    """Group 0 has share 0.4 in [0.2, 0.6]; group 1 an undefined share; group 2 a share with an
    unbounded interval; group 3 a share without replicates (no interval). The plain gap must be
    defined, have an interval, and exclude 0."""
    share = ExplainedShare(
        np.array([0.4, NAN, 0.3, 0.25]),
        np.array([0.2, NAN, NAN, NAN]),
        np.array([0.6, NAN, 0.5, NAN]),
    )
    below = _plain(-0.1, -0.2, -0.05)  # wholly below 0: an established gap
    assert _share_fields(share, 0, None, 100) == {
        "explained_share_note": "the plain gap is undefined"
    }
    assert _share_fields(share, 0, _plain(None, None, None), 100) == {
        "explained_share_note": "the plain gap is undefined"
    }
    assert _share_fields(share, 1, below, 100) == {
        "explained_share_note": "the conditional gap is undefined, or the plain gap is 0"
    }
    for low, high in ((None, 0.2), (-0.2, None)):
        assert _share_fields(share, 0, _plain(-0.1, low, high), 100) == {
            "explained_share_note": "the plain gap has no interval"
        }
    # Closed intervals: one ending on 0 includes it, at either end; each bound signed.
    for low, high, shown in (
        (-0.0504, 0.2, "[-0.050, +0.200]"),
        (0.0, 0.1, "[0.000, +0.100]"),
        (-0.1, 0.0, "[-0.100, 0.000]"),
    ):
        assert _share_fields(share, 0, _plain((low + high) / 2, low, high), 100) == {
            "explained_share_note": f"the plain gap's interval {shown} includes 0: "
            "there is no established gap to explain"
        }
    assert _share_fields(share, 0, below, 100) == {
        "explained_share": 0.4,
        "explained_share_low": 0.2,
        "explained_share_high": 0.6,
        "explained_share_note": None,
    }
    assert _share_fields(share, 3, below, 0) == {
        "explained_share": 0.25,
        "explained_share_low": None,
        "explained_share_high": None,
        "explained_share_note": "no interval without bootstrap replicates (n_boot = 0)",
    }
    assert _share_fields(share, 2, below, 100) == {
        "explained_share": 0.3,
        "explained_share_low": None,
        "explained_share_high": None,
        "explained_share_note": "no bounded interval: the plain gap is too uncertain in the "
        "bootstrap replicates",
    }


# --- RecordBuilder.finish ------------------------------------------------------------------------

NO_OUTCOME_NOTE = (
    "no outcome column: only the decisions are audited (selection rates, their gaps, summaries "
    "and conditional comparisons); error rates, calibration and AUC need an observed outcome"
)
WEIGHTED_NOTE = (
    "weighted counts; the bootstrap draws each cell's weights with their mean and spread "
    "(score histograms: with their mean only)"
)


def _decisions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "g": ["a"] * 4 + ["b"] * 4,
            "p": [1, 0, 1, 0, 1, 1, 0, 0],
            "y": [1, 0, 0, 0, 1, 1, 0, 1],
            "w": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0],
        }
    )


@pytest.mark.parametrize(
    ("outcome", "weight", "notes"),
    [
        (None, "w", (NO_OUTCOME_NOTE, WEIGHTED_NOTE)),
        (None, None, (NO_OUTCOME_NOTE,)),
        ("y", "w", (WEIGHTED_NOTE,)),
        ("y", None, ()),
    ],
)
def test_the_notes_say_word_for_word_what_was_not_audited_and_how_weights_are_drawn(
    outcome: str | None, weight: str | None, notes: tuple[str, ...]
) -> None:
    """Eight rows of total weight 11: the record counts rows and sums weights; the notes come
    in order (no outcome, then weights), each only when it applies."""
    result = assess(
        _decisions(), y_true=outcome, y_pred="p", groups=["g"], weight=weight, n_boot=0,
        min_group_size=1, min_denominator=1,
    )  # fmt: skip
    assert result.notes == notes
    assert result.n_rows == 8
    assert result.total_weight == (11.0 if weight else 8.0)


def test_p_values_are_corrected_over_the_reliable_comparisons_only() -> None:
    """Groups a (reference, 60 rows), b (60 rows), c (4 rows, below the minimum of 30): c's
    comparison keeps its p-value but has no adjusted one and no verdict; b's is Holm-adjusted
    within the reliable family, here its selection-rate test alone (decision-only audit)."""
    frame = pd.DataFrame(
        {
            "g": ["a"] * 60 + ["b"] * 60 + ["c"] * 4,
            "p": [1] * 40 + [0] * 20 + [1] * 20 + [0] * 40 + [1, 1, 1, 0],
        }
    )
    result = assess(frame, y_true=None, y_pred="p", groups=["g"], n_boot=0)
    family = [d for d in result.disparities if d.reliable and d.p_value is not None]
    assert {d.levels for d in family} == {("b",)}
    p = sorted(d.p_value for d in family)  # type: ignore[type-var]
    m = len(p)
    holm = np.maximum.accumulate([min(1.0, (m - i) * q) for i, q in enumerate(p)])
    for d in family:
        assert d.p_adjusted == pytest.approx(holm[p.index(d.p_value)])
        assert d.significant is (d.p_adjusted < 0.05)
    small = [d for d in result.disparities if d.levels == ("c",)]
    assert small and all(not d.reliable for d in small)
    assert all(d.p_adjusted is None and d.significant is None for d in small)
    assert any(d.p_value is not None for d in small)


# --- _grouping_records: one grouping's whole records, by hand ------------------------------------


def _newcombe(p1: float, n1: float, p2: float, n2: float) -> tuple[float, float]:
    l1, u1 = wilson(p1, n1)
    l2, u2 = wilson(p2, n2)
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def _pooled_p(k1: int, n1: int, k2: int, n2: int) -> float:
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * stats.norm.sf(abs(k1 / n1 - k2 / n2) / se)


def test_every_field_of_a_track_only_grouping_matches_a_hand_computation() -> None:
    """r (the reference, named): 20 people, 10 on x and 10 on y, none on z; b: 10 people, 2 on
    x, 6 on y, 2 on z. Without replicates every interval is analytic: Wilson for the shares,
    Newcombe for the gaps, Katz for the ratios (none on z, where r's share is 0, with the
    reason). b's three tests form the family, corrected by Holm: z's gap (0.2 against 0, pooled
    rate 2/30, z = 0.2 / 0.0966 = 2.07, p 0.038) is the smallest p-value, times 3 is 0.115: not
    significant; x's (p 0.114) times 2 is 0.228; y's (p 0.605) stays."""
    frame = pd.DataFrame(
        {
            "g": ["r"] * 20 + ["b"] * 10,
            "t": ["x"] * 10 + ["y"] * 10 + ["x"] * 2 + ["y"] * 6 + ["z"] * 2,
        }
    )
    result = assess(
        frame, y_true=None, y_pred=None, groups=["g"], track="t", track_labels=["x", "y", "z"],
        reference={"g": "r"}, n_boot=0, min_group_size=5, min_denominator=5,
    )  # fmt: skip
    assert [(r.levels, r.track) for r in result.tracks] == [
        (("b",), "x"), (("b",), "y"), (("b",), "z"), (("r",), "x"), (("r",), "y"), (("r",), "z"),
    ]  # fmt: skip
    ref_counts = {"x": 10, "y": 10, "z": 0}
    for track, count in ref_counts.items():
        r = _share(result, "r", track)
        low, high = wilson(count / 20, 20)
        assert (r.is_reference, r.reference_levels, r.n_rows, r.count) == (True, ("r",), 20, count)
        assert r.share == pytest.approx(count / 20)
        assert (r.ci_low, r.ci_high, r.ci_method) == (
            pytest.approx(low, abs=1e-12), pytest.approx(high), "wilson",
        )  # fmt: skip
        assert r.difference is None and r.ratio is None and r.p_value is None
        assert r.difference_ci_method == r.ratio_ci_method == "none"
        assert r.p_adjusted is None and r.significant is None and r.detectable is None
        assert r.reliable and r.undefined_reason is None

    b_counts = {"x": 2, "y": 6, "z": 2}
    p = {t: _pooled_p(b_counts[t], 10, ref_counts[t], 20) for t in b_counts}
    order = sorted(p, key=p.get)  # type: ignore[arg-type]
    holm: dict[str, float] = {}
    running = 0.0
    for i, t in enumerate(order):
        running = max(running, min(1.0, (3 - i) * p[t]))
        holm[t] = running
    z_power = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    for track, count in b_counts.items():
        b = _share(result, "b", track)
        share, ref = count / 10, ref_counts[track] / 20
        assert (b.is_reference, b.reference_levels, b.n_rows, b.count) == (False, ("r",), 10, count)
        assert b.share == pytest.approx(share)
        low, high = wilson(share, 10)
        assert (b.ci_low, b.ci_high, b.ci_method) == (
            pytest.approx(low),
            pytest.approx(high),
            "wilson",
        )
        assert b.difference == pytest.approx(share - ref)
        d_low, d_high = _newcombe(share, 10, ref, 20)
        assert (b.difference_ci_low, b.difference_ci_high, b.difference_ci_method) == (
            pytest.approx(d_low), pytest.approx(d_high), "newcombe",
        )  # fmt: skip
        assert b.p_value == pytest.approx(p[track])
        assert b.p_adjusted == pytest.approx(holm[track])
        assert b.significant is bool(holm[track] < 0.05)
        # common rate clipped away from 0 by half a person over both groups: 0.5 / 30
        rate = min(max(ref, 0.5 / 30), 1 - 0.5 / 30)
        assert b.detectable == pytest.approx(
            z_power * math.sqrt(rate * (1 - rate) * (1 / 10 + 1 / 20))
        )
        assert b.reliable
    for track in ("x", "y"):
        b = _share(result, "b", track)
        k1, k2 = b_counts[track], ref_counts[track]
        se = math.sqrt(1 / k1 - 1 / 10 + 1 / k2 - 1 / 20)
        ratio = (k1 / 10) / (k2 / 20)
        assert b.ratio == pytest.approx(ratio)
        assert (b.ratio_ci_low, b.ratio_ci_high, b.ratio_ci_method) == (
            pytest.approx(ratio * math.exp(-Z * se)), pytest.approx(ratio * math.exp(Z * se)), "katz",
        )  # fmt: skip
        assert b.undefined_reason is None
    z = _share(result, "b", "z")
    assert z.ratio is None and z.ratio_ci_low is None and z.ratio_ci_high is None
    assert z.ratio_ci_method == "none"
    assert z.undefined_reason == "the reference group's share is 0: no ratio"
    assert p["z"] == pytest.approx(0.0384, abs=5e-4)
    assert holm["z"] == pytest.approx(0.1153, abs=2e-3)
    assert not z.significant


def test_a_comparison_with_a_reference_below_the_minimum_size_is_unreliable_and_uncorrected() -> (
    None
):
    """The named reference r has 4 people, below min_group_size 5; b has 10. b is large enough
    but its comparisons with r are not: unreliable, a p-value kept, no adjusted one, no
    verdict. r's own records are unreliable too; b's share keeps its Wilson interval."""
    frame = pd.DataFrame(
        {"g": ["r"] * 4 + ["b"] * 10, "t": ["x", "x", "y", "y"] + ["x"] * 3 + ["y"] * 7}
    )
    result = assess(
        frame, y_true=None, y_pred=None, groups=["g"], track="t", reference={"g": "r"},
        n_boot=0, min_group_size=5, min_denominator=1,
    )  # fmt: skip
    for track in ("x", "y"):
        b, r = _share(result, "b", track), _share(result, "r", track)
        assert not b.reliable and not r.reliable
        assert b.p_value is not None and b.p_adjusted is None and b.significant is None
        assert b.ci_method == "wilson"
    assert [g.reliable for g in result.groups if g.levels == ("b",)] == [True]
