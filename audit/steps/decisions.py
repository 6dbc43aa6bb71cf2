"""Step 3, outputs: the model's output on the audited rows, turned into the decision examined.

The result is a small table with the outcome, the decision, the score (when there is one) and
the group columns: exactly what the statistics step reads, nothing of the model's inputs.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from audit.errors import AuditError, AuditInputError
from audit.gate import require_rule_tracks
from audit.models.importing import AuditableModel, DecisionsModel
from audit.models.training import BandPolicy
from audit.spec import TRACK_METRIC, AuditSpec, ThresholdRule

OUTCOME, DECISION, SCORE, TRACK = "_outcome", "_decision", "_score", "_track"


def decide(
    spec: AuditSpec, model: AuditableModel, people: pd.DataFrame, *, whole: bool = True
) -> pd.DataFrame:
    """The table the statistics step reads.

    `whole=False` decides for a part of the audited rows (one batch on a Spark executor): the
    checks that need every row (a decision that varies, several tracks, an outcome value that
    occurs) are then the caller's, on the counts (`require_decisions_vary`).

    A track recommender (or a decisions file with a track column) gives the track of every
    person (`TRACK`, over all the model's classes): every track is audited at once. The binary
    decision (`DECISION`) is there when the spec asks for one (`decision.label`, `bands`,
    `threshold`) or the model is binary; a track audit without one has no `DECISION` column.
    """
    rule = spec.decision
    multiclass = model.task == "track"
    require_rule_tracks(spec.policy.rules, model.classes if multiclass else (), _what(model))
    if rule.label is not None:
        _require_class(model, rule.label)
    # A decisions file may carry a 0/1 decision beside its tracks: that is the binary decision.
    own = getattr(model, "decision_column", None) if model.kind == "decisions" else None
    binary = not multiclass or own is not None or any(
        x is not None for x in (rule.label, rule.bands, rule.threshold)
    )
    if not binary:
        _require_track_rules(spec)
    score = _score(model, people, rule.label) if binary and _needs_score(spec, model) else None
    labels = None
    if multiclass or (rule.bands is None and rule.threshold is None):
        labels = np.asarray(_call(model, "predict", people)).astype(str)
    # Without an observed outcome there is no outcome column (the decisions alone are audited)
    # and no score to assess: AUC and calibration compare the score with the outcome.
    table: dict[str, object] = {}
    if spec.outcome is not None:
        table[OUTCOME] = _outcome(spec, people, whole)
    if binary:
        if rule.bands is not None:
            policy = BandPolicy(high=rule.bands.get("high", 0.66), low=rule.bands.get("low", 0.25))
            assert score is not None and rule.examined is not None
            decision = np.isin(policy.allocate(score).band, rule.examined)
        elif rule.threshold is not None:
            assert score is not None
            decision = score >= rule.threshold
        elif multiclass and rule.label is None:
            assert own is not None and isinstance(model, DecisionsModel)
            decision = model.rows_for(people)[own].to_numpy() == 1
        else:
            assert labels is not None
            wanted = rule.label if rule.label is not None else "1"  # a binary model's class 1
            decision = labels == wanted
        if whole:
            _require_varying(spec, model, np.asarray(decision, dtype=bool), score)
        table[DECISION] = decision.astype(np.int8)
    if multiclass:
        assert labels is not None
        if whole:
            _require_several_tracks(model, labels)
        table[TRACK] = pd.Categorical(labels, categories=list(model.classes))
    table.update({c: people[c] for c in (*spec.groups, *spec.legitimate_factors)})
    if score is not None and rule.use_score and spec.outcome is not None:
        table[SCORE] = score
    return pd.DataFrame(table)


def _what(model: AuditableModel) -> str:
    return f"model '{model.identity.uri}'"


def _require_track_rules(spec: AuditSpec) -> None:
    """Without a binary decision only track_share rules can be read: a rule on a binary
    metric (fpr, selection_rate) would find nothing to compare and never decide."""
    for i, r in enumerate(spec.policy.rules):
        metrics = [r.metric] if isinstance(r, ThresholdRule) else r.no_significant_disparity
        binary = [m for m in metrics if m != TRACK_METRIC]
        if not binary:
            continue
        raise AuditInputError(
            f"spec key 'policy.rules[{i}]' (rule '{r.id}')",
            expected="rules on track_share for a track audit without a binary decision",
            found=f"the metric {', '.join(binary)} of a binary decision",
            fix="bound a track's share (metric: track_share, track: NAME), or add "
            "decision: {label: NAME} to audit one track as a binary decision as well",
        )


def _require_several_tracks(model: AuditableModel, labels: np.ndarray) -> None:
    if len(labels) and (labels == labels[0]).all():
        raise single_track(model, str(labels[0]), len(labels))


def single_track(model: AuditableModel, track: str, people: int) -> AuditInputError:
    return AuditInputError(
        _what(model),
        expected="recommendations that differ between people (several tracks)",
        found=f"the track '{track}' for all {people:,} audited people",
        fix="a decision that is the same for everyone cannot show a disparity; check the "
        "model and the data it is given",
    )


def _outcome(spec: AuditSpec, people: pd.DataFrame, whole: bool = True) -> np.ndarray:
    assert spec.outcome is not None
    column = people[spec.outcome]
    if spec.outcome_positive is None:
        return column.to_numpy()
    text = column.astype(str)
    if whole and not (text == spec.outcome_positive).any():
        values = ", ".join(sorted(text.unique())[:12])
        raise AuditInputError(
            "spec key 'outcome_positive'",
            expected=f"a value of the column '{spec.outcome}'",
            found=f"'{spec.outcome_positive}', which no row has (values: {values})",
            fix="spell the value as it appears in the data",
        )
    return (text == spec.outcome_positive).to_numpy().astype(np.int8)


def _require_class(model: AuditableModel, label: str) -> None:
    """`decision.label` names one of the model's classes; a misspelling would select no one."""
    classes = [str(c) for c in model.classes]
    if label in classes:
        return
    close = difflib.get_close_matches(label, classes, n=1, cutoff=0.6)
    suggestion = f"did you mean '{close[0]}'? " if close else ""
    raise AuditInputError(
        "spec key 'decision.label'",
        expected=f"one of the classes of model '{model.identity.uri}': {', '.join(classes)}",
        found=repr(label),
        fix=f"{suggestion}write the class exactly as the model spells it, e.g. "
        f"decision: {{label: {close[0] if close else classes[-1]}}}",
    )


def _require_varying(
    spec: AuditSpec, model: AuditableModel, decision: np.ndarray, score: np.ndarray | None
) -> None:
    """Refuses a decision that is the same for every audited person.

    Every rule metric is a rate of the decision, so a constant decision makes every selection
    rate equal (all 0 or all 1) and the error rates degenerate: the gate would report "no
    disparity" about a decision that treats everyone alike because it selects no one (or
    everyone), which says nothing about the model. The cause is nearly always the spec (a
    threshold beyond every score, a band no one reaches, the wrong label), so it is a spec
    mistake (exit 2) with the figures needed to fix it, not an inconclusive verdict: an honest
    tool says it cannot audit this decision rather than reporting nothing found.
    """
    if len(decision) == 0 or decision.min() != decision.max():
        return
    span = None if score is None else (float(score.min()), float(score.max()))
    raise constant_decision(spec, model, int(decision[0]), len(decision), span)


def constant_decision(
    spec: AuditSpec,
    model: AuditableModel,
    value: int,
    people: int,
    scores: tuple[float, float] | None,
) -> AuditInputError:
    """The error for a decision `value` given to all `people` (see `_require_varying`)."""
    rule = spec.decision
    key, how = "decision", "the model's own decision (its predicted label 1)"
    if rule.threshold is not None:
        key, how = "decision.threshold", f"score >= {rule.threshold:g}"
    elif rule.bands is not None:
        key, how = "decision.bands", f"bands {dict(rule.bands)}, examined {rule.examined}"
    elif rule.label is not None:
        key, how = "decision.label", f"predicted label '{rule.label}'"
    elif model.kind == "decisions":
        how = f"the decision column of '{model.identity.uri}'"
    span = "" if scores is None else f"; the scores range from {scores[0]:.3g} to {scores[1]:.3g}"
    return AuditInputError(
        f"spec key '{key}'",
        expected="a decision that differs between people (some given it, some not)",
        found=f"the decision {value} for all {people:,} audited people ({how}{span})",
        fix="choose a threshold or bands inside the range of the scores, or the label or "
        "decision column that holds the decision examined; a decision given to everyone or "
        "no one cannot show a disparity",
    )


def _needs_score(spec: AuditSpec, model: AuditableModel) -> bool:
    rule = spec.decision
    if rule.bands is not None or rule.threshold is not None:
        if model.kind == "decisions" and getattr(model, "score_column", None) is None:
            raise AuditInputError(
                "spec key 'decision'",
                expected="a score to apply bands or a threshold to",
                found="a decisions file without a score column",
                fix="name model.decisions.score_column, or drop 'bands'/'threshold' to use "
                "the file's decision column",
            )
        return True
    if not rule.use_score or spec.outcome is None:
        return False
    return model.kind != "decisions" or getattr(model, "score_column", None) is not None


def _score(model: AuditableModel, people: pd.DataFrame, label: str | None) -> np.ndarray:
    proba = _call(model, "predict_proba", people)
    classes = list(model.classes)
    column = classes.index(label) if label in classes else len(classes) - 1
    return np.asarray(proba[:, column], dtype=np.float64)


def _call(model: AuditableModel, method: str, people: pd.DataFrame) -> np.ndarray:
    """Runs the model; a model that cannot predict on this data is an input problem, said plainly."""
    try:
        out: np.ndarray = getattr(model, method)(people)
    except AuditError:
        raise
    except Exception as err:
        raise AuditInputError(
            f"model '{model.identity.uri}'",
            expected=f"{method} to run on the audited rows",
            found=f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:400],
            fix=f"check the model against the data with `audit model check {model.identity.uri} "
            "--data FILE`",
        ) from err
    if len(out) != len(people):
        raise AuditInputError(
            f"model '{model.identity.uri}'",
            expected=f"one prediction per audited row ({len(people)})",
            found=f"{len(out)} predictions",
            fix="check the model's output shape",
        )
    return out
