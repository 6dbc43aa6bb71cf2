"""Turn the columns of a decisions table into small integer codes, checking them on the way.

Everything downstream works on codes: group levels become 0..L-1 (missing values become an explicit
"unknown" level, never dropped), labels and decisions become 0/1. Validation happens here, once, so
that every later stage can trust its input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.errors import AuditInputError
from audit.labels import display_label

UNKNOWN = "unknown"


@dataclass(frozen=True)
class EncodedAttribute:
    """One sensitive attribute as codes 0..len(levels)-1 into `levels`."""

    name: str
    levels: tuple[str, ...]
    codes: np.ndarray


@dataclass(frozen=True)
class EncodedInput:
    """The validated columns of a decisions table, ready for counting."""

    n_rows: int
    y_true: np.ndarray  # uint8, 0/1
    y_pred: np.ndarray  # uint8, 0/1
    attributes: tuple[EncodedAttribute, ...]
    score: np.ndarray | None = None  # float64 in [0, 1]
    weight: np.ndarray | None = None  # float64 >= 0
    # A table counted by another engine (`Tally`): each row stands for `rows` rows, `weight` is
    # their weight sum, `weight_sq` their squared-weight sum, `score` their point of the score
    # grid and `score_sum` the sum of their (weighted) scores. None: one row each.
    rows: np.ndarray | None = None
    weight_sq: np.ndarray | None = None
    score_sum: np.ndarray | None = None


@dataclass(frozen=True)
class Tally:
    """The columns of a table that another engine has already aggregated (`audit.spark`).

    Each row of such a table is one combination of the values the audit reads (groups, factors,
    track, outcome, decision, score grid point) and stands for the `rows` rows that have it; the
    weight column holds their weight sum. The NumPy engine counts it as it counts rows, each row
    with its multiplicity, so both engines share one encoding and one set of checks.
    """

    rows: str
    weight_sq: str | None = None  # sum of squared weights, with a weight column
    score_sum: str | None = None  # sum of the scores (times the weights), with a score

    def multiplicity(self, data: pd.DataFrame) -> np.ndarray:
        return data[self.rows].to_numpy(dtype=np.int64)

    def sums(self, data: pd.DataFrame, name: str | None) -> np.ndarray | None:
        return None if name is None else data[name].to_numpy(dtype=np.float64)


def column_of(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The column `name`, or a message listing the columns there are."""
    if name not in data.columns:
        available = ", ".join(map(str, data.columns[:20]))
        raise AuditInputError(
            f"{role} column {name!r}",
            expected="a column of the data",
            found=f"no such column (columns are: {available})",
            fix=f"pass the name of the column that holds the {role}",
        )
    return data[name]


def encode_binary(
    values: pd.Series, role: str, pos_label: object | None = None, *, required: bool = True
) -> np.ndarray:
    """Codes a label or decision column as uint8 0/1, 1 for the positive class.

    Without `pos_label`, booleans and {0, 1} numbers are taken as they are (True and 1 positive);
    any other two-valued column needs the value that counts as positive, because guessing it
    would silently flip every rate. With `pos_label`, that value is positive whatever the coding:
    `pos_label=0` on 0/1 labels makes 0 the positive class, as in scikit-learn and fairlearn.
    A label typed on the command line is text, so "0", "1", "True" and "false" also name the
    values of 0/1 and boolean columns.

    `required=False` is for a column coded 0/1 or boolean that `pos_label` does not name (a text
    outcome with a 0/1 decision): it is then taken as it is. A text column must contain it.
    """
    name = f"{role} column {values.name!r}"
    arr = values.to_numpy()
    if arr.dtype == bool:  # cannot hold missing values: the fast path for large tables
        positive = _positive_of_coded(pos_label)
        if positive is None and not required:
            positive = 1
        if positive is not None:
            return arr.view(np.uint8) if positive else (~arr).view(np.uint8)
        raise _unknown_label(name, pos_label, "True, False")
    if arr.dtype.kind not in "iu" and values.isna().any():  # integers cannot be missing
        raise AuditInputError(
            name,
            expected="a value in every row",
            found=f"{int(values.isna().sum())} missing value(s)",
            fix="drop or impute those rows before the audit; a missing label cannot be assessed",
        )
    if np.issubdtype(arr.dtype, np.number):
        lo, hi = arr.min(), arr.max()
        is_int = np.issubdtype(arr.dtype, np.integer)
        if lo >= 0 and hi <= 1 and (is_int or np.all((arr == 0) | (arr == 1))):
            positive = _positive_of_coded(pos_label)
            if positive is None and not required:
                positive = 1
            if positive is None:
                raise _unknown_label(name, pos_label, "0, 1")
            coded = arr.astype(np.uint8, copy=False)
            return coded if positive else 1 - coded
    distinct = pd.unique(values)
    # 0/1 or True/False stored as text (a CSV column read as text, an export from SPSS or Excel)
    # is the same coding: read it as such rather than asking for a positive label.
    spelled = {str(v).strip().lower() for v in distinct}
    if len(spelled) <= 2 and any(spelled <= set(pair) for pair in _TEXT_CODINGS):
        positive = _positive_of_coded(pos_label)
        if positive is None and not required:
            positive = 1
        if positive is None:
            raise _unknown_label(name, pos_label, ", ".join(sorted(spelled)))
        ones = [v for v in distinct if str(v).strip().lower() in ("1", "true", "1.0")]
        coded = np.asarray(values.isin(ones), dtype=np.uint8)
        return coded if positive else 1 - coded
    shown = ", ".join(sorted(map(str, distinct))[:10])
    if len(distinct) > 2 and role == "decision" and is_probability(arr):
        raise AuditInputError(
            name,
            expected="decisions coded 0/1 or True/False",
            found=f"scores: {len(distinct)} distinct values between {arr.min():g} and "
            f"{arr.max():g}, e.g. {shown}",
            fix="decide on the score with a threshold: `audit assess --score "
            f"{values.name} --threshold 0.5` (decision = score >= 0.5), or in a spec name it "
            "model.decisions.score_column and set decision.threshold",
        )
    if len(distinct) > 2:
        raise AuditInputError(
            name,
            expected="two classes coded 0/1 or True/False",
            found=f"{len(distinct)} distinct value(s): {shown}",
            fix="binarise the column first, e.g. one class against the rest",
        )
    if pos_label is None:
        raise AuditInputError(
            name,
            expected="two classes coded 0/1 or True/False",
            found=f"{len(distinct)} distinct value(s): {shown}",
            fix="recode the column to 0/1, or name the positive class (--pos-label)",
        )
    matches = [v for v in distinct if _same_label(v, pos_label)]
    if not matches:
        raise _unknown_label(name, pos_label, shown)
    return np.asarray(values.isin(matches), dtype=np.uint8)


_TEXT_CODINGS = (("0", "1"), ("false", "true"), ("0.0", "1.0"))


def is_probability(arr: np.ndarray) -> bool:
    """Numbers in [0, 1] with some strictly between: a score, not a 0/1 decision."""
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
        return False
    x = arr.astype(np.float64, copy=False)
    return bool(np.all((x >= 0) & (x <= 1)) and np.any((x > 0) & (x < 1)))


def _positive_of_coded(pos_label: object | None) -> int | None:
    """1 or 0: the value of a 0/1 or boolean column that `pos_label` names; None for neither.

    Without a positive label, 1 (True) is positive. True == 1 and False == 0, as in Python.
    """
    if pos_label is None:
        return 1
    for code, spellings in ((1, ("1", "true", "1.0")), (0, ("0", "false", "0.0"))):
        if isinstance(pos_label, bool | int | float | np.bool_ | np.number):
            if pos_label == code:
                return code
        elif str(pos_label).strip().lower() in spellings:
            return code
    return None


def _is_coded(values: pd.Series) -> bool:
    """A boolean column, numbers that are all 0 or 1, or 0/1 (True/False) written as text or
    held in an object column: every coding `encode_binary` reads as 0/1 without a label."""
    arr = values.to_numpy()
    if arr.dtype == bool:
        return True
    if values.isna().any():
        return False
    if np.issubdtype(arr.dtype, np.number):
        return bool(np.all((arr == 0) | (arr == 1)))
    spelled = {str(v).strip().lower() for v in pd.unique(values)}
    return len(spelled) <= 2 and any(spelled <= set(pair) for pair in _TEXT_CODINGS)


def _same_label(value: object, pos_label: object) -> bool:
    """`value` is `pos_label`, compared as values, or as text (labels typed on a command line)."""
    if str(value) == str(pos_label):
        return True
    try:
        if isinstance(value, int | float | np.number) and isinstance(pos_label, str):
            return bool(value == float(pos_label))  # "2" names 2.0
        return bool(value == pos_label)
    except (TypeError, ValueError):
        return False


def _unknown_label(name: str, pos_label: object, shown: str) -> AuditInputError:
    return AuditInputError(
        name,
        expected=f"the positive label {pos_label!r} among its values",
        found=f"the values {shown}",
        fix="check the positive label's spelling",
    )


def encode_attribute(values: pd.Series) -> EncodedAttribute:
    """Codes a sensitive attribute; missing values become the explicit level "unknown".

    A categorical column keeps its declared level order (age bands stay in age order); other
    columns get their sorted values, so that codes never depend on row order. Levels that never
    occur are dropped after counting (`count_groups`), where the counts tell for free.
    """
    name = str(values.name)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.array
        assert isinstance(cat, pd.Categorical)
        labels = [str(c) for c in cat.categories]
        codes = np.asarray(cat.codes)
    else:
        try:
            codes, uniques = pd.factorize(values, sort=True)
            labels = [str(u) for u in uniques]
        except TypeError:  # mixed types cannot be sorted: compare them as text
            labels = []
        if len(set(labels)) < len(labels) or not labels:  # e.g. 1 and "1", or mixed types
            codes, uniques = pd.factorize(values.astype(str).where(values.notna()), sort=True)
            labels = [str(u) for u in uniques]
        codes = np.asarray(codes)
    if codes.size and codes.min() < 0:  # min() makes no temporary array: cheaper on 10^7 rows
        if UNKNOWN in labels:  # an existing "unknown" level and missing values mean the same thing
            unknown_code = labels.index(UNKNOWN)
        else:
            unknown_code = len(labels)
            labels.append(UNKNOWN)
        codes = codes.copy()
        codes[codes < 0] = unknown_code
    dtype = np.int8 if len(labels) < 128 else np.int32
    return EncodedAttribute(name=name, levels=tuple(labels), codes=codes.astype(dtype, copy=False))


def check_cardinality(attributes: Sequence[EncodedAttribute], limit: int) -> None:
    """Refuses a group column with more than `limit` distinct values, before anything is counted.

    Hundreds of groups cannot be read, compared or corrected for meaningfully, and thousands
    (an identifier, a date, a raw number) would fill memory with count tables. Declared but
    unused categories do not count.
    """
    for attribute in attributes:
        if len(attribute.levels) <= limit:
            continue
        used = np.flatnonzero(np.bincount(attribute.codes, minlength=len(attribute.levels)))
        if used.size <= limit:
            continue
        examples = ", ".join(repr(display_label(attribute.levels[i], 24)) for i in used[:5])
        raise AuditInputError(
            f"group column {display_label(attribute.name)!r}",
            expected=f"at most {limit} groups (distinct values) to compare",
            found=f"{used.size:,} distinct values, e.g. {examples}",
            fix="bin it into a few bands (a numeric column at its quantiles with "
            f"`attributes: [{{column: {attribute.name}, bins: 5}}]`, --group-bins "
            f"{attribute.name}=5) or merge rare values into one level such as 'other' before "
            "the audit; a column with a value per person (an id, a date) is not a group. To "
            "compare more groups, raise statistics.max_levels (--max-levels)",
        )


def check_numeric_groups(
    data: pd.DataFrame, groups: Sequence[str], limit: int, max_levels: int
) -> None:
    """Refuses a numeric group column with more than `limit` distinct values.

    Such a column is a measurement (an age, an income, a score), not a set of groups: compared
    value by value it makes dozens of thin groups, and an intersection with it hundreds. It is
    cut into quantile bins instead (the attribute's `bins`). Boolean columns are groups. A
    column beyond `max_levels` (an identifier as often as a measurement) is left to
    `check_cardinality`, whose message covers both.
    """
    for name in groups:
        column = data[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        distinct = int(column.nunique())
        if distinct <= limit or distinct > max_levels:
            continue
        low, high = column.min(), column.max()
        label = display_label(name)
        raise AuditInputError(
            f"group column {label!r}",
            expected=f"groups: at most {limit} distinct values in a numeric column",
            found=f"{distinct:,} distinct numbers from {low:g} to {high:g}, a measurement "
            "rather than groups",
            fix=f"cut it at its quantiles into a few groups: in the spec `attributes: "
            f"[{{column: {label}, bins: 5}}]`, in `audit assess` --group-bins {label}=5; if "
            "the numbers are codes of categories, raise statistics.max_numeric_levels "
            "(--max-numeric-levels)",
        )


def _as_float(values: pd.Series) -> np.ndarray:
    """The column as float64 (NaN where not a number); a float column as it is, without the
    copy `pd.to_numeric` makes (0.2 s at 10^7 rows)."""
    if values.dtype == np.float64:
        return values.to_numpy()
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)


def encode_score(values: pd.Series) -> np.ndarray:
    arr = _as_float(values)
    # Two reductions first (NaN makes the minimum NaN, so the test fails): the mask of bad rows,
    # four passes and a copy at 10^7 rows, only for the message.
    if arr.size and arr.min() >= 0.0 and arr.max() <= 1.0:
        return arr
    bad = ~((arr >= 0.0) & (arr <= 1.0))  # also catches NaN
    if bad.any():
        raise bad_scores(values.name, int(bad.sum()), values[bad].head(3).tolist())
    return arr


def bad_scores(name: object, count: int, examples: list[object]) -> AuditInputError:
    """The error for scores that are not probabilities (also raised by the Spark engine)."""
    return AuditInputError(
        f"score column {name!r}",
        expected="probabilities in [0, 1] in every row",
        found=f"{count} value(s) outside [0, 1] or missing, e.g. {examples}",
        fix="pass calibrated probabilities (not logits or ranks), and drop rows with no score",
    )


def bad_weights(name: object, count: int, examples: list[object]) -> AuditInputError:
    """The error for weights that are not finite and non-negative (also the Spark engine's)."""
    return AuditInputError(
        f"weight column {name!r}",
        expected="finite, non-negative sample weights",
        found=f"{count} negative, infinite or missing weight(s), e.g. {examples}",
        fix="fix the weights; a row that should not count takes weight 0",
    )


def encode_weight(values: pd.Series) -> np.ndarray:
    arr = _as_float(values)
    bad = ~(arr >= 0.0) | ~np.isfinite(arr)
    if bad.any():
        raise bad_weights(values.name, int(bad.sum()), values[bad].head(3).tolist())
    if arr.sum() <= 0:
        raise AuditInputError(
            f"weight column {values.name!r}",
            expected="a positive total weight",
            found="all weights are 0",
            fix="check the weight column",
        )
    return arr


def encode_table(
    data: pd.DataFrame,
    *,
    y_true: str | None,
    y_pred: str,
    groups: Sequence[str],
    score: str | None = None,
    weight: str | None = None,
    pos_label: object | None = None,
    tally: Tally | None = None,
) -> EncodedInput:
    """Validates and codes the columns the audit needs. The caller's frame is never modified.

    Without `y_true` (decisions with no observed outcome) every row gets the outcome code 0:
    the counts keep their shape, and only metrics of the decisions alone are read from them.
    With `tally`, `data` is an aggregated table (see `Tally`).
    """
    if len(data) == 0:
        raise AuditInputError(
            "decisions table",
            expected="at least one row",
            found="an empty table",
            fix="check the file and any filter applied before the audit",
        )
    if not groups:
        raise AuditInputError(
            "group columns",
            expected="at least one sensitive attribute to compare groups by",
            found="none",
            fix="name one or more group columns (--group COL)",
        )
    if len(set(groups)) != len(groups):
        raise AuditInputError(
            "group columns",
            expected="each attribute named once",
            found=f"{list(groups)}",
            fix="remove the repeated name",
        )
    attributes = tuple(encode_attribute(column_of(data, g, "group")) for g in groups)
    decision = column_of(data, y_pred, "decision")
    if y_true is None:
        labels = {
            "y_true": np.zeros(len(data), dtype=np.uint8),
            "y_pred": encode_binary(decision, "decision", pos_label),
        }
    else:
        labels = _encode_labels(column_of(data, y_true, "outcome"), decision, pos_label)
    return EncodedInput(
        n_rows=len(data),
        **labels,
        attributes=attributes,
        score=None if score is None else encode_score(column_of(data, score, "score")),
        weight=None if weight is None else encode_weight(column_of(data, weight, "weight")),
        rows=None if tally is None else tally.multiplicity(data),
        weight_sq=None if tally is None or weight is None else tally.sums(data, tally.weight_sq),
        score_sum=None if tally is None or score is None else tally.sums(data, tally.score_sum),
    )


def _encode_labels(
    truth: pd.Series, decision: pd.Series, pos_label: object | None
) -> dict[str, np.ndarray]:
    """Outcome and decision codes; `pos_label` names the positive class of both columns.

    A label that names a 0/1 or boolean value (0, 1, True, "false") applies to every column, as
    fairlearn's `pos_label` does. Any other label (a text class such as "job") applies to the
    text column(s); a 0/1 or boolean column beside it is taken as it is. A label that names no
    value of either column is an input error.
    """
    names_code = pos_label is None or _positive_of_coded(pos_label) is not None
    if not names_code and _is_coded(truth) and _is_coded(decision):
        raise AuditInputError(
            "positive label",
            expected="a value of the outcome or decision column",
            found=f"{pos_label!r}, but both columns are coded 0/1 (or True/False)",
            fix="pass 1 (or 0) as the positive label, or leave it out",
        )
    return {
        "y_true": encode_binary(truth, "outcome", pos_label, required=names_code),
        "y_pred": encode_binary(decision, "decision", pos_label, required=names_code),
    }


def encode_arrays(
    y_true: Sequence[object] | np.ndarray | pd.Series,
    y_pred: Sequence[object] | np.ndarray | pd.Series,
    groups: pd.DataFrame | dict[str, Sequence[object]],
    *,
    score: Sequence[float] | np.ndarray | None = None,
    weight: Sequence[float] | np.ndarray | None = None,
    pos_label: object | None = None,
) -> EncodedInput:
    """Same as `encode_table` for separate arrays; lengths must agree."""
    group_frame = pd.DataFrame(groups)
    lengths = {"y_true": len(y_true), "y_pred": len(y_pred), "groups": len(group_frame)}
    if score is not None:
        lengths["score"] = len(score)
    if weight is not None:
        lengths["weight"] = len(weight)
    if len(set(lengths.values())) > 1:
        raise AuditInputError(
            "input arrays",
            expected="the same number of rows in every input",
            found=", ".join(f"{k}: {v}" for k, v in lengths.items()),
            fix="pass columns of one table, aligned row by row",
        )
    frame = group_frame.reset_index(drop=True).copy()

    def free(name: str) -> str:  # plain names read better in error messages
        return name if name not in frame.columns else f"__{name}"

    names = {role: free(role) for role in ("y_true", "y_pred", "score", "weight")}
    group_names = list(frame.columns)
    frame[names["y_true"]] = np.asarray(y_true)
    frame[names["y_pred"]] = np.asarray(y_pred)
    if score is not None:
        frame[names["score"]] = np.asarray(score)
    if weight is not None:
        frame[names["weight"]] = np.asarray(weight)
    return encode_table(
        frame,
        y_true=names["y_true"],
        y_pred=names["y_pred"],
        groups=group_names,
        score=None if score is None else names["score"],
        weight=None if weight is None else names["weight"],
        pos_label=pos_label,
    )
