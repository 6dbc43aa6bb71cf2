"""The first page in plain language: short sentences, everyday words, one idea per sentence.

Written to easy-to-read guidance (the European easy-to-read standard; "facile à lire et à
comprendre"; "makkelijk lezen"): no jargon (no "disparity", "interval", "p-value"), shares
given as "of every 100 people, 7" and numbers up to 100 also in words ("7 (seven)"). The
sentences are gettext messages of the `findings` domain (`audit.report.findings_i18n`) with
named parameters; `translate` fills them in for a language, formatting numbers for its locale
(Babel) and writing them in words (num2words). The tests measure each language's readability.

What a sentence says comes from `audit.report.findings.Selection`, which reads the published
assessment only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from babel.numbers import format_decimal
from num2words import num2words

from audit.gate import Verdict
from audit.labels import display_label
from audit.report import findings_i18n as catalogue
from audit.report.findings import KeyFinding, Selection, Unknown
from audit.report.group_labels import GroupLabels, Lang

_ = catalogue.mark
_n = catalogue.mark_plural
WORDS_UP_TO = 100  # larger numbers in words are long and harder to read than their digits


@dataclass(frozen=True)
class Count:
    """A number of people (or of groups, rules): digits for the locale, and words up to 100."""

    n: int


@dataclass(frozen=True)
class Rate:
    """A share, read as "out of every 100": the rounded count, with words."""

    x: float


@dataclass(frozen=True)
class Number:
    """A figure that is not a count, formatted for the locale with two decimals."""

    x: float


@dataclass(frozen=True)
class GroupParam:
    """A group, labelled in the language of the sentence by `GroupLabels`."""

    attributes: tuple[str, ...]
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Words:
    """A translatable phrase of the same domain, used inside another sentence."""

    msgid: str


Param = str | Count | Rate | Number | GroupParam | Words


@dataclass(frozen=True)
class Plain:
    """One sentence (or a few very short ones) as a gettext message with its parameters."""

    msgid: str
    params: Mapping[str, Param] = field(default_factory=dict)
    plural: str | None = None  # the plural msgid: chosen by the Count in params["count"]


@dataclass(frozen=True, kw_only=True)
class FirstPage:
    """Everything the first page says, in order; `findings` follows `Selection.findings`."""

    intro: tuple[Plain, ...]
    findings: tuple[tuple[Plain, ...], ...]
    unknowns: tuple[Plain, ...]


# --- the messages -----------------------------------------------------------------------------

INTRO_MODEL = _("We checked a computer model called {suite}.")
INTRO_QUESTION = _("We wanted to know if it treats all groups of people in the same way.")
INTRO_PEOPLE = _("We looked at {people} people.")
INTRO_GROUPS = _n("We compared {count} group of people.", "We compared {count} groups of people.")
VERDICT = {
    "fail": _("The result: the model does not pass the check."),
    "pass": _("The result: the model passes the check."),
    "inconclusive": _("The result: we cannot tell yet."),
}
VERDICT_WHY: dict[str, str | tuple[str, str]] = {
    "fail": _n(
        "For {count} group, the gap is bigger than the rules allow.",
        "For {count} groups, the gap is bigger than the rules allow.",
    ),
    "pass": _("For every group, the gap is small enough for the rules."),
    "inconclusive": _("There is not enough data to be sure."),
}
RELEASE = {
    True: _("The rules allow the model to be used."),
    False: _("The rules do not allow the model to be used like this."),
}
INTRO_FINDINGS = _("Here are the most important things we found.")
NO_FINDINGS = _("We found no group with a gap that breaks the rules.")

# What the model does for a group, per metric.
CHOSEN = _("Of every 100 {group}, the model chooses {rate}.")
CHOSEN_REFERENCE = _("Of every 100 {reference}, it chooses {rate}.")
OUTCOME_TRUE = _("Now look only at people for whom the outcome came true.")
OUTCOME_FALSE = _("Now look only at people for whom the outcome did not come true.")
MEASURE = _("For {group}, the measure {metric} is {value}.")
MEASURE_REFERENCE = _("For {reference}, it is {value}.")
COMPARED = _("We compare {group} with {reference}.")
LESS_OFTEN = _("So {group} are chosen less often.")
MORE_OFTEN = _("So {group} are chosen more often.")
SIZE = _("This group has {people} people.")
GAP_FAIL = _("This gap is bigger than the rules allow.")
GAP_UNSURE = _("This gap may be bigger than the rules allow. The data cannot tell for sure.")
OWN_GAP = _("This gap is bigger than the groups on their own would explain.")
ONLY_TOGETHER = _("The gap shows only for people who are in both groups.")
ALSO_ONE = _("This group also breaks another rule.")
ALSO_MORE = _("This group also breaks other rules.")
# A harm_check rule: the check compared the group with its reference on its own measure.
HARM_FOUND = _("A harm check found that {group} are treated worse than {reference}.")
HARM_UNSURE = _(
    "A harm check could not rule out that {group} are treated worse than {reference}. "
    "The data cannot tell for sure."
)
HARM_SEE = _("The part on harm checks explains what was checked.")
MORE_FINDINGS = _n(
    "The tables show {count} more finding.", "The tables show {count} more findings."
)

# What the audit could not tell.
SUPPRESSED = _(
    "We show no figures for {group}. There are fewer than {minimum} of them. "
    "This protects their privacy."
)
TOO_SMALL = _("There are only {people} {group}. That is too few to be sure.")
TOO_SMALL_WITHHELD = _("There are too few {group} to be sure.")
CANNOT_PASS = _("There are too few {group} to show that they are treated fairly.")
MISS_RATE = _("For {group}, we could miss a gap of up to {rate} in 100.")
MISS_OTHER = _("For {group}, we could miss a small gap.")
NOT_EVALUABLE = _("We could not check the rule {rule}. There was not enough data.")
CHECK_NOT_EVALUABLE = _(
    "We could not check the rule {rule}. Its harm check could not run, or its groups were "
    "too small. The part on harm checks says why."
)
MORE_UNKNOWNS = _n(
    "The tables show {count} more thing we could not tell.",
    "The tables show {count} more things we could not tell.",
)
FEWER_THAN_ONE = _("fewer than one")

# Metrics whose value is a share of people chosen by the model, and the people it is among.
_CHOICE_METRICS = {"selection_rate": None, "tpr": OUTCOME_TRUE, "fpr": OUTCOME_FALSE}
_RATE_KINDS = ("difference", "conditional_difference")


# --- the page ---------------------------------------------------------------------------------


def first_page(selection: Selection, verdict: Verdict, *, suite: str) -> FirstPage:
    """The plain-language first page of a published audit."""
    intro = [
        Plain(INTRO_MODEL, {"suite": suite}),
        Plain(INTRO_QUESTION),
        Plain(INTRO_PEOPLE, {"people": Count(selection.n_people)}),
        counted(INTRO_GROUPS, selection.n_groups),
        Plain(VERDICT[verdict.status]),
        counted(VERDICT_WHY[verdict.status], selection.n_breaches),
        Plain(RELEASE[verdict.release_allowed]),
        Plain(INTRO_FINDINGS if selection.findings else NO_FINDINGS),
    ]
    findings = tuple(finding_sentences(f) for f in selection.findings)
    if selection.more_findings:
        findings += ((counted(MORE_FINDINGS, selection.more_findings),),)
    unknowns = [unknown_sentence(u, selection) for u in selection.unknowns]
    if selection.more_unknowns:
        unknowns.append(counted(MORE_UNKNOWNS, selection.more_unknowns))
    return FirstPage(intro=tuple(intro), findings=findings, unknowns=tuple(unknowns))


def counted(message: str | tuple[str, str], n: int) -> Plain:
    """A message with a count, singular or plural as the language wants it."""
    if isinstance(message, str):
        return Plain(message, {"count": Count(n)})
    return Plain(message[0], {"count": Count(n)}, plural=message[1])


def finding_sentences(f: KeyFinding) -> tuple[Plain, ...]:
    """What was found for one group, what it means for them, and how sure it is."""
    group = GroupParam(f.attributes, f.levels)
    reference = GroupParam(f.attributes, f.reference_levels)
    if f.kind == "harm_check":
        return _harm_sentences(f, group, reference)
    out: list[Plain] = []
    choice = f.metric in _CHOICE_METRICS and f.rate is not None and f.reference_rate is not None
    if choice:
        among = _CHOICE_METRICS[f.metric]
        if among is not None:
            out.append(Plain(among))
        out.append(Plain(CHOSEN, {"group": group, "rate": Rate(f.rate or 0.0)}))
        out.append(
            Plain(CHOSEN_REFERENCE, {"reference": reference, "rate": Rate(f.reference_rate or 0.0)})
        )
        lower = (f.rate or 0.0) < (f.reference_rate or 0.0)
        out.append(Plain(LESS_OFTEN if lower else MORE_OFTEN, {"group": group}))
    elif f.rate is not None and f.reference_rate is not None:
        out.append(Plain(MEASURE, {"group": group, "metric": f.metric, "value": Number(f.rate)}))
        out.append(
            Plain(MEASURE_REFERENCE, {"reference": reference, "value": Number(f.reference_rate)})
        )
    else:
        out.append(Plain(COMPARED, {"group": group, "reference": reference}))
    out.append(Plain(GAP_FAIL if f.status == "fail" else GAP_UNSURE))
    if f.kept_because == "own_gap":
        out.append(Plain(OWN_GAP))
    elif f.kept_because == "only_in_combination":
        out.append(Plain(ONLY_TOGETHER))
    if f.n_rows is not None:
        out.append(Plain(SIZE, {"people": Count(f.n_rows)}))
    if f.also_breaches:
        out.append(Plain(ALSO_ONE if len(f.also_breaches) == 1 else ALSO_MORE))
    return tuple(out)


def _harm_sentences(f: KeyFinding, group: GroupParam, reference: GroupParam) -> tuple[Plain, ...]:
    """A harm check's finding: its measure is the check's own, so no share is put in words."""
    said = HARM_FOUND if f.status == "fail" else HARM_UNSURE
    out = [Plain(said, {"group": group, "reference": reference}), Plain(HARM_SEE)]
    if f.also_breaches:
        out.append(Plain(ALSO_ONE if len(f.also_breaches) == 1 else ALSO_MORE))
    return tuple(out)


def unknown_sentence(u: Unknown, selection: Selection) -> Plain:
    """One sentence for one thing the audit could not tell."""
    group = GroupParam(u.attributes, u.levels)
    if u.reason == "not_evaluable":
        return Plain(NOT_EVALUABLE, {"rule": u.rule_id or ""})
    if u.reason == "check_not_evaluable":
        return Plain(CHECK_NOT_EVALUABLE, {"rule": u.rule_id or ""})
    if u.reason == "suppressed":
        return Plain(
            SUPPRESSED, {"group": group, "minimum": Count(u.minimum or selection.min_cell_size)}
        )
    if u.reason == "too_small":
        if u.n_rows is None:
            return Plain(TOO_SMALL_WITHHELD, {"group": group})
        return Plain(TOO_SMALL, {"group": group, "people": Count(u.n_rows)})
    if u.reason == "cannot_pass":
        return Plain(CANNOT_PASS, {"group": group})
    if u.kind in _RATE_KINDS and u.metric in _CHOICE_METRICS and u.detectable is not None:
        return Plain(MISS_RATE, {"group": group, "rate": Rate(u.detectable)})
    return Plain(MISS_OTHER, {"group": group})


# --- rendering --------------------------------------------------------------------------------


def number_words(n: int, lang: Lang) -> str:
    return str(num2words(n, lang=lang))


def format_count(n: int, lang: Lang) -> str:
    digits = format_decimal(n, locale=lang)
    return f"{digits} ({number_words(n, lang)})" if 0 <= n <= WORDS_UP_TO else digits


def format_rate(x: float, lang: Lang) -> str:
    per_hundred = round(x * 100)
    if per_hundred == 0 and x > 0:
        return catalogue.gettext(FEWER_THAN_ONE, lang)
    return format_count(per_hundred, lang)


def _param(value: Param, lang: Lang, labels: GroupLabels) -> str:
    if isinstance(value, Count):
        return format_count(value.n, lang)
    if isinstance(value, Rate):
        return format_rate(value.x, lang)
    if isinstance(value, Number):
        return format_decimal(round(value.x, 2), format="#,##0.00", locale=lang)
    if isinstance(value, GroupParam):
        return labels.group(value.attributes, value.levels, lang)
    if isinstance(value, Words):
        return catalogue.gettext(value.msgid, lang)
    return display_label(value)


def translate(p: Plain, lang: Lang, labels: GroupLabels) -> str:
    """The sentence in `lang`, plain text (each sink escapes it for its format)."""
    params = {name: _param(v, lang, labels) for name, v in p.params.items()}
    if p.plural is not None:
        count = p.params.get("count")
        n = count.n if isinstance(count, Count) else 2
        template = catalogue.ngettext(p.msgid, p.plural, n, lang)
    else:
        template = catalogue.gettext(p.msgid, lang)
    text = template.format(**params)
    return text[:1].upper() + text[1:]


def page_text(page: FirstPage, lang: Lang, labels: GroupLabels) -> list[str]:
    """Every sentence of the page in order (the intro, each finding, the unknowns)."""
    plains = [*page.intro, *(p for f in page.findings for p in f), *page.unknowns]
    return [translate(p, lang, labels) for p in plains]
