"""Metric names of the track records, written out by hand from the scheme of audit.tracking.naming.

A multiclass audit logs, for each group and track, `track_share.<track>` with its interval and,
for a group other than the reference, `.difference` (with interval and `.p_adjusted`) and
`.ratio` (with interval); within legitimate factors, `track_share.<track>.conditional_difference`
with its interval. The track is spelled like an attribute name (its `.` escaped as `_x2e`), the
group path like any other (`attribute.level/...`, `<` escaped as `_x3c`). Every name below is
typed out from that description, and every value is the field of the record it must come from.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess
from audit.stats.result import Assessment, TrackConditional, TrackShare
from audit.tracking.naming import MetricKey, flatten_metrics, metric_entries, metric_key_document
from audit.tracking.naming import safe as safe_level

TRACK = "sheltered.work"  # a `.` in a track must not end the stem's track part
ATTRS = ("housing", "age")
REF = ("housed", "25-44")
GROUP = ("homeless", "<25")
REF_PATH = "housing.housed/age.25-44"
GROUP_PATH = "housing.homeless/age._x3c25"


@pytest.fixture(scope="module")
def empty() -> Assessment:
    """A real assessment from a tiny audit, emptied of every record that is logged."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "team": np.repeat(["a", "b"], 40),
            "hired": rng.integers(0, 2, 80),
            "offer": rng.integers(0, 2, 80),
        }
    )
    a = assess(frame, y_true="hired", y_pred="offer", groups=["team"], n_boot=0)
    return replace(a, metrics=(), disparities=(), conditional=(), summaries=())


REFERENCE_SHARE = TrackShare(
    attributes=ATTRS,
    levels=REF,
    track=TRACK,
    reference_levels=REF,
    is_reference=True,
    n_rows=200,
    count=80,
    share=0.4,
    ci_low=0.34,
    ci_high=0.47,
    # a reference is compared with itself: these are never logged
    difference=0.0,
    difference_ci_low=-0.01,
    difference_ci_high=0.01,
    ratio=1.0,
    ratio_ci_low=0.99,
    ratio_ci_high=1.01,
    p_value=1.0,
    p_adjusted=1.0,
    reliable=True,
)
GROUP_SHARE = TrackShare(
    attributes=ATTRS,
    levels=GROUP,
    track=TRACK,
    reference_levels=REF,
    is_reference=False,
    n_rows=100,
    count=25,
    share=0.25,
    ci_low=0.18,
    ci_high=0.33,
    difference=-0.15,
    difference_ci_low=-0.26,
    difference_ci_high=-0.04,
    ratio=0.625,
    ratio_ci_low=0.44,
    ratio_ci_high=0.89,
    p_value=0.011,
    p_adjusted=0.022,
    reliable=True,
)
GROUP_CONDITIONAL = TrackConditional(
    attributes=ATTRS,
    levels=GROUP,
    track=TRACK,
    reference_levels=REF,
    factors=("region",),
    value=-0.12,
    unconditional=-0.15,
    ci_low=-0.2,
    ci_high=-0.05,
    p_value=0.003,
    p_adjusted=0.006,
    reliable=True,
)

STEM = "track_share.sheltered_x2ework"
EXPECTED = {
    f"{STEM}/{REF_PATH}": 0.4,
    f"{STEM}.ci_low/{REF_PATH}": 0.34,
    f"{STEM}.ci_high/{REF_PATH}": 0.47,
    f"{STEM}/{GROUP_PATH}": 0.25,
    f"{STEM}.ci_low/{GROUP_PATH}": 0.18,
    f"{STEM}.ci_high/{GROUP_PATH}": 0.33,
    f"{STEM}.difference/{GROUP_PATH}": -0.15,
    f"{STEM}.difference.ci_low/{GROUP_PATH}": -0.26,
    f"{STEM}.difference.ci_high/{GROUP_PATH}": -0.04,
    f"{STEM}.difference.p_adjusted/{GROUP_PATH}": 0.022,
    f"{STEM}.ratio/{GROUP_PATH}": 0.625,
    f"{STEM}.ratio.ci_low/{GROUP_PATH}": 0.44,
    f"{STEM}.ratio.ci_high/{GROUP_PATH}": 0.89,
    f"{STEM}.conditional_difference/{GROUP_PATH}": -0.12,
    f"{STEM}.conditional_difference.ci_low/{GROUP_PATH}": -0.2,
    f"{STEM}.conditional_difference.ci_high/{GROUP_PATH}": -0.05,
}


def _share(kind: str | None, field: str, levels: tuple[str, ...]) -> MetricKey:
    return MetricKey("tracks", "track_share", kind, field, ATTRS, levels, TRACK)  # type: ignore[arg-type]


EXPECTED_WHAT = {
    f"{STEM}/{REF_PATH}": _share(None, "value", REF),
    f"{STEM}.ci_low/{REF_PATH}": _share(None, "ci_low", REF),
    f"{STEM}.ci_high/{REF_PATH}": _share(None, "ci_high", REF),
    f"{STEM}/{GROUP_PATH}": _share(None, "value", GROUP),
    f"{STEM}.ci_low/{GROUP_PATH}": _share(None, "ci_low", GROUP),
    f"{STEM}.ci_high/{GROUP_PATH}": _share(None, "ci_high", GROUP),
    f"{STEM}.difference/{GROUP_PATH}": _share("difference", "value", GROUP),
    f"{STEM}.difference.ci_low/{GROUP_PATH}": _share("difference", "ci_low", GROUP),
    f"{STEM}.difference.ci_high/{GROUP_PATH}": _share("difference", "ci_high", GROUP),
    f"{STEM}.difference.p_adjusted/{GROUP_PATH}": _share("difference", "p_adjusted", GROUP),
    f"{STEM}.ratio/{GROUP_PATH}": _share("ratio", "value", GROUP),
    f"{STEM}.ratio.ci_low/{GROUP_PATH}": _share("ratio", "ci_low", GROUP),
    f"{STEM}.ratio.ci_high/{GROUP_PATH}": _share("ratio", "ci_high", GROUP),
    **{
        f"{STEM}.conditional_difference{suffix}/{GROUP_PATH}": MetricKey(
            "track_conditional",
            "track_share",
            "conditional_difference",
            field,  # type: ignore[arg-type]
            ATTRS,
            GROUP,
            TRACK,
        )
        for field, suffix in (("value", ""), ("ci_low", ".ci_low"), ("ci_high", ".ci_high"))
    },
}


@pytest.fixture(scope="module")
def with_tracks(empty: Assessment) -> Assessment:
    return replace(
        empty,
        track_labels=(TRACK, "other"),
        tracks=(REFERENCE_SHARE, GROUP_SHARE),
        track_conditional=(GROUP_CONDITIONAL,),
    )


def test_track_figures_are_flattened_under_their_documented_names(with_tracks: Assessment) -> None:
    """Each share, gap, ratio and conditional gap of a track is one metric, named by hand above,
    holding its record's own figure; a reference group logs its share only."""
    assert flatten_metrics(with_tracks) == EXPECTED


def test_each_track_key_says_which_record_and_figure_it_holds(with_tracks: Assessment) -> None:
    """metric_entries pairs every track key with the table, kind, field, group and (raw) track
    of the figure it holds, so that a key can be traced back to its record."""
    entries = list(metric_entries(with_tracks))
    assert {key: value for key, value, _ in entries} == EXPECTED
    assert {key: what for key, _, what in entries} == EXPECTED_WHAT
    assert len(entries) == len(EXPECTED)


def test_key_document_names_the_track_of_track_figures(with_tracks: Assessment) -> None:
    """metric_keys.json describes a track figure with its track, as JSON lists."""
    keys = json.loads(metric_key_document(with_tracks))["keys"]
    assert keys[f"{STEM}.ratio.ci_low/{GROUP_PATH}"] == {
        "table": "tracks",
        "metric": "track_share",
        "kind": "ratio",
        "field": "ci_low",
        "attributes": ["housing", "age"],
        "levels": ["homeless", "<25"],
        "track": "sheltered.work",
    }
    assert keys[f"{STEM}.conditional_difference.ci_high/{GROUP_PATH}"] == {
        "table": "track_conditional",
        "metric": "track_share",
        "kind": "conditional_difference",
        "field": "ci_high",
        "attributes": ["housing", "age"],
        "levels": ["homeless", "<25"],
        "track": "sheltered.work",
    }
    assert set(keys) == set(EXPECTED)


def test_undefined_track_figures_are_left_out(empty: Assessment) -> None:
    """A missing or non-finite figure of a track record is not logged; the others still are."""
    share = replace(
        GROUP_SHARE, ci_low=None, ci_high=None, ratio=float("inf"), p_adjusted=float("nan")
    )
    conditional = replace(GROUP_CONDITIONAL, value=None, ci_low=None)
    assessment = replace(empty, tracks=(share,), track_conditional=(conditional,))
    expected = {
        f"{STEM}/{GROUP_PATH}": 0.25,
        f"{STEM}.difference/{GROUP_PATH}": -0.15,
        f"{STEM}.difference.ci_low/{GROUP_PATH}": -0.26,
        f"{STEM}.difference.ci_high/{GROUP_PATH}": -0.04,
        f"{STEM}.ratio.ci_low/{GROUP_PATH}": 0.44,
        f"{STEM}.ratio.ci_high/{GROUP_PATH}": 0.89,
        f"{STEM}.conditional_difference.ci_high/{GROUP_PATH}": -0.05,
    }
    assert flatten_metrics(assessment) == expected
    assert {key: value for key, value, _ in metric_entries(assessment)} == expected


def test_safe_spells_a_level_as_it_appears_in_a_key() -> None:
    """`safe` is the key spelling of a level: plain labels unchanged, others escaped per byte."""
    assert safe_level("homeless") == "homeless"
    assert safe_level("<25") == "_x3c25"
    assert safe_level("a.b") == "a.b"  # a level may keep its dots (only attribute names escape)
    assert safe_level("Zürich") == "Z_xc3_xbcrich"
    assert safe_level("") == "_x"


def test_a_track_audit_logs_its_shares_gaps_and_conditional_gaps_only() -> None:
    """A real two-team, two-track audit with one legitimate factor: every figure of its track
    records under the hand-written name, read from the record; the within-strata shares are
    not logged (they stay in the JSON result)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "team": np.repeat(["a", "b"], 150),
            "region": rng.choice(["n", "s"], 300),
            "plan": rng.choice(["job.search", "training"], 300),
        }
    )
    a = assess(
        frame,
        y_true=None,
        y_pred=None,
        groups=["team"],
        track="plan",
        legitimate_factors=["region"],
        n_boot=0,
    )
    assert a.track_within_strata  # present in the result, absent from the metrics
    share = {(t.track, t.levels): t for t in a.tracks}
    cond = {(c.track, c.levels): c for c in a.track_conditional}
    expected = {}
    for track, spelled in (("job.search", "job_x2esearch"), ("training", "training")):
        ref, b, c = share[track, ("a",)], share[track, ("b",)], cond[track, ("b",)]
        stem = f"track_share.{spelled}"
        expected |= {
            f"{stem}/team.a": ref.share,
            f"{stem}.ci_low/team.a": ref.ci_low,
            f"{stem}.ci_high/team.a": ref.ci_high,
            f"{stem}/team.b": b.share,
            f"{stem}.ci_low/team.b": b.ci_low,
            f"{stem}.ci_high/team.b": b.ci_high,
            f"{stem}.difference/team.b": b.difference,
            f"{stem}.difference.ci_low/team.b": b.difference_ci_low,
            f"{stem}.difference.ci_high/team.b": b.difference_ci_high,
            f"{stem}.difference.p_adjusted/team.b": b.p_adjusted,
            f"{stem}.ratio/team.b": b.ratio,
            f"{stem}.ratio.ci_low/team.b": b.ratio_ci_low,
            f"{stem}.ratio.ci_high/team.b": b.ratio_ci_high,
            f"{stem}.conditional_difference/team.b": c.value,
            f"{stem}.conditional_difference.ci_low/team.b": c.ci_low,
            f"{stem}.conditional_difference.ci_high/team.b": c.ci_high,
        }
        assert ref.share == pytest.approx(ref.count / ref.n_rows)  # type: ignore[operator]
    assert all(v is not None for v in expected.values())
    assert flatten_metrics(a) == expected
