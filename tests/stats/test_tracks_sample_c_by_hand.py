"""Track audits on inputs small enough to check by hand (issue 14, sample C).

- `count_tracks`: the joint group × track count table, cell by cell, with weights, squared
  weights and the rows of an aggregated table; levels no one has dropped, tracks all kept; the
  refusal of a table with too many cells, at its boundary and with its full message;
- a track-only audit (`_track_only`, `_track_groups`): its whole record (row count, total weight,
  group records, references and how they were chosen, notes in order), the refusals of an empty
  table, of no group column, of a missing group or weight column and of too many groups;
  `reference_rule="most_advantaged"` (no binary decision to rank by: a note, then the largest);
  an intersection's reference composed of its attributes' own, or a fallback with its reason;
- the legitimate-factor checks (`_check_factor_levels`) on both the binary and the track-only
  path: a constant factor named by its value, an identifier with its row count (people, not rows
  of an aggregate), each at its boundary;
- the track labels of a binary audit with tracks (`track_labels`), with and without factors.

Every expected figure, set and message comes from a definition or a docstring, not from the
code's output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import audit.stats.tracks as tracks_module
from audit.errors import AuditInputError
from audit.stats.assess import assess
from audit.stats.encoding import EncodedAttribute, Tally
from audit.stats.result import Assessment, Group, ReferenceChoice
from audit.stats.tracks import MAX_TRACK_CELLS, count_tracks
from tests.formulas import wilson

MOST_ADVANTAGED_NOTE = (
    "reference_rule most_advantaged needs a binary decision: with tracks only, each "
    "attribute's largest group is its reference unless one is named"
)


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(AuditInputError) as err:
        call()
    return str(err.value)


def _tracks(frame: pd.DataFrame, **options: object) -> Assessment:
    """A track-only audit (no binary decision, no outcome) of groups g by track t."""
    settings: dict[str, object] = dict(
        y_true=None, y_pred=None, groups=["g"], track="t", n_boot=0, min_group_size=3
    )
    settings.update(options)
    return assess(frame, **settings)  # type: ignore[arg-type]


def _attribute(name: str, levels: tuple[str, ...], codes: list[int]) -> EncodedAttribute:
    return EncodedAttribute(name, levels, np.asarray(codes, dtype=np.int64))


# --- count_tracks: the joint table -----------------------------------------------------------------


# Five rows: (g, h, t) = (a, u, x), (a, v, y), (c, u, y), (c, v, z), (c, v, x). Level b of g is
# declared but no one has it; track w is a label no one got.
G = _attribute("g", ("a", "b", "c"), [0, 0, 2, 2, 2])
H = _attribute("h", ("u", "v"), [0, 1, 0, 1, 1])
T = _attribute("t", ("x", "y", "z", "w"), [0, 1, 1, 2, 0])


def _check_table(counts: tracks_module.TrackCounts, n: list, w: list, w2: list | None) -> None:
    assert counts.attributes == ("g", "h")
    assert counts.levels == (("a", "c"), ("u", "v"))  # b dropped
    assert counts.tracks == ("x", "y", "z", "w")  # every label kept, w with no one
    assert counts.n.dtype.kind == "i" and counts.w.dtype == np.float64
    np.testing.assert_array_equal(counts.n, np.array(n))
    np.testing.assert_array_equal(counts.w, np.array(w, dtype=np.float64))
    if w2 is None:
        assert counts.w2 is None
    else:
        assert counts.w2 is not None
        np.testing.assert_array_equal(counts.w2, np.array(w2, dtype=np.float64))


def test_the_track_table_counts_each_group_cell_and_track_and_drops_empty_levels() -> None:
    """Without weights: one person in each of (a,u,x), (a,v,y), (c,u,y), (c,v,z), (c,v,x); the
    weight table is the count table and there is no squared-weight table; n_rows is 5."""
    counts = count_tracks([G, H], T)
    n = [[[1, 0, 0, 0], [0, 1, 0, 0]], [[0, 1, 0, 0], [1, 0, 1, 0]]]
    _check_table(counts, n, n, None)
    assert counts.n_rows == 5


def test_weights_fill_the_weight_table_and_their_squares_the_second() -> None:
    """Weights 1..5 in row order: cell (c,v,x) holds row 5 (weight 5), (c,v,z) row 4 (4); the
    squared weights are the squares, unless an aggregate gives their sums itself."""
    weight = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    n = [[[1, 0, 0, 0], [0, 1, 0, 0]], [[0, 1, 0, 0], [1, 0, 1, 0]]]
    w = [[[1, 0, 0, 0], [0, 2, 0, 0]], [[0, 3, 0, 0], [5, 0, 4, 0]]]
    w2 = [[[1, 0, 0, 0], [0, 4, 0, 0]], [[0, 9, 0, 0], [25, 0, 16, 0]]]
    _check_table(count_tracks([G, H], T, weight), n, w, w2)
    given = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    w2_given = [[[10, 0, 0, 0], [0, 20, 0, 0]], [[0, 30, 0, 0], [50, 0, 40, 0]]]
    _check_table(count_tracks([G, H], T, weight, weight_sq=given), n, w, w2_given)


def test_an_aggregated_row_counts_the_people_it_stands_for() -> None:
    """Rows standing for 2, 1, 0, 3 and 1 people: (a,u,x) holds 2, (c,u,y) no one, (c,v,z) 3;
    the counts stay integers and, without weights, are the weights too."""
    rows = np.array([2, 1, 0, 3, 1])
    counts = count_tracks([G, H], T, rows=rows)
    n = [[[2, 0, 0, 0], [0, 1, 0, 0]], [[0, 0, 0, 0], [1, 0, 3, 0]]]
    _check_table(counts, n, n, None)
    assert counts.n_rows == 7


def test_a_track_table_over_the_cell_limit_is_refused_with_its_size_and_shape() -> None:
    """5000 × 4001 group levels and 2 tracks: 40,010,000 cells, above the 20,000,000 allowed;
    the message says what is allowed, what was found (with the shape) and the ways out."""
    assert MAX_TRACK_CELLS == 20_000_000
    first = _attribute("a", tuple(map(str, range(5000))), [0])
    second = _attribute("b", tuple(map(str, range(4001))), [0])
    track = _attribute("t", ("x", "y"), [0])
    with pytest.raises(AuditInputError) as err:
        count_tracks([first, second], track)
    e = err.value
    assert (e.subject, e.expected, e.found, e.fix) == (
        "group columns and tracks",
        "at most 20,000,000 combinations of group levels and tracks",
        "40,010,000 (5000 × 4001 × 2)",
        "audit fewer attributes or legitimate factors at once, or merge rare levels",
    )


def test_a_track_table_of_exactly_the_cell_limit_is_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """3 × 2 group levels × 4 tracks = 24 cells: counted at a limit of 24, refused at 23."""
    monkeypatch.setattr(tracks_module, "MAX_TRACK_CELLS", 24)
    assert count_tracks([G, H], T).n_rows == 5
    monkeypatch.setattr(tracks_module, "MAX_TRACK_CELLS", 23)
    assert _message(lambda: count_tracks([G, H], T)) == (
        "group columns and tracks: expected at most 23 combinations of group levels and tracks; "
        "found 24 (3 × 2 × 4).\nHint: audit fewer attributes or legitimate factors at once, or "
        "merge rare levels"
    )


# --- a track-only audit: its whole record ------------------------------------------------------------


def _weighted_log() -> pd.DataFrame:
    """Group a: 2 people of weight 5 (tracks x, y); group b: 4 people of weight 1 (x, x, x, y).
    By rows b is larger, by weight a is (10 against 4)."""
    return pd.DataFrame(
        {
            "g": ["a", "a", "b", "b", "b", "b"],
            "t": ["x", "y", "x", "x", "x", "y"],
            "w": [5.0, 5.0, 1.0, 1.0, 1.0, 1.0],
        }
    )


def test_a_weighted_track_only_audit_has_its_groups_references_and_no_binary_metric() -> None:
    """The largest group is the heaviest (a, weight 10), not the one with most rows (b, 4). a's
    2 rows are below the minimum size 3, so the reference is unreliable and a note says why.
    The record has the rows (6) and the total weight (14), no binary metric, the track is the
    decision the settings name, and the shares are weighted: b gets x with 3 of its weight 4."""
    result = _tracks(_weighted_log(), weight="w")
    assert result.settings.y_pred == "t" and result.settings.track == "t"
    assert result.settings.y_true is None
    assert (result.n_rows, result.total_weight) == (6, 14.0)
    assert result.groups == (
        Group(attributes=("g",), levels=("a",), n_rows=2, weight=10.0, reliable=False,
              is_reference=True),
        Group(attributes=("g",), levels=("b",), n_rows=4, weight=4.0, reliable=True,
              is_reference=False),
    )  # fmt: skip
    reason = "the reference group has 2 people, below the minimum size"
    assert result.references == (
        ReferenceChoice(attributes=("g",), levels=("a",), intended=("a",), how="largest",
                        n_rows=2, reason=reason),
    )  # fmt: skip
    assert result.notes == (f"g: reference a kept, though {reason}",)
    assert (result.metrics, result.disparities, result.summaries, result.worst_groups) == (
        (), (), (), (),
    )  # fmt: skip
    assert result.track_labels == ("x", "y")
    shares = {(s.levels[0], s.track): (s.share, s.reference_levels) for s in result.tracks}
    assert shares == {
        ("a", "x"): (0.5, ("a",)), ("a", "y"): (0.5, ("a",)),
        ("b", "x"): (0.75, ("a",)), ("b", "y"): (0.25, ("a",)),
    }  # fmt: skip


def test_without_weights_the_largest_group_has_the_most_rows_and_counts_are_weights() -> None:
    """Unweighted, b (4 rows) is the largest and reliable (4 ≥ 3); a's 2 rows are not. No
    note: the reference is reliable and the rule is "largest". Group weights are row counts."""
    result = _tracks(_weighted_log())
    assert result.total_weight == 6.0
    assert result.groups == (
        Group(attributes=("g",), levels=("a",), n_rows=2, weight=2.0, reliable=False,
              is_reference=False),
        Group(attributes=("g",), levels=("b",), n_rows=4, weight=4.0, reliable=True,
              is_reference=True),
    )  # fmt: skip
    assert result.references == (
        ReferenceChoice(attributes=("g",), levels=("b",), intended=("b",), how="largest",
                        n_rows=4, reason=None),
    )  # fmt: skip
    assert result.notes == ()


def test_a_group_of_exactly_the_minimum_size_is_reliable() -> None:
    """min_group_size 4: b's 4 rows reach it, a's 2 do not; at 5 neither does."""
    at_four = _tracks(_weighted_log(), min_group_size=4)
    assert [(g.levels, g.reliable) for g in at_four.groups] == [(("a",), False), (("b",), True)]
    at_five = _tracks(_weighted_log(), min_group_size=5)
    assert [(g.levels, g.reliable) for g in at_five.groups] == [(("a",), False), (("b",), False)]


def test_most_advantaged_has_no_decision_to_rank_by_so_a_note_and_the_largest_group() -> None:
    """With tracks only there is no selection rate: "most_advantaged" says so in a note and
    takes the largest group, recording the rule asked for. A named reference is still named
    (and the note still given: the rule applies to every attribute without a named one)."""
    result = _tracks(_weighted_log(), reference_rule="most_advantaged")
    assert result.references == (
        ReferenceChoice(attributes=("g",), levels=("b",), intended=("b",), how="most_advantaged",
                        n_rows=4, reason=None),
    )  # fmt: skip
    assert result.notes == (MOST_ADVANTAGED_NOTE,)
    named = _tracks(_weighted_log(), reference_rule="most_advantaged", reference={"g": "a"})
    assert named.references[0].how == "named" and named.references[0].levels == ("a",)
    assert named.notes[0] == MOST_ADVANTAGED_NOTE
    assert [g.is_reference for g in named.groups] == [True, False]


def test_most_advantaged_takes_the_largest_group_even_when_it_is_not_reliable() -> None:
    """No group has a rate to rank, so none is a candidate and the heaviest group is taken as
    with "largest", reliable or not: a (weight 10, 2 rows below the minimum 3), not b."""
    result = _tracks(_weighted_log(), weight="w", reference_rule="most_advantaged")
    reason = "the reference group has 2 people, below the minimum size"
    assert result.references == (
        ReferenceChoice(attributes=("g",), levels=("a",), intended=("a",), how="most_advantaged",
                        n_rows=2, reason=reason),
    )  # fmt: skip
    assert result.notes == (MOST_ADVANTAGED_NOTE, f"g: reference a kept, though {reason}")


def test_a_track_only_audit_keeps_the_track_labels_given_in_their_order() -> None:
    """Labels z, y, x with z a track no one got: the records follow that order and z has a
    count and share of 0 in both groups."""
    result = _tracks(_weighted_log(), track_labels=["z", "y", "x"])
    assert result.track_labels == ("z", "y", "x")
    assert [t.track for t in result.tracks if t.levels == ("b",)] == ["z", "y", "x"]
    zero = {t.levels: (t.count, t.share) for t in result.tracks if t.track == "z"}
    assert zero == {("a",): (0, 0.0), ("b",): (0, 0.0)}


def test_a_weighted_aggregate_uses_its_sums_of_squared_weights_for_the_effective_size() -> None:
    """Group a: x with weights 1 and 3, y with 2 and 2, so Σw = 8, Σw² = 18 and the Kish size
    is 64/18; its share of x is 4/8 with the Wilson interval on 64/18 people. Aggregated, the
    (a, x) row carries Σw² = 10 (not 4², the square of its weight sum): the same interval. The
    people's own audit gives it too."""
    people = pd.DataFrame(
        {
            "g": ["a", "a", "a", "a", "b", "b", "b", "b"],
            "t": ["x", "x", "y", "y", "x", "x", "x", "y"],
            "w": [1.0, 3.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    table = pd.DataFrame(
        {
            "g": ["a", "a", "b", "b"], "t": ["x", "y", "x", "y"], "n": [2, 2, 3, 1],
            "w": [4.0, 4.0, 3.0, 1.0], "wsq": [10.0, 8.0, 3.0, 1.0],
        }
    )  # fmt: skip
    tally = Tally(rows="n", weight_sq="wsq")
    expected = wilson(0.5, 64 / 18)
    for result in (_tracks(people, weight="w"), _tracks(table, weight="w", tally=tally)):
        (a_x,) = [t for t in result.tracks if t.levels == ("a",) and t.track == "x"]
        assert (a_x.share, a_x.ci_method) == (0.5, "wilson")
        assert (a_x.ci_low, a_x.ci_high) == pytest.approx(expected, abs=1e-12)
        assert (result.n_rows, result.total_weight) == (8, 12.0)


def _two_attributes() -> pd.DataFrame:
    """g × h cells: (a,u) 1 person, (a,v) 5, (b,u) 6, (b,v) 2; tracks alternate x, y."""
    cells = [("a", "u", 1), ("a", "v", 5), ("b", "u", 6), ("b", "v", 2)]
    frame = pd.DataFrame([{"g": g, "h": h} for g, h, count in cells for _ in range(count)])
    frame["t"] = np.where(np.arange(len(frame)) % 2 == 0, "x", "y")
    return frame


def test_an_intersection_reference_falls_back_when_its_own_cell_is_too_small() -> None:
    """References a and u are named; their cell (a,u) has 1 person, below 3. The fallback keeps
    one attribute at its reference, and of (a,v) and (b,u) takes the larger, (b,u) with 6; a
    note says what was intended and why. Every grouping's groups are listed with their sizes."""
    result = _tracks(
        _two_attributes(), groups=["g", "h"], intersections=2, reference={"g": "a", "h": "u"}
    )
    reason = "that group has 1 people, below the minimum size 3"
    assert result.references == (
        ReferenceChoice(attributes=("g",), levels=("a",), intended=("a",), how="named",
                        n_rows=6, reason=None),
        ReferenceChoice(attributes=("h",), levels=("u",), intended=("u",), how="named",
                        n_rows=7, reason=None),
        ReferenceChoice(attributes=("g", "h"), levels=("b", "u"), intended=("a", "u"),
                        how="fallback", n_rows=6, reason=reason),
    )  # fmt: skip
    assert result.notes == (f"g × h: reference b × u instead of a × u ({reason})",)
    sizes = [(g.attributes, g.levels, g.n_rows, g.reliable, g.is_reference) for g in result.groups]
    assert sizes == [
        (("g",), ("a",), 6, True, True), (("g",), ("b",), 8, True, False),
        (("h",), ("u",), 7, True, True), (("h",), ("v",), 7, True, False),
        (("g", "h"), ("a", "u"), 1, False, False), (("g", "h"), ("a", "v"), 5, True, False),
        (("g", "h"), ("b", "u"), 6, True, True), (("g", "h"), ("b", "v"), 2, False, False),
    ]  # fmt: skip
    pair = {t.levels for t in result.tracks if t.attributes == ("g", "h")}
    assert pair == {("a", "u"), ("a", "v"), ("b", "u"), ("b", "v")}
    assert {t.reference_levels for t in result.tracks if t.attributes == ("g", "h")} == {("b", "u")}


def test_an_intersection_reference_is_composed_of_its_attributes_own() -> None:
    """Unnamed, g's largest group is b (8) and h's is a tie of 7 and 7: the first, u. Their
    cell (b,u) has 6 people: it is the pair's reference, composed, with no note."""
    result = _tracks(_two_attributes(), groups=["g", "h"], intersections=2)
    assert [(r.levels, r.how, r.n_rows) for r in result.references] == [
        (("b",), "largest", 8), (("u",), "largest", 7), (("b", "u"), "composed", 6),
    ]  # fmt: skip
    assert result.references[2].reason is None and result.notes == ()


def test_notes_come_in_order_reference_rule_then_group_bins_then_factor_bins() -> None:
    """The reference-rule note first, then the note of the binned group column, then that of
    the binned factor. Ages 20, 25, …, 55 in 2 quantile bins ("higher" quantiles 20, 40, 55):
    [20, 40) and [40, 55]; the factor 1..8 in 2 bins: [1, 5) and [5, 8]."""
    frame = pd.DataFrame(
        {
            "age": [20, 25, 30, 35, 40, 45, 50, 55],
            "f": [1, 2, 3, 4, 5, 6, 7, 8],
            "t": ["x", "y"] * 4,
        }
    )
    result = _tracks(
        frame,
        groups=["age"],
        group_bins={"age": 2},
        legitimate_factors=["f"],
        factor_bins={"f": 2},
        reference_rule="most_advantaged",
        min_group_size=1,
    )
    assert result.notes == (
        MOST_ADVANTAGED_NOTE,
        "attribute 'age' cut at its quantiles into 2 groups [20, 40), [40, 55]",
        "legitimate factor 'f' cut at its quantiles into 2 bins [1, 5), [5, 8]",
    )


# --- a track-only audit: refused inputs ---------------------------------------------------------------


def test_an_empty_track_log_is_refused_as_empty_whatever_else_is_missing() -> None:
    """No row: refused as an empty table, with what to check; even with no group column."""
    empty = pd.DataFrame({"g": pd.Series([], dtype=str), "t": pd.Series([], dtype=str)})
    expected = (
        "decisions table: expected at least one row; found an empty table.\n"
        "Hint: check the file and any filter applied before the audit"
    )
    assert _message(lambda: _tracks(empty)) == expected
    assert _message(lambda: _tracks(empty, groups=[])) == expected


def test_a_track_log_without_group_columns_is_refused_saying_it_found_none() -> None:
    assert _message(lambda: _tracks(_weighted_log(), groups=[])) == (
        "group columns: expected at least one sensitive attribute to compare groups by; found "
        "none.\nHint: name one or more group columns (--group COL)"
    )


def test_a_missing_group_or_weight_column_is_named_with_the_columns_there_are() -> None:
    assert _message(lambda: _tracks(_weighted_log(), groups=["nope"])) == (
        "group column 'nope': expected a column of the data; found no such column (columns "
        "are: g, t, w).\nHint: pass the name of the column that holds the group"
    )
    assert _message(lambda: _tracks(_weighted_log(), weight="mass")) == (
        "weight column 'mass': expected a column of the data; found no such column (columns "
        "are: g, t, w).\nHint: pass the name of the column that holds the weight"
    )


def test_too_many_groups_are_refused_but_a_factor_may_have_more_levels() -> None:
    """max_levels 2: a group column with 3 values is refused; a legitimate factor with 3 levels
    (not a group column) is not held to it."""
    frame = pd.DataFrame(
        {"g": ["a", "b", "c"] * 4, "f": ["p", "q", "r"] * 4, "t": ["x", "x", "y"] * 4}
    )
    with pytest.raises(AuditInputError) as err:
        _tracks(frame, max_levels=2)
    assert err.value.subject == "group column 'g'"
    assert err.value.expected == "at most 2 groups (distinct values) to compare"
    two = frame.assign(g=["a", "b"] * 6)
    result = _tracks(two, max_levels=2, legitimate_factors=["f"])
    assert {w.factor_level for w in result.track_within_strata} == {"p", "q", "r"}


# --- legitimate factors that cannot stratify -------------------------------------------------------


CONSTANT_FIX = "remove it from legitimate_factors: a constant explains no gap"
ID_EXPECTED = "levels shared by several people, to compare people within a level"
ID_FIX = "use a coarser column (categories or bands), not an identifier or a continuous value"


def _binary(frame: pd.DataFrame, **options: object) -> Assessment:
    settings: dict[str, object] = dict(
        y_true="y", y_pred="d", groups=["g"], n_boot=0, min_group_size=1, min_denominator=1
    )
    settings.update(options)
    return assess(frame, **settings)  # type: ignore[arg-type]


def _people(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "g": ["a", "b"] * (n // 2),
            "y": [0, 1, 1, 0] * (n // 4),
            "d": [1, 1, 0, 0] * (n // 4),
            "t": ["x", "y", "y", "x"] * (n // 4),
        }
    )


@pytest.mark.parametrize("audit", [_binary, _tracks], ids=["binary", "tracks"])
def test_a_constant_factor_is_refused_naming_its_one_value(
    audit: Callable[..., Assessment],
) -> None:
    """A categorical factor declaring levels j and k where everyone is k: refused, naming k
    (the value people have, not the first declared one)."""
    frame = _people(8).assign(f=pd.Categorical(["k"] * 8, categories=["j", "k"]))
    assert _message(lambda: audit(frame, legitimate_factors=["f"])) == (
        f"legitimate factor 'f': expected at least two values; found a single value 'k'.\n"
        f"Hint: {CONSTANT_FIX}"
    )


@pytest.mark.parametrize("audit", [_binary, _tracks], ids=["binary", "tracks"])
def test_an_identifier_factor_is_refused_with_the_number_of_rows(
    audit: Callable[..., Assessment],
) -> None:
    """A factor with a different value for each of the 4 people is refused, with the count."""
    frame = _people(4).assign(f=["id0", "id1", "id2", "id3"])
    assert _message(lambda: audit(frame, legitimate_factors=["f"])) == (
        f"legitimate factor 'f': expected {ID_EXPECTED}; found a different value in each of the "
        f"4 rows.\nHint: {ID_FIX}"
    )


def test_two_people_with_two_values_are_already_an_identifier() -> None:
    """The smallest table the identifier check applies to: 2 people, 2 values (one person
    alone has a single value, refused as a constant)."""
    frame = pd.DataFrame({"g": ["a", "b"], "t": ["x", "y"], "f": ["p", "q"]})
    assert _message(lambda: _tracks(frame, legitimate_factors=["f"])) == (
        f"legitimate factor 'f': expected {ID_EXPECTED}; found a different value in each of the "
        f"2 rows.\nHint: {ID_FIX}"
    )


def test_a_factor_level_shared_by_two_people_is_a_stratum() -> None:
    """f = p, p, q, r, …: level p holds two people, so f is not an identifier; the audit runs
    and p is one of its strata."""
    frame = _people(8).assign(f=["p", "p", "q", "r", "s", "t", "u", "v"])
    result = _tracks(frame, legitimate_factors=["f"], min_group_size=1)
    assert "p" in {w.factor_level for w in result.track_within_strata}
    binary = _binary(frame, legitimate_factors=["f"])
    assert binary.conditional  # compared within the strata of f


def test_an_aggregate_checks_factors_by_the_people_its_rows_stand_for() -> None:
    """An aggregated track log: rows standing for 3, 2, 0 people with factor values p, q, r.
    Two people share q and three p: f is a stratum, not an identifier. With 1, 1, 0 people
    it is an identifier of 2 people (not 3 rows). With 3, 0 people on p and q it is constant,
    with the single value p."""
    frame = pd.DataFrame(
        {"g": ["a", "b", "a"], "t": ["x", "y", "y"], "f": ["p", "q", "r"], "n": [3, 2, 0]}
    )
    tally = Tally(rows="n")
    result = _tracks(frame, legitimate_factors=["f"], tally=tally, min_group_size=1)
    assert result.n_rows == 5
    ones = frame.assign(n=[1, 1, 0])
    assert _message(lambda: _tracks(ones, legitimate_factors=["f"], tally=tally)) == (
        f"legitimate factor 'f': expected {ID_EXPECTED}; found a different value in each of the "
        f"2 rows.\nHint: {ID_FIX}"
    )
    constant = pd.DataFrame(
        {"g": ["a", "b", "a"], "t": ["x", "y", "x"], "f": ["p", "p", "q"], "n": [1, 2, 0]}
    )
    assert _message(lambda: _tracks(constant, legitimate_factors=["f"], tally=tally)) == (
        f"legitimate factor 'f': expected at least two values; found a single value 'p'.\n"
        f"Hint: {CONSTANT_FIX}"
    )


# --- tracks beside a binary decision -------------------------------------------------------------


@pytest.mark.parametrize("factors", [[], ["f"]], ids=["plain", "with-factors"])
def test_a_binary_audit_keeps_the_track_labels_given_in_their_order(factors: list[str]) -> None:
    """Track labels z, y, x (z a track no one got): the track records follow that order and z
    has a share of 0 in every group, with or without legitimate factors."""
    frame = _people(16).assign(f=["p", "p", "q", "q"] * 4)
    result = _binary(frame, track="t", track_labels=["z", "y", "x"], legitimate_factors=factors)
    assert result.track_labels == ("z", "y", "x")
    assert [t.track for t in result.tracks if t.levels == ("a",)] == ["z", "y", "x"]
    zero = {t.levels: (t.count, t.share) for t in result.tracks if t.track == "z"}
    assert zero == {("a",): (0, 0.0), ("b",): (0, 0.0)}
    if factors:
        assert {c.track for c in result.track_conditional} == {"z", "y", "x"}


def test_a_weighted_binary_audit_weights_its_track_shares() -> None:
    """The track shares of a weighted binary audit are weight shares, not row shares. Weights
    3, 1, 1, 3 on tracks x, y, y, x (repeated): group a (rows 0, 2, …) has x with weight 3·2
    and y with 1·2, a share 3/4 of x; so has b (rows 1, 3, …). Unweighted both are 1/2."""
    frame = _people(8).assign(w=[3.0, 1.0, 1.0, 3.0] * 2)
    weighted = _binary(frame, track="t", weight="w")
    assert {(t.levels[0], t.track): t.share for t in weighted.tracks} == {
        ("a", "x"): 0.75, ("a", "y"): 0.25, ("b", "x"): 0.75, ("b", "y"): 0.25,
    }  # fmt: skip
    plain = _binary(frame, track="t")
    assert {t.share for t in plain.tracks} == {0.5}
