"""The HTML report opened in a real browser: headless Chromium from the OS packages.

One browser for the module, no network: every request other than the report file itself is
refused and recorded. Checks what a reader would meet: no console errors, the plain-language
page and the charts in each language, data labels shown as text (a category named like a
script never runs), tables that keep their shape, and axe-core's accessibility rules (axe is a
vendored test asset injected into the page, `assets/axe.min.js`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import playwright.sync_api as playwright
import pytest

from tests.report.conftest import HOSTILE, PIPE_NEWLINE  # type: ignore[import-not-found]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parent / "assets" / "axe.min.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VERDICT = {"fr": "ÉCHEC", "nl": "NIET GESLAAGD", "en": "FAIL"}
PLAIN_TITLE = {"fr": "L'essentiel", "nl": "Kort gezegd", "en": "In short"}


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield context
        context.close()


class Opened:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []


@pytest.fixture()
def open_page(browser_context: Any) -> Iterator[Callable[[Path], Opened]]:
    pages: list[Any] = []

    def open_(path: Path) -> Opened:
        page = browser_context.new_page()
        pages.append(page)
        opened = Opened(page)
        page.on(
            "console",
            lambda m: opened.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: opened.page_errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            opened.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)

        def route(r: Any) -> None:
            if r.request.url == path.as_uri():
                r.continue_()
            else:
                opened.requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(path.as_uri(), wait_until="load")
        return opened

    yield open_
    for page in pages:
        page.close()


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_report_renders_in_each_language(results, write_html, open_page, lang: str) -> None:  # type: ignore[no-untyped-def]
    opened = open_page(write_html(results.failing, lang))
    page = opened.page
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.inner_text("#plain-title") == PLAIN_TITLE[lang]
    assert VERDICT[lang] in page.inner_text(".verdict-label")
    assert page.locator("#plain .finding").count() >= 1
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() >= 4
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.bounding_box()["height"] > 40  # drawn, not an empty box
        title = chart.locator("title").text_content() or ""
        assert len(title) > 20, "every chart has its one-sentence reading"
    assert page.locator("figure.chart details").count() == charts.count()  # text versions
    assert opened.console_errors == [] and opened.page_errors == []
    assert opened.requests == [], "the page asked for something outside itself"


def test_labels_from_the_data_stay_text(results, write_html, open_page) -> None:  # type: ignore[no-untyped-def]
    opened = open_page(write_html(results.failing, "en"))
    page = opened.page
    assert page.evaluate("document.scripts.length") == 0  # the category did not become a script
    assert opened.dialogs == []
    assert page.get_by_text(HOSTILE, exact=False).count() >= 1  # shown as written
    # Every table keeps its shape: each body row has as many cells as the header.
    shapes = page.evaluate(
        """() => [...document.querySelectorAll('table')].map(t => ({
            head: t.tHead ? t.tHead.rows[0].cells.length : null,
            rows: [...t.tBodies[0].rows].map(r => r.cells.length)}))"""
    )
    for shape in shapes:
        if shape["head"] is not None:
            assert set(shape["rows"]) == {shape["head"]}, shape
    shown = PIPE_NEWLINE.replace("\n", "\\n")
    cell = page.locator("tbody th", has_text=shown).first
    assert cell.count() == 1 and "\n" not in (cell.text_content() or "").strip()


@pytest.mark.parametrize("verdict", ["failing", "passing"])
def test_no_serious_accessibility_violation(results, write_html, open_page, verdict: str) -> None:  # type: ignore[no-untyped-def]
    opened = open_page(write_html(getattr(results, verdict), "nl"))
    page = opened.page
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    report = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in report["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert opened.requests == []
