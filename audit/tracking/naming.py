"""Stable, collision-free MLflow metric names for every figure of an `Assessment`.

Names are built so that the same group and metric get the same key in every audit, which is what
lets the MLflow UI chart a model's audit history and compare runs:

    tpr/housing_status.homeless                          group metric
    tpr.difference/housing_status.homeless               disparity against the reference group
    tpr.difference.ci_low/housing_status.homeless        its interval bounds
    tpr.conditional_difference/housing_status.homeless   the same, within legitimate factors
    demographic_parity_difference/housing_status         summary over an attribute's groups
    track_share.sheltered_work/housing_status.homeless   a group's share of one track
    track_share.sheltered_work.difference/...            its gap to the reference (.ratio,
                                                         .conditional_difference likewise)

Intersections add one path segment per attribute: `attribute.level`.

The encoding of attribute names and levels is reversible, so two distinct levels never share a
key. Ordinary labels stay as they are: ASCII letters, digits, `_`, `-`, `.` and inner spaces.
Anything else becomes `_xHH`, one escape per UTF-8 byte (`<25` -> `_x3c25`, `45+` -> `45_x2b`,
`a/b` -> `a_x2fb`, `Zürich` -> `Z_xc3_xbcrich`), and so does:

- `_` before `x`, `y` or `z` (the escape letters), so a label cannot spell an escape;
- `.` in an attribute name (the first `.` of a segment separates attribute and level);
- a space at either end of a name (some stores compare keys without trailing spaces);
- `:` (MLflow refuses it on Windows).

An empty name is `_x`. A name longer than `COMPONENT_CHARS` encoded characters keeps its start
and ends in `_z` + 12 hex digits of the SHA-256 of the whole name; when a key would still
exceed MLflow's 250 characters, the names are shortened further, and as a last resort the whole
group path becomes one segment `_y` + 16 hex digits. So every key meets MLflow's rules: allowed
characters only, at most 250 characters, no empty, `.` or `..` path segment, no leading `/`.

Hashed keys cannot be decoded from the key alone: every run logs the mapping of each key to its
record (`metric_keys.json`, see `metric_key_document`), and `decode_key` reads the others.
`flatten_metrics` refuses to let two records share a key, rather than losing one.
"""

from __future__ import annotations

import hashlib
import json
import math
import string
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Literal, NamedTuple

from audit.stats.result import (
    Assessment,
    ConditionalDisparity,
    Disparity,
    MetricValue,
    Summary,
    TrackConditional,
    TrackShare,
)

Estimate = MetricValue | Disparity | ConditionalDisparity | Summary
Field = Literal["value", "ci_low", "ci_high", "p_adjusted"]
Table = Literal["metrics", "disparities", "conditional", "summaries", "tracks", "track_conditional"]

MAX_KEY_CHARS = 250  # MLflow's MAX_ENTITY_KEY_LENGTH
COMPONENT_CHARS = 64
KEY_FILE = "metric_keys.json"
TRACK_STEM = "track_share"
ENCODING = (
    "audit.tracking.naming: key = stem/attribute.level/...; _xHH is one UTF-8 "
    "byte, _x alone an empty name, _z + 12 hex ends a name shortened with its SHA-256, "
    "_y + 16 hex a group path shortened as a whole"
)

_PLAIN = frozenset(string.ascii_letters + string.digits + "_-. ")
_ESCAPE_LETTERS = frozenset("xyz")
_HEX = frozenset("0123456789abcdef")
_COMPONENT_HASH = 12
_PATH_HASH = 16
_SMALLEST_BUDGET = 2 + _COMPONENT_HASH


class MetricKey(NamedTuple):
    """What one logged metric is: the record it comes from and which of its figures.

    A named tuple rather than a dataclass: an audit makes hundreds of thousands of them."""

    table: Table
    metric: str
    kind: str | None
    field: Field
    attributes: tuple[str, ...]
    levels: tuple[str, ...] | None
    track: str | None = None


def _escape(text: str, *, attribute: bool) -> str:
    """The reversible, MLflow-safe spelling of one attribute name or level (no length bound)."""
    if not text:
        return "_x"
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        plain = (
            ch in _PLAIN
            and not (ch == "_" and i < last and text[i + 1] in _ESCAPE_LETTERS)
            and not (ch == "." and attribute)
            and not (ch == " " and i in (0, last))
        )
        if plain:
            out.append(ch)
        else:
            out.extend(f"_x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def _digest(text: str, chars: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:chars]


def _tokens(encoded: str) -> Iterator[str]:
    """The encoded text cut into whole escapes and plain characters."""
    i = 0
    while i < len(encoded):
        if (
            encoded.startswith("_x", i)
            and i + 4 <= len(encoded)
            and set(encoded[i + 2 : i + 4]) <= _HEX
        ):
            yield encoded[i : i + 4]
            i += 4
        else:
            yield encoded[i]
            i += 1


@lru_cache(maxsize=65536)  # labels repeat in every figure of their group
def encode_name(text: str, *, attribute: bool = False, budget: int = COMPONENT_CHARS) -> str:
    """One attribute name (`attribute=True`) or level, at most `budget` characters.

    >>> encode_name("<25"), encode_name("45+"), encode_name("a_b"), encode_name("a/b")
    ('_x3c25', '45_x2b', 'a_b', 'a_x2fb')
    """
    encoded = _escape(text, attribute=attribute)
    if len(encoded) <= budget:
        return encoded
    keep, room = [], max(budget, _SMALLEST_BUDGET) - _SMALLEST_BUDGET
    for token in _tokens(encoded):  # never cut an escape in half
        if len(token) > room:
            break
        keep.append(token)
        room -= len(token)
    return "".join(keep) + "_z" + _digest(text, _COMPONENT_HASH)


def safe(text: str) -> str:
    """A level as it appears in a key (see the module docstring)."""
    return encode_name(text)


def group_path(
    attributes: Iterable[str], levels: Iterable[str], budget: int = COMPONENT_CHARS
) -> str:
    return "/".join(
        f"{encode_name(a, attribute=True, budget=budget)}.{encode_name(v, budget=budget)}"
        for a, v in zip(attributes, levels, strict=True)
    )


@lru_cache(maxsize=65536)
def _path(attributes: tuple[str, ...], levels: tuple[str, ...] | None, budget: int) -> str:
    if levels is None:  # a summary: attributes only
        return "/".join(encode_name(a, attribute=True, budget=budget) for a in attributes)
    return group_path(attributes, levels, budget)


def metric_key(stem: str, attributes: tuple[str, ...], levels: tuple[str, ...] | None) -> str:
    """The key of a figure: `stem/path`, within MLflow's 250 characters."""
    budget = COMPONENT_CHARS
    while True:
        key = f"{stem}/{_path(attributes, levels, budget)}"
        if len(key) <= MAX_KEY_CHARS:
            return key
        if budget <= _SMALLEST_BUDGET:
            break
        budget = max(_SMALLEST_BUDGET, budget - 8)
    whole = json.dumps([attributes, levels], ensure_ascii=False)
    return f"{stem}/_y{_digest(whole, _PATH_HASH)}"


def _unescape(encoded: str) -> str | None:
    """The text of one encoded name; None when it was shortened with a hash."""
    if encoded == "_x":
        return ""
    if _is_hashed(encoded):
        return None
    data = bytearray()
    for token in _tokens(encoded):
        data += bytes.fromhex(token[2:]) if len(token) == 4 else token.encode("utf-8")
    return data.decode("utf-8", "surrogatepass")


def _is_hashed(encoded: str) -> bool:
    """Ends in `_z` + 12 hex digits: a plain `_` before `z` is always escaped, and an escape's
    `_` is followed by `x`, so this ending only comes from shortening."""
    tail = encoded[-(_COMPONENT_HASH + 2) :]
    return len(tail) == _COMPONENT_HASH + 2 and tail.startswith("_z") and set(tail[2:]) <= _HEX


def decode_key(key: str) -> tuple[str, tuple[tuple[str | None, str | None], ...]] | None:
    """The stem and (attribute, level) of each segment of a key; None for a hashed group path.

    A summary's segments have no level (None); a name shortened with a hash decodes to None
    (look it up in `metric_keys.json`).
    """
    stem, _, path = key.partition("/")
    segments = []
    for segment in path.split("/"):
        if segment.startswith("_y"):
            return None
        attribute, dot, level = segment.partition(".")
        segments.append((_unescape(attribute), _unescape(level) if dot else None))
    return stem, tuple(segments)


_Row = tuple[Table, str, Estimate, str | None, tuple[str, ...] | None]


def _records(assessment: Assessment) -> Iterator[_Row]:
    """(table, key stem, record, kind, levels) of every record that is logged."""
    for m in assessment.metrics:
        yield "metrics", m.metric, m, None, m.levels
    for d in assessment.disparities:
        yield "disparities", f"{d.metric}.{d.kind}", d, d.kind, d.levels
    for c in assessment.conditional:
        yield (
            "conditional",
            f"{c.metric}.conditional_difference",
            c,
            "conditional_difference",
            c.levels,
        )
    for s in assessment.summaries:
        yield "summaries", s.measure, s, None, None


def _figures(record: Estimate) -> list[tuple[Field, str, float | None]]:
    """(field, key suffix, value) of the figures of one record."""
    out: list[tuple[Field, str, float | None]] = [
        ("value", "", record.value),
        ("ci_low", ".ci_low", record.ci_low),
        ("ci_high", ".ci_high", record.ci_high),
    ]
    if isinstance(record, Disparity):
        out.append(("p_adjusted", ".p_adjusted", record.p_adjusted))
    return out


_TrackRow = tuple[str, float | None, MetricKey]


def _track_figures(assessment: Assessment) -> Iterator[_TrackRow]:
    """(key, value, what) of every figure of the track records, defined or not.

    The track is part of the stem, encoded as an attribute name (its `.` escaped), so the
    first `.` of the stem ends the metric and the second the track."""
    for t in assessment.tracks:
        yield from _track_share_figures(t)
    for c in assessment.track_conditional:
        yield from _track_conditional_figures(c)


def _track_share_figures(t: TrackShare) -> Iterator[_TrackRow]:
    stem = f"{TRACK_STEM}.{encode_name(t.track, attribute=True)}"
    parts: list[tuple[str | None, Field, str, float | None]] = [
        (None, "value", "", t.share),
        (None, "ci_low", ".ci_low", t.ci_low),
        (None, "ci_high", ".ci_high", t.ci_high),
    ]
    if not t.is_reference:
        parts += [
            ("difference", "value", ".difference", t.difference),
            ("difference", "ci_low", ".difference.ci_low", t.difference_ci_low),
            ("difference", "ci_high", ".difference.ci_high", t.difference_ci_high),
            ("difference", "p_adjusted", ".difference.p_adjusted", t.p_adjusted),
            ("ratio", "value", ".ratio", t.ratio),
            ("ratio", "ci_low", ".ratio.ci_low", t.ratio_ci_low),
            ("ratio", "ci_high", ".ratio.ci_high", t.ratio_ci_high),
        ]
    for kind, field, suffix, value in parts:
        table: Table = "tracks"
        what = MetricKey(table, TRACK_STEM, kind, field, t.attributes, t.levels, t.track)
        yield metric_key(stem + suffix, t.attributes, t.levels), value, what


def _track_conditional_figures(c: TrackConditional) -> Iterator[_TrackRow]:
    stem = f"{TRACK_STEM}.{encode_name(c.track, attribute=True)}.conditional_difference"
    kind = "conditional_difference"
    for field, suffix, value in (
        ("value", "", c.value),
        ("ci_low", ".ci_low", c.ci_low),
        ("ci_high", ".ci_high", c.ci_high),
    ):
        what = MetricKey("track_conditional", TRACK_STEM, kind, field, c.attributes, c.levels, c.track)  # type: ignore[arg-type]
        yield metric_key(stem + suffix, c.attributes, c.levels), value, what


def metric_entries(assessment: Assessment) -> Iterator[tuple[str, float, MetricKey]]:
    """Every defined figure with its interval bounds: (key, value, what it is).

    Undefined values (empty denominators, suppressed cells) are left out rather than logged as
    NaN: MLflow would chart a NaN as a gap anyway, and the JSON result keeps the reason.
    """
    for table, stem, record, kind, levels in _records(assessment):
        metric = record.measure if isinstance(record, Summary) else record.metric
        for field, suffix, value in _figures(record):
            if value is not None and math.isfinite(value):
                what = MetricKey(table, metric, kind, field, record.attributes, levels)
                yield metric_key(stem + suffix, record.attributes, levels), float(value), what
    for key, value, what in _track_figures(assessment):
        if value is not None and math.isfinite(value):
            yield key, float(value), what


def flatten_metrics(assessment: Assessment) -> dict[str, float]:
    """Every defined figure with its interval bounds, keyed by its stable name.

    Each record and figure is logged once, so a key seen twice can only be two figures that
    share it (a hash collision of shortened names): refused, never silently overwritten.
    """
    out: dict[str, float] = {}
    for _, stem, record, _, levels in _records(assessment):
        for _, suffix, value in _figures(record):
            if value is None or not math.isfinite(value):
                continue
            key = metric_key(stem + suffix, record.attributes, levels)
            if key in out:
                raise RuntimeError(f"two figures share the MLflow key {key!r}")
            out[key] = float(value)
    for key, track_value, _ in _track_figures(assessment):
        if track_value is None or not math.isfinite(track_value):
            continue
        if key in out:
            raise RuntimeError(f"two figures share the MLflow key {key!r}")
        out[key] = float(track_value)
    return out


def metric_key_document(assessment: Assessment) -> str:
    """`metric_keys.json`: every logged key with the record and figure it holds."""
    keys = {}
    for key, _, what in metric_entries(assessment):
        if key in keys:
            raise RuntimeError(f"two figures share the MLflow key {key!r}")
        entry: dict[str, object] = what._asdict()
        if what.track is None:  # only track figures name a track
            del entry["track"]
        entry["attributes"] = list(what.attributes)
        entry["levels"] = None if what.levels is None else list(what.levels)
        keys[key] = entry
    document = {"encoding": ENCODING, "keys": keys}
    return json.dumps(document, indent=1, ensure_ascii=False)
