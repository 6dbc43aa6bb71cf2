"""Step 5, harm checks: the spec's `checks:` on the audited people and the model's outputs."""

from __future__ import annotations

import pandas as pd

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.run import run_checks
from audit.models.importing import AuditableModel
from audit.spec import AuditSpec


def check_context(
    spec: AuditSpec,
    people: pd.DataFrame,
    table: pd.DataFrame,
    model: AuditableModel,
    rankings: pd.DataFrame | None = None,
) -> CheckContext:
    stats = spec.statistics
    return CheckContext(
        people=people,
        table=table,
        model=None if model.kind == "decisions" else model,
        attributes=tuple(Attribute(a.column, a.reference) for a in spec.attributes),
        factors=tuple(spec.legitimate_factors),
        factor_bins=spec.factor_bins,
        alpha=stats.alpha,
        # A deciding comparison must also be publishable: its figures go into the sentence.
        min_group_size=max(stats.min_group_size, stats.min_cell_size),
        seed=stats.seed,
        outcome=spec.outcome,
        rankings=rankings,
        decision=spec.decision,
    )


def harm_checks(
    spec: AuditSpec,
    people: pd.DataFrame,
    table: pd.DataFrame,
    model: AuditableModel,
    rankings: pd.DataFrame | None = None,
) -> tuple[CheckOutcome, ...]:
    if not spec.checks:
        return ()
    return run_checks(spec.checks, check_context(spec, people, table, model, rankings))
