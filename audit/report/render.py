"""The report as one self-contained HTML page and a PDF made from the same page.

The HTML holds its style and its charts (inline SVG): it opens with no network. The PDF is the
same HTML laid out by WeasyPrint with the print rules of the style sheet; WeasyPrint is given a
URL fetcher that refuses every URL, so nothing outside the page can ever be loaded into it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from audit.labels import display_label
from audit.report.context import (
    KIND_DEFINITIONS,
    METRIC_DEFINITIONS,
    METRIC_NAMES,
    STATUS_NAMES,
    VERDICT_NAMES,
    ReportInput,
    build_context,
)
from audit.report.i18n import LANGUAGES, Formatter, translations

TEMPLATES = Path(__file__).parent / "templates"
SOURCE_KEY = "html-sha256:"


class ReportRenderError(RuntimeError):
    """The report could not be made (a bug or a missing system library): nothing is written."""


@cache
def _environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped unless marked safe (only our SVG charts)
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    fmt = Formatter(language)
    env.filters.update(
        num=fmt.number,
        pct=fmt.percent,
        count=fmt.count,
        day=lambda d: fmt.day(_as_date(d)),
        plain=lambda v: display_label(v, 200),
    )
    return env


def _as_date(value: Any) -> Any:
    from audit.report.context import _date

    return _date(value[:10] if isinstance(value, str) else value)


def render_html(source: ReportInput, language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown report language {language!r}")
    env = _environment(language)
    _ = translations(language).gettext
    context = build_context(source, language)

    def metric_name(metric: str) -> str:
        return _(METRIC_NAMES[metric]) if metric in METRIC_NAMES else display_label(metric)

    return env.get_template("report.html.j2").render(
        c=context,
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        harm_css=Markup((TEMPLATES / "harm_checks.css").read_text(encoding="utf-8")),
        status_names=STATUS_NAMES,
        verdict_names=VERDICT_NAMES,
        metric_definitions=METRIC_DEFINITIONS,
        kind_definitions=KIND_DEFINITIONS,
        metric_name=metric_name,
    )


def render_pdf(html: str) -> bytes:
    """The PDF of a rendered page; raises ReportRenderError when WeasyPrint cannot run."""
    try:
        import weasyprint
    except (ImportError, OSError) as err:  # OSError: pango or another system library missing
        raise ReportRenderError(f"WeasyPrint cannot run here: {err}") from err
    from weasyprint.urls import URLFetcher

    # data: URLs only (the charts, inside the page): nothing outside the page is ever loaded.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=_charts_as_images(html), url_fetcher=fetcher).render()
    # The page the PDF was laid out from, by its hash: a PDF can be checked against its HTML.
    document.metadata.keywords = [f"{SOURCE_KEY}{hashlib.sha256(html.encode()).hexdigest()}"]
    pdf = document.write_pdf()
    if not pdf:
        raise ReportRenderError("WeasyPrint made an empty PDF")
    return bytes(pdf)


def _charts_as_images(html: str) -> str:
    """Each inline chart as an <img> of the same SVG: WeasyPrint styles every element of an
    inline SVG as if it were HTML, which makes a report with thirty charts three times slower
    to lay out; an SVG image is drawn by the same SVG renderer, with the same content."""

    def image(match: re.Match[str]) -> str:
        svg = match.group(0)
        title = re.search(r"<title[^>]*>(.*?)</title>", svg, flags=re.S)
        alt = title.group(1) if title else ""
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img class="chart-image" alt="{alt}" src="data:image/svg+xml;base64,{data}">'

    return _SVG.sub(image, html)


_SVG = re.compile(r"<svg\b.*?</svg>", flags=re.S)


def render_files(
    source: ReportInput, languages: list[str], formats: list[str]
) -> dict[str, str | bytes]:
    """File name -> content: report.<lang>.html/.pdf per language, and report.html/.pdf for
    the first language."""
    out: dict[str, str | bytes] = {}
    for i, language in enumerate(languages):
        html = render_html(source, language)
        names = [f"report.{language}"] + (["report"] if i == 0 else [])
        for name in names:
            if "html" in formats:
                out[f"{name}.html"] = html
        if "pdf" in formats:
            pdf = render_pdf(html)
            for name in names:
                out[f"{name}.pdf"] = pdf
    return out
