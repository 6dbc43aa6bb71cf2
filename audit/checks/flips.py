"""Counterfactual flips: would the model decide otherwise for the same person, had only the
sensitive attribute been different?

The model is called twice on copies of the audited people: once as they are, once with only the
attribute changed. For a two-level attribute everyone gets the other level; with more levels,
everyone outside the reference gets the reference level (or everyone gets the level `to`). A
second variant also sets the attribute's known proxies to values typical of the level people
are moved to: by default each person's proxies are those of a person of that level drawn at
random (`ctx.seed`), so that they stay consistent with each other; `proxy_values: typical`
takes the level's median (numbers) or most frequent value (anything else) instead.

For every group and variant: the share of people whose decision or track changes (the flip
rate), with a Wilson interval. The margin is the flip rate an audit tolerates (`max_flip_rate`,
default 0.01: one person in a hundred):

- **finding**: the rate is significantly above the margin (score test of rate = margin, Holm
  over the check's groups and variants); the Wilson interval then lies above it;
- **no finding**: the interval's upper end is within the margin;
- **inconclusive**: neither (too few people to place the rate on either side).

A model that does not read the attribute cannot change with it: the flip rate is exactly 0,
which still needs about 4 / margin people in a group to place below the margin.

Case flags: the people whose output changed, with what changed and from which decision or track
to which, never the value of their attribute; the largest score changes first.

Limits: only the attribute (and the proxies named) change, so a model that reads the attribute
through a proxy not named shows no flip; and a person "with the other level but everything else
equal" may not exist when the attribute shapes the other features (that is what the second
variant approximates, for the proxies given).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd
from pydantic import Field

from audit.checks.base import (
    CannotRun,
    CaseFlag,
    Check,
    CheckContext,
    CheckOutcome,
    CheckParams,
    DecisionRule,
    Evidence,
    RecordStatus,
    check_status,
    conclude,
    detectable_shift,
    finite,
    holm,
    wald_p,
)
from audit.checks.strata import group_labels, reference_level
from audit.metrics.intervals import wilson
from audit.models.training import BandPolicy

if TYPE_CHECKING:
    from audit.models.importing import AuditableModel

CODE, NAME = "CF", "flips"
REASONS = {"attribute": "CF_FLIP", "attribute_and_proxies": "CF_FLIP_WITH_PROXIES"}
MEASURES = {"attribute": "flip_rate", "attribute_and_proxies": "flip_rate_with_proxies"}


class FlipParams(CheckParams):
    check: Literal["CF", "flips"]
    attribute: str = Field(
        description="the sensitive attribute changed, e.g. mental_health_history"
    )
    to: str | None = Field(
        default=None,
        description="the level everyone is moved to; default: the other level of a two-level "
        "attribute, else the reference level",
    )
    proxies: list[str] = Field(
        default_factory=list,
        description="known proxies of the attribute, changed with it in a second variant",
    )
    proxy_values: Literal["draw", "typical"] = Field(
        default="draw",
        description="draw: a random person's of the new level; typical: its median or mode",
    )
    max_flip_rate: float = Field(
        default=0.01, gt=0, lt=1, description="the flip rate below which a harm is ruled out"
    )
    cases: bool = Field(default=False, description="list the people whose output changed")


def needs(params: FlipParams, ctx: CheckContext) -> list[str]:
    return list(dict.fromkeys([params.attribute, *params.proxies]))


@dataclass(frozen=True)
class _Outputs:
    """What the model gives one copy of the people: tracks, the decision, the score."""

    track: np.ndarray | None
    decision: np.ndarray | None
    score: np.ndarray  # the probability of the decision's class (or the last class)

    def changed(self, other: _Outputs) -> np.ndarray:
        """Whose track or decision differs between the two copies."""
        out = np.zeros(len(self.score), dtype=bool)
        if self.track is not None and other.track is not None:
            out |= self.track != other.track
        if self.decision is not None and other.decision is not None:
            out |= self.decision != other.decision
        return out

    @property
    def what(self) -> str:
        parts = [
            n for n, v in (("track", self.track), ("decision", self.decision)) if v is not None
        ]
        return " or ".join(parts)


@dataclass(frozen=True)
class _Group:
    """The people of one level moved to another level, in one variant."""

    variant: str
    level: str
    to: str
    rows: np.ndarray  # positions of the group's people
    changed: np.ndarray  # of those, whose output changed
    n_to: int  # people of the level moved to (their proxies are drawn from them)
    score_change: float


def run(params: FlipParams, ctx: CheckContext) -> CheckOutcome:
    model = ctx.model
    if model is None:  # the runner skips the check before; kept for direct calls
        raise CannotRun("it re-scores people, so it needs the model. Fix: audit the model")
    column = ctx.people[params.attribute]
    labels = group_labels(column).to_numpy()
    reference = reference_level(ctx, params.attribute, labels)
    target = _targets(labels, reference, params)
    notes = _notes(params, model)
    before = _outputs(model, ctx.people.copy(), ctx.decision, params)
    groups: list[_Group] = []
    flipped: list[tuple[str, _Outputs, np.ndarray]] = []  # (variant, after, changed), for cases
    for variant in ("attribute", "attribute_and_proxies"):
        if variant == "attribute_and_proxies" and not params.proxies:
            continue
        changed_people = _changed(ctx, labels, target, variant, params)
        after = _outputs(model, changed_people, ctx.decision, params)
        changed = before.changed(after) & (target != "")
        delta = after.score - before.score
        flipped.append((variant, after, changed))
        for level in sorted(set(labels[target != ""])):
            rows = np.flatnonzero((labels == level) & (target != ""))
            to = str(target[rows[0]])
            groups.append(
                _Group(
                    variant,
                    level,
                    to,
                    rows,
                    changed[rows],
                    int((labels == to).sum()),
                    float(delta[rows].mean()),
                )
            )
    cases = _cases(before, flipped, params) if params.cases else ()
    evidence = _evidence(groups, params, ctx)
    status = check_status(evidence)
    return CheckOutcome(
        code=CODE,
        name=NAME,
        check_id=params.check_id,
        status=status,
        sentence=_sentence(status, evidence, params, before.what),
        needs=tuple(needs(params, ctx)),
        evidence=tuple(evidence),
        margin=params.max_flip_rate,
        cases=cases,
        notes=tuple(notes),
        reason="no group large enough to compare" if status == "not_evaluable" else None,
    )


def _targets(labels: np.ndarray, reference: str, params: FlipParams) -> np.ndarray:
    """The level each person is moved to; "" for people who stay as they are."""
    levels = sorted(set(labels))
    if params.to is not None and params.to not in levels:
        close = difflib.get_close_matches(params.to, levels, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise CannotRun(
            f"'to: {params.to}': expected a level of '{params.attribute}' among {levels}; found "
            f"none by that name{hint}. Fix: spell the level as the data does"
        )
    if len(levels) < 2:
        raise CannotRun(
            f"attribute '{params.attribute}': expected at least two levels to move people "
            f"between; found only {levels}. Fix: audit data with more than one group"
        )
    target = np.full(labels.shape, "", dtype=object)
    if params.to is not None:
        target[labels != params.to] = params.to
    elif len(levels) == 2:
        a, b = levels
        target[labels == a], target[labels == b] = b, a
    else:
        target[labels != reference] = reference
    return target


def _changed(
    ctx: CheckContext, labels: np.ndarray, target: np.ndarray, variant: str, params: FlipParams
) -> pd.DataFrame:
    """A copy of the people with the attribute (and, in the second variant, its proxies) changed.

    The caller's table is never written to: every column changed is a new Series.
    """
    people = ctx.people.copy()
    column = ctx.people[params.attribute]
    rng = np.random.default_rng([ctx.seed, 7])
    for to in sorted(set(target[target != ""])):
        moved = target == to
        donors = np.flatnonzero(labels == to)
        people[params.attribute] = _set(people[params.attribute], moved, column.iloc[donors[0]])
        if variant != "attribute_and_proxies":
            continue
        rows = np.flatnonzero(moved)
        picks = rng.choice(donors, size=rows.size, replace=True)
        for proxy in params.proxies:
            source = ctx.people[proxy]
            if params.proxy_values == "draw":
                values = source.iloc[picks].to_numpy()
                people[proxy] = _set_rows(people[proxy], rows, values)
            else:
                people[proxy] = _set(people[proxy], moved, _typical(source.iloc[donors]))
    return people


def _set(series: pd.Series, mask: np.ndarray, value: object) -> pd.Series:
    return _set_rows(series, np.flatnonzero(mask), np.full(int(mask.sum()), value, dtype=object))


def _set_rows(series: pd.Series, rows: np.ndarray, values: np.ndarray) -> pd.Series:
    """A copy of `series` with `values` (values of the column itself) at positions `rows`."""
    out = series.copy()
    if rows.size:
        # In the column's own dtype, so that categories stay categories and booleans booleans.
        out.iloc[rows] = (
            values if series.dtype == object else pd.array(values, cast(Any, series.dtype))
        )
    return out


def _typical(values: pd.Series) -> object:
    """The median of a number (a value of the data, so whole numbers stay whole), the most
    frequent value of anything else."""
    kind = values.dtype
    if pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
        return values.quantile(0.5, interpolation="nearest")
    return values.mode(dropna=False).iloc[0]


def _outputs(
    model: AuditableModel, people: pd.DataFrame, rule: DecisionRule | None, params: FlipParams
) -> _Outputs:
    """The model's tracks, decision and score, the way the outputs step derives them."""
    try:
        proba = np.asarray(model.predict_proba(people), dtype=np.float64)
    except Exception as err:  # any model failure: the check cannot run, the others go on
        first = str(err).splitlines()[0] if str(err) else ""
        raise CannotRun(
            f"the model: expected it to score the people with '{params.attribute}' changed; "
            f"found {type(err).__name__}: {first}"[:400]
            + ". Fix: check the model against the data (audit model check)"
        ) from err
    classes = [str(c) for c in model.classes]
    if proba.shape != (len(people), len(classes)):
        raise CannotRun(
            f"the model: expected one probability per class {classes} for each of the "
            f"{len(people)} people; found an output of shape {proba.shape}. Fix: check the "
            "model's output (audit model check)"
        )
    bad = int((~np.isfinite(proba)).any(axis=1).sum())
    if bad:  # argmax would read a NaN row as the first class: a flip or none, made up
        raise CannotRun(
            f"the model: expected finite probabilities for the people with "
            f"'{params.attribute}' changed; found {bad} of {len(people)} rows with NaN or "
            "infinite values. Fix: check the model against the data (audit model check)"
        )
    # The label of highest probability, as every model backend predicts (one call, not two).
    labels = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)].astype(str)
    label = rule.label if rule is not None else None
    score = proba[:, classes.index(label) if label in classes else len(classes) - 1]
    track = labels if model.task == "track" else None
    decision: np.ndarray | None = None
    if rule is not None and rule.bands is not None:
        policy = BandPolicy(high=rule.bands.get("high", 0.66), low=rule.bands.get("low", 0.25))
        decision = np.isin(policy.allocate(score).band, rule.examined or [])
    elif rule is not None and rule.threshold is not None:
        decision = score >= rule.threshold
    elif label is not None:
        decision = labels == label
    elif model.task == "profiling":
        decision = labels == ("1" if "1" in classes else classes[-1])
    return _Outputs(track=track, decision=decision, score=score)


def _notes(params: FlipParams, model: AuditableModel) -> list[str]:
    reads = {c.name for c in model.expected_columns}
    unread = [c for c in (params.attribute, *params.proxies) if reads and c not in reads]
    if not unread:
        return []
    return [
        f"the model does not read {', '.join(repr(c) for c in unread)}: changing "
        + ("it" if len(unread) == 1 else "them")
        + " alone cannot change its output"
    ]


def _evidence(groups: list[_Group], params: FlipParams, ctx: CheckContext) -> list[Evidence]:
    m = params.max_flip_rate
    level = 1 - ctx.alpha
    deciding = [g for g in groups if min(g.rows.size, g.n_to) >= ctx.min_group_size]
    # Score test of "flip rate = margin": the test the Wilson interval inverts, so a finding
    # (corrected p < alpha, rate above the margin) has its interval above the margin too.
    p_values = [
        wald_p(float(g.changed.mean()), math.sqrt(m * (1 - m) / g.rows.size), null=m)
        for g in deciding
    ]
    tested = {id(g): (p, q) for g, p, q in zip(deciding, p_values, holm(p_values), strict=True)}
    records = []
    for g in groups:
        n = int(g.rows.size)
        k = int(g.changed.sum())
        rate = k / n
        low, high = (float(x[0]) for x in wilson(np.array([rate]), np.array([float(n)]), level))
        p = tested.get(id(g))
        status: RecordStatus = "unreliable"
        if p is not None:
            status = conclude(
                rate, low, high, p[1], alpha=ctx.alpha, null=m, margin=m, harmful="above"
            )
        se0 = math.sqrt(m * (1 - m) / n)
        detectable = m + detectable_shift(
            se0, alpha=ctx.alpha, tests=len(deciding), power=ctx.power
        )
        records.append(
            Evidence(
                attribute=params.attribute,
                level=g.level,
                reference=g.to,
                measure=MEASURES[g.variant],
                estimate=rate,
                ci_low=low,
                ci_high=high,
                p_value=finite(p[0]) if p else None,
                p_adjusted=finite(p[1]) if p else None,
                detectable=finite(min(detectable, 1.0)),
                n=n,
                n_reference=g.n_to,
                status=status,
                details={
                    "variant": g.variant,
                    "moved_to": g.to,
                    "changed": k,
                    "proxies": ", ".join(params.proxies) if g.variant != "attribute" else "",
                    "mean_score_change": finite(g.score_change),
                },
            )
        )
    return records


def _cases(
    before: _Outputs, flipped: list[tuple[str, _Outputs, np.ndarray]], params: FlipParams
) -> tuple[CaseFlag, ...]:
    """The people whose output changed, per variant, the largest score change first.

    The evidence names the columns changed and the outputs before and after, never the value of
    the attribute or of its proxies.
    """
    flags: list[CaseFlag] = []
    for variant, after, changed in flipped:
        rows = np.flatnonzero(changed)
        shift = np.abs(after.score[rows] - before.score[rows])
        rows = rows[np.argsort(-shift, kind="stable")]
        what = params.attribute
        if variant == "attribute_and_proxies":
            what += " and its proxies " + ", ".join(params.proxies)
        for i in rows:
            evidence: dict[str, str | float | int] = {"changed": what}
            if before.track is not None and after.track is not None:
                evidence["track_before"] = str(before.track[i])
                evidence["track_after"] = str(after.track[i])
            if before.decision is not None and after.decision is not None:
                evidence["decision_before"] = int(before.decision[i])
                evidence["decision_after"] = int(after.decision[i])
            evidence["score_before"] = round(float(before.score[i]), 4)
            evidence["score_after"] = round(float(after.score[i]), 4)
            flags.append(
                CaseFlag(
                    row=int(i),
                    reason=REASONS[variant],
                    score=-abs(float(after.score[i] - before.score[i])),
                    evidence=evidence,
                )
            )
    return tuple(flags)


def _sentence(status: str, evidence: list[Evidence], params: FlipParams, what: str) -> str:
    m = params.max_flip_rate
    attribute = params.attribute
    if status == "finding":
        worst = max((e for e in evidence if e.status == "finding"), key=lambda e: e.estimate or 0.0)
        how = _how(worst, params)
        return (
            f"Changing {how} changes the model's {what} for {worst.estimate:.1%} of "
            f"{attribute}={worst.level} moved to {worst.reference} (interval "
            f"{worst.ci_low:.1%}–{worst.ci_high:.1%}, above the tolerated {m:.1%}; corrected "
            f"p = {worst.p_adjusted:.2g}); "
            f"{sum(e.status == 'finding' for e in evidence)} group(s) and variant(s) in all."
        )
    if status == "no_finding":
        reach = max(e.ci_high or 0.0 for e in evidence if e.status != "unreliable")
        also = f" (also with its proxies {', '.join(params.proxies)})" if params.proxies else ""
        return (
            f"Changing only {attribute}{also} changes the model's {what} for at most "
            f"{reach:.1%} of any group compared: within the tolerated {m:.1%}."
        )
    if status == "inconclusive":
        unsure = [e for e in evidence if e.status == "inconclusive"]
        reach = max(e.ci_high or 1.0 for e in unsure)
        return (
            f"Flips of the model's {what} when {attribute} changes cannot be ruled out for "
            f"{len(unsure)} group(s): their intervals reach {reach:.1%}, above the tolerated "
            f"{m:.1%}, without a rate significantly above it."
        )
    return f"Flips when {attribute} changes could not be assessed: no group large enough."


def _how(e: Evidence, params: FlipParams) -> str:
    if e.measure == MEASURES["attribute"]:
        return f"only {params.attribute}"
    return f"{params.attribute} and its proxies {', '.join(params.proxies)}"


CHECK = Check(
    code=CODE,
    name=NAME,
    params=FlipParams,
    question="Does the model decide otherwise for the same person when only the group changes?",
    needs=needs,
    run=run,
    needs_model=True,
)
