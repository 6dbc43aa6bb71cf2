"""Track shares (multiclass decisions): every track by group, against hand computations,
fairlearn, and data with a known answer both ways.

A track recommender sends each person to one of several tracks. Steering one group toward one
track must be found there and only there; with no steering the corrected tests must raise
false alarms no more often than the correction promises; a tiny group is reported and never
decides.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from scipy import stats

from audit.metrics import intervals
from audit.stats.assess import assess, assess_track_counts
from audit.stats.encoding import encode_attribute
from audit.stats.result import Assessment
from audit.stats.tracks import TrackCounts, count_tracks, track_records

TRACKS = ("job_search", "upskilling", "sheltered_work", "care_pathway")
BASE = np.array([0.5, 0.3, 0.1, 0.1])


def _log(
    n: int,
    seed: int,
    *,
    steer: dict[str, float] | None = None,
    small: int = 0,
) -> pd.DataFrame:
    """A recommendation log: three attributes, four tracks with shares BASE for everyone.

    `steer` moves that much probability from job_search to sheltered_work for the people of
    "attribute=level". `small` adds that many people of a tiny region, all to sheltered_work.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "gender": rng.choice(["f", "m"], n),
            "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "psych": rng.choice(["no", "yes"], n, p=[0.75, 0.25]),
        }
    )
    p = np.tile(BASE, (n, 1))
    for key, delta in (steer or {}).items():
        col, level = key.split("=")
        hit = (frame[col] == level).to_numpy()
        p[hit, 0] -= delta
        p[hit, 2] += delta
    u = rng.random(n)[:, None]
    frame["advised"] = np.asarray(TRACKS)[(u > p.cumsum(axis=1)).sum(axis=1)]
    if small:
        tiny = pd.DataFrame(
            {"gender": "f", "region": "islands", "psych": "no", "advised": ["sheltered_work"] * small}
        )
        frame = pd.concat([frame, tiny], ignore_index=True)
    return frame


def _tracks(frame: pd.DataFrame, **options: object) -> Assessment:
    settings: dict[str, object] = dict(
        y_true="unused",
        y_pred=None,
        groups=["gender", "region", "psych"],
        track="advised",
        reference={"psych": "no", "region": "north", "gender": "f"},
        n_boot=0,
    )
    settings.update(options)
    return assess(frame, **settings)  # type: ignore[arg-type]


def test_shares_of_each_group_sum_to_one_and_are_counts_over_size() -> None:
    frame = _log(3000, 1)
    weights = np.random.default_rng(2).lognormal(0, 0.5, len(frame))
    for result in (
        _tracks(frame, intersections=3),
        _tracks(frame.assign(w=weights), intersections=2, weight="w"),
    ):
        table = result.to_frame("tracks")
        assert set(table.track) == set(TRACKS)
        sums = table.groupby(["grouping", "group"]).share.sum()
        np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
        assert (table.groupby(["grouping", "group"])["count"].sum()
                == table.groupby(["grouping", "group"]).n_rows.first()).all()  # fmt: skip
        # every group of every grouping, once per track
        assert len(table) == len(TRACKS) * len(result.groups)
    unweighted = _tracks(frame).to_frame("tracks")
    np.testing.assert_allclose(unweighted.share, unweighted["count"] / unweighted.n_rows)


def test_shares_and_gaps_match_fairlearn_and_a_hand_computation() -> None:
    frame = _log(2500, 3, steer={"psych=yes": 0.1})
    result = _tracks(frame, intersections=2)
    for track in TRACKS:
        chosen = (frame.advised == track).astype(int)
        for features in (["psych"], ["region"], ["gender", "psych"]):
            mf = MetricFrame(
                metrics=selection_rate,
                y_true=chosen,
                y_pred=chosen,
                sensitive_features=frame[features],
            )
            by_group = mf.by_group
            for index, rate in by_group.items():
                levels = index if isinstance(index, tuple) else (index,)
                ours = result.track_share(track, tuple(features), tuple(map(str, levels)))
                assert ours.share == pytest.approx(rate, abs=1e-12)
    # One comparison by hand: Wilson, Newcombe, Katz and the pooled two-proportion z test.
    yes = frame[frame.psych == "yes"]
    no = frame[frame.psych == "no"]
    k1, n1 = int((yes.advised == "sheltered_work").sum()), len(yes)
    k2, n2 = int((no.advised == "sheltered_work").sum()), len(no)
    p1, p2 = k1 / n1, k2 / n2
    record = result.track_share("sheltered_work", ("psych",), ("yes",))
    assert (record.count, record.n_rows) == (k1, n1)
    z = stats.norm.ppf(0.975)
    centre = (p1 + z * z / (2 * n1)) / (1 + z * z / n1)
    half = z / (1 + z * z / n1) * math.sqrt(p1 * (1 - p1) / n1 + z * z / (4 * n1 * n1))
    assert (record.ci_low, record.ci_high) == pytest.approx((centre - half, centre + half))
    assert record.ci_method == "wilson"
    assert record.difference == pytest.approx(p1 - p2)
    low, high = intervals.newcombe(np.array(p1), np.array(n1), np.array(p2), np.array(n2), 0.95)
    assert (record.difference_ci_low, record.difference_ci_high) == pytest.approx((low, high))
    assert record.ratio == pytest.approx(p1 / p2)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    katz = (p1 / p2 * math.exp(-z * se), p1 / p2 * math.exp(z * se))
    assert (record.ratio_ci_low, record.ratio_ci_high) == pytest.approx(katz)
    pooled = (k1 + k2) / (n1 + n2)
    zstat = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert record.p_value == pytest.approx(2 * stats.norm.sf(abs(zstat)))
    reference = result.track_share("sheltered_work", ("psych",), ("no",))
    assert reference.is_reference and reference.difference is None and reference.p_value is None


def test_steering_toward_one_track_is_found_for_that_group_and_only_there() -> None:
    frame = _log(6000, 4, steer={"psych=yes": 0.12})
    result = _tracks(frame, intersections=2)
    found = result.track_share("sheltered_work", ("psych",), ("yes",))
    assert found.significant and found.difference is not None and found.difference > 0.08
    assert found.difference_ci_low is not None and found.difference_ci_low > 0
    for t in result.tracks:
        if t.significant:
            # every finding involves the steered group: psych=yes (its other tracks shrink
            # with it, as shares must), never a comparison among the others
            assert "psych" in t.attributes
            assert t.levels[t.attributes.index("psych")] == "yes", t
    # the groupings without psych find nothing
    assert not any(t.significant for t in result.tracks if "psych" not in t.attributes)


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_no_steering_false_alarms_at_most_at_the_corrected_rate(correction: str) -> None:
    """Under no steering Holm bounds the chance of any false alarm by alpha (and BH, with all
    nulls true, likewise); the observed rate over R audits may exceed alpha by sampling error
    only: 3 binomial standard errors."""
    runs, alpha = 150, 0.05
    alarms = uncorrected = tests = 0
    for seed in range(runs):
        result = _tracks(_log(600, 100 + seed), intersections=2, correction=correction)
        alarms += any(t.significant for t in result.tracks)
        tested = [t for t in result.tracks if t.p_adjusted is not None]
        tests += len(tested)
        uncorrected += sum(t.p_value is not None and t.p_value < alpha for t in tested)
    limit = alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)
    assert alarms / runs <= limit
    # The uncorrected tests do reject about alpha of the time each: the correction is what
    # keeps the family quiet (and the data are able to raise alarms at all).
    per_test = uncorrected / tests
    assert abs(per_test - alpha) <= 3 * math.sqrt(alpha * (1 - alpha) / runs) + 0.01
    assert uncorrected / runs > 5 * alarms / runs or alarms == 0


def test_a_tiny_group_is_reported_but_not_deciding() -> None:
    frame = _log(3000, 5, small=12)
    result = _tracks(frame)
    tiny = result.track_share("sheltered_work", ("region",), ("islands",))
    assert tiny.n_rows == 12 and tiny.share == 1.0
    assert tiny.ci_method == "wilson" and tiny.ci_low is not None and tiny.ci_low < 1.0
    assert not tiny.reliable and tiny.p_adjusted is None and tiny.significant is None
    assert tiny.p_value is not None and tiny.p_value < 1e-6  # its test is reported, not counted


def test_bootstrap_intervals_for_large_groups_analytic_for_small() -> None:
    frame = _log(4000, 6, small=15)
    result = _tracks(frame, n_boot=300)
    methods = {(t.levels, t.track): t.ci_method for t in result.tracks if t.attributes == ("region",)}
    assert methods[(("north",), "job_search")] == "bootstrap"
    assert methods[(("islands",), "job_search")] == "wilson"  # 15 people, share 0
    for t in result.tracks:
        assert t.ci_low is not None and t.ci_high is not None and t.share is not None
        assert t.ci_low <= t.share <= t.ci_high
        if t.difference is not None:
            assert t.difference_ci_low is not None and t.difference_ci_high is not None
            assert t.difference_ci_low <= t.difference <= t.difference_ci_high


def test_statistics_come_from_the_count_table_alone() -> None:
    """The engine boundary: a TrackCounts made elsewhere (here by hand from the rows) gives the
    same records as `assess` on the rows."""
    frame = _log(2000, 7)
    result = _tracks(frame, intersections=2)
    names = ["gender", "region", "psych"]
    levels = [tuple(sorted(frame[c].unique())) for c in names]
    tracks = tuple(sorted(TRACKS))
    n = np.zeros((*map(len, levels), len(tracks)), dtype=np.int64)
    for row in frame.itertuples(index=False):
        cell = tuple(levels[i].index(getattr(row, c)) for i, c in enumerate(names))
        n[(*cell, tracks.index(row.advised))] += 1
    counts = TrackCounts(tuple(names), tuple(levels), tracks, n, n.astype(float))
    settings = result.settings
    references = {r.attributes: r.levels for r in result.references}
    assert track_records(counts, settings, references) == result.tracks
    bare = replace(result, tracks=(), track_labels=())
    assert assess_track_counts(bare, counts) == result
    via_bincount = count_tracks(
        [encode_attribute(frame[c]) for c in names], encode_attribute(frame.advised)
    )
    np.testing.assert_array_equal(via_bincount.n, n)


def test_binary_results_are_unchanged_when_tracks_are_added() -> None:
    frame = _log(3000, 8).assign(
        y=lambda f: np.random.default_rng(9).integers(0, 2, len(f)),
        d=lambda f: (f.advised == "sheltered_work").astype(int),
    )
    options = dict(y_true="y", y_pred="d", groups=["gender", "region"], n_boot=200, intersections=2)
    plain = assess(frame, **options)  # type: ignore[arg-type]
    both = assess(frame, **options, track="advised")  # type: ignore[arg-type]
    assert both.tracks and not plain.tracks
    stripped = replace(
        both, settings=plain.settings, tracks=(), track_conditional=(), track_labels=()
    )
    assert stripped == plain
    # The binary view of one track is that track's record.
    for d in plain.disparities:
        if d.metric == "selection_rate" and d.kind == "difference":
            t = both.track_share("sheltered_work", d.attributes, d.levels)
            assert t.difference == pytest.approx(d.value, abs=1e-12)
            assert t.p_value == pytest.approx(d.p_value, rel=1e-9)


def _factor_log(n: int, seed: int, *, within: float) -> pd.DataFrame:
    """psych=yes people have low education more often, and low education goes to sheltered
    work more often; `within` adds steering of psych=yes within each education level."""
    rng = np.random.default_rng(seed)
    psych = rng.random(n) < 0.3
    low = rng.random(n) < np.where(psych, 0.7, 0.3)
    p_sheltered = np.where(low, 0.3, 0.05) + within * psych
    u = rng.random(n)
    advised = np.where(u < p_sheltered, "sheltered_work", np.where(u < 0.6, "job_search", "upskilling"))
    return pd.DataFrame(
        {
            "psych": np.where(psych, "yes", "no"),
            "education": np.where(low, "low", "high"),
            "advised": advised,
        }
    )


@pytest.mark.parametrize("within", [0.0, 0.1])
def test_conditional_track_gap_within_strata_of_legitimate_factors(within: float) -> None:
    frame = _factor_log(6000, 10, within=within)
    result = assess(
        frame,
        y_true="unused",
        y_pred=None,
        groups=["psych"],
        track="advised",
        reference={"psych": "no"},
        legitimate_factors=["education"],
        n_boot=200,
    )
    plain = result.track_share("sheltered_work", ("psych",), ("yes",))
    assert plain.significant  # composition alone makes a plain gap
    cond = next(
        c for c in result.track_conditional if c.track == "sheltered_work" and c.levels == ("yes",)
    )
    assert cond.factors == ("education",)
    # by hand: the group's own education mix, times the within-level gaps
    yes, no = frame[frame.psych == "yes"], frame[frame.psych == "no"]
    expected = 0.0
    for level in ("low", "high"):
        weight = (yes.education == level).mean()
        gap = (yes[yes.education == level].advised == "sheltered_work").mean() - (
            no[no.education == level].advised == "sheltered_work"
        ).mean()
        expected += weight * gap
    assert cond.value == pytest.approx(expected, abs=1e-12)
    assert cond.unconditional == pytest.approx(plain.difference, abs=1e-12)
    assert cond.ci_low is not None and cond.ci_high is not None
    if within == 0.0:
        assert not cond.significant and cond.ci_low <= 0 <= cond.ci_high
    else:
        assert cond.significant and cond.ci_low > 0.05


def test_track_inputs_that_cannot_be_audited_are_refused() -> None:
    from audit.errors import AuditInputError
    from audit.stats.tracks import check_track_table_size

    frame = _log(500, 11)
    counts = count_tracks([encode_attribute(frame.region)], encode_attribute(frame.advised))
    with pytest.raises(AuditInputError, match="track bootstrap replicates within"):
        check_track_table_size(counts, 1000, limit=10_000)
    check_track_table_size(counts, 0, limit=10_000)  # no replicates: nothing to hold
    with pytest.raises(AuditInputError, match="a recommended track in every row"):
        _tracks(frame.assign(advised=frame.advised.where(frame.index != 3)))
    with pytest.raises(AuditInputError, match="at least two different tracks"):
        _tracks(frame.assign(advised="job_search"))


def test_track_shares_within_each_factor_level_match_fairlearn_control_features() -> None:
    from audit.disclosure import suppress

    frame = _factor_log(3000, 12, within=0.1)
    # a few psych=yes people in a third education level: too few to publish their rates
    extra = pd.DataFrame({"psych": ["yes"] * 4 + ["no"] * 40, "education": "none",
                          "advised": ["sheltered_work"] * 44})  # fmt: skip
    frame = pd.concat([frame, extra], ignore_index=True)
    result = assess(
        frame,
        y_true="unused",
        y_pred=None,
        groups=["psych"],
        track="advised",
        reference={"psych": "no"},
        legitimate_factors=["education"],
        n_boot=0,
    )
    rows = {(w.track, w.levels[0], w.factor_level): w for w in result.track_within_strata}
    assert {w.metric for w in result.track_within_strata} == {"track_share"}
    for track in ("sheltered_work", "job_search", "upskilling"):
        chosen = (frame.advised == track).astype(int)
        mf = MetricFrame(
            metrics=selection_rate,
            y_true=chosen,
            y_pred=chosen,
            sensitive_features=frame.psych,
            control_features=frame.education,
        )
        for (level, group), rate in mf.by_group.items():
            assert rows[(track, group, level)].value == pytest.approx(rate, abs=1e-12)
        high = rows[(track, "yes", "high")]
        assert high.difference == pytest.approx(
            high.value - rows[(track, "no", "high")].value, abs=1e-12
        )
    published = suppress(result)
    shown = {(w.track, w.levels[0], w.factor_level): w for w in published.track_within_strata}
    tiny = shown[("sheltered_work", "yes", "none")]
    assert tiny.suppressed and tiny.value is None and tiny.n_rows is None
    # one withheld term of the pooled conditional gap: a second one is withheld with it
    others = [shown[("sheltered_work", "yes", lv)] for lv in ("high", "low")]
    assert sum(w.difference is None for w in others) == 1
