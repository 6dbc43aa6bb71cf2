"""Each check run on synthetic populations where the answer is known, over many seeds.

A trial names a check, the scenario that injects its harm (at the documented default strength),
and how to read the row-level truth of the cases it should flag. Run over seeds, it gives the
check's power (share of harm-scenario seeds with a finding), its false-finding rate (share of
`no_bias` seeds with one: the same people, nothing injected) and, for checks that flag cases,
their precision and recall against the truth. The tests hold each check to power >= 0.9 and a
false-finding rate <= 0.05; `benchmarks/bench_harm_checks.py` prints the table for the README.

The audited outputs are the synthetic public employment service's own (its score, its track,
the 6-month job outcome), read as a decisions file would give them. A trial whose check re-scores
people (H3, H4) also gets a model to call: `pes_score_model`, the service's score learnt from the
population itself.
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
from audit.checks.missing_papers import MissingPapersParams
from audit.checks.proxies import ProxyParams
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.data import generate_population
from audit.models.importing import AuditableModel, ModelIdentity, PipelineModel
from audit.models.inputs import infer_input_columns, prepare_inputs

Truth = Callable[[pd.DataFrame], np.ndarray]
ModelFactory = Callable[[pd.DataFrame], AuditableModel]  # a model learnt from the people


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
    model: ModelFactory | None = None  # a model to call (re-scoring checks); None: decisions


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


def context(trial: Trial, people: pd.DataFrame, seed: int) -> CheckContext:
    return CheckContext(
        people=people,
        table=pes_table(people),
        model=trial.model(people) if trial.model is not None else None,
        attributes=trial.attributes,
        factors=trial.factors,
        factor_bins=trial.factor_bins,
        seed=seed,
        outcome="job_28d_6m",
    )


def run_trial(trial: Trial, seeds: Sequence[int]) -> TrialResult:
    harm: list[str] = []
    null: list[str] = []
    flagged = true_flagged = truth_total = 0
    for seed in seeds:
        for scenario, knobs, sink in (
            (trial.scenario, trial.knobs, harm),
            (trial.null_scenario, {}, null),
        ):
            people = generate_population(trial.n, scenario=scenario, seed=seed, **knobs).people
            (outcome,) = run_checks([trial.check], context(trial, people, seed))
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


MENTAL_HEALTH = Attribute("mental_health_history", "False")

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


def pes_score_model(people: pd.DataFrame) -> AuditableModel:
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
)
