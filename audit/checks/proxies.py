"""H4, digital proxies: do digital traces (an online CV, logins, a complete profile, online
registration) stand in for low digital literacy, and lower the score of people who have few
computer skills, as if they lacked motivation?

Three parts:

- **how strongly each trace predicts each group** (descriptive): the AUC of the feature for the
  group against everyone else (0.5: no information; below 0.5: the group has less of it), with
  DeLong's interval; with a model, each feature's weight in the score, as the mean absolute
  change of the score when that feature alone is set to its neutral value (the population's
  median, or most common value);
- **whether the group can be reconstructed** (descriptive) from the model's input features
  (without a model: from the traces), leaving the group's own column out: the AUC of a
  cross-validated logistic regression (`folds` folds, on at most `cv_rows` people drawn at
  random: the figure is an estimate, the sample keeps the check fast);
- **the gap the traces make** (deciding; needs the model): every trace set to its neutral value,
  everyone re-scored; the change of the score gap between each group and its reference. A
  finding: neutralising the traces significantly (Holm) narrows the group's disadvantage, i.e.
  the traces cost the group score against its reference (`harmful_when`). No finding: the
  interval's upper end within `max_score_gap` (default 0.02 of a probability score).

The groups: the audit's attributes and `digital_literacy` where the data has it, compared with
`high` (the group the traces favour) unless the spec names another reference.

On a file of decisions the first two parts run; the gap needs the model, and the check is not
evaluable (never a pass).

Limits: a neutral value is one choice of "no information" (the median); the gap is that of the
traces as this model reads them. A trace can also carry what it is meant to (motivation): the
check measures what it costs the group, not whether its use is justified. The reconstruction
AUC is a lower bound on what a stronger learner could reconstruct.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from threadpoolctl import threadpool_limits

from audit.checks.auc import auc_with_se
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
from audit.checks.rescore import (
    filled,
    mean_gap,
    neutral_value,
    probabilities,
    rescore,
    score_index,
)
from audit.checks.strata import group_labels, reference_level

CODE, NAME = "H4", "digital_proxies"
TRACES = ("online_cv_updated", "logins_90d", "profile_completeness", "registered_online")
LITERACY = "digital_literacy"
LITERACY_REFERENCE = "high"
OTHERS = "others"


class ProxyParams(CheckParams):
    check: Literal["H4", "digital_proxies"]
    features: list[str] = Field(
        default_factory=lambda: list(TRACES), min_length=1, description="digital-trace features"
    )
    attributes: list[str] | None = Field(
        default=None,
        description="sensitive attributes; default: the audited ones and digital_literacy",
    )
    references: dict[str, str] = Field(
        default_factory=dict,
        description="reference level of an attribute the spec does not list (default: 'high' "
        "for digital_literacy, else the largest group)",
    )
    inputs: list[str] | None = Field(
        default=None,
        description="features to reconstruct the attributes from; default: the model's inputs "
        "(without a model: the traces)",
    )
    score_class: str | None = Field(
        default=None,
        description="the class whose probability is the score; default: a two-class model's last",
    )
    harmful_when: Literal["lower", "higher"] = Field(
        default="lower", description="the side of the score on which a change harms the person"
    )
    max_score_gap: float = Field(
        default=0.02,
        gt=0,
        lt=1,
        description="the score gap from the traces below which a harm counts as ruled out",
    )
    cv_rows: int = Field(
        default=20_000, ge=100, description="people drawn for the cross-validated reconstruction"
    )
    folds: int = Field(default=5, ge=2, le=20, description="folds of the cross-validation")
    reconstruct: bool = Field(
        default=True,
        description="cross-validate a classifier that reconstructs each group (off: skip it)",
    )


def needs(params: ProxyParams, ctx: CheckContext) -> list[str]:
    return [*params.features, *_attributes(params, ctx), *(params.inputs or [])]


def _attributes(params: ProxyParams, ctx: CheckContext) -> list[str]:
    if params.attributes:
        return list(params.attributes)
    names = [a.column for a in ctx.attributes]
    if LITERACY in ctx.people.columns and LITERACY not in names:
        names.append(LITERACY)
    return names


def _reference(params: ProxyParams, ctx: CheckContext, column: str, labels: np.ndarray) -> str:
    for a in ctx.attributes:
        if a.column == column and a.reference is not None:
            return a.reference
    if column in params.references:
        reference = params.references[column]
        if reference not in set(labels):
            levels = sorted(set(labels))
            close = difflib.get_close_matches(reference, levels, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CannotRun(
                f"reference '{reference}' of '{column}': expected one of its levels {levels}; "
                f"found none by that name{hint}. Fix: spell the level as the data does"
            )
        return reference
    if column == LITERACY and LITERACY_REFERENCE in set(labels):
        return LITERACY_REFERENCE
    return reference_level(ctx, column, labels)  # the largest group


@dataclass(frozen=True)
class _Group:
    column: str
    level: str
    reference: str
    in_group: np.ndarray
    in_reference: np.ndarray
    binary: bool  # two levels: "everyone else" is the reference

    @property
    def others(self) -> str:
        return self.reference if self.binary else OTHERS


def _groups(params: ProxyParams, ctx: CheckContext) -> list[_Group]:
    out = []
    for column in _attributes(params, ctx):
        labels = group_labels(ctx.people[column]).to_numpy()
        reference = _reference(params, ctx, column, labels)
        levels = set(labels)
        for level in sorted(levels - {reference}):
            out.append(
                _Group(
                    column, level, reference, labels == level, labels == reference, len(levels) == 2
                )
            )
    return out


def run(params: ProxyParams, ctx: CheckContext) -> CheckOutcome:
    groups = _groups(params, ctx)
    notes: list[str] = []
    weights: dict[str, float] = {}
    gaps: list[Evidence] = []
    if ctx.model is None:
        notes.append(
            "the score gap of the traces and their weight in the score need the model, to "
            "re-score people with the traces neutralised; a file of decisions cannot be re-scored"
        )
    else:
        read = {c.name for c in ctx.model.expected_columns}
        unread = [f for f in params.features if f not in read]
        if unread:
            notes.append(
                f"the model does not read {', '.join(unread)}: neutralising them changes nothing"
            )
        base = probabilities(ctx.model, ctx.people)
        weights = _weights(params, ctx, base)
        gaps = _gaps(params, ctx, groups, base)
    evidence = [*gaps, *_strengths(params, ctx, groups, weights)]
    if params.reconstruct:
        inputs, how = _inputs(params, ctx)
        notes.append(how)
        evidence.extend(_reconstruction(params, ctx, groups, inputs))
    status = check_status(evidence)
    reason = None
    if status == "not_evaluable":
        reason = (
            "the score gap of the digital traces needs the model (a file of decisions cannot be "
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
        margin=params.max_score_gap,
        notes=tuple(notes),
        reason=reason,
    )


def _neutralised(people: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    changed = people.copy(deep=False)
    for f in features:
        changed[f] = filled(people[f], neutral_value(people[f]))
    return changed


# --- part 1: how strongly each trace predicts each group ----------------------------------


def _weights(params: ProxyParams, ctx: CheckContext, base: np.ndarray) -> dict[str, float]:
    """Each feature's weight: the mean absolute change of the score when it alone is neutral."""
    assert ctx.model is not None
    column = score_index(ctx.model, params.score_class)
    out = {}
    for f in params.features:
        scores = rescore(ctx.model, ctx.people, _neutralised(ctx.people, [f]), column, base)
        out[f] = float(np.abs(scores.change()).mean())
    return out


def feature_score(column: pd.Series, positive: np.ndarray) -> np.ndarray:
    """A feature as a score for the AUC: a number (or boolean) as it is; a category by the
    share of the group among people with the same value (the best a single category can do)."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    codes, _ = pd.factorize(column, use_na_sentinel=False)
    size = np.bincount(codes)
    share = np.bincount(codes, weights=positive.astype(np.float64)) / np.maximum(size, 1)
    return np.asarray(share[codes], dtype=np.float64)


def _strengths(
    params: ProxyParams, ctx: CheckContext, groups: list[_Group], weights: dict[str, float]
) -> list[Evidence]:
    records = []
    for g in groups:
        rest = ~g.in_group if not g.binary else g.in_reference
        rows = g.in_group | rest
        for f in params.features:
            value = feature_score(ctx.people[f], g.in_group)
            known = rows & ~np.isnan(value)
            auc = auc_with_se(g.in_group[known], value[known])
            records.append(
                _auc_record(
                    ctx,
                    g,
                    "proxy_auc",
                    auc.auc,
                    auc.se,
                    auc.positives,
                    auc.negatives,
                    {"feature": f, "score_weight": finite(weights[f]) if f in weights else None},
                )
            )
    return records


def _auc_record(
    ctx: CheckContext,
    g: _Group,
    measure: str,
    auc: float,
    se: float,
    n: int,
    n_reference: int,
    details: dict[str, float | int | str | None],
) -> Evidence:
    z = z_of(ctx.alpha)
    ok = math.isfinite(auc) and math.isfinite(se)
    status: RecordStatus = (
        "descriptive" if ok and min(n, n_reference) >= ctx.min_group_size else "unreliable"
    )
    return Evidence(
        attribute=g.column,
        level=g.level,
        reference=g.others,
        measure=measure,
        estimate=finite(auc),
        ci_low=finite(max(0.0, auc - z * se)) if ok else None,
        ci_high=finite(min(1.0, auc + z * se)) if ok else None,
        p_value=None,
        p_adjusted=None,
        detectable=None,
        n=n,
        n_reference=n_reference,
        status=status,
        details=details,
    )


# --- part 2: can the group be reconstructed from the inputs? -------------------------------


def _inputs(params: ProxyParams, ctx: CheckContext) -> tuple[list[str], str]:
    if params.inputs:
        return list(params.inputs), "groups reconstructed from the features named in the check"
    if ctx.model is not None:
        names = [c.name for c in ctx.model.expected_columns if c.name in ctx.people.columns]
        return names, "groups reconstructed from the model's input features"
    return list(params.features), "groups reconstructed from the digital traces (no model)"


def _reconstruction(
    params: ProxyParams, ctx: CheckContext, groups: list[_Group], inputs: list[str]
) -> list[Evidence]:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from audit.models.inputs import infer_input_columns, prepare_inputs
    from audit.models.training import build_pipeline

    rng = np.random.default_rng(ctx.seed)
    n = len(ctx.people)
    rows = np.sort(rng.choice(n, params.cv_rows, replace=False)) if n > params.cv_rows else None
    sample = ctx.people if rows is None else ctx.people.iloc[rows]
    records = []
    for g in groups:
        # The group's own column (and any column it is read from) never predicts itself.
        columns = [c for c in inputs if c != g.column]
        positive = g.in_group if rows is None else g.in_group[rows]
        keep = positive | (
            ~positive
            if not g.binary
            else (g.in_reference if rows is None else g.in_reference[rows])
        )
        y = positive[keep]
        details: dict[str, float | int | str | None] = {
            "inputs": len(columns),
            "rows": int(keep.sum()),
            "folds": params.folds,
        }
        if not columns or min(int(y.sum()), int((~y).sum())) < params.folds:
            records.append(
                _auc_record(
                    ctx,
                    g,
                    "reconstruction_auc",
                    math.nan,
                    math.nan,
                    int(y.sum()),
                    int((~y).sum()),
                    details,
                )
            )
            continue
        typed = infer_input_columns(sample, columns)
        x = prepare_inputs(typed, sample[keep])
        folds = StratifiedKFold(params.folds, shuffle=True, random_state=ctx.seed)
        model = build_pipeline(typed, algorithm="logistic", seed=ctx.seed)
        # One BLAS thread: on small fits, threads cost more than they save (10x here).
        with threadpool_limits(limits=1):
            proba = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
        auc = auc_with_se(y, proba)
        records.append(
            _auc_record(
                ctx, g, "reconstruction_auc", auc.auc, auc.se, auc.positives, auc.negatives, details
            )
        )
    return records


# --- part 3: the score gap the traces make (the model re-scores) ---------------------------


def _gaps(
    params: ProxyParams, ctx: CheckContext, groups: list[_Group], base: np.ndarray
) -> list[Evidence]:
    assert ctx.model is not None
    column = score_index(ctx.model, params.score_class)
    changed = _neutralised(ctx.people, params.features)
    scores = rescore(ctx.model, ctx.people, changed, column, base)
    # Positive: the traces lowered the person's score (harmful_when="lower").
    cost = scores.change(harmful_when=params.harmful_when)
    measured = [(g, mean_gap(cost, g.in_group, g.in_reference)) for g in groups]
    deciding = [
        i
        for i, (_, m) in enumerate(measured)
        if math.isfinite(m.estimate) and min(m.n, m.n_reference) >= ctx.min_group_size
    ]
    p_values = [wald_p(measured[i][1].estimate, measured[i][1].se) for i in deciding]
    tested = dict(zip(deciding, zip(p_values, holm(p_values), strict=True), strict=True))
    z = z_of(ctx.alpha)
    records = []
    for i, (g, m) in enumerate(measured):
        spread = z * m.se if math.isfinite(m.se) else 0.0
        low, high = m.estimate - spread, m.estimate + spread
        status: RecordStatus = "unreliable"
        test = tested.get(i)
        if test is not None:
            status = conclude(
                m.estimate,
                low,
                high,
                test[1],
                alpha=ctx.alpha,
                null=0.0,
                margin=params.max_score_gap,
                harmful="above",
            )
        before = _mean(scores.before, g.in_group) - _mean(scores.before, g.in_reference)
        after = _mean(scores.after, g.in_group) - _mean(scores.after, g.in_reference)
        disadvantage = -before if params.harmful_when == "lower" else before
        records.append(
            Evidence(
                attribute=g.column,
                level=g.level,
                reference=g.reference,
                measure="score_gap_from_traces",
                estimate=finite(m.estimate),
                ci_low=finite(low),
                ci_high=finite(high),
                p_value=finite(test[0]) if test else None,
                p_adjusted=finite(test[1]) if test else None,
                detectable=finite(
                    detectable_shift(m.se, alpha=ctx.alpha, tests=len(deciding), power=ctx.power)
                ),
                n=m.n,
                n_reference=m.n_reference,
                status=status,
                details={
                    "score_gap": finite(before),
                    "score_gap_neutralised": finite(after),
                    "share_of_gap": finite(m.estimate / disadvantage) if disadvantage > 0 else None,
                },
            )
        )
    return records


def _mean(values: np.ndarray, rows: np.ndarray) -> float:
    return float(values[rows].mean()) if rows.any() else math.nan


def _sentence(status: str, evidence: list[Evidence], params: ProxyParams, ctx: CheckContext) -> str:
    gaps = [e for e in evidence if e.measure == "score_gap_from_traces"]
    traces = ", ".join(params.features)
    if status == "finding":
        found = [e for e in gaps if e.status == "finding"]
        worst = max(found, key=lambda e: e.estimate or 0.0)
        strongest = _strongest(evidence, worst.attribute, worst.level)
        share = worst.details.get("share_of_gap")
        of_gap = f", {float(share):.0%} of its gap" if share is not None else ""
        return (
            f"Digital traces stand in for {worst.attribute}={worst.level}: neutralising "
            f"{traces} narrows its score gap to {worst.attribute}={worst.reference} by "
            f"{worst.estimate:.3f} (interval {worst.ci_low:.3f}–{worst.ci_high:.3f}, corrected "
            f"p = {worst.p_adjusted:.2g}{of_gap}){strongest}; {len(found)} group(s) in all."
        )
    if status == "no_finding":
        return (
            f"The digital traces ({traces}) cost no group more than {params.max_score_gap:g} of "
            "the score against its reference."
        )
    if status == "inconclusive":
        unsure = [e for e in gaps if e.status == "inconclusive"]
        reach = max((e.ci_high or math.inf) for e in unsure)
        return (
            f"A score gap from the digital traces cannot be ruled out for {len(unsure)} "
            f"group(s): their intervals reach {reach:.3f}, above the margin "
            f"{params.max_score_gap:g}, without a significant gap."
        )
    if ctx.model is None:
        return (
            "The score gap of the digital traces needs the model to re-score people; how "
            "strongly the traces predict each group is reported."
        )
    return "The score gap of the digital traces could not be assessed: no group large enough."


def _strongest(evidence: list[Evidence], attribute: str, level: str) -> str:
    aucs = [
        e
        for e in evidence
        if e.measure == "proxy_auc"
        and e.attribute == attribute
        and e.level == level
        and e.estimate is not None
    ]
    if not aucs:
        return ""
    best = max(aucs, key=lambda e: abs((e.estimate or 0.5) - 0.5))
    assert best.estimate is not None
    separation = max(best.estimate, 1 - best.estimate)
    return (
        f"; {best.details.get('feature')} alone tells the group from the others with an AUC of "
        f"{separation:.2f} (0.5: not at all)"
    )


CHECK = Check(
    code=CODE,
    name=NAME,
    params=ProxyParams,
    question="Do digital traces stand in for low digital literacy and lower the score?",
    needs=needs,
    run=run,
)
