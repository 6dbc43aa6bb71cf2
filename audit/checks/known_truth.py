"""Each check run on synthetic populations where the answer is known, over many seeds.

A trial names a check, the scenario that injects its harm (at the documented default strength),
and how to read the row-level truth of the cases it should flag. Run over seeds, it gives the
check's power (share of harm-scenario seeds with a finding), its false-finding rate (share of
`no_bias` seeds with one: the same people, nothing injected) and, for checks that flag cases,
their precision and recall against the truth. The tests hold each check to power >= 0.9 and a
false-finding rate <= 0.05; `benchmarks/bench_harm_checks.py` prints the table for the README.

The audited outputs are the synthetic public employment service's own (its score, its track,
the 6-month job outcome), read as a decisions file would give them. A trial whose check re-scores
people also gets a model to call, made for each seed: `pes_score_model` (H3, H4), the service's
score learnt from the population itself, or `track_model` (flips), a recommender trained on other
people, with `null_model` the one called on the null scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from audit.checks.base import Attribute, CheckContext, CheckParams
from audit.checks.flips import FlipParams
from audit.checks.label_choice import LabelChoiceParams
from audit.checks.matching import MatchingParams
from audit.checks.missing_papers import MissingPapersParams
from audit.checks.mobility import MobilityParams
from audit.checks.proxies import ProxyParams
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.checks.thresholds import ThresholdParams
from audit.checks.training import Eligibility, TrainingParams
from audit.data import generate_population
from audit.models.importing import AuditableModel, ModelIdentity, PipelineModel
from audit.models.inputs import infer_input_columns, prepare_inputs

Truth = Callable[[pd.DataFrame], np.ndarray]
ModelFactory = Callable[[pd.DataFrame, int], AuditableModel]  # (people, seed) -> the model


@dataclass(frozen=True)
class Trial:
    name: str
    check: CheckParams
    scenario: str
    attributes: tuple[Attribute, ...]
    n: int = 40_000
    knobs: Mapping[str, Any] = field(default_factory=dict)
    factors: tuple[str, ...] = ()
    factor_bins: Mapping[str, int] = field(default_factory=dict)
    truth: Truth | None = None  # row-level truth of the cases the check should flag
    null_scenario: str = "no_bias"
    rankings_k: int | None = None  # rank this many vacancies per person (H6, H7)
    # The model the check calls (re-scoring checks; None: the service's own outputs, as a
    # decisions file gives them), and the one called on the null scenario (default: the same).
    model: ModelFactory | None = None
    null_model: ModelFactory | None = None


@dataclass(frozen=True)
class TrialResult:
    trial: Trial
    seeds: int
    power: float
    false_finding_rate: float
    precision: float | None
    recall: float | None
    harm_statuses: tuple[str, ...]
    null_statuses: tuple[str, ...]


def pes_table(people: pd.DataFrame) -> pd.DataFrame:
    """The synthetic service's outputs in the outputs step's columns."""
    return pd.DataFrame(
        {
            "_track": people["recommended_track"],
            "_score": people["pes_score"].to_numpy(),
            "_outcome": people["job_28d_6m"].to_numpy().astype(np.int8),
        },
        index=people.index,
    )


def context(
    trial: Trial,
    people: pd.DataFrame,
    seed: int,
    rankings: pd.DataFrame | None = None,
    model: AuditableModel | None = None,
) -> CheckContext:
    return CheckContext(
        people=people,
        table=pes_table(people),
        model=model,
        attributes=trial.attributes,
        factors=trial.factors,
        factor_bins=trial.factor_bins,
        seed=seed,
        outcome="job_28d_6m",
        rankings=rankings,
    )


def run_trial(trial: Trial, seeds: Sequence[int], *, n: int | None = None) -> TrialResult:
    """The trial over `seeds`, on `n` people each (default: the trial's own size)."""
    harm: list[str] = []
    null: list[str] = []
    flagged = true_flagged = truth_total = 0
    for seed in seeds:
        for scenario, knobs, sink, factory in (
            (trial.scenario, trial.knobs, harm, trial.model),
            (trial.null_scenario, {}, null, trial.null_model or trial.model),
        ):
            population = generate_population(n or trial.n, scenario=scenario, seed=seed, **knobs)
            people = population.people
            rankings = population.rank_vacancies(k=trial.rankings_k) if trial.rankings_k else None
            model = factory(people, seed) if factory is not None else None
            (outcome,) = run_checks([trial.check], context(trial, people, seed, rankings, model))
            sink.append(outcome.status)
            if sink is harm and trial.truth is not None:
                truth = trial.truth(people)
                rows = np.array([c.row for c in outcome.cases], dtype=np.int64)
                flagged += rows.size
                true_flagged += int(truth[rows].sum())
                truth_total += int(truth.sum())
    return TrialResult(
        trial=trial,
        seeds=len(seeds),
        power=harm.count("finding") / len(seeds),
        false_finding_rate=null.count("finding") / len(seeds),
        precision=true_flagged / flagged if trial.truth is not None and flagged else None,
        recall=true_flagged / truth_total if trial.truth is not None and truth_total else None,
        harm_statuses=tuple(harm),
        null_statuses=tuple(null),
    )


def steered_below_capacity(people: pd.DataFrame) -> np.ndarray:
    """Sent to sheltered work although their capacity warrants training or a regular job."""
    sent = people["recommended_track"].to_numpy() == "sheltered"
    warranted = people["warranted_track"].astype(str).to_numpy()
    return np.asarray(sent & np.isin(warranted, ["training", "regular"]), dtype=bool)


def training_withheld_below_capacity(people: pd.DataFrame) -> np.ndarray:
    """Warranted training, and recommended a track below it (sheltered work or care)."""
    warranted = people["warranted_track"].astype(str).to_numpy() == "training"
    given = people["recommended_track"].astype(str).to_numpy()
    return np.asarray(warranted & np.isin(given, ["sheltered", "care"]), dtype=bool)


MENTAL_HEALTH = Attribute("mental_health_history", "False")
BENEFIT = Attribute("benefit_status", "unemployment_benefit")
ORIGIN = Attribute("origin", "belgian")
WARRANTED_TRAINING = Eligibility(column="warranted_track", values=["training"])

TRIALS: tuple[Trial, ...] = (
    Trial(
        name="H1 steering (sheltered odds x3)",
        check=SteeringParams(check="steering", track="sheltered", cases=True),
        scenario="h1_steering",
        attributes=(MENTAL_HEALTH,),
        # The synthetic service recommends on its score: people alike in it are comparable.
        factors=("pes_score",),
        factor_bins={"pes_score": 20},
        truth=steered_below_capacity,
    ),
    Trial(
        name="H1 steering, factors an analyst has (counsellor assessment, education)",
        check=SteeringParams(check="steering", track="sheltered", cases=True),
        scenario="h1_steering",
        attributes=(MENTAL_HEALTH,),
        factors=("counsellor_assessment", "education"),
        truth=steered_below_capacity,
    ),
    Trial(
        name="H2 training access (training odds x0.4)",
        check=TrainingParams(check="training", eligible=WARRANTED_TRAINING, cases=True),
        scenario="h2_training_access",
        attributes=(BENEFIT,),
        n=10_000,
        # The harm is injected at equal PES score: eligible people alike in it are comparable.
        factors=("pes_score",),
        factor_bins={"pes_score": 20},
        truth=training_withheld_below_capacity,
    ),
    Trial(
        name="H2 training access, raw rates (training odds x0.4)",
        check=TrainingParams(check="training", eligible=WARRANTED_TRAINING, factors=[]),
        scenario="h2_training_access",
        attributes=(BENEFIT,),
        n=10_000,
    ),
    Trial(
        # Foreign diplomas are often not on file (non-EU 55%, Belgian 95%): the score's penalty
        # per missing document judges non-EU people who do find work low chance more often.
        name="AT thresholds (missing-document penalty 0.7)",
        check=ThresholdParams(check="thresholds"),
        scenario="h3_missing_documents",
        attributes=(ORIGIN,),
        n=10_000,
    ),
    # H6: the matcher's distance weight for people without a car at a fifth of the fair one. Where
    # people live (distance to the job hubs) and their track are held equal, as the generator
    # does; housing is compared as well.
    Trial(
        name="H6 mobility (distance weight x0.2)",
        check=MobilityParams(check="mobility"),
        scenario="h6_mobility",
        attributes=(Attribute("has_car", "True"),),
        n=4_000,
        factors=("recommended_track", "distance_to_jobs_km"),
        factor_bins={"distance_to_jobs_km": 5},
        rankings_k=10,
    ),
    # H7: the matcher reads the qualification of people with a mental-health history one level
    # lower; under-matching and exposure, at equal qualification and track.
    Trial(
        name="H7 under-matching (1 level)",
        check=MatchingParams(check="undermatching"),
        scenario="h7_undermatching",
        attributes=(MENTAL_HEALTH,),
        n=4_000,
        factors=("education", "recommended_track"),
        rankings_k=10,
    ),
    Trial(
        name="H7 exposure at their level (1 level)",
        check=MatchingParams(check="undermatching", measures=["exposure_ratio"]),
        scenario="h7_undermatching",
        attributes=(MENTAL_HEALTH,),
        n=4_000,
        factors=("education", "recommended_track"),
        rankings_k=10,
    ),
)


# --- a model to call, for the checks that re-score people (H3, H4) ---------------------------

#: What the synthetic service's score is computed from (`audit.data.population`): capacity, the
#: documents (H3) and the digital traces (H4).
SCORE_INPUTS = (
    "latent_work_capacity",
    "diploma_on_file",
    "address_on_file",
    "id_on_file",
    "online_cv_updated",
    "registered_online",
    "profile_completeness",
    "logins_90d",
)


class ScoreLogit(ClassifierMixin, BaseEstimator):
    """A linear regression of a score's logit, read back as the probability of class 1."""

    def fit(self, x: np.ndarray, score: np.ndarray) -> ScoreLogit:
        clipped = np.clip(np.asarray(score, dtype=np.float64), 1e-12, 1 - 1e-12)
        self.regression_ = LinearRegression().fit(x, np.log(clipped / (1 - clipped)))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.regression_.predict(x)))
        return np.column_stack([1.0 - p, p])


def _logit(x: np.ndarray) -> np.ndarray:
    c = np.clip(x, 1e-9, 1 - 1e-9)
    return np.asarray(np.log(c / (1 - c)))


def pes_score_model(people: pd.DataFrame, seed: int = 0) -> AuditableModel:
    """The service's score as a model to call: learnt from `people`' own `pes_score`.

    The score's logit is linear in the logit of capacity, the documents, the traces and the log
    of the logins, so the regression recovers it exactly: the learnt model penalises missing
    documents (or rewards traces) by what the scenario injected, and by nothing (up to rounding)
    in `no_bias`. A model learnt from observed features only would carry a small estimated
    weight on the documents even in `no_bias`, a real (if tiny) penalty of that model, which a
    check on a fixed model rightly reports; the trial needs a model without one.
    """
    inputs = infer_input_columns(people, SCORE_INPUTS)
    rest = [c for c in SCORE_INPUTS if c not in ("latent_work_capacity", "logins_90d")]
    prepare = ColumnTransformer(
        [
            ("capacity", FunctionTransformer(_logit), ["latent_work_capacity"]),
            ("logins", FunctionTransformer(np.log1p), ["logins_90d"]),
            ("rest", "passthrough", rest),
        ]
    )
    pipeline = Pipeline([("prepare", prepare), ("score", ScoreLogit())])
    pipeline.fit(prepare_inputs(inputs, people), people["pes_score"].to_numpy())
    identity = ModelIdentity(
        kind="skops", uri="known-truth trial: the PES score, learnt", sha256=""
    )
    return PipelineModel(pipeline, identity, inputs)


# --- a recommender to call, for the counterfactual flips --------------------------------------

FLIP_FEATURES = ("pes_score", "education", "age_band")


def track_model(
    scenario: str, features: Sequence[str], seed: int, *, n: int = 4_000
) -> AuditableModel:
    """A track recommender trained on the scenario's past recommendations of other people than
    the audited ones (seed + 100,000), a logistic pipeline as the shipped models are."""
    from audit.models.training import build_pipeline

    past = generate_population(n, scenario=scenario, seed=seed + 100_000, validate=False).people
    inputs = infer_input_columns(past, list(features))
    pipeline = build_pipeline(inputs, algorithm="logistic", seed=seed)
    pipeline.fit(prepare_inputs(inputs, past), past["recommended_track"].astype(str))
    uri = f"known-truth:{scenario}:{'+'.join(features)}:{seed}"
    return PipelineModel(pipeline, ModelIdentity(kind="skops", uri=uri, sha256=""), inputs)


def trained_recommender(scenario: str, features: Sequence[str]) -> ModelFactory:
    """A trial's model: `track_model` for each seed (the audited people are not read: the
    model must not have seen them)."""
    return lambda people, seed: track_model(scenario, features, seed)


HOUSING = Attribute("housing_status", "stable")
LITERACY = Attribute("digital_literacy", "high")

TRIALS = (
    *TRIALS,
    Trial(
        name="H3 missing papers (score logit -0.7 per document)",
        check=MissingPapersParams(check="missing_papers"),
        scenario="h3_missing_documents",
        attributes=(HOUSING,),
        n=4_000,
        model=pes_score_model,
    ),
    Trial(
        name="H4 digital proxies (score logit +0.8 per SD of traces)",
        check=ProxyParams(check="digital_proxies", cv_rows=2_000, folds=3),
        scenario="h4_digital_proxy",
        attributes=(LITERACY,),
        n=4_000,
        model=pes_score_model,
    ),
    Trial(
        name="CF flips (model reads the steered attribute)",
        check=FlipParams(
            check="flips", attribute="mental_health_history", proxies=["housing_status"]
        ),
        scenario="h1_steering",
        attributes=(MENTAL_HEALTH,),
        n=6_000,  # about 540 people with a history: enough to place 0 flips below 1%
        # Must flip: trained on steered recommendations, with the attribute and its proxy.
        model=trained_recommender(
            "h1_steering", (*FLIP_FEATURES, "housing_status", "mental_health_history")
        ),
        # Must not: a recommender that reads neither the attribute nor its proxy.
        null_model=trained_recommender("no_bias", FLIP_FEATURES),
    ),
    Trial(
        name="H5 label choice (sustainable x0.6)",
        # The service's score judged against its label job_28d_6m and against sustainable_12m.
        check=LabelChoiceParams(check="label_choice", attributes=["origin"]),
        scenario="h5_label",
        attributes=(Attribute("origin", "belgian"),),
    ),
)
