"""Reference models of the kind public employment services run, trained on a people table.

Two models, both scikit-learn pipelines (one-hot encoding of categories, median imputation of
numbers, a small classifier) so that they can be saved with skops, logged to MLflow and converted
to ONNX without custom code:

* a **profiling** classifier estimating the chance of the label real systems use (any job of at
  least 28 days within 6 months), with a :class:`BandPolicy` that turns the chance into support
  bands like Austria's AMS model (A: high chance, B: medium, C: low);
* a **track** recommender (regular job search, training, sheltered work, care pathway) that learns
  from past recommendations, and so inherits whatever steering they contain; that is the point
  of auditing it.

The features are a :class:`FeatureSet`, so that the same model can be trained with and without
digital traces or sensitive attributes and the two compared.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from audit.errors import AuditInputError
from audit.models.inputs import InputColumn, infer_input_columns, prepare_inputs

ModelTask = Literal["profiling", "track"]
Algorithm = Literal["logistic", "random_forest"]
FeaturePreset = Literal["full", "no_digital_traces", "no_sensitive"]
Band = Literal["high", "medium", "low"]

FEATURE_PRESETS: tuple[str, ...] = get_args(FeaturePreset)
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
PROFILING_TARGET = "job_28d_6m"
TRACK_TARGET = "recommended_track"
#: Equal to ``audit.data.schema.TRACKS``; repeated so models work without the generator.
TRACKS: tuple[str, ...] = ("regular", "training", "sheltered", "care")
MIN_TRAINING_ROWS = 50
#: Sensitive facts services keep on file and real profiling models have used as features.
RECORDED_SENSITIVE: tuple[str, ...] = ("mental_health_history", "housing_status")


@dataclass(frozen=True)
class FeatureCatalogue:
    """The groups of columns a feature preset is built from.

    ``observed`` are the columns a service's model may read; ``recorded`` adds sensitive facts a
    service keeps on file and real models have used (AMS weights health impairment, Australia's
    JSCI scores homelessness). ``sensitive`` and ``digital_traces`` say what the ``no_sensitive``
    and ``no_digital_traces`` presets remove. The synthetic population's schema provides them
    (:meth:`from_schema`); real data files pass their own.
    """

    observed: tuple[str, ...]
    digital_traces: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    recorded: tuple[str, ...] = ()

    @classmethod
    def from_schema(cls) -> FeatureCatalogue:
        """The catalogue of the synthetic population (``audit.data.schema``).

        Digital literacy itself is not recorded by any service: it reaches a model only through
        the digital traces (harm H4), so it is not among the ``recorded`` columns.
        """
        try:
            schema = importlib.import_module("audit.data.schema")
        except ImportError as err:  # the generator is a separate part of the package
            raise AuditInputError(
                "feature presets",
                expected="the population schema module audit.data.schema",
                found=f"it cannot be imported ({err})",
                fix="pass a FeatureCatalogue naming the feature columns of your data",
            ) from err
        return cls(
            observed=tuple(schema.OBSERVED_FEATURES),
            digital_traces=tuple(schema.DIGITAL_TRACE_FEATURES),
            documents=tuple(schema.DOCUMENT_FEATURES),
            sensitive=tuple(schema.SENSITIVE_ATTRIBUTES),
            recorded=tuple(c for c in RECORDED_SENSITIVE if c in set(schema.SENSITIVE_ATTRIBUTES)),
        )


@dataclass(frozen=True)
class FeatureSet:
    """A named list of the columns a model may read.

    >>> cat = FeatureCatalogue(observed=("age", "gender"), digital_traces=("logins",),
    ...                        sensitive=("gender",))
    >>> FeatureSet.preset("no_digital_traces", cat).columns
    ('age', 'gender')
    >>> FeatureSet.preset("no_sensitive", cat).columns
    ('age', 'logins')
    """

    name: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.columns:
            raise AuditInputError(
                f"feature set '{self.name}'",
                expected="at least one column",
                found="none",
                fix="name the columns the model may read",
            )

    @classmethod
    def preset(cls, name: str, catalogue: FeatureCatalogue | None = None) -> FeatureSet:
        """``full`` (observed features, digital traces, documents and recorded sensitive facts),
        ``no_digital_traces`` (without the traces) or ``no_sensitive`` (without any sensitive
        attribute, so also without gender, age band, origin, region and education)."""
        if name not in FEATURE_PRESETS:
            raise AuditInputError(
                "feature set",
                expected="one of " + ", ".join(FEATURE_PRESETS),
                found=repr(name),
                fix="use --features full, no_digital_traces or no_sensitive",
            )
        cat = catalogue if catalogue is not None else FeatureCatalogue.from_schema()
        full = tuple(
            dict.fromkeys((*cat.observed, *cat.digital_traces, *cat.documents, *cat.recorded))
        )
        dropped = {
            "full": set(),
            "no_digital_traces": set(cat.digital_traces),
            "no_sensitive": set(cat.sensitive),
        }[name]
        return cls(name=name, columns=tuple(c for c in full if c not in dropped))


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline and what is needed to use, save and describe it."""

    pipeline: Pipeline
    task: ModelTask
    algorithm: Algorithm
    features: FeatureSet
    inputs: tuple[InputColumn, ...]
    target: str
    classes: tuple[str, ...]
    seed: int
    n_train: int
    holdout: dict[str, float] = field(default_factory=dict)
    example: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns of ``df``, typed as at training time."""
        return prepare_inputs(self.inputs, df)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes`."""
        return np.asarray(self.pipeline.predict_proba(self.prepare(df)), dtype=np.float64)

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predicted class labels."""
        return np.asarray(self.pipeline.predict(self.prepare(df)))

    def describe(self) -> dict[str, object]:
        """Plain facts about the training run, for a model card or an MLflow run."""
        return {
            "task": self.task,
            "algorithm": self.algorithm,
            "features": self.features.name,
            "n_features": len(self.inputs),
            "target": self.target,
            "classes": list(self.classes),
            "seed": self.seed,
            "n_train": self.n_train,
            **{f"holdout_{k}": round(v, 4) for k, v in self.holdout.items()},
        }


def train_profiling_model(
    people: pd.DataFrame,
    *,
    features: FeatureSet,
    algorithm: Algorithm = "logistic",
    target: str = PROFILING_TARGET,
    seed: int = 0,
) -> TrainedModel:
    """Train a classifier of the chance of ``target`` (1 = found work), like AMS or VDAB.

    Logistic regression is the AMS choice; ``random_forest`` is VDAB's. A fifth of the rows is
    held out to report the AUC; the model is fitted on the rest.
    """
    y = _binary_target(people, target)
    return _train(
        people,
        y,
        task="profiling",
        features=features,
        algorithm=algorithm,
        target=target,
        seed=seed,
    )


def train_track_model(
    people: pd.DataFrame,
    *,
    features: FeatureSet,
    algorithm: Algorithm = "logistic",
    target: str = TRACK_TARGET,
    seed: int = 0,
) -> TrainedModel:
    """Train a recommender of the support track from past recommendations (``target``).

    Trained on ``recommended_track`` it reproduces the service's practice, steering included;
    trained on ``warranted_track`` it is the model a service would have with perfect labels.
    """
    y = _track_target(people, target)
    return _train(
        people, y, task="track", features=features, algorithm=algorithm, target=target, seed=seed
    )


@dataclass(frozen=True)
class BandAllocation:
    """Bands and the binary support decision for each person (1 = gets intensive support)."""

    band: np.ndarray
    decision: np.ndarray


@dataclass(frozen=True)
class BandPolicy:
    """Thresholds that turn a predicted chance of work into support bands.

    As in the AMS model: chance ``>= high`` is band *high* (A, little support), chance ``< low`` is
    band *low* (C, referred to other, cheaper support), the rest is *medium* (B). The people in
    ``supported_bands`` get intensive support; that is the binary decision an audit examines.
    Being put wrongly in either outer band is a harm, so audits report errors at both thresholds.

    >>> BandPolicy().allocate(np.array([0.1, 0.5, 0.66])).band.tolist()
    ['low', 'medium', 'high']
    """

    high: float = 0.66
    low: float = 0.25
    supported_bands: tuple[Band, ...] = ("medium",)

    def __post_init__(self) -> None:
        if not 0.0 <= self.low < self.high <= 1.0:
            raise AuditInputError(
                "band policy",
                expected="0 <= low < high <= 1",
                found=f"low={self.low}, high={self.high}",
                fix="choose a low threshold below the high threshold, both between 0 and 1",
            )
        unknown = [b for b in self.supported_bands if b not in get_args(Band)]
        if unknown:
            raise AuditInputError(
                "band policy",
                expected="supported bands among high, medium, low",
                found=", ".join(map(str, unknown)),
                fix="name the bands that get intensive support",
            )

    def allocate(self, scores: Sequence[float] | np.ndarray) -> BandAllocation:
        """Band and decision for each score."""
        s = np.asarray(scores, dtype=np.float64)
        if s.size and (np.isnan(s).any() or s.min() < 0.0 or s.max() > 1.0):
            raise AuditInputError(
                "scores",
                expected="probabilities between 0 and 1 without gaps",
                found=f"{int(np.isnan(s).sum())} missing, range [{np.nanmin(s)}, {np.nanmax(s)}]",
                fix="pass the predicted chance of work, not a logit or a rank",
            )
        band = np.where(s >= self.high, "high", np.where(s < self.low, "low", "medium"))
        decision = np.isin(band, self.supported_bands).astype(np.int8)
        return BandAllocation(band=band, decision=decision)


def allocate_support(
    scores: Sequence[float] | np.ndarray, policy: BandPolicy | None = None
) -> BandAllocation:
    """Band and binary support decision for each score under ``policy`` (AMS thresholds)."""
    return (policy or BandPolicy()).allocate(scores)


def build_pipeline(inputs: Sequence[InputColumn], *, algorithm: Algorithm, seed: int) -> Pipeline:
    """An unfitted pipeline: imputation and scaling of numbers, one-hot of categories.

    Only steps skl2onnx converts and skops knows are used, and the forest is kept small, so the
    artefacts stay a few hundred kilobytes and load without trusting custom code.
    """
    numeric = [c.name for c in inputs if c.kind == "numeric"]
    categorical = [c.name for c in inputs if c.kind == "string"]
    parts: list[tuple[str, object, list[str]]] = []
    if numeric:
        num_steps: list[tuple[str, object]] = [("impute", SimpleImputer(strategy="median"))]
        if algorithm == "logistic":
            num_steps.append(("scale", StandardScaler()))
        parts.append(("numeric", Pipeline(num_steps), numeric))
    if categorical:
        parts.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
    classifier: LogisticRegression | RandomForestClassifier
    if algorithm == "logistic":
        # Newton-Cholesky: a few exact steps; lbfgs needs 10-50 times longer on one-hot data.
        classifier = LogisticRegression(solver="newton-cholesky", max_iter=200, C=1.0)
    elif algorithm == "random_forest":
        classifier = RandomForestClassifier(
            n_estimators=30, max_depth=6, min_samples_leaf=20, random_state=seed, n_jobs=1
        )
    else:
        raise AuditInputError(
            "algorithm",
            expected="one of " + ", ".join(ALGORITHMS),
            found=repr(algorithm),
            fix="use logistic or random_forest",
        )
    return Pipeline([("prepare", ColumnTransformer(parts)), ("classifier", classifier)])


def _train(
    people: pd.DataFrame,
    y: np.ndarray,
    *,
    task: ModelTask,
    features: FeatureSet,
    algorithm: Algorithm,
    target: str,
    seed: int,
) -> TrainedModel:
    if target in features.columns:
        raise AuditInputError(
            f"feature set '{features.name}'",
            expected=f"features that do not include the target '{target}'",
            found=f"'{target}' among the features",
            fix="remove the target from the feature columns",
        )
    inputs = infer_input_columns(people, features.columns)
    x = prepare_inputs(inputs, people)
    if len(x) < MIN_TRAINING_ROWS:
        raise AuditInputError(
            "training data",
            expected=f"at least {MIN_TRAINING_ROWS} rows",
            found=f"{len(x)} rows",
            fix="generate or load a larger population",
        )
    x_fit, x_hold, y_fit, y_hold = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    pipeline = build_pipeline(inputs, algorithm=algorithm, seed=seed).fit(x_fit, y_fit)
    proba = pipeline.predict_proba(x_hold)
    if task == "profiling":
        holdout = {"auc": float(roc_auc_score(y_hold, proba[:, 1]))}
    else:
        pred = pipeline.classes_[np.argmax(proba, axis=1)]
        holdout = {"balanced_accuracy": float(balanced_accuracy_score(y_hold, pred))}
    return TrainedModel(
        pipeline=pipeline,
        task=task,
        algorithm=algorithm,
        features=features,
        inputs=inputs,
        target=target,
        classes=tuple(str(c) for c in pipeline.classes_),
        seed=seed,
        n_train=len(x_fit),
        holdout=holdout,
        example=archetype_rows(x, inputs),
    )


def archetype_rows(x: pd.DataFrame, inputs: Sequence[InputColumn], n: int = 3) -> pd.DataFrame:
    """Example rows that describe no real person: medians and the most frequent categories.

    MLflow stores the input example next to the model, where access is wider than to the data.
    Copying real rows would leak special-category data (mental-health history), so the example is
    built from column summaries instead; only its types matter for the signature.
    """
    row: dict[str, object] = {}
    for col in inputs:
        s = x[col.name]
        if col.kind == "string":
            row[col.name] = str(s.mode(dropna=True).iloc[0]) if s.notna().any() else "missing"
        else:
            row[col.name] = float(np.nanmedian(s.to_numpy(dtype=np.float64)))
    return prepare_inputs(inputs, pd.DataFrame([row] * n))


def _binary_target(people: pd.DataFrame, target: str) -> np.ndarray:
    series = _target_column(people, target)
    values = set(pd.unique(series.dropna()).tolist())
    if series.isna().any() or not values <= {0, 1} or len(values) < 2:
        raise AuditInputError(
            f"target column '{target}'",
            expected="both outcomes 0 and 1 and no missing values",
            found=f"{int(series.isna().sum())} missing; values {sorted(map(str, values))}",
            fix="pass a binary outcome such as job_28d_6m",
        )
    return series.astype(int).to_numpy()


def _track_target(people: pd.DataFrame, target: str) -> np.ndarray:
    series = _target_column(people, target)
    values = set(series.dropna().astype(str).unique().tolist())
    unknown = sorted(values - set(TRACKS))
    if series.isna().any() or unknown or len(values) < 2:
        raise AuditInputError(
            f"target column '{target}'",
            expected="at least two of the tracks " + ", ".join(TRACKS) + " and no missing values",
            found=f"{int(series.isna().sum())} missing; values {sorted(values)}",
            fix="pass a track column such as recommended_track or warranted_track",
        )
    return series.astype(str).to_numpy(dtype=object)


def _target_column(people: pd.DataFrame, target: str) -> pd.Series:
    if target not in people.columns:
        raise AuditInputError(
            "training data",
            expected=f"a target column '{target}'",
            found="columns " + ", ".join(map(str, people.columns[:12])),
            fix="name the outcome column with --target",
        )
    return people[target]
