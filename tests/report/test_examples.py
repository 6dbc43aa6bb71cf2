"""The committed example report (`reports/examples/belgian-profiling/`) is up to date.

The demo audit's report is committed so that a reader sees it without running anything. It is
rendered again here from the result committed beside it and compared with the committed page,
with the one volatile part normalised: the drawing inside each chart (its SVG geometry depends
on the installed matplotlib and fonts), kept as the chart's reading and text alternative. Each
committed PDF carries the hash of the HTML it was laid out from. When a template, a message or
the content rules change, this fails: run `scripts/regenerate-example-reports.sh` and commit.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from audit.report.render import SOURCE_KEY, render_html
from audit.report.sources import from_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "reports" / "examples" / "belgian-profiling"
LANGUAGES = ("fr", "nl", "en")
HINT = "the example report is out of date: run scripts/regenerate-example-reports.sh and commit"


def normalised(html: str) -> str:
    def chart(match: re.Match[str]) -> str:
        svg = match.group(0)
        title = re.search(r"<title[^>]*>.*?</title>", svg, flags=re.S)
        desc = re.search(r"<desc[^>]*>.*?</desc>", svg, flags=re.S)
        return f"<svg>{title.group(0) if title else ''}{desc.group(0) if desc else ''}</svg>"

    return re.sub(r"<svg\b.*?</svg>", chart, html, flags=re.S)


@pytest.fixture(scope="module")
def stored():  # type: ignore[no-untyped-def]
    return from_folder(EXAMPLE)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_html_is_what_the_code_renders(stored, lang: str) -> None:  # type: ignore[no-untyped-def]
    committed = (EXAMPLE / f"report.{lang}.html").read_text(encoding="utf-8")
    fresh = render_html(stored, lang)
    assert normalised(fresh) == normalised(committed), HINT


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_committed_pdf_was_made_from_its_html(lang: str) -> None:
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        pytest.fail("pdfinfo is not installed (apt-get install -y poppler-utils; .ci/run does it)")
    html = (EXAMPLE / f"report.{lang}.html").read_bytes()
    info = subprocess.run(
        [pdfinfo, str(EXAMPLE / f"report.{lang}.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert f"{SOURCE_KEY}{hashlib.sha256(html).hexdigest()}" in info, HINT


def test_the_example_is_the_demo_audit(stored) -> None:  # type: ignore[no-untyped-def]
    manifest = stored.manifest or {}
    assert manifest["spec"]["name"] == "belgian-profiling"
    assert stored.assessment.n_rows == 30000  # the audited half of the 60,000 people
    assert stored.verdict.status == "fail"
