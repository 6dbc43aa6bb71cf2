"""MLflow evaluator plugin: the fairness audit as a step of ``mlflow.models.evaluate``.

Installing the package registers :class:`FairnessEvaluator` under the name
``employment_fairness`` (entry point group ``mlflow.model_evaluator``). It runs
:func:`audit.stats.assess.assess` on the model's decisions, grouped by sensitive attributes that
travel with the evaluation data, logs every figure under its stable name
(:func:`audit.tracking.naming.flatten_metrics`) into the evaluation run, and logs the whole
assessment as ``fairness/assessment.json``, with ``fairness/metric_keys.json`` mapping every key
to its record. Only aggregates are logged, never a row, and none that describes fewer than
``min_cell_size`` people (:func:`audit.disclosure.suppress`).

>>> import mlflow                                                      # doctest: +SKIP
>>> with mlflow.start_run():                                           # doctest: +SKIP
...     result = mlflow.models.evaluate(
...         "models:/profiling@champion",
...         people,  # features, the outcome, and the sensitive columns
...         targets="job_28d_6m",
...         model_type="classifier",
...         evaluators=["employment_fairness"],
...         evaluator_config={"employment_fairness": {
...             "sensitive_attributes": ["mental_health_history", "housing_status"],
...             "reference": {"housing_status": "stable"},
...             "n_boot": 1000,
...         }},
...     )
>>> result.metrics["tpr.difference.p_adjusted/housing_status.homeless"]   # doctest: +SKIP
>>> result.artifacts["fairness_assessment"].content.disparities          # doctest: +SKIP

The sensitive columns need not be model inputs: when the model has an input schema it is given
only the columns the schema names (categories as text and booleans or integers as numbers where
the schema asks for them), while the groups come from the full evaluation data. Without a model
(``model=None, predictions="decision"``) the decisions are read from the data. With
``threshold``, the model output (or the predictions column) is read as the probability of the
positive class: the decision is ``score >= threshold`` and the score feeds the AUC and
calibration figures; a two-column probability output uses its second column.

Configuration keys (unknown keys are refused): ``sensitive_attributes`` (required),
``reference``, ``intersections``, ``n_boot``, ``seed``, ``alpha``, ``correction``,
``min_group_size``, ``min_cell_size``, ``max_levels``, ``threshold``, ``pos_label``; see
:class:`FairnessConfig`.
"""

from __future__ import annotations

import difflib
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.models.evaluation import EvaluationResult, ModelEvaluator
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact
from mlflow.tracking.artifact_utils import get_artifact_uri
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.metrics.significance import Correction
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.tracking.naming import KEY_FILE, flatten_metrics, metric_key_document

EVALUATOR_NAME = "employment_fairness"
ARTIFACT_DIR = "fairness"
ARTIFACT_FILE = "assessment.json"
ARTIFACT_NAME = "fairness_assessment"
#: MLflow refuses a batch of more than 1000 metrics.
METRICS_PER_BATCH = 1000

_CONFIG_HINT = f'evaluator_config={{"{EVALUATOR_NAME}": {{"sensitive_attributes": [...], ...}}}}'


class FairnessConfig(BaseModel):
    """The ``evaluator_config`` of the ``employment_fairness`` evaluator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitive_attributes: list[str] = Field(min_length=1)
    reference: dict[str, str | bool | int | float] | None = None
    intersections: int = Field(default=1, ge=1)
    n_boot: int = Field(default=1000, ge=0)
    seed: int = Field(default=0, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    correction: Correction = "holm"
    min_group_size: int = Field(default=30, ge=1)
    min_cell_size: int = Field(default=10, ge=1)
    max_levels: int = Field(default=50, ge=2)
    threshold: float | None = Field(default=None, ge=0, le=1)
    pos_label: str | bool | int | None = None


#: What each key takes, in the words of an error message.
_EXPECTED = {
    "sensitive_attributes": "a non-empty list of column names of the evaluation data",
    "reference": "a mapping from a sensitive attribute to its reference level",
    "intersections": "an integer order of attribute combinations (1 = each attribute alone, "
    "2 adds every pair)",
    "n_boot": "an integer number of bootstrap replicates >= 0",
    "seed": "an integer seed >= 0",
    "alpha": "a significance level between 0 and 0.5",
    "correction": "one of 'holm', 'bh', 'none'",
    "min_group_size": "an integer >= 1",
    "min_cell_size": "an integer >= 1: no logged figure describes fewer people",
    "max_levels": "an integer >= 2: the most groups one sensitive attribute may have",
    "threshold": "a probability in [0, 1], or None when the model outputs decisions",
    "pos_label": "the label value that counts as the positive outcome",
}


def parse_config(config: Mapping[str, Any] | None) -> FairnessConfig:
    """Validates an ``evaluator_config``; a problem becomes one `AuditInputError` naming the key."""
    if not isinstance(config, Mapping):
        raise AuditInputError(
            "evaluator_config",
            expected="a dict of options",
            found=type(config).__name__,
            fix=f"pass {_CONFIG_HINT}",
        )
    try:
        parsed = FairnessConfig.model_validate(dict(config))
    except ValidationError as err:
        raise _config_error(err, config) from None
    groups = parsed.sensitive_attributes
    if len(set(groups)) != len(groups):
        raise _bad_key(
            "sensitive_attributes", "distinct column names", repr(groups), "name each column once"
        )
    if parsed.intersections > len(groups):
        raise _bad_key(
            "intersections",
            f"an order from 1 to the number of sensitive attributes ({len(groups)})",
            repr(parsed.intersections),
            "lower intersections or add sensitive attributes",
        )
    unknown = sorted(set(parsed.reference or {}) - set(groups))
    if unknown:
        raise _bad_key(
            "reference",
            f"reference levels for the sensitive attributes {groups}",
            f"references for {unknown}",
            "name only attributes listed in sensitive_attributes",
        )
    return parsed


def _bad_key(key: str, expected: str, found: str, fix: str) -> AuditInputError:
    return AuditInputError(f"evaluator_config key '{key}'", expected=expected, found=found, fix=fix)


def _config_error(err: ValidationError, config: Mapping[str, Any]) -> AuditInputError:
    first = err.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else "?"
    known = list(FairnessConfig.model_fields)
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return _bad_key(
            key,
            "one of the keys " + ", ".join(known),
            "an unknown key",
            f"{hint}remove '{key}' or correct its spelling",
        )
    if first["type"] == "missing":
        return _bad_key(
            key,
            _EXPECTED.get(key, "a value"),
            "no such key",
            f"add it: {_CONFIG_HINT}",
        )
    value = config.get(key)
    return _bad_key(
        key,
        _EXPECTED.get(key, first["msg"].lower()),
        f"{value!r} ({type(value).__name__}): {first['msg'].lower()}",
        f"correct '{key}' in evaluator_config[\"{EVALUATOR_NAME}\"]",
    )


class AssessmentArtifact(JsonEvaluationArtifact):
    """The logged ``fairness/assessment.json``; its ``content`` is the `Assessment`."""

    def _save(self, output_artifact_path: str) -> None:
        self._content.to_json(output_artifact_path)

    def _load_content_from_file(self, local_artifact_path: str) -> Assessment:
        self._content = Assessment.from_json(Path(local_artifact_path).read_text("utf-8"))
        return self._content


class FairnessEvaluator(ModelEvaluator):
    """Group metrics, disparities and corrected tests of a classifier, logged to MLflow."""

    @classmethod
    def can_evaluate(cls, *, model_type: str, evaluator_config: Any, **kwargs: Any) -> bool:
        """Classifiers only, and only when the config names the sensitive attributes.

        A config that names them but is otherwise wrong is accepted here, so that `evaluate`
        reports what is wrong instead of MLflow saying that no evaluator applies.
        """
        return (
            model_type == "classifier"
            and isinstance(evaluator_config, Mapping)
            and "sensitive_attributes" in evaluator_config
        )

    def evaluate(
        self,
        *,
        model_type: str,
        dataset: Any,
        run_id: str,
        evaluator_config: Mapping[str, Any],
        model: Any = None,
        extra_metrics: Any = None,
        custom_artifacts: Any = None,
        predictions: str | None = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        """Audit the decisions, log the figures and the assessment into run ``run_id``.

        ``extra_metrics`` and ``custom_artifacts`` belong to MLflow's built-in evaluators and are
        not used here; ``predictions`` names the output column of a multi-column model output.
        """
        config = parse_config(evaluator_config)
        features = dataset.features_data
        if not isinstance(features, pd.DataFrame):
            raise AuditInputError(
                "evaluation data",
                expected="a pandas DataFrame (or an MLflow dataset made from one) holding the "
                "sensitive columns",
                found=type(features).__name__,
                fix="pass the data as a DataFrame with named columns",
            )
        groups = _group_columns(features, config.sensitive_attributes)
        labels = dataset.labels_data
        if labels is None:
            raise AuditInputError(
                "evaluation data",
                expected="a targets column with the observed outcome",
                found="no targets",
                fix="pass targets='COLUMN' to mlflow.models.evaluate",
            )
        output = _model_output(model, features, dataset, predictions)
        names = _ColumnNames.choose(dataset, config)
        frame = _decisions_frame(groups, labels, output, config, names)
        assessment = assess(
            frame,
            y_true=names.y_true,
            y_pred=names.y_pred,
            score=names.score if config.threshold is not None else None,
            groups=config.sensitive_attributes,
            pos_label=config.pos_label,
            intersections=config.intersections,
            reference={k: str(v) for k, v in (config.reference or {}).items()},
            n_boot=config.n_boot,
            seed=config.seed,
            alpha=config.alpha,
            correction=config.correction,
            min_group_size=config.min_group_size,
            min_cell_size=config.min_cell_size,
            max_levels=config.max_levels,
        )
        published = suppress(assessment)  # only this leaves the process
        metrics = flatten_metrics(published)
        _log_metrics(run_id, metrics, dataset=dataset, model_id=kwargs.get("model_id"))
        artifact = _log_assessment(run_id, published)
        return EvaluationResult(metrics=metrics, artifacts={ARTIFACT_NAME: artifact}, run_id=run_id)


@dataclass(frozen=True)
class _ColumnNames:
    """Names of the outcome, decision and score in the audited frame (and its settings)."""

    y_true: str
    y_pred: str
    score: str

    @classmethod
    def choose(cls, dataset: Any, config: FairnessConfig) -> _ColumnNames:
        taken = set(config.sensitive_attributes)

        def free(name: str) -> str:
            while name in taken:
                name = f"_{name}"
            taken.add(name)
            return name

        predictions = getattr(dataset, "predictions_name", None)
        y_true = free(str(getattr(dataset, "targets_name", None) or "outcome"))
        if config.threshold is None:
            return cls(y_true, free(str(predictions or "decision")), free("score"))
        return cls(y_true, free("decision"), free(str(predictions or "score")))


def _group_columns(features: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in names if c not in features.columns]
    if missing:
        shown = [str(c) for c in features.columns[:50]]
        more = f" and {len(features.columns) - 50} more" if len(features.columns) > 50 else ""
        raise AuditInputError(
            "sensitive attribute " + ", ".join(f"'{c}'" for c in missing),
            expected="a column of the evaluation data",
            found=f"no such column; the data has the columns {', '.join(shown)}{more}",
            fix="add the column to the data passed to mlflow.models.evaluate (the model need "
            "not read it), or correct sensitive_attributes",
        )
    return features[list(names)].reset_index(drop=True)


def _model_output(model: Any, features: pd.DataFrame, dataset: Any, column: str | None) -> Any:
    """The model's output on the evaluation data, or the dataset's predictions without a model."""
    if model is None:
        if dataset.predictions_data is None:
            raise AuditInputError(
                "evaluation",
                expected="a model, or a predictions column in the data",
                found="neither",
                fix="pass a model URI, or model=None with predictions='COLUMN'",
            )
        return dataset.predictions_data
    inputs = _model_inputs(model, features)
    try:
        output = model.predict(inputs)
    except MlflowException as err:
        # MLflow's message prints the input frame; keep only its reason, never the rows.
        reason = str(err.message).rsplit("Error: ", 1)[-1].strip().splitlines()
        raise AuditInputError(
            "model input",
            expected="data the model accepts",
            found=reason[0][:300].rstrip(".") if reason else type(err).__name__,
            fix="pass the evaluation data with the columns and types of the model's signature",
        ) from None
    if isinstance(output, pd.DataFrame):
        if column is not None and column in output.columns:
            return output[column]
        if output.shape[1] in (1, 2):
            return output.iloc[:, -1]
        raise AuditInputError(
            "model output",
            expected="one column of decisions or probabilities",
            found=f"{output.shape[1]} columns: {', '.join(map(str, output.columns[:10]))}",
            fix="name the output column with predictions='COLUMN'",
        )
    return output


def _model_inputs(model: Any, features: pd.DataFrame) -> pd.DataFrame:
    """The columns the model's input schema names, typed as the schema asks where lossless."""
    metadata = getattr(model, "metadata", None)
    schema = metadata.get_input_schema() if metadata is not None else None
    if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
        return features
    names = [str(n) for n in schema.input_names()]
    missing = [n for n in names if n not in features.columns]
    if missing:
        raise AuditInputError(
            "evaluation data",
            expected="every input column of the model's signature",
            found="no column " + ", ".join(f"'{c}'" for c in missing),
            fix="add the model's input columns to the data passed to mlflow.models.evaluate",
        )
    out = {}
    for spec in schema.inputs:
        series = features[spec.name]
        kind = getattr(spec.type, "name", "")
        if kind == "string" and (
            isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series)
        ):
            series = series.astype(object).where(series.notna(), None)
            series = series.map(lambda v: v if v is None else str(v))
        elif kind in ("double", "float") and (
            pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series)
        ):
            series = series.astype(np.float64 if kind == "double" else np.float32)
        elif kind in ("long", "integer") and pd.api.types.is_bool_dtype(series):
            series = series.astype(np.int64 if kind == "long" else np.int32)
        out[spec.name] = series
    return pd.DataFrame(out, index=features.index)


def _decisions_frame(
    groups: pd.DataFrame, labels: Any, output: Any, config: FairnessConfig, names: _ColumnNames
) -> pd.DataFrame:
    """The groups with the outcome, the decision and (with a threshold) the score."""
    values = output.to_numpy() if isinstance(output, pd.Series | pd.DataFrame) else output
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] in (1, 2):
        values = values[:, -1]  # one column, or the positive class of two probabilities
    if values.ndim != 1 or len(values) != len(groups):
        raise AuditInputError(
            "model output",
            expected=f"one decision or probability per row ({len(groups)} rows)",
            found=f"an output of shape {values.shape}",
            fix="return one value per row, or name the output column with predictions='COLUMN'",
        )
    frame = groups.copy()
    frame[names.y_true] = np.asarray(labels)
    if config.threshold is None:
        if _looks_like_scores(values):
            raise AuditInputError(
                "model output",
                expected="decisions (two classes, e.g. 0/1)",
                found=f"{len(np.unique(values))} distinct numbers in "
                f"[{np.nanmin(values):.3g}, {np.nanmax(values):.3g}], which look like scores",
                fix="set 'threshold' in evaluator_config to turn probabilities into decisions",
            )
        frame[names.y_pred] = values
        return frame
    score = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~((score >= 0.0) & (score <= 1.0))
    if bad.any():
        raise AuditInputError(
            "model output",
            expected="probabilities in [0, 1] in every row, since 'threshold' is set",
            found=f"{int(bad.sum())} value(s) outside [0, 1] or missing",
            fix="return probabilities of the positive class (pyfunc_predict_fn='predict_proba'), "
            "or remove 'threshold' when the model outputs decisions",
        )
    frame[names.score] = score
    frame[names.y_pred] = (score >= config.threshold).astype(np.uint8)
    return frame


def _looks_like_scores(values: np.ndarray) -> bool:
    if not np.issubdtype(values.dtype, np.floating):
        return False
    finite = values[np.isfinite(values)]
    return bool(len(np.unique(finite)) > 2)


def _log_metrics(
    run_id: str, metrics: Mapping[str, float], *, dataset: Any, model_id: str | None
) -> None:
    client = MlflowClient()
    timestamp = int(time.time() * 1000)
    entries = [
        Metric(
            key=key,
            value=value,
            timestamp=timestamp,
            step=0,
            model_id=model_id,
            dataset_name=getattr(dataset, "name", None),
            dataset_digest=getattr(dataset, "digest", None),
            run_id=run_id,
        )
        for key, value in metrics.items()
    ]
    for start in range(0, len(entries), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=entries[start : start + METRICS_PER_BATCH])


def _log_assessment(run_id: str, assessment: Assessment) -> AssessmentArtifact:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT_FILE
        assessment.to_json(path)
        keys = Path(tmp) / KEY_FILE
        keys.write_text(metric_key_document(assessment), encoding="utf-8")
        client = MlflowClient()
        client.log_artifact(run_id, str(path), artifact_path=ARTIFACT_DIR)
        client.log_artifact(run_id, str(keys), artifact_path=ARTIFACT_DIR)
    uri = get_artifact_uri(run_id, f"{ARTIFACT_DIR}/{ARTIFACT_FILE}")
    return AssessmentArtifact(uri=uri, content=assessment)
