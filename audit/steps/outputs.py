"""Step 6, sinks on disk: the result files of an audit, written all together or not at all.

The same files are logged to MLflow as artifacts. They hold aggregates only (counts, rates,
intervals, findings); the people's rows never leave the process, and the caller passes the
published assessment and verdict (`audit.disclosure`). Text that comes from the data or the
spec (labels, rule ids, notes) is escaped for Markdown (`audit.labels`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audit.files import staged_files
from audit.gate import Verdict
from audit.junit import junit_xml
from audit.labels import display_label, markdown_code, markdown_text
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
        "summary.md": summary_markdown(verdict, suite, notes=assessment.notes),
    }
    if junit:
        files["junit.xml"] = junit_xml(verdict, suite=suite, seconds=seconds)
    return files


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> list[Path]:
    """Every file in place, or none: a good earlier report is never half replaced."""
    return write_outputs({folder / name: content for name, content in files.items()})


def write_outputs(outputs: Mapping[Path, str | bytes]) -> list[Path]:
    """Files anywhere (the report folder and a `--junit` path), all replaced together or none."""
    targets = list(outputs)
    with staged_files(targets) as temps:
        for tmp, content in zip(temps, outputs.values(), strict=True):
            if isinstance(content, bytes):  # the PDF report
                tmp.write_bytes(content)
            else:
                tmp.write_text(content, encoding="utf-8")
    return targets


MAX_NOTE_CHARS = 600


def summary_markdown(verdict: Verdict, suite: str, notes: Sequence[str] = ()) -> str:
    lines = [f"# Fairness audit `{markdown_code(suite)}`: {verdict.label.upper()}", ""]
    if verdict.status == "inconclusive":
        release = "allowed" if verdict.release_allowed else "blocked"
        lines += [
            "The data cannot show that every group is within the rules, nor that one is beyond "
            f"them: the release is {release} (`on_inconclusive: {verdict.on_inconclusive}`).",
            "",
        ]
    if verdict.baseline:
        lines += [f"Baseline: `{markdown_code(verdict.baseline)}`", ""]
    lines += [
        "| rule | status | compared | pass | fail | inconclusive | detectable gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in verdict.rules:
        statuses = [g.status for g in r.groups]
        gap = r.largest_detectable
        lines.append(
            f"| `{markdown_code(r.rule_id)}`: {markdown_text(r.description)} | {r.status} | "
            f"{r.evaluated} | "
            f"{statuses.count('pass')} | {statuses.count('fail')} | "
            f"{statuses.count('inconclusive')} | {'-' if gap is None else f'{gap:.3f}'} |"
        )
    lines += [
        "",
        "*compared*: groups large enough to count (smaller ones are reported, never decisive); "
        "*pass*: the whole interval lies inside the allowed range; *fail*: beyond it, after the "
        "confirmatory correction over "
        f"{verdict.confirmatory_tests} tests; *inconclusive*: the interval reaches both sides; "
        "*detectable gap*: for a bound, how far beyond it a group's true value must lie for the "
        "audit to find the breach (80% power); for a significance rule, the smallest gap its test "
        "detects; the largest over those groups.",
    ]
    for r in verdict.rules:
        if r.findings or r.reason:
            lines += ["", f"## {markdown_text(r.rule_id)}", ""]
            if r.reason:
                lines.append(f"- **NOT_EVALUABLE** {markdown_text(r.reason)}.")
            lines += [f"- **{f.code}** {markdown_text(f.sentence)}" for f in r.findings]
        changes = [g for g in r.groups if g.change is not None]
        if changes:
            lines += [
                "",
                "| group | candidate | baseline | change (worse > 0) | 95% CI | status |",
                "|---|---|---|---|---|---|",
            ]
            for g in changes:
                ci = (
                    f"{g.change_ci_low:.3f} to {g.change_ci_high:.3f}"
                    if g.change_ci_low is not None and g.change_ci_high is not None
                    else "-"
                )
                group = " × ".join(markdown_text(display_label(v)) for v in g.levels)
                lines.append(
                    f"| {group} | {_fmt(g.value)} | {_fmt(g.baseline_value)} | "
                    f"{_fmt(g.change)} | {ci} | {g.status} |"
                )
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {markdown_text(display_label(note, MAX_NOTE_CHARS))}" for note in notes]
    return "\n".join(lines) + "\n"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
