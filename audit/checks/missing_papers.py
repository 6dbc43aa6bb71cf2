"""H3, missing papers: do missing documents (a diploma, an address, an identity document)
lower the score of the people who lack them, and so of the groups who lack them most?

Three parts:

- **who lacks documents** (descriptive): the share of each group missing each document, and
  any of them, against its reference;
- **what the missing documents cost** (deciding; needs the model): each person missing a
  document is re-scored with the document as comparable people have it: the most common value
  among people alike in the legitimate factors (`impute: comparable`, the default), or simply
  on file (`impute: on_file`). The most common value keeps every input a value the model has
  seen (a share such as 0.8 "on file" is not a document any person has, and a tree or a
  one-hot model reads it as nothing it was trained on). The change of each person's score is
  what their missing documents cost them; the check compares its mean in each group with the
  reference group's (the gap in scores that the missing documents make), and reports the mean
  cost among everyone missing a document. A finding: a significant (Holm) cost on the harmful
  side, i.e. the documents lower the score (`harmful_when`). No finding: the interval's upper
  end within `max_score_loss` (default 0.02, two points of a probability score);
- **errors by pattern** (descriptive): false negative and false positive rates of the decision
  for people missing some document against people missing none, where the outcome is known.

On a file of decisions the model cannot be re-scored: the check reports the two descriptive
parts, says the cost needs the model, and is not evaluable (never a pass).

Limits: the cost is that of this model on these people; a model that reads the documents only
through other columns (a completeness score computed from them) is not re-scored through those.
A fixed model's weight on a document, however small, is significant with enough people: the
estimate and `max_score_loss` (or a `harm_check` rule's `max`) say whether it matters. The error
rates by pattern are not adjusted: people missing documents are more often homeless, and their
rates differ for that reason too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from audit.checks.base import (
    CannotRun,
    Check,
    CheckContext,
    CheckOutcome,
    CheckParams,
    Evidence,
    RecordStatus,
    check_status,
    conclude,
    detectable_shift,
    finite,
    holm,
    wald_p,
    z_of,
)
from audit.checks.rescore import Rescored, filled, mean_gap, mean_of, rescore, score_index
from audit.checks.strata import group_labels, reference_level, strata_codes

CODE, NAME = "H3", "missing_papers"
DOCUMENTS = ("diploma_on_file", "address_on_file", "id_on_file")
PATTERN, SOME, NONE = "missing_documents", "some_missing", "none_missing"
ANY = "any_document"
MIN_COMPARABLE = 10  # a stratum smaller than this imputes from everyone instead
_ON = frozenset({"true", "1", "1.0", "yes", "y", "ja", "oui", "on_file", "on file"})
_OFF = frozenset({"false", "0", "0.0", "no", "n", "nee", "non", "missing", ""})


class MissingPapersParams(CheckParams):
    check: Literal["H3", "missing_papers"]
    documents: list[str] = Field(
        default_factory=lambda: list(DOCUMENTS),
        min_length=1,
        description="document columns: on file (True, 1, yes) or not; a missing value is missing",
    )
    on_file: list[str] | None = Field(
        default=None,
        description="the values that mean 'on file' when the columns use other words, e.g. [ja]",
    )
    attributes: list[str] | None = Field(
        default=None, description="group columns to compare; default: every audited attribute"
    )
    factors: list[str] | None = Field(
        default=None,
        description="who is comparable for the imputation; default: the spec's legitimate_factors",
    )
    impute: Literal["comparable", "on_file"] = Field(
        default="comparable",
        description="a missing document becomes the most common value among comparable people, "
        "or on file",
    )
    score_class: str | None = Field(
        default=None,
        description="the class whose probability is the score; default: a two-class model's last",
    )
    harmful_when: Literal["lower", "higher"] = Field(
        default="lower", description="the side of the score on which a change harms the person"
    )
    max_score_loss: float = Field(
        default=0.02,
        gt=0,
        lt=1,
        description="the score cost below which a harm counts as ruled out",
    )
    score_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="decision = score >= this, for the error rates when there is no decision",
    )


def needs(params: MissingPapersParams, ctx: CheckContext) -> list[str]:
    return [
        *params.documents,
        *ctx.attribute_columns(params.attributes),
        *ctx.factor_columns(params.factors),
    ]


@dataclass(frozen=True)
class _Documents:
    names: tuple[str, ...]
    on_file: np.ndarray  # people x documents, True where on file

    @property
    def missing_any(self) -> np.ndarray:
        return np.asarray(~self.on_file.all(axis=1), dtype=bool)


def run(params: MissingPapersParams, ctx: CheckContext) -> CheckOutcome:
    docs = _read_documents(ctx.people, params)
    groups = _groups(params, ctx)
    notes: list[str] = []
    costs: list[Evidence] = []
    if ctx.model is None:
        notes.append(
            "the score gap the missing documents make needs the model, to re-score people with "
            "their documents imputed; a file of decisions cannot be re-scored"
        )
    else:
        costs, imputed = _costs(params, ctx, docs, groups)
        notes.append(imputed)
    evidence = [*costs, *_missingness(ctx, docs, groups), *_error_rates(params, ctx, docs)]
    if not any(e.measure.startswith("fnr") for e in evidence):
        notes.append("no error rates by missingness: they need the outcome and a decision or score")
    status = check_status(evidence)
    reason = None
    if status == "not_evaluable":
        reason = (
            "the score gap of missing documents needs the model (a file of decisions cannot be "
            "re-scored)"
            if ctx.model is None
            else "no group large enough to compare"
        )
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params, ctx),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.max_score_loss,
        notes=tuple(notes),
        reason=reason,
    )


def on_file(column: pd.Series, values: Sequence[str] | None = None) -> np.ndarray:
    """True where the document is on file; a missing value is a missing document."""
    present = column.notna().to_numpy()
    if values is not None:
        return np.asarray(present & column.astype(str).isin(list(values)).to_numpy(), dtype=bool)
    if column.dtype == bool:
        return column.to_numpy()
    mapping: dict[object, bool] = {}
    unknown: list[str] = []
    for value in pd.unique(column.dropna()):
        text = str(value).strip().lower()
        if text in _ON or text in _OFF:
            mapping[value] = text in _ON
        else:
            unknown.append(str(value))
    if unknown:
        raise CannotRun(
            f"document column '{column.name}': expected True/False, 1/0 or yes/no (a missing "
            f"value counts as missing); found the values {sorted(unknown)[:6]}. Fix: name the "
            "values that mean 'on file' in the check's entry (on_file: [...])"
        )
    mapped = column.astype(object).map(mapping)
    return np.asarray(present & mapped.where(mapped.notna(), False).to_numpy(dtype=bool))


def _read_documents(people: pd.DataFrame, params: MissingPapersParams) -> _Documents:
    names = tuple(params.documents)
    matrix = np.column_stack([on_file(people[d], params.on_file) for d in names])
    return _Documents(names, matrix.astype(bool))


@dataclass(frozen=True)
class _Group:
    column: str
    level: str
    reference: str
    in_group: np.ndarray
    in_reference: np.ndarray


def _groups(params: MissingPapersParams, ctx: CheckContext) -> list[_Group]:
    out = []
    for column in ctx.attribute_columns(params.attributes):
        labels = group_labels(ctx.people[column]).to_numpy()
        reference = reference_level(ctx, column, labels)
        for level in sorted(set(labels) - {reference}):
            out.append(_Group(column, level, reference, labels == level, labels == reference))
    return out


def _reliable(ctx: CheckContext, n: int, n_reference: int) -> bool:
    return min(n, n_reference) >= ctx.min_group_size


# --- part 1: who lacks documents ---------------------------------------------------------


def _missingness(ctx: CheckContext, docs: _Documents, groups: list[_Group]) -> list[Evidence]:
    columns = {**{d: ~docs.on_file[:, j] for j, d in enumerate(docs.names)}, ANY: docs.missing_any}
    records = []
    for g in groups:
        n, n_ref = int(g.in_group.sum()), int(g.in_reference.sum())
        for name, missing in columns.items():
            rate, ref_rate = _rate(missing, g.in_group), _rate(missing, g.in_reference)
            diff, se = rate - ref_rate, _diff_se(rate, n, ref_rate, n_ref)
            records.append(
                _descriptive(
                    ctx,
                    g.column,
                    g.level,
                    g.reference,
                    f"missing_rate_difference.{name}",
                    diff,
                    se,
                    n,
                    n_ref,
                    {"document": name, "rate": finite(rate), "reference_rate": finite(ref_rate)},
                )
            )
    return records


def _rate(flags: np.ndarray, rows: np.ndarray) -> float:
    n = int(rows.sum())
    return float(flags[rows].sum() / n) if n else math.nan


def _diff_se(p1: float, n1: int, p0: float, n0: int) -> float:
    if not (n1 and n0):
        return math.nan
    return math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)


def _descriptive(
    ctx: CheckContext,
    attribute: str,
    level: str,
    reference: str,
    measure: str,
    estimate: float,
    se: float,
    n: int,
    n_reference: int,
    details: dict[str, float | int | str | None],
) -> Evidence:
    z = z_of(ctx.alpha)
    low, high = (estimate - z * se, estimate + z * se) if math.isfinite(se) else (None, None)
    status: RecordStatus = "descriptive" if _reliable(ctx, n, n_reference) else "unreliable"
    return Evidence(
        attribute=attribute,
        level=level,
        reference=reference,
        measure=measure,
        estimate=finite(estimate),
        ci_low=finite(low) if low is not None else None,
        ci_high=finite(high) if high is not None else None,
        p_value=None,
        p_adjusted=None,
        detectable=None,
        n=n,
        n_reference=n_reference,
        status=status,
        details=details,
    )


# --- part 2: what the missing documents cost (the model re-scores) ------------------------


def _imputed(
    params: MissingPapersParams, ctx: CheckContext, docs: _Documents
) -> tuple[pd.DataFrame, str]:
    """The people with each missing document imputed, and a note saying how."""
    people = ctx.people
    changed = people.copy(deep=False)
    factors = ctx.factor_columns(params.factors)
    strata, _, _ = strata_codes(people, factors, ctx.factor_bins)
    size = np.bincount(strata)
    cannot = []
    for j, name in enumerate(docs.names):
        held = docs.on_file[:, j]
        if not held.any():
            cannot.append(name)
            continue
        value = people[name][held].mode(dropna=True).iloc[0]  # how the data spell "on file"
        if params.impute == "on_file":
            rows = ~held
        else:
            share = np.bincount(strata, weights=held.astype(np.float64)) / np.maximum(size, 1)
            share = np.where(size >= MIN_COMPARABLE, share, held.mean())
            rows = ~held & (share[strata] >= 0.5)
        changed[name] = filled(people[name], value, rows)
    how = (
        "missing documents imputed as on file"
        if params.impute == "on_file"
        else "missing documents imputed as the most common value among "
        + (
            f"people alike in {', '.join(factors)}"
            if factors
            else "everyone (no legitimate factors)"
        )
    )
    if cannot:
        how += f"; not imputed (no one has them on file): {', '.join(cannot)}"
    return changed, how


def _costs(
    params: MissingPapersParams, ctx: CheckContext, docs: _Documents, groups: list[_Group]
) -> tuple[list[Evidence], str]:
    assert ctx.model is not None
    column = score_index(ctx.model, params.score_class)
    changed, how = _imputed(params, ctx, docs)
    scores = rescore(ctx.model, ctx.people, changed, column)
    cost = scores.change(harmful_when=params.harmful_when)
    some = docs.missing_any
    comparisons: list[tuple[_Group | None, float, float, int, int]] = []
    mean, se = mean_of(cost, some)
    comparisons.append((None, mean, se, int(some.sum()), int((~some).sum())))
    for g in groups:
        gap = mean_gap(cost, g.in_group, g.in_reference)
        comparisons.append((g, gap.estimate, gap.se, gap.n, gap.n_reference))
    deciding = [
        i
        for i, (_, est, s, n, n_ref) in enumerate(comparisons)
        if math.isfinite(est)
        and n >= ctx.min_group_size
        and (i == 0 or n_ref >= ctx.min_group_size)
    ]
    p_values = [wald_p(comparisons[i][1], comparisons[i][2]) for i in deciding]
    tested = dict(zip(deciding, zip(p_values, holm(p_values), strict=True), strict=True))
    records = [
        _cost_record(params, ctx, scores, cost, some, c, tested.get(i), len(deciding))
        for i, c in enumerate(comparisons)
    ]
    return records, how


def _cost_record(
    params: MissingPapersParams,
    ctx: CheckContext,
    scores: Rescored,
    cost: np.ndarray,
    some: np.ndarray,
    comparison: tuple[_Group | None, float, float, int, int],
    tested: tuple[float, float] | None,
    tests: int,
) -> Evidence:
    g, estimate, se, n, n_ref = comparison
    z = z_of(ctx.alpha)
    # An exact zero (a model that ignores the documents) has a zero-width interval.
    spread = z * se if math.isfinite(se) else math.nan
    low, high = estimate - spread, estimate + spread
    status: RecordStatus = "unreliable"
    if tested is not None:
        status = conclude(
            estimate,
            low if math.isfinite(low) else estimate,
            high if math.isfinite(high) else estimate,
            tested[1],
            alpha=ctx.alpha,
            null=0.0,
            margin=params.max_score_loss,
            harmful="above",
        )
    changed = scores.label_changed
    if g is None:
        attribute, level, reference, measure = PATTERN, SOME, NONE, "score_loss"
        details: dict[str, float | int | str | None] = {
            "label_changed_share": finite(_rate(changed, some)),
            "score_before": finite(_mean(scores.before, some)),
            "score_after": finite(_mean(scores.after, some)),
        }
    else:
        attribute, level, reference, measure = g.column, g.level, g.reference, "score_loss_gap"
        details = {
            "missing_share": finite(_rate(some, g.in_group)),
            "reference_missing_share": finite(_rate(some, g.in_reference)),
            "loss_when_missing": finite(_mean(cost, g.in_group & some)),
            "label_changed_share": finite(_rate(changed, g.in_group)),
            "reference_label_changed_share": finite(_rate(changed, g.in_reference)),
            "score_gap_observed": finite(
                _mean(scores.before, g.in_group) - _mean(scores.before, g.in_reference)
            ),
            "score_gap_imputed": finite(
                _mean(scores.after, g.in_group) - _mean(scores.after, g.in_reference)
            ),
        }
    return Evidence(
        attribute=attribute,
        level=level,
        reference=reference,
        measure=measure,
        estimate=finite(estimate),
        ci_low=finite(low) if math.isfinite(low) else finite(estimate),
        ci_high=finite(high) if math.isfinite(high) else finite(estimate),
        p_value=finite(tested[0]) if tested else None,
        p_adjusted=finite(tested[1]) if tested else None,
        detectable=finite(detectable_shift(se, alpha=ctx.alpha, tests=tests, power=ctx.power)),
        n=n,
        n_reference=n_ref,
        status=status,
        details=details,
    )


def _mean(values: np.ndarray, rows: np.ndarray) -> float:
    return float(values[rows].mean()) if rows.any() else math.nan


# --- part 3: error rates by missingness pattern -------------------------------------------


def _error_rates(
    params: MissingPapersParams, ctx: CheckContext, docs: _Documents
) -> list[Evidence]:
    table = ctx.table
    if "_outcome" not in table.columns:
        return []
    if "_decision" in table.columns:
        decided = table["_decision"].to_numpy() == 1
        how = "decision"
    elif "_score" in table.columns:
        decided = table["_score"].to_numpy(dtype=np.float64) >= params.score_threshold
        how = f"score >= {params.score_threshold:g}"
    else:
        return []
    outcome = table["_outcome"].to_numpy() == 1
    some = docs.missing_any
    records = []
    for measure, among, wrong in (
        ("fnr_difference", outcome, ~decided),
        ("fpr_difference", ~outcome, decided),
    ):
        g, r = among & some, among & ~some
        rate, ref_rate = _rate(wrong, g), _rate(wrong, r)
        n, n_ref = int(g.sum()), int(r.sum())
        records.append(
            _descriptive(
                ctx,
                PATTERN,
                SOME,
                NONE,
                measure,
                rate - ref_rate,
                _diff_se(rate, n, ref_rate, n_ref),
                n,
                n_ref,
                {"rate": finite(rate), "reference_rate": finite(ref_rate), "decision": how},
            )
        )
    return records


def _sentence(
    status: str, evidence: list[Evidence], params: MissingPapersParams, ctx: CheckContext
) -> str:
    costs = [e for e in evidence if e.measure in ("score_loss", "score_loss_gap")]
    overall = next((e for e in costs if e.measure == "score_loss"), None)
    everyone = (
        f"; people missing any document lose {overall.estimate:.3f} of their score on average"
        if overall is not None and overall.estimate is not None
        else ""
    )
    if status == "finding":
        found = [e for e in costs if e.status == "finding"]
        worst = max(found, key=lambda e: e.estimate or 0.0)
        if worst.measure == "score_loss":
            return (
                f"Missing documents lower the score: people missing any document lose "
                f"{worst.estimate:.3f} of it on average when their documents are imputed "
                f"(interval {worst.ci_low:.3f}–{worst.ci_high:.3f}, corrected p = "
                f"{worst.p_adjusted:.2g}); {len(found)} comparison(s) in all."
            )
        return (
            f"Missing documents lower the score of {worst.attribute}={worst.level}: they lose "
            f"{worst.estimate:.3f} more of it than {worst.attribute}={worst.reference} when "
            f"missing documents are imputed (interval {worst.ci_low:.3f}–{worst.ci_high:.3f}, "
            f"corrected p = {worst.p_adjusted:.2g}){everyone}; {len(found)} comparison(s) in all."
        )
    if status == "no_finding":
        return (
            f"Missing documents cost no group more than {params.max_score_loss:g} of the score "
            f"against its reference, nor the people missing them{everyone}."
        )
    if status == "inconclusive":
        unsure = [e for e in costs if e.status == "inconclusive"]
        reach = max((e.ci_high or math.inf) for e in unsure)
        return (
            f"A score cost of missing documents cannot be ruled out for {len(unsure)} "
            f"comparison(s): their intervals reach {reach:.3f}, above the margin "
            f"{params.max_score_loss:g}, without a significant cost."
        )
    if ctx.model is None:
        return (
            "The score gap of missing documents needs the model to re-score people; who lacks "
            "documents and the error rates by missingness are reported."
        )
    return "The score gap of missing documents could not be assessed: no group large enough."


CHECK = Check(
    code=CODE,
    name=NAME,
    params=MissingPapersParams,
    question="Do missing documents (diploma, address, ID) lower the score of those who lack them?",
    needs=needs,
    run=run,
)
