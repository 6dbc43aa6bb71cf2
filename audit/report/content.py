"""What the first page says, from the content-selection modules (`findings`, `plain`,
`group_labels`), in one language.

The selection of key findings, their plain-language sentences and the human group labels
belong to those modules; the templates only place what this returns. When they are not part
of the installed package (a checkout without them), a minimal selection made here stands in:
the deciding findings of the verdict, worst first, and the groups the audit could not read,
worded by the catalogue `audit`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.gate import Verdict
from audit.labels import display_label
from audit.stats.result import Assessment

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class KeyFindingView:
    """One key finding as the report shows it: sentences and the figures beside them."""

    sentences: tuple[str, ...]
    group: str
    rule_id: str
    status: str
    metric: str
    kind: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    bound: float | None
    n_rows: int | None


@dataclass(frozen=True)
class FirstPageView:
    intro: tuple[str, ...]
    findings: tuple[KeyFindingView, ...]
    unknowns: tuple[str, ...]
    more: tuple[str, ...] = ()  # "and N more findings in the evidence"
    labels: Any = field(repr=False, default=None)


def has_selection_modules() -> bool:
    names = ("audit.report.findings", "audit.report.plain", "audit.report.group_labels")
    return all(importlib.util.find_spec(n) is not None for n in names)


class Labels:
    """Group labels: the spec's `labels:` through `group_labels` when present, else the raw
    attribute and level names (bounded and visible)."""

    def __init__(self, spec_labels: Mapping[str, Any] | None) -> None:
        self._labels: Any = None
        if has_selection_modules():
            from audit.report import group_labels  # type: ignore[attr-defined,unused-ignore]

            self._labels = group_labels.GroupLabels.from_spec(spec_labels or {})

    @property
    def impl(self) -> Any:
        return self._labels

    def attribute(self, attribute: str, lang: str) -> str:
        if self._labels is not None:
            return str(self._labels.attribute(attribute, lang))
        return display_label(attribute)

    def group(self, attributes: tuple[str, ...], levels: tuple[str, ...], lang: str) -> str:
        if self._labels is not None:
            return str(self._labels.group(attributes, levels, lang))
        return " × ".join(
            f"{display_label(a)}: {display_label(v)}"
            for a, v in zip(attributes, levels, strict=True)
        )


def first_page(
    assessment: Assessment,
    verdict: Verdict,
    *,
    suite: str,
    lang: str,
    labels: Labels,
    gettext: Gettext,
    limit: int = 5,
) -> FirstPageView:
    if labels.impl is not None:
        return _from_modules(assessment, verdict, suite=suite, lang=lang, labels=labels)
    return _fallback(assessment, verdict, lang=lang, labels=labels, gettext=gettext, limit=limit)


def _from_modules(
    assessment: Assessment, verdict: Verdict, *, suite: str, lang: str, labels: Labels
) -> FirstPageView:
    from audit.report import findings, plain  # type: ignore[attr-defined,unused-ignore]

    selection = findings.select_findings(assessment, verdict)
    page = plain.first_page(selection, verdict, suite=suite)
    impl = labels.impl

    def say(p: Any) -> str:
        return str(plain.translate(p, lang, impl))  # type: ignore[arg-type,unused-ignore]

    views = tuple(
        KeyFindingView(
            sentences=tuple(say(p) for p in sentences),
            group=labels.group(f.attributes, f.levels, lang),
            rule_id=f.rule_id,
            status=f.status,
            metric=f.metric,
            kind=f.kind,
            value=f.value,
            ci_low=f.ci_low,
            ci_high=f.ci_high,
            bound=f.bound,
            n_rows=f.n_rows,
        )
        for f, sentences in zip(selection.findings, page.findings, strict=False)
    )
    # Beyond one entry per key finding, the page may say how many more there are.
    more = tuple(say(p) for extra in page.findings[len(views) :] for p in extra)
    return FirstPageView(
        intro=tuple(say(p) for p in page.intro),
        findings=views,
        unknowns=tuple(say(p) for p in page.unknowns),
        more=more,
        labels=impl,
    )


def _fallback(
    assessment: Assessment,
    verdict: Verdict,
    *,
    lang: str,
    labels: Labels,
    gettext: Gettext,
    limit: int,
) -> FirstPageView:
    _ = gettext
    deciding = sorted(
        verdict.failures,
        key=lambda f: -abs((f.value or 0.0) - (f.bound if f.bound is not None else 0.0)),
    )
    seen: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()
    views: list[KeyFindingView] = []
    for f in deciding:
        key = (f.rule_id, f.attributes, f.levels)
        if key in seen:
            continue
        seen.add(key)
        group = labels.group(f.attributes, f.levels, lang)
        views.append(
            KeyFindingView(
                sentences=(
                    _("The rule “%(rule)s” is not met for this group.") % {"rule": f.rule_id},
                ),
                group=group,
                rule_id=f.rule_id,
                status="fail",
                metric=f.metric,
                kind=f.kind,
                value=f.value,
                ci_low=f.ci_low,
                ci_high=f.ci_high,
                bound=f.bound,
                n_rows=_size(assessment, f.attributes, f.levels),
            )
        )
        if len(views) == limit:
            break
    small = sum(1 for g in assessment.groups if g.suppressed or not g.reliable)
    unknowns = []
    if small:
        unknowns.append(_("Groups too small to be measured: %(n)s.") % {"n": small})
    return FirstPageView(intro=(), findings=tuple(views), unknowns=tuple(unknowns))


def _size(
    assessment: Assessment, attributes: tuple[str, ...], levels: tuple[str, ...]
) -> int | None:
    for g in assessment.groups:
        if g.attributes == attributes and g.levels == levels:
            return g.n_rows
    return None
