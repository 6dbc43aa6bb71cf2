"""What the H3 and H4 tests share: a table we did not make, real models with known weights, and a
context to run the checks in.

The Dutch table (400 people by default) has documents coded "ja"/"nee", 1.0/0.0 with gaps, and
True/False; digital traces under their own names; housing and digital skills as groups, with
labels of their own. Nothing in it is named as in the synthetic population.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from audit.checks.base import Attribute, CheckContext
from audit.models.importing import AuditableModel, ModelIdentity, PipelineModel
from audit.models.inputs import infer_input_columns, prepare_inputs
from audit.models.training import build_pipeline

DOCS = ["diploma_aanwezig", "adres_gekend", "identiteitskaart"]
TRACES = ["cv_online", "aanmeldingen_90d", "profiel_volledig"]
FEATURES = ["capaciteit", *DOCS, *TRACES]


def dutch_people(n: int = 400, seed: int = 5) -> pd.DataFrame:
    """Job seekers of a Dutch-speaking service. The homeless (dakloos) lack documents more often;
    people with few computer skills (laag) leave fewer digital traces. `uitstroom` (work found)
    depends on capacity, on the diploma and address on file, and on the online CV."""
    rng = np.random.default_rng(seed)
    housing = rng.choice(["eigen", "huur", "dakloos"], n, p=[0.55, 0.3, 0.15])
    skills = rng.choice(["laag", "gemiddeld", "goed"], n, p=[0.35, 0.35, 0.3])
    homeless = housing == "dakloos"
    diploma = rng.random(n) < np.where(homeless, 0.45, 0.85)
    address = np.where(rng.random(n) < np.where(homeless, 0.5, 0.97), 1.0, 0.0)
    address[homeless & (rng.random(n) < 0.3)] = np.nan  # not recorded: missing too
    id_card = rng.random(n) < np.where(homeless, 0.6, 0.97)
    level = np.select([skills == "laag", skills == "gemiddeld"], [0.0, 1.0], 2.0)
    cv = rng.random(n) < 0.1 + 0.3 * level
    logins = rng.poisson(1 + 4 * level)
    profile = np.clip(0.3 + 0.25 * level + 0.1 * rng.standard_normal(n), 0, 1)
    capacity = rng.standard_normal(n)
    logit = -0.5 + 1.2 * capacity + 1.0 * diploma + 1.0 * np.nan_to_num(address) + 0.9 * cv
    work = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "dossier": np.arange(n),
            "woonsituatie": housing,
            "digitale_vaardigheid": skills,
            "capaciteit": capacity.round(3),
            "diploma_aanwezig": np.where(diploma, "ja", "nee"),
            "adres_gekend": address,
            "identiteitskaart": id_card,
            "cv_online": cv,
            "aanmeldingen_90d": logins,
            "profiel_volledig": profile.round(3),
            "uitstroom": work.astype(int),
        }
    )


def fitted_model(people: pd.DataFrame, features: Sequence[str], label: str) -> AuditableModel:
    """The project's own logistic pipeline, learnt from `people`: a real model to call."""
    inputs = infer_input_columns(people, list(features))
    pipeline = build_pipeline(inputs, algorithm="logistic", seed=0)
    pipeline.fit(prepare_inputs(inputs, people), people[label].to_numpy())
    return PipelineModel(pipeline, ModelIdentity(kind="skops", uri="test model", sha256=""), inputs)


def weighted_model(
    people: pd.DataFrame, weights: dict[str, float], intercept: float
) -> AuditableModel:
    """A logistic regression whose weights are set by hand (logit = intercept + sum w * x), so
    that a test can compute the scores it must give by hand. Fitted once to have its shape."""
    inputs = infer_input_columns(people, list(weights))
    x = prepare_inputs(inputs, people)
    classifier = LogisticRegression().fit(x, np.arange(len(x)) % 2)
    classifier.coef_ = np.array([list(weights.values())], dtype=np.float64)
    classifier.intercept_ = np.array([intercept], dtype=np.float64)
    return PipelineModel(
        classifier, ModelIdentity(kind="skops", uri="weighted model", sha256=""), inputs
    )


def context(
    people: pd.DataFrame,
    model: AuditableModel | None,
    attributes: Sequence[Attribute],
    *,
    table: pd.DataFrame | None = None,
    factors: Sequence[str] = (),
    seed: int = 0,
) -> CheckContext:
    return CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index) if table is None else table,
        model=model,
        attributes=tuple(attributes),
        factors=tuple(factors),
        factor_bins={},
        seed=seed,
    )


def every_interval_holds_its_estimate(evidence: Sequence[object]) -> bool:
    for e in evidence:
        est, low, high = (getattr(e, k) for k in ("estimate", "ci_low", "ci_high"))
        if est is not None and low is not None and high is not None and not low <= est <= high:
            return False
    return True
