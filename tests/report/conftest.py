"""Results to render: real assessments and verdicts of small tables with a known answer.

Each is made the way `audit run` makes its published files: `assess`, then the gate, then
`suppress` and `publish_verdict` (the report only ever sees the published forms). The data are
crafted so that a gap is injected (FAIL), absent on many people (PASS) or too uncertain to
place (INCONCLUSIVE), and the labels hold what a hostile or careless data file may hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import publish_verdict, suppress
from audit.gate import evaluate_policy
from audit.report.context import ReportInput
from audit.spec import PolicySpec
from audit.stats.assess import assess

HOSTILE = "<script>alert(1)</script>"
PIPE_NEWLINE = "a|b\nc"
FOUR_FIFTHS = {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8}
EQUAL_OPPORTUNITY = {"id": "eo", "metric": "tpr", "kind": "difference", "max_abs": 0.05}
RULES = [FOUR_FIFTHS, EQUAL_OPPORTUNITY]


def people(n: int, seed: int, *, gap: float, small: int = 0) -> pd.DataFrame:
    """`n` people in three housing groups (one named like a script), two origin groups (one
    label with a pipe and a newline), with scores; the `homeless` group's chance of the
    decision moves by `gap`. `small` extra people form a group too small to publish."""
    rng = np.random.default_rng(seed)
    housing = rng.choice(["stable", "homeless", HOSTILE], n, p=[0.6, 0.2, 0.2])
    origin = rng.choice(["belgian", PIPE_NEWLINE], n, p=[0.7, 0.3])
    y = rng.random(n) < 0.4
    p = np.where(y, 0.6, 0.3) + gap * (housing == "homeless")
    frame = pd.DataFrame(
        {
            "housing": housing,
            "origin": origin,
            "y": y.astype(int),
            "d": (rng.random(n) < np.clip(p, 0, 1)).astype(int),
            "s": np.clip(0.35 * y + rng.beta(2, 3, n) * 0.6, 0, 1),
        }
    )
    if small:
        extra = frame.sample(small, random_state=seed).assign(housing="caravan")
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def spec_document(**report: Any) -> dict[str, Any]:
    """The part of a run manifest's spec the report reads."""
    return {
        "name": "report-test",
        "description": "A test audit of a made-up model.",
        "policy": {"rules": RULES},
        "report": {"languages": ["fr", "nl", "en"], **report},
    }


def result(
    frame: pd.DataFrame,
    *,
    groups: tuple[str, ...] = ("housing", "origin"),
    reference: Mapping[str, str] | None = None,
    rules: list[dict[str, Any]] | None = None,
    n_boot: int = 100,
    **report: Any,
) -> ReportInput:
    full = assess(
        frame,
        y_true="y",
        y_pred="d",
        score="s" if "s" in frame else None,
        groups=list(groups),
        reference=dict(reference or {"housing": "stable", "origin": "belgian"}),
        n_boot=n_boot,
        seed=1,
    )
    policy = PolicySpec.model_validate({"rules": rules or RULES})
    verdict = evaluate_policy(policy, full)
    published = suppress(full)
    spec = spec_document(**report)
    spec["policy"] = {"rules": rules or RULES}
    manifest = {
        "created_at": "2026-12-01T10:00:00+00:00",
        "spec": spec,
        "data": {"source": "test table", "n_rows": len(frame)},
        "model": {"kind": "test", "uri": "decisions:test"},
        "packages": {"python": "3"},
    }
    return ReportInput(
        assessment=published, verdict=publish_verdict(verdict, published), manifest=manifest
    )


@dataclass(frozen=True)
class Results:
    failing: ReportInput
    passing: ReportInput
    inconclusive: ReportInput


@pytest.fixture(scope="session")
def results() -> Results:
    """The three verdicts, each on data that must give it."""
    return Results(
        failing=result(
            people(3000, 1, gap=-0.25, small=6),
            contact="audit@example.org",
            respond_by="2027-03-31",
        ),
        # 40,000 people and no gap: every interval lies well inside both bounds.
        passing=result(
            people(40000, 2, gap=0.0),
            rules=[
                {"id": "loose", "metric": "selection_rate", "kind": "difference", "max_abs": 0.2}
            ],
        ),
        # 300 people and no gap: intervals too wide to place inside the four-fifths bound.
        inconclusive=result(people(300, 3, gap=0.0), rules=[FOUR_FIFTHS]),
    )


@pytest.fixture(scope="session")
def html_of() -> Callable[[ReportInput, str], str]:
    """html_of(result, lang) -> its rendered page, rendered once per session (a page with
    charts takes a second; the tests read the same pages many times)."""
    from audit.report.render import render_html

    pages: dict[tuple[int, str], str] = {}

    def html(source: ReportInput, lang: str) -> str:
        key = (id(source), lang)
        if key not in pages:
            pages[key] = render_html(source, lang)
        return pages[key]

    return html


@pytest.fixture(scope="session")
def write_html(
    tmp_path_factory: pytest.TempPathFactory, html_of: Callable[[ReportInput, str], str]
) -> Callable[[ReportInput, str], Path]:
    folder = tmp_path_factory.mktemp("html")

    def write(source: ReportInput, lang: str) -> Path:
        path = folder / f"{source.verdict.status}.{lang}.html"
        path.write_text(html_of(source, lang), encoding="utf-8")
        return path

    return write
