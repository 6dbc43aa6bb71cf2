"""The embedded default, end to end: synthetic population -> model -> audit -> MLflow + reports.

This is what the README's first command runs. It uses only public pieces of the package, in the
order an analyst would: generate people with every harm injected, train the reference profiling
model, register it in the local MLflow store, load it back through the import interface (as an
audit of a registered model does), allocate support bands, and assess the decisions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from audit.data import generate_population
from audit.files import write_atomically
from audit.models.importing import load_model
from audit.models.mlflow_io import log_trained_model
from audit.models.training import BandPolicy, FeatureSet, train_profiling_model
from audit.stats.assess import assess
from audit.stats.cli import console as make_console
from audit.stats.cli import print_summary

PROTECTED = ["mental_health_history", "housing_status", "digital_literacy"]
MODEL_NAME = "profiling-reference"


def run_demo(
    *,
    out_dir: Path = Path("reports/demo"),
    tracking_uri: str = "sqlite:///mlruns/mlflow.db",
    n: int = 60_000,
    seed: int = 7,
    console: Console | None = None,
) -> Path:
    console = console or make_console()
    console.print(f"Generating {n:,} synthetic job seekers (scenario all_harms, seed {seed})")
    people = generate_population(n, scenario="all_harms", seed=seed).people
    train, audited = people.iloc[: n // 2], people.iloc[n // 2 :].reset_index(drop=True)

    console.print("Training the reference profiling model (logistic regression, full features)")
    trained = train_profiling_model(train, features=FeatureSet.preset("full"), seed=seed)
    Path("mlruns").mkdir(exist_ok=True)
    logged = log_trained_model(
        trained, tracking_uri=tracking_uri, register=MODEL_NAME, alias="candidate"
    )
    uri = f"models:/{MODEL_NAME}@candidate"
    console.print(f"Registered {MODEL_NAME} version {logged.version}; auditing {uri}")

    model = load_model(uri, tracking_uri=tracking_uri)
    chance = model.predict_proba(audited)[:, 1]
    bands = BandPolicy().allocate(chance)
    # The decision examined: put in the "high chance" band, which gets no intensive support.
    # Its false negative rate among people who did find work is the misclassification
    # Desiere & Struyven (2021) measured for VDAB's model.
    decisions = pd.DataFrame(
        {
            "found_job": audited["job_28d_6m"].astype(int),
            "high_chance": (bands.band == "high").astype(int),
            "chance": chance,
            **{col: audited[col] for col in PROTECTED},
        }
    )
    result = assess(
        decisions,
        y_true="found_job",
        y_pred="high_chance",
        score="chance",
        groups=PROTECTED,
        intersections=2,
        n_boot=1000,
        seed=seed,
        reference={
            "mental_health_history": "False",
            "housing_status": "stable",
            "digital_literacy": "high",
        },
    )
    out = out_dir / "assessment.json"
    write_atomically(out, result.to_json())
    print_summary(result, console)
    console.print(f"\nFull result: {out}\nModel registry: {tracking_uri} (model {MODEL_NAME})")
    return out


def main(
    out_dir: Annotated[Path, typer.Option(help="Where the result is written.")] = Path(
        "reports/demo"
    ),
    tracking_uri: Annotated[str, typer.Option(help="MLflow store.")] = "sqlite:///mlruns/mlflow.db",
    n: Annotated[int, typer.Option(help="Number of synthetic job seekers.")] = 60_000,
    seed: Annotated[int, typer.Option(help="Seed for data, model and bootstrap.")] = 7,
) -> None:
    """Run the embedded default audit end to end."""
    run_demo(out_dir=out_dir, tracking_uri=tracking_uri, n=n, seed=seed)


if __name__ == "__main__":
    typer.run(main)
