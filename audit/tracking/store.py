"""Opening an MLflow store safely when several audits share it.

Two processes that find no SQLite database both run MLflow's schema migrations, and two that find
no experiment both create it; one of each pair would fail. A lock file beside the database makes
the second wait a moment instead, and an experiment created meanwhile elsewhere (a remote server
has no lock file) is read back rather than reported as an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from filelock import FileLock

if TYPE_CHECKING:
    from mlflow import MlflowClient

LOCK_TIMEOUT_S = 120


def local_store_folder(uri: str) -> Path:
    return Path(uri.removeprefix("sqlite:///")).parent


def default_artifact_location(tracking_uri: str) -> str | None:
    """Artifacts next to a SQLite store rather than in ./mlruns of whatever the cwd is."""
    if urlparse(tracking_uri).scheme == "sqlite" and tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        if not db.is_absolute():
            db = Path.cwd() / db
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Held while a SQLite store or one of its experiments is created; a no-op for servers."""
    if urlparse(uri).scheme != "sqlite":
        yield
        return
    folder = local_store_folder(uri)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".audit-store.lock"), timeout=LOCK_TIMEOUT_S):
        yield


def client_for(uri: str) -> MlflowClient:
    """A client bound to `uri` for tracking and registry, with the store created if new."""
    from mlflow import MlflowClient

    with store_lock(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_experiments(max_results=1)  # creates or migrates the store under the lock
    return client


def ensure_experiment(
    client: MlflowClient, uri: str, name: str, artifact_location: str | None = None
) -> str:
    """The id of experiment `name`, created (artifacts beside a SQLite store) if new."""
    from mlflow.exceptions import MlflowException

    with store_lock(uri):
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = artifact_location or default_artifact_location(uri)
        try:
            return str(client.create_experiment(name, artifact_location=location))
        except MlflowException:  # created meanwhile by an audit on another machine
            again = client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)
