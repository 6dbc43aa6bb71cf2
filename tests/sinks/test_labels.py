"""Labels from the data reach every sink as written: never read as markup, never breaking a
Markdown table or an XML file, bounded in length, and distinct when they differ."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from audit.disclosure import publish_verdict, suppress
from audit.gate import evaluate_policy
from audit.junit import junit_xml
from audit.labels import display_label, markdown_text, rich_text, xml_text
from audit.spec import PolicySpec
from audit.stats.assess import assess
from audit.stats.cli import print_summary
from audit.steps.outputs import summary_markdown

ROOT = Path(__file__).resolve().parents[2]
MARKUP = ["[red]", "[/]", "[bold]x[/bold]", "a\\", "[link=http://x]y"]
MARKDOWN = ["a|b", "*x*", "_y_", "`z`", "<script>", "line\nbreak"]
CONTROL = ["nul\x00x", "esc\x1b[31mx", "rtl\u202ex"]
LONG = ["x" * 5000, "x" * 4999 + "y"]
LABELS = MARKUP + MARKDOWN + CONTROL + LONG


def decisions(labels: list[str], seed: int = 0, per_group: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = ["plain"] * 400 + [lv for lv in labels for _ in range(per_group)]
    n = len(groups)
    d = rng.integers(0, 2, n)
    d[:400] = (rng.random(400) < 0.8).astype(int)  # the reference is selected far more often
    return pd.DataFrame({"grp[/]": groups, "y": rng.integers(0, 2, n), "d": d})


@pytest.fixture(scope="module")
def published():
    return suppress(
        assess(decisions(LABELS), y_true="y", y_pred="d", groups=["grp[/]"], n_boot=0,
               reference={"grp[/]": "plain"})
    )  # fmt: skip


def test_display_labels_are_visible_bounded_and_distinct() -> None:
    shown = [display_label(v) for v in LABELS]
    assert len(set(shown)) == len(shown)
    assert all(len(s) <= 60 and s.isprintable() for s in shown)
    assert display_label(LONG[0]) != display_label(LONG[1])  # same start, different hash
    assert display_label(LONG[0]) == display_label(LONG[0])  # stable
    assert display_label("esc\x1b[31mx") == "esc\\x1b[31mx"


def test_rich_output_prints_markup_literally(published) -> None:
    console = Console(record=True, width=400, color_system=None)
    print_summary(published, console)
    text = console.export_text()
    for label in ("[red]", "[/]", "[bold]x[/bold]", "[link=http://x]y", "grp[/]"):
        assert label in text
    assert "\x1b" not in text and "x" * 100 not in text
    for label in MARKUP:
        assert rich_text(label) != label or "[" not in label


def test_audit_assess_never_crashes_on_markup_in_labels(tmp_path: Path) -> None:
    data = tmp_path / "decisions.csv"
    decisions(MARKUP + MARKDOWN + LONG).to_csv(data, index=False)
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "assess", str(data), "--y-true", "y", "--y-pred",
         "d", "-g", "grp[/]", "--n-boot", "20", "--json", str(out)],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "[red]" in done.stdout and "[/]" in done.stdout and "grp[/]" in done.stdout
    assert out.exists()


def _verdict(published):
    policy = PolicySpec.model_validate(
        {"rules": [{"id": "sr", "metric": "selection_rate", "kind": "difference", "max_abs": 0.1}]}
    )
    baseline = suppress(
        assess(decisions(LABELS, seed=1), y_true="y", y_pred="d", groups=["grp[/]"], n_boot=0,
               reference={"grp[/]": "plain"})
    )  # fmt: skip
    return publish_verdict(evaluate_policy(policy, published, baseline), published)


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_summary_markdown_shows_labels_as_written(published) -> None:
    text = summary_markdown(_verdict(published), "labels", notes=("note with <b>|x", "a\nb"))
    assert "<script>" not in text and "<b>" not in text
    assert "\\<script\\>" in text and "a\\|b" in text
    # Every table row keeps its columns: a label's | is escaped, its newline is shown as \n.
    rows = [line for line in text.splitlines() if line.startswith("|")]
    header = {}
    for line in rows:
        count = _unescaped_pipes(line)
        header.setdefault(count, 0)
        header[count] += 1
    assert set(header) <= {8, 7}  # the rule table (7 columns) and the change table (6)
    # A newline is shown as the escape \n (its backslash escaped for Markdown).
    assert "line\\\\nbreak" in text and "\x1b" not in text and "x" * 100 not in text


def test_junit_is_valid_xml_whatever_the_labels(published) -> None:
    text = junit_xml(_verdict(published), suite="labels\x00suite")
    root = ET.fromstring(text)  # XML 1.0: no control characters, markup escaped
    assert root.find("testsuite") is not None
    assert xml_text("a\x00b\x1fc\n") == "a\\u0000b\\u001fc\n"


def test_markdown_escapes() -> None:
    assert markdown_text("a|b") == "a\\|b"
    assert markdown_text("*x* _y_ `z` <i>") == "\\*x\\* \\_y\\_ \\`z\\` \\<i\\>"
    assert markdown_text("[link](http://x)") == "\\[link\\](http://x)"
    assert markdown_text("line\nbreak") == "line\\\\nbreak"  # renders as line\nbreak
