"""The published audit report: one self-contained HTML page and a PDF per language.

`report_files` makes them from the published assessment and verdict and the run manifest (for
the spec's labels, contact and rules); `audit report` makes them again from a stored result.
Nothing here recomputes a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from audit.errors import AuditInputError
from audit.gate import Verdict
from audit.report.i18n import LANGUAGES
from audit.stats.result import Assessment


def check_languages(languages: Sequence[str], *, subject: str) -> list[str]:
    """The languages asked for, without repeats; an unknown one is an input error."""
    unknown = [x for x in languages if x not in LANGUAGES]
    if unknown or not languages:
        raise AuditInputError(
            subject,
            expected=f"one or more of {', '.join(LANGUAGES)}",
            found=", ".join(repr(x) for x in unknown) if unknown else "no language",
            fix=f"write e.g. --lang {LANGUAGES[0]} (or --lang fr,nl,en)",
        )
    return list(dict.fromkeys(languages))


def report_files(
    assessment: Assessment,
    verdict: Verdict,
    manifest: Mapping[str, Any] | None,
    *,
    languages: Sequence[str],
    formats: Sequence[str] = ("html", "pdf"),
    checks: Sequence[Mapping[str, Any]] = (),
) -> dict[str, str | bytes]:
    """File name -> content of the report in each language (see `render.render_files`).

    `checks` are the harm checks as published (`audit.checks.result.published_checks`)."""
    from audit.report.context import ReportInput
    from audit.report.render import render_files

    source = ReportInput(
        assessment=assessment, verdict=verdict, manifest=manifest, checks=tuple(checks)
    )
    return render_files(source, list(languages), list(formats))
