"""What an audit logs to MLflow as metrics: the figures people chart over time, or every figure.

The default (`tracking.metrics: lean`) is a few hundred figures per run, where logging every
flattened figure made 6,600-11,800 and listing ten runs took seconds and megabytes:

    gate.RULE.METRIC[.TRACK].KIND/attribute.level     what the gate decided on, per group (for a
    gate.RULE.METRIC.KIND.ci_low/attribute.level      non-regression rule: the change against the
    gate.RULE.METRIC.KIND.ci_high/attribute.level     baseline, with its interval)
    gate.RULE.groups_pass (fail, inconclusive, ...)   how many groups the rule placed where
    gate.rules_pass (fail, inconclusive, not_evaluable), gate.release_allowed
    overall.METRIC (.ci_low, .ci_high)                each metric over the whole population
    worst.METRIC/attribute                            the largest gap to the reference group
    MEASURE (.ci_low, .ci_high)/attribute             the summaries (demographic parity, ...)

`tracking.metrics: all` adds every group figure, disparity and conditional difference (the keys of
`audit.tracking.naming`). Either way the whole result is the `assessment.json` artifact, and
`metric_keys.json` maps every logged key to the record and figure it holds.

Keys stay distinct by construction: rule ids and metric names are encoded like attribute names
(`naming.encode_name`, so they hold no `.`), group paths are `naming.metric_key`'s, and the
structure tells the families apart (`gate.` keys with one dot are the verdict's, with two or more
a rule's; figure keys have a path, counts none). A key built twice is refused, never overwritten.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Literal

from audit.gate import GroupStatus, RuleStatus, Verdict
from audit.stats.result import Assessment
from audit.tracking.naming import ENCODING, MetricKey, encode_name, metric_entries, metric_key

MetricsMode = Literal["lean", "all"]
Entry = tuple[str, float, dict[str, Any]]  # key, value, what the key holds

GROUP_STATUSES: tuple[GroupStatus, ...] = (
    "pass",
    "fail",
    "inconclusive",
    "unreliable",
    "undefined",
    "not_compared",
)
RULE_STATUSES: tuple[RuleStatus, ...] = ("pass", "fail", "inconclusive", "not_evaluable")


def _name(text: str) -> str:
    """A rule id or metric name inside a key stem: encoded so that it holds no `.`."""
    return encode_name(text, attribute=True)


def _key(stem: str, attributes: tuple[str, ...], levels: tuple[str, ...] | None) -> str:
    return metric_key(stem, attributes, levels) if attributes else stem


def _figures(
    stem: str, value: float | None, low: float | None, high: float | None
) -> Iterator[tuple[str, str, float]]:
    """(field, stem, value) of an estimate and its interval bounds, the defined ones only."""
    for field, suffix, x in (
        ("value", "", value),
        ("ci_low", ".ci_low", low),
        ("ci_high", ".ci_high", high),
    ):
        if x is not None and math.isfinite(x):
            yield field, stem + suffix, float(x)


def gate_entries(verdict: Verdict) -> Iterator[Entry]:
    """Each rule's deciding figure per group, its group counts, and the verdict's rule counts."""
    for rule in verdict.rules:
        r = _name(rule.rule_id)
        for g in rule.groups:
            regression = g.change is not None or g.change_ci_low is not None
            figures = (
                (g.change, g.change_ci_low, g.change_ci_high)
                if regression
                else (g.value, g.ci_low, g.ci_high)
            )
            # A track_share rule reads every track (or one): the track is part of the key.
            track = "" if g.track is None else f".{_name(g.track)}"
            stem = f"gate.{r}.{_name(g.metric)}{track}.{_name(g.kind)}"
            for field, s, x in _figures(stem, *figures):
                what = {
                    "table": "gate",
                    "rule": rule.rule_id,
                    "metric": g.metric,
                    "kind": g.kind,
                    "track": g.track,
                    "figure": "change" if regression else "disparity",
                    "field": field,
                    "attributes": list(g.attributes),
                    "levels": list(g.levels),
                }
                yield _key(s, g.attributes, g.levels), x, what
        statuses = [g.status for g in rule.groups]
        for status in GROUP_STATUSES:
            what = {"table": "gate_groups", "rule": rule.rule_id, "status": status}
            yield f"gate.{r}.groups_{status}", float(statuses.count(status)), what
    rules = [r.status for r in verdict.rules]
    for rule_status in RULE_STATUSES:
        what = {"table": "verdict", "status": rule_status}
        yield f"gate.rules_{rule_status}", float(rules.count(rule_status)), what
    allowed = {"table": "verdict", "status": "release_allowed"}
    yield "gate.release_allowed", float(verdict.release_allowed), allowed


def summary_entries(assessment: Assessment) -> Iterator[Entry]:
    """The whole population's metrics, each grouping's worst gap, and the summary measures."""
    for m in assessment.overall:
        for field, s, x in _figures(f"overall.{_name(m.metric)}", m.value, m.ci_low, m.ci_high):
            yield s, x, {"table": "overall", "metric": m.metric, "field": field}
    for w in assessment.worst_groups:
        if w.difference is None or not math.isfinite(w.difference) or w.suppressed:
            continue
        worst: dict[str, Any] = {
            "table": "worst_groups",
            "metric": w.metric,
            "field": "difference",
            "attributes": list(w.attributes),
            "levels": list(w.levels),  # which group it was in this run
        }
        yield _key(f"worst.{_name(w.metric)}", w.attributes, None), w.difference, worst
    for key, value, record in metric_entries(assessment):
        if record.table == "summaries":
            yield key, value, _record(record)


def _record(record: MetricKey) -> dict[str, Any]:
    entry: dict[str, Any] = record._asdict()
    entry["attributes"] = list(record.attributes)
    entry["levels"] = None if record.levels is None else list(record.levels)
    return entry


def tracked_entries(assessment: Assessment, verdict: Verdict, mode: MetricsMode) -> list[Entry]:
    """Every metric a run logs in this mode, with what each key holds; a repeated key is refused."""
    entries = [*gate_entries(verdict), *summary_entries(assessment)]
    if mode == "all":
        entries += [
            (key, value, _record(record))
            for key, value, record in metric_entries(assessment)
            if record.table != "summaries"
        ]
    seen: set[str] = set()
    for key, _, _ in entries:
        if key in seen:
            raise RuntimeError(f"two figures share the MLflow key {key!r}")
        seen.add(key)
    return entries


def tracked_metrics(
    assessment: Assessment, verdict: Verdict, mode: MetricsMode = "lean"
) -> dict[str, float]:
    return {key: value for key, value, _ in tracked_entries(assessment, verdict, mode)}


def key_document(entries: list[Entry]) -> str:
    """`metric_keys.json`: every logged key with the record and figure it holds."""
    document = {"encoding": ENCODING, "keys": {key: what for key, _, what in entries}}
    return json.dumps(document, indent=1, ensure_ascii=False)
