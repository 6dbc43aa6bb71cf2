"""Step 3, outputs: the model's output on the audited rows, turned into the decision examined.

The result is a small table with the outcome, the decision, the score (when there is one) and
the group columns: exactly what the statistics step reads, nothing of the model's inputs.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from audit.errors import AuditError, AuditInputError
from audit.models.importing import AuditableModel
from audit.models.training import BandPolicy
from audit.spec import AuditSpec

OUTCOME, DECISION, SCORE = "_outcome", "_decision", "_score"


def decide(spec: AuditSpec, model: AuditableModel, people: pd.DataFrame) -> pd.DataFrame:
    rule = spec.decision
    if rule.label is not None:
        _require_class(model, rule.label)
    score = _score(model, people, rule.label) if _needs_score(spec, model) else None
    if rule.bands is not None:
        policy = BandPolicy(high=rule.bands.get("high", 0.66), low=rule.bands.get("low", 0.25))
        assert score is not None and rule.examined is not None
        decision = np.isin(policy.allocate(score).band, rule.examined)
    elif rule.threshold is not None:
        assert score is not None
        decision = score >= rule.threshold
    else:
        labels = _call(model, "predict", people)
        wanted = rule.label if rule.label is not None else _positive_label(model)
        decision = np.asarray(labels).astype(str) == wanted
    _require_varying(spec, model, np.asarray(decision, dtype=bool), score)
    # Without an observed outcome there is no outcome column (the decisions alone are audited)
    # and no score to assess: AUC and calibration compare the score with the outcome.
    outcome = {} if spec.outcome is None else {OUTCOME: _outcome(spec, people)}
    table = {
        **outcome,
        DECISION: decision.astype(np.int8),
        **{c: people[c] for c in (*spec.groups, *spec.legitimate_factors)},
    }
    if score is not None and rule.use_score and spec.outcome is not None:
        table[SCORE] = score
    return pd.DataFrame(table)


def _outcome(spec: AuditSpec, people: pd.DataFrame) -> np.ndarray:
    assert spec.outcome is not None
    column = people[spec.outcome]
    if spec.outcome_positive is None:
        return column.to_numpy()
    text = column.astype(str)
    if not (text == spec.outcome_positive).any():
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
    rule = spec.decision
    value = int(decision[0])
    key, how = "decision", "the model's own decision (its predicted label 1)"
    if rule.threshold is not None:
        key, how = "decision.threshold", f"score >= {rule.threshold:g}"
    elif rule.bands is not None:
        key, how = "decision.bands", f"bands {dict(rule.bands)}, examined {rule.examined}"
    elif rule.label is not None:
        key, how = "decision.label", f"predicted label '{rule.label}'"
    elif model.kind == "decisions":
        how = f"the decision column of '{model.identity.uri}'"
    scores = (
        "" if score is None else f"; the scores range from {score.min():.3g} to {score.max():.3g}"
    )
    raise AuditInputError(
        f"spec key '{key}'",
        expected="a decision that differs between people (some given it, some not)",
        found=f"the decision {value} for all {len(decision):,} audited people ({how}{scores})",
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


def _positive_label(model: AuditableModel) -> str:
    if model.task == "track":
        raise AuditInputError(
            "spec key 'decision'",
            expected="decision.label naming the track examined (e.g. sheltered)",
            found="a track recommender and no label",
            fix="add `decision: {label: sheltered}`",
        )
    return "1"


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
