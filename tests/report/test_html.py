"""The HTML report's content, read from the page source: verdicts, numbers, escaping, privacy."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import suppress
from audit.gate import evaluate_policy
from audit.report.context import ReportInput
from audit.report.i18n import Formatter
from audit.report.render import render_html
from audit.spec import PolicySpec
from audit.stats.assess import assess

VERDICT_WORDS = {
    "fail": {"fr": "ÉCHEC", "nl": "NIET GESLAAGD", "en": "FAIL"},
    "pass": {"fr": "RÉUSSI", "nl": "GESLAAGD", "en": "PASS"},
    "inconclusive": {"fr": "INCERTAIN", "nl": "ONBESLIST", "en": "INCONCLUSIVE"},
}


def verdict_label(html: str) -> str:
    found = re.search(r'<p class="verdict-label">.*?</span>\s*(.*?)</p>', html, flags=re.S)
    assert found, "no verdict on the first page"
    return found.group(1).strip()


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_each_verdict_is_stated_in_each_language(results, html_of, lang: str) -> None:  # type: ignore[no-untyped-def]
    for source, status in (
        (results.failing, "fail"),
        (results.passing, "pass"),
        (results.inconclusive, "inconclusive"),
    ):
        assert source.verdict.status == status
        html = html_of(source, lang)
        assert f'<html lang="{lang}">' in html
        assert verdict_label(html) == VERDICT_WORDS[status][lang]


def test_the_page_is_self_contained(results, html_of) -> None:  # type: ignore[no-untyped-def]
    html = html_of(results.failing, "en")
    # Nothing loaded from anywhere: no external script, style sheet, font, image or frame.
    assert not re.search(r"<(script|link|iframe|img)\b", html)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(http" not in html
    assert html.count("<svg") >= 4  # rule charts, rate charts, calibration
    assert 'aria-labelledby="cal0-title cal0-desc"' in html  # calibration by housing
    assert 'aria-labelledby="dist0-title dist0-desc"' in html  # score distribution


def test_data_labels_are_escaped(results, html_of) -> None:  # type: ignore[no-untyped-def]
    html = html_of(results.failing, "en")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # A newline in a label is shown as \n: it can never end a table row or a line.
    assert "a|b\nc" not in html
    assert "a|b\\nc" in html


def test_contact_and_deadline_in_each_language(results, html_of) -> None:  # type: ignore[no-untyped-def]
    expected = {"fr": "31 mars 2027", "nl": "31 maart 2027", "en": "31 March 2027"}
    for lang, day in expected.items():
        html = html_of(results.failing, lang)
        assert "audit@example.org" in html
        assert day in html
    assert "names no contact" in html_of(results.passing, "en")


def test_numbers_are_formatted_for_the_locale() -> None:
    assert Formatter("fr").number(0.0675) == "0,068"
    assert Formatter("nl").number(0.0675) == "0,068"
    assert Formatter("en").number(0.0675) == "0.068"
    assert Formatter("en").count(30000) == "30,000"
    assert Formatter("nl").count(30000) == "30.000"
    assert Formatter("fr").count(30000).replace("\u202f", " ").replace("\xa0", " ") == "30 000"
    assert Formatter("fr").percent(0.194) == "19,4\xa0%"
    assert Formatter("nl").percent(0.194) == "19,4%"
    assert Formatter("fr").percent(0.194, 0) == "19\xa0%"
    assert Formatter("en").percent(0.194) == "19.4%"
    assert Formatter("en").number(None) == "–"


def test_figures_come_from_the_published_assessment(results, html_of) -> None:  # type: ignore[no-untyped-def]
    source = results.failing
    html = html_of(source, "en")
    small = [g for g in source.assessment.groups if g.suppressed]
    assert [g.levels for g in small] == [("caravan",)]
    row = re.search(r"<tr>\s*<th scope=\"row\">[^<]*caravan.*?</tr>", html, flags=re.S)
    assert row, "the suppressed group keeps its row, without figures"
    cells = re.sub(r"<[^>]+>", " ", row.group(0))
    assert "fewer than 10 people" in cells
    assert not re.search(r"\d\.\d{3}|\d+(\.\d)?%", cells), cells
    # A size withheld by secondary suppression is not shown either.
    homeless = next(g for g in source.assessment.groups if g.levels == ("homeless",))
    assert homeless.n_rows is None
    assert "withheld so that a suppressed size cannot be recovered" in html


def test_a_full_precision_assessment_is_refused(results) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    full = replace(results.failing.assessment, disclosure_controlled=False)
    with pytest.raises(ValueError, match="published"):
        ReportInput(assessment=full, verdict=results.failing.verdict)


def test_a_table_we_did_not_make() -> None:
    """Other column names, labels with accents, 400 rows, no score, one rule."""
    rng = np.random.default_rng(11)
    n = 400
    frame = pd.DataFrame(
        {
            "région": rng.choice(["Bruxelles-Capitale", "Wallonie", "Vlaanderen"], n),
            "leeftijd": rng.choice(["<30", "30–49", "50+"], n),
            "embauche": rng.integers(0, 2, n),
            "proposé": rng.integers(0, 2, n),
        }
    )
    full = assess(
        frame, y_true="embauche", y_pred="proposé", groups=["région", "leeftijd"], n_boot=50
    )
    rule = {"id": "règle-4/5", "metric": "selection_rate", "kind": "ratio", "min": 0.8}
    verdict = evaluate_policy(PolicySpec.model_validate({"rules": [rule]}), full)
    from audit.disclosure import publish_verdict

    published = suppress(full)
    source = ReportInput(
        assessment=published,
        verdict=publish_verdict(verdict, published),
        manifest={"spec": {"name": "autre", "policy": {"rules": [rule]}}},
    )
    for lang in ("fr", "nl", "en"):
        html = render_html(source, lang)
        assert "Bruxelles-Capitale" in html and "&lt;30" in html and "règle-4/5" in html
        assert verdict_label(html) == VERDICT_WORDS[verdict.status][lang]


def test_track_shares_are_shown_when_the_result_has_them(results, html_of) -> None:  # type: ignore[no-untyped-def]
    """Results of track audits carry `tracks` (one record per group and track); until every
    result type has the field, the report reads it when present. Here it is set on a copy."""
    from copy import copy
    from types import SimpleNamespace

    def share(levels: tuple[str, ...], track: str, value: float | None, **kw: object) -> object:
        return SimpleNamespace(
            attributes=("housing",), levels=levels, track=track, share=value,
            ci_low=None if value is None else value - 0.02,
            ci_high=None if value is None else value + 0.02,
            is_reference=levels == ("stable",), suppressed=value is None, **kw,
        )  # fmt: skip

    records = (
        share(("stable",), "regular", 0.7),
        share(("stable",), "sheltered", 0.3),
        share(("homeless",), "regular", 0.4),
        share(("homeless",), "sheltered", 0.6),
        share(("caravan",), "regular", None),
        share(("caravan",), "sheltered", None),
    )
    with_tracks = copy(results.failing.assessment)
    object.__setattr__(with_tracks, "tracks", records)
    object.__setattr__(with_tracks, "track_labels", ("regular", "sheltered"))
    source = ReportInput(
        assessment=with_tracks, verdict=results.failing.verdict, manifest=results.failing.manifest
    )
    html = render_html(source, "fr")
    section = html[html.index('<section id="tracks"') :]
    section = section[: section.index("</section>")]
    assert "sheltered" in section and "60,0" in section and "masqué" in section
    assert section.count("<svg") == 1
    assert '<section id="tracks"' not in html_of(results.failing, "fr")


def test_baseline_comparison_side_by_side(results, html_of) -> None:  # type: ignore[no-untyped-def]
    from audit.disclosure import publish_verdict
    from tests.report.conftest import RULES, people  # type: ignore[import-not-found]

    def full(gap: float, seed: int):  # type: ignore[no-untyped-def]
        return assess(
            people(3000, seed, gap=gap), y_true="y", y_pred="d", groups=["housing", "origin"],
            reference={"housing": "stable", "origin": "belgian"}, n_boot=100, seed=1,
        )  # fmt: skip

    candidate, baseline = full(-0.25, 5), full(0.0, 6)
    policy = PolicySpec.model_validate({"rules": RULES, "baseline": "runs:/previous"})
    verdict = evaluate_policy(policy, candidate, baseline)
    published = suppress(candidate)
    source = ReportInput(
        assessment=published,
        verdict=publish_verdict(verdict, published),
        manifest={"spec": {"name": "with-baseline", "policy": {"rules": RULES}}},
    )
    html = render_html(source, "nl")
    section = html[html.index('<section id="baseline"') :]
    section = section[: section.index("</section>")]
    assert "runs:/previous" in section
    assert section.count("<tr>") >= 3  # header and one row per compared group
    assert "Basislijn" in section and "Verandering" in section
    assert '<section id="baseline"' not in html_of(results.failing, "nl")


def test_conditional_gaps_with_the_share_explained() -> None:
    """A gap that comes entirely from a legitimate factor: the conditional gap is near 0 and
    most of the plain gap is explained."""
    from audit.disclosure import publish_verdict

    rng = np.random.default_rng(4)
    n = 6000
    group = rng.choice(["a", "b"], n)
    education = np.where(rng.random(n) < np.where(group == "b", 0.8, 0.2), "low", "high")
    y = rng.random(n) < 0.4
    d = rng.random(n) < np.where(education == "high", 0.6, 0.2)
    frame = pd.DataFrame({"g": group, "edu": education, "y": y.astype(int), "d": d.astype(int)})
    full = assess(
        frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "a"},
        legitimate_factors=["edu"], n_boot=100, seed=1,
    )  # fmt: skip
    rule = {"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.05}
    verdict = evaluate_policy(PolicySpec.model_validate({"rules": [rule]}), full)
    published = suppress(full)
    source = ReportInput(
        assessment=published,
        verdict=publish_verdict(verdict, published),
        manifest={"spec": {"name": "conditional", "policy": {"rules": [rule]}}},
    )
    record = next(
        c for c in published.conditional if c.levels == ("b",) and c.metric == "selection_rate"
    )
    assert record.explained_share is not None and record.explained_share > 0.8
    html = render_html(source, "en")
    section = html[html.index('<section id="conditional"') :]
    section = section[: section.index("</section>")]
    assert "edu" in section
    assert Formatter("en").percent(record.explained_share, 0) in section
