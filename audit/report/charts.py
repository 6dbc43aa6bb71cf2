"""Charts as inline SVG (matplotlib's SVG backend), each with a reading and a text alternative.

A chart is drawn from numbers the caller already took from the published assessment; this
module computes nothing. The SVG is made to sit inside an HTML page next to other charts:

- text stays text (`svg.fonttype: none`), so it scales, is searchable and is read aloud;
- the element ids matplotlib writes (clip paths, glyphs) are prefixed with the chart's own id,
  so two charts never share an id (axe's duplicate-id rules, and a clip path of one chart
  silently applied to another);
- no date or random salt in the output, so the same result renders byte for byte the same
  (the golden-file test of `reports/examples/` relies on it);
- figures are made without pyplot, so no global backend is switched and nothing stays open;
- the <svg> element gets role="img" and aria-labelledby pointing at a <title> and <desc>
  holding the chart's one-sentence reading and its text alternative.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure

_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "audit-report",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# Colours distinguishable with the common colour-vision deficiencies (Okabe-Ito), and every
# meaning also carried by shape or position, never by colour alone.
FAIL, PASS, UNSURE, NEUTRAL, BOUND = "#D55E00", "#009E73", "#E69F00", "#0072B2", "#333333"
STATUS_COLOUR = {"fail": FAIL, "pass": PASS, "inconclusive": UNSURE}
STATUS_MARKER = {"fail": "X", "pass": "o", "inconclusive": "D"}
MAX_BAR_LABEL = 60


@dataclass(frozen=True)
class Point:
    """One row of a chart: a label, an estimate and its interval (any may be missing)."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    status: str | None = None  # pass / fail / inconclusive: colour and marker


@dataclass(frozen=True)
class Chart:
    svg: str  # the <svg> element, ready to be placed in the page as it is
    reading: str  # one sentence: what the chart shows
    alternative: str  # the chart's content as text, for who cannot see it


def interval_chart(
    chart_id: str,
    points: Sequence[Point],
    *,
    axis_label: str,
    bounds: Sequence[float] = (),
    reference_line: float | None = None,
    reading: str,
    alternative: str,
    number: Callable[[float], str] = lambda x: f"{x:.2f}",
) -> Chart:
    """Estimates with their intervals, one row per group, against the rule's bounds."""
    shown = [p for p in points if p.value is not None]
    height = 0.9 + 0.32 * max(len(shown), 1)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, height))
        ax = fig.add_axes((0.36, 0.9 / height * 0.6, 0.6, 1 - 0.9 / height))
        for row, p in enumerate(shown):
            colour = STATUS_COLOUR.get(p.status or "", NEUTRAL)
            if p.low is not None and p.high is not None:
                ax.plot([p.low, p.high], [row, row], color=colour, linewidth=2.2)
            ax.plot(
                [float(p.value or 0.0)],
                [row],
                marker=STATUS_MARKER.get(p.status or "", "o"),
                color=colour,
                markersize=6,
                linestyle="none",
            )
        for b in bounds:
            ax.axvline(b, color=BOUND, linestyle="--", linewidth=1)
        if reference_line is not None:
            ax.axvline(reference_line, color="#999999", linewidth=0.8)
        ax.set_yticks(range(len(shown)), [_short(p.label) for p in shown])
        ax.set_ylim(-0.6, len(shown) - 0.4)
        ax.invert_yaxis()
        ax.set_xlabel(_wrapped(axis_label))
        ax.xaxis.set_major_formatter(lambda x, _: number(x))  # the locale's decimal mark
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        svg = _svg(fig, chart_id)
    return Chart(
        svg=_accessible(svg, chart_id, reading, alternative),
        reading=reading,
        alternative=alternative,
    )


def line_chart(
    chart_id: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_label: str,
    y_label: str,
    diagonal: bool,
    reading: str,
    alternative: str,
) -> Chart:
    """Lines through (x, y) points, one per series (calibration: mean score -> observed rate)."""
    markers = "osD^vP*X"
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 3.6))
        ax = fig.add_axes((0.1, 0.14, 0.58, 0.8))
        if diagonal:
            ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle="--")
        for i, (name, xy) in enumerate(series):
            xs, ys = [x for x, _ in xy], [y for _, y in xy]
            ax.plot(xs, ys, marker=markers[i % len(markers)], markersize=4, label=_short(name))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1 if diagonal else None)
        ax.set_xlabel(_wrapped(x_label, 50))
        ax.set_ylabel(_wrapped(y_label, 40))
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False, fontsize=8)
        svg = _svg(fig, chart_id)
    return Chart(
        svg=_accessible(svg, chart_id, reading, alternative),
        reading=reading,
        alternative=alternative,
    )


def _wrapped(text: str, width: int = 60) -> str:
    return "\n".join(textwrap.wrap(text.replace("$", r"\$"), width)) or " "


def _short(label: str) -> str:
    """A label for an axis: bounded, and never read as mathtext (matplotlib reads `$x$`)."""
    short = label if len(label) <= MAX_BAR_LABEL else label[: MAX_BAR_LABEL - 1] + "…"
    return short.replace("$", r"\$")


def _svg(fig: Figure, chart_id: str) -> str:
    buffer = io.StringIO()
    # A bare Figure (no pyplot): no global backend switched, nothing left open to close.
    # A tight box: long group labels and axis titles are kept whole, never cut at the edge.
    fig.savefig(
        buffer,
        format="svg",
        metadata={"Date": None, "Creator": None},
        bbox_inches="tight",
        pad_inches=0.05,
    )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # matplotlib writes its labels into the SVG as it got them (escaped for XML): fine inline.
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{chart_id}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{chart_id}-{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{chart_id}-{m.group(1)}"', text)
    return text


def _accessible(svg: str, chart_id: str, reading: str, alternative: str) -> str:
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = head.replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" ',
        1,
    )
    inner = (
        f'<title id="{chart_id}-title">{escape(reading)}</title>'
        f'<desc id="{chart_id}-desc">{escape(alternative)}</desc>'
    )
    return head + inner + svg[head_end:]
