"""The report's content in one language, as plain values the templates place.

Every figure is taken from the published assessment and verdict (`audit.disclosure`): a value
suppressed there is None here and shows as "suppressed" or "withheld", never as a number. What
comes from the data or the spec (labels, rule ids, descriptions, contact) stays plain text;
the template engine escapes it (Jinja2 autoescape) and `audit.labels.display_label` has
already made control characters visible and long labels bounded.

This module decides what goes where (which groupings, metrics and charts); which findings
matter most is `audit.report.content`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from audit.gate import GroupOutcome, RuleOutcome, Verdict
from audit.labels import display_label
from audit.report import charts
from audit.report.checks_section import CheckView, check_name, check_views
from audit.report.content import FirstPageView, Labels, first_page
from audit.report.i18n import Formatter, translations
from audit.stats.result import Assessment, Group, MetricValue

# The metric every grouping's rate chart shows, and the group table's columns.
RATE_METRIC = "selection_rate"
TABLE_METRICS = ("selection_rate", "base_rate")


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


METRIC_NAMES = {
    "selection_rate": N_("share given the decision (selection rate)"),
    "base_rate": N_("share with the outcome (base rate)"),
    "tpr": N_("share given the decision among people with the outcome (true positive rate)"),
    "fpr": N_("share given the decision among people without the outcome (false positive rate)"),
    "fnr": N_("share not given the decision among people with the outcome (false negative rate)"),
    "tnr": N_("share not given the decision among people without the outcome (true negative rate)"),
    "ppv": N_("share of decisions that were right (precision)"),
    "npv": N_("share of refusals that were right (negative predictive value)"),
    "fdr": N_("share of decisions that were wrong (false discovery rate)"),
    "for": N_("share of refusals that were wrong (false omission rate)"),
    "accuracy": N_("share of right decisions (accuracy)"),
    "balanced_accuracy": N_(
        "mean of the true positive and true negative rates (balanced accuracy)"
    ),
    "auc": N_("how well the score ranks people with the outcome above people without it (AUC)"),
    "ece": N_("average gap between the score and the observed rate (expected calibration error)"),
}
METRIC_DEFINITIONS = {
    "selection_rate": N_("People given the decision, divided by all people in the group."),
    "base_rate": N_("People with the outcome, divided by all people in the group."),
    "tpr": N_("Among people with the outcome: those given the decision, divided by all of them."),
    "fpr": N_(
        "Among people without the outcome: those given the decision, divided by all of them."
    ),
    "fnr": N_(
        "Among people with the outcome: those not given the decision, divided by all of them."
    ),
    "tnr": N_(
        "Among people without the outcome: those not given the decision, divided by all of them."
    ),
    "ppv": N_("Among people given the decision: those with the outcome, divided by all of them."),
    "npv": N_(
        "Among people not given the decision: those without the outcome, divided by all of them."
    ),
    "fdr": N_(
        "Among people given the decision: those without the outcome, divided by all of them."
    ),
    "for": N_(
        "Among people not given the decision: those with the outcome, divided by all of them."
    ),
    "accuracy": N_(
        "People whose decision matched their outcome, divided by all people in the group."
    ),
    "balanced_accuracy": N_("The mean of the true positive rate and the true negative rate."),
    "auc": N_(
        "The chance that a random person with the outcome has a higher score than a random person without it (0.5: no better than chance)."
    ),
    "ece": N_(
        "The weighted mean, over score bands, of the absolute difference between the mean score and the observed rate."
    ),
}
KIND_DEFINITIONS = {
    "difference": N_(
        "Difference: the group's value minus its reference group's value (0: no gap)."
    ),
    "ratio": N_(
        "Ratio: the group's value divided by its reference group's value (1: no gap; the four-fifths rule asks at least 0.8)."
    ),
    "conditional_difference": N_(
        "Conditional difference: the difference among people with the same legitimate factors, weighted by the group's own mix of those factors."
    ),
}
STATUS_NAMES = {
    "pass": N_("within the rule"),
    "fail": N_("beyond the rule"),
    "inconclusive": N_("cannot tell"),
    "unreliable": N_("too small to decide"),
    "undefined": N_("undefined"),
    "not_compared": N_("not compared"),
    "not_evaluable": N_("not evaluable"),
}
VERDICT_NAMES = {"pass": N_("PASS"), "fail": N_("FAIL"), "inconclusive": N_("INCONCLUSIVE")}


@dataclass(frozen=True)
class ReportInput:
    """Everything a report is made from: the stored result of one audit, nothing recomputed."""

    assessment: Assessment
    verdict: Verdict
    manifest: Mapping[str, Any] | None = None
    # The harm checks as published (`audit.checks.result.published_checks`, or checks.json).
    checks: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        if not self.assessment.disclosure_controlled:
            raise ValueError("a report is made from the published assessment only")

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = (self.manifest or {}).get("spec")
        return spec if isinstance(spec, Mapping) else {}

    @property
    def suite(self) -> str:
        return str(self.spec.get("name") or "audit")

    @property
    def report_options(self) -> Mapping[str, Any]:
        report = self.spec.get("report")
        return report if isinstance(report, Mapping) else {}

    @property
    def languages(self) -> list[str]:
        langs = self.report_options.get("languages")
        return list(langs) if langs else ["en"]


@dataclass(frozen=True)
class Cell:
    value: float | None
    low: float | None = None
    high: float | None = None
    status: str | None = None
    note: str | None = None  # why no value: suppressed, withheld, undefined


@dataclass(frozen=True)
class Row:
    label: str
    size: int | None
    size_note: str | None
    is_reference: bool
    rates: tuple[Cell, ...]
    rules: tuple[Cell, ...]


@dataclass(frozen=True)
class GroupingView:
    anchor: str
    title: str
    intersection: bool
    reference: str
    rule_columns: tuple[str, ...]
    rows: tuple[Row, ...]
    charts: tuple[charts.Chart, ...]


@dataclass(frozen=True)
class RuleView:
    rule_id: str
    description: str
    status: str
    measure: str
    bound: str
    evaluated: int
    counts: Mapping[str, int]
    detectable: float | None
    reason: str | None


@dataclass(frozen=True)
class ConditionalRow:
    grouping: str
    group: str
    factors: str
    metric: str
    plain: Cell
    conditional: Cell
    share: Cell
    coverage: float | None


@dataclass(frozen=True)
class BaselineRow:
    rule_id: str
    group: str
    candidate: float | None
    baseline: float | None
    change: Cell
    paired: bool | None


@dataclass(frozen=True)
class Context:
    lang: str
    fmt: Formatter
    suite: str
    description: str | None
    verdict: Verdict
    n_people: int
    attributes: tuple[str, ...]
    first: FirstPageView
    contact: str | None
    respond_by: date | None
    rules: tuple[RuleView, ...]
    groupings: tuple[GroupingView, ...]
    calibration: tuple[charts.Chart, ...]
    distributions: tuple[charts.Chart, ...]
    conditional: tuple[ConditionalRow, ...]
    baseline: tuple[BaselineRow, ...]
    tracks: tuple[TrackView, ...]
    metrics_used: tuple[str, ...]
    kinds_used: tuple[str, ...]
    settings: Mapping[str, Any]
    data: Mapping[str, Any]
    model: Mapping[str, Any]
    packages: Mapping[str, Any]
    created_at: str | None
    notes: tuple[str, ...]
    suppressed_groups: int
    min_cell_size: int
    level: str  # the intervals' level in percent, as the language writes it ("95", "97,5")
    extra: Mapping[str, Any] = field(default_factory=dict)
    harm_checks: tuple[CheckView, ...] = ()


def build_context(source: ReportInput, lang: str) -> Context:
    a, v = source.assessment, source.verdict
    tr = translations(lang)
    _ = tr.gettext
    fmt = Formatter(lang)
    labels = Labels(_mapping(source.spec.get("labels")))
    bounds = _rule_bounds(source.spec)
    harm_rules = _harm_rules(source.spec, source.checks)
    report = source.report_options
    level = fmt.level(a.settings.alpha)
    return Context(
        lang=lang,
        fmt=fmt,
        suite=display_label(source.suite),
        description=source.spec.get("description"),
        verdict=v,
        n_people=a.n_rows,
        attributes=tuple(labels.attribute(x, lang) for x in a.settings.groups),
        first=first_page(a, v, suite=source.suite, lang=lang, labels=labels, gettext=_),
        contact=report.get("contact"),
        respond_by=_date(report.get("respond_by")),
        rules=tuple(_rule_view(r, bounds, fmt, _, harm_rules) for r in v.rules),
        groupings=_groupings(a, v, bounds, labels, lang, fmt, _, level),
        calibration=_calibration(a, labels, lang, fmt, _),
        distributions=_distributions(a, labels, lang, fmt, _),
        conditional=_conditional(a, labels, lang),
        baseline=_baseline(v, labels, lang),
        tracks=_tracks(a, labels, lang, fmt, _, level),
        metrics_used=tuple(m for m in METRIC_NAMES if any(x.metric == m for x in a.metrics)),
        kinds_used=tuple(
            sorted({g.kind for r in v.rules for g in r.groups} & set(KIND_DEFINITIONS))
        ),
        settings=a.settings.model_dump(mode="json"),
        data=_mapping((source.manifest or {}).get("data")),
        model=_mapping((source.manifest or {}).get("model")),
        packages=_mapping((source.manifest or {}).get("packages")),
        created_at=(source.manifest or {}).get("created_at"),
        notes=tuple(display_label(n, 600) for n in a.notes),
        suppressed_groups=sum(1 for g in a.groups if g.suppressed),
        min_cell_size=a.settings.min_cell_size,
        level=level,
        harm_checks=check_views(
            source.checks, labels, lang, fmt, _, minimum=a.settings.min_cell_size
        ),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _rule_bounds(spec: Mapping[str, Any]) -> dict[str, tuple[float, ...]]:
    """Each threshold rule's bounds, as the spec stored in the manifest gives them."""
    out: dict[str, tuple[float, ...]] = {}
    policy = _mapping(spec.get("policy"))
    for rule in policy.get("rules") or ():
        if not isinstance(rule, Mapping) or "id" not in rule:
            continue
        if rule.get("max_abs") is not None:
            m = float(rule["max_abs"])
            out[str(rule["id"])] = (-m, m)
        else:
            out[str(rule["id"])] = tuple(
                float(rule[k]) for k in ("min", "max") if rule.get(k) is not None
            )
    return out


@dataclass(frozen=True)
class _HarmRule:
    """A `harm_check` rule of the spec, with the published record of the check it reads."""

    check: str
    bounds: tuple[float, ...]
    record: Mapping[str, Any] | None


def _harm_rules(
    spec: Mapping[str, Any], checks: Sequence[Mapping[str, Any]]
) -> dict[str, _HarmRule]:
    by_id = {str(c.get("id")): c for c in checks}
    by_name = {str(c.get("name")): c for c in checks}
    out: dict[str, _HarmRule] = {}
    for rule in _mapping(spec.get("policy")).get("harm_checks") or ():
        if not isinstance(rule, Mapping) or "id" not in rule:
            continue
        check = str(rule.get("harm_check") or "")
        out[str(rule["id"])] = _HarmRule(
            check=check,
            bounds=tuple(float(rule[k]) for k in ("min", "max") if rule.get(k) is not None),
            record=by_id.get(check) or by_name.get(check),
        )
    return out


def _harm_rule_view(
    r: RuleOutcome, harm: _HarmRule, fmt: Formatter, _: Callable[[str], str]
) -> RuleView:
    """A `harm_check` rule: it compares no group of the assessment, it reads a check."""
    record = harm.record or {}
    name = check_name(record, _) if record else display_label(harm.check)
    fail = sum(1 for f in r.findings if f.code == "HARM_FOUND")
    unsure = sum(1 for f in r.findings if f.code == "HARM_INCONCLUSIVE")
    margin = record.get("margin")
    if harm.bounds:
        bound = " ; ".join(fmt.number(b, 2) for b in harm.bounds)
    elif isinstance(margin, int | float):
        bound = _("margin %(margin)s") % {"margin": fmt.number(float(margin), 2)}
    else:
        bound = "–"
    reason = display_label(r.reason, 300) if r.reason else None
    if r.status == "not_evaluable" and record:
        reason = _("The harm check could not decide: the section “Harm checks” says why.")
    return RuleView(
        rule_id=display_label(r.rule_id),
        description=display_label(r.description, 300),
        status=r.status,
        measure=_("harm check “%(check)s”: %(name)s")
        % {"check": display_label(harm.check), "name": name},
        bound=bound,
        evaluated=r.evaluated,
        counts={"pass": max(r.evaluated - fail - unsure, 0), "fail": fail, "inconclusive": unsure},
        detectable=None,
        reason=reason,
    )


def _rule_view(
    r: RuleOutcome,
    bounds: Mapping[str, tuple[float, ...]],
    fmt: Formatter,
    _: Callable[[str], str],
    harm_rules: Mapping[str, _HarmRule] | None = None,
) -> RuleView:
    harm = (harm_rules or {}).get(r.rule_id)
    if harm is not None:
        return _harm_rule_view(r, harm, fmt, _)
    metric = r.groups[0].metric if r.groups else ""
    kind = r.groups[0].kind if r.groups else ""
    statuses = [g.status for g in r.groups]
    found = bounds.get(r.rule_id.split(":")[0], ())
    return RuleView(
        rule_id=display_label(r.rule_id),
        description=display_label(r.description, 300),
        status=r.status,
        measure=_measure_name(metric, kind, _) if metric else "",
        bound=" ; ".join(fmt.number(b, 2) for b in found) if found else "–",
        evaluated=r.evaluated,
        counts={s: statuses.count(s) for s in ("pass", "fail", "inconclusive")},
        detectable=r.largest_detectable,
        reason=display_label(r.reason, 300) if r.reason else None,
    )


def _measure_name(metric: str, kind: str, _: Callable[[str], str]) -> str:
    name = _(METRIC_NAMES[metric]) if metric in METRIC_NAMES else display_label(metric)
    kinds = {
        "difference": _("difference"),
        "ratio": _("ratio"),
        "conditional_difference": _("conditional difference"),
    }
    return f"{name}, {kinds.get(kind, display_label(kind))}"


def _groupings(
    a: Assessment,
    v: Verdict,
    bounds: Mapping[str, tuple[float, ...]],
    labels: Labels,
    lang: str,
    fmt: Formatter,
    _: Callable[[str], str],
    level: str,
) -> tuple[GroupingView, ...]:
    by_attributes: dict[tuple[str, ...], list[Group]] = {}
    for g in a.groups:
        by_attributes.setdefault(g.attributes, []).append(g)
    metrics = {(m.metric, m.attributes, m.levels): m for m in a.metrics}
    rules = [r for r in v.rules if r.groups and not r.rule_id.endswith(":regression")]
    references = {r.attributes: r.levels for r in a.references}
    views = []
    for index, (attributes, groups) in enumerate(by_attributes.items()):
        outcomes = {
            r.rule_id: {g.levels: g for g in r.groups if g.attributes == attributes} for r in rules
        }
        shown_rules = [r for r in rules if outcomes[r.rule_id]]
        ref_levels = references.get(attributes) or next(
            (g.levels for g in groups if g.is_reference), ()
        )
        rows = tuple(
            Row(
                label=labels.group(attributes, g.levels, lang),
                size=g.n_rows,
                size_note=_size_note(g, a.settings.min_cell_size, _),
                is_reference=g.levels == ref_levels,
                rates=tuple(
                    _rate_cell(metrics.get((m, attributes, g.levels)), _) for m in TABLE_METRICS
                ),
                rules=tuple(_rule_cell(outcomes[r.rule_id].get(g.levels), _) for r in shown_rules),
            )
            for g in groups
        )
        anchor = f"g{index}"
        title = " × ".join(labels.attribute(x, lang) for x in attributes)
        drawn = [
            _rule_chart(
                f"{anchor}-r{i}",
                r,
                attributes,
                outcomes[r.rule_id],
                bounds,
                labels,
                lang,
                fmt,
                _,
                level,
            )
            for i, r in enumerate(shown_rules)
        ]
        drawn.append(
            _rate_chart(f"{anchor}-rate", attributes, groups, metrics, labels, lang, fmt, _, level)
        )
        views.append(
            GroupingView(
                anchor=anchor,
                title=title,
                intersection=len(attributes) > 1,
                reference=labels.group(attributes, ref_levels, lang) if ref_levels else "–",
                rule_columns=tuple(display_label(r.rule_id) for r in shown_rules),
                rows=rows,
                charts=tuple(c for c in drawn if c is not None),
            )
        )
    return tuple(views)


def _size_note(g: Group, minimum: int, _: Callable[[str], str]) -> str | None:
    if g.suppressed:
        return _("fewer than %(n)s people: not published") % {"n": minimum}
    if g.n_rows is None:
        return _("withheld so that a suppressed size cannot be recovered")
    return None


def _rate_cell(m: MetricValue | None, _: Callable[[str], str]) -> Cell:
    if m is None:
        return Cell(None, note="–")
    if m.suppressed:
        return Cell(None, note=_("suppressed"))
    if m.value is None:
        return Cell(None, note=_("undefined"))
    return Cell(m.value, m.ci_low, m.ci_high)


def _rule_cell(g: GroupOutcome | None, _: Callable[[str], str]) -> Cell:
    if g is None:
        return Cell(None, note="–")
    note = None if g.value is not None else _(STATUS_NAMES.get(g.status, g.status))
    return Cell(g.value, g.ci_low, g.ci_high, status=g.status, note=note)


def _rule_chart(
    chart_id: str,
    r: RuleOutcome,
    attributes: tuple[str, ...],
    outcomes: Mapping[tuple[str, ...], GroupOutcome],
    bounds: Mapping[str, tuple[float, ...]],
    labels: Labels,
    lang: str,
    fmt: Formatter,
    _: Callable[[str], str],
    level: str,
) -> charts.Chart | None:
    points = [
        charts.Point(labels.group(attributes, lv, lang), g.value, g.ci_low, g.ci_high, g.status)
        for lv, g in outcomes.items()
        if g.value is not None
    ]
    if not points:
        return None
    first = next(iter(outcomes.values()))
    found = bounds.get(r.rule_id, ())
    counts = {s: sum(1 for p in points if p.status == s) for s in ("pass", "fail", "inconclusive")}
    reading = _(
        "Rule “%(rule)s”, groups compared: %(total)s; beyond the bound: %(fail)s; "
        "within it: %(pass)s; the data cannot tell: %(unsure)s."
    ) % {
        "rule": display_label(r.rule_id),
        "total": len(points),
        "fail": counts["fail"],
        "pass": counts["pass"],
        "unsure": counts["inconclusive"],
    }
    alternative = "; ".join(
        f"{p.label}: {fmt.number(p.value)} {_interval_text(p.low, p.high, fmt, _, level)}, "
        f"{_(STATUS_NAMES.get(p.status or '', p.status or ''))}"
        for p in points
    )
    if found:
        alternative += ". " + _("Bound: %(bound)s.") % {
            "bound": " ; ".join(fmt.number(b, 2) for b in found)
        }
    return charts.interval_chart(
        chart_id,
        points,
        axis_label=_measure_name(first.metric, first.kind, _),
        bounds=found,
        reference_line=1.0 if first.kind == "ratio" else 0.0,
        reading=reading,
        alternative=alternative,
        number=lambda x: fmt.number(x, 2),
    )


def _rate_chart(
    chart_id: str,
    attributes: tuple[str, ...],
    groups: Sequence[Group],
    metrics: Mapping[tuple[str, tuple[str, ...], tuple[str, ...]], MetricValue],
    labels: Labels,
    lang: str,
    fmt: Formatter,
    _: Callable[[str], str],
    level: str,
) -> charts.Chart | None:
    points = []
    for g in groups:
        m = metrics.get((RATE_METRIC, attributes, g.levels))
        if m is not None and m.value is not None and not m.suppressed:
            points.append(
                charts.Point(labels.group(attributes, g.levels, lang), m.value, m.ci_low, m.ci_high)
            )
    if not points:
        return None
    low, high = min(points, key=lambda p: p.value or 0.0), max(points, key=lambda p: p.value or 0.0)
    reading = _(
        "The share given the decision goes from %(low)s (%(low_group)s) to %(high)s (%(high_group)s)."
    ) % {
        "low": fmt.percent(low.value),
        "low_group": low.label,
        "high": fmt.percent(high.value),
        "high_group": high.label,
    }
    alternative = "; ".join(
        f"{p.label}: {fmt.percent(p.value)} {_interval_text(p.low, p.high, fmt, _, level, percent=True)}"
        for p in points
    )
    return charts.interval_chart(
        chart_id,
        points,
        axis_label=_(METRIC_NAMES[RATE_METRIC]),
        reading=reading,
        alternative=alternative,
        number=lambda x: fmt.percent(x, 0),
    )


def _interval_text(
    low: float | None,
    high: float | None,
    fmt: Formatter,
    _: Callable[[str], str],
    level: str,
    *,
    percent: bool = False,
) -> str:
    if low is None or high is None:
        return ""
    show = fmt.percent if percent else fmt.number
    text = _("%(level)s%% interval %(low)s to %(high)s")
    return "(" + text % {"level": level, "low": show(low), "high": show(high)} + ")"


def _calibration(
    a: Assessment, labels: Labels, lang: str, fmt: Formatter, _: Callable[[str], str]
) -> tuple[charts.Chart, ...]:
    """One chart per single attribute: observed rate against mean score, bin by bin."""
    series: dict[tuple[str, ...], dict[tuple[str, ...], list[tuple[float, float]]]] = {}
    for b in a.reliability:
        if (
            len(b.attributes) != 1
            or b.suppressed
            or b.mean_score is None
            or b.observed_rate is None
        ):
            continue
        series.setdefault(b.attributes, {}).setdefault(b.levels, []).append(
            (b.mean_score, b.observed_rate)
        )
    out = []
    for i, (attributes, groups) in enumerate(series.items()):
        named = [(labels.group(attributes, lv, lang), sorted(xy)) for lv, xy in groups.items()]
        reading = _(
            "Calibration by %(attribute)s: for each score band, the share who had the outcome "
            "against the mean score; on the dashed line the score is right on average."
        ) % {"attribute": labels.attribute(attributes[0], lang)}
        alternative = "; ".join(
            f"{name}: " + ", ".join(f"{fmt.number(x, 2)} → {fmt.number(y, 2)}" for x, y in xy)
            for name, xy in named
        )
        out.append(
            charts.line_chart(
                f"cal{i}",
                named,
                x_label=_("mean score in the band"),
                y_label=_("share with the outcome"),
                diagonal=True,
                reading=reading,
                alternative=alternative,
            )
        )
    return tuple(out)


def _distributions(
    a: Assessment, labels: Labels, lang: str, fmt: Formatter, _: Callable[[str], str]
) -> tuple[charts.Chart, ...]:
    """One chart per single attribute: each group's share of people in each score band.

    From the published reliability bins (merged until each holds the minimum of people); a
    group whose bin counts are withheld (its size would give a suppressed one away) is left out.
    """
    bins: dict[tuple[str, ...], dict[tuple[str, ...], list[tuple[float, float, float]]]] = {}
    for b in a.reliability:
        if len(b.attributes) != 1 or b.suppressed or b.weight is None:
            continue
        bins.setdefault(b.attributes, {}).setdefault(b.levels, []).append(
            (b.bin_low, b.bin_high, b.weight)
        )
    out = []
    for i, (attributes, groups) in enumerate(bins.items()):
        named = []
        for levels, rows in groups.items():
            total = sum(w for _low, _high, w in rows)
            if total <= 0:
                continue
            # A merged bin spreads its people over a wider band: shown as density per 0.1.
            xy = sorted(
                ((low + high) / 2, w / total * 0.1 / max(high - low, 1e-9)) for low, high, w in rows
            )
            named.append((labels.group(attributes, levels, lang), xy))
        if not named:
            continue
        reading = _(
            "Scores by %(attribute)s: for each score band, the share of each group's people in it."
        ) % {"attribute": labels.attribute(attributes[0], lang)}
        alternative = "; ".join(
            f"{name}: " + ", ".join(f"{fmt.number(x, 2)} → {fmt.percent(y, 0)}" for x, y in xy)
            for name, xy in named
        )
        out.append(
            charts.line_chart(
                f"dist{i}",
                named,
                x_label=_("score"),
                y_label=_("share of the group per score band of 0.1"),
                diagonal=False,
                reading=reading,
                alternative=alternative,
            )
        )
    return tuple(out)


def _conditional(a: Assessment, labels: Labels, lang: str) -> tuple[ConditionalRow, ...]:
    rows = []
    for c in a.conditional:
        rows.append(
            ConditionalRow(
                grouping=" × ".join(labels.attribute(x, lang) for x in c.attributes),
                group=labels.group(c.attributes, c.levels, lang),
                factors=", ".join(display_label(f) for f in c.factors),
                metric=c.metric,
                plain=Cell(c.unconditional),
                conditional=Cell(
                    c.value, c.ci_low, c.ci_high, note="suppressed" if c.suppressed else None
                ),
                share=Cell(
                    c.explained_share,
                    c.explained_share_low,
                    c.explained_share_high,
                    note=display_label(c.explained_share_note, 200)
                    if c.explained_share_note
                    else None,
                ),
                coverage=c.coverage,
            )
        )
    return tuple(rows)


def _baseline(v: Verdict, labels: Labels, lang: str) -> tuple[BaselineRow, ...]:
    return tuple(
        BaselineRow(
            rule_id=display_label(r.rule_id),
            group=labels.group(g.attributes, g.levels, lang),
            candidate=g.value,
            baseline=g.baseline_value,
            change=Cell(g.change, g.change_ci_low, g.change_ci_high, status=g.status),
            paired=g.paired,
        )
        for r in v.rules
        for g in r.groups
        if g.change is not None
    )


@dataclass(frozen=True)
class TrackView:
    """Each group's share of each track of a multiclass decision (a track recommender)."""

    title: str
    tracks: tuple[str, ...]
    rows: tuple[tuple[str, bool, tuple[Cell, ...]], ...]  # group label, is reference, per track
    chart: charts.Chart | None


def _tracks(
    a: Any, labels: Labels, lang: str, fmt: Formatter, _: Callable[[str], str], level: str
) -> tuple[TrackView, ...]:
    """Track shares, when the result has them (`Assessment.tracks`, results of track audits)."""
    records = tuple(getattr(a, "tracks", None) or ())
    if not records:
        return ()
    order = tuple(getattr(a, "track_labels", None) or ()) or tuple(
        dict.fromkeys(str(t.track) for t in records)
    )
    by_grouping: dict[tuple[str, ...], dict[tuple[str, ...], dict[str, Any]]] = {}
    references: dict[tuple[str, ...], tuple[str, ...]] = {}
    for t in records:
        by_grouping.setdefault(t.attributes, {}).setdefault(t.levels, {})[str(t.track)] = t
        if t.is_reference:
            references[t.attributes] = t.levels
    views = []
    for i, (attributes, groups) in enumerate(by_grouping.items()):
        rows = []
        points = []
        for levels, tracks in groups.items():
            label = labels.group(attributes, levels, lang)
            cells = []
            for track in order:
                t = tracks.get(track)
                if t is None:
                    cells.append(Cell(None, note="–"))
                elif t.suppressed or t.share is None:
                    cells.append(
                        Cell(None, note=_("suppressed") if t.suppressed else _("undefined"))
                    )
                else:
                    cells.append(Cell(t.share, t.ci_low, t.ci_high))
                    points.append(
                        charts.Point(
                            f"{label} · {display_label(track)}", t.share, t.ci_low, t.ci_high
                        )
                    )
            rows.append((label, levels == references.get(attributes), tuple(cells)))
        title = " × ".join(labels.attribute(x, lang) for x in attributes)
        chart = None
        if points:
            chart = charts.interval_chart(
                f"tracks{i}",
                points,
                axis_label=_("share of the group sent to the track"),
                reading=_("Share of each group sent to each track, by %(grouping)s.")
                % {"grouping": title},
                alternative="; ".join(
                    f"{p.label}: {fmt.percent(p.value)} {_interval_text(p.low, p.high, fmt, _, level, percent=True)}"
                    for p in points
                ),
                number=lambda x: fmt.percent(x, 0),
            )
        views.append(
            TrackView(
                title=title,
                tracks=tuple(display_label(t) for t in order),
                rows=tuple(rows),
                chart=chart,
            )
        )
    return tuple(views)


def anchor_of(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"
