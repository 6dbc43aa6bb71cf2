"""The PDF report: WeasyPrint's layout of the same page, checked as images and as text.

Pages are turned into images by poppler's `pdftoppm` and must not be blank; the text that
`pdftotext` reads back must state the verdict in the report's language.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audit.report.render import render_pdf

VERDICT = {"fr": "ÉCHEC", "nl": "NIET GESLAAGD", "en": "FAIL"}
PLAIN_TITLE = {"fr": "L'essentiel", "nl": "Kort gezegd", "en": "In short"}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (apt-get install -y poppler-utils; .ci/run does it)")
    return found


@pytest.fixture(scope="module")
def pdfs(results, html_of, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("pdf")
    out = {}
    for lang in VERDICT:
        path = folder / f"report.{lang}.pdf"
        path.write_bytes(render_pdf(html_of(results.failing, lang)))
        out[lang] = path
    return out


@pytest.mark.parametrize("lang", list(VERDICT))
def test_pdf_text_states_the_verdict(pdfs: dict[str, Path], lang: str) -> None:
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdfs[lang]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first_page = text.split("\f")[0]
    assert PLAIN_TITLE[lang] in first_page
    assert VERDICT[lang] in first_page
    assert "<script>alert(1)</script>" in text  # the hostile label, printed as text


def test_pdf_pages_are_not_blank(pdfs: dict[str, Path], tmp_path: Path) -> None:
    pdf = pdfs["fr"]
    subprocess.run(
        [_tool("pdftoppm"), "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    for page in pages:
        grey = np.asarray(Image.open(page).convert("L"))
        inked = float((grey < 200).mean())
        assert inked > 0.003, f"{page.name} is blank ({inked:.4f} of its pixels inked)"


def test_pdf_holds_the_charts(pdfs: dict[str, Path], tmp_path: Path) -> None:
    """The charts are drawn as vector graphics, not dropped: the pages with the evidence carry
    far more ink than text alone would."""
    listing = subprocess.run(
        [_tool("pdfimages"), "-list", str(pdfs["en"])], capture_output=True, text=True, check=True
    ).stdout
    # Vector charts are not raster images: none should have been rasterised either.
    assert len(listing.strip().splitlines()) == 2, listing
    text = subprocess.run(
        [_tool("pdftotext"), str(pdfs["en"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "share given the decision (selection rate)" in text  # a chart's axis label
