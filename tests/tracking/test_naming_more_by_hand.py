"""More of audit.tracking.naming, written out by hand from the scheme of its docstring.

Spaces at the ends of a name, keys at MLflow's length limit and beyond it, the `_y` path of
last resort (its hash recomputed here with hashlib from what the docstring says it hashes),
decoding, the key document's entries and format, and the refusal of two figures sharing a key.
"""

from __future__ import annotations

import hashlib
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.tracking.naming import (
    decode_key,
    encode_name,
    flatten_metrics,
    group_path,
    metric_entries,
    metric_key,
    metric_key_document,
)


def _sha(text: str, chars: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:chars]


@contextmanager
def _within_seconds(seconds: float) -> Iterator[None]:
    """Fail instead of hanging (the suite has no pytest-timeout)."""

    def fail(*_: object) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribute", "encoded"),
    [
        ("", False, "_x"),
        (" ", False, "_x20"),  # one space is both ends
        (" a", False, "_x20a"),
        ("a ", False, "a_x20"),
        ("a b", False, "a b"),  # an inner space stays
        ("ab c ", False, "ab c_x20"),
        ("  ab", True, "_x20 ab"),  # only the first and last character count as an end
        ("ab", False, "ab"),
        ("a_x", False, "a_x5fx"),  # `_` before an escape letter, even as the last but one
        ("a_b", False, "a_b"),
        ("x_", False, "x_"),
        ("a.b", True, "a_x2eb"),  # `.` only in an attribute name
        ("a.b", False, "a.b"),
        ("Zürich", False, "Z_xc3_xbcrich"),
    ],
)
def test_a_name_is_spelled_as_the_docstring_says(text: str, attribute: bool, encoded: str) -> None:
    """Ordinary characters stay; a space at either end, `_` before x/y/z, `.` in an attribute
    name and anything outside the plain set become `_xHH`, one per UTF-8 byte; empty is `_x`."""
    assert encode_name(text, attribute=attribute) == encoded


def test_group_path_shortens_both_names_to_the_budget_and_refuses_unequal_lengths() -> None:
    """At a budget of 20, a 40-character name keeps its first 6 characters, then `_z` and 12
    hex digits of its SHA-256, for the attribute and the level alike; one level per attribute,
    never a level dropped in silence."""
    attribute, level = "a" * 40, "b" * 40
    assert group_path([attribute, "c"], [level, "d"], budget=20) == (
        f"aaaaaa_z{_sha(attribute, 12)}.bbbbbb_z{_sha(level, 12)}/c.d"
    )
    with pytest.raises(ValueError):
        group_path(["a", "b"], ["x"])
    with pytest.raises(ValueError):
        group_path(["a"], ["x", "y"])


# --- keys at the length limit ------------------------------------------------------------------


def test_a_key_of_exactly_250_characters_is_kept_and_one_more_is_shortened() -> None:
    """MLflow takes keys of up to 250 characters: one of exactly 250 is the plain key, one of
    251 (whose names are too short to shorten) gets a shorter key."""
    path = "/".join(f"attribute{i}.level{i}" for i in range(8))
    stem = "s" * (250 - len(path) - 1)
    attributes = tuple(f"attribute{i}" for i in range(8))
    levels = tuple(f"level{i}" for i in range(8))
    with _within_seconds(5):  # names too short to shorten: the loop must still end
        key = metric_key(stem, attributes, levels)
        longer = metric_key(stem + "s", attributes, levels)
    assert key == f"{stem}/{path}" and len(key) == 250
    assert len(longer) <= 250 and longer != f"{stem}s/{path}"


def test_a_long_intersection_key_is_pinned_by_hand() -> None:
    """Four attributes and levels of 70 characters: at 64 characters a name the key would be
    521 long; the budget shrinks 8 characters at a time, and 24 is the first at which it fits
    (4 x 49 + 5 = 201; at 32 it is 265): each name keeps 10 characters, `_z` and 12 hex
    digits. Keys must stay the same from one version to the next (the MLflow history)."""
    attributes = tuple(f"attribute{i}" + "q" * 60 for i in range(4))
    levels = tuple(f"levelvalue{i}" + "v" * 59 for i in range(4))
    expected = "m/" + "/".join(
        f"{a[:10]}_z{_sha(a, 12)}.{v[:10]}_z{_sha(v, 12)}"
        for a, v in zip(attributes, levels, strict=True)
    )
    assert len(expected) == 201
    assert metric_key("m", attributes, levels) == expected


def test_a_path_too_long_at_every_budget_becomes_one_hashed_segment() -> None:
    """Nine attributes cannot fit in 250 characters even at 14 characters a name (9 x 30 >
    250): the path becomes `_y` + 16 hex digits of the SHA-256 of the JSON list [attributes,
    levels] with non-ASCII kept as is; distinct paths get distinct keys, promptly, and the key
    decodes to None (look it up in metric_keys.json)."""
    attributes = tuple(f"attribute number {i} of the intersection" for i in range(9))
    levels = tuple(f"Zürich district {i} and its surroundings" for i in range(9))
    whole = json.dumps([list(attributes), list(levels)], ensure_ascii=False)
    assert "Zürich" in whole
    with _within_seconds(5):
        key = metric_key("tpr", attributes, levels)
        other = metric_key("tpr", attributes, (*levels[:-1], "Basel"))
    assert key == f"tpr/_y{_sha(whole, 16)}"
    assert other != key and other.startswith("tpr/_y") and len(other) == len("tpr/_y") + 16
    assert decode_key(key) is None


# --- decoding ----------------------------------------------------------------------------------


def test_keys_decode_to_their_stem_attributes_and_levels() -> None:
    """A group key decodes to (attribute, level) per segment; a summary's segment has no
    level (None, not an empty level); a `_y` segment means a hashed path (None); a level
    `_x` is the empty name."""
    assert decode_key("tpr/housing.homeless/age._x3c25") == (
        "tpr",
        (("housing", "homeless"), ("age", "<25")),
    )
    assert decode_key("demographic_parity_difference/housing") == (
        "demographic_parity_difference",
        (("housing", None),),
    )
    assert decode_key("tpr/housing._x") == ("tpr", (("housing", ""),))
    assert decode_key("tpr/_y0123456789abcdef") is None
    shortened = encode_name("z" * 100)
    assert decode_key(f"tpr/city.{shortened}") == ("tpr", (("city", None),))


# --- the key document and refusals -------------------------------------------------------------


@pytest.fixture(scope="module")
def audit() -> Assessment:
    """Basel (reference) and Zürich, 60 people each, with a legitimate factor and n_boot 0."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "city": np.repeat(["Basel", "Zürich"], 60),
            "f": np.tile(["e1", "e2"], 60),
            "y": rng.integers(0, 2, 120),
            "d": rng.integers(0, 2, 120),
        }
    )
    return assess(
        frame, y_true="y", y_pred="d", groups=["city"], reference={"city": "Basel"}, n_boot=0,
        legitimate_factors=["f"],
    )  # fmt: skip


def test_the_key_document_says_what_a_conditional_key_holds(audit: Assessment) -> None:
    """`metric_keys.json` maps Zürich's conditional selection-rate gap and its bounds to the
    conditional table, kind `conditional_difference`, the field, the attribute and the level;
    the document starts with its encoding, one entry per line, Zürich written as is."""
    (c,) = [x for x in audit.conditional if x.metric == "selection_rate"]
    assert c.levels == ("Zürich",) and None not in (c.value, c.ci_low, c.ci_high)
    text = metric_key_document(audit)
    keys = json.loads(text)["keys"]
    stem = "selection_rate.conditional_difference"
    for suffix, field in [("", "value"), (".ci_low", "ci_low"), (".ci_high", "ci_high")]:
        assert keys[f"{stem}{suffix}/city.Z_xc3_xbcrich"] == {
            "table": "conditional",
            "metric": "selection_rate",
            "kind": "conditional_difference",
            "field": field,
            "attributes": ["city"],
            "levels": ["Zürich"],
        }
    assert text.startswith('{\n "encoding": "audit.tracking.naming: key = stem/attribute.level')
    assert '"levels": [\n' in text and '"Zürich"' in text and "\\u00fc" not in text


def test_a_figure_left_out_does_not_hide_the_figures_after_it(audit: Assessment) -> None:
    """A difference whose interval is undefined still logs its value and adjusted p-value:
    flatten_metrics logs every defined figure, the same ones metric_entries lists."""
    (d,) = [x for x in audit.disparities if x.metric == "selection_rate" and x.kind == "difference"]
    assert d.p_adjusted is not None and d.value is not None
    a = replace(audit, disparities=(replace(d, ci_low=None, ci_high=float("nan")),))
    flat = flatten_metrics(a)
    assert flat["selection_rate.difference.p_adjusted/city.Z_xc3_xbcrich"] == d.p_adjusted
    assert flat["selection_rate.difference/city.Z_xc3_xbcrich"] == d.value
    assert "selection_rate.difference.ci_low/city.Z_xc3_xbcrich" not in flat
    assert set(flat) == {key for key, _, _ in metric_entries(a)}


def test_two_figures_sharing_a_key_are_refused_with_the_key_named(audit: Assessment) -> None:
    """A key seen twice would lose a figure: flatten_metrics and the key document refuse,
    naming the key; the same for a track share seen twice."""
    (m,) = [x for x in audit.metrics if x.metric == "tpr" and x.levels == ("Zürich",)]
    twice = replace(audit, metrics=(*audit.metrics, m))
    message = r"^two figures share the MLflow key 'tpr/city\.Z_xc3_xbcrich'$"
    with pytest.raises(RuntimeError, match=message):
        flatten_metrics(twice)
    with pytest.raises(RuntimeError, match=message):
        metric_key_document(twice)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"city": np.repeat(["Basel", "Bern"], 30), "t": rng.choice(["a", "b"], 60)}
    )
    tracks = assess(frame, y_true=None, y_pred=None, groups=["city"], track="t", n_boot=0)
    share = next(t for t in tracks.tracks if t.levels == ("Bern",) and t.track == "a")
    assert share.share is not None
    with pytest.raises(
        RuntimeError, match=r"^two figures share the MLflow key 'track_share\.a/city\.Bern'$"
    ):
        flatten_metrics(replace(tracks, tracks=(*tracks.tracks, share)))
