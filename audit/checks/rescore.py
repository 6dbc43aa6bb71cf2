"""What the checks that re-score people share (H3, H4): the model called on changed inputs,
the score read from it, and group means of the paired score changes.

A check changes some inputs of every person (documents imputed, digital traces set to a neutral
value), calls the model on the changed rows and compares each person's score with their own
score before. The comparison is paired, so the only uncertainty is which people were audited:
the interval of a mean change is a Welch interval over the people's changes. A change smaller
than `TOLERANCE` is arithmetic rounding (ONNX models compute in float32), not an effect, and
counts as none: a model that ignores the changed inputs shows no change at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from audit.checks.base import CannotRun

if TYPE_CHECKING:
    from audit.models.importing import AuditableModel

TOLERANCE = 1e-6


def score_index(model: AuditableModel, score_class: str | None) -> int:
    """The column of `predict_proba` read as the score: the named class, or for a two-class
    model its last class (as the outputs step reads it)."""
    classes = [str(c) for c in model.classes]
    if score_class is None:
        if model.task == "track":
            raise CannotRun(
                f"score of model '{model.identity.uri}': expected the class whose probability "
                f"is the score; found a track recommender with classes {classes}. Fix: name it "
                "in the check's entry, e.g. score_class: regular"
            )
        return len(classes) - 1
    if score_class not in classes:
        raise CannotRun(
            f"score_class '{score_class}': expected one of the model's classes {classes}; found "
            "none by that name. Fix: spell the class as the model does"
        )
    return classes.index(score_class)


def probabilities(model: AuditableModel, people: pd.DataFrame) -> np.ndarray:
    """The model's class probabilities for `people`; CannotRun with the model's own error."""
    try:
        proba = np.asarray(model.predict_proba(people), dtype=np.float64)
    except Exception as err:  # any backend's failure, said plainly; the other checks go on
        first = str(err).splitlines()[0] if str(err) else ""
        raise CannotRun(
            f"model '{model.identity.uri}': expected it to score the audited people with changed "
            f"inputs; found {type(err).__name__}: {first[:300]}. Fix: check the model against "
            f"the data with `audit model check {model.identity.uri} --data FILE`"
        ) from err
    classes = len(model.classes)
    if proba.ndim != 2 or proba.shape != (len(people), classes):
        raise CannotRun(
            f"model '{model.identity.uri}': expected one row of probabilities per person "
            f"({len(people)}), one per class ({classes}); found the shape {proba.shape}. Fix: "
            "check the model's output"
        )
    # A NaN score makes every mean it enters NaN, and the check would then say that no group
    # could be compared: the model's output is the problem, so say that.
    bad = int((~np.isfinite(proba)).any(axis=1).sum())
    if bad:
        raise CannotRun(
            f"model '{model.identity.uri}': expected finite probabilities for every person scored "
            f"(as they are or with changed inputs); found {bad} of {len(people)} rows with NaN "
            "or infinite values. "
            f"Fix: check the model against the data with `audit model check "
            f"{model.identity.uri} --data FILE`"
        )
    return proba


@dataclass(frozen=True)
class Rescored:
    """Each person's score and predicted label before and after their inputs were changed."""

    before: np.ndarray
    after: np.ndarray
    label_before: np.ndarray  # class positions (argmax of the probabilities)
    label_after: np.ndarray

    def change(self, *, harmful_when: str = "lower") -> np.ndarray:
        """after - before, signed so that a positive value is what the original inputs cost the
        person (their score was lower than with the changed inputs, for `harmful_when="lower"`)."""
        delta = self.after - self.before
        delta[np.abs(delta) < TOLERANCE] = 0.0
        return delta if harmful_when == "lower" else -delta

    @property
    def label_changed(self) -> np.ndarray:
        return np.asarray(self.label_before != self.label_after, dtype=bool)


def rescore(
    model: AuditableModel,
    people: pd.DataFrame,
    changed: pd.DataFrame,
    column: int,
    before: np.ndarray | None = None,
) -> Rescored:
    """The people scored as they are (or `before`, their probabilities already computed) and
    with their changed inputs."""
    if before is None:
        before = probabilities(model, people)
    after = probabilities(model, changed)
    return Rescored(
        before=before[:, column],
        after=after[:, column],
        label_before=np.argmax(before, axis=1),
        label_after=np.argmax(after, axis=1),
    )


@dataclass(frozen=True)
class MeanGap:
    """mean(values | group) - mean(values | reference), with its Welch standard error."""

    estimate: float
    se: float
    n: int
    n_reference: int


def mean_gap(values: np.ndarray, in_group: np.ndarray, in_reference: np.ndarray) -> MeanGap:
    a, b = values[in_group], values[in_reference]
    if a.size == 0 or b.size == 0:
        return MeanGap(math.nan, math.nan, int(a.size), int(b.size))
    return MeanGap(
        float(a.mean() - b.mean()), math.sqrt(_var_of_mean(a) + _var_of_mean(b)), a.size, b.size
    )


def mean_of(values: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """The mean of `values` over `rows` and its standard error."""
    a = values[rows]
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), math.sqrt(_var_of_mean(a))


def _var_of_mean(a: np.ndarray) -> float:
    return float(a.var(ddof=1) / a.size) if a.size > 1 else math.nan


def neutral_value(column: pd.Series) -> object:
    """The value a neutralised feature takes for everyone: the median of a number, the most
    common value of anything else (a boolean, a category)."""
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:
        return float(column.median())
    mode = column.mode(dropna=True)
    return mode.iloc[0] if len(mode) else None


def filled(column: pd.Series, value: object, rows: np.ndarray | None = None) -> pd.Series:
    """`column` with `value` in `rows` (every row by default), keeping a category's categories.

    A neutral value for everyone makes a new column of the value's own type (the median of a
    count is a float); a value set in some rows is one of the column's own values.
    """
    if rows is None:
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = pd.Categorical([value] * len(column), categories=column.cat.categories)
            return pd.Series(codes, index=column.index, name=column.name)
        return pd.Series([value] * len(column), index=column.index, name=column.name)
    out = column.copy()
    out[rows] = value
    return out
