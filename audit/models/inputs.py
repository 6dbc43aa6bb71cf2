"""The columns a model reads, and the one place where data are checked and typed for it.

Every model source (a pipeline trained here, a skops file, an ONNX graph, an MLflow model) states
what it reads as a tuple of :class:`InputColumn`. Checking the data against that tuple before
predicting turns a silent mis-prediction (a swapped column, a number read as a category) into an
error that names the columns, which is what an analyst importing a model from elsewhere needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from audit.errors import AuditInputError

ColumnKind = Literal["numeric", "string"]

#: Category used for a missing categorical value. A missing document or diploma is information
#: (harm H3), so it becomes its own category instead of being dropped or imputed away.
MISSING_CATEGORY = "missing"


@dataclass(frozen=True)
class InputColumn:
    """One column a model reads: its name and whether it is read as a number or a category."""

    name: str
    kind: ColumnKind


@dataclass(frozen=True)
class InputCheck:
    """What comparing a model's inputs with a data frame found; empty tuples mean all is well."""

    missing: tuple[str, ...]
    extra: tuple[str, ...]
    wrong_type: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every expected column is present with a usable type (extras are allowed)."""
        return not self.missing and not self.wrong_type


def column_kind(series: pd.Series) -> ColumnKind:
    """How a model reads a column: numbers and booleans as numbers, everything else as text."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return "numeric"
    return "string"


def infer_input_columns(df: pd.DataFrame, columns: Sequence[str]) -> tuple[InputColumn, ...]:
    """The input columns of a model trained on ``df[columns]``, typed from the data."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AuditInputError(
            "training data",
            expected=f"the feature columns {_names(columns)}",
            found=f"no column {_names(missing)}",
            fix="choose a feature set whose columns exist in the data, or add the columns",
        )
    return tuple(InputColumn(c, column_kind(df[c])) for c in columns)


def check_input_columns(expected: Sequence[InputColumn], df: pd.DataFrame) -> InputCheck:
    """Compare the columns a model reads with the columns of ``df``; never raises."""
    names = {c.name for c in expected}
    missing = tuple(c.name for c in expected if c.name not in df.columns)
    extra = tuple(str(c) for c in df.columns if c not in names)
    wrong = tuple(
        c.name
        for c in expected
        if c.name in df.columns and c.kind == "numeric" and column_kind(df[c.name]) != "numeric"
    )
    return InputCheck(missing=missing, extra=extra, wrong_type=wrong)


def require_input_columns(
    expected: Sequence[InputColumn], df: pd.DataFrame, *, model: str, strict: bool = False
) -> InputCheck:
    """Raise :class:`AuditInputError` unless ``df`` holds every column ``model`` reads.

    Extra columns are normal in an audit (outcomes, group attributes) and are ignored unless
    ``strict`` is set. A category column holding numbers is accepted (codes are read as text); a
    numeric column holding text is not, because no model can read it as intended.
    """
    check = check_input_columns(expected, df)
    problems = []
    if check.missing:
        problems.append(f"missing columns {_names(check.missing)}")
    if check.wrong_type:
        found = ", ".join(f"'{c}' ({df[c].dtype})" for c in check.wrong_type)
        problems.append(f"text where numbers are expected in {found}")
    if strict and check.extra:
        problems.append(f"extra columns {_names(check.extra)}")
    if problems:
        raise AuditInputError(
            f"data for {model}",
            expected="the columns " + ", ".join(f"'{c.name}' ({c.kind})" for c in expected),
            found="; ".join(problems),
            fix="pass data with the columns and types the model was trained on "
            "(see `audit model check SOURCE --data FILE`)",
        )
    return check


def prepare_inputs(expected: Sequence[InputColumn], df: pd.DataFrame) -> pd.DataFrame:
    """A new frame with only the expected columns, typed the way every backend reads them.

    Numbers go through float32 and back: ONNX runs in float32, so rounding here makes the
    scikit-learn, skops, MLflow and ONNX backends see exactly the same values. Categories become
    text with missing values as :data:`MISSING_CATEGORY`. The caller's frame is not modified.
    """
    return pd.DataFrame(prepare_arrays(expected, df), index=df.index)


def prepare_arrays(expected: Sequence[InputColumn], df: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of :func:`prepare_inputs` as NumPy arrays: float64 numbers, object text.

    ONNX Runtime reads these directly; going through a DataFrame would cost more than the model
    (pandas stores the text as Arrow strings and converts it back, 5 s at 10^6 rows).
    """
    out: dict[str, np.ndarray] = {}
    for col in expected:
        series = df[col.name]
        if col.kind == "numeric":
            numbers = pd.to_numeric(series, errors="raise")
            values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
            out[col.name] = values.astype(np.float32).astype(np.float64)
        elif isinstance(series.dtype, pd.CategoricalDtype):
            # Each category is turned into text once, not once per row (10x faster at 10^6).
            labels = [str(c) for c in series.cat.categories] + [MISSING_CATEGORY]
            codes = series.cat.codes.to_numpy()  # -1 (missing) picks the last label
            out[col.name] = np.asarray(labels, dtype=object)[codes]
        else:
            text = series.astype(object).where(series.notna(), MISSING_CATEGORY)
            out[col.name] = np.asarray([str(v) for v in text], dtype=object)
    return out


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)
