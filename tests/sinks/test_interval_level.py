"""The level every sink states for an interval is the level the audit computed, 1 - alpha.

One table this project did not make (Dutch column names, its own labels and tracks, 1,500
people, a housing group whose chance of the decision is 25 points lower and who are steered to
sheltered work) is audited at alpha 0.1 and at the default 0.05, against a baseline model and
with a real steering check. The gate's sentences (as the gate writes them and as they are
published), summary.md, the JUnit file and the report in French, Dutch and English must say
90% (or 95%) in every place that states a level, and never the other one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from audit.checks.base import Attribute, CheckContext
from audit.checks.result import published_checks
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.disclosure import publish_verdict, suppress
from audit.gate import Verdict, evaluate_policy
from audit.junit import junit_xml
from audit.numbers import confidence_level
from audit.report.context import ReportInput
from audit.report.i18n import LANGUAGES, Formatter
from audit.report.render import render_html
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.steps.outputs import summary_markdown

HOUSING = "woonsituatie"
REFERENCE = "eigen_woning"
RULES = [{"id": "vier-vijfde", "metric": "selection_rate", "kind": "ratio", "min": 0.8}]
TRACKS = ("werk", "opleiding", "beschut")
# A level written in any language: "95%", "95 %" (French, any space), "95%-interval" (Dutch).
ANY_LEVEL = r"(?<![\d.,]){}(?:\s|&nbsp;|&#160;)?%"

# Where the report states the level, in each language: the first page's figures and the
# charts' texts, the three method sentences, the harm checks' table header.
REPORT_PHRASES = {
    "en": (
        "({level}% interval ",
        "its whole {level}% interval lies inside",
        "with a {level}% interval. The interval",
        "has a {level}% interval from",
        '<th scope="col">{level}% interval</th>',
    ),
    "fr": (
        "(intervalle à {level} % de ",
        "tout son intervalle à {level} % est dans",
        "avec un intervalle à {level} %. L’intervalle",
        "un intervalle à {level} % tiré",
        '<th scope="col">intervalle à {level} %</th>',
    ),
    "nl": (
        "({level}%-interval van ",
        "haar hele {level}%-interval binnen",
        "met een {level}%-interval. Het interval",
        "een {level}%-interval uit",
        '<th scope="col">{level}%-interval</th>',
    ),
}


def woonlog(n: int, seed: int) -> pd.DataFrame:
    """Decisions of a model and of the model it replaces, and recommended tracks. The
    homeless ('dakloos') have a 25-point lower chance of the new model's decision and are sent
    to sheltered work ('beschut') 20 points more often."""
    rng = np.random.default_rng(seed)
    housing = rng.choice([REFERENCE, "huurder", "dakloos"], n, p=[0.55, 0.3, 0.15])
    origin = rng.choice(["be", "buiten_eu"], n, p=[0.7, 0.3])
    y = rng.random(n) < 0.45
    base = np.where(y, 0.65, 0.35)
    homeless = housing == "dakloos"
    shares = np.tile([0.6, 0.3, 0.1], (n, 1))
    shares[homeless] += [-0.2, 0.0, 0.2]
    track = np.asarray(TRACKS)[(rng.random(n)[:, None] > shares.cumsum(axis=1)).sum(axis=1)]
    return pd.DataFrame(
        {
            HOUSING: housing,
            "herkomst": origin,
            "uitkomst": y.astype(int),
            "beslissing": (rng.random(n) < base - 0.25 * homeless).astype(int),
            "vorige_beslissing": (rng.random(n) < base).astype(int),
            "risicoscore": np.clip(0.3 * y + rng.beta(2, 3, n) * 0.7, 0, 1),
            "traject": track,
        }
    )


@dataclass(frozen=True)
class Audited:
    alpha: float
    verdict: Verdict  # as the gate drew it
    source: ReportInput  # the published forms, as `audit run` hands them to every sink

    def summary(self) -> str:
        return summary_markdown(
            self.source.verdict,
            "woon-audit",
            assessment=self.source.assessment,
            checks=self.source.checks,
        )


def audited(alpha: float, n: int = 1500, seed: int = 4) -> Audited:
    frame = woonlog(n, seed)

    def assessed(decision: str) -> Assessment:
        return assess(
            frame,
            y_true="uitkomst",
            y_pred=decision,
            score="risicoscore",
            groups=[HOUSING, "herkomst"],
            reference={HOUSING: REFERENCE, "herkomst": "be"},
            track="traject",
            n_boot=60,
            seed=3,
            alpha=alpha,
        )

    full, baseline = assessed("beslissing"), assessed("vorige_beslissing")
    context = CheckContext(
        people=frame,
        table=pd.DataFrame({"_track": pd.Categorical(frame["traject"])}, index=frame.index),
        model=None,
        attributes=(Attribute(HOUSING, REFERENCE),),
        factors=(),
        factor_bins={},
        alpha=alpha,
    )
    checks = run_checks([SteeringParams(check="steering", track="beschut")], context)
    verdict = evaluate_policy(
        PolicySpec.model_validate({"rules": RULES}),
        full,
        baseline=baseline,
    )
    published = suppress(full)
    spec = {
        "name": "woon-audit",
        "policy": {"rules": RULES},
        "statistics": {"alpha": alpha},
        "report": {"languages": list(LANGUAGES)},
    }
    source = ReportInput(
        assessment=published,
        verdict=publish_verdict(verdict, published),
        manifest={"created_at": "2026-12-01T10:00:00+00:00", "spec": spec},
        checks=tuple(published_checks(checks, published.settings.min_cell_size)),
    )
    return Audited(alpha, verdict, source)


@pytest.fixture(scope="module")
def at_90() -> Audited:
    return audited(0.1)


@pytest.fixture(scope="module")
def at_95() -> Audited:
    return audited(0.05)


def levels_stated(text: str, level: str) -> int:
    return len(re.findall(ANY_LEVEL.format(re.escape(level)), text))


def test_the_level_is_written_as_a_reader_writes_it() -> None:
    assert [confidence_level(a) for a in (0.05, 0.1, 0.01, 0.2, 0.49)] == [
        "95",
        "90",
        "99",
        "80",
        "51",
    ]
    # (1 - 0.34) * 100 is 65.99999999999999 in floating point: written 66
    assert confidence_level(0.34) == "66"
    assert confidence_level(0.025) == "97.5"
    assert confidence_level(0.001) == "99.9"
    assert confidence_level(0.0001) == "99.99"
    assert confidence_level(1e-7) == "99.99999"  # never rounded up to a 100% interval
    assert [Formatter(lang).level(0.025) for lang in ("fr", "nl", "en")] == ["97,5", "97,5", "97.5"]
    assert Formatter("fr").level(0.1) == "90"


def test_the_data_give_findings_with_intervals_to_state(at_90: Audited, at_95: Audited) -> None:
    """The checks below would pass vacuously on an audit with nothing to say."""
    for audit in (at_90, at_95):
        assert audit.verdict.status == "fail"
        assert audit.verdict.alpha == audit.alpha
        assert any(f.ci_low is not None for f in audit.verdict.failures)
        assert any(g.change_ci_low is not None for r in audit.verdict.rules for g in r.groups)
        assert audit.source.assessment.tracks
        assert audit.source.checks and audit.source.checks[0]["evidence"]


@pytest.mark.parametrize(
    ("fixture", "level", "other"), [("at_90", "90", "95"), ("at_95", "95", "90")]
)
def test_the_gate_sentences_state_the_level(
    request: pytest.FixtureRequest, fixture: str, level: str, other: str
) -> None:
    audit: Audited = request.getfixturevalue(fixture)
    for verdict in (audit.verdict, audit.source.verdict):  # as drawn, and as published
        with_interval = [
            f
            for r in verdict.rules
            for f in r.findings
            if f.ci_low is not None and f.kind != "harm_check"
        ]
        assert with_interval
        for f in with_interval:
            assert f" ({level}% CI " in f.sentence, f.sentence
            assert not levels_stated(f.sentence, other), f.sentence
    junit = junit_xml(audit.source.verdict, suite="woon-audit", seconds=1.0)
    assert f"({level}% CI " in junit and not levels_stated(junit, other)
    # A verdict file written before the level was recorded reads as the default 0.05.
    old = re.sub(r',\s*"alpha":\s*[0-9.e-]+', "", audit.verdict.to_json())
    assert '"alpha"' not in old and Verdict.from_json(old).alpha == 0.05


@pytest.mark.parametrize(
    ("fixture", "level", "other"), [("at_90", "90", "95"), ("at_95", "95", "90")]
)
def test_summary_md_states_the_level(
    request: pytest.FixtureRequest, fixture: str, level: str, other: str
) -> None:
    audit: Audited = request.getfixturevalue(fixture)
    summary = audit.summary()
    key_findings = summary.split("## Key findings", 1)[1].split("## What the audit could not", 1)[0]
    assert f" ({level}% CI " in key_findings
    assert f"| change (worse > 0) | {level}% CI | status |" in summary  # against the baseline
    assert f"Share of each group recommended each track ({level}% interval)" in summary
    assert not levels_stated(summary, other), [
        line for line in summary.splitlines() if levels_stated(line, other)
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("fixture", "level", "other"), [("at_90", "90", "95"), ("at_95", "95", "90")]
)
def test_the_report_states_the_level_in_each_language(
    request: pytest.FixtureRequest, fixture: str, level: str, other: str, lang: str
) -> None:
    audit: Audited = request.getfixturevalue(fixture)
    html = render_html(audit.source, lang)
    for phrase in REPORT_PHRASES[lang]:
        assert phrase.format(level=level) in html, (lang, phrase)
    assert not levels_stated(html, other), re.findall(
        r".{60}" + ANY_LEVEL.format(other) + r".{20}", html
    )


def test_a_level_with_a_decimal_is_written_for_the_language() -> None:
    """alpha 0.025: "97.5% interval" in English, "intervalle à 97,5 %" in French."""
    audit = audited(0.025, n=600, seed=5)
    summary = audit.summary()
    assert "97.5% CI" in summary and "(97.5% interval)" in summary
    assert not levels_stated(summary, "95")
    french = render_html(audit.source, "fr")
    assert "un intervalle à 97,5 % tiré" in french and "97.5" not in french
    assert not levels_stated(french, "95")
