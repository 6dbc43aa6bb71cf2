"""Runs the checks the spec asks for; a check that cannot run is skipped, the others go on."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from audit.checks.base import CannotRun, CheckContext, CheckOutcome, CheckParams, missing_columns
from audit.checks.registry import find_check


def run_checks(entries: Sequence[CheckParams], ctx: CheckContext) -> tuple[CheckOutcome, ...]:
    return tuple(_run_one(params, ctx) for params in entries)


def _run_one(params: CheckParams, ctx: CheckContext) -> CheckOutcome:
    check = find_check(params.check)
    needed = check.needs(params, ctx)

    def skipped(reason: str) -> CheckOutcome:
        return CheckOutcome(
            code=check.code,
            name=check.name,
            check_id=params.check_id,
            status="skipped",
            sentence=f"{check.code} {check.name} was not run: {reason}",
            needs=tuple(needed),
            reason=reason,
        )

    absent = missing_columns(ctx.people, needed)
    if absent:
        return skipped(_missing(absent, list(ctx.people.columns)))
    if check.needs_model and ctx.model is None:
        return skipped(
            "it re-scores people, so it needs the model; a file of decisions cannot be "
            "re-scored. Fix: audit the model itself (model.uri)"
        )
    try:
        return check.run(params, ctx)
    except CannotRun as why:
        return skipped(str(why))


def _missing(absent: list[str], present: list[str]) -> str:
    parts = []
    for name in absent:
        close = difflib.get_close_matches(name, present, n=1)
        parts.append(f"'{name}'" + (f" (closest: '{close[0]}')" if close else ""))
    return (
        f"expected the column(s) {', '.join(parts)}; the data has no such column. Fix: name "
        "the columns of your table in the check's entry (checks:) or add them to the data"
    )
