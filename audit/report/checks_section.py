"""The report's "harm checks" section: every check, from its published record alone.

A record is what `audit.checks.result.published_checks` returns (and `checks.json` holds): its
code, name, id, status, sentence, evidence records and flagged counts. Any check is shown the
same way, so a check added later needs no template change: its name and question are
translated when its code (or name) is one of the planned checks, and shown as written
otherwise.

Disclosure is the published record's: a record marked `suppressed` shows "suppressed" in
every figure cell, and its figures are never read here, even if a caller left them in.
Flagged cases are a count only ("fewer than k" when the record says so); the cases themselves
never reach a report.

What comes from the checks (ids, levels, reasons, sentences, notes) is plain text, bounded by
`display_label`; the template escapes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.labels import display_label
from audit.report.content import Labels
from audit.report.i18n import NO_VALUE, Formatter

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# The planned checks, by their stable code; a record is matched by code, then by name.
CHECK_NAMES = {
    "H1": N_("Steering to a track"),
    "H2": N_("Access to training"),
    "H3": N_("Missing papers"),
    "H4": N_("Digital traces standing in for a group"),
    "H5": N_("Choice of the outcome the model learns"),
    "H6": N_("Distance and transport"),
    "H7": N_("Jobs below people's qualification"),
    "CF": N_("Changing only the group"),
    "AT": N_("Errors at the allocation thresholds"),
}
CHECK_QUESTIONS = {
    "H1": N_(
        "Are people of a group sent to a track, such as sheltered work, more often than "
        "comparable people?"
    ),
    "H2": N_("Are people of a group who would benefit from training recommended it less often?"),
    "H3": N_(
        "Do missing documents, a missing address or a missing diploma lower people's score "
        "or change their track?"
    ),
    "H4": N_(
        "Do online traces, such as logins or CV updates, stand in for a group and weigh on "
        "the score?"
    ),
    "H5": N_("Does the model look fair on the outcome it learned, but not on lasting employment?"),
    "H6": N_(
        "Are people of a group recommended jobs that are further away or hard to reach "
        "without transport?"
    ),
    "H7": N_(
        "Are people of a group recommended jobs below their qualification, or placed lower "
        "in the lists of candidates?"
    ),
    "CF": N_(
        "Does the decision change when only the person's group, or what stands in for it, "
        "is changed?"
    ),
    "AT": N_(
        "At each threshold that allocates support, are people of a group more often wrongly "
        "judged to have a high chance, or a low chance?"
    ),
}
CODE_OF_NAME = {
    "steering": "H1",
    "training": "H2",
    "missing_papers": "H3",
    "digital_proxies": "H4",
    "label_choice": "H5",
    "mobility": "H6",
    "undermatching": "H7",
    "flips": "CF",
    "counterfactual_flips": "CF",
    "thresholds": "AT",
    "allocation_thresholds": "AT",
}
# A check's status in plain words, and what it means.
CHECK_STATUS_NAMES = {
    "finding": N_("harm found"),
    "no_finding": N_("no harm found"),
    "inconclusive": N_("the data cannot tell"),
    "not_evaluable": N_("not evaluable"),
    "skipped": N_("not run"),
}
CHECK_STATUS_MEANINGS = {
    "finding": N_(
        "The check found a harm: for at least one group, the difference is clear, even after "
        "taking into account how many groups were compared."
    ),
    "no_finding": N_(
        "The check found no harm: for every group compared, the data rule out a harm larger "
        "than the check's margin."
    ),
    "inconclusive": N_(
        "The check can neither show a harm nor rule it out: for at least one group, the data "
        "are too uncertain."
    ),
    "not_evaluable": N_(
        "The check could not compare any group: every group was too small. This is not a pass."
    ),
    "skipped": N_("The check was not run. This is not a pass."),
}
# An evidence record's status.
RECORD_STATUS_NAMES = {
    "finding": N_("harm"),
    "no_finding": N_("ruled out"),
    "inconclusive": N_("cannot tell"),
    "unreliable": N_("too small to decide"),
    "descriptive": N_("context, not deciding"),
}
# The CSS class of a status, so that harm reads like a rule's failure.
STATUS_CLASSES = {
    "finding": "fail",
    "no_finding": "pass",
    "inconclusive": "inconclusive",
    "not_evaluable": "inconclusive",
    "skipped": "inconclusive",
    "unreliable": "unreliable",
    "descriptive": "unreliable",
}
MEASURE_NAMES = {
    "adjusted_odds_ratio": N_("odds ratio among comparable people"),
    "odds_ratio": N_("odds ratio"),
    "rate_difference": N_("difference in rates"),
    "rate_ratio": N_("ratio of rates"),
    "flip_rate": N_("share of decisions that change"),
    "auc": N_("how well the feature predicts the group (AUC)"),
    "mutual_information": N_("mutual information"),
}


@dataclass(frozen=True)
class EvidenceRow:
    """One comparison of a check; the figures are None (shown as `note`) when suppressed."""

    group: str
    reference: str
    measure: str
    estimate: str
    interval: str
    p_adjusted: str
    detectable: str
    people: str  # the group's size, as published
    reference_people: str
    status: str  # the record's status code
    status_class: str
    status_name: str
    suppressed: bool


@dataclass(frozen=True)
class CheckView:
    anchor: str
    code: str
    check_id: str
    name: str
    question: str | None
    status: str  # the check's status code
    status_class: str
    status_name: str
    meaning: str
    reason: str | None  # why it was skipped or not evaluable (the check's own words)
    flagged: str | None  # the count of flagged cases, in words; None for a check not run
    sentence: str
    margin: str | None
    needs: str
    notes: tuple[str, ...]
    rows: tuple[EvidenceRow, ...]
    measure: str | None = None  # the measure of every row, when they share one

    @property
    def measures_differ(self) -> bool:
        return self.measure is None and bool(self.rows)


def code_of(record: Mapping[str, Any]) -> str:
    code = str(record.get("code") or "")
    if code in CHECK_NAMES:
        return code
    return CODE_OF_NAME.get(str(record.get("name") or ""), code)


def check_name(record: Mapping[str, Any], _: Gettext) -> str:
    code = code_of(record)
    if code in CHECK_NAMES:
        return _(CHECK_NAMES[code])
    return display_label(str(record.get("name") or code or "?"))


def measure_name(measure: str, _: Gettext) -> str:
    if measure in MEASURE_NAMES:
        return _(MEASURE_NAMES[measure])
    return display_label(measure.replace("_", " "))


def check_views(
    records: Sequence[Mapping[str, Any]],
    labels: Labels,
    lang: str,
    fmt: Formatter,
    _: Gettext,
    *,
    minimum: int,
) -> tuple[CheckView, ...]:
    """Each check's view; `minimum` is the published minimum cell size."""
    return tuple(_view(i, r, labels, lang, fmt, _, minimum) for i, r in enumerate(records))


def _view(
    index: int,
    r: Mapping[str, Any],
    labels: Labels,
    lang: str,
    fmt: Formatter,
    _: Gettext,
    minimum: int,
) -> CheckView:
    code = code_of(r)
    status = str(r.get("status") or "skipped")
    margin = r.get("margin")
    reason = r.get("reason")
    rows = tuple(_row(e, labels, lang, fmt, _, minimum) for e in r.get("evidence") or ())
    measures = {row.measure for row in rows}
    return CheckView(
        anchor=f"check{index}",
        code=display_label(str(r.get("code") or code)),
        check_id=display_label(str(r.get("id") or "")),
        name=check_name(r, _),
        question=_(CHECK_QUESTIONS[code]) if code in CHECK_QUESTIONS else None,
        status=status,
        status_class=STATUS_CLASSES.get(status, "inconclusive"),
        status_name=_(CHECK_STATUS_NAMES[status])
        if status in CHECK_STATUS_NAMES
        else display_label(status),
        meaning=_(CHECK_STATUS_MEANINGS[status]) if status in CHECK_STATUS_MEANINGS else "",
        reason=display_label(str(reason), 600) if reason else None,
        flagged=None if status == "skipped" else _flagged(r, fmt, _),
        sentence=display_label(str(r.get("sentence") or ""), 600),
        margin=fmt.number(float(margin), 3) if isinstance(margin, int | float) else None,
        needs=", ".join(display_label(str(c)) for c in r.get("needs") or ()),
        notes=tuple(display_label(str(n), 600) for n in r.get("notes") or ()),
        rows=rows,
        measure=measures.pop() if len(measures) == 1 else None,
    )


def _flagged(r: Mapping[str, Any], fmt: Formatter, _: Gettext) -> str:
    fewer = r.get("flagged_fewer_than")
    if fewer is not None:
        return _("Fewer than %(n)s people were flagged for a counsellor to look at again.") % {
            "n": fmt.count(int(fewer))
        }
    n = r.get("flagged")
    if not n:
        return _("No person was flagged for a counsellor to look at again.")
    return _("%(n)s people were flagged for a counsellor to look at again.") % {
        "n": fmt.count(int(n))
    }


def _row(
    e: Mapping[str, Any], labels: Labels, lang: str, fmt: Formatter, _: Gettext, minimum: int
) -> EvidenceRow:
    attribute = str(e.get("attribute") or "")
    level, reference = str(e.get("level") or ""), str(e.get("reference") or "")
    status = str(e.get("status") or "unreliable")
    suppressed = bool(e.get("suppressed"))
    if suppressed:  # never its figures, whatever the record still holds
        hidden = _("suppressed")
        estimate = interval = p_adjusted = detectable = hidden
        people = _("fewer than %(n)s people in the group or its reference") % {
            "n": fmt.count(minimum)
        }
        reference_people = ""
    else:
        low, high = _float(e.get("ci_low")), _float(e.get("ci_high"))
        estimate = fmt.number(_float(e.get("estimate")))
        interval = (
            NO_VALUE if low is None or high is None else f"{fmt.number(low)} – {fmt.number(high)}"
        )
        p_adjusted = _p(_float(e.get("p_adjusted")), fmt)
        detectable = fmt.number(_float(e.get("detectable")))
        people = _people(_float(e.get("n")), fmt, _)
        reference_people = _people(_float(e.get("n_reference")), fmt, _)
    return EvidenceRow(
        group=labels.group((attribute,), (level,), lang),
        reference=labels.group((attribute,), (reference,), lang),
        measure=measure_name(str(e.get("measure") or ""), _),
        estimate=estimate,
        interval=interval,
        p_adjusted=p_adjusted,
        detectable=detectable,
        people=people,
        reference_people=reference_people,
        status=status,
        status_class=STATUS_CLASSES.get(status, "unreliable"),
        status_name=_(RECORD_STATUS_NAMES[status])
        if status in RECORD_STATUS_NAMES
        else display_label(status),
        suppressed=suppressed,
    )


def _people(n: float | None, fmt: Formatter, _: Gettext) -> str:
    return NO_VALUE if n is None else _("%(n)s people") % {"n": fmt.count(n)}


def _float(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _p(p: float | None, fmt: Formatter) -> str:
    """A corrected p-value: three decimals, or "< 0.001" below that."""
    if p is None:
        return NO_VALUE
    if p < 0.001:
        return f"< {fmt.number(0.001)}"
    return fmt.number(p)
