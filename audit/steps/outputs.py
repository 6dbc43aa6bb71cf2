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
from audit.numbers import confidence_level, fixed
from audit.report.findings import KeyFinding, Selection, Unknown, select_findings
from audit.stats.result import GROUP_SEPARATOR, Assessment, TrackShare
from audit.track_table import track_cell, track_shares_by_attribute


def result_files(
    *,
    assessment: Assessment,
    verdict: Verdict,
    manifest: Mapping[str, Any],
    spec_text: str,
    suite: str,
    seconds: float,
    junit: bool,
    checks: Sequence[Mapping[str, Any]] = (),
) -> dict[str, str]:
    """File name -> content of everything an audit leaves behind; `checks` are the harm
    checks as published (`audit.checks.result.published_checks`)."""
    files = {
        "assessment.json": assessment.to_json(),
        "verdict.json": verdict.to_json(),
        "manifest.json": json.dumps(manifest, indent=1, default=str),
        "spec.yaml": spec_text,
        "summary.md": summary_markdown(
            verdict, suite, notes=assessment.notes, assessment=assessment, checks=checks
        ),
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


def summary_markdown(
    verdict: Verdict,
    suite: str,
    notes: Sequence[str] = (),
    *,
    assessment: Assessment | None = None,
    checks: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The audit for a CI log: verdict, key findings, what the audit could not tell, rules,
    and the harm checks (`checks`, as published) with their status and flagged counts.

    With the published `assessment`, the key findings come first, ranked and deduplicated
    (`audit.report.findings`), with group sizes and detectable gaps, and each rule's list
    leaves out the intersections whose gap their parents explain (counted, not listed).
    """
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
    selection = None
    if assessment is not None and assessment.disclosure_controlled:
        selection = select_findings(assessment, verdict)
        lines += _key_findings(selection, assessment.settings.alpha)
    lines += [
        "| rule | status | compared | pass | fail | inconclusive | detectable gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in verdict.rules:
        passed, failed, doubtful = r.group_counts
        gap = r.largest_detectable
        lines.append(
            f"| `{markdown_code(r.rule_id)}`: {markdown_text(r.description)} | {r.status} | "
            f"{r.evaluated} | {passed} | {failed} | {doubtful} | "
            f"{'-' if gap is None else fixed(gap)} |"
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
    dropped = _dropped(selection)
    for r in verdict.rules:
        if r.findings or r.reason:
            lines += ["", f"## {markdown_text(r.rule_id)}", ""]
            if r.reason and not any(f.code == "NOT_EVALUABLE" for f in r.findings):
                lines.append(f"- **NOT_EVALUABLE** {markdown_text(r.reason)}.")
            shown = [f for f in r.findings if (r.rule_id, f.attributes, f.levels) not in dropped]
            lines += [f"- **{f.code}** {markdown_text(f.sentence)}" for f in shown]
            left_out = len(r.findings) - len(shown)
            if left_out:
                lines.append(
                    f"- and {left_out} intersections whose gap their single-attribute groups "
                    "already explain (in verdict.json)"
                )
        changes = [g for g in r.groups if g.change is not None]
        if changes:
            lines += [
                "",
                "| group | candidate | baseline | change (worse > 0) | "
                f"{confidence_level(verdict.alpha)}% CI | status |",
                "|---|---|---|---|---|---|",
            ]
            for g in changes:
                ci = (
                    f"{fixed(g.change_ci_low)} to {fixed(g.change_ci_high)}"
                    if g.change_ci_low is not None and g.change_ci_high is not None
                    else "-"
                )
                group = " × ".join(markdown_text(display_label(v)) for v in g.levels)
                lines.append(
                    f"| {group} | {_fmt(g.value)} | {_fmt(g.baseline_value)} | "
                    f"{_fmt(g.change)} | {ci} | {g.status} |"
                )
    lines += harm_checks_markdown(checks)
    # Track shares come from the assessment too (published or full: the caller's choice).
    if assessment is not None:
        lines += track_share_markdown(assessment.tracks, assessment.settings.alpha)
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {markdown_text(display_label(note, MAX_NOTE_CHARS))}" for note in notes]
    return "\n".join(lines) + "\n"


def harm_checks_markdown(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per harm check: its status, its flagged count (never a case), its sentence or
    why it did not run. The evidence per group is in checks.json."""
    if not checks:
        return []
    lines = [
        "",
        "## Harm checks",
        "",
        "| check | status | flagged for review | summary |",
        "|---|---|---|---|",
    ]
    for c in checks:
        status = str(c.get("status") or "")
        said = c.get("reason") if status in ("skipped", "not_evaluable") else c.get("sentence")
        name = f"{c.get('code') or ''} {c.get('name') or ''}".strip()
        lines.append(
            f"| `{markdown_code(str(c.get('id') or ''))}` "
            f"({markdown_text(display_label(name))}) | {status.replace('_', ' ')} | "
            f"{_flagged(c, status)} | "
            f"{markdown_text(display_label(str(said or ''), MAX_NOTE_CHARS))} |"
        )
    lines += [
        "",
        "*finding*: a harm, significant after the check's correction; *no finding*: the data "
        "rule out a harm beyond the check's margin; *inconclusive*: neither; *not evaluable*: "
        "no group large enough; *skipped*: not run. Each group's evidence is in checks.json "
        "(records of too few people without their figures); flagged cases are counted only.",
    ]
    return lines


def _flagged(c: Mapping[str, Any], status: str) -> str:
    if status == "skipped":
        return "-"
    if c.get("flagged_fewer_than") is not None:
        return f"fewer than {int(c['flagged_fewer_than'])}"
    return str(int(c.get("flagged") or 0))


def track_share_markdown(tracks: Sequence[TrackShare], alpha: float) -> list[str]:
    """Each attribute's groups by track share (intersections are in assessment.json); `alpha`
    is the assessment's (the shares' intervals are 1 - alpha intervals)."""
    table = track_shares_by_attribute(tracks)
    if not table:
        return []
    lines = [
        "",
        "## Track shares",
        "",
        f"Share of each group recommended each track ({confidence_level(alpha)}% interval); "
        "`*`: the gap to the reference group is significant after the correction over all "
        "track comparisons (exploratory: the rules above decide). Intersections are in "
        "`assessment.json`.",
    ]
    for attribute, (names, groups) in table.items():
        lines += [
            "",
            f"| {markdown_text(display_label(attribute))} | "
            + " | ".join(markdown_text(display_label(n)) for n in names)
            + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for level, by_track in groups.items():
            ref = " (reference)" if next(iter(by_track.values())).is_reference else ""
            lines.append(
                f"| {markdown_text(display_label(level))}{ref} | "
                + " | ".join(track_cell(by_track.get(n)) for n in names)
                + " |"
            )
    return lines


def _dropped(selection: Selection | None) -> set[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    if selection is None:
        return set()
    return {(f.rule_id, f.attributes, f.levels) for f in selection.dropped}


def _group(attributes: tuple[str, ...], levels: tuple[str, ...]) -> str:
    return GROUP_SEPARATOR.join(
        f"{markdown_text(display_label(a))}={markdown_text(display_label(v))}"
        for a, v in zip(attributes, levels, strict=True)
    )


def _size(n: int | None) -> str:
    return "size withheld" if n is None else f"{n:,} people"


_KEPT = {
    "own_gap": "a gap of its own: beyond what its single-attribute groups predict ({})",
    "only_in_combination": "its single-attribute groups are within the rule",
    "no_parent_measured": "its single-attribute groups were not compared",
}


def _key_finding(f: KeyFinding, alpha: float) -> str:
    ci = (
        f" ({confidence_level(alpha)}% CI {_fmt(f.ci_low)} to {_fmt(f.ci_high)})"
        if f.ci_low is not None and f.ci_high is not None
        else ""
    )
    bound = "" if f.bound is None else f", bound {f.bound:g}"
    gap = "" if f.detectable is None else f"; detectable gap {fixed(f.detectable)}"
    # A harm check's group sizes are in its own evidence (checks.json), not in the assessment.
    sizes = (
        ""
        if f.kind == "harm_check"
        else f"; {_size(f.n_rows)} (reference {_size(f.reference_n_rows)})"
    )
    text = (
        f"{f.rank}. **{f.status.upper()}** `{markdown_code(f.rule_id)}` {_group(f.attributes, f.levels)} "
        f"vs {markdown_text(GROUP_SEPARATOR.join(display_label(v) for v in f.reference_levels))}: "
        f"{markdown_text(f.metric)} {f.kind.replace('_', ' ')} {_fmt(f.value)}{ci}{bound}"
        f"{sizes}{gap}"
    )
    if f.kept_because in _KEPT:
        text += "; " + _KEPT[f.kept_because].format(fixed(f.parents_predict or 0.0))
    if f.also_breaches:
        text += "; also " + ", ".join(f"`{markdown_code(r)}`" for r in f.also_breaches)
    return text


def _unknown(u: Unknown, selection: Selection) -> str:
    group = _group(u.attributes, u.levels)
    if u.reason == "not_evaluable":
        return f"- rule `{markdown_code(u.rule_id or '')}`: nothing reliable to read"
    if u.reason == "check_not_evaluable":
        return (
            f"- rule `{markdown_code(u.rule_id or '')}`: its harm check did not run or compared "
            "no group (see Harm checks)"
        )
    if u.reason == "suppressed":
        return f"- {group}: fewer than {selection.min_cell_size} people, figures suppressed"
    if u.reason == "too_small":
        return (
            f"- {group}: {_size(u.n_rows)}, below the minimum of {selection.min_group_size} "
            "for a decision (reported, never decisive)"
        )
    gap = "" if u.detectable is None else f"; detectable gap {fixed(u.detectable)}"
    why = (
        "too few people to be shown inside the range even without a gap"
        if u.reason == "cannot_pass"
        else "the data cannot place it against the bound"
    )
    return (
        f"- {group} (`{markdown_code(u.rule_id or '')}`, {markdown_text(u.metric or '')}): "
        f"{_size(u.n_rows)}, {why}{gap}"
    )


def _key_findings(selection: Selection, alpha: float) -> list[str]:
    lines = ["## Key findings", ""]
    if not selection.findings:
        lines.append("No group is beyond a rule's bound or left in doubt.")
    lines += [_key_finding(f, alpha) for f in selection.findings]
    extra = []
    if selection.more_findings:
        extra.append(f"{selection.more_findings} more below in the rules")
    if selection.dropped:
        extra.append(
            f"{len(selection.dropped)} intersections left out: their gap is what their "
            "single-attribute groups predict"
        )
    if extra:
        lines += ["", f"({'; '.join(extra)}.)"]
    lines += ["", "## What the audit could not tell", ""]
    if not selection.unknowns:
        lines.append("Every group was large enough to be placed against every rule.")
    lines += [_unknown(u, selection) for u in selection.unknowns]
    if selection.more_unknowns:
        lines.append(f"- and {selection.more_unknowns} more (in verdict.json and assessment.json)")
    return [*lines, ""]


def _fmt(x: float | None) -> str:
    return "-" if x is None else fixed(x)
