"""The harm checks in the published report (HTML and PDF, fr/nl/en) and in summary.md.

One real `audit run` on a track log this project did not make (Dutch column names, its own
track labels, a level named like a script, no model: decisions only), with an H1 check that
flags cases, an H1 check that cannot run (a factor the data lack) and `harm_check` rules on
both. The section is rendered from the published records alone, so records made here by hand
(`published_checks` of outcomes with known figures) check what no real audit shows on demand:
a check of any code, records of too few people, hostile text in every field, flagged counts.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from audit.checks.base import CaseFlag, CheckOutcome, Evidence
from audit.checks.result import published_checks
from audit.checks.steering import SteeringParams
from audit.errors import AuditInputError
from audit.pipeline import AuditOutcome, run_audit
from audit.report.checks_section import CHECK_NAMES, CHECK_QUESTIONS
from audit.report.context import ReportInput
from audit.report.i18n import LANGUAGES, Formatter, translations
from audit.report.render import render_html
from audit.report.sources import from_folder
from audit.spec import parse_spec
from audit.steps.outputs import summary_markdown
from tests.report.conftest import HOSTILE  # type: ignore[import-not-found]
from tests.report.test_browser import (  # type: ignore[import-not-found]
    AXE,
    browser_context,  # noqa: F401 (a fixture)
    open_page,  # noqa: F401 (a fixture)
)

TRACKS = ["werkzoeken", "opleiding", "beschut_werk", "zorgtraject"]
MIN_CELL = 20
TITLE = {"fr": "Contrôles des préjudices", "nl": "Controles op benadeling", "en": "Harm checks"}
H1_NAME = {
    "fr": "Orientation vers un parcours",
    "nl": "Sturing naar een traject",
    "en": "Steering to a track",
}
STATUS = {
    "fr": ("préjudice constaté", "non exécuté"),
    "nl": ("benadeling vastgesteld", "niet uitgevoerd"),
    "en": ("harm found", "not run"),
}
SUPPRESSED = {"fr": "masqué", "nl": "verborgen", "en": "suppressed"}


def _files(root: Path, n: int = 400, seed: int = 5) -> tuple[Path, Path]:
    """People and a separate log of advised tracks (another row order). People with a
    psychiatric history are sent to sheltered work three times as often, at every level of
    education; 4% of people live in a housing situation named like a script (too few to
    publish at a minimum cell of 20)."""
    rng = np.random.default_rng(seed)
    psy = rng.choice(["ja", "nee"], n, p=[0.3, 0.7])
    people = pd.DataFrame(
        {
            "klant_nr": [f"K{i:05d}" for i in range(n)],
            "psy_voorgeschiedenis": psy,
            "woonsituatie": rng.choice(["eigen", "huur", HOSTILE], n, p=[0.56, 0.4, 0.04]),
            "opleiding": rng.choice(["laag", "hoog"], n),
            "werk01": rng.integers(0, 2, n),
        }
    )
    p = np.tile([0.5, 0.3, 0.1, 0.1], (n, 1))
    p[psy == "ja", 0] -= 0.3
    p[psy == "ja", 2] += 0.3
    advised = np.asarray(TRACKS)[(rng.random(n)[:, None] > p.cumsum(axis=1)).sum(axis=1)]
    log = pd.DataFrame({"klant_nr": people.klant_nr, "geadviseerd_traject": advised})
    people_csv, log_csv = root / "klanten.csv", root / "adviezen.csv"
    people.to_csv(people_csv, index=False)
    log.sample(frac=1.0, random_state=1).to_csv(log_csv, index=False)
    return people_csv, log_csv


def _spec(root: Path, people: Path, log: Path) -> str:
    document = {
        "name": "traject-log",
        "data": {"file": str(people), "schema": "none"},
        "model": {
            "decisions": {
                "file": str(log),
                "track_column": "geadviseerd_traject",
                "id_column": "klant_nr",
            }
        },
        "outcome": "werk01",
        "attributes": [
            {"column": "psy_voorgeschiedenis", "reference": "nee"},
            {"column": "woonsituatie", "reference": "eigen"},
        ],
        "legitimate_factors": ["opleiding"],
        "statistics": {"n_boot": 50, "seed": 3, "min_cell_size": MIN_CELL},
        "checks": [
            {
                "check": "H1",
                "id": "sturing",
                "track": "beschut_werk",
                "cases": True,
                "case_below": 0.3,
            },
            {
                "check": "steering",
                "id": "sturing-capaciteit",
                "track": "beschut_werk",
                "factors": ["capaciteit"],
            },
        ],
        "cases": {"dir": str(root / "review")},
        "policy": {
            "rules": [
                {"id": "geen-sturing", "harm_check": "sturing"},
                {"id": "geen-sturing-capaciteit", "harm_check": "sturing-capaciteit"},
            ]
        },
        "tracking": {"enabled": False},
        "report": {"dir": str(root / "rapport"), "languages": ["fr", "nl", "en"]},
    }
    return yaml.safe_dump(document, sort_keys=False)


@dataclass(frozen=True)
class Audited:
    outcome: AuditOutcome
    folder: Path
    published: list[dict[str, Any]]

    def html(self, lang: str) -> str:
        return (self.folder / f"report.{lang}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Audited:
    root = tmp_path_factory.mktemp("harm-report")
    people, log = _files(root)
    text = _spec(root, people, log)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDIT_CASE_SALT", "a salt for the test, kept outside the output")
        outcome = run_audit(parse_spec(text), spec_text=text, console=Console(file=io.StringIO()))
    folder = root / "rapport"
    published = json.loads((folder / "checks.json").read_text(encoding="utf-8"))["checks"]
    return Audited(outcome, folder, published)


def section(html: str) -> str:
    """The harm-checks section of a page (it ends where the methodology begins)."""
    start = html.index('<section id="harm"')
    return html[start : html.index('<section id="method"', start)]


def plain_text(html: str) -> str:
    """The text a reader sees, markup removed, entities left as written."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the real audit ---------------------------------------------------------------------------


def test_the_audit_found_what_the_log_holds(audited: Audited) -> None:
    """The premise of the tests below: the steering is found, the other check is skipped, one
    record is suppressed, and cases were flagged."""
    status = {c.check_id: c.status for c in audited.outcome.checks}
    assert status == {"sturing": "finding", "sturing-capaciteit": "skipped"}
    steer = next(c for c in audited.published if c["id"] == "sturing")
    assert any(r["suppressed"] for r in steer["evidence"])
    assert any(not r["suppressed"] for r in steer["evidence"])
    assert len(audited.outcome.checks[0].cases) > 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_section_is_in_each_language(audited: Audited, lang: str) -> None:
    html = audited.html(lang)
    part = section(html)
    _ = translations(lang).gettext
    assert f'<a href="#harm">{TITLE[lang]}</a>' in html  # in the table of contents
    assert f'<h2 id="harm-title">{TITLE[lang]}</h2>' in part
    text = plain_text(part)
    assert text.count(H1_NAME[lang]) == 2  # both entries are H1
    question = _(CHECK_QUESTIONS["H1"])
    assert question in part.replace("&#39;", "'")
    found, not_run = STATUS[lang]
    assert found in text and not_run in text
    for words in (_("Group"), _("Reference group"), _("Estimate"), _("Corrected p-value")):
        assert words in part
    # Plain words first: the status and its meaning before the technical detail.
    first = part.index(found)
    assert first < part.index(_("Technical detail"))
    if lang != "en":
        assert "Steering to a track" not in part and "harm found" not in part


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_skipped_check_shows_its_reason(audited: Audited, lang: str) -> None:
    skipped = next(c for c in audited.published if c["status"] == "skipped")
    part = section(audited.html(lang))
    entry = part[part.index('id="check1"') :]
    assert STATUS[lang][1] in entry
    assert "&#39;capaciteit&#39;" in entry  # the check's reason, names the missing column
    assert skipped["reason"].split(";")[0].replace("'", "&#39;") in entry
    assert "<table" not in entry  # no evidence to show


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_suppressed_record_never_shows_its_figures(audited: Audited, lang: str) -> None:
    """Over every record of the real audit: a record of fewer than min_cell_size people shows
    'suppressed' in its row and none of its figures (at full precision, formatted for the
    locale) anywhere in the section, unless another, published record has the same figure."""
    fmt = Formatter(lang)
    part = section(audited.html(lang))
    records = [e for c in audited.outcome.checks for e in c.evidence]
    small = [e for e in records if min(e.n, e.n_reference) < MIN_CELL]
    shown = [e for e in records if min(e.n, e.n_reference) >= MIN_CELL]
    assert small and shown

    def figures(e: Evidence) -> set[str]:
        xs = (e.estimate, e.ci_low, e.ci_high, e.detectable, e.p_adjusted)
        return {fmt.number(x) for x in xs if x is not None and x >= 0.001}

    published = set().union(*(figures(e) for e in shown))
    for e in shown:
        assert fmt.number(e.estimate) in part
    for e in small:
        for figure in figures(e) - published:
            assert figure not in part, (e.level, figure)
    rows = re.findall(r'<tr class="suppressed">.*?</tr>', part, flags=re.S)
    assert len(rows) == len(small)
    for row in rows:
        assert row.count(f">{SUPPRESSED[lang]}<") == 4  # estimate, interval, p, detectable


@pytest.mark.parametrize("lang", LANGUAGES)
def test_labels_from_the_data_are_escaped(audited: Audited, lang: str) -> None:
    part = section(audited.html(lang))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in part
    assert "<script" not in audited.html(lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_flagged_cases_are_counted_never_listed(audited: Audited, lang: str) -> None:
    steer = next(c for c in audited.outcome.checks if c.check_id == "sturing")
    n = len(steer.cases)
    assert n >= MIN_CELL  # published as a count, not as "fewer than"
    part = section(audited.html(lang))
    counted = translations(lang).gettext(
        "%(n)s people were flagged for a counsellor to look at again."
    ) % {"n": Formatter(lang).count(n)}
    assert counted in part.replace("&#39;", "'")
    for code in ("H1_UNLIKELY_TRACK", "track_share_among_comparable", "K0"):
        assert code not in audited.html(lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pdf_holds_the_section(audited: Audited, lang: str) -> None:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.fail("pdftotext is not installed (apt-get install -y poppler-utils)")
    text = subprocess.run(
        [pdftotext, str(audited.folder / f"report.{lang}.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = re.sub(r"\s+", " ", text)
    assert TITLE[lang] in flat
    assert H1_NAME[lang] in flat
    for words in STATUS[lang]:
        assert words in flat
    assert "capaciteit" in flat
    assert HOSTILE in flat  # printed as text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_harm_rules_in_the_verdict_part(audited: Audited, lang: str) -> None:
    """The gate's harm_check findings: a key finding on the first page in the page's
    language, the count of groups beyond the rules, the rule the check could not decide, and
    the rules table naming the check."""
    from audit.report import findings_i18n as catalogue

    html = audited.html(lang)
    plain = html[html.index('<section id="plain"') : html.index('<section id="respond"')]
    verdict = audited.outcome.verdict
    found = [f for r in verdict.rules for f in r.findings if f.code == "HARM_FOUND"]
    assert verdict.status == "fail" and found
    said = catalogue.gettext(
        "A harm check found that {group} are treated worse than {reference}.", lang
    )
    assert said.split("{group}")[0].strip() in plain
    groups = catalogue.ngettext(
        "For {count} group, the gap is bigger than the rules allow.",
        "For {count} groups, the gap is bigger than the rules allow.",
        len(found),
        lang,
    )
    before_count = groups.split("{count}")[0].strip()
    shown = re.search(re.escape(before_count) + r"\s*([0-9]+)", plain)
    assert shown is not None and int(shown.group(1)) == len(found)
    unrun = catalogue.gettext(
        "We could not check the rule {rule}. Its harm check could not run, or its groups "
        "were too small. The part on harm checks says why.",
        lang,
    ).format(rule="geen-sturing-capaciteit")
    assert unrun.replace("'", "&#39;") in plain
    rules = html[html.index('<section id="rules"') : html.index('<section id="evidence"')]
    row = rules[rules.index("geen-sturing</span>") :].split("</tr>")[0]
    assert H1_NAME[lang] in row
    margin = translations(lang).gettext("margin %(margin)s") % {
        # the steering check's default margin, as the audit used it
        "margin": Formatter(lang).number(SteeringParams.model_fields["max_odds_ratio"].default, 2)
    }
    assert margin in row


def test_summary_md_has_the_harm_checks(audited: Audited) -> None:
    summary = (audited.folder / "summary.md").read_text(encoding="utf-8")
    part = summary[summary.index("## Harm checks") :]
    steer = next(c for c in audited.outcome.checks if c.check_id == "sturing")
    assert f"| `sturing` (H1 steering) | finding | {len(steer.cases)} |" in part
    assert "| `sturing-capaciteit` (H1 steering) | skipped | - | expected the column(s)" in part
    assert "K0" not in summary  # no case id
    # The rules table counts the harm rule's records: within, beyond, undecided.
    rule = next(r for r in audited.outcome.verdict.rules if r.rule_id == "geen-sturing")
    failed = sum(f.code == "HARM_FOUND" for f in rule.findings)
    unsure = sum(f.code == "HARM_INCONCLUSIVE" for f in rule.findings)
    assert failed >= 1
    counts = f"{rule.evaluated - failed - unsure} | {failed} | {unsure}"
    assert f"| fail | {rule.evaluated} | {counts} |" in summary


def test_audit_report_makes_the_section_again(audited: Audited, tmp_path: Path) -> None:
    """`audit report` reads checks.json beside the result: the section says the same."""
    loaded = from_folder(audited.folder)
    assert [c["id"] for c in loaded.checks] == ["sturing", "sturing-capaciteit"]
    assert section(render_html(loaded, "nl")) == section(audited.html("nl"))
    broken = tmp_path / "broken"
    shutil.copytree(audited.folder, broken)
    (broken / "checks.json").write_text('{"checks": 3}', encoding="utf-8")
    with pytest.raises(AuditInputError, match=r"checks\.json"):
        from_folder(broken)


def test_no_serious_accessibility_violation(audited: Audited, open_page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    opened = open_page(audited.folder / "report.nl.html")
    page = opened.page
    assert page.locator("#harm table.harm-evidence").count() == 1
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    report = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in report["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert opened.requests == [] and opened.page_errors == [] and opened.dialogs == []


# --- records made by hand: any check, any text --------------------------------------------------


def _evidence(
    level: str, n: int, estimate: float, status: str = "inconclusive", n_reference: int = 500
) -> Evidence:
    """A record whose figures are each distinct from every other record's (to 3 decimals)."""
    return Evidence(
        attribute="housing",
        level=level,
        reference="stable",
        measure="flip_rate",
        estimate=estimate,
        ci_low=estimate - 0.011111,
        ci_high=estimate + 0.022222,
        p_value=estimate / 20,
        p_adjusted=estimate / 10,
        detectable=estimate / 2,
        n=n,
        n_reference=n_reference,
        status=status,  # type: ignore[arg-type]
    )


def _outcome(code: str, name: str, evidence: tuple[Evidence, ...], **kw: Any) -> CheckOutcome:
    fields: dict[str, Any] = {
        "code": code,
        "name": name,
        "check_id": f"{name}-check",
        "status": "inconclusive",
        "sentence": f"{code} said something.",
        "needs": ("housing",),
        "evidence": evidence,
        "margin": 0.05,
    }
    fields.update(kw)
    return CheckOutcome(**fields)


def _cases(n: int) -> tuple[CaseFlag, ...]:
    return tuple(CaseFlag(row=i, reason="CF_FLIP", score=0.1, evidence={}) for i in range(n))


STATUSES = ("finding", "no_finding", "inconclusive", "not_evaluable")
PLANNED = [
    ("H1", "steering"),
    ("H2", "training"),
    ("H3", "missing_papers"),
    ("H4", "digital_proxies"),
    ("H5", "label_choice"),
    ("H6", "mobility"),
    ("H7", "undermatching"),
    ("CF", "flips"),
    ("AT", "thresholds"),
]


@dataclass(frozen=True)
class ByHand:
    source: ReportInput
    outcomes: tuple[CheckOutcome, ...]
    without: ReportInput  # the same result without checks


@pytest.fixture(scope="module")
def by_hand(results) -> ByHand:  # type: ignore[no-untyped-def]
    """Every planned code (their statuses in turn) and one unknown; records of 40 people, of 3, and of 40 against a
    reference of 6 (the last two suppressed at a minimum of 10); i * 7 cases flagged by the i-th check; hostile text in
    every field of the last check and its record."""
    outcomes = [
        _outcome(
            code,
            name,
            (
                _evidence("homeless", 40, 0.7123 + i / 1000, "finding"),
                _evidence("caravan", 3, 0.6543 + i / 1000),
                _evidence("tent", 40, 0.5987 + i / 1000, n_reference=6),
            ),
            cases=_cases(i * 7),
            status=STATUSES[i % len(STATUSES)],
            reason="no group large enough to compare" if i % len(STATUSES) == 3 else None,
        )
        for i, (code, name) in enumerate(PLANNED)
    ]
    outcomes.append(
        _outcome(
            "X9" + HOSTILE,
            "new" + HOSTILE,
            (replace(_evidence(HOSTILE, 60, 0.4321), attribute=HOSTILE, reference=HOSTILE),),
            check_id="id" + HOSTILE,
            sentence="sentence" + HOSTILE,
            notes=("note" + HOSTILE,),
            needs=(HOSTILE,),
        )
    )
    outcomes.append(_outcome("H2", "training", (), status="skipped", reason="reason" + HOSTILE))
    records = published_checks(outcomes, 10)
    return ByHand(
        replace(results.inconclusive, checks=tuple(records)), tuple(outcomes), results.inconclusive
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_planned_check_is_named_in_the_language(by_hand: ByHand, lang: str) -> None:
    _ = translations(lang).gettext
    part = section(render_html(by_hand.source, lang)).replace("&#39;", "'")
    for code in CHECK_NAMES:
        assert _(CHECK_NAMES[code]) in part
        assert _(CHECK_QUESTIONS[code]) in part
    assert "new&lt;script&gt;" in part  # an unknown code: its name as written


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_status_in_plain_words(by_hand: ByHand, lang: str) -> None:
    from audit.report.checks_section import CHECK_STATUS_MEANINGS, CHECK_STATUS_NAMES

    _ = translations(lang).gettext
    part = section(render_html(by_hand.source, lang)).replace("&#39;", "'")
    entries = re.split(r'<section class="harm-check"', part)[1:]
    statuses = [c["status"] for c in by_hand.source.checks]
    assert len(entries) == len(statuses) and set(statuses) == {*STATUSES, "skipped"}
    for entry, status in zip(entries, statuses, strict=True):
        assert _(CHECK_STATUS_NAMES[status]) in entry
        assert _(CHECK_STATUS_MEANINGS[status]) in entry
        others = set(CHECK_STATUS_MEANINGS) - {status}
        assert not any(_(CHECK_STATUS_MEANINGS[o]) in entry for o in others)
        if status == "not_evaluable":
            assert "no group large enough to compare" in entry


@pytest.mark.parametrize("lang", LANGUAGES)
def test_suppressed_figures_never_shown_over_every_record(by_hand: ByHand, lang: str) -> None:
    """Every record of every check: a published record's five figures are on the page, a
    suppressed record's are nowhere on it (unless the page without any check has them)."""
    fmt = Formatter(lang)
    page = render_html(by_hand.source, lang)
    part = section(page)
    elsewhere = render_html(by_hand.without, lang)
    suppressed = 0
    for outcome, record in zip(by_hand.outcomes, by_hand.source.checks, strict=True):
        for raw, shown in zip(outcome.evidence, record["evidence"], strict=True):
            assert shown["suppressed"] == (min(raw.n, raw.n_reference) < 10)
            figures = [raw.estimate, raw.ci_low, raw.ci_high, raw.detectable, raw.p_adjusted]
            for x in figures:
                assert x is not None
                text = fmt.number(x)
                if shown["suppressed"]:
                    assert text not in page or text in elsewhere, (outcome.code, raw.level, x)
                    assert text not in part
                else:
                    assert text in part, (outcome.code, raw.level, x)
            suppressed += shown["suppressed"]
    assert suppressed == 18
    rows = re.findall(r'<tr class="suppressed">.*?</tr>', part, flags=re.S)
    assert len(rows) == 18


def test_a_record_marked_suppressed_hides_figures_a_caller_left_in(results) -> None:  # type: ignore[no-untyped-def]
    """The section reads no figure of a suppressed record, even one still holding them."""
    record = published_checks([_outcome("CF", "flips", (_evidence("homeless", 40, 0.8765),))], 10)
    record[0]["evidence"][0]["suppressed"] = True
    assert record[0]["evidence"][0]["estimate"] == 0.8765
    part = section(render_html(replace(results.inconclusive, checks=tuple(record)), "en"))
    for figure in ("0.877", "0.865", "0.899", "0.438", "0.088"):
        assert figure not in part
    assert part.count(">suppressed<") == 4


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_escaped(by_hand: ByHand, lang: str) -> None:
    page = render_html(by_hand.source, lang)
    assert "<script" not in page
    part = section(page)
    for field in ("id", "sentence", "note", "reason", "new", "X9"):
        assert f"{field}&lt;script&gt;alert(1)&lt;/script&gt;" in part, field
    # and as a group, a reference, a column the check reads
    assert part.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10


@pytest.mark.parametrize("lang", LANGUAGES)
def test_flagged_counts_and_fewer_than(by_hand: ByHand, lang: str) -> None:
    _ = translations(lang).gettext
    part = section(render_html(by_hand.source, lang)).replace("&#39;", "'")
    many = _("%(n)s people were flagged for a counsellor to look at again.")
    for i in range(len(PLANNED)):  # 0, 7 (below the minimum of 10), 14, ...
        n = i * 7
        if n == 0:
            said = _("No person was flagged for a counsellor to look at again.")
        elif n < 10:
            said = _("Fewer than %(n)s people were flagged for a counsellor to look at again.")
            said %= {"n": 10}
        else:
            said = many % {"n": n}
        assert said in part, n
    assert many % {"n": 7} not in part  # below the minimum: never the number itself


def test_summary_md_escapes_and_counts(by_hand: ByHand) -> None:
    text = summary_markdown(by_hand.source.verdict, "demo", checks=by_hand.source.checks)
    part = text[text.index("## Harm checks") :]
    outside_code = re.sub(r"`[^`]*`", "", part)  # a code span shows its text as written
    assert "<script>" not in outside_code and "\\<script\\>" in outside_code
    assert "| `steering-check` (H1 steering) | finding | 0 |" in part
    assert "| `training-check` (H2 training) | no finding | fewer than 10 |" in part
    assert (
        "| `digital_proxies-check` (H4 digital\\_proxies) | not evaluable | 21 | no group" in part
    )
    assert "| `training-check` (H2 training) | skipped | - | reason" in part
    assert "0.712" not in part  # no figures: those are in checks.json


def test_harm_rules_pass_fail_and_not_evaluable_in_the_rules_table() -> None:
    """A harm_check rule the check passes, one it fails, one it cannot decide, through the
    gate: the table of rules says within / beyond / not evaluable with the counts, and the
    first page names the harmed group only."""
    from audit.disclosure import publish_verdict, suppress
    from audit.gate import evaluate_policy
    from audit.spec import PolicySpec
    from audit.stats.assess import assess
    from tests.report.conftest import people  # type: ignore[import-not-found]

    frame = people(600, 4, gap=0.0)
    full = assess(frame, y_true="y", y_pred="d", groups=["housing"], n_boot=20, seed=1)
    ruled_out = _outcome(
        "CF", "flips", (_evidence("homeless", 200, 0.01, "no_finding"),), status="no_finding"
    )
    harmed = _outcome("H1", "steering", (_evidence("tent", 200, 3.2, "finding"),), status="finding")
    empty = _outcome("H6", "mobility", (), status="not_evaluable", reason="no group large enough")
    policy = PolicySpec.model_validate(
        {
            "rules": [
                {"id": "r-pass", "harm_check": "flips-check"},
                {"id": "r-fail", "harm_check": "steering-check"},
                {"id": "r-none", "harm_check": "mobility-check"},
            ]
        }
    )
    outcomes = [ruled_out, harmed, empty]
    verdict = evaluate_policy(policy, full, checks=outcomes)
    assert [r.status for r in verdict.rules] == ["pass", "fail", "not_evaluable"]
    published = suppress(full)
    source = ReportInput(
        assessment=published,
        verdict=publish_verdict(verdict, published),
        manifest={"spec": {"name": "harm-rules", "policy": policy.model_dump(mode="json")}},
        checks=tuple(published_checks(outcomes, 10)),
    )
    html = render_html(source, "en")
    rules = html[html.index('<section id="rules"') : html.index('<section id="evidence"')]
    rows = {rid: rules[rules.index(f"{rid}</span>") :].split("</tr>")[0] for rid in
            ("r-pass", "r-fail", "r-none")}  # fmt: skip
    assert "within the rule" in rows["r-pass"] and "1 / 0 / 0" in rows["r-pass"]
    assert "Changing only the group" in rows["r-pass"] and "margin 0.05" in rows["r-pass"]
    assert "beyond the rule" in rows["r-fail"] and "0 / 1 / 0" in rows["r-fail"]
    assert "not evaluable" in rows["r-none"] and "Harm checks" in rows["r-none"]
    plain = html[html.index('<section id="plain"') : html.index('<section id="respond"')]
    assert "A harm check found that people whose housing is tent are treated worse" in plain
    assert "homeless are treated worse" not in plain
    assert "We could not check the rule r-none. Its harm check could not run" in plain
