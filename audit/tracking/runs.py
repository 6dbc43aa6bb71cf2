"""One MLflow run per audit: opened before the first step, closed FINISHED or FAILED with the reason.

Only aggregates are logged: the flattened spec as parameters, the figures charted over time as
metrics (`audit.tracking.record`), the verdict as tags, and the result files (which hold counts
and rates, never rows) as artifacts.
The client is explicit (`MlflowClient(uri)`), not MLflow's process-global fluent state, so an
audit never changes where other code in the same process logs.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from audit.errors import AuditInputError
from audit.spec import DEFAULT_TRACKING_URI, TrackingSpec
from audit.tracking.store import REACH_TIMEOUT_S as REACH_TIMEOUT_S  # importable from here too
from audit.tracking.store import (
    client_for,
    ensure_experiment,
    local_store_folder,
    server_error,
    unreachable,
)
from audit.tracking.store import redact as redact

if TYPE_CHECKING:
    from mlflow import MlflowClient

BATCH_METRICS = 1000  # MLflow's limit per log_batch call
BATCH_PARAMS = 100
MAX_PARAM_LENGTH = 6000


def resolve_tracking_uri(spec: TrackingSpec, override: str | None = None) -> str | None:
    """The store this audit logs to, after checking a remote server answers.

    A server that cannot be reached is an input error, not a reason to log somewhere else
    quietly: an audit the analyst cannot find later is as good as lost. `fallback_local` asks
    for the local store explicitly.
    """
    if not spec.enabled:
        return None
    uri = override or spec.uri
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        problem = unreachable(uri)
        if problem is None:
            return uri
        if spec.fallback_local:
            return DEFAULT_TRACKING_URI
        raise server_error(
            uri,
            problem,
            fix="start the server (mlflow server --host ... --port ...), correct tracking.uri, "
            "or set tracking.fallback_local: true to log to the local store instead",
        )
    if scheme == "sqlite" or scheme in ("file", "") or scheme.startswith(("postgresql", "mysql")):
        if scheme == "sqlite":
            local_store_folder(uri).mkdir(parents=True, exist_ok=True)
        return uri
    raise AuditInputError(
        f"tracking URI '{redact(uri)}'",
        expected="sqlite:///PATH, http(s)://HOST:PORT, or a database URI MLflow accepts",
        found=f"the scheme '{scheme}'",
        fix=f"use the default {DEFAULT_TRACKING_URI} or the address of an MLflow server",
    )


@dataclass
class AuditRun:
    """The MLflow run of one audit; `open_audit_run` creates it."""

    client: MlflowClient
    uri: str
    run_id: str
    experiment_id: str
    tags: dict[str, str] = field(default_factory=dict)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)[:5000]) for k, v in tags.items()])

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k[:250], _param_text(v)) for k, v in params.items()]
        for i in range(0, len(items), BATCH_PARAMS):
            self.client.log_batch(self.run_id, params=items[i : i + BATCH_PARAMS])

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, v, now, 0) for k, v in metrics.items()]
        for i in range(0, len(items), BATCH_METRICS):
            self.client.log_batch(self.run_id, metrics=items[i : i + BATCH_METRICS])

    def log_artifacts(self, folder: Path) -> None:
        self.client.log_artifacts(self.run_id, str(folder))

    @property
    def url_hint(self) -> str:
        return f"experiment {self.experiment_id}, run {self.run_id}"


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM once the audit's MLflow run existed: which run, and whether it is FAILED.

    An interruption before the run was created stays a plain KeyboardInterrupt, so that the
    command says no run was recorded rather than that one was marked FAILED.
    """

    def __init__(self, run_id: str, *, marked_failed: bool) -> None:
        super().__init__(run_id)
        self.run_id = run_id
        self.marked_failed = marked_failed


@contextlib.contextmanager
def open_audit_run(
    uri: str, *, experiment: str, run_name: str, tags: Mapping[str, str]
) -> Iterator[AuditRun]:
    """A run that ends FINISHED when the block completes and FAILED when anything escapes it.

    The reason is kept in the tag `audit.error`, so a failed audit is visible in the MLflow UI
    next to the passing ones; an interruption (Ctrl-C, SIGTERM) is recorded the same way.
    Ctrl-C and SIGTERM are held back while the run is created and while it is closed, so an
    interruption at that moment cannot leave the run RUNNING for ever: one during creation
    interrupts the audit as soon as the run exists, one while it is marked FAILED adds nothing
    to the error being raised, one while it is marked FINISHED comes after all the work. A
    second signal is never held back, so a store that hangs can still be abandoned.
    """
    from audit.tracking.experiments import mark_audit_experiment

    client = client_for(uri)
    experiment_id = ensure_experiment(client, uri, experiment)
    mark_audit_experiment(client, experiment_id)  # the UI opens it on its runs, audit columns
    with _signals_held() as held:
        run = client.create_run(
            experiment_id, run_name=run_name, tags={**tags, "audit.status": "running"}
        )
        handle = AuditRun(client, uri, run.info.run_id, experiment_id)
    try:
        _deliver(held)  # an interruption during create_run interrupts the audit from here
        yield handle
    except BaseException as err:
        reason = (
            "interrupted" if isinstance(err, KeyboardInterrupt) else str(err) or type(err).__name__
        )
        marked = False
        with _signals_held(), contextlib.suppress(Exception):
            # The original error matters more than one from here.
            handle.set_tags({"audit.status": "failed", "audit.error": reason[:5000]})
            client.set_terminated(handle.run_id, status="FAILED")
            marked = True
        if isinstance(err, KeyboardInterrupt) and not isinstance(err, RunInterrupted):
            raise RunInterrupted(handle.run_id, marked_failed=marked) from None
        raise
    # Everything is done: an interruption now has nothing left to stop, and is dropped.
    with _signals_held():
        handle.set_tags({"audit.status": "finished"})
        client.set_terminated(handle.run_id, status="FINISHED")


_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Records Ctrl-C and SIGTERM instead of acting on them; yields the list of those received.

    A second signal while one is held acts at once (KeyboardInterrupt). Only the main thread
    can change signal handlers, and only handlers set from Python can be put back; otherwise
    nothing is held.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread() or any(
        signal.getsignal(s) is None for s in _HELD_SIGNALS
    ):
        yield received
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    previous = {s: signal.signal(s, hold) for s in _HELD_SIGNALS}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _deliver(held: list[int]) -> None:
    """Raises the signals held back, now that the handlers in place before are restored."""
    for signum in held:
        signal.raise_signal(signum)


def flatten_params(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested spec → dotted parameters; lists stay JSON so a rule list reads as one value."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, f"{name}."))
        elif value is not None:
            out[name] = value
    return out
