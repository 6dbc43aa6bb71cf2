"""Each check run on synthetic populations where the answer is known, over many seeds.

A trial names a check, the scenario that injects its harm (at the documented default strength),
and how to read the row-level truth of the cases it should flag. Run over seeds, it gives the
check's power (share of harm-scenario seeds with a finding), its false-finding rate (share of
`no_bias` seeds with one: the same people, nothing injected) and, for checks that flag cases,
their precision and recall against the truth. The tests hold each check to power >= 0.9 and a
false-finding rate <= 0.05; `benchmarks/bench_harm_checks.py` prints the table for the README.

The audited outputs are the synthetic public employment service's own (its score, its track,
the 6-month job outcome), read as a decisions file would give them. A check that re-scores
people (flips) calls the model its trial trains for each seed instead, one for the harm scenario
and one for the null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.checks.base import Attribute, CheckContext, CheckParams
from audit.checks.flips import FlipParams
from audit.checks.label_choice import LabelChoiceParams
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.data import generate_population

if TYPE_CHECKING:
    from audit.models.importing import AuditableModel

Truth = Callable[[pd.DataFrame], np.ndarray]
ModelFactory = Callable[[int], "AuditableModel"]  # the seed -> the model a check calls


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
    # The model the check calls on the harm scenario and on the null one (None: a decisions
    # file, the synthetic service's own outputs).
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
    trial: Trial, people: pd.DataFrame, seed: int, model: AuditableModel | None = None
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
    )


def run_trial(trial: Trial, seeds: Sequence[int]) -> TrialResult:
    harm: list[str] = []
    null: list[str] = []
    flagged = true_flagged = truth_total = 0
    for seed in seeds:
        for scenario, knobs, sink, factory in (
            (trial.scenario, trial.knobs, harm, trial.model),
            (trial.null_scenario, {}, null, trial.null_model),
        ):
            people = generate_population(trial.n, scenario=scenario, seed=seed, **knobs).people
            model = factory(seed) if factory is not None else None
            (outcome,) = run_checks([trial.check], context(trial, people, seed, model))
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

#: What the flip trials' track recommenders read besides the attribute and its proxy.
FLIP_FEATURES = ("pes_score", "education", "age_band")


def track_model(
    scenario: str, features: Sequence[str], seed: int, *, n: int = 4_000
) -> AuditableModel:
    """A track recommender trained on the scenario's past recommendations, other people than
    the audited ones (seed + 100,000): a logistic pipeline as the shipped models are."""
    from audit.models.importing import ModelIdentity, PipelineModel
    from audit.models.inputs import infer_input_columns, prepare_inputs
    from audit.models.training import build_pipeline

    people = generate_population(n, scenario=scenario, seed=seed + 100_000, validate=False).people
    inputs = infer_input_columns(people, list(features))
    pipeline = build_pipeline(inputs, algorithm="logistic", seed=seed)
    pipeline.fit(prepare_inputs(inputs, people), people["recommended_track"].astype(str))
    uri = f"known-truth:{scenario}:{'+'.join(features)}:{seed}"
    return PipelineModel(pipeline, ModelIdentity(kind="skops", uri=uri, sha256=""), inputs)


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
        name="CF flips (model reads the steered attribute)",
        check=FlipParams(
            check="flips", attribute="mental_health_history", proxies=["housing_status"]
        ),
        scenario="h1_steering",
        attributes=(MENTAL_HEALTH,),
        n=6_000,  # about 540 people with a history: enough to place 0 flips below 1%
        # Must flip: trained on steered recommendations, with the attribute and its proxy.
        model=partial(
            track_model,
            "h1_steering",
            (*FLIP_FEATURES, "housing_status", "mental_health_history"),
        ),
        # Must not: a recommender that reads neither the attribute nor its proxy.
        null_model=partial(track_model, "no_bias", FLIP_FEATURES),
    ),
    Trial(
        name="H5 label choice (sustainable x0.6)",
        # The service's score judged against its label job_28d_6m and against sustainable_12m.
        check=LabelChoiceParams(check="label_choice", attributes=["origin"]),
        scenario="h5_label",
        attributes=(Attribute("origin", "belgian"),),
    ),
)
