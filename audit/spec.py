"""The audit spec: one YAML file that says what is audited, how, and what passes.

An analyst writes it once; `audit run SPEC.yaml` runs it, and the same file in a CI pipeline gates
every release. It is validated in full before anything runs, and a mistake is reported with the
file, line and key it is on, what was expected there and how to fix it:

    spec.yaml:14: key 'policy.rules[0].max_abs': expected a number; found 'five percent'.

See `examples/` for complete specs and `audit run --schema` for the JSON schema.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from audit.checks.registry import CheckSpec
from audit.errors import AuditInputError
from audit.metrics.definitions import TESTED_METRICS, needs_outcome
from audit.metrics.disparities import NAMED_DISPARITY_NAMES

#: The metric of a multiclass decision: a group's share of one track (`audit.stats.tracks`).
TRACK_METRIC = "track_share"

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
EXAMPLES_HINT = "see examples/*.yaml, or `audit run --schema` for every key"


class SpecProblem(ValueError):
    """A problem a validator finds across keys: what it found, and the key it is about.

    Pydantic reports a model validator's error at the model itself (for the whole spec, its top
    level); `at` names the key inside it, so the message gives that key and its line, and
    `found` says what is there instead of a dump of the whole mapping.
    """

    def __init__(
        self, expected: str, *, found: str, at: list[str | int], fix: str | None = None
    ) -> None:
        super().__init__(expected)
        self.found, self.at, self.fix = found, at, fix


class _Strict(BaseModel):
    """Unknown keys are refused: a typo must not silently turn a rule off."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- data -------------------------------------------------------------------------------------


class SyntheticData(_Strict):
    """A synthetic Belgian job-seeker population with known injected harms (`audit.data`)."""

    scenario: str = "all_harms"
    n: Annotated[int, Field(ge=200, description="number of people generated")] = 60_000
    seed: int = 0


RankingField = Literal["person_id", "rank", "vacancy_id", "score", "distance_km", "skill_gap"]


class RankingsSpec(_Strict):
    """The matcher's recommendations: ranked vacancies per person (the H6 and H7 checks)."""

    file: Annotated[Path, Field(description="CSV or Parquet, one row per recommendation")]
    columns: Annotated[
        dict[RankingField, str],
        Field(
            description="the file's name for each column it spells otherwise, e.g. "
            "{person_id: dossier, distance_km: km}; the columns are person_id, rank (1 = "
            "best), vacancy_id, score, distance_km and skill_gap (the job's level minus the "
            "person's qualification)"
        ),
    ] = Field(default_factory=dict)
    id_column: Annotated[
        str | None,
        Field(
            description="the data's column of the ids the rankings' person_id holds; default "
            "model.decisions.id_column, else person_id"
        ),
    ] = None


class DataSpec(_Strict):
    """Where the people come from: a file or a synthetic scenario, never both."""

    file: Annotated[
        Path | str | None,
        Field(
            description="a CSV or Parquet file; with engine spark also a Parquet folder or a "
            "URI the cluster reads (s3a://, abfss://, hdfs://, gs://)",
        ),
    ] = None
    synthetic: SyntheticData | None = None
    rankings: Annotated[
        RankingsSpec | None,
        Field(
            description="ranked vacancies per person, for the checks that read them (H6, H7): "
            "a file, or {file, columns, id_column}; a synthetic population's are generated"
        ),
    ] = None
    schema_name: Annotated[
        Literal["auto", "people", "none"],
        Field(
            alias="schema",
            description="'people' validates the file against the job-seeker schema; "
            "'none' takes any table (only the columns the spec names are checked); 'auto' "
            "validates a file of our generator (written with the people schema's mark, or "
            "holding every column of that schema) and takes any other table as it is",
        ),
    ] = "auto"
    train_share: Annotated[
        float,
        Field(
            gt=0,
            lt=1,
            description="share of rows used to train the model when `model.train` is set; "
            "the audit runs on the other rows",
        ),
    ] = 0.5

    @field_validator("file", mode="before")
    @classmethod
    def _path_or_uri(cls, value: Any) -> Any:
        """A URI stays text (a path would fold its '//'); anything else is a local path."""
        if isinstance(value, str) and "://" in value and not value.startswith("file://"):
            return value
        return Path(value.removeprefix("file://")) if isinstance(value, str) else value

    @property
    def local_file(self) -> Path | None:
        """The data file on this machine (None for a URI, which only Spark reads)."""
        return self.file if isinstance(self.file, Path) else None

    @field_validator("rankings", mode="before")
    @classmethod
    def _rankings_file(cls, value: Any) -> Any:
        return {"file": value} if isinstance(value, str | Path) else value

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if (self.file is None) == (self.synthetic is None):
            raise ValueError("exactly one of 'file' or 'synthetic'")
        return self


# --- model ------------------------------------------------------------------------------------


class RegisterSpec(_Strict):
    name: str
    alias: str | None = None


class TrainSpec(_Strict):
    """Train a reference model on part of the data (see `audit.models.training`)."""

    task: Literal["profiling", "track"] = "profiling"
    features: str = "full"
    target: str | None = None
    register_as: RegisterSpec | None = Field(default=None, alias="register")


class DecisionsSpec(_Strict):
    """Decisions made elsewhere, when the model itself is not available."""

    file: Path
    decision_column: str | None = None
    score_column: str | None = None
    track_column: str | None = None
    id_column: str | None = None


class ModelSpec(_Strict):
    """The model audited: trained here, imported (MLflow URI, .skops, .onnx), or decisions only."""

    train: TrainSpec | None = None
    uri: str | None = None
    decisions: DecisionsSpec | None = None
    name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=200,
            description="the audited model's name, whose MLflow experiment its audits join "
            "(fairness-audit/NAME); default: the registered model's name, a model file's stem, "
            "or the spec's name for a decisions file",
        ),
    ] = None

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        given = [k for k in ("train", "uri", "decisions") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of 'train', 'uri' or 'decisions'"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    @property
    def registry_name(self) -> str | None:
        """The registered model's name when the audited model lives in the MLflow registry."""
        if self.train and self.train.register_as:
            return self.train.register_as.name
        if self.uri and self.uri.startswith("models:/"):
            return re.split(r"[@/]", self.uri.removeprefix("models:/"), maxsplit=1)[0]
        return None

    @property
    def audited_name(self) -> str | None:
        """The name the audited model goes by, where the spec alone tells (see `experiment`)."""
        if self.name:
            return self.name
        if self.registry_name:
            return self.registry_name
        if self.uri and self.uri.startswith("runs:/"):
            run_id, _, artifact = self.uri.removeprefix("runs:/").strip("/").partition("/")
            return f"run-{run_id}/{artifact or 'model'}"
        if self.uri:
            path = Path(self.uri.rstrip("/\\"))
            return path.stem if path.suffix.lower() in (".skops", ".onnx") else path.name
        return None


# --- the decision examined --------------------------------------------------------------------


class DecisionSpec(_Strict):
    """How the model's output becomes the binary decision whose rates are compared.

    `bands` allocates support as the AMS and VDAB models do (chance >= high: band high, < low:
    band low) and `examined` names the band(s) whose membership is the decision; `threshold`
    decides on score >= threshold; `label` takes the model's predicted label (a track name for a
    track recommender, e.g. 'sheltered'). With none of them the model's own decision is taken:
    its predicted label 1, or the decision column of a decisions file.
    """

    bands: dict[Literal["high", "low"], float] | None = None
    examined: list[Literal["high", "medium", "low"]] | None = None
    threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    label: str | None = None
    use_score: Annotated[
        bool, Field(description="also assess the score itself (AUC, calibration) when there is one")
    ] = True

    @model_validator(mode="after")
    def _one_rule(self) -> DecisionSpec:
        given = [k for k in ("bands", "threshold", "label") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"one of 'bands', 'threshold' or 'label', not {' and '.join(given)}")
        if self.bands is not None and not self.examined:
            raise ValueError("with 'bands', the band(s) examined, e.g. examined: [high]")
        return self


# --- who is compared --------------------------------------------------------------------------


class AttributeSpec(_Strict):
    column: str
    reference: str | None = None
    bins: Annotated[
        int | None,
        Field(
            ge=2,
            description="cut this numeric column (an age, an amount) at its quantiles into "
            "this many groups; the reference is then one of the bins, e.g. '[25, 35)'",
        ),
    ] = None


def _attribute(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


LABEL_LANGUAGES = ("en", "fr", "nl")
# A label written once for every language, or once per language.
LabelText = str | dict[str, str]


def _label_text(value: Any) -> Any:
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in LABEL_LANGUAGES)
        if unknown:
            raise ValueError(
                f"a label, or one per language among {', '.join(map(repr, LABEL_LANGUAGES))}"
                f" (found language {unknown[0]!r})"
            )
    return value


class AttributeLabels(_Strict):
    """Human labels of one attribute for the published report (`audit.report.group_labels`):
    its name, and a noun phrase for the people of each level, without an article."""

    name: LabelText | None = None
    levels: dict[str, LabelText] = Field(
        default_factory=dict,
        description='level as written in the data -> label, e.g. "True": people with a '
        "mental-health history",
    )

    @field_validator("levels", mode="before")
    @classmethod
    def _level_keys_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted True or 1 as a bool or a number; levels are text.
        if not isinstance(value, dict):
            return value
        return {str(k): _label_text(v) for k, v in value.items()}

    @field_validator("name", mode="before")
    @classmethod
    def _known_languages(cls, value: Any) -> Any:
        return _label_text(value)


class FactorSpec(_Strict):
    """A legitimate factor with its number of quantile bins, e.g. {column: age, bins: 4}."""

    column: str
    bins: Annotated[
        int | None,
        Field(ge=2, description="cut this numeric column at its quantiles into this many bins"),
    ] = None


# Tags of the two spellings of a factor; they are not keys, so error locations skip them.
_FACTOR_TAGS = ("plain_factor", "binned_factor")


def _factor_tag(value: Any) -> str:
    return _FACTOR_TAGS[1] if isinstance(value, dict | FactorSpec) else _FACTOR_TAGS[0]


Factor = Annotated[
    Annotated[str, Tag(_FACTOR_TAGS[0])] | Annotated[FactorSpec, Tag(_FACTOR_TAGS[1])],
    Discriminator(_factor_tag),
]


class StatisticsSpec(_Strict):
    n_boot: Annotated[int, Field(ge=0)] = 1000
    bootstrap: Literal["multinomial", "stratified"] = "multinomial"
    seed: int = 0
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    correction: Literal["holm", "bh", "none"] = "holm"
    test_margin: Annotated[float, Field(ge=0)] = 0.0
    min_group_size: Annotated[int, Field(ge=1)] = 30
    min_denominator: Annotated[
        int,
        Field(
            ge=1,
            description="rows a metric's denominator needs (e.g. people with the outcome for "
            "the TPR) before the metric is reliable and its disparities are tested",
        ),
    ] = 10
    reference_rule: Literal["largest", "most_advantaged"] = "largest"
    min_cell_size: Annotated[
        int,
        Field(
            ge=1,
            description="no published figure (files, MLflow, terminal) describes fewer people "
            "than this: smaller cells are suppressed, calibration bins merged",
        ),
    ] = 10
    max_levels: Annotated[
        int,
        Field(
            ge=2,
            description="most groups one attribute may have; a column with more is refused "
            "(bin it or merge rare values)",
        ),
    ] = 50
    max_numeric_levels: Annotated[
        int,
        Field(
            ge=2,
            description="most distinct values a numeric group column may have: more are a "
            "measurement (an age, an amount), to cut with the attribute's `bins`",
        ),
    ] = 20


# --- policy -----------------------------------------------------------------------------------

Evidence = Literal["interval", "point"]
OnInconclusive = Literal["fail", "pass"]


class ThresholdRule(_Strict):
    """A bound on a disparity for every group, e.g. selection-rate ratio >= 0.8."""

    id: str
    metric: str
    kind: Literal["difference", "ratio"] = "difference"
    min: float | None = None
    max: float | None = None
    max_abs: Annotated[float, Field(ge=0)] | None = None
    attributes: list[list[str]] | None = Field(
        default=None,
        description="groupings the rule applies to, e.g. [[housing_status], "
        "[housing_status, digital_literacy]]; default: every grouping examined",
    )
    evidence: Evidence | None = None
    conditional: Annotated[
        bool,
        Field(
            description="bound the difference within strata of the legitimate factors "
            "(kind must be 'difference')"
        ),
    ] = False
    track: Annotated[
        str | None,
        Field(
            description="with metric track_share: the track whose share is bounded, e.g. "
            "sheltered_work; default: every track"
        ),
    ] = None
    description: str | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        return _check_metric(value, named=True)

    @field_validator("min", "max", "max_abs")
    @classmethod
    def _possible_bound(cls, value: float | None, info: ValidationInfo) -> float | None:
        """A bound the disparity can reach on both sides, or the rule is vacuous or impossible.

        Every rule metric is a rate in [0, 1], so a difference lies in [-1, 1] and a ratio in
        [0, inf): `max_abs: 5` would let anything pass and `min: 2` on a difference nothing.
        """
        if value is None:
            return value
        kind = info.data.get("kind", "difference")
        if not math.isfinite(value):
            raise ValueError("a finite number")
        if kind == "difference" and abs(value) > 1:
            span = "[0, 1]" if info.field_name == "max_abs" else "[-1, 1]"
            raise ValueError(f"a bound in {span}: a difference of two rates lies between -1 and 1")
        if kind == "ratio" and info.field_name == "max_abs":
            raise ValueError("'min' and/or 'max' for a ratio (e.g. min: 0.8), not 'max_abs'")
        if kind == "ratio" and value < 0:
            raise ValueError("a bound of at least 0: a ratio of two rates is never negative")
        return value

    @model_validator(mode="after")
    def _some_bound(self) -> ThresholdRule:
        if self.min is None and self.max is None and self.max_abs is None:
            raise ValueError("a bound: 'min', 'max' or 'max_abs'")
        if self.metric in NAMED_DISPARITY_NAMES and self.kind != "difference":
            raise ValueError(
                f"kind 'difference' for '{self.metric}', which is a difference by definition "
                "(it has no ratio form)"
            )
        if self.max_abs is not None and (self.min is not None or self.max is not None):
            raise ValueError("either 'max_abs' or 'min'/'max', not both")
        if self.conditional and self.kind != "difference":
            raise ValueError("kind 'difference' for a conditional rule")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' at most 'max' (here {self.min} > {self.max})")
        _check_track(self.track, [self.metric])
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The allowed interval [low, high] of the disparity."""
        if self.max_abs is not None:
            return -self.max_abs, self.max_abs
        low = self.min if self.min is not None else float("-inf")
        high = self.max if self.max is not None else float("inf")
        return low, high


class SignificanceRule(_Strict):
    """No group may show a significant disparity (after correction) on these metrics."""

    id: str
    no_significant_disparity: list[str]
    attributes: list[list[str]] | None = None
    conditional: bool = False
    detectable_gap: Annotated[
        float | None,
        Field(
            gt=0,
            le=1,
            description="the gap the audit must be able to see: a group whose test could not "
            "detect a disparity this large (at the stated power) is inconclusive, not a pass",
        ),
    ] = None
    track: Annotated[
        str | None,
        Field(description="with track_share: the track tested; default: every track"),
    ] = None
    description: str | None = None

    @field_validator("no_significant_disparity")
    @classmethod
    def _known_metrics(cls, values: list[str]) -> list[str]:
        return [_check_metric(v) for v in values]

    @model_validator(mode="after")
    def _track_metric(self) -> SignificanceRule:
        _check_track(self.track, self.no_significant_disparity)
        return self


def _rule_tag(value: Any) -> str:
    # Pydantic calls this on the YAML's dict when validating and on the rule object when
    # serialising: answering "threshold" for a SignificanceRule object made every dump of a spec
    # with a significance rule warn (PydanticSerializationUnexpectedValue).
    if isinstance(value, SignificanceRule) or (
        isinstance(value, dict) and "no_significant_disparity" in value
    ):
        return "significance"
    return "threshold"


Rule = Annotated[
    Annotated[ThresholdRule, Tag("threshold")] | Annotated[SignificanceRule, Tag("significance")],
    Discriminator(_rule_tag),
]


class HarmCheckRule(_Strict):
    """A harm check decides: it fails on a finding, passes when the check rules the harm out.

    With `max` (or `min`), the check's estimates are read against that bound instead, with
    interval evidence: e.g. "the flip rate is at most 0.02" for every group.
    """

    id: str
    harm_check: Annotated[str, Field(description="the id (or name) of an entry of checks:")]
    max: float | None = None
    min: float | None = None
    measure: Annotated[
        str | None,
        Field(
            description="with max/min: the measure bounded, for a check whose records are on "
            "several scales (e.g. H7's share_below_qualification and exposure_ratio)"
        ),
    ] = None
    description: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> HarmCheckRule:
        for value in (self.min, self.max):
            if value is not None and not math.isfinite(value):
                raise ValueError("a finite bound")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' at most 'max' (here {self.min} > {self.max})")
        return self


class PolicySpec(_Strict):
    """The release gate: rules, the evidence they need, and an optional baseline."""

    evidence: Annotated[
        Evidence,
        Field(
            description="'interval': a rule fails when the whole confidence interval lies "
            "beyond its bound; 'point': when the estimate does"
        ),
    ] = "interval"
    on_inconclusive: Annotated[
        OnInconclusive,
        Field(
            description="what an INCONCLUSIVE gate (the data cannot tell) means for a release: "
            "'fail' blocks it (exit 3), 'pass' lets it through (exit 0, still reported)"
        ),
    ] = "fail"
    rules: list[Rule] = Field(default_factory=list)
    harm_checks: Annotated[
        list[HarmCheckRule],
        Field(description="rules on the harm checks; may also be written among rules:"),
    ] = Field(default_factory=list)
    baseline: Annotated[
        str | None,
        Field(
            description="model in production (models:/NAME@champion) or a previous audit "
            "(runs:/RUN_ID, or an assessment.json): the candidate fails when significantly "
            "worse on a rule's metric"
        ),
    ] = None
    regression_margin: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="before")
    @classmethod
    def _harm_rules_apart(cls, value: Any) -> Any:
        """`harm_check` rules written among the rules are read into `harm_checks`."""
        if not isinstance(value, dict) or not isinstance(value.get("rules"), list):
            return value
        harm = [r for r in value["rules"] if isinstance(r, dict) and "harm_check" in r]
        if not harm:
            return value
        rest = [r for r in value["rules"] if not (isinstance(r, dict) and "harm_check" in r)]
        return {**value, "rules": rest, "harm_checks": [*value.get("harm_checks", []), *harm]}

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[ThresholdRule | SignificanceRule]) -> list[Any]:
        ids = [r.id for r in rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"unique rule ids (repeated: {', '.join(repeated)})")
        return rules


# --- sinks ------------------------------------------------------------------------------------


class CasesSpec(_Strict):
    """The review file of flagged cases: never published, never logged to MLflow."""

    dir: Annotated[Path, Field(description="folder of cases.csv and cases.html")]
    salt_env: Annotated[
        str,
        Field(description="environment variable holding the salt of the pseudonymous ids"),
    ] = "AUDIT_CASE_SALT"
    id_column: Annotated[
        str | None,
        Field(description="column of the person's id; default person_id, or the row number"),
    ] = None


class SparkSpec(_Strict):
    """Where Spark runs (docs/spark.md): this machine (local[*]) or a cluster."""

    master: Annotated[
        str,
        Field(
            description="local[*], local[N], spark://HOST:7077, yarn, k8s://https://HOST:443, "
            "or sc://HOST:15002 (Spark Connect, Databricks Connect); ${NAME} reads it from the "
            "environment variable NAME (a URL with a token belongs there, not in the spec)",
        ),
    ] = "local[*]"
    conf: Annotated[
        dict[str, str],
        Field(
            description="Spark settings, e.g. {spark.driver.memory: 4g}; a value ${NAME} is "
            "read from the environment (a secret must be)"
        ),
    ] = Field(default_factory=dict)


    @field_validator("conf", mode="before")
    @classmethod
    def _settings_as_text(cls, value: Any) -> Any:
        """YAML reads `spark.executor.cores: 4` as a number, `...enabled: true` as a boolean;
        Spark reads every setting as text."""
        if not isinstance(value, dict):
            return value
        return {
            k: (str(v).lower() if isinstance(v, bool) else str(v))
            if isinstance(v, bool | int | float)
            else v
            for k, v in value.items()
        }

    @model_validator(mode="after")
    def _no_credentials(self) -> SparkSpec:
        """A credential written in the spec would be published: the spec is copied into the
        report folder and its keys logged to MLflow. It is named from the environment instead."""
        published = "the spec is published with the report and logged to MLflow"
        if _CREDENTIAL_IN_URL.search(self.master) and not _ENVIRONMENT.fullmatch(self.master):
            raise SpecProblem(
                f"a master URL without a credential ({published})",
                found="a token or password in the URL (not shown)",
                at=["master"],
                fix="write master: ${SPARK_REMOTE} and set SPARK_REMOTE, with the token, in the "
                "environment (in CI: a secret variable)",
            )
        for key, value in self.conf.items():
            if _SECRET_KEY.search(key) and not _ENVIRONMENT.fullmatch(value):
                raise SpecProblem(
                    f"the secret setting {key!r} read from the environment ({published})",
                    found="its value written in the spec (not shown)",
                    at=["conf", key],
                    fix=f"write {key}: ${{NAME}} and set NAME in the environment",
                )
        return self


# A master or setting written ${NAME} is read from the environment when Spark starts.
_ENVIRONMENT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_CREDENTIAL_IN_URL = re.compile(r"(token|password|secret|key)=|://[^/@]*:[^/@]*@", re.IGNORECASE)
_SECRET_KEY = re.compile(r"(secret|token|password|credential|access\.?key|private)", re.IGNORECASE)


class SparkEngine(_Strict):
    spark: SparkSpec = Field(default_factory=SparkSpec)


def _engine_kind(value: Any) -> str:
    return "spark-engine" if isinstance(value, dict | SparkEngine) else "numpy-engine"


# Tagged, so that a mistake in the Spark settings is reported there (and never as "expected
# numpy" with the whole mapping, a URL and its token, shown as what was found).
Engine = Annotated[
    # "spark" alone never reaches the literal: `AuditSpec._engine_word` makes it {spark: {}}.
    Annotated[Literal["numpy", "spark"], Tag("numpy-engine")]
    | Annotated[SparkEngine, Tag("spark-engine")],
    Discriminator(_engine_kind),
]


class TrackingSpec(_Strict):
    enabled: bool = True
    uri: str = DEFAULT_TRACKING_URI
    experiment: Annotated[
        str | None,
        Field(description="default: fairness-audit/<the audited model's name> (see README)"),
    ] = None
    metrics: Annotated[
        Literal["lean", "all"],
        Field(
            description="lean: the figures charted over time (each rule's deciding figure per "
            "group, the summaries, the verdict counts); all: also every group figure and "
            "disparity. The whole result is the assessment.json artifact either way"
        ),
    ] = "lean"
    fallback_local: Annotated[
        bool,
        Field(description="log to the local store when the tracking server cannot be reached"),
    ] = False


ReportLanguage = Literal["fr", "nl", "en"]


class ReportSpec(_Strict):
    dir: Path | None = Field(default=None, description="default: reports/<name>")
    junit: bool = True
    languages: Annotated[
        list[ReportLanguage],
        Field(
            min_length=1,
            description="languages of the published report (report.<lang>.html and .pdf); the "
            "first is also written as report.html and report.pdf",
        ),
    ] = Field(default_factory=lambda: list[ReportLanguage](["en"]))
    formats: Annotated[
        list[Literal["html", "pdf"]],
        Field(description="published report formats; [] writes none"),
    ] = Field(default_factory=lambda: list[Literal["html", "pdf"]](["html", "pdf"]))
    contact: Annotated[
        str | None,
        Field(
            description="where the people concerned and their associations send comments on "
            "the report (an address, e-mail or web page)"
        ),
    ] = None
    respond_by: Annotated[
        date | None, Field(description="deadline for comments, e.g. 2027-03-31")
    ] = None

    @field_validator("languages")
    @classmethod
    def _distinct_languages(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class AuditSpec(_Strict):
    """Everything an audit needs; see the module docstring."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
    description: str | None = None
    data: DataSpec
    model: ModelSpec
    outcome: Annotated[
        str | None,
        Field(
            description="column of the observed outcome; without it only the decisions are "
            "audited (selection rates and their gaps), and rules on error rates are refused",
        ),
    ] = None
    outcome_positive: Annotated[
        str | None,
        Field(
            description="for an outcome column with more than two values: the value that "
            "counts as the outcome, e.g. warranted_track = sheltered"
        ),
    ] = None
    decision: DecisionSpec = Field(default_factory=DecisionSpec)
    attributes: Annotated[list[AttributeSpec], Field(min_length=1)]
    labels: Annotated[
        dict[str, AttributeLabels],
        Field(description="human labels for the report, per attribute column"),
    ] = Field(default_factory=dict)
    intersections: Annotated[int, Field(ge=1, le=3)] = 1
    factors: list[Factor] = Field(
        default_factory=list,
        alias="legitimate_factors",
        description="columns that may legitimately affect the decision, e.g. [education, "
        "{column: age, bins: 4}]; numeric columns with many values are cut at quantiles",
    )
    statistics: StatisticsSpec = Field(default_factory=StatisticsSpec)
    policy: PolicySpec = Field(default_factory=PolicySpec)
    checks: Annotated[
        list[CheckSpec],
        Field(description="harm checks to run (docs/harm_checks.md), e.g. "
              "[{check: steering, track: sheltered}]"),
    ] = Field(default_factory=list)
    cases: Annotated[
        CasesSpec | None,
        Field(description="where the review file of flagged cases goes; needed by any check "
              "with cases: true"),
    ] = None
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    report: ReportSpec = Field(default_factory=ReportSpec)
    engine: Annotated[
        Engine,
        Field(
            description="what counts the rows: numpy (in memory, the default) or "
            "{spark: {master: ..., conf: {...}}} where the data lives (docs/spark.md); "
            "`spark` alone is local[*]",
        ),
    ] = "numpy"

    @field_validator("engine", mode="before")
    @classmethod
    def _engine_word(cls, value: Any) -> Any:
        return {"spark": {}} if value == "spark" else value

    @property
    def spark(self) -> SparkSpec | None:
        """The Spark engine's settings, or None for the NumPy engine."""
        return self.engine.spark if isinstance(self.engine, SparkEngine) else None

    @field_validator("attributes", mode="before")
    @classmethod
    def _short_attributes(cls, value: Any) -> Any:
        return [_attribute(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> AuditSpec:
        columns = [a.column for a in self.attributes]
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise SpecProblem(
                "each attribute listed once", found=f"{twice[0]!r} twice", at=["attributes"]
            )
        if self.intersections > len(columns):
            raise SpecProblem(
                f"at most the number of attributes ({len(columns)})",
                found=str(self.intersections),
                at=["intersections"],
            )
        unknown = sorted(set(self.labels) - set(columns))
        if unknown:
            raise SpecProblem(
                f"labels only for audited attributes {columns}",
                found=repr(unknown[0]),
                at=["labels", unknown[0]],
            )
        factors = self.legitimate_factors
        twice = sorted({f for f in factors if factors.count(f) > 1})
        if twice:
            raise SpecProblem(
                "each legitimate factor listed once",
                found=f"{twice[0]!r} twice",
                at=["legitimate_factors"],
            )
        self._checks_consistent()
        self._decision_source()
        if self.spark is not None:
            self._spark_consistent()
        elif isinstance(self.data.file, str):
            raise SpecProblem(
                "a file on this machine (a URI is read by the Spark engine only)",
                found=repr(self.data.file),
                at=["data", "file"],
                fix="add engine: {spark: {master: ...}} (or --engine spark), or copy the table here",
            )
        if self.outcome is None:
            self._decision_only()
        for i, rule in enumerate(self.policy.rules):
            at: list[str | int] = ["policy", "rules", i]
            if rule.conditional and not self.legitimate_factors:
                raise SpecProblem(
                    f"legitimate_factors for the conditional rule '{rule.id}'",
                    found="no legitimate_factors in the spec",
                    at=at,
                )
            if rule.conditional and any(len(g) > 1 for g in rule.attributes or []):
                raise SpecProblem(
                    f"single attributes in the conditional rule '{rule.id}'",
                    found=str(rule.attributes),
                    at=[*at, "attributes"],
                )
            scoped = (rule.attributes or []) if rule.conditional else []
            for grouping in scoped:
                if not set(factors) - set(grouping):
                    raise SpecProblem(
                        f"a legitimate factor other than {grouping[0]!r} for the conditional "
                        f"rule '{rule.id}' (a factor cannot stratify its own groups)",
                        found=f"legitimate_factors {factors}",
                        at=at,
                    )
            for grouping in rule.attributes or []:
                if not set(grouping) <= set(columns):
                    raise SpecProblem(
                        f"rule '{rule.id}' to name only audited attributes {columns}",
                        found=str(grouping),
                        at=[*at, "attributes"],
                    )
        return self

    def _checks_consistent(self) -> None:
        ids = [c.check_id for c in self.checks]
        for i, check_id in enumerate(ids):
            if ids.count(check_id) > 1:
                raise SpecProblem(
                    "a different id for each check (add `id:` to tell two of the same apart)",
                    found=f"{check_id!r} twice",
                    at=["checks", i],
                )
            if not _SAFE_ID.fullmatch(check_id):
                raise SpecProblem(
                    "a check id of letters, digits, '_', '-' or '.'",
                    found=repr(check_id),
                    at=["checks", i, "id"],
                )
        names = set(ids)
        rule_ids = [r.id for r in self.policy.rules]
        for i, rule in enumerate(self.policy.harm_checks):
            at: list[str | int] = ["policy", "harm_checks", i]
            if rule.harm_check not in names:
                raise SpecProblem(
                    f"the id of one of the spec's checks {sorted(names) or '(none)'}",
                    found=repr(rule.harm_check),
                    at=[*at, "harm_check"],
                    fix="add the check under checks:, or name its id",
                )
            if rule.id in rule_ids:
                raise SpecProblem(
                    "rule ids unique across rules and harm_checks", found=repr(rule.id), at=at
                )
            rule_ids.append(rule.id)
        asking = [c.check_id for c in self.checks if getattr(c, "cases", False)]
        if asking and self.cases is None:
            raise SpecProblem(
                f"a cases section for the review file that check '{asking[0]}' asks for",
                found="cases: true and no cases section",
                at=["cases"],
                fix="add `cases: {dir: reviews/NAME}` (outside the published report folder) "
                "and set the salt in the environment variable AUDIT_CASE_SALT",
            )

    def _spark_consistent(self) -> None:
        """What the Spark engine does not do yet is refused here, not found half-way through."""
        unsupported: list[tuple[bool, list[str | int], str, str]] = [
            (bool(self.checks), ["checks"], "harm checks", "they read people's rows in memory"),
            (self.cases is not None, ["cases"], "a review file", "it lists people one by one"),
            (self.model.train is not None, ["model", "train"], "training a model",
             "train with engine numpy, register the model, then audit it here by its URI"),
            (self.data.rankings is not None, ["data", "rankings"], "ranked vacancies",
             "only the checks H6 and H7 read them"),
        ]
        for given, at, what, why in unsupported:
            if given:
                raise SpecProblem(
                    f"no {what} with engine spark ({why})",
                    found=f"'{'.'.join(map(str, at))}' in the spec",
                    at=at,
                    fix="run this part with engine numpy (the default), on a sample or an "
                    "extract that fits in memory",
                )

    def _decision_source(self) -> None:
        """A decisions file's decision column and a threshold (or bands) are two decisions.

        Taking one silently would audit a decision the analyst did not mean, so neither wins.
        """
        d = self.model.decisions
        given = [k for k in ("threshold", "bands") if getattr(self.decision, k) is not None]
        if d is None or d.decision_column is None or not given:
            return
        raise SpecProblem(
            f"one source of the decision: decision.{given[0]} (applied to "
            "model.decisions.score_column) or model.decisions.decision_column (the file's own "
            "decisions), not both",
            found=f"decision.{given[0]} and model.decisions.decision_column {d.decision_column!r}",
            at=["decision", given[0]],
            fix=f"drop decision.{given[0]} to audit the file's decisions, or drop "
            "model.decisions.decision_column to decide on the score column",
        )

    def _decision_only(self) -> None:
        """Without an outcome, every rule on a metric that reads one is refused, saying why."""
        if self.outcome_positive is not None:
            raise SpecProblem(
                "an outcome column for 'outcome_positive' to name a value of",
                found="outcome_positive without outcome",
                at=["outcome_positive"],
                fix="add `outcome: COLUMN`, or drop outcome_positive",
            )
        for i, rule in enumerate(self.policy.rules):
            if isinstance(rule, ThresholdRule):
                metrics, verb, key = [rule.metric], "bounds", "metric"
            else:
                metrics, verb, key = (
                    rule.no_significant_disparity,
                    "tests",
                    "no_significant_disparity",
                )
            # A track's share reads the recommendations alone, like the selection rate.
            needing = [m for m in metrics if m != TRACK_METRIC and needs_outcome(m)]
            if needing:
                what = ", ".join(needing)
                raise SpecProblem(
                    f"an outcome column: rule '{rule.id}' {verb} {what}, which needs an "
                    "observed outcome",
                    found="the spec names none (no `outcome` key)",
                    at=["policy", "rules", i, key],
                    fix=f"add `outcome: COLUMN` or drop the rule '{rule.id}'; an audit of "
                    "decisions alone can bound and test selection_rate",
                )

    @property
    def groups(self) -> list[str]:
        return [a.column for a in self.attributes]

    @property
    def group_bins(self) -> dict[str, int]:
        """The attributes to cut at quantiles, with their number of bins."""
        return {a.column: a.bins for a in self.attributes if a.bins is not None}

    @property
    def legitimate_factors(self) -> list[str]:
        """The factor columns, in the spec's order (the YAML key of `factors`)."""
        return [f if isinstance(f, str) else f.column for f in self.factors]

    @property
    def factor_bins(self) -> dict[str, int]:
        return {f.column: f.bins for f in self.factors if isinstance(f, FactorSpec) and f.bins}

    @property
    def references(self) -> dict[str, str]:
        return {a.column: a.reference for a in self.attributes if a.reference is not None}

    @property
    def report_dir(self) -> Path:
        return self.report.dir or Path("reports") / self.name

    @property
    def experiment(self) -> str:
        """MLflow experiment: one per audited model, so a model's audit history sits together.

        `tracking.experiment` when set, else `fairness-audit/` and the model's name: `model.name`,
        the registered model's name (`models:/NAME...`, `train.register`), a model file's stem,
        `run-RUN_ID/PATH` for a `runs:/` URI (`audit.tracking.experiments` uses the registered
        name when that run's model was registered), or the spec's name (a decisions file, a model
        trained here without registering it).
        """
        if self.tracking.experiment:
            return self.tracking.experiment
        return f"fairness-audit/{self.model.audited_name or self.name}"


def _check_track(track: str | None, metrics: list[str]) -> None:
    """`track` goes with the track_share metric (a track's share), and only with it."""
    if track is not None and TRACK_METRIC not in metrics:
        raise ValueError(
            f"metric '{TRACK_METRIC}' with 'track' (a track names the share of a multiclass "
            f"decision; the rule's metrics {', '.join(metrics)} are of a binary one)"
        )


def rule_tracks(rule: ThresholdRule | SignificanceRule) -> bool:
    """Whether the rule reads track shares (and so needs a multiclass decision)."""
    if isinstance(rule, ThresholdRule):
        return rule.metric == TRACK_METRIC
    return TRACK_METRIC in rule.no_significant_disparity


def _check_metric(value: str, *, named: bool = False) -> str:
    """A metric a rule can name: a tested metric, or (`named`) one of aif360's named disparities.

    The named disparities (average odds difference and the like) have no test, so only
    threshold rules can bound them.
    """
    allowed = TESTED_METRICS + (NAMED_DISPARITY_NAMES if named else ()) + (TRACK_METRIC,)
    if value in allowed:
        return value
    if value in NAMED_DISPARITY_NAMES:
        raise ValueError(
            f"one of the tested metrics {', '.join(TESTED_METRICS)}; '{value}' has no test of "
            "its own: bound it with a threshold rule, or test its components (tpr, fpr, ppv)"
        )
    raise ValueError(f"one of the metrics {', '.join(allowed)}")


# --- loading ----------------------------------------------------------------------------------


def load_spec(path: str | Path, *, engine: Any = None) -> AuditSpec:
    """Read and validate a spec file; relative paths in it are taken from the current directory.

    `engine` replaces the spec's `engine` key (the command line's --engine), before validation.
    """
    path = Path(path)
    return parse_spec(read_spec_text(path), source=str(path), engine=engine)


def read_spec_text(path: Path) -> str:
    """The text of a spec file, or a message saying why it cannot be read as one."""
    subject = f"audit spec '{path}'"
    if path.is_dir():
        raise AuditInputError(
            subject,
            expected="a YAML file",
            found="a directory",
            fix=f"give the path of the spec file inside it; {EXAMPLES_HINT}",
        )
    if not path.is_file():
        raise AuditInputError(
            subject,
            expected="an existing YAML file",
            found="no such file",
            fix=f"check the path; {EXAMPLES_HINT}",
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AuditInputError(
            subject,
            expected="a file this user can read",
            found=err.strerror or type(err).__name__,
            fix="check the file's permissions",
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise AuditInputError(
            f"{path}:{line}",
            expected="a spec in UTF-8 text",
            found=f"the byte 0x{data[err.start]:02x}, which is not UTF-8 (a Latin-1 or "
            "Windows-1252 file, or not a text file at all)",
            fix="save the spec as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.yaml > out.yaml)",
        ) from None


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key written twice in one mapping; PyYAML would silently keep the last value."""

    def __init__(self, key: str, first: yaml.Mark, second: yaml.Mark) -> None:
        super().__init__(problem=f"the key '{key}' twice", problem_mark=second)
        self.key, self.first_line, self.second_line = key, first.line + 1, second.line + 1


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (`<<` merges may still override)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], yaml.Mark] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise _DuplicateKey(key_node.value, seen[key], key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _merged_engine(own: Any, asked: Any) -> Any:
    """--spark-master keeps the spec's own Spark settings (its conf) and changes the master."""
    if isinstance(asked, dict) and isinstance(own, dict) and isinstance(own.get("spark"), dict):
        mine, theirs = own["spark"], asked["spark"]
        merged = {**mine, **theirs}
        if isinstance(mine.get("conf"), dict) and "conf" in theirs:
            merged["conf"] = {**mine["conf"], **theirs["conf"]}
        return {"spark": merged}
    if asked == {"spark": {}} and own == "spark":
        return own
    return asked


def parse_spec(text: str, *, source: str = "<spec>", engine: Any = None) -> AuditSpec:
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no code runs
        root = yaml.compose(text)
    except _DuplicateKey as err:
        raise AuditInputError(
            f"{source}:{err.second_line}",
            expected="each key once in a mapping",
            found=f"the key '{err.key}' on line {err.first_line} and again on line "
            f"{err.second_line}",
            fix="keep one of the two (YAML would silently use the last one)",
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = str(getattr(err, "problem", err)).removeprefix("found ")
        tab = "'\\t'" in problem  # PyYAML's words for a tab are not a reader's
        fix = "check indentation and quoting on that line"
        if tab:
            problem, fix = (
                "a tab character, which YAML does not allow for indentation",
                ("indent with spaces, not tabs"),
            )
        elif problem.startswith("undefined alias"):
            fix = "define the anchor (&NAME) before the alias (*NAME) that uses it"
        raise AuditInputError(where, expected="valid YAML", found=problem, fix=fix) from None
    if not isinstance(document, dict):
        kinds = {list: "a list", str: "a single text", int: "a number", float: "a number"}
        raise AuditInputError(
            source,
            expected="a YAML mapping with keys such as name, data, model, attributes",
            found="an empty file"
            if document is None
            else kinds.get(type(document), type(document).__name__),
            fix=EXAMPLES_HINT,
        )
    if engine is not None:
        document = {**document, "engine": _merged_engine(document.get("engine"), engine)}
    try:
        return AuditSpec.model_validate(document)
    except ValidationError as err:
        raise _spec_error(err, root, source) from None


def _spec_error(err: ValidationError, root: yaml.Node | None, source: str) -> AuditInputError:
    """The first problem, with the file line and dotted key it is on."""
    first = err.errors()[0]
    # Tags of the unions follow a list index (rules[0].threshold.max_abs); they are not keys,
    # but a key may have a tag's name (decision.threshold), so only those after an index go.
    raw = list(first["loc"])
    loc = [
        p
        for i, p in enumerate(raw)
        if not (
            i > 0
            and isinstance(raw[i - 1], int)
            and p in {"threshold", "significance", *_FACTOR_TAGS}
        )
        and p not in ("numpy-engine", "spark-engine")  # the engine's tags are never keys
    ]
    problem = first.get("ctx", {}).get("error")
    if isinstance(problem, SpecProblem):
        loc += problem.at
    kind = first["type"]
    tagged = first.get("ctx", {})
    if kind in ("union_tag_invalid", "union_tag_not_found"):  # e.g. `check: H9` in checks:
        loc = [*loc, str(tagged.get("discriminator", "")).strip("'")]
    bad_key = None
    if "[key]" in loc:  # a mapping key that is not allowed: name the mapping, show the key
        bad_key = loc[loc.index("[key]") - 1]
        loc = loc[: loc.index("[key]") - 1]
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    line = _line_of(root, loc)
    where = f"{source}:{line}" if line else source
    message = first["msg"].removeprefix("Value error, ")
    if kind == "union_tag_invalid":
        expected, found = f"one of {tagged.get('expected_tags')}", json.dumps(tagged.get("tag"))
    elif kind in ("missing", "union_tag_not_found"):
        expected, found = "this key, which is required", "nothing"
    elif kind == "extra_forbidden":
        expected, found = "only known keys here", "an unknown key"
    elif isinstance(problem, SpecProblem):
        expected, found = message, problem.found
    else:
        message = message.removeprefix("Input should be ")
        expected = message[0].lower() + message[1:]
        found = json.dumps(bad_key if bad_key is not None else first.get("input"), default=str)
        if len(found) > 120:
            found = found[:117] + "..."
        if bad_key is not None:
            expected = f"keys {expected}"
    others = len(err.errors()) - 1
    fix = problem.fix if isinstance(problem, SpecProblem) and problem.fix else EXAMPLES_HINT
    fix += f" ({others} more problem(s) after this one)" if others else ""
    return AuditInputError(
        f"{where}: key '{key or '(top level)'}'", expected=expected, found=found, fix=fix
    )


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def spec_schema() -> str:
    """The JSON schema of the spec, for editors and for `audit run --schema`."""
    return json.dumps(AuditSpec.model_json_schema(by_alias=True), indent=1)
