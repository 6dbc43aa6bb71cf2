"""Opening an MLflow store safely when several audits share it.

Two processes that find no SQLite database both run MLflow's schema migrations, and two that find
no experiment both create it; one of each pair would fail. A lock file beside the database makes
the second wait a moment instead, and an experiment created meanwhile elsewhere (a remote server
has no lock file) is read back rather than reported as an error.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from filelock import FileLock

from audit.errors import AuditInputError
from audit.tracking.quiet import quiet_mlflow

if TYPE_CHECKING:
    from mlflow import MlflowClient

LOCK_TIMEOUT_S = 120
REACH_TIMEOUT_S = 5.0
# MLflow's own defaults (7 retries, exponential backoff, 120 s per request) make an unreachable
# server cost minutes; these bound every request of a command to well under a minute. A value
# the user set in the environment wins.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def bound_http_requests() -> None:
    """Caps MLflow's HTTP retries and timeout for this process (read by MLflow per request).

    Called before every use of MLflow, so it also keeps MLflow's INFO lines out of the output.
    """
    for key, value in HTTP_LIMITS.items():
        os.environ.setdefault(key, value)
    quiet_mlflow()


def unreachable(uri: str) -> str | None:
    """Why the MLflow server at `uri` does not answer /health within a few seconds, or None."""
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=REACH_TIMEOUT_S) as r:
            return None if r.status == 200 else f"HTTP status {r.status}"
    except urllib.error.HTTPError as err:
        return f"HTTP status {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return f"no answer within {REACH_TIMEOUT_S:g} s"
        return f"no connection ({reason})"


def server_error(uri: str, problem: str, *, fix: str) -> AuditInputError:
    return AuditInputError(
        f"MLflow tracking server '{redact(uri)}'",
        expected="a running MLflow server answering at /health",
        found=problem,
        fix=fix,
    )


def require_reachable(uri: str | None) -> None:
    """Every command that talks to a server checks it answers first: seconds, not minutes.

    The same probe `audit run` makes (`resolve_tracking_uri`); stores that are not servers
    (SQLite, a database, a folder) are left to MLflow. HTTP requests after the probe are bounded
    by `bound_http_requests`.
    """
    bound_http_requests()
    if uri is None or urlparse(uri).scheme not in ("http", "https"):
        return
    problem = unreachable(uri)
    if problem is not None:
        raise server_error(
            uri,
            problem,
            fix="start the server (mlflow server --host ... --port ...) or correct --tracking-uri",
        )


def redact(uri: str) -> str:
    """The URI without a password, for messages and the manifest."""
    parsed = urlparse(uri)
    if parsed.password:
        return uri.replace(f":{parsed.password}@", ":***@")
    return uri


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
    bound_http_requests()  # before the import: MLflow reads its log level when imported
    from mlflow import MlflowClient

    bound_http_requests()
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
