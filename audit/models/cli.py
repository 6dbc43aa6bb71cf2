"""`audit model …`: train reference models and check an imported model against data.

Thin: every command parses options, calls the package API and prints. Errors are
:class:`audit.errors.AuditInputError`, which the entry point turns into exit code 2. Output files
are written only after everything that could fail has succeeded, so a failed run leaves nothing
half-written.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
import typer

from audit.errors import AuditInputError
from audit.files import require_writable, staged_files
from audit.numbers import fixed
from audit.tables import read_table

if TYPE_CHECKING:
    from audit.models.importing import AuditableModel
    from audit.models.training import FeatureCatalogue

models_app = typer.Typer(
    help="Train reference models, or check a model from elsewhere against data.",
    no_args_is_help=True,
)

KINDS = ("profiling", "track")
EXIT_INTERRUPTED = 130


@models_app.command("train")
def train(
    out: Annotated[Path, typer.Option("--out", help="Where to write the model (.skops).")],
    kind: Annotated[str, typer.Option("--kind", help="profiling or track.")] = "profiling",
    features: Annotated[
        str, typer.Option("--features", help="full, no_digital_traces or no_sensitive.")
    ] = "full",
    algorithm: Annotated[
        str, typer.Option("--algorithm", help="logistic or random_forest.")
    ] = "logistic",
    people: Annotated[
        Path | None, typer.Option("--people", help="People table (CSV/Parquet) to train on.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Public data set to train on: nsw_lalonde.")
    ] = None,
    population: Annotated[
        int, typer.Option("--population", help="Size of the generated population.")
    ] = 5000,
    scenario: Annotated[str, typer.Option("--scenario", help="Generator scenario.")] = "no_bias",
    seed: Annotated[int, typer.Option("--seed", help="Seed for data and model.")] = 0,
    target: Annotated[
        str | None, typer.Option("--target", help="Label column (default per kind).")
    ] = None,
    onnx_out: Annotated[
        Path | None, typer.Option("--onnx-out", help="Also write an ONNX model here.")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI to log to.")
    ] = None,
    register: Annotated[
        str | None, typer.Option("--register", help="Register under this model name.")
    ] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Point this registry alias at the new version.")
    ] = None,
) -> None:
    """Train a profiling or track model and save it as skops (and ONNX, and to MLflow)."""
    from audit.models import training

    _check_choice("--kind", kind, KINDS)
    _check_choice("--features", features, training.FEATURE_PRESETS)
    _check_choice("--algorithm", algorithm, training.ALGORITHMS)
    _check_suffix("--out", out, ".skops")
    if onnx_out is not None:
        _check_suffix("--onnx-out", onnx_out, ".onnx")
    if (register or alias) and not tracking_uri:
        raise AuditInputError(
            "--register/--alias",
            expected="an MLflow store to register in",
            found="no --tracking-uri",
            fix="add --tracking-uri, e.g. sqlite:///mlflow.db",
        )
    if alias and not register:
        raise AuditInputError(
            "--alias",
            expected="a registered model name to attach the alias to",
            found=f"--alias {alias} without --register",
            fix="add --register NAME",
        )
    # Everything that could fail at the end is checked before the training, not after it.
    require_writable(out, subject=f"--out '{out}'", folder=False)
    if onnx_out is not None:
        require_writable(onnx_out, subject=f"--onnx-out '{onnx_out}'", folder=False)
    if tracking_uri:
        from audit.tracking.store import require_reachable

        require_reachable(tracking_uri)
    with _interruptible():
        _train_and_write(
            out=out,
            kind=kind,
            features=features,
            algorithm=algorithm,
            data=(people, dataset, population, scenario, seed),
            target=target,
            onnx_out=onnx_out,
            tracking_uri=tracking_uri,
            register=register,
            alias=alias,
        )


class _Terminated(BaseException):
    """SIGTERM, raised where the process stands so that every `finally` runs.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` swallows it; not a
    KeyboardInterrupt, which CPython may remember and turn into death by SIGINT at exit.
    """


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM (a cancelled job, `timeout`) ends the command like Ctrl-C: temporary files go.

    Without this, SIGTERM kills the process where it stands and leaves the staged `.tmp.skops`
    file beside --out; as an exception, the cleanup of `staged_files` runs.
    """

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    try:
        yield
    except (KeyboardInterrupt, _Terminated):
        typer.secho("interrupted: no model file was written", fg=typer.colors.RED, err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _train_and_write(
    *,
    out: Path,
    kind: str,
    features: str,
    algorithm: str,
    data: tuple[Path | None, str | None, int, str, int],
    target: str | None,
    onnx_out: Path | None,
    tracking_uri: str | None,
    register: str | None,
    alias: str | None,
) -> None:
    from audit.models import training
    from audit.models.onnx_io import convert_pipeline, save_onnx
    from audit.models.skops_io import save_skops

    people, dataset, population, scenario, seed = data
    frame, catalogue, default_target = _training_data(people, dataset, population, scenario, seed)
    feature_set = training.FeatureSet.preset(features, catalogue)
    if kind == "profiling":
        model = training.train_profiling_model(
            frame,
            features=feature_set,
            algorithm=algorithm,  # type: ignore[arg-type]
            target=target or default_target,
            seed=seed,
        )
    else:
        model = training.train_track_model(
            frame,
            features=feature_set,
            algorithm=algorithm,  # type: ignore[arg-type]
            target=target or training.TRACK_TARGET,
            seed=seed,
        )
    proto = None
    if onnx_out is not None:
        proto = convert_pipeline(
            model.pipeline,
            model.inputs,
            classes=model.classes,
            metadata={"audit.task": model.task, "audit.features": feature_set.name},
        )

    # Files land only once everything, MLflow included, has succeeded.
    targets = [out] if onnx_out is None else [out, onnx_out]
    with staged_files(targets) as temps:
        save_skops(model.pipeline, temps[0])
        if proto is not None:
            save_onnx(proto, temps[1])
        logged = None
        if tracking_uri:
            from audit.models.mlflow_io import log_trained_model

            logged = log_trained_model(
                model, tracking_uri=tracking_uri, register=register, alias=alias
            )

    facts = model.describe()
    typer.echo(
        f"trained {kind} model ({algorithm}, features '{features}', "
        f"{facts['n_features']} columns) on {model.n_train} rows"
    )
    for name, value in model.holdout.items():
        typer.echo(f"held-out {name}: {fixed(value)}")
    typer.echo(f"wrote {out}" + (f" and {onnx_out}" if onnx_out else ""))
    if logged is not None:
        typer.echo(f"logged to MLflow: {logged.model_uri}")
        if logged.registry_uri:
            typer.echo(f"registered: {logged.registry_uri} (version {logged.version})")


@models_app.command("check")
def check(
    source: Annotated[str, typer.Argument(help="MLflow URI, .skops, .onnx or decisions file.")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Data (CSV/Parquet) to check the model on.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Public data set instead: nsw_lalonde.")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat extra columns in the data as an error.")
    ] = False,
    decision_column: Annotated[
        str | None, typer.Option("--decision-column", help="Decisions file: 0/1 decision.")
    ] = None,
    score_column: Annotated[
        str | None, typer.Option("--score-column", help="Decisions file: score in [0, 1].")
    ] = None,
    track_column: Annotated[
        str | None, typer.Option("--track-column", help="Decisions file: track.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Decisions file: id to match rows.")
    ] = None,
) -> None:
    """Load a model through the import interface, check it against data, summarise predictions."""
    from audit.models.importing import load_model
    from audit.models.inputs import require_input_columns

    if (data is None) == (dataset is None):
        raise AuditInputError(
            "check",
            expected="exactly one of --data FILE or --dataset NAME",
            found="both" if data is not None else "neither",
            fix="pass the data to check the model against",
        )
    model = load_model(
        source,
        tracking_uri=tracking_uri,
        decision_column=decision_column,
        score_column=score_column,
        track_column=track_column,
        id_column=id_column,
    )
    frame = read_table(data) if data is not None else _public_data(str(dataset))[0]
    result = require_input_columns(
        model.expected_columns, frame, model=f"{model.kind} model '{source}'", strict=strict
    )
    ident = model.identity
    ours = _task_of_ours(model, tracking_uri)
    what = f"task {ours}" if ours else f"a classifier of {len(model.classes)} classes"
    typer.echo(f"model: {ident.uri} ({ident.kind}, {what})")
    if ident.name or ident.version:
        typer.echo(f"registry: {ident.name} version {ident.version} (run {ident.run_id})")
    typer.echo(f"sha256: {ident.sha256}")
    if ident.file_sha256 and ident.file_sha256 != ident.sha256:
        typer.echo(f"file sha256: {ident.file_sha256}")
    typer.echo(
        f"reads {len(model.expected_columns)} columns: "
        + ", ".join(f"{c.name} ({c.kind})" for c in model.expected_columns)
    )
    if result.extra:
        typer.echo(f"ignored {len(result.extra)} other columns of the data")
    typer.echo(f"rows: {len(frame)}")
    _describe_predictions(model, frame, ours)


def _describe_predictions(model: AuditableModel, frame: pd.DataFrame, ours: str | None) -> None:
    """What the model predicts on the data, in its own terms: its classes and outputs.

    Chance of work and support bands are the terms of our profiling models only (the ones
    `audit model train --kind profiling` writes, which say so in their ONNX metadata or MLflow
    run); any other model is described by its class labels and output names.
    """
    from audit.models.training import BandPolicy

    classes = model.classes
    runner = getattr(model, "runner", None)
    if runner is not None:
        typer.echo(f"outputs: {', '.join(runner.output_names)}")
    has_scores = model.kind != "decisions" or getattr(model, "score_column", None) is not None
    if not has_scores:
        labels = pd.Series(model.predict(frame)).astype(str)
        typer.echo(f"classes: {', '.join(classes)} (decisions only, no probabilities)")
    else:
        proba = model.predict_proba(frame)
        labels = pd.Series(np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)])
        typer.echo(f"classes: {', '.join(classes)}")
        for i, label in enumerate(classes):
            typer.echo(f"mean predicted probability of class {label}: {fixed(proba[:, i].mean())}")
    shares = labels.value_counts(normalize=True)
    for label in classes:
        typer.echo(f"predicted {label}: {shares.get(label, 0.0):.1%}")
    if has_scores and len(classes) == 2 and ours == "profiling":
        scores = proba[:, 1]
        allocation = BandPolicy().allocate(scores)
        typer.echo(f"mean predicted chance of work: {fixed(scores.mean())}")
        for band in ("high", "medium", "low"):
            typer.echo(f"band {band}: {np.mean(allocation.band == band):.1%}")


def _task_of_ours(model: AuditableModel, tracking_uri: str | None) -> str | None:
    """The task `audit model train` recorded with the model, or None for a model from elsewhere."""
    runner = getattr(model, "runner", None)
    if runner is not None and "audit.task" in runner.metadata:
        return str(runner.metadata["audit.task"])
    run_id = model.identity.run_id
    if run_id is None:
        return None
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        # `audit model train` logs the training facts as the run's params (TrainedModel.describe).
        return MlflowClient(tracking_uri).get_run(run_id).data.params.get("task")
    except MlflowException:  # the run is gone or unreadable: describe the model generically
        return None


def _training_data(
    people: Path | None, dataset: str | None, population: int, scenario: str, seed: int
) -> tuple[pd.DataFrame, FeatureCatalogue, str]:
    from audit.models.training import PROFILING_TARGET, FeatureCatalogue

    if people is not None and dataset is not None:
        raise AuditInputError(
            "training data",
            expected="--people FILE or --dataset NAME, not both",
            found="both",
            fix="drop one of them",
        )
    if dataset is not None:
        return _public_data(dataset)
    if people is not None:
        from audit.data.schema import load_people

        return load_people(people), FeatureCatalogue.from_schema(), PROFILING_TARGET
    from audit.data import generate_population

    frame = generate_population(population, scenario=scenario, seed=seed).people
    return frame, FeatureCatalogue.from_schema(), PROFILING_TARGET


def _public_data(name: str) -> tuple[pd.DataFrame, FeatureCatalogue, str]:
    from audit.models import public_data
    from audit.models.training import FeatureCatalogue

    _check_choice("--dataset", name, (public_data.DATASET_NAME,))
    catalogue = FeatureCatalogue(
        observed=public_data.FEATURES, sensitive=public_data.SENSITIVE_ATTRIBUTES
    )
    return public_data.load_nsw(), catalogue, public_data.OUTCOME


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise AuditInputError(
            option,
            expected="one of " + ", ".join(choices),
            found=repr(value),
            fix=f"use {option} " + "|".join(choices),
        )


def _check_suffix(option: str, path: Path, suffix: str) -> None:
    if path.suffix.lower() != suffix:
        raise AuditInputError(
            option,
            expected=f"a file name ending in {suffix}",
            found=f"'{path}'",
            fix=f"name the output file *{suffix}",
        )
