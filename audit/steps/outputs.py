"""Step 6, sinks on disk: the result files of an audit, written all together or not at all.

The same files are logged to MLflow as artifacts. They hold aggregates only (counts, rates,
intervals, findings); the people's rows never leave the process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audit.files import staged_files
from audit.gate import Verdict
from audit.junit import junit_xml
from audit.stats.result import Assessment


def result_files(
    *,
    assessment: Assessment,
    verdict: Verdict,
    manifest: Mapping[str, Any],
    spec_text: str,
    suite: str,
    seconds: float,
    junit: bool,
) -> dict[str, str]:
    """File name -> content of everything an audit leaves behind."""
    files = {
        "assessment.json": assessment.to_json(),
        "verdict.json": verdict.to_json(),
        "manifest.json": json.dumps(manifest, indent=1, default=str),
        "spec.yaml": spec_text,
        "summary.md": summary_markdown(verdict, suite),
    }
    if junit:
        files["junit.xml"] = junit_xml(verdict, suite=suite, seconds=seconds)
    return files


def write_files(folder: Path, files: Mapping[str, str]) -> list[Path]:
    """Every file in place, or none: a good earlier report is never half replaced."""
    targets = [folder / name for name in files]
    with staged_files(targets) as temps:
        for tmp, content in zip(temps, files.values(), strict=True):
            tmp.write_text(content, encoding="utf-8")
    return targets


def summary_markdown(verdict: Verdict, suite: str) -> str:
    lines = [f"# Fairness audit `{suite}`: {verdict.label.upper()}", ""]
    if verdict.baseline:
        lines += [f"Baseline: `{verdict.baseline}`", ""]
    lines += ["| rule | status | comparisons | deciding findings |", "|---|---|---|---|"]
    for r in verdict.rules:
        deciding = sum(f.decides for f in r.findings)
        lines.append(
            f"| `{r.rule_id}`: {r.description} | {r.status} | {r.evaluated} | {deciding} |"
        )
    for r in verdict.rules:
        if r.findings:
            lines += ["", f"## {r.rule_id}", ""]
            lines += [f"- **{f.code}** {f.sentence}" for f in r.findings]
    return "\n".join(lines) + "\n"
