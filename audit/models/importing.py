"""One interface for every model an audit can examine, wherever it came from.

``load_model`` takes an MLflow URI (``runs:/…``, ``models:/name/1``, ``models:/name@alias``), a
``.skops`` file, an ``.onnx`` file, or a decisions file (CSV/Parquet of decisions and scores made
elsewhere, for when the service shares outputs but not the model). Everything downstream sees an
:class:`AuditableModel`: what it reads, who it is (for the run manifest), and its predictions, and
never needs to know which of the four it was.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from audit.errors import AuditInputError
from audit.models.inputs import (
    InputCheck,
    InputColumn,
    check_input_columns,
    column_kind,
    prepare_inputs,
    require_input_columns,
)
from audit.models.skops_io import TRUSTED_TYPES, load_skops, skops_content_sha256
from audit.tables import read_table

SourceKind = Literal["mlflow", "skops", "onnx", "decisions"]
Task = Literal["profiling", "track"]

MODEL_SUFFIXES = (".skops", ".onnx")
DECISION_SUFFIXES = (".csv", ".parquet", ".pq")
_ACCEPTED = (
    "an MLflow URI (runs:/RUN/model, models:/NAME/VERSION, models:/NAME@ALIAS), "
    "a .skops file, an .onnx file, or a decisions file (.csv, .parquet)"
)


@dataclass(frozen=True)
class ModelIdentity:
    """What the run manifest records about the audited model."""

    kind: SourceKind
    uri: str
    sha256: str  # of the model's content: canonical for skops (`skops_content_sha256`)
    name: str | None = None
    version: str | None = None
    run_id: str | None = None
    file_sha256: str | None = None  # of the file's bytes, where there is a file

    def as_dict(self) -> dict[str, str | None]:
        """Plain dictionary for JSON results and MLflow tags."""
        return asdict(self)


@runtime_checkable
class AuditableModel(Protocol):
    """What an audit needs from a model, whatever its source."""

    @property
    def kind(self) -> SourceKind:
        """Where the model came from: mlflow, skops, onnx or decisions."""
        ...

    @property
    def identity(self) -> ModelIdentity:
        """URI, version and content hash, for the run manifest."""
        ...

    @property
    def expected_columns(self) -> tuple[InputColumn, ...]:
        """The columns the model reads from the data."""
        ...

    @property
    def classes(self) -> tuple[str, ...]:
        """Class labels, in the column order of :meth:`predict_proba`."""
        ...

    @property
    def task(self) -> Task:
        """``profiling`` for a two-class chance of work, ``track`` for a support track."""
        ...

    def check(self, df: pd.DataFrame) -> InputCheck:
        """Compare the expected columns with ``df`` without raising."""
        ...

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one row per row of ``df`` (raises on unusable input)."""
        ...

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Labels: 0/1 integers for profiling, track names for a track recommender."""
        ...


def load_model(
    source: str | Path,
    *,
    tracking_uri: str | None = None,
    trusted_types: tuple[str, ...] = TRUSTED_TYPES,
    decision_column: str | None = None,
    score_column: str | None = None,
    track_column: str | None = None,
    id_column: str | None = None,
) -> AuditableModel:
    """Open a model (or a file of its decisions) for audit.

    The ``*_column`` options apply to decisions files only and name the caller's columns; with
    ``id_column`` decisions are matched to the audited rows by id, otherwise by position.
    """
    text = str(source)
    if text.startswith(("runs:/", "models:/")):
        return _from_mlflow(text, tracking_uri=tracking_uri, trusted_types=trusted_types)
    path = Path(source)
    if path.is_dir() and (path / "MLmodel").is_file():
        return _from_mlflow(str(path), tracking_uri=tracking_uri, trusted_types=trusted_types)
    if path.is_dir():
        raise AuditInputError(
            f"model source '{text}'",
            expected=_ACCEPTED,
            found="a directory that is not an MLflow model (it has no MLmodel file)",
            fix="give the model file inside it, or the folder an MLflow model was saved to",
        )
    suffix = path.suffix.lower()
    if suffix not in (*MODEL_SUFFIXES, *DECISION_SUFFIXES):
        raise AuditInputError(
            f"model source '{text}'",
            expected=_ACCEPTED,
            found=f"the extension '{suffix or '(none)'}'",
            fix="rename the file to the format it holds, or export the model as skops or ONNX",
        )
    if not path.is_file():
        raise AuditInputError(
            f"model source '{text}'",
            expected="an existing file",
            found="no such file",
            fix="check the path (relative paths start from the current directory)",
        )
    if suffix == ".skops":
        return PipelineModel.from_skops(path, trusted_types=trusted_types)
    if suffix == ".onnx":
        return OnnxModel(path, uri=str(path), kind="onnx")
    return DecisionsModel(
        path,
        decision_column=decision_column,
        score_column=score_column,
        track_column=track_column,
        id_column=id_column,
    )


class _BaseModel:
    """Shared behaviour: input checks, labels from probabilities."""

    _inputs: tuple[InputColumn, ...]
    _classes: tuple[str, ...]
    _identity: ModelIdentity

    @property
    def kind(self) -> SourceKind:
        return self._identity.kind

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    @property
    def expected_columns(self) -> tuple[InputColumn, ...]:
        return self._inputs

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    @property
    def task(self) -> Task:
        return "profiling" if len(self._classes) == 2 else "track"

    def check(self, df: pd.DataFrame) -> InputCheck:
        return check_input_columns(self._inputs, df)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        # Labels from the probabilities, so every backend breaks ties the same way.
        proba = self.predict_proba(df)
        labels = np.asarray(self._classes, dtype=object)[np.argmax(proba, axis=1)]
        if self.task == "profiling" and set(self._classes) == {"0", "1"}:
            return labels.astype(np.int64)
        return labels.astype(str)

    def _describe(self) -> str:
        return f"{self._identity.kind} model '{self._identity.uri}'"


class PipelineModel(_BaseModel):
    """A scikit-learn pipeline loaded from a skops file or an MLflow sklearn model."""

    def __init__(
        self,
        pipeline: Any,
        identity: ModelIdentity,
        inputs: tuple[InputColumn, ...] | None = None,
    ) -> None:
        if not hasattr(pipeline, "predict_proba") or not hasattr(pipeline, "classes_"):
            raise AuditInputError(
                f"model '{identity.uri}'",
                expected="a fitted classifier with predict_proba",
                found=f"an object of type {type(pipeline).__name__}",
                fix="export the fitted classifier or pipeline, not a transformer or a regressor",
            )
        self.pipeline = pipeline
        self._identity = identity
        self._inputs = inputs if inputs is not None else pipeline_inputs(pipeline, identity.uri)
        self._classes = tuple(str(c) for c in pipeline.classes_)

    @classmethod
    def from_skops(
        cls, path: Path, *, trusted_types: tuple[str, ...] = TRUSTED_TYPES
    ) -> PipelineModel:
        if not zipfile.is_zipfile(path):
            raise AuditInputError(
                f"model file '{path}'",
                expected="a skops file (a zip archive)",
                found="a file that is not a zip archive",
                fix="check that the file is a skops export and not another format renamed .skops",
            )
        pipeline = load_skops(path, trusted_types)
        identity = ModelIdentity(
            kind="skops",
            uri=str(path),
            sha256=skops_content_sha256(path),
            file_sha256=file_sha256(path),
        )
        return cls(pipeline, identity)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        require_input_columns(self._inputs, df, model=self._describe())
        x = prepare_inputs(self._inputs, df)
        return np.asarray(self.pipeline.predict_proba(x), dtype=np.float64)


class OnnxModel(_BaseModel):
    """An ONNX classifier run with onnxruntime."""

    def __init__(
        self,
        path: Path,
        *,
        uri: str,
        kind: SourceKind,
        name: str | None = None,
        version: str | None = None,
        run_id: str | None = None,
    ) -> None:
        from audit.models.onnx_io import OnnxClassifier

        self.runner = OnnxClassifier(path)
        self._identity = ModelIdentity(
            kind=kind, uri=uri, sha256=file_sha256(path), name=name, version=version, run_id=run_id
        )
        self._inputs = self.runner.inputs
        n_out = self.runner.classes or ("0", "1")
        self._classes = tuple(n_out)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        _, proba = self.runner.run(df, labels=False)
        if proba is None:
            raise AuditInputError(
                self._describe(),
                expected="a probability output",
                found="only a label output",
                fix="convert the classifier with its probabilities (skl2onnx does by default)",
            )
        return proba


class DecisionsModel(_BaseModel):
    """Decisions, scores or tracks produced elsewhere, read from a CSV or Parquet file.

    No model is run: the rows of the file are matched to the audited rows (by ``id_column`` or
    by position) and returned as if predicted, so the rest of the audit works unchanged.
    """

    def __init__(
        self,
        path: Path,
        *,
        decision_column: str | None,
        score_column: str | None,
        track_column: str | None,
        id_column: str | None,
    ) -> None:
        self.path = path
        named = {"decision": decision_column, "score": score_column, "track": track_column}
        if not any(named.values()):
            raise AuditInputError(
                f"decisions file '{path}'",
                expected="the name of at least one of its decision, score or track columns",
                found="none given",
                fix="pass --decision-column, --score-column or --track-column",
            )
        table = read_table(path, subject=f"decisions file '{path}'")
        wanted = [c for c in (*named.values(), id_column) if c]
        absent = [c for c in wanted if c not in table.columns]
        if absent:
            raise AuditInputError(
                f"decisions file '{path}'",
                expected="the columns " + ", ".join(f"'{c}'" for c in wanted),
                found="no column "
                + ", ".join(f"'{c}'" for c in absent)
                + "; it has "
                + ", ".join(f"'{c}'" for c in table.columns[:15]),
                fix="name the columns as they appear in the file",
            )
        self.table = table
        self.decision_column = decision_column
        self.score_column = score_column
        self.track_column = track_column
        self.id_column = id_column
        self._validate_values()
        self._identity = ModelIdentity(kind="decisions", uri=str(path), sha256=file_sha256(path))
        self._inputs = (InputColumn(id_column, column_kind(table[id_column])),) if id_column else ()
        # The tracks are the file's own labels, whatever they are called (sorted, so that the
        # order never depends on the rows); a track column makes the decision multiclass.
        self._classes = (
            tuple(sorted(table[track_column].astype(str).unique())) if track_column else ("0", "1")
        )

    @property
    def task(self) -> Task:
        return "track" if self.track_column else "profiling"

    def _validate_values(self) -> None:
        t = self.table
        if self.decision_column:
            t[self.decision_column] = self._decisions(t[self.decision_column])
        if self.score_column:
            s = pd.to_numeric(t[self.score_column], errors="coerce")
            if s.isna().any() or (s < 0).any() or (s > 1).any():
                self._bad(
                    self.score_column,
                    "scores between 0 and 1 in every row",
                    [
                        f"{int(s.isna().sum())} missing or non-numeric",
                        f"range [{s.min()}, {s.max()}]",
                    ],
                )
        if self.track_column:
            tracks = t[self.track_column]
            if tracks.isna().any():
                self._bad(
                    self.track_column,
                    "a recommended track in every row",
                    [f"{int(tracks.isna().sum())} missing values"],
                )
            if tracks.astype(str).nunique() < 2:
                self._bad(
                    self.track_column,
                    "at least two different tracks",
                    [f"the single track '{tracks.astype(str).iloc[0]}'"],
                )
        if self.id_column and t[self.id_column].duplicated().any():
            self._bad(
                self.id_column,
                "one row per person",
                [f"{int(t[self.id_column].duplicated().sum())} repeated ids"],
            )

    def _decisions(self, column: pd.Series) -> np.ndarray:
        """The decision column as 0/1 codes: 0/1, booleans, or their text ("true", "0").

        A column of scores (numbers strictly between 0 and 1) is not a decision: deciding on
        it takes a threshold, which the spec must state rather than have us guess.
        """
        from audit.stats.encoding import encode_binary, is_probability

        values = column.to_numpy()
        if column.notna().all() and is_probability(values):
            raise AuditInputError(
                f"column '{column.name}' of decisions file '{self.path}'",
                expected="decisions coded 0/1 or True/False",
                found=f"scores: {column.nunique()} distinct values between {values.min():g} "
                f"and {values.max():g}",
                fix=f"decide on the score with a threshold: in the spec, model.decisions: "
                f"{{score_column: {column.name}}} (instead of decision_column) and decision: "
                "{threshold: 0.5}",
            )
        try:
            return encode_binary(column, "decision").astype(np.int64)
        except AuditInputError as err:
            raise AuditInputError(
                f"column '{column.name}' of decisions file '{self.path}'",
                expected="decisions coded 0/1 or True/False",
                found=err.found,
                fix="recode the column to 0/1 (or true/false), or name another column",
            ) from None

    def _bad(self, column: str, expected: str, found: Sequence[str]) -> None:
        raise AuditInputError(
            f"column '{column}' of decisions file '{self.path}'",
            expected=expected,
            found=", ".join(found),
            fix="correct the file or name another column",
        )

    def rows_for(self, df: pd.DataFrame) -> pd.DataFrame:
        """The rows of the decisions file that belong to the rows of ``df``, in its order."""
        if self.id_column is None:
            if len(df) != len(self.table):
                raise AuditInputError(
                    f"decisions file '{self.path}'",
                    expected=f"one row per audited row ({len(df)})",
                    found=f"{len(self.table)} rows",
                    fix="pass --id-column to match rows by id",
                )
            return self.table.reset_index(drop=True)
        require_input_columns(self._inputs, df, model=f"decisions file '{self.path.name}'")
        indexed = self.table.set_index(self.id_column)
        keys = df[self.id_column]
        unmatched = keys[~keys.isin(indexed.index)]
        if len(unmatched):
            raise AuditInputError(
                f"decisions file '{self.path}'",
                expected=f"a row for every '{self.id_column}' in the data",
                found=f"{len(unmatched)} ids without a decision, e.g. "
                + ", ".join(map(str, unmatched.head(3).tolist())),
                fix="audit only the people the decisions cover, or complete the file",
            )
        return indexed.loc[keys.to_numpy()].reset_index()

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        if self.score_column is None:
            raise AuditInputError(
                f"decisions file '{self.path}'",
                expected="a score column for probability-based metrics",
                found="no score column named",
                fix="pass --score-column, or audit the decisions only",
            )
        s = self.rows_for(df)[self.score_column].to_numpy(dtype=np.float64)
        return np.column_stack([1.0 - s, s])

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        rows = self.rows_for(df)
        if self.track_column:
            return rows[self.track_column].astype(str).to_numpy()
        if self.decision_column:
            return rows[self.decision_column].astype(np.int64).to_numpy()
        raise AuditInputError(
            f"decisions file '{self.path}'",
            expected="a decision column",
            found="only scores",
            fix="pass --decision-column, or turn scores into decisions with a BandPolicy",
        )


def pipeline_inputs(pipeline: Any, uri: str) -> tuple[InputColumn, ...]:
    """The columns a fitted pipeline reads, typed by what its first ColumnTransformer does."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    first = pipeline.steps[0][1] if isinstance(pipeline, Pipeline) else pipeline
    names = getattr(pipeline, "feature_names_in_", None)
    if isinstance(first, ColumnTransformer):
        kinds: dict[str, str] = {}
        for _, transformer, columns in first.transformers_:
            if isinstance(transformer, str) and transformer == "drop":
                continue
            steps = transformer.steps if isinstance(transformer, Pipeline) else [("", transformer)]
            encodes = any(isinstance(s, OneHotEncoder | OrdinalEncoder) for _, s in steps)
            for col in columns:
                kinds[str(col)] = "string" if encodes else "numeric"
        order = [str(c) for c in (names if names is not None else kinds)]
        return tuple(
            InputColumn(c, "string" if kinds.get(c) == "string" else "numeric") for c in order
        )
    if names is not None:
        return tuple(InputColumn(str(c), "numeric") for c in names)
    raise AuditInputError(
        f"model '{uri}'",
        expected="a pipeline fitted on a data frame (so it knows its column names)",
        found="a model fitted on a bare array",
        fix="fit the pipeline on a pandas DataFrame before exporting it",
    )


def _from_mlflow(
    uri: str, *, tracking_uri: str | None, trusted_types: tuple[str, ...]
) -> AuditableModel:
    from audit.models.mlflow_io import fetch_mlflow_model

    artifact = fetch_mlflow_model(uri, tracking_uri=tracking_uri)
    if artifact.flavor == "onnx":
        return OnnxModel(
            artifact.model_file,
            uri=uri,
            kind="mlflow",
            name=artifact.name,
            version=artifact.version,
            run_id=artifact.run_id,
        )
    pipeline = load_skops(artifact.model_file, trusted_types)
    identity = ModelIdentity(
        kind="mlflow",
        uri=uri,
        sha256=skops_content_sha256(artifact.model_file),
        name=artifact.name,
        version=artifact.version,
        run_id=artifact.run_id,
        file_sha256=file_sha256(artifact.model_file),
    )
    inputs = _schema_inputs(artifact.input_schema) if artifact.input_schema else None
    return PipelineModel(pipeline, identity, inputs)


def _schema_inputs(schema: list[dict[str, Any]]) -> tuple[InputColumn, ...] | None:
    if any("name" not in col for col in schema):
        return None  # tensor signature: fall back to the pipeline's own column names
    return tuple(
        InputColumn(str(c["name"]), "string" if c.get("type") == "string" else "numeric")
        for c in schema
    )


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
