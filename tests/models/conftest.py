"""Small job-seeker frames with a known structure, and a per-session MLflow store.

The frames are built here, not by the population generator, so these tests depend only on the
models package. The outcome depends strongly on months worked and the counsellor's assessment,
so a working model must reach a clearly better-than-chance AUC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.models.training import TRACKS, FeatureCatalogue

CATALOGUE = FeatureCatalogue(
    observed=("age_band", "gender", "education", "months_worked_3y", "counsellor_assessment",
              "distance_to_jobs_km"),
    digital_traces=("logins_90d", "online_cv_updated"),
    documents=("diploma_on_file",),
    sensitive=("age_band", "gender", "education", "mental_health_history", "housing_status"),
    recorded=("mental_health_history", "housing_status"),
)


def true_logit(months: np.ndarray, assessment: np.ndarray, mental: np.ndarray) -> np.ndarray:
    """Log-odds of a job in the frames below: the best any model can do."""
    return -2.0 + 0.08 * months + 0.5 * (assessment - 3) - 0.6 * mental


def make_people(n: int, seed: int) -> pd.DataFrame:
    """A people-like frame: categories, booleans, integers, floats with gaps, two labels."""
    rng = np.random.default_rng(seed)
    months = rng.integers(0, 37, n)
    assessment = rng.integers(1, 6, n)
    mental = rng.random(n) < 0.15
    housing = rng.choice(["stable", "unstable", "homeless"], n, p=[0.85, 0.1, 0.05])
    distance = rng.exponential(8.0, n)
    distance[rng.random(n) < 0.05] = np.nan
    eta = true_logit(months, assessment, mental)
    job = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
    track_idx = np.clip(3 - assessment // 2 - (months > 18) + mental, 0, 3)
    noise = rng.random(n) < 0.2
    track_idx = np.where(noise, rng.integers(0, 4, n), track_idx)
    return pd.DataFrame(
        {
            "person_id": [f"p{seed}-{i:05d}" for i in range(n)],
            "age_band": pd.Categorical(rng.choice(["18-24", "25-34", "35-44", "45-54"], n)),
            "gender": pd.Categorical(rng.choice(["female", "male"], n)),
            "education": pd.Categorical(rng.choice(["low", "medium", "high"], n)),
            "mental_health_history": mental,
            "housing_status": pd.Categorical(housing),
            "months_worked_3y": months,
            "counsellor_assessment": assessment,
            "distance_to_jobs_km": distance,
            "logins_90d": rng.poisson(4, n),
            "online_cv_updated": rng.random(n) < 0.5,
            "diploma_on_file": rng.random(n) < 0.8,
            "job_28d_6m": job,
            "recommended_track": pd.Categorical(np.asarray(TRACKS)[track_idx]),
        }
    )


@pytest.fixture(scope="session")
def people() -> pd.DataFrame:
    return make_people(3000, seed=7)


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite MLflow store for the session (never ./mlruns)."""
    db: Path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return f"sqlite:///{db}"
